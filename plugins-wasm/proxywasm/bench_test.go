package proxywasm

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmbuild"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// BenchmarkProxyWasmAccess: one request of a proxy-wasm filter
// (testdata/bench, on sdk/proxywasm/filter): instance checkout,
// proxy_on_context_create and proxy_on_request_headers under the time
// limit, two request header reads and one header write through the
// proxy-wasm imports; then the log phase's proxy_on_log, proxy_on_done
// and proxy_on_delete, which end the HTTP context the ABI keeps for the
// request, and the instance back to the pool. The work of plugins-wasm/
// gatehouse's BenchmarkWasmAccess plus the ABI's context lifetime.
func BenchmarkProxyWasmAccess(b *testing.B) {
	path, err := wasmbuild.Build("testdata/bench")
	if err != nil {
		b.Fatal(err)
	}
	cache, err := wasmbuild.CompilationCacheDir()
	if err != nil {
		b.Fatal(err)
	}
	// a generous limit: the benchmark measures the round trip, and a
	// loaded machine may stall a goroutine past 100 ms
	rt, err := wasmhost.NewRuntime(context.Background(), wasmhost.Options{CacheDir: cache, Timeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close(context.Background())
	wasm, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	m, err := rt.Compile(context.Background(), "bench", wasm)
	if err != nil {
		b.Fatal(err)
	}
	f, err := Load(context.Background(), m)
	if err != nil {
		b.Fatal(err)
	}
	c, err := f.NewRaw(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/").WithHeader("X-A", "1").WithHeader("X-B", "2"))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k.Reset()
		k.SetPhase(hostabi.PhaseAccess)
		if err := c.Access(k); err != nil {
			b.Fatal(err)
		}
		k.SetPhase(hostabi.PhaseLog)
		if err := c.Log(k); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if got := k.Result().UpstreamHeader("x-c"); got != "1" {
		b.Fatalf("x-c = %q, want the filter's copy of x-a", got)
	}
}
