package observability_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestPrometheusMetrics: requests proxied through a node with the
// prometheus plugin are counted under Kong's names and labels, and
// /metrics on the status listener and on the Admin API both show them
// with the node's gauges.
func TestPrometheusMetrics(t *testing.T) {
	nd := startNode(t)
	up := upstream(t)
	nd.configure("POST", "/services", map[string]any{"name": "orders-svc", "url": up})
	nd.configure("POST", "/services/orders-svc/routes", map[string]any{"name": "orders", "paths": []any{"/orders"}})
	nd.configure("POST", "/services/orders-svc/routes", map[string]any{"name": "private", "paths": []any{"/private"}})
	nd.configure("POST", "/routes/private/plugins", map[string]any{"name": "key-auth"})
	nd.configure("POST", "/consumers", map[string]any{"username": "alice"})
	nd.configure("POST", "/consumers/alice/key-auth", map[string]any{"key": "alice-key"})
	nd.configure("POST", "/plugins", map[string]any{"name": "prometheus", "config": map[string]any{
		"status_code_metrics": true, "latency_metrics": true, "bandwidth_metrics": true, "per_consumer": true,
		"upstream_health_metrics": true}})

	sends := []struct {
		path    string
		headers map[string]string
		status  int
	}{
		{"/orders", nil, 200}, {"/orders", nil, 200}, {"/orders", nil, 200},
		{"/orders", map[string]string{"X-Status": "500"}, 500},
		{"/private", nil, 401},
		{"/private", map[string]string{"apikey": "alice-key"}, 200},
		{"/nowhere", nil, 404}, // no route: not counted, as in Kong
	}
	for _, s := range sends {
		if got, body := nd.get(s.path, s.headers); got != s.status {
			t.Fatalf("GET %s: %d %s", s.path, got, body)
		}
	}
	want := []struct {
		name   string
		labels map[string]string
		value  float64
	}{
		{"kong_http_requests_total", map[string]string{"service": "orders-svc", "route": "orders", "code": "200", "source": "service", "workspace": "default", "consumer": ""}, 3},
		{"kong_http_requests_total", map[string]string{"route": "orders", "code": "500", "source": "service"}, 1},
		{"kong_http_requests_total", map[string]string{"route": "private", "code": "401", "source": "kong", "consumer": ""}, 1},
		{"kong_http_requests_total", map[string]string{"route": "private", "code": "200", "consumer": "alice"}, 1},
		{"kong_request_latency_ms", map[string]string{"service": "orders-svc", "route": "orders", "workspace": "default"}, 4},
		{"kong_kong_latency_ms", map[string]string{"route": "orders"}, 4},
		{"kong_upstream_latency_ms", map[string]string{"route": "orders"}, 4},
		{"kong_upstream_latency_ms", map[string]string{"route": "private"}, 1}, // the 401 never reached the upstream
		{"kong_datastore_reachable", nil, 1},
	}
	for _, base := range []string{nd.status, nd.admin} {
		url := base + "/metrics"
		eventually(t, "the log phase of every request", func() bool {
			return value(scrape(t, url), "kong_http_requests_total", map[string]string{"route": "private", "consumer": "alice"}) == 1 &&
				value(scrape(t, url), "kong_http_requests_total", map[string]string{"route": "private", "code": "401"}) == 1 &&
				value(scrape(t, url), "kong_request_latency_ms", map[string]string{"route": "orders"}) == 4
		})
		mfs := scrape(t, url)
		for _, w := range want {
			if got := value(mfs, w.name, w.labels); got != w.value {
				t.Errorf("%s: %s%v = %v, want %v", url, w.name, w.labels, got, w.value)
			}
		}
		if v := value(mfs, "kong_bandwidth_bytes", map[string]string{"route": "orders", "direction": "egress"}); v <= 0 {
			t.Errorf("%s: egress bandwidth %v", url, v)
		}
		if v := value(mfs, "kong_bandwidth_bytes", map[string]string{"route": "orders", "direction": "ingress"}); v <= 0 {
			t.Errorf("%s: ingress bandwidth %v", url, v)
		}
		if v := value(mfs, "kong_nginx_connections_total", map[string]string{"subsystem": "http", "state": "total"}); v < 7 {
			t.Errorf("%s: nginx total %v", url, v)
		}
		if v := value(mfs, "kong_node_info", nil); v != 1 {
			t.Errorf("%s: node_info %v", url, v)
		}
	}
}

// TestMetricsListedInEndpoints: the Admin API's /endpoints lists /metrics,
// as Kong's does with the prometheus plugin enabled.
func TestMetricsListedInEndpoints(t *testing.T) {
	nd := startNode(t)
	res, err := http.Get(nd.admin + "/endpoints")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ Data []string }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(out.Data, "/metrics") {
		t.Fatalf("endpoints %v", out.Data)
	}
}

// TestMetricsWithoutPlugin: a node whose `plugins` leaves prometheus out
// serves no /metrics, on the status listener or the Admin API.
func TestMetricsWithoutPlugin(t *testing.T) {
	n := startNodeWith(t, map[string]string{"plugins": "key-auth"})
	for _, base := range []string{n.status, n.admin} {
		res, err := httpGet(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		if res != 404 {
			t.Fatalf("%s: status %d", base, res)
		}
	}
}

// TestUpstreamTargetHealth: with upstream_health_metrics, each balancer
// address is exported once per state, 1 for its current one.
func TestUpstreamTargetHealth(t *testing.T) {
	nd := startNode(t)
	up := strings.TrimPrefix(upstream(t), "http://")
	nd.configure("POST", "/upstreams", map[string]any{"name": "up1"})
	nd.configure("POST", "/upstreams/up1/targets", map[string]any{"target": up})
	nd.configure("POST", "/services", map[string]any{"name": "bal", "host": "up1"})
	nd.configure("POST", "/services/bal/routes", map[string]any{"name": "bal", "paths": []any{"/bal"}})
	nd.configure("POST", "/plugins", map[string]any{"name": "prometheus", "config": map[string]any{"upstream_health_metrics": true}})
	if s, b := nd.get("/bal", nil); s != 200 {
		t.Fatalf("%d %s", s, b)
	}
	url := nd.status + "/metrics"
	labels := func(state string) map[string]string {
		return map[string]string{"upstream": "up1", "target": up, "address": up, "state": state, "subsystem": "http"}
	}
	eventually(t, "target health exported", func() bool {
		return value(scrape(t, url), "kong_upstream_target_health", labels("healthchecks_off")) == 1
	})
	mfs := scrape(t, url)
	for _, st := range []string{"healthy", "unhealthy", "dns_error"} {
		if v := value(mfs, "kong_upstream_target_health", labels(st)); v != 0 {
			t.Errorf("state %s = %v", st, v)
		}
	}
}
