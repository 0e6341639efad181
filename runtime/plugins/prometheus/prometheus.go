// Package prometheus is Gatehouse's native prometheus plugin, compatible
// with Kong 3.9's: its log phase counts every proxied request (status
// codes, latencies, bandwidth, per consumer on demand) and `GET /metrics`,
// on the status listener and the Admin API, exposes them with the node's
// own gauges under Kong's metric names, through the official Prometheus Go
// client. See README.md.
package prometheus

import (
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "prometheus"
	Priority = 13
	Version  = plugin.BundledVersion
)

// Kong's histogram buckets, in milliseconds (exporter.lua).
var (
	KongLatencyBuckets     = []float64{1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000, 3000, 6000}
	UpstreamLatencyBuckets = []float64{25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000}
)

// Config is the plugin's configuration, decoded from its schema.
type Config struct {
	PerConsumer           bool `config:"per_consumer"`
	StatusCodeMetrics     bool `config:"status_code_metrics"`
	AIMetrics             bool `config:"ai_metrics"`
	LatencyMetrics        bool `config:"latency_metrics"`
	BandwidthMetrics      bool `config:"bandwidth_metrics"`
	UpstreamHealthMetrics bool `config:"upstream_health_metrics"`
	WasmMetrics           bool `config:"wasm_metrics"`
}

var definition = plugin.Typed(&plugin.Definition{
	Name:      Name,
	Version:   Version,
	Priority:  Priority,
	Phases:    []hostabi.Phase{hostabi.PhaseLog},
	Schema:    Schema(),
	Endpoints: endpoints,
}, func(c Config) (any, error) { return &Plugin{conf: c}, nil })

func init() { plugin.Register(definition) }

// ParseConfig decodes a configuration map with the schema's defaults.
func ParseConfig(m map[string]any) (Config, error) { return plugin.DecodeAs[Config](definition, m) }

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// Metrics are the request metrics the log phase feeds: one set per
// process, as Kong keeps one per node in its shared dict.
type Metrics struct {
	registry                     *prom.Registry
	status                       *prom.CounterVec
	kongLatency, upstreamLatency *prom.HistogramVec
	requestLatency               *prom.HistogramVec
	bandwidth                    *prom.CounterVec
	exportUpstreamHealth         atomic.Bool
	exportWasm                   atomic.Bool
	logged                       atomic.Uint64
}

// NewMetrics creates the request metrics on a registry of their own.
func NewMetrics() *Metrics {
	m := &Metrics{registry: prom.NewRegistry()}
	m.status = prom.NewCounterVec(prom.CounterOpts{Name: "kong_http_requests_total",
		Help: "HTTP status codes per consumer/service/route in Kong"},
		[]string{"service", "route", "code", "source", "workspace", "consumer"})
	m.kongLatency = prom.NewHistogramVec(prom.HistogramOpts{Name: "kong_kong_latency_ms",
		Help:    "Latency added by Kong and enabled plugins for each service/route in Kong",
		Buckets: KongLatencyBuckets}, []string{"service", "route", "workspace"})
	m.upstreamLatency = prom.NewHistogramVec(prom.HistogramOpts{Name: "kong_upstream_latency_ms",
		Help:    "Latency added by upstream response for each service/route in Kong",
		Buckets: UpstreamLatencyBuckets}, []string{"service", "route", "workspace"})
	m.requestLatency = prom.NewHistogramVec(prom.HistogramOpts{Name: "kong_request_latency_ms",
		Help:    "Total latency incurred during requests for each service/route in Kong",
		Buckets: UpstreamLatencyBuckets}, []string{"service", "route", "workspace"})
	m.bandwidth = prom.NewCounterVec(prom.CounterOpts{Name: "kong_bandwidth_bytes",
		Help: "Total bandwidth (ingress/egress) throughput in bytes"},
		[]string{"service", "route", "direction", "workspace", "consumer"})
	m.registry.MustRegister(m.status, m.kongLatency, m.upstreamLatency, m.requestLatency, m.bandwidth)
	return m
}

// Default is the process's request metrics, the ones /metrics serves.
var Default = NewMetrics()

// Plugin is one configured prometheus instance; safe for concurrent use.
type Plugin struct {
	conf    Config
	metrics *Metrics // nil: Default
}

// Log implements hostabi.LogPhaser: Kong's exporter.log.
func (p *Plugin) Log(k hostabi.Kong) error {
	m := p.metrics
	if m == nil {
		m = Default
	}
	m.Observe(p.conf, k.Log().Serialize())
	return nil
}

// Observe records one serialized request (kong.log.serialize's table) as
// a configuration asks; requests without a route are not counted, as in
// Kong.
func (m *Metrics) Observe(conf Config, rec map[string]any) {
	m.exportUpstreamHealth.Store(conf.UpstreamHealthMetrics)
	m.exportWasm.Store(conf.WasmMetrics)
	route := entity(rec["route"])
	if route == nil {
		return
	}
	m.logged.Add(1)
	routeName := str(route["name"])
	if routeName == "" {
		routeName = str(route["id"])
	}
	serviceName := ""
	if svc := entity(rec["service"]); svc != nil {
		if serviceName = str(svc["name"]); serviceName == "" {
			serviceName = str(svc["host"])
		}
	}
	consumer := ""
	if conf.PerConsumer {
		if c := entity(rec["consumer"]); c != nil {
			consumer = str(c["username"])
		}
	}
	const workspace = "default"
	resp, _ := rec["response"].(map[string]any)
	req, _ := rec["request"].(map[string]any)
	if conf.BandwidthMetrics {
		if n := num(req["size"]); n > 0 {
			m.bandwidth.WithLabelValues(serviceName, routeName, "ingress", workspace, consumer).Add(n)
		}
		if n := num(resp["size"]); n > 0 {
			m.bandwidth.WithLabelValues(serviceName, routeName, "egress", workspace, consumer).Add(n)
		}
	}
	if conf.StatusCodeMetrics && resp != nil {
		source := "kong"
		if rec["source"] == "service" {
			source = "service"
		}
		code := strconv.FormatInt(int64(num(resp["status"])), 10)
		m.status.WithLabelValues(serviceName, routeName, code, source, workspace, consumer).Inc()
	}
	if lat, ok := rec["latencies"].(map[string]any); ok && conf.LatencyMetrics {
		if v, ok := number(lat["request"]); ok && v >= 0 {
			m.requestLatency.WithLabelValues(serviceName, routeName, workspace).Observe(v)
		}
		if v, ok := number(lat["proxy"]); ok && v >= 0 {
			m.upstreamLatency.WithLabelValues(serviceName, routeName, workspace).Observe(v)
		}
		if v, ok := number(lat["kong"]); ok && v >= 0 {
			m.kongLatency.WithLabelValues(serviceName, routeName, workspace).Observe(v)
		}
	}
}

func entity(v any) map[string]any {
	e, _ := v.(map[string]any)
	return e
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func num(v any) float64 {
	f, _ := number(v)
	return f
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case uint64:
		return float64(n), true
	}
	return 0, false
}

// endpoints are `/metrics` on the status listener and the Admin API, as
// Kong's status_api.lua and api.lua serve them.
func endpoints(env plugin.EndpointEnv) []plugin.Endpoint {
	h := Handler(Default, env.Node)
	return []plugin.Endpoint{{Method: http.MethodGet, Path: "/metrics", Admin: true, Status: true, Handler: h}}
}

// Handler serves the Prometheus text exposition of m and of host's
// gauges.
func Handler(m *Metrics, host plugin.Host) http.Handler {
	node := prom.NewRegistry()
	node.MustRegister(&nodeCollector{host: host, metrics: m})
	node.MustRegister(&wasmCollector{metrics: m})
	// prometheus.DefaultGatherer adds the Go runtime's and the process's
	// metrics and whatever other plugins register there (http-log's drops).
	return promhttp.HandlerFor(prom.Gatherers{m.registry, node, prom.DefaultGatherer}, promhttp.HandlerOpts{})
}
