package wasmhost_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
)

// TestPriorityOverride: two Wasm plugins declaring the same priority
// both set the upstream's X-Joined in access, so the one that runs last
// wins; wasm_plugin_priorities (Options.Priorities) decides which runs
// first, on a real node through the proxy listener. The schema and
// /plugins/enabled are the same either way.
func TestPriorityOverride(t *testing.T) {
	built := guestDir(t, "../../plugins-wasm/gatehouse/testdata/basic")
	b, err := os.ReadFile(filepath.Join(built, "basic.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, n := range []string{"first", "second"} {
		if err := os.WriteFile(filepath.Join(dir, n+".wasm"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var schemas, enabled []string
	for _, tt := range []struct {
		priorities map[string]int
		joined     string // the last plugin's
	}{
		{nil, "B:a+-"}, // the same declared priority: by name, first then second
		{map[string]int{"first": 1000}, "A:a+-"},
		{map[string]int{"second": 2000}, "A:a+-"},
		{map[string]int{"first": 7, "second": 6}, "B:a+-"},
		{map[string]int{"first": 5, "second": 6}, "A:a+-"},
	} {
		nd := startNode(t, dir, wasmplugins.Options{Timeout: 2 * time.Second, Priorities: tt.priorities}, "")
		up := newUpstream(t)
		nd.MustCreate("/services", map[string]any{"name": "s", "url": up.URL})
		nd.MustCreate("/plugins", map[string]any{"name": "first", "config": map[string]any{"prefix": "A"}})
		nd.MustCreate("/plugins", map[string]any{"name": "second", "config": map[string]any{"prefix": "B"}})
		// The route last: a configuration serving it holds both plugins.
		nd.MustCreate("/services/s/routes", map[string]any{"name": "h", "paths": []string{"/h"}})
		nd.waitRoute("/h", func(status int, h http.Header) bool { return status == 200 && h.Get("X-Wasm") == "seen" })
		for i := range 5 {
			id := "p" + string(rune('0'+i))
			status, _, _ := nd.get("/h", "X-Id", id, "X-A", "a")
			if uh, ok := up.got(id); status != 200 || !ok || uh.Get("X-Joined") != tt.joined {
				t.Fatalf("priorities %v: %d, upstream X-Joined %q, want %q", tt.priorities, status, uh["X-Joined"], tt.joined)
			}
		}
		_, s := nd.Call("GET", "/schemas/plugins/first", nil)
		_, e := nd.Call("GET", "/plugins/enabled", nil)
		schemas, enabled = append(schemas, string(s)), append(enabled, string(e))
	}
	for i := range schemas {
		if schemas[i] != schemas[0] || enabled[i] != enabled[0] || !strings.Contains(enabled[i], `"first"`) || !strings.Contains(enabled[i], `"second"`) {
			t.Fatalf("schema or enabled list changed with the priorities:\n%s\n%s\n%s\n%s", schemas[0], schemas[i], enabled[0], enabled[i])
		}
	}
}
