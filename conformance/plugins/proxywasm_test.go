package plugins_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/conformance/plugins"
	"github.com/gatehouse/gatehouse/hostabi"
	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmbuild"
	"github.com/gatehouse/gatehouse/runtime/app"
)

// proxyWasmSkip are the scenarios proxy-wasm cannot express, and why.
var proxyWasmSkip = map[string]string{
	"consumer-auth": "proxy-wasm has no way to look a consumer up or to authenticate one: " +
		"properties only read the consumer a Kong plugin already authenticated",
}

// proxyWasmRuntime serves the scenario plugins written as proxy-wasm
// filters (testdata/proxywasm/sc-*, standard Go on sdk/proxywasm), built
// by the test into a wasm_filters_path and configured as Kong 3.6+
// configures filters as plugins: the plugin's config is the filter's,
// the scenario's configuration as is (each filter's NAME.meta.json
// declares an object config), handed to the filter as JSON; the filter
// runs in the route's filter chain slot.
var proxyWasmRuntime = plugins.Runtime{Name: "proxy-wasm", Skip: proxyWasmSkip, Node: proxyWasmNode}

// proxyWasmChainRuntime runs the same filters from a route filter chain
// (POST /routes/s/filter-chains), as Kong users run them.
var proxyWasmChainRuntime = plugins.Runtime{Name: "proxy-wasm-chain", Skip: proxyWasmSkip, FilterChain: true,
	Node: proxyWasmNode}

// proxyWasmNode builds the scenario filters into a wasm_filters_path and
// returns the options and settings of a node serving them (wasm on).
func proxyWasmNode(t *testing.T) (app.Options, map[string]string) {
	dir := t.TempDir()
	for _, sc := range plugins.Scenarios() {
		if _, skip := proxyWasmSkip[sc.Name]; skip {
			continue
		}
		path, err := wasmbuild.Build(filepath.Join("testdata", "proxywasm", sc.Plugin()))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, sc.Plugin()+".wasm"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		// The filter's config schema: an object, so the plugin's config
		// can be the scenario's as is (without one it must be a string).
		meta := []byte(`{"config_schema": {"type": "object"}}`)
		if err := os.WriteFile(filepath.Join(dir, sc.Plugin()+".meta.json"), meta, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cache, err := wasmbuild.CompilationCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	p, names, err := wasmplugins.Filters(dir, nil, wasmplugins.Options{Prefix: t.TempDir(), CacheDir: cache,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil || p == nil {
		t.Fatalf("proxy-wasm filters: %v (%v)", err, names)
	}
	return app.Options{Providers: []hostabi.Provider{p}, Enabled: names},
		map[string]string{"wasm": "on", "wasm_filters_path": dir}
}
