package proxywasm

import (
	"context"
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

// metrics are the metrics filters define: one set per runtime (one
// vm_id), by id and by name. They are kept for the filters to read back
// (proxy_get_metric); they are not exported to the node's metrics yet.
type metrics struct {
	mu     sync.Mutex
	byName map[string]uint32
	vals   []metric // id = index+1
}

type metric struct {
	kind  uint32
	value uint64 // counter, gauge: the value; histogram: the count
}

var metricStores sync.Map // *wasmhost.Runtime -> *metrics

func metricsFor(c *call) *metrics {
	v, _ := metricStores.LoadOrStore(c.config.filter.module.Runtime(), &metrics{byName: map[string]uint32{}})
	return v.(*metrics)
}

func defineMetric(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	kind := uint32(stack[0])
	name := wasmhost.ReadString(m, uint32(stack[1]), uint32(stack[2]))
	if kind > metricHistogram || name == "" {
		ret(stack, statusBadArgument)
		return
	}
	ms := metricsFor(c)
	ms.mu.Lock()
	id, ok := ms.byName[name]
	if !ok {
		ms.vals = append(ms.vals, metric{kind: kind})
		id = uint32(len(ms.vals))
		ms.byName[name] = id
	} else if ms.vals[id-1].kind != kind {
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

func recordMetric(ctx context.Context, _ api.Module, stack []uint64) {
	c := current(ctx)
	v := stack[1]
	ret(stack, withMetric(c, uint32(stack[0]), func(mt *metric) uint32 {
		switch mt.kind {
		case metricGauge:
			mt.value = v
		case metricHistogram:
			mt.value++
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
