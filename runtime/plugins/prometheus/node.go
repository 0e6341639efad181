package prometheus

import (
	"os"
	"runtime"
	"strconv"

	"github.com/gatehouse/gatehouse/runtime/plugin"
	prom "github.com/prometheus/client_golang/prometheus"
)

// The node's gauges, taken at each scrape (Kong's metric_data).
var (
	descConnections = prom.NewDesc("kong_nginx_connections_total", "Number of connections by subsystem",
		[]string{"node_id", "subsystem", "state"}, nil)
	descRequests = prom.NewDesc("kong_nginx_requests_total", "Number of requests total",
		[]string{"node_id", "subsystem"}, nil)
	descTimers = prom.NewDesc("kong_nginx_timers", "Number of nginx timers", []string{"state"}, nil)
	descDB     = prom.NewDesc("kong_datastore_reachable", "Datastore reachable from Kong, 0 is unreachable", nil, nil)
	descInfo   = prom.NewDesc("kong_node_info", "Kong Node metadata information", []string{"node_id", "version"}, nil)
	descHealth = prom.NewDesc("kong_upstream_target_health",
		"Health status of targets of upstream. States = healthchecks_off|healthy|unhealthy|dns_error, value is 1 when state is populated.",
		[]string{"upstream", "target", "address", "state", "subsystem"}, nil)
	descWorkerVMs = prom.NewDesc("kong_memory_workers_lua_vms_bytes",
		"Allocated bytes in worker Lua VM (Gatehouse: the Go heap in use)", []string{"node_id", "pid", "kong_subsystem"}, nil)
	descLogDropped = prom.NewDesc("kong_log_queue_dropped_total",
		"Requests whose log phase was dropped because the node's log queue was full (Gatehouse)", []string{"node_id"}, nil)
)

// healthStates are Kong's target states, each exported (1 for the
// current one, 0 for the others).
var healthStates = []string{"healthchecks_off", "healthy", "unhealthy", "dns_error"}

// nodeCollector exports a node's own numbers at scrape time.
type nodeCollector struct {
	host    plugin.Host
	metrics *Metrics
}

// Describe implements prometheus.Collector.
func (c *nodeCollector) Describe(ch chan<- *prom.Desc) {
	for _, d := range []*prom.Desc{descConnections, descRequests, descTimers, descDB, descInfo, descHealth, descWorkerVMs, descLogDropped} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *nodeCollector) Collect(ch chan<- prom.Metric) {
	s := c.host.Stats()
	for _, st := range []struct {
		state string
		v     int64
	}{{"accepted", s.ConnectionsAccepted}, {"handled", s.ConnectionsHandled}, {"total", s.TotalRequests},
		{"active", s.ConnectionsActive}, {"reading", s.ConnectionsReading}, {"writing", s.ConnectionsWriting},
		{"waiting", s.ConnectionsWaiting}} {
		ch <- prom.MustNewConstMetric(descConnections, prom.GaugeValue, float64(st.v), s.NodeID, "http", st.state)
	}
	ch <- prom.MustNewConstMetric(descRequests, prom.GaugeValue, float64(s.TotalRequests), s.NodeID, "http")
	ch <- prom.MustNewConstMetric(descTimers, prom.GaugeValue, 0, "running")
	ch <- prom.MustNewConstMetric(descTimers, prom.GaugeValue, 0, "pending")
	db := 0.0
	if s.DatastoreReachable {
		db = 1
	}
	ch <- prom.MustNewConstMetric(descDB, prom.GaugeValue, db)
	ch <- prom.MustNewConstMetric(descInfo, prom.GaugeValue, 1, s.NodeID, s.Version)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	ch <- prom.MustNewConstMetric(descWorkerVMs, prom.GaugeValue, float64(ms.HeapInuse), s.NodeID, strconv.Itoa(os.Getpid()), "http")
	ch <- prom.MustNewConstMetric(descLogDropped, prom.CounterValue, float64(s.LogDropped), s.NodeID)
	if c.metrics.exportUpstreamHealth.Load() {
		for _, t := range s.Targets {
			for _, st := range healthStates {
				v := 0.0
				if st == t.State {
					v = 1
				}
				ch <- prom.MustNewConstMetric(descHealth, prom.GaugeValue, v, t.Upstream, t.Target, t.Address, st, "http")
			}
		}
	}
}
