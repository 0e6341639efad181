package prometheus

import (
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape serves h and parses its text exposition with the library's
// parser.
func scrape(t testing.TB, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// find returns the metric of a family whose labels include want.
func find(mfs map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	mf := mfs[name]
	if mf == nil {
		return nil
	}
next:
	for _, m := range mf.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

var (
	route   = hostabi.Entity{"id": "r-1", "name": "orders"}
	service = hostabi.Entity{"id": "s-1", "name": "", "host": "backend.test"}
	alice   = hostabi.Entity{"id": "c-1", "username": "alice"}
)

func record(status int, source string, consumer hostabi.Entity) map[string]any {
	rec := hostabi.LogRecord{Status: status, Route: route, Service: service, Consumer: consumer, Source: source,
		RequestSize: 100, ResponseSize: 250, KongLatency: 3e6, ProxyLatency: 40e6, RequestLatency: 43e6}
	return rec.Map(nil)
}

// TestObserve: each flag turns its metrics on, with Kong's labels
// (service name else host, route name else id, consumer username only
// with per_consumer) and values.
func TestObserve(t *testing.T) {
	all := Config{StatusCodeMetrics: true, LatencyMetrics: true, BandwidthMetrics: true, PerConsumer: true}
	cases := []struct {
		name      string
		conf      Config
		rec       map[string]any
		status    map[string]string // labels of the counted status, nil: none
		latencies bool
		bandwidth map[string]float64 // direction -> bytes
	}{
		{"nothing enabled", Config{}, record(200, "service", alice), nil, false, nil},
		{"status only", Config{StatusCodeMetrics: true}, record(200, "service", alice),
			map[string]string{"service": "backend.test", "route": "orders", "code": "200", "source": "service", "workspace": "default", "consumer": ""}, false, nil},
		{"kong source, per consumer", all, record(401, "exit", alice),
			map[string]string{"code": "401", "source": "kong", "consumer": "alice"}, true, map[string]float64{"ingress": 100, "egress": 250}},
		{"no route: not counted", all, func() map[string]any { r := record(200, "service", nil); delete(r, "route"); return r }(), nil, false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMetrics()
			m.Observe(tc.conf, tc.rec)
			mfs := scrape(t, Handler(m, plugin.HostFunc(func() plugin.NodeStats { return plugin.NodeStats{} })))
			got := find(mfs, "kong_http_requests_total", tc.status)
			if tc.status == nil {
				if mfs["kong_http_requests_total"] != nil {
					t.Fatalf("status counted: %v", mfs["kong_http_requests_total"])
				}
			} else if got == nil || got.GetCounter().GetValue() != 1 {
				t.Fatalf("status %v not counted once: %v", tc.status, mfs["kong_http_requests_total"])
			}
			for _, h := range []struct {
				name string
				sum  float64
			}{{"kong_kong_latency_ms", 3}, {"kong_upstream_latency_ms", 40}, {"kong_request_latency_ms", 43}} {
				m := find(mfs, h.name, map[string]string{"route": "orders"})
				if !tc.latencies {
					if m != nil {
						t.Fatalf("%s observed", h.name)
					}
					continue
				}
				if m == nil || m.GetHistogram().GetSampleCount() != 1 || m.GetHistogram().GetSampleSum() != h.sum {
					t.Fatalf("%s: %v", h.name, m)
				}
			}
			for dir, want := range tc.bandwidth {
				m := find(mfs, "kong_bandwidth_bytes", map[string]string{"direction": dir, "consumer": "alice"})
				if m == nil || m.GetCounter().GetValue() != want {
					t.Fatalf("bandwidth %s: %v", dir, m)
				}
			}
			if tc.bandwidth == nil && mfs["kong_bandwidth_bytes"] != nil {
				t.Fatal("bandwidth counted")
			}
		})
	}
}

// TestHistogramBuckets: the latency histograms have Kong's buckets.
func TestHistogramBuckets(t *testing.T) {
	m := NewMetrics()
	m.Observe(Config{LatencyMetrics: true}, record(200, "service", nil))
	mfs := scrape(t, Handler(m, plugin.HostFunc(func() plugin.NodeStats { return plugin.NodeStats{} })))
	for name, want := range map[string][]float64{"kong_kong_latency_ms": KongLatencyBuckets,
		"kong_upstream_latency_ms": UpstreamLatencyBuckets, "kong_request_latency_ms": UpstreamLatencyBuckets} {
		b := mfs[name].Metric[0].GetHistogram().Bucket
		// The text format lists +Inf last.
		if len(b) != len(want)+1 || !math.IsInf(b[len(b)-1].GetUpperBound(), 1) {
			t.Fatalf("%s: %d buckets", name, len(b))
		}
		for i, bk := range b[:len(want)] {
			if bk.GetUpperBound() != want[i] {
				t.Fatalf("%s bucket %d: %v", name, i, bk.GetUpperBound())
			}
		}
	}
}

// TestNodeGauges: the node's numbers at scrape time, and the target
// health series only once a config asks for them.
func TestNodeGauges(t *testing.T) {
	m := NewMetrics()
	host := plugin.HostFunc(func() plugin.NodeStats {
		return plugin.NodeStats{NodeID: "n-1", Version: "3.9.0", ConnectionsActive: 3, TotalRequests: 42,
			DatastoreReachable: true, LogDropped: 5,
			Targets: []plugin.TargetHealth{{Upstream: "up", Target: "a:80", Address: "127.0.0.1:80", State: "unhealthy"}}}
	})
	h := Handler(m, host)
	mfs := scrape(t, h)
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"kong_nginx_connections_total", map[string]string{"node_id": "n-1", "subsystem": "http", "state": "active"}, 3},
		{"kong_nginx_connections_total", map[string]string{"state": "total"}, 42},
		{"kong_nginx_requests_total", map[string]string{"node_id": "n-1"}, 42},
		{"kong_datastore_reachable", nil, 1},
		{"kong_node_info", map[string]string{"node_id": "n-1", "version": "3.9.0"}, 1},
		{"kong_log_queue_dropped_total", map[string]string{"node_id": "n-1"}, 5},
	}
	for _, c := range checks {
		got := find(mfs, c.name, c.labels)
		if got == nil || got.GetGauge().GetValue()+got.GetCounter().GetValue() != c.want {
			t.Fatalf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if vm := find(mfs, "kong_memory_workers_lua_vms_bytes", map[string]string{"node_id": "n-1", "kong_subsystem": "http"}); vm == nil || vm.GetGauge().GetValue() <= 0 {
		t.Fatalf("worker memory %v", vm)
	}
	if mfs["kong_upstream_target_health"] != nil {
		t.Fatal("target health exported without upstream_health_metrics")
	}
	m.Observe(Config{UpstreamHealthMetrics: true}, record(200, "service", nil))
	mfs = scrape(t, h)
	for state, want := range map[string]float64{"healthy": 0, "unhealthy": 1, "healthchecks_off": 0, "dns_error": 0} {
		got := find(mfs, "kong_upstream_target_health", map[string]string{"upstream": "up", "target": "a:80", "state": state})
		if got == nil || got.GetGauge().GetValue() != want {
			t.Fatalf("health %s = %v", state, got)
		}
	}
}

// TestLogThroughPlugin: the instance's log phase reads kong.log.serialize.
func TestLogThroughPlugin(t *testing.T) {
	inst := plugintest.New(t, Schema(), New, map[string]any{"status_code_metrics": true})
	p := inst.(*Plugin)
	p.metrics = NewMetrics()
	req := plugintest.NewRequest("GET", "/orders")
	req.Route, req.Service = route, service
	plugintest.Run(t, p, hostabi.PhaseLog, req)
	mfs := scrape(t, Handler(p.metrics, plugin.HostFunc(func() plugin.NodeStats { return plugin.NodeStats{} })))
	if got := find(mfs, "kong_http_requests_total", map[string]string{"route": "orders", "service": "backend.test"}); got == nil || got.GetCounter().GetValue() != 1 {
		t.Fatalf("not counted: %v", mfs["kong_http_requests_total"])
	}
}

// BenchmarkLog measures the log phase with every metric enabled.
func BenchmarkLog(b *testing.B) {
	env := plugintest.NewEnv()
	p := &Plugin{conf: Config{StatusCodeMetrics: true, LatencyMetrics: true, BandwidthMetrics: true, PerConsumer: true}, metrics: NewMetrics()}
	req := plugintest.NewRequest("GET", "/orders")
	req.Route, req.Service = route, service
	k := env.NewKong(req)
	b.ReportAllocs()
	for b.Loop() {
		k.Reset()
		if err := plugintest.Call(k, p, hostabi.PhaseLog); err != nil {
			b.Fatal(err)
		}
	}
	if p.metrics.logged.Load() == 0 {
		b.Fatal("nothing logged")
	}
}
