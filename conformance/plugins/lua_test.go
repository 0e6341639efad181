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
// step checked against the scenario, and then checks that the Lua and the
// Wasm versions gave the client and the upstream the same thing as the
// native one.
func TestSameAcrossRuntimes(t *testing.T) {
	var native, lua, wasm map[string][]plugins.Outcome
	t.Run("native", func(t *testing.T) { native = plugins.Run(t, nativeRuntime) })
	t.Run("lua", func(t *testing.T) { lua = plugins.Run(t, luaRuntime) })
	t.Run("wasm", func(t *testing.T) { wasm = plugins.Run(t, wasmRuntime) })
	// A runtime left out by -run has no outcomes to compare.
	for name, other := range map[string]map[string][]plugins.Outcome{"lua": lua, "wasm": wasm} {
		if native == nil || other == nil {
			continue
		}
		for _, d := range plugins.Same(native, other) {
			t.Error(name + ": " + d)
		}
	}
}
