package plugins_test

import (
	"log/slog"
	"testing"

	"github.com/gatehouse/gatehouse/conformance/plugins"
	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-lua/kongenv"
	"github.com/gatehouse/gatehouse/runtime/app"
)

// luaRuntime serves the scenario plugins written in Lua
// (testdata/lua/kong/plugins/sc-*), through the Lua host.
var luaRuntime = plugins.Runtime{Name: "lua", Node: func(t *testing.T) (app.Options, map[string]string) {
	var names []string
	for _, sc := range plugins.Scenarios() {
		names = append(names, sc.Plugin())
	}
	p, err := kongenv.NewProvider(kongenv.Options{PluginsDir: "testdata/lua", Names: names, Prefix: t.TempDir(),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return app.Options{Providers: []hostabi.Provider{p}}, nil
}}

// TestSameAcrossRuntimes runs the scenario set on every runtime, each
// step checked against the scenario, and then checks that the Lua, the
// Wasm and the proxy-wasm versions gave the client and the upstream the
// same thing as the native one (proxy-wasm, as filter plugins and from a
// route filter chain: the scenarios it can express).
func TestSameAcrossRuntimes(t *testing.T) {
	runtimes := []plugins.Runtime{luaRuntime, wasmRuntime, proxyWasmRuntime, proxyWasmChainRuntime}
	var native map[string][]plugins.Outcome
	t.Run("native", func(t *testing.T) { native = plugins.Run(t, nativeRuntime) })
	others := map[string]map[string][]plugins.Outcome{}
	for _, rt := range runtimes {
		t.Run(rt.Name, func(t *testing.T) { others[rt.Name] = plugins.Run(t, rt) })
	}
	// A runtime left out by -run has no outcomes to compare.
	for _, rt := range runtimes {
		other := others[rt.Name]
		if native == nil || other == nil {
			continue
		}
		for _, d := range plugins.Same(native, other, rt.Skip) {
			t.Error(rt.Name + ": " + d)
		}
	}
}
