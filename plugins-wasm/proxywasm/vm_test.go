package proxywasm

import (
	"context"
	"math"
	"testing"

	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
)

// hasVM reports whether rt's stores are registered.
func hasVM(rt *wasmhost.Runtime) bool {
	_, ok := vms.Load(rt)
	return ok
}

// TestStoresFreedOnClose: a runtime's shared data, queues and metrics
// exist once env is defined, are seen by Metrics, and are dropped when
// the runtime closes; a runtime started after it starts empty.
func TestStoresFreedOnClose(t *testing.T) {
	ctx := context.Background()
	for round := 0; round < 2; round++ {
		rt, err := wasmhost.NewRuntime(ctx, wasmhost.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if hasVM(rt) {
			t.Fatal("stores before env is defined")
		}
		if err := Define(ctx, rt); err != nil {
			t.Fatal(err)
		}
		if err := Define(ctx, rt); err != nil { // again: nothing changes
			t.Fatal(err)
		}
		v := vmFor(rt)
		if !hasVM(rt) || vmFor(rt) != v {
			t.Fatal("env defined but no stores kept")
		}
		if _, _, ok := v.shared.get("k"); ok {
			t.Fatalf("round %d: shared data left from an earlier runtime", round)
		}
		v.shared.set("k", []byte("v"), 0)
		v.metrics.mu.Lock()
		v.metrics.vals = append(v.metrics.vals, metric{key: "pw:f:freed", kind: metricCounter, value: 1})
		v.metrics.mu.Unlock()
		if !hasMetric("pw_f_freed") {
			t.Fatal("Metrics does not list an open runtime's metric")
		}
		if err := rt.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if hasVM(rt) {
			t.Fatal("stores kept after the runtime closed")
		}
		if hasMetric("pw_f_freed") {
			t.Fatal("Metrics lists a closed runtime's metric")
		}
		if vmFor(rt) == v {
			t.Fatal("a closed runtime's stores handed out")
		}
	}
}

func hasMetric(name string) bool {
	for _, m := range Metrics() {
		if m.Name == name {
			return true
		}
	}
	return false
}

func TestBinOf(t *testing.T) {
	for _, tt := range []struct {
		v    uint64
		want uint32
	}{{0, 1}, {1, 1}, {2, 2}, {3, 4}, {4, 4}, {5, 8}, {1000, 1024}, {1 << 31, 1 << 31}, {1<<31 + 1, math.MaxUint32}, {math.MaxUint64, math.MaxUint32}} {
		if got := binOf(tt.v); got != tt.want {
			t.Errorf("binOf(%d) = %d, want %d", tt.v, got, tt.want)
		}
	}
}
