package prometheus

import (
	"math"
	"strings"
	"sync/atomic"

	prom "github.com/prometheus/client_golang/prometheus"
)

// WasmMetric is one metric a proxy-wasm filter defined
// (proxy_define_metric), as Kong 3.9's exporter (wasmx.lua) prints it
// when a configuration has wasm_metrics: Name is "pw_FILTER_NAME".
type WasmMetric struct {
	Name string
	// Type is "counter", "gauge" or "histogram".
	Type string
	// Value is a counter's or gauge's value, a histogram's count.
	Value float64
	// Sum is a histogram's sum.
	Sum float64
	// Buckets are a histogram's bins (not cumulative), by upper bound;
	// an upper bound of math.Inf(1) is the last bin.
	Buckets []WasmBucket
}

// WasmBucket is one bin of a WasmMetric histogram.
type WasmBucket struct {
	UpperBound float64
	Count      uint64
}

// wasmSource returns the filters' metrics; nil until SetWasmMetrics.
var wasmSource atomic.Pointer[func() []WasmMetric]

// SetWasmMetrics installs the source of the proxy-wasm filters' metrics
// /metrics exports when a prometheus configuration has wasm_metrics (the
// node wires the proxy-wasm host's store here; the runtime does not import
// the Wasm hosts). nil removes it.
func SetWasmMetrics(source func() []WasmMetric) {
	if source == nil {
		wasmSource.Store(nil)
		return
	}
	wasmSource.Store(&source)
}

// wasmCollector exports the filters' metrics at scrape time. It describes
// nothing (an unchecked collector): the names are the filters'.
type wasmCollector struct{ metrics *Metrics }

// Describe implements prometheus.Collector.
func (*wasmCollector) Describe(chan<- *prom.Desc) {}

// Collect implements prometheus.Collector: each metric once (a name
// defined by filters of two runtimes is merged: counters and histograms
// add up, a gauge keeps the last value).
func (c *wasmCollector) Collect(ch chan<- prom.Metric) {
	src := wasmSource.Load()
	if src == nil || !c.metrics.exportWasm.Load() {
		return
	}
	type merged struct {
		WasmMetric
		bins map[float64]uint64
	}
	var order []string
	byName := map[string]*merged{}
	for _, m := range (*src)() {
		name := metricName(m.Name)
		if name == "" {
			continue
		}
		e := byName[name]
		if e == nil {
			e = &merged{WasmMetric: WasmMetric{Name: name, Type: m.Type}, bins: map[float64]uint64{}}
			byName[name] = e
			order = append(order, name)
		} else if e.Type != m.Type {
			continue
		}
		switch m.Type {
		case "gauge":
			e.Value = m.Value
		default:
			e.Value += m.Value
			e.Sum += m.Sum
		}
		for _, b := range m.Buckets {
			e.bins[b.UpperBound] += b.Count
		}
	}
	for _, name := range order {
		e := byName[name]
		desc := prom.NewDesc(name, "", nil, nil) // Kong prints no help
		switch e.Type {
		case "counter":
			ch <- prom.MustNewConstMetric(desc, prom.CounterValue, e.Value)
		case "gauge":
			ch <- prom.MustNewConstMetric(desc, prom.GaugeValue, e.Value)
		case "histogram":
			var ubs []float64
			for ub := range e.bins {
				if !math.IsInf(ub, 1) {
					ubs = append(ubs, ub)
				}
			}
			cum := map[float64]uint64{}
			for _, ub := range ubs {
				var n uint64
				for other, cnt := range e.bins {
					if other <= ub {
						n += cnt
					}
				}
				cum[ub] = n
			}
			ch <- prom.MustNewConstHistogram(desc, uint64(e.Value), e.Sum, cum)
		}
	}
}

// metricName makes name a valid Prometheus metric name (any other
// character becomes '_'); "" when nothing is left.
func metricName(name string) string {
	var b strings.Builder
	for i, r := range name {
		ok := r == '_' || r == ':' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if ok {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if strings.Trim(b.String(), "_") == "" {
		return ""
	}
	return b.String()
}
