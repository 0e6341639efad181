package proxy_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestUpstreamBalancing: a service whose host names an upstream balances
// across its targets by weight, retries a refused connection on another
// target, and stops sending traffic to a target that fails active health
// checks within two intervals, resuming once it recovers.
func TestUpstreamBalancing(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	flaky := startUpstream(t, "flaky", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/status" && !healthy.Load() {
			w.WriteHeader(500)
			return
		}
		w.Header().Set("X-Upstream", "flaky")
		w.Write([]byte("flaky"))
	})
	steady := startUpstream(t, "steady", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Upstream", "steady")
		w.Write([]byte("steady"))
	})
	nd := startNode(t, nil)
	nd.configure("POST", "/upstreams", "name=pool.test",
		"healthchecks.active.http_path=/status",
		"healthchecks.active.healthy.interval=0.1", "healthchecks.active.healthy.successes=1",
		"healthchecks.active.unhealthy.interval=0.1", "healthchecks.active.unhealthy.http_failures=1")
	nd.configure("POST", "/upstreams/pool.test/targets", "target="+flaky.addr, "weight=100")
	nd.configure("POST", "/upstreams/pool.test/targets", "target="+steady.addr, "weight=300")
	nd.configure("POST", "/upstreams/pool.test/targets", "target="+closedPort(t), "weight=100")
	nd.configure("POST", "/services", "name=pool", "host=pool.test", "retries=3")
	nd.configure("POST", "/services/pool/routes", "paths=/pool")

	count := func(n int) map[string]int {
		seen := map[string]int{}
		for i := 0; i < n; i++ {
			r := nd.request("GET", "/pool", nil, nil)
			if r.status != 200 {
				t.Fatalf("request %d: %d %s", i, r.status, r.body)
			}
			seen[r.header.Get("X-Upstream")]++
		}
		return seen
	}
	// The closed target fails active checks (TCP) and its passive failures
	// are retried: every request succeeds; flaky:steady follows 1:3.
	seen := count(400)
	if seen["flaky"] == 0 || seen["steady"] == 0 {
		t.Fatalf("distribution %v", seen)
	}
	if ratio := float64(seen["steady"]) / float64(seen["flaky"]); ratio < 2.4 || ratio > 3.6 {
		t.Errorf("steady/flaky = %.2f, want about 3 (%v)", ratio, seen)
	}

	healthy.Store(false)
	time.Sleep(250 * time.Millisecond) // two intervals and a margin
	if seen := count(100); seen["flaky"] != 0 {
		t.Fatalf("unhealthy target still got traffic: %v", seen)
	}
	health := nd.configureGet("/upstreams/pool.test/health")
	states := map[string]string{}
	for _, d := range health["data"].([]any) {
		m := d.(map[string]any)
		states[m["target"].(string)], _ = m["health"].(string)
	}
	if states[flaky.addr] != "UNHEALTHY" || states[steady.addr] != "HEALTHY" {
		t.Errorf("health report %v", states)
	}
	healthy.Store(true)
	deadline := time.Now().Add(2 * time.Second)
	for {
		if seen := count(20); seen["flaky"] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("recovered target got no traffic back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
