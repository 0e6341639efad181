package main

import (
	"math"

	"github.com/gatehouse/gatehouse/plugins-wasm/proxywasm"
	"github.com/gatehouse/gatehouse/runtime/admin"
	"github.com/gatehouse/gatehouse/runtime/config"
	"github.com/gatehouse/gatehouse/runtime/plugins/prometheus"
)

// setProxyWasmNode gives the proxy-wasm filters Kong's kong.version and
// kong.configuration.* properties.
func setProxyWasmNode(cfg *config.Config) {
	proxywasm.SetNodeInfo(&proxywasm.NodeInfo{Version: admin.KongVersion, Configuration: cfg.Values()})
}

// The prometheus plugin's /metrics exports the proxy-wasm filters'
// metrics (wasm_metrics, Kong 3.9): the runtime does not import the Wasm
// hosts, so the node wires the filters' metric store here.
func init() { prometheus.SetWasmMetrics(proxyWasmMetrics) }

// proxyWasmMetrics converts proxywasm.Metrics for the exporter.
func proxyWasmMetrics() []prometheus.WasmMetric {
	ms := proxywasm.Metrics()
	out := make([]prometheus.WasmMetric, 0, len(ms))
	for _, m := range ms {
		w := prometheus.WasmMetric{Name: m.Name, Type: m.Type, Value: float64(m.Value), Sum: float64(m.Sum)}
		for _, b := range m.Buckets {
			ub := float64(b.UpperBound)
			if b.UpperBound == math.MaxUint32 {
				ub = math.Inf(1)
			}
			w.Buckets = append(w.Buckets, prometheus.WasmBucket{UpperBound: ub, Count: b.Count})
		}
		out = append(out, w)
	}
	return out
}
