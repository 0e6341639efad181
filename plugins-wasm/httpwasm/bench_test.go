package httpwasm

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// BenchmarkHTTPWasmAccess: one request of an http-wasm guest
// (testdata/bench): instance checkout, handle_request under the time
// limit, two request header reads and one upstream header write through
// the http_handler imports; then handle_response, which the ABI requires
// after next, on the same instance (it stays pinned to the request until
// then), and the instance back to the pool. The work of plugins-wasm/
// gatehouse's BenchmarkWasmAccess plus the ABI's response call.
func BenchmarkHTTPWasmAccess(b *testing.B) {
	p, err := Load(context.Background(), compile(b, "bench", build(b, "bench")))
	if err != nil {
		b.Fatal(err)
	}
	inst, err := p.New(map[string]any{})
	if err != nil {
		b.Fatal(err)
	}
	defer inst.(hostabi.Closer).Close()
	acc := inst.(hostabi.Accessor)
	hf := inst.(hostabi.HeaderFilterer)
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/").WithHeader("X-A", "1").WithHeader("X-B", "2"))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k.Reset()
		k.SetPhase(hostabi.PhaseAccess)
		if err := acc.Access(k); err != nil {
			b.Fatal(err)
		}
		k.SetPhase(hostabi.PhaseHeaderFilter)
		if err := hf.HeaderFilter(k); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	k.SetPhase(hostabi.PhaseAccess)
	if got := k.Result().UpstreamHeader("x-c"); got != "1" {
		b.Fatalf("x-c = %q, want the guest's copy of x-a", got)
	}
}
