// Package wasmhost_test runs Wasm plugins on a real node, through the
// proxy listener over 127.0.0.1 with keep-alive clients: hostile guests
// (infinite loop, unbounded allocation, traps in every phase, pointers
// outside memory, host functions in the wrong phase), concurrency, the
// request's pinning to one instance, and the compilation cache across
// restarts.
package wasmhost_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/wasmnode"
	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
)

// node is a running node with Wasm plugins.
type node struct{ *wasmnode.Node }

// guestDir builds the guests (testdata/<name>, or a path with a slash)
// into one folder, as NAME.wasm, and returns it.
func guestDir(t testing.TB, sources ...string) string { return wasmnode.GuestDir(t, sources...) }

// startNode starts a node serving the Wasm plugins of dir, with opts'
// limits; prefix "" is a fresh one.
func startNode(t testing.TB, dir string, opts wasmplugins.Options, prefix string) *node {
	return &node{wasmnode.Start(t, dir, opts, prefix)}
}

// upstream records what reached it, by X-Id.
type upstream struct {
	*httptest.Server
	mu  sync.Mutex
	ids map[string]http.Header
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{ids: map[string]http.Header{}}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.ids[r.Header.Get("X-Id")] = r.Header.Clone()
		u.mu.Unlock()
		io.WriteString(w, "up")
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) got(id string) (http.Header, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	h, ok := u.ids[id]
	return h, ok
}

// get sends a proxied request with headers (name, value pairs).
func (nd *node) get(path string, headers ...string) (int, http.Header, string) {
	nd.T.Helper()
	req, _ := http.NewRequest("GET", nd.Proxy+path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := nd.Client.Do(req)
	if err != nil {
		nd.T.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// waitRoute waits until path is served by the current configuration.
func (nd *node) waitRoute(path string, ok func(status int, h http.Header) bool) {
	nd.T.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		status, h, _ := nd.get(path, "X-Id", "warmup")
		if ok(status, h) {
			return
		}
		if time.Now().After(deadline) {
			nd.T.Fatalf("%s never became ready: last status %d, headers %v", path, status, h)
		}
	}
}

// setup creates a service on up, a route /h and the plugin, globally.
func (nd *node) setup(up *upstream, plugin string, config map[string]any) {
	nd.T.Helper()
	nd.MustCreate("/services", map[string]any{"name": "s", "url": up.URL})
	nd.MustCreate("/services/s/routes", map[string]any{"name": "h", "paths": []string{"/h"}})
	body := map[string]any{"name": plugin}
	if config != nil {
		body["config"] = config
	}
	nd.MustCreate("/plugins", body)
}
