package wasmhost_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
)

// TestConfiguredThroughAdminAPI: a Wasm plugin is configured through
// /plugins like any other: its schema (describe's config record wrapped
// in Kong's plugin schema) is served at /schemas/plugins/{name}, defaults
// are filled before the guest sees the configuration, a configuration the
// guest's configure refuses is refused with its message, and the plugin
// scoped to a route runs on that route only, with the configured value.
func TestConfiguredThroughAdminAPI(t *testing.T) {
	dir := guestDir(t, "../../plugins-wasm/gatehouse/testdata/basic")
	nd := startNode(t, dir, wasmplugins.Options{Timeout: 2 * time.Second}, "")
	up := newUpstream(t)

	status, body := nd.Call("GET", "/schemas/plugins/basic", nil)
	if status != 200 {
		t.Fatalf("/schemas/plugins/basic: %d %s", status, body)
	}
	var schema struct {
		Fields []map[string]map[string]any `json:"fields"`
	}
	if err := json.Unmarshal(body, &schema); err != nil {
		t.Fatal(err)
	}
	var names []string
	var config map[string]any
	for _, f := range schema.Fields {
		for n, attrs := range f {
			names = append(names, n)
			if n == "config" {
				config = attrs
			}
		}
	}
	if !strings.Contains(strings.Join(names, ","), "consumer") || config == nil ||
		!strings.Contains(string(body), `"prefix"`) || !strings.Contains(string(body), `"default":"p"`) {
		t.Fatalf("schema fields %v: %s", names, body)
	}

	nd.MustCreate("/services", map[string]any{"name": "s", "url": up.URL})
	nd.MustCreate("/services/s/routes", map[string]any{"name": "with", "paths": []string{"/with"}})
	nd.MustCreate("/services/s/routes", map[string]any{"name": "without", "paths": []string{"/without"}})

	status, body = nd.Call("POST", "/routes/with/plugins", map[string]any{"name": "basic", "config": map[string]any{"prefix": "refuse"}})
	if status != 400 || !strings.Contains(string(body), "prefix must not be refuse") {
		t.Fatalf("a refused configuration: %d %s", status, body)
	}
	status, body = nd.Call("POST", "/routes/with/plugins", map[string]any{"name": "basic", "config": map[string]any{"prefix": 12}})
	if status != 400 || !strings.Contains(string(body), "prefix") {
		t.Fatalf("a configuration the schema refuses: %d %s", status, body)
	}
	nd.MustCreate("/routes/with/plugins", map[string]any{"name": "basic", "config": map[string]any{"prefix": "cfg"}})
	nd.waitRoute("/with", func(status int, h http.Header) bool { return h.Get("X-Wasm") == "seen" })

	status, h, _ := nd.get("/with", "X-Id", "w1", "X-A", "a", "X-B", "b")
	if uh, ok := up.got("w1"); status != 200 || h.Get("X-Wasm") != "seen" || !ok || uh.Get("X-Joined") != "cfg:a+b" {
		t.Fatalf("/with: %d %v upstream %v", status, h, uh)
	}
	status, h, _ = nd.get("/without", "X-Id", "w2", "X-A", "a")
	if uh, ok := up.got("w2"); status != 200 || h.Get("X-Wasm") != "" || !ok || uh.Get("X-Joined") != "" {
		t.Fatalf("/without: %d %v upstream %v", status, h, uh)
	}

	// The defaults reach the guest: a plugin without config gets "p".
	nd.MustCreate("/routes/without/plugins", map[string]any{"name": "basic"})
	nd.waitRoute("/without", func(status int, h http.Header) bool { return h.Get("X-Wasm") == "seen" })
	nd.get("/without", "X-Id", "w3", "X-A", "a")
	if uh, _ := up.got("w3"); uh.Get("X-Joined") != "p:a+-" {
		t.Fatalf("defaults: upstream %v", uh)
	}
	status, body = nd.Call("GET", "/plugins/enabled", nil)
	if status != 200 || !strings.Contains(string(body), `"basic"`) {
		t.Fatalf("/plugins/enabled: %d %s", status, body)
	}
}
