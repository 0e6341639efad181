// Package ratecounter provides what Gatehouse's rate-limiting plugins
// share: Kong's fixed windows (second to year, aligned on UTC), the shared
// redis configuration record (kong/tools/redis/schema.lua) turned into a
// go-redis client, and counters in windows kept in memory (the "local"
// policy), in Redis (the "redis" policy) or in the node's database (the
// "cluster" policy).
package ratecounter

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/runtime/plugin"
)

// Periods are Kong's window names, shortest first.
var Periods = [6]string{"second", "minute", "hour", "day", "month", "year"}

// Expirations are Kong's window lengths in seconds (a month counts as 30
// days, a year as 365), by period index.
var Expirations = [6]int64{1, 60, 3600, 86400, 2592000, 31536000}

// EmptyUUID stands for a route or service a plugin is not scoped to in
// Kong's counter keys.
const EmptyUUID = "00000000-0000-0000-0000-000000000000"

// KongScope is the "<route id>:<service id>" part of Kong's counter keys
// (get_service_and_route_ids: the plugin entity's route and service, the
// empty UUID for those it is not scoped to), so Gatehouse and Kong nodes
// sharing a Redis server count in the same keys.
func KongScope(s plugin.Scope) string {
	route, service := s.RouteID, s.ServiceID
	if route == "" {
		route = EmptyUUID
	}
	if service == "" {
		service = EmptyUUID
	}
	return route + ":" + service
}

// PeriodIndex returns the index of a period name in Periods, or -1.
func PeriodIndex(name string) int {
	for i, p := range Periods {
		if p == name {
			return i
		}
	}
	return -1
}

// WindowStarts returns the start (Unix seconds) of every window containing
// now, in UTC, as kong.tools.timestamp.get_timestamps does.
func WindowStarts(now int64) [6]int64 {
	t := time.Unix(now, 0).UTC()
	y, mo, _ := t.Date()
	return [6]int64{
		now,
		now - mod(now, 60),
		now - mod(now, 3600),
		now - mod(now, 86400),
		time.Date(y, mo, 1, 0, 0, 0, 0, time.UTC).Unix(),
		time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC).Unix(),
	}
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// RedisConfig is the shared redis record of Kong 3.9, decoded by
// plugin.Decode from a plugin's "redis" field.
type RedisConfig struct {
	Host       string  `config:"host"`
	Port       float64 `config:"port"`
	Timeout    float64 `config:"timeout"`
	Username   string  `config:"username"`
	Password   string  `config:"password"`
	Database   float64 `config:"database"`
	SSL        bool    `config:"ssl"`
	SSLVerify  bool    `config:"ssl_verify"`
	ServerName string  `config:"server_name"`
}

// TimeoutDuration is the record's timeout (milliseconds; 2s when unset).
func (rc RedisConfig) TimeoutDuration() time.Duration {
	if d := time.Duration(rc.Timeout) * time.Millisecond; d > 0 {
		return d
	}
	return 2 * time.Second
}

// NewClient returns a go-redis client for the record: AUTH with username
// and password when set, SELECT database, TLS when ssl (verifying the
// certificate only with ssl_verify, SNI server_name), every operation
// bounded by timeout and never retried (a failure is the request's, as in
// Kong).
func (rc RedisConfig) NewClient() (*redis.Client, error) {
	if rc.Host == "" || rc.Port == 0 {
		return nil, errors.New("the redis policy needs redis.host and redis.port")
	}
	timeout := rc.TimeoutDuration()
	opts := &redis.Options{
		Addr:            net.JoinHostPort(rc.Host, strconv.Itoa(int(rc.Port))),
		Username:        rc.Username,
		Password:        rc.Password,
		DB:              int(rc.Database),
		DialTimeout:     timeout,
		ReadTimeout:     timeout,
		WriteTimeout:    timeout,
		MaxRetries:      -1,
		DisableIdentity: true,
	}
	if rc.SSL {
		opts.TLSConfig = &tls.Config{
			ServerName:         rc.ServerName,
			InsecureSkipVerify: !rc.SSLVerify, // Kong's ssl_verify=false
			MinVersion:         tls.VersionTLS12,
		}
		if opts.TLSConfig.ServerName == "" {
			opts.TLSConfig.ServerName = rc.Host
		}
	}
	return redis.NewClient(opts), nil
}

// Store is a set of counters in windows: Get reads a window's counter,
// Add adds to it. Keys name a window (they include its start).
type Store interface {
	Get(ctx context.Context, keys []string) ([]int64, error)
	// Add adds n to every key's counter; a counter created expires after
	// its window's length (expirations[i] seconds).
	Add(ctx context.Context, keys []string, n int64, expirations []int64) error
	Close() error
}

// Local is a Store in memory, for one node. Counters are dropped once
// their window has ended. Safe for concurrent use.
type Local struct {
	mu        sync.Mutex
	m         map[string]localCounter
	now       func() time.Time
	nextSweep int64
}

type localCounter struct {
	n       int64
	expires int64 // Unix seconds
}

// NewLocal returns an empty in-memory store reading time from now (nil:
// time.Now).
func NewLocal(now func() time.Time) *Local {
	if now == nil {
		now = time.Now
	}
	return &Local{m: map[string]localCounter{}, now: now}
}

// Get implements Store.
func (l *Local) Get(_ context.Context, keys []string) ([]int64, error) {
	out := make([]int64, len(keys))
	now := l.now().Unix()
	l.mu.Lock()
	for i, k := range keys {
		if c, ok := l.m[k]; ok && c.expires > now {
			out[i] = c.n
		}
	}
	l.mu.Unlock()
	return out, nil
}

// Add implements Store.
func (l *Local) Add(_ context.Context, keys []string, n int64, expirations []int64) error {
	now := l.now().Unix()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now >= l.nextSweep {
		for k, c := range l.m {
			if c.expires <= now {
				delete(l.m, k)
			}
		}
		l.nextSweep = now + 60
	}
	for i, k := range keys {
		c, ok := l.m[k]
		if !ok || c.expires <= now {
			c = localCounter{expires: now + expirations[i]}
		}
		c.n += n
		l.m[k] = c
	}
	return nil
}

// Len returns the number of live counters.
func (l *Local) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// Close implements Store: it drops the counters.
func (l *Local) Close() error {
	l.mu.Lock()
	l.m = map[string]localCounter{}
	l.mu.Unlock()
	return nil
}

// Redis is a Store in a Redis server, shared by every node using it.
type Redis struct {
	client  *redis.Client
	timeout time.Duration
}

// NewRedis returns a Redis store for the record.
func NewRedis(rc RedisConfig) (*Redis, error) {
	c, err := rc.NewClient()
	if err != nil {
		return nil, err
	}
	return &Redis{client: c, timeout: rc.TimeoutDuration()}, nil
}

// Client returns the store's go-redis client.
func (r *Redis) Client() *redis.Client { return r.client }

// Get implements Store: one MGET.
func (r *Redis) Get(ctx context.Context, keys []string) ([]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	vals, err := r.client.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	out := make([]int64, len(keys))
	for i, v := range vals {
		if s, ok := v.(string); ok {
			out[i], _ = strconv.ParseInt(s, 10, 64)
		}
	}
	return out, nil
}

// addScript adds ARGV[1] to each key, setting the expiration
// (ARGV[1+i]) of the counters it creates.
var addScript = redis.NewScript(`
for i = 1, #KEYS do
  if redis.call("incrby", KEYS[i], ARGV[1]) == tonumber(ARGV[1]) then
    redis.call("expire", KEYS[i], ARGV[1 + i])
  end
end
return 0
`)

// Add implements Store: one script call for every key.
func (r *Redis) Add(ctx context.Context, keys []string, n int64, expirations []int64) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	args := make([]any, 0, 1+len(keys))
	args = append(args, n)
	for _, e := range expirations {
		args = append(args, e)
	}
	if err := addScript.Run(ctx, r.client, keys, args...).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// Close implements Store.
func (r *Redis) Close() error { return r.client.Close() }

var (
	_ Store = (*Local)(nil)
	_ Store = (*Redis)(nil)
)
