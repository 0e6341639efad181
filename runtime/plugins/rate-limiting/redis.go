package ratelimiting

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/runtime/plugins/ratecounter"
)

// RedisConfig is the shared redis record of Kong 3.9
// (kong/tools/redis/schema.lua).
type RedisConfig = ratecounter.RedisConfig

// takeScript counts a request in every configured window unless one is
// exhausted, atomically on the Redis server: KEYS are the windows'
// counter keys, ARGV the limits then the expirations (seconds). It
// returns each window's count before the request and, last, the 1-based
// index of the first exhausted window (0: the request was counted).
// Kong checks (GET) and increments (INCRBY, EXPIRE on creation) in two
// steps; one script makes the limit exact under concurrency.
var takeScript = redis.NewScript(`
local n = #KEYS
local out = {}
local stop = 0
for i = 1, n do
  local c = tonumber(redis.call("get", KEYS[i]) or "0")
  out[i] = c
  if stop == 0 and tonumber(ARGV[i]) - c <= 0 then stop = i end
end
if stop == 0 then
  for i = 1, n do
    if redis.call("incrby", KEYS[i], 1) == 1 then
      redis.call("expire", KEYS[i], ARGV[n + i])
    end
  end
end
out[n + 1] = stop
return out
`)

// flushScript adds a batch of local increments (ARGV[i]) to KEYS[i],
// setting the expiration (ARGV[n+i]) of counters it creates, and returns
// the counters' new values.
var flushScript = redis.NewScript(`
local n = #KEYS
local out = {}
for i = 1, n do
  local delta = tonumber(ARGV[i])
  local v = redis.call("incrby", KEYS[i], delta)
  if v == delta then redis.call("expire", KEYS[i], ARGV[n + i]) end
  out[i] = v
end
return out
`)

// redisPolicy keeps the counters in Redis, shared by every node using the
// same server. With sync_rate -1 every request is counted on the server
// (one round trip); with sync_rate > 0 requests are counted locally and
// the increments are sent every sync_rate seconds, the local view being
// the last value read from Redis plus the increments not sent yet.
type redisPolicy struct {
	p      *Plugin
	client *redis.Client
	// prefix namespaces the keys: "ratelimit:<plugin id>:".
	timeout time.Duration

	// Batched mode (sync_rate > 0).
	mu      sync.Mutex
	pending map[string]*redisCounter
	// lastNow is the time (Unix seconds) of the latest request counted,
	// which tells flush the windows that have ended.
	lastNow int64
	stop    chan struct{}
	done    chan struct{}
}

// redisCounter is a window's counter in batched mode.
type redisCounter struct {
	synced int64 // value last read from Redis
	delta  int64 // local increments not sent yet
	expire int64 // window length, seconds
	start  int64 // window start, Unix seconds
}

func newRedisPolicy(p *Plugin, rc RedisConfig, syncRate float64) (*redisPolicy, error) {
	client, err := rc.NewClient()
	if err != nil {
		return nil, fmt.Errorf("rate-limiting: %w", err)
	}
	timeout := rc.TimeoutDuration()
	r := &redisPolicy{p: p, client: client, timeout: timeout}
	if syncRate > 0 {
		r.pending = map[string]*redisCounter{}
		r.stop = make(chan struct{})
		r.done = make(chan struct{})
		go r.syncLoop(time.Duration(syncRate * float64(time.Second)))
	}
	return r, nil
}

// key is the counter key of a window: Kong's
// "ratelimit:<scope>:<identifier>:<window start in ms>:<period>", the
// scope being the plugin entity's id.
func redisKey(scope, id string, start int64, per Period) string {
	return "ratelimit:" + scope + ":" + id + ":" + strconv.FormatInt(start*1000, 10) + ":" + per.String()
}

// take counts a request in Redis (or locally, batched).
func (r *redisPolicy) take(ctx context.Context, scope, id string, now int64) (usage, error) {
	u := usage{starts: windowStarts(now), stop: -1}
	pers := r.p.periods
	keys := make([]string, len(pers))
	for i, per := range pers {
		keys[i] = redisKey(scope, id, u.starts[per], per)
	}
	if r.pending != nil {
		return r.takeBatched(u, keys), nil
	}
	args := make([]any, 2*len(pers))
	for i, per := range pers {
		args[i] = r.p.limitText[per]
		args[len(pers)+i] = expirations[per]
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err := takeScript.Run(ctx, r.client, keys, args...).Int64Slice()
	if err != nil {
		return u, fmt.Errorf("rate-limiting: redis: %w", err)
	}
	if len(res) != len(pers)+1 {
		return u, fmt.Errorf("rate-limiting: redis: unexpected reply of %d values", len(res))
	}
	for i, per := range pers {
		u.count[per] = res[i]
	}
	if s := res[len(pers)]; s > 0 {
		u.stop = pers[s-1]
	}
	return u, nil
}

func (r *redisPolicy) takeBatched(u usage, keys []string) usage {
	pers := r.p.periods
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastNow = max(r.lastNow, u.starts[Second])
	cs := make([]*redisCounter, len(pers))
	for i, per := range pers {
		c := r.pending[keys[i]]
		if c == nil {
			c = &redisCounter{expire: expirations[per], start: u.starts[per]}
			r.pending[keys[i]] = c
		}
		cs[i] = c
		u.count[per] = c.synced + c.delta
		if u.stop < 0 && r.p.limits[per]-float64(u.count[per]) <= 0 {
			u.stop = per
		}
	}
	if u.stop < 0 {
		for _, c := range cs {
			c.delta++
		}
	}
	return u
}

func (r *redisPolicy) syncLoop(every time.Duration) {
	defer close(r.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			r.flush() // send what was counted
			return
		case <-t.C:
			r.flush()
		}
	}
}

// flush sends the local increments to Redis and reads the counters back
// (keys without increments are read too, to see other nodes' counts);
// counters of ended windows are dropped.
func (r *redisPolicy) flush() {
	r.mu.Lock()
	starts := windowStarts(r.lastNow)
	keys := make([]string, 0, len(r.pending))
	args := make([]any, 0, 2*len(r.pending))
	sent := make([]int64, 0, len(r.pending))
	var exp []any
	for k, c := range r.pending {
		per := periodOfExpiration(c.expire)
		if c.start < starts[per] && c.delta == 0 {
			delete(r.pending, k)
			continue
		}
		keys = append(keys, k)
		args = append(args, c.delta)
		sent = append(sent, c.delta)
		exp = append(exp, c.expire)
	}
	r.mu.Unlock()
	if len(keys) == 0 {
		return
	}
	args = append(args, exp...)
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	res, err := flushScript.Run(ctx, r.client, keys, args...).Int64Slice()
	if err != nil || len(res) != len(keys) {
		return // kept: the next flush sends the increments again
	}
	r.mu.Lock()
	for i, k := range keys {
		if c := r.pending[k]; c != nil {
			c.delta -= sent[i]
			c.synced = res[i]
		}
	}
	r.mu.Unlock()
}

func periodOfExpiration(e int64) Period {
	for p, v := range expirations {
		if v == e {
			return Period(p)
		}
	}
	return Second
}

func (r *redisPolicy) close() error {
	if r.stop != nil {
		close(r.stop)
		<-r.done
	}
	return r.client.Close()
}
