package ratelimiting

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/hostabi"
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

// redisServer keeps the counters in Redis (the redis policy).
type redisServer struct {
	client *redis.Client
}

func newRedisPolicy(p *Plugin, rc RedisConfig, syncRate float64) (*sharedPolicy, error) {
	client, err := rc.NewClient()
	if err != nil {
		return nil, fmt.Errorf("rate-limiting: %w", err)
	}
	return newSharedPolicy(p, &redisServer{client: client}, rc.TimeoutDuration(), syncRate), nil
}

func (r *redisServer) bind(hostabi.Kong) error { return nil }

func keysAndArgs(ws []window, first func(i int, w window) any) ([]string, []any) {
	keys := make([]string, len(ws))
	args := make([]any, 2*len(ws))
	for i, w := range ws {
		keys[i] = w.key
		args[i] = first(i, w)
		args[len(ws)+i] = w.length
	}
	return keys, args
}

func (r *redisServer) take(ctx context.Context, ws []window) ([]int64, int, error) {
	keys, args := keysAndArgs(ws, func(_ int, w window) any { return formatNumber(w.limit) })
	res, err := takeScript.Run(ctx, r.client, keys, args...).Int64Slice()
	if err != nil {
		return nil, -1, fmt.Errorf("rate-limiting: redis: %w", err)
	}
	if len(res) != len(ws)+1 {
		return nil, -1, fmt.Errorf("rate-limiting: redis: unexpected reply of %d values", len(res))
	}
	return res[:len(ws)], int(res[len(ws)]) - 1, nil
}

func (r *redisServer) add(ctx context.Context, ws []window, deltas []int64) ([]int64, error) {
	keys, args := keysAndArgs(ws, func(i int, _ window) any { return deltas[i] })
	res, err := flushScript.Run(ctx, r.client, keys, args...).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("rate-limiting: redis: %w", err)
	}
	return res, nil
}

func (r *redisServer) close() error { return r.client.Close() }
