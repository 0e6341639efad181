package filterchains_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/conformance/wasmnode"
	"github.com/gatehouse/gatehouse/hostabi"
	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
	"github.com/gatehouse/gatehouse/runtime/app"
)

// TestProxyWasmFilterChains: a real proxy-wasm filter (the conformance
// filter, built from Go) in wasm_filters_path runs from Kong filter
// chains, configured through the Admin API as Kong's are: a route's chain
// and its service's chain both change the request and the response, in
// chain order (service first, each filter seeing its predecessors'
// changes), and a disabled chain stops running. The
// node is wired as `gatehouse start` wires it (wasmplugins.Filters, the
// filters enabled whatever `plugins` says).
func TestProxyWasmFilterChains(t *testing.T) {
	dir := t.TempDir()
	wasmnode.BuildGuest(t, dir, "../proxywasm/testdata/filter")
	p, names, err := wasmplugins.Filters(dir, nil, wasmplugins.Options{Prefix: t.TempDir()})
	if err != nil || p == nil {
		t.Fatalf("filters: %v (%v)", err, names)
	}
	n := testnode.StartWith(t, map[string]string{"wasm": "on", "wasm_filters_path": dir},
		app.Options{Providers: []hostabi.Provider{p}, Enabled: names})
	admin := "http://" + n.Addr("admin")
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Saw", strings.Join(r.Header.Values("X-Chain"), ", "))
		io.WriteString(w, "up")
	}))
	defer up.Close()
	nd := &node{t: t, admin: admin, proxy: "http://" + n.Addr("proxy")}
	mustStatus := func(want int, method, path string, body any) map[string]any {
		t.Helper()
		status, out := nd.call(method, path, body) // fails the test on >= 300
		if status != want {
			t.Fatalf("%s %s: %d %v", method, path, status, out)
		}
		return out
	}
	mustStatus(201, "POST", "/services", map[string]any{"name": "s", "url": up.URL})
	mustStatus(201, "POST", "/services/s/routes", map[string]any{"name": "r", "paths": []string{"/fc"}})
	filterConf := func(reqHeader, respHeader string) string {
		b, _ := json.Marshal(map[string]any{"add_req": map[string]string{"x-chain": reqHeader},
			"add_resp": map[string]string{"x-resp-chain": respHeader}})
		return string(b)
	}
	route := mustStatus(201, "POST", "/routes/r/filter-chains", map[string]any{"name": "route-chain",
		"filters": []any{map[string]any{"name": "filter", "config": filterConf("route", "route")}}})
	mustStatus(201, "POST", "/services/s/filter-chains", map[string]any{"name": "service-chain",
		"filters": []any{map[string]any{"name": "filter", "config": filterConf("service", "service")}}})

	client := &http.Client{Timeout: 5 * time.Second}
	get := func() (*http.Response, string) {
		t.Helper()
		res, err := client.Get("http://" + n.Addr("proxy") + "/fc")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	// Both chains apply: the service's first, then the route's, each
	// adding its value to the upstream request and to the response.
	var res *http.Response
	var body string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		res, body = get()
		if len(res.Header.Values("X-Resp-Chain")) == 2 || time.Now().After(deadline) {
			break
		}
	}
	if res.StatusCode != 200 || body != "up" {
		t.Fatalf("status %d body %q", res.StatusCode, body)
	}
	// Each filter sees its predecessors' changes: the route's filter adds
	// to the header the service's filter added.
	if got := res.Header.Get("X-Saw"); got != "service, route" {
		t.Errorf("the upstream saw X-Chain %q, want \"service, route\"", got)
	}
	if got := res.Header.Values("X-Resp-Chain"); len(got) != 2 {
		t.Errorf("X-Resp-Chain %q: want one value from each chain", got)
	}
	// A disabled chain stops running; the other goes on.
	mustStatus(200, "PATCH", "/filter-chains/"+route["id"].(string), map[string]any{"enabled": false})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		res, _ = get()
		if len(res.Header.Values("X-Resp-Chain")) == 1 || time.Now().After(deadline) {
			break
		}
	}
	if got := res.Header.Values("X-Resp-Chain"); len(got) != 1 || got[0] != "service" {
		t.Errorf("after disabling the route's chain: X-Resp-Chain %q, want [service]", got)
	}
}
