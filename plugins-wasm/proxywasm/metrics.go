package proxywasm

import (
	"context"
	"math"
	"math/bits"
	"sort"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
	"github.com/tetratelabs/wazero/api"
)

// Metric types.
const (
	metricCounter   = 0
	metricGauge     = 1
	metricHistogram = 2
)

// maxMetrics bounds the metrics one runtime holds; a define past it is
// refused.
const maxMetrics = 10000

// metrics are the metrics filters define: one set per runtime (one
// vm_id), by id and by key. A metric's key is "pw:FILTER:NAME", as
// ngx_wasm_module keys the metrics of a filter, so that two filters
// defining the same name get two metrics. Metrics exports them for the
// node's /metrics.
type metrics struct {
	mu     sync.Mutex
	byName map[string]uint32
	vals   []metric // id = index+1
}

type metric struct {
	key   string
	kind  uint32
	value uint64 // counter, gauge: the value; histogram: the count
	sum   uint64 // histogram: the sum of the recorded values
	bins  map[uint32]uint64
}

func metricsFor(c *call) *metrics { return c.config.filter.vm.metrics }

func defineMetric(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	kind := uint32(stack[0])
	name := wasmhost.ReadString(m, uint32(stack[1]), uint32(stack[2]))
	if kind > metricHistogram || name == "" {
		ret(stack, statusBadArgument)
		return
	}
	key := "pw:" + c.config.filter.module.Name + ":" + name
	ms := metricsFor(c)
	ms.mu.Lock()
	id, ok := ms.byName[key]
	switch {
	case !ok && len(ms.vals) >= maxMetrics:
		ms.mu.Unlock()
		ret(stack, statusBadArgument)
		return
	case !ok:
		ms.vals = append(ms.vals, metric{key: key, kind: kind})
		id = uint32(len(ms.vals))
		ms.byName[key] = id
	case ms.vals[id-1].kind != kind:
		ms.mu.Unlock()
		ret(stack, statusBadArgument)
		return
	}
	ms.mu.Unlock()
	putU32(m, uint32(stack[3]), id)
	ret(stack, statusOK)
}

// withMetric runs f on metric id under the lock; NotFound for an unknown
// id.
func withMetric(c *call, id uint32, f func(*metric) uint32) uint32 {
	ms := metricsFor(c)
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if id == 0 || int(id) > len(ms.vals) {
		return statusNotFound
	}
	return f(&ms.vals[id-1])
}

func incrementMetric(ctx context.Context, _ api.Module, stack []uint64) {
	c := current(ctx)
	delta := int64(stack[1])
	ret(stack, withMetric(c, uint32(stack[0]), func(mt *metric) uint32 {
		switch {
		case mt.kind == metricHistogram:
			return statusBadArgument
		case mt.kind == metricCounter && delta < 0:
			return statusBadArgument
		}
		mt.value = uint64(int64(mt.value) + delta)
		return statusOK
	}))
}

// binOf is the upper bound of a histogram value's bin: the next power of
// two (1, 2, 4, ...), math.MaxUint32 (+Inf) past 2^31.
func binOf(v uint64) uint32 {
	if v <= 1 {
		return 1
	}
	if v > 1<<31 {
		return math.MaxUint32
	}
	return 1 << bits.Len64(v-1)
}

func recordMetric(ctx context.Context, _ api.Module, stack []uint64) {
	c := current(ctx)
	v := stack[1]
	ret(stack, withMetric(c, uint32(stack[0]), func(mt *metric) uint32 {
		switch mt.kind {
		case metricGauge:
			mt.value = v
		case metricHistogram:
			mt.value++
			mt.sum += v
			if mt.bins == nil {
				mt.bins = map[uint32]uint64{}
			}
			mt.bins[binOf(v)]++
		default:
			return statusBadArgument
		}
		return statusOK
	}))
}

func getMetric(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	var v uint64
	st := withMetric(c, uint32(stack[0]), func(mt *metric) uint32 {
		v = mt.value
		return statusOK
	})
	if st == statusOK && !m.Memory().WriteUint64Le(uint32(stack[1]), v) {
		wasmhost.Trapf("pointer out of memory: %d", uint32(stack[1]))
	}
	ret(stack, st)
}

// Metric is one metric a filter defined, as the node's /metrics exports
// it (Kong 3.9's prometheus plugin with wasm_metrics).
type Metric struct {
	// Name is ngx_wasm_module's key "pw:FILTER:NAME" with every ':' made
	// '_' (Kong's exporter): "pw_FILTER_NAME".
	Name string
	// Type is "counter", "gauge" or "histogram".
	Type string
	// Value is a counter's or gauge's value, a histogram's count.
	Value uint64
	// Sum is a histogram's sum of recorded values.
	Sum uint64
	// Buckets are a histogram's bins, by upper bound (powers of two),
	// each with the count of values in it (not cumulative); an upper
	// bound of math.MaxUint32 is +Inf.
	Buckets []Bucket
}

// Bucket is one bin of a histogram.
type Bucket struct {
	UpperBound uint32
	Count      uint64
}

// Metrics returns the metrics the filters of every open runtime defined,
// sorted by name (a name defined in two runtimes is listed twice).
func Metrics() []Metric {
	var out []Metric
	for _, v := range liveVMs() {
		ms := v.metrics
		ms.mu.Lock()
		for _, mt := range ms.vals {
			e := Metric{Name: strings.ReplaceAll(mt.key, ":", "_"), Value: mt.value, Sum: mt.sum}
			switch mt.kind {
			case metricCounter:
				e.Type = "counter"
			case metricGauge:
				e.Type = "gauge"
			default:
				e.Type = "histogram"
				for ub, n := range mt.bins {
					e.Buckets = append(e.Buckets, Bucket{UpperBound: ub, Count: n})
				}
				sort.Slice(e.Buckets, func(i, j int) bool { return e.Buckets[i].UpperBound < e.Buckets[j].UpperBound })
			}
			out = append(out, e)
		}
		ms.mu.Unlock()
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
