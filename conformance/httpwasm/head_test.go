package httpwasm_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
)

// TestHeadWithoutContentLength: a HEAD proxied to an upstream that
// announces no Content-Length (Go's server does not for HEAD) reaches a
// Go client whole: no "Transfer-Encoding: identity", which it refuses
// (the TCK's get_method/HEAD case met this before the proxy was fixed).
func TestHeadWithoutContentLength(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Method", r.Method)
	}))
	t.Cleanup(up.Close)
	nd := startNode(t, t.TempDir(), wasmplugins.Options{})
	nd.MustCreate("/services", map[string]any{"name": "s", "url": up.URL})
	nd.MustCreate("/services/s/routes", map[string]any{"name": "r", "paths": []string{"/"}})
	nd.waitReady("/", statusIs(200))
	for i := 0; i < 3; i++ { // the keep-alive connection stays usable
		status, h, body := nd.do("HEAD", "/", "")
		if status != 200 || h.Get("X-Method") != "HEAD" || body != "" {
			t.Fatalf("HEAD: %d %v %q", status, h, body)
		}
		if te := h.Values("Transfer-Encoding"); len(te) != 0 {
			t.Fatalf("Transfer-Encoding %q on a HEAD response", te)
		}
	}
}
