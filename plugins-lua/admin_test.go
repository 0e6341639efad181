package luahost_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	luahost "github.com/gatehouse/gatehouse/plugins-lua"
	"github.com/gatehouse/gatehouse/plugins-lua/kongenv"
)

// apiEcho loads testdata/apiplugins' api-echo with Kong's environment.
func apiEcho(t testing.TB) (hostabi.ProvidedPlugin, hostabi.Provider) {
	t.Helper()
	p, err := kongenv.NewProvider(kongenv.Options{PluginsDir: "testdata/apiplugins", Names: []string{"api-echo"},
		Prefix: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	list, err := p.Plugins()
	if err != nil || len(list) != 1 {
		t.Fatalf("plugins %v %v", list, err)
	}
	return list[0], p
}

// TestAPIDefinition: api.lua's routes become the definition's endpoints
// (the route's methods, or those under `methods`; keys that are no path
// or no table ignored), in path and method order.
func TestAPIDefinition(t *testing.T) {
	pp, _ := apiEcho(t)
	var got []string
	for _, e := range pp.Definition.Endpoints {
		got = append(got, e.Method+" "+e.Path)
	}
	want := []string{"DELETE /echo/:word", "GET /echo/:word", "PATCH /echo/:word", "POST /echo/:word", "PUT /echo/:word",
		"GET /modern/:word", "POST /modern/:word", "GET /say"}
	if len(got) != len(want) {
		t.Fatalf("endpoints %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("endpoints %v, want %v", got, want)
		}
	}
	if _, ok := pp.Factory.(hostabi.EndpointServer); !ok {
		t.Fatal("the factory serves no endpoints")
	}
}

// TestPluginMigrations: migrations/init.lua and its modules, read as
// Kong's migration schema reads them.
func TestPluginMigrations(t *testing.T) {
	_, p := apiEcho(t)
	list, err := kongenv.Migrations(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	want := []luahost.PluginMigrations{{Plugin: "api-echo", Migrations: []luahost.Migration{
		{Name: "000_base_api_echo", SQL: " CREATE TABLE IF NOT EXISTS api_echo (id UUID PRIMARY KEY); "},
		{Name: "001_functions_only", UpF: true, Teardown: true},
	}}}
	g, _ := json.Marshal(list)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("migrations %s, want %s", g, w)
	}
}

// FuzzServeEndpoint: whatever the method, query, content type and body
// of an Admin API call, the api.lua call ends with a response or an
// error, never a Go panic, and the state pool survives it.
func FuzzServeEndpoint(f *testing.F) {
	f.Add("POST", "/echo/:word", "a=1&a=2&b", "application/json", `{"x":[1,{"y":null}]}`)
	f.Add("POST", "/echo/:word", "x[1]=a&x[]=b&c.d.e=f", "application/x-www-form-urlencoded", "k[2]=v&k[1]=w&z.=1&.=2&[]=3")
	f.Add("PUT", "/modern/:word", "", "multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n--XX--\r\n")
	f.Add("GET", "/say", "%zz", "text/plain", "\x00\xff")
	f.Add("HEAD", "/nope", "", "application/json", "")
	pp, _ := apiEcho(f)
	srv := pp.Factory.(hostabi.EndpointServer)
	f.Fuzz(func(t *testing.T, method, path, query, ct, body string) {
		req := hostabi.EndpointRequest{Method: method, Path: path, URI: "/echo/w", RawQuery: query,
			Params: map[string]string{"word": "w"}, Headers: map[string][]string{"content-type": {ct}}, Body: []byte(body)}
		type answer struct {
			res hostabi.EndpointResponse
			err error
		}
		done := make(chan answer, 1)
		go func() {
			res, err := srv.ServeEndpoint(context.Background(), hostabi.EndpointHost{}, req)
			done <- answer{res, err}
		}()
		var a answer
		select {
		case a = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("the call did not end (lua_timeout is %s)", luahost.DefaultTimeout)
		}
		res, err := a.res, a.err
		if err == nil && (res.Status < 100 || res.Status > 599) {
			t.Fatalf("status %d", res.Status)
		}
	})
}

// TestAPINotLoadable: an api.lua that fails to load (here: Kong's
// kong.api.arguments, which Gatehouse does not offer) leaves the plugin
// without endpoints, logged; the plugin itself loads.
func TestAPINotLoadable(t *testing.T) {
	var logs strings.Builder
	p, err := kongenv.NewProvider(kongenv.Options{PluginsDir: "testdata/apiplugins", Names: []string{"api-broken"},
		Prefix: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	list, err := p.Plugins()
	if err != nil || len(list) != 1 {
		t.Fatalf("plugins %v %v", list, err)
	}
	if len(list[0].Definition.Endpoints) != 0 {
		t.Errorf("endpoints %v", list[0].Definition.Endpoints)
	}
	if !strings.Contains(logs.String(), "api.lua not served") || !strings.Contains(logs.String(), "kong.api.arguments") {
		t.Errorf("log: %s", logs.String())
	}
}
