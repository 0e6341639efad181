package sdk_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
	"github.com/gatehouse/gatehouse/sdk/plugintest/load"
)

// benchHook is testdata/bench's hook: two request header reads and one
// upstream header write.
var benchHook = sdk.Plugin[struct{}]{Access: func(k sdk.Kong, _ *struct{}) error {
	a := k.Request().Header("x-a")
	_ = k.Request().Header("x-b")
	k.ServiceRequest().SetHeader("x-c", a)
	return nil
}}

func benchAccess(b *testing.B, pp hostabi.ProvidedPlugin) {
	inst := plugintest.NewProvided(b, pp, nil)
	acc := inst.(hostabi.Accessor)
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

// BenchmarkSDKWasmAccess: the hook compiled to Wasm with the SDK, one
// access call per iteration: instance checkout, the export, the SDK's
// dispatch to the handler, two header reads and one write through the
// fast imports. plugins-wasm/gatehouse's BenchmarkWasmAccess is the same
// hook on the raw imports, without the SDK.
func BenchmarkSDKWasmAccess(b *testing.B) { benchAccess(b, load.WasmSource(b, "testdata/bench")) }

// BenchmarkSDKNativeAccess: the same SDK plugin run natively.
func BenchmarkSDKNativeAccess(b *testing.B) {
	pp, err := benchHook.Provide("bench")
	if err != nil {
		b.Fatal(err)
	}
	benchAccess(b, pp)
}
