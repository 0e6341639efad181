// Package httpwasm_test runs http-wasm guests as Gatehouse plugins on a
// real node, through the proxy listener over 127.0.0.1 with keep-alive
// clients: the http-wasm TCK (its guest loaded from wasm_plugins_dir in
// front of its backend), guests of our own written in Go on the raw
// http_handler imports, faults that fail closed, and concurrency.
package httpwasm_test

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/wasmnode"
	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
)

// node is a running node serving the Wasm plugins of a folder.
type node struct{ *wasmnode.Node }

// writeGuest writes a module into dir as NAME.wasm.
func writeGuest(t testing.TB, dir, name string, wasm []byte) { wasmnode.WriteGuest(t, dir, name, wasm) }

// buildGuest compiles testdata/<name> (Go, wasip1) into dir as NAME.wasm.
func buildGuest(t testing.TB, dir, name string) {
	wasmnode.BuildGuest(t, dir, filepath.Join("testdata", name))
}

// startNode starts a node whose wasm_plugins_dir is dir, serving every
// module there, with opts' limits.
func startNode(t testing.TB, dir string, opts wasmplugins.Options) *node {
	return &node{wasmnode.Start(t, dir, opts, "")}
}

// setup creates service s on upstream, a route with paths and the plugin
// on the route with config (nil: none).
func (nd *node) setup(upstream string, paths []string, plugin string, config map[string]any) {
	nd.T.Helper()
	nd.MustCreate("/services", map[string]any{"name": "s", "url": upstream})
	nd.MustCreate("/services/s/routes", map[string]any{"name": "r", "paths": paths})
	body := map[string]any{"name": plugin}
	if config != nil {
		body["config"] = config
	}
	nd.MustCreate("/routes/r/plugins", body)
}

// do sends a proxied request with headers (name, value pairs).
func (nd *node) do(method, path string, body string, headers ...string) (int, http.Header, string) {
	nd.T.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, nd.Proxy+path, rd)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	res, err := nd.Client.Do(req)
	if err != nil {
		nd.T.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// waitReady waits until a GET of path (with headers) answers as ok
// says: the configuration with the route and the plugin is in use.
func (nd *node) waitReady(path string, ok func(status int, h http.Header) bool, headers ...string) {
	nd.T.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		status, h, _ := nd.do("GET", path, "", headers...)
		if ok(status, h) {
			return
		}
		if time.Now().After(deadline) {
			nd.T.Fatalf("%s never became ready: last status %d, headers %v", path, status, h)
		}
	}
}

// statusIs is a waitReady condition.
func statusIs(want int) func(int, http.Header) bool {
	return func(status int, _ http.Header) bool { return status == want }
}
