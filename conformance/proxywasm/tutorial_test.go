package proxywasm_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/conformance/wasmnode"
	"github.com/gatehouse/gatehouse/hostabi"
	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmbuild"
	"github.com/gatehouse/gatehouse/runtime/app"
)

// TestReadmeTutorial builds the tutorial's filter exactly as
// sdk/proxywasm/README.md shows it (main.go read from the file, a module
// of its own replacing Gatehouse with this checkout) and runs it from a
// route filter chain configured as the tutorial does: it adds the
// configured header upstream and refuses requests with x-deny, so the
// tutorial cannot drift from the library.
func TestReadmeTutorial(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "sdk", "proxywasm", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	i := strings.Index(s, "**2. `main.go`.**")
	start := strings.Index(s[max(i, 0):], "```go\n")
	if i < 0 || start < 0 {
		t.Fatal("the README lost the tutorial's main.go")
	}
	src := s[i+start+len("```go\n"):]
	src = src[:strings.Index(src, "```")]
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// the tutorial's go.mod: the go version of Gatehouse's (go mod init
	// writes the toolchain's), Gatehouse required and replaced
	ours, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := "go 1.26"
	for _, line := range strings.Split(string(ours), "\n") {
		if strings.HasPrefix(line, "go ") {
			goLine = line
		}
	}
	mod := t.TempDir()
	gomod := fmt.Sprintf("module example.com/add-header\n\n%s\n\nrequire github.com/gatehouse/gatehouse v0.0.0\n\nreplace github.com/gatehouse/gatehouse => %s\n", goLine, root)
	for name, content := range map[string]string{"go.mod": gomod, "main.go": src} {
		if err := os.WriteFile(filepath.Join(mod, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	built, err := wasmbuild.Build(mod)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(built)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wasmnode.WriteGuest(t, dir, "add-header", b)
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
	nd := &node{&wasmnode.Node{T: t, N: n, Admin: "http://" + n.Addr("admin"), Proxy: "http://" + n.Addr("proxy"),
		Logs: &wasmnode.Logs{}, Client: &http.Client{Timeout: 10 * time.Second}}}
	up := newEcho(t)
	nd.mustCreate("/services", map[string]any{"name": "s", "url": up.URL})
	nd.mustCreate("/services/s/routes", map[string]any{"name": "my-route", "paths": []string{"/my-route"}})
	nd.mustCreate("/routes/my-route/filter-chains", map[string]any{
		"filters": []any{map[string]any{"name": "add-header", "config": "X-Hello:world"}}})
	body := nd.waitFilter("/my-route", `"X-Hello":["world"]`)
	if e := decode(t, body); strings.Join(e.Headers["X-Hello"], ",") != "world" {
		t.Errorf("upstream headers %v", e.Headers)
	}
	before := up.hits.Load()
	if status, _, body := nd.do("GET", "/my-route", "", "x-deny", "1"); status != 403 || body != "denied\n" || up.hits.Load() != before {
		t.Errorf("x-deny: %d %q (proxied: %v), want 403 denied not proxied", status, body, up.hits.Load() != before)
	}
}
