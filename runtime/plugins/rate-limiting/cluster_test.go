package ratelimiting_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugins/ratecounter"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
)

// clusterNode is one node's instance of a cluster-policy plugin, over its
// own connection to a shared database.
type clusterNode = plugintest.OnStore

// sharedSQLite opens n stores over one SQLite file: n nodes sharing a
// database.
func sharedSQLite(t testing.TB, n int) []*store.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	var out []*store.Store
	for i := 0; i < n; i++ {
		b, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		out = append(out, store.New(b, store.Options{}))
	}
	return out
}

func clusterNodes(t *testing.T, cfg func() map[string]any, c *clock) []clusterNode {
	var nodes []clusterNode
	for _, st := range sharedSQLite(t, 2) {
		conf := cfg()
		conf["policy"] = "cluster"
		conf["route_id"] = uniqueID(t)
		nodes = append(nodes, clusterNode{Plugin: newPlugin(t, conf, c), Store: st})
	}
	return nodes
}

func TestClusterConcurrencyExact(t *testing.T) {
	const limit, workers, perWorker = 40, 16, 6
	c := newClock(time.Now().UTC().Truncate(time.Hour).Add(time.Minute))
	nodes := clusterNodes(t, func() map[string]any { return map[string]any{"hour": limit, "day": 1000} }, c)
	id := uniqueID(t)
	env := plugintest.NewEnv()
	passed, rejected := hammer(t, env, []hostabi.Accessor{nodes[0], nodes[1]}, func() *plugintest.Request { return redisGet(id) }, workers, perWorker)
	if passed != limit || rejected != workers*perWorker-limit {
		t.Errorf("passed %d rejected %d, want exactly %d passed across two nodes", passed, rejected, limit)
	}
	// The next hour is a new window, on both nodes.
	c.advance(time.Hour)
	for i, n := range nodes {
		if res := env.Run(t, n, hostabi.PhaseAccess, redisGet(id)); res.Exited {
			t.Errorf("node %d: next hour refused with %d", i, res.Status)
		}
	}
}

func TestClusterHeadersAndRefusal(t *testing.T) {
	c := newClock(time.Now().UTC().Truncate(time.Hour).Add(90 * time.Second))
	nodes := clusterNodes(t, func() map[string]any { return map[string]any{"minute": 2} }, c)
	id := uniqueID(t)
	env := plugintest.NewEnv()
	for i, want := range []string{"1", "0"} {
		res := env.Run(t, nodes[i], hostabi.PhaseAccess, redisGet(id))
		if res.Exited || header(res, "X-RateLimit-Remaining-Minute") != want || header(res, "RateLimit-Remaining") != want {
			t.Fatalf("request %d: exited %v remaining %q", i, res.Exited, header(res, "X-RateLimit-Remaining-Minute"))
		}
	}
	res := env.Run(t, nodes[0], hostabi.PhaseAccess, redisGet(id))
	if !res.Exited || res.Status != 429 || string(res.ExitBody) != `{"message":"API rate limit exceeded"}` || header(res, "Retry-After") != "30" {
		t.Fatalf("third request: %d %s retry-after %q", res.Status, res.ExitBody, header(res, "Retry-After"))
	}
}

// TestClusterSyncRate: with sync_rate each node counts locally and adds
// its increments to the database every sync_rate seconds, reading the
// other nodes' counts back: the nodes agree within one sync period.
func TestClusterSyncRate(t *testing.T) {
	const limit = 10
	c := newClock(time.Now().UTC().Truncate(time.Hour).Add(time.Minute))
	nodes := clusterNodes(t, func() map[string]any { return map[string]any{"hour": limit, "sync_rate": 0.05} }, c)
	a, b := nodes[0], nodes[1]
	id := uniqueID(t)
	env := plugintest.NewEnv()
	for i := 0; i < 6; i++ {
		if res := env.Run(t, a, hostabi.PhaseAccess, redisGet(id)); res.Exited {
			t.Fatalf("node a request %d refused", i+1)
		}
	}
	if res := env.Run(t, b, hostabi.PhaseAccess, redisGet(id)); res.Exited {
		t.Fatal("node b first request refused")
	}
	waitRemaining := func(n clusterNode, want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			// A read that is not counted: a request for another client
			// would not tell; look at the database instead.
			got := counterValue(t, n.Store, fmt.Sprintf("ratelimit:%s:%s:10.0.0.1:%d:hour", id, ratecounter.EmptyUUID, c.now().Truncate(time.Hour).UnixMilli()))
			if fmt.Sprint(got) == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("database counter %d, want %s", got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitRemaining(b, "7") // both nodes' increments arrived
	time.Sleep(200 * time.Millisecond)
	res := env.Run(t, b, hostabi.PhaseAccess, redisGet(id))
	if got := header(res, "X-RateLimit-Remaining-Hour"); res.Exited || got != "2" { // 7 + this one counted
		t.Fatalf("node b after syncs: exited %v, remaining %q, want 2", res.Exited, got)
	}
	time.Sleep(200 * time.Millisecond)
	passed := 0
	for i := 0; i < 5; i++ {
		for _, n := range []clusterNode{a, b} {
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
	waitRemaining(a, fmt.Sprint(8+passed))
	time.Sleep(200 * time.Millisecond)
	for _, n := range []clusterNode{a, b} {
		if res := env.Run(t, n, hostabi.PhaseAccess, redisGet(id)); !res.Exited || res.Status != 429 {
			t.Errorf("after the last sync a request passed: %d", res.Status)
		}
	}
}

func counterValue(t *testing.T, st *store.Store, key string) int64 {
	t.Helper()
	c, err := st.Counters()
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.ReadCounters(context.Background(), []string{key})
	if err != nil {
		t.Fatal(err)
	}
	return v[0]
}

// TestClusterWithoutDatabase: a node without a database (DB-less) cannot
// count cluster-wide: the request fails (500), or with fault_tolerant is
// proxied without rate-limit headers, as Kong does when its store fails.
func TestClusterWithoutDatabase(t *testing.T) {
	c := newClock(time.Now())
	env := plugintest.NewEnv()
	strict := newPlugin(t, map[string]any{"minute": 5, "policy": "cluster", "fault_tolerant": false}, c)
	err := plugintest.Call(env.NewKong(get()), strict, hostabi.PhaseAccess)
	if err == nil || !strings.Contains(err.Error(), "needs a database") {
		t.Fatalf("strict: err = %v", err)
	}
	tolerant := newPlugin(t, map[string]any{"minute": 5, "policy": "cluster"}, c)
	res := env.Run(t, tolerant, hostabi.PhaseAccess, get())
	if res.Exited || header(res, "X-RateLimit-Limit-Minute") != "" {
		t.Fatalf("fault tolerant: exited %v, limit header %q", res.Exited, header(res, "X-RateLimit-Limit-Minute"))
	}
}

// BenchmarkAccessCluster: the cluster policy on a SQLite file, counting
// every request in the database (sync_rate -1) or locally (sync_rate 1).
func BenchmarkAccessCluster(b *testing.B) {
	c := newClock(time.Now())
	for _, sync := range []float64{-1, 1} {
		b.Run("sync_rate="+fmt.Sprint(sync), func(b *testing.B) {
			st := sharedSQLite(b, 1)[0]
			n := clusterNode{Plugin: newPlugin(b, map[string]any{"minute": 1e12, "hour": 1e12, "sync_rate": sync, "policy": "cluster"}, c), Store: st}
			k := plugintest.NewEnv().NewKong(redisGet(uniqueID(b)))
			b.ReportAllocs()
			for b.Loop() {
				k.Reset()
				if err := plugintest.Call(k, n, hostabi.PhaseAccess); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
