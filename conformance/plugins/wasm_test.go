package plugins_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/plugins"
	"github.com/gatehouse/gatehouse/hostabi"
	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmbuild"
	"github.com/gatehouse/gatehouse/runtime/app"
)

// wasmSources are the Go sources of the scenario plugins' Wasm versions:
// the examples of examples/ for the scenarios they implement, and
// testdata/wasm for the others. Each is built with the standard toolchain
// (GOOS=wasip1 GOARCH=wasm -buildmode=c-shared) by the test.
var wasmSources = map[string]string{
	"header-rewrite": "../../examples/header-rewrite",
	"api-key":        "../../examples/api-key",
	"body-rule":      "../../examples/body-rule",
	"counter":        "../../examples/counter",
	"exit":           "testdata/wasm/sc-exit",
	"consumer-auth":  "testdata/wasm/sc-consumer-auth",
}

// buildWasmScenarios compiles every scenario's Wasm version into a
// wasm_plugins_dir-like folder as sc-NAME.wasm and returns it.
func buildWasmScenarios(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, sc := range plugins.Scenarios() {
		src, ok := wasmSources[sc.Name]
		if !ok {
			t.Fatalf("scenario %s has no Wasm version", sc.Name)
		}
		path, err := wasmbuild.Build(src)
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
	}
	return dir
}

// wasmRuntime serves the scenario plugins compiled to Wasm with the SDK,
// through the Wasm host's provider (plugins-wasm), as wasm_plugins_dir.
var wasmRuntime = plugins.Runtime{Name: "wasm", Node: func(t *testing.T) (app.Options, map[string]string) {
	return wasmNode(t, 0), nil
}}

// wasmNode returns node options serving the scenario plugins compiled to
// Wasm, with a wasm_timeout (0: the default, 100 ms).
func wasmNode(t *testing.T, timeout time.Duration) app.Options {
	cache, err := wasmbuild.CompilationCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	p, err := wasmplugins.New(wasmplugins.Options{PluginsDir: buildWasmScenarios(t), CacheDir: cache,
		Timeout: timeout, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return app.Options{Providers: []hostabi.Provider{p}}
}
