package managergui_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/conformance/browser"
	"github.com/gatehouse/gatehouse/hostabi"
	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
	"github.com/gatehouse/gatehouse/runtime/app"
)

// TestFilterChainScreens: with wasm on and a proxy-wasm filter (the
// conformance filter of conformance/proxywasm, built for wasip1 by the
// test) in wasm_filters_path, a filter chain made in the GUI's form on a
// service's page shows on GET /filter-chains and runs: the header its
// configuration adds reaches the upstream. An edit of the chain in the
// GUI changes what the proxy does; Kong's "no such filter" is shown
// next to the field.
func TestFilterChainScreens(t *testing.T) {
	// The filter is named after its folder: "filter".
	dir, cache := wasmGuests(t, "../proxywasm/testdata/filter")
	p, names, err := wasmplugins.Filters(dir, nil, wasmplugins.Options{Prefix: t.TempDir(), CacheDir: cache,
		Timeout: 2 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil || p == nil {
		t.Fatalf("filters: %v (%v)", err, names)
	}
	w := newWalkWith(t, map[string]string{"wasm": "on", "wasm_filters_path": dir, "plugins": "bundled"},
		app.Options{Providers: []hostabi.Provider{p}, Enabled: names})
	var svc struct{ ID string }
	w.mustAPI(201, "POST", "/services", map[string]any{"name": "filtered", "host": w.upstreamHost(), "port": w.upstreamPort()}, &svc)
	w.mustAPI(201, "POST", "/services/filtered/routes", map[string]any{"paths": []string{"/fc"}}, nil)
	w.proxyStatus("/fc/x", nil, http.StatusOK)

	w.Step("the filter chain form under the service",
		w.open("#/services/"+svc.ID),
		chromedp.Click(chromedp.CSS(`a[href="#/services/`+svc.ID+`/filter-chains/new"]`)),
		browser.Ready("#/services/"+svc.ID+"/filter-chains/new"),
		browser.Labelled("filter chain form"),
		browser.Fill("name", "gui-chain"),
		browser.SetText(`main [name="filters"]`, `[{"name":"no-such-filter"}]`),
		submit(),
		browser.ExpectText(`main [data-field="filters"] .error`, "no such filter"),
	)
	w.Step("a filter that exists",
		browser.SetText(`main [name="filters"]`, `[{"name":"filter","config":"{\"add_req\":{\"x-gui-chain\":\"from-the-gui\"}}"}]`),
		submit(),
		browser.Ready("#/services/"+svc.ID),
		browser.ExpectText(`section[aria-labelledby="sec-filter-chains"]`, "gui-chain"),
	)
	var chains struct {
		Data []struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			Service struct {
				ID string `json:"id"`
			} `json:"service"`
			Filters []struct {
				Name    string `json:"name"`
				Enabled bool   `json:"enabled"`
			} `json:"filters"`
		} `json:"data"`
	}
	w.mustAPI(http.StatusOK, "GET", "/filter-chains", nil, &chains)
	if len(chains.Data) != 1 || chains.Data[0].Name != "gui-chain" || chains.Data[0].Service.ID != svc.ID ||
		len(chains.Data[0].Filters) != 1 || chains.Data[0].Filters[0].Name != "filter" || !chains.Data[0].Filters[0].Enabled {
		t.Fatalf("GET /filter-chains: %+v", chains.Data)
	}
	waitBody(t, w, "/fc/x", "X-Gui-Chain=from-the-gui")

	w.Step("the chains list",
		w.open("#/filter-chains"),
		browser.Labelled("filter chains"),
		browser.ExpectText("main table", "gui-chain"),
	)
	w.keep("filter-chains")
	w.Step("edit the chain's configuration",
		chromedp.Click(chromedp.CSS(`main table a`)),
		browser.Ready("#/filter-chains/"+chains.Data[0].ID),
		browser.SetText(`main [name="filters"]`, `[{"name":"filter","config":"{\"add_req\":{\"x-gui-chain\":\"edited\"}}"}]`),
		submit(),
		browser.ExpectText("main .banner.ok", "Saved gui-chain."),
	)
	waitBody(t, w, "/fc/x", "X-Gui-Chain=edited")
}

// waitBody polls the proxy until path's body contains want (the node
// applies configuration changes asynchronously).
func waitBody(t *testing.T, w *walk, path, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		last = w.proxyStatus(path, nil, http.StatusOK)
		if strings.Contains(last, want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("GET %s: body %q, want %q", path, last, want)
}
