package managergui_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/conformance/browser"
	"github.com/gatehouse/gatehouse/conformance/wasmnode"
	"github.com/gatehouse/gatehouse/hostabi"
	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmbuild"
	"github.com/gatehouse/gatehouse/runtime/app"
)

// wasmGuests builds Go guests (wasip1) into a new folder and returns it
// with the tests' compilation cache.
func wasmGuests(t *testing.T, sources ...string) (dir, cache string) {
	t.Helper()
	dir = wasmnode.GuestDir(t, sources...)
	cache, err := wasmbuild.CompilationCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir, cache
}

// TestWasmPluginForm: a Wasm plugin (examples/header-rewrite, built for
// wasip1 by the test) gets its form from the schema its module declares,
// and runs with what the form sent.
func TestWasmPluginForm(t *testing.T) {
	dir, cache := wasmGuests(t, "../../examples/header-rewrite")
	prefix := t.TempDir()
	p, err := wasmplugins.New(wasmplugins.Options{PluginsDir: dir, Prefix: prefix, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	names, err := wasmplugins.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := newWalkWith(t, map[string]string{"plugins": "bundled," + strings.Join(names, ","), "prefix": prefix, "wasm_plugins_dir": dir},
		app.Options{Providers: []hostabi.Provider{p}})
	var svc struct{ ID string }
	w.mustAPI(201, "POST", "/services", map[string]any{"name": "rewritten", "host": w.upstreamHost(), "port": w.upstreamPort()}, &svc)
	w.mustAPI(201, "POST", "/services/rewritten/routes", map[string]any{"paths": []string{"/rw"}}, nil)

	w.Step("the Wasm plugin's form",
		w.open("#/services/"+svc.ID+"/plugins/new?name=header-rewrite"),
		browser.Labelled("header-rewrite form"),
		browser.ExpectText(`main [data-field="config.header"]`, "the header set on the upstream request"),
		submit(),
		browser.ExpectText(`main [data-field="config.header"] .error`, "required field missing"),
		browser.ExpectText(`main [data-field="config.value"] .error`, "required field missing"),
	)
	w.Step("fill it",
		browser.Fill("config.header", "X-Gui-Wasm"),
		browser.Fill("config.value", "from-the-form"),
		submit(),
		browser.Ready("#/services/"+svc.ID),
		browser.ExpectText(`section[aria-labelledby="sec-plugins"]`, "header-rewrite"),
	)
	body := w.proxyStatus("/rw/p", nil, http.StatusOK)
	if !strings.Contains(body, "X-Gui-Wasm=from-the-form") {
		t.Fatalf("upstream saw %q, want the header the form configured", body)
	}
}
