package luaplugins_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-lua/kongenv"
	"github.com/gatehouse/gatehouse/runtime/app"
)

const greeterSchema = `return { name = "greeter", fields = { { config = { type = "record", fields = {} } } } }`

func writeGreeter(t *testing.T, dir, greeting string) {
	t.Helper()
	p := filepath.Join(dir, "kong", "plugins", "greeter")
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	handler := `return { PRIORITY = 1000, VERSION = "1.0.0", access = function(self, conf)
		kong.response.set_header("X-Greeting", "` + greeting + `")
	end }`
	for name, src := range map[string]string{"handler.lua": handler, "schema.lua": greeterSchema} {
		if err := os.WriteFile(filepath.Join(p, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReloadPicksUpChangedLua: a plugin reload (SIGHUP to gatehouse
// start, as `kong reload`) reads the Lua files again; requests after it
// run the new code.
func TestReloadPicksUpChangedLua(t *testing.T) {
	dir := t.TempDir()
	writeGreeter(t, dir, "v1")
	p, err := kongenv.NewProvider(kongenv.Options{PluginsDir: dir, Names: []string{"greeter"}, Prefix: t.TempDir(),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	n := testnode.StartWith(t, map[string]string{"plugins": "bundled,greeter"}, app.Options{Providers: []hostabi.Provider{p}})
	nd := &node{t: t, n: n, admin: "http://" + n.Addr("admin"), proxy: "http://" + n.Addr("proxy")}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	nd.form("POST", "/services", "name=s", "url="+up.URL)
	nd.form("POST", "/services/s/routes", "name=r", "paths=/r")
	nd.form("POST", "/routes/r/plugins", "name=greeter")
	waitGreeting := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, h, _ := nd.get("/r", nil)
			if h.Get("X-Greeting") == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("X-Greeting %q, want %q", h.Get("X-Greeting"), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitGreeting("v1")
	writeGreeter(t, dir, "v2")
	ch, err := n.ReloadPlugins(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Replaced) != 1 || ch.Replaced[0].Name != "greeter" {
		t.Fatalf("reload change %+v, want greeter replaced", ch)
	}
	waitGreeting("v2")
	// A broken edit is refused and the running code stays.
	if err := os.WriteFile(filepath.Join(dir, "kong", "plugins", "greeter", "handler.lua"), []byte("return {"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := n.ReloadPlugins(context.Background()); err == nil {
		t.Fatal("a handler that does not compile was reloaded")
	}
	waitGreeting("v2")
}

// TestReloadServesChangedAPI: after a plugin reload, the Admin API
// endpoints of api.lua run the new code (the old generation closes once
// nothing uses it); an endpoint path the new code no longer serves
// answers with the 500 of a failed call, not with the old code.
func TestReloadServesChangedAPI(t *testing.T) {
	dir := t.TempDir()
	write := func(version string, withPath bool) {
		writeGreeter(t, dir, version)
		api := `return { ["/greeter/:name"] = { GET = function(self)
			return kong.response.exit(200, { hello = self.params.name, version = "` + version + `" })
		end } }`
		if !withPath {
			api = `return { ["/greeter/other/:name"] = { GET = function() return kong.response.exit(204) end } }`
		}
		if err := os.WriteFile(filepath.Join(dir, "kong", "plugins", "greeter", "api.lua"), []byte(api), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("v1", true)
	p, err := kongenv.NewProvider(kongenv.Options{PluginsDir: dir, Names: []string{"greeter"}, Prefix: t.TempDir(),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	n := testnode.StartWith(t, map[string]string{"plugins": "bundled,greeter"}, app.Options{Providers: []hostabi.Provider{p}})
	nd := &node{t: t, n: n, admin: "http://" + n.Addr("admin"), proxy: "http://" + n.Addr("proxy")}
	c := &http.Client{}
	check := func(status int, want string) {
		t.Helper()
		st, _, b := nd.adminCall(c, "GET", "/greeter/ada", "", nil)
		if st != status || !strings.Contains(string(b), want) {
			t.Fatalf("GET /greeter/ada: %d %s, want %d with %s", st, b, status, want)
		}
	}
	check(200, `"version":"v1"`)
	write("v2", true)
	if _, err := n.ReloadPlugins(context.Background()); err != nil {
		t.Fatal(err)
	}
	check(200, `"version":"v2"`)
	write("v3", false)
	if _, err := n.ReloadPlugins(context.Background()); err != nil {
		t.Fatal(err)
	}
	check(500, `"message":"An unexpected error occurred"`)
}
