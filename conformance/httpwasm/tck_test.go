package httpwasm_test

import (
	"net/http"
	"testing"
	"time"

	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
	"github.com/http-wasm/http-wasm-host-go/tck"
)

// TestTCK loads the http-wasm TCK's guest from wasm_plugins_dir as the
// plugin "tck", on a route in front of the TCK's backend on 127.0.0.1,
// and runs every TCK case through the proxy listener with a keep-alive
// client.
func TestTCK(t *testing.T) {
	dir := t.TempDir()
	writeGuest(t, dir, "tck", tck.GuestWASM)
	backend := tck.StartBackend("127.0.0.1:0")
	t.Cleanup(backend.Close)
	nd := startNode(t, dir, wasmplugins.Options{Timeout: 2 * time.Second})
	nd.setup(backend.URL, []string{"/"}, "tck", nil)
	nd.waitReady("/", func(_ int, h http.Header) bool { return h.Get("x-httpwasm-tck-handled") == "1" },
		"x-httpwasm-tck-testid", "get_method/GET")
	t.Run("tck", func(t *testing.T) {
		tck.Run(t, nd.Client, nd.Proxy)
	})
}
