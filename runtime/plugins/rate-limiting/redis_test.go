package ratelimiting_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/conformance/testredis"
	"github.com/gatehouse/gatehouse/hostabi"
	ratelimiting "github.com/gatehouse/gatehouse/runtime/plugins/rate-limiting"
	"github.com/gatehouse/gatehouse/runtime/plugins/ratecounter"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// redisAddr returns the test Redis server's address (conformance/testredis).
func redisAddr(t testing.TB) (host string, port int) {
	t.Helper()
	return testredis.Addr(t)
}

// redisNode is one gateway node's instance of a redis-policy plugin.
func redisNode(t testing.TB, cfg map[string]any, c *clock) *ratelimiting.Plugin {
	t.Helper()
	host, port := redisAddr(t)
	cfg["policy"] = "redis"
	cfg["route_id"] = uniqueID(t)
	if _, ok := cfg["redis"]; !ok {
		cfg["redis"] = map[string]any{"host": host, "port": port, "database": 3}
	}
	return newPlugin(t, cfg, c)
}

// uniqueID keeps tests (and reruns) from sharing Redis counters: the
// route id the test's plugin instances are scoped to, one per test run
// (keyed by the test's T, so that -count reruns get their own).
func uniqueID(t testing.TB) string {
	id, _ := uniqueIDs.LoadOrStore(t, fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano()))
	return id.(string)
}

var uniqueIDs sync.Map

func redisGet(id string) *plugintest.Request {
	r := get()
	r.PluginID = id
	return r
}

func TestRedisPolicy(t *testing.T) {
	host, port := redisAddr(t)
	c := newClock(time.Now().UTC().Truncate(time.Minute).Add(20 * time.Second))
	cfg := func() map[string]any { return map[string]any{"minute": 3, "hour": 10} }
	a, b := redisNode(t, cfg(), c), redisNode(t, cfg(), c)
	id := uniqueID(t)
	env := plugintest.NewEnv()
	// Two nodes share the counters: a, b, a pass; the fourth is refused.
	for i, node := range []*ratelimiting.Plugin{a, b, a} {
		res := env.Run(t, node, hostabi.PhaseAccess, redisGet(id))
		if res.Exited || res.Err != nil {
			t.Fatalf("request %d refused: %d %s %v", i+1, res.Status, res.ExitBody, res.Err)
		}
		if got, want := res.RespHeader("X-RateLimit-Remaining-Minute"), itoa(int64(2-i)); got != want {
			t.Errorf("request %d: X-RateLimit-Remaining-Minute = %q, want %q", i+1, got, want)
		}
		if got, want := res.RespHeader("X-RateLimit-Remaining-Hour"), itoa(int64(9-i)); got != want {
			t.Errorf("request %d: X-RateLimit-Remaining-Hour = %q, want %q", i+1, got, want)
		}
	}
	res := env.Run(t, b, hostabi.PhaseAccess, redisGet(id))
	if !res.Exited || res.Status != 429 || string(res.ExitBody) != `{"message":"API rate limit exceeded"}` {
		t.Fatalf("4th request: %v %d %s", res.Exited, res.Status, res.ExitBody)
	}
	if got := res.ExitHeaders["Retry-After"]; got != "40" {
		t.Errorf("Retry-After = %q, want 40", got)
	}
	// Kong's key layout and expiration.
	rdb := redis.NewClient(&redis.Options{Addr: net.JoinHostPort(host, strconv.Itoa(port)), DB: 3})
	defer rdb.Close()
	start := c.now().Truncate(time.Minute).UnixMilli()
	// ratelimit:<route id>:<service id>:<identifier>:<window start>:<period>
	key := fmt.Sprintf("ratelimit:%s:%s:10.0.0.1:%d:minute", id, ratecounter.EmptyUUID, start)
	if v, err := rdb.Get(context.Background(), key).Int(); err != nil || v != 3 {
		t.Errorf("GET %s = %d, %v; want 3", key, v, err)
	}
	if ttl, err := rdb.TTL(context.Background(), key).Result(); err != nil || ttl <= 0 || ttl > time.Minute {
		t.Errorf("TTL %s = %v, %v", key, ttl, err)
	}
	// The next minute is a new window.
	c.advance(time.Minute)
	if res := env.Run(t, a, hostabi.PhaseAccess, redisGet(id)); res.Exited {
		t.Errorf("next minute refused: %d", res.Status)
	}
}

func TestRedisConcurrencyExact(t *testing.T) {
	const limit, workers, perWorker = 100, 32, 10
	c := newClock(time.Now().UTC().Truncate(time.Hour).Add(time.Minute))
	nodes := []*ratelimiting.Plugin{
		redisNode(t, map[string]any{"hour": limit}, c),
		redisNode(t, map[string]any{"hour": limit}, c),
	}
	id := uniqueID(t)
	env := plugintest.NewEnv()
	passed, rejected := hammer(t, env, []hostabi.Accessor{nodes[0], nodes[1]}, func() *plugintest.Request { return redisGet(id) }, workers, perWorker)
	if passed != limit || rejected != workers*perWorker-limit {
		t.Errorf("passed %d rejected %d, want exactly %d passed", passed, rejected, limit)
	}
}

// TestRedisSyncRate: with sync_rate, each node counts locally and sends
// its increments every sync_rate seconds; once synced, a node sees the
// other's requests, so the overshoot is bounded by what the nodes accept
// within one sync_rate.
func TestRedisSyncRate(t *testing.T) {
	const limit = 10
	c := newClock(time.Now().UTC().Truncate(time.Hour).Add(time.Minute))
	cfg := func() map[string]any { return map[string]any{"hour": limit, "sync_rate": 0.05} }
	a, b := redisNode(t, cfg(), c), redisNode(t, cfg(), c)
	id := uniqueID(t)
	env := plugintest.NewEnv()
	for i := 0; i < 6; i++ {
		if res := env.Run(t, a, hostabi.PhaseAccess, redisGet(id)); res.Exited {
			t.Fatalf("node a request %d refused", i+1)
		}
	}
	// Before a sync, b has seen nothing; after, it sees a's 6 requests.
	if res := env.Run(t, b, hostabi.PhaseAccess, redisGet(id)); res.Exited {
		t.Fatal("node b first request refused")
	}
	// Several sync periods later b has sent its request and read a's.
	time.Sleep(300 * time.Millisecond)
	res := env.Run(t, b, hostabi.PhaseAccess, redisGet(id))
	if got := res.RespHeader("X-RateLimit-Remaining-Hour"); res.Exited || got != "2" { // 6 + 2 counted
		t.Fatalf("node b after syncs: exited %v, remaining %q, want 2", res.Exited, got)
	}
	time.Sleep(300 * time.Millisecond)
	passed := 0
	for i := 0; i < 5; i++ {
		for _, n := range []*ratelimiting.Plugin{a, b} {
			if res := env.Run(t, n, hostabi.PhaseAccess, redisGet(id)); !res.Exited {
				passed++
			}
		}
	}
	// Both nodes know 8 requests: each may accept the 2 left before the
	// next sync tells it about the other's, no more.
	if passed < 2 || passed > 4 {
		t.Errorf("after sync %d more passed, want 2 to 4 (limit %d, 2 nodes)", passed, limit)
	}
	time.Sleep(300 * time.Millisecond)
	for _, n := range []*ratelimiting.Plugin{a, b} {
		if res := env.Run(t, n, hostabi.PhaseAccess, redisGet(id)); !res.Exited || res.Status != 429 {
			t.Errorf("after the last sync a request passed: %d", res.Status)
		}
	}
	host, port := redisAddr(t)
	rdb := redis.NewClient(&redis.Options{Addr: net.JoinHostPort(host, strconv.Itoa(port)), DB: 3})
	defer rdb.Close()
	key := fmt.Sprintf("ratelimit:%s:%s:10.0.0.1:%d:hour", id, ratecounter.EmptyUUID, c.now().Truncate(time.Hour).UnixMilli())
	if v, err := rdb.Get(context.Background(), key).Int(); err != nil || v != 8+passed {
		t.Errorf("GET %s = %d, %v; want every accepted request, %d", key, v, err, 8+passed)
	}
}

func TestRedisFaultTolerant(t *testing.T) {
	redisAddr(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now
	c := newClock(time.Now())
	for _, tc := range []struct {
		tolerant bool
		wantErr  bool
	}{{true, false}, {false, true}} {
		p := redisNode(t, map[string]any{"minute": 1, "fault_tolerant": tc.tolerant,
			"redis": map[string]any{"host": "127.0.0.1", "port": port, "timeout": 200}}, c)
		res := plugintest.Run(t, p, hostabi.PhaseAccess, get())
		if (res.Err != nil) != tc.wantErr || res.Exited {
			t.Errorf("fault_tolerant=%v: err %v exited %v", tc.tolerant, res.Err, res.Exited)
		}
		if res.RespHeader("X-RateLimit-Limit-Minute") != "" {
			t.Errorf("fault_tolerant=%v: headers sent without usage", tc.tolerant)
		}
	}
}

func BenchmarkAccessRedis(b *testing.B) {
	c := newClock(time.Now())
	for _, sync := range []float64{-1, 1} {
		b.Run("sync_rate="+strconv.FormatFloat(sync, 'g', -1, 64), func(b *testing.B) {
			p := redisNode(b, map[string]any{"minute": 1e12, "hour": 1e12, "sync_rate": sync}, c)
			k := plugintest.NewEnv().NewKong(redisGet(uniqueID(b)))
			b.ReportAllocs()
			for b.Loop() {
				k.Reset()
				if err := plugintest.Call(k, p, hostabi.PhaseAccess); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
