package gatehouse

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// nativeBench is the same hook as testdata/bench, as a native plugin.
type nativeBench struct{}

func (nativeBench) Access(k hostabi.Kong) error {
	a := k.Request().Header("x-a")
	_ = k.Request().Header("x-b")
	k.ServiceRequest().SetHeader("x-c", a)
	return nil
}

func benchAccess(b *testing.B, acc hostabi.Accessor) {
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/").WithHeader("X-A", "1").WithHeader("X-B", "2"))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k.Reset()
		k.SetPhase(hostabi.PhaseAccess)
		if err := acc.Access(k); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if got := k.Result().UpstreamHeader("x-c"); got != "1" {
		b.Fatalf("x-c = %q", got)
	}
}

// BenchmarkWasmAccess: one access call of a Wasm guest: instance checkout
// from the configuration's pool, the export call under the time limit,
// two request header reads and one upstream header write through the
// fast-path imports, the instance back to the pool.
func BenchmarkWasmAccess(b *testing.B) {
	// a generous limit: the benchmark measures the round trip, and a loaded
	// machine may stall a goroutine past 100 ms
	p := loadGuest(b, "bench", wasmhost.Options{Timeout: 5 * time.Second})
	inst, err := p.New(map[string]any{})
	if err != nil {
		b.Fatal(err)
	}
	defer inst.(hostabi.Closer).Close()
	benchAccess(b, inst.(hostabi.Accessor))
}

// BenchmarkNativeAccess: the same hook as a native Go plugin.
func BenchmarkNativeAccess(b *testing.B) { benchAccess(b, nativeBench{}) }
