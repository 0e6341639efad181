//go:build !wasip1

package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/hostabi"
	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmbuild"
	"github.com/gatehouse/gatehouse/runtime/app"
)

// TestFilterChain builds the filter to Wasm, puts it with its metadata in
// a node's wasm_filters_path and runs it from a route's filter chain
// through the proxy listener: the schema refuses a bad configuration, a
// request without the required header gets 400 unproxied, others go
// upstream with their headers changed and come back with the added
// response header.
func TestFilterChain(t *testing.T) {
	built, err := wasmbuild.Build(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for src, dst := range map[string]string{built: "pw-headers.wasm", "pw-headers.meta.json": "pw-headers.meta.json"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cache, err := wasmbuild.CompilationCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	p, names, err := wasmplugins.Filters(dir, nil, wasmplugins.Options{Prefix: t.TempDir(), CacheDir: cache, Timeout: 2 * time.Second})
	if err != nil || p == nil {
		t.Fatalf("filters: %v (%v)", err, names)
	}
	n := testnode.StartWith(t, map[string]string{"wasm": "on", "wasm_filters_path": dir},
		app.Options{Providers: []hostabi.Provider{p}, Enabled: names})
	var hits atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("X-Saw-Name", r.Header.Get("X-Name"))
		w.Header().Set("X-Saw-Secret", r.Header.Get("X-Secret"))
		io.WriteString(w, "up")
	}))
	defer up.Close()
	admin := func(method, path string, body any) (int, string) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, "http://"+n.Addr("admin")+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(out)
	}
	if status, out := admin("POST", "/services", map[string]any{"name": "s", "url": up.URL}); status != 201 {
		t.Fatal(status, out)
	}
	if status, out := admin("POST", "/services/s/routes", map[string]any{"name": "r", "paths": []string{"/h"}}); status != 201 {
		t.Fatal(status, out)
	}
	chain := func(config any) (int, string) {
		return admin("POST", "/routes/r/filter-chains", map[string]any{"name": "headers",
			"filters": []any{map[string]any{"name": "pw-headers", "config": config}}})
	}
	if status, out := chain(map[string]any{"require": 7}); status != 400 || !strings.Contains(out, "require") {
		t.Errorf("a configuration the schema refuses: %d %s, want 400 naming the field", status, out)
	}
	if status, out := chain(map[string]any{"add_request": map[string]string{"X-Name": "filter"}, "remove_request": []string{"X-Secret"},
		"add_response": map[string]string{"X-Served-By": "pw-headers"}, "require": "X-Tenant"}); status != 201 {
		t.Fatal(status, out)
	}

	client := &http.Client{Timeout: 10 * time.Second}
	get := func(headers ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+n.Addr("proxy")+"/h", nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	// the chain applies once the node has rebuilt its configuration
	var res *http.Response
	var body string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		res, body = get("X-Tenant", "t1", "X-Secret", "s")
		if res.Header.Get("X-Served-By") != "" || time.Now().After(deadline) {
			break
		}
	}
	if res.StatusCode != 200 || body != "up" || res.Header.Get("X-Served-By") != "pw-headers" ||
		res.Header.Get("X-Saw-Name") != "filter" || res.Header.Get("X-Saw-Secret") != "" {
		t.Fatalf("got %d %q %v: want the upstream's answer, x-name added and x-secret removed upstream, x-served-by added",
			res.StatusCode, body, res.Header)
	}
	before := hits.Load()
	res, body = get()
	if res.StatusCode != 400 || body != `{"message":"missing header X-Tenant"}` || hits.Load() != before {
		t.Errorf("without X-Tenant: %d %q (proxied: %v), want 400 not proxied", res.StatusCode, body, hits.Load() != before)
	}
}
