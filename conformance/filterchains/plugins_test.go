package filterchains_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/conformance/testpg"
	"github.com/gatehouse/gatehouse/hostabi"
	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmbuild"
	"github.com/gatehouse/gatehouse/runtime/app"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
)

// Kong 3.6+ runs a plugin named after a proxy-wasm filter as that filter
// (kong/runloop/wasm/plugins.lua and rebuild_state): these tests run the
// real conformance filter (../proxywasm/testdata/filter, standard Go on
// sdk/proxywasm/filter) under three names, "pw-a" (its
// NAME.meta.json declares an object config), "pw-b" and "pw-c" (no
// schema: a string config), as route, service and chain filters.

// testLog keeps the filter host's warnings and errors, shown when the test
// fails (why a request failed closed).
type testLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// attach prints the log at the end of a failed test (after the node,
// started later, has stopped).
func (l *testLog) attach(t *testing.T) *testLog {
	t.Cleanup(func() {
		if t.Failed() {
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Logf("filter host log:\n%s", l.buf.String())
		}
	})
	return l
}

// filterPluginsDir builds the filter into a wasm_filters_path as pw-a,
// pw-b and pw-c, with pw-a's metadata.
func filterPluginsDir(t *testing.T) string {
	t.Helper()
	path, err := wasmbuild.Build("../proxywasm/testdata/filter")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string][]byte{"pw-a.wasm": mod, "pw-b.wasm": mod, "pw-c.wasm": mod,
		"pw-a.meta.json": []byte(`{"config_schema": {"type": "object", "additionalProperties": false,
			"properties": {"add_req": {"type": "object"}, "add_resp": {"type": "object"}}}}`)}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// startFilterNode starts a node wired as `gatehouse start` wires it with
// wasm on: the filters of dir served by wasmplugins.Filters and enabled
// whatever `plugins` says.
func startFilterNode(t *testing.T, dir string, settings map[string]string) *node {
	t.Helper()
	cache, err := wasmbuild.CompilationCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	// A 2 s call limit, as conformance/proxywasm's: under -race on a
	// loaded 2-core machine the default 100 ms fails requests closed.
	p, names, err := wasmplugins.Filters(dir, nil, wasmplugins.Options{Prefix: t.TempDir(), CacheDir: cache,
		Timeout: 2 * time.Second, Logger: slog.New(slog.NewTextHandler((&testLog{}).attach(t), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil || p == nil {
		t.Fatalf("filters: %v (%v)", err, names)
	}
	s := map[string]string{"wasm": "on", "wasm_filters_path": dir, "plugins": "bundled"}
	for k, v := range settings {
		s[k] = v
	}
	n := testnode.StartWith(t, s, app.Options{Providers: []hostabi.Provider{p}, Enabled: names})
	return &node{t: t, admin: "http://" + n.Addr("admin"), proxy: "http://" + n.Addr("proxy")}
}

// raw sends an Admin API call and returns its status and decoded body.
func (n *node) raw(method, path string, body any) (int, map[string]any) {
	n.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, n.admin+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]any{}
	data, _ := io.ReadAll(res.Body)
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			n.t.Fatalf("%s %s: %d %s: %v", method, path, res.StatusCode, data, err)
		}
	}
	return res.StatusCode, out
}

// sawUpstream is an upstream answering with the X-Chain values it got,
// joined, in X-Saw.
func sawUpstream(t *testing.T) *httptest.Server {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Saw", strings.Join(r.Header.Values("X-Chain"), ", "))
		w.Header().Set("X-Saw-Lua", r.Header.Get("X-Lua"))
		io.WriteString(w, "up")
	}))
	t.Cleanup(up.Close)
	return up
}

// pwConfig is the filter's configuration adding value to the upstream
// request's X-Chain and the response's X-Resp.
func pwConfig(value string) map[string]any {
	return map[string]any{"add_req": map[string]any{"x-chain": value}, "add_resp": map[string]any{"x-resp": value}}
}

// pwString is pwConfig as a string config, for the filters without a
// schema.
func pwString(value string) string {
	b, _ := json.Marshal(pwConfig(value))
	return string(b)
}

// seen proxies GET path on client and returns the status, what the
// upstream saw of X-Chain and the response's X-Resp values.
func (n *node) seen(client *http.Client, path string) (int, string, []string) {
	res, err := client.Get(n.proxy + path)
	if err != nil {
		n.t.Fatal(err)
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	return res.StatusCode, res.Header.Get("X-Saw"), res.Header.Values("X-Resp")
}

// waitSeen polls until the upstream sees the X-Chain order on path.
func (n *node) waitSeen(path, want string) {
	n.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		status, got, _ := n.seen(http.DefaultClient, path)
		if status == 200 && got == want {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("GET %s: %d, the upstream saw X-Chain %q, want %q", path, status, got, want)
		}
	}
}

// The order the upstream sees on /r: the service's chain with the
// service's filter plugin after it, then the route's chain with the
// route's filter plugins after it, sorted by name. (That chains run after
// the other plugins' access is TestChainsRunAsFilterPlugins'.)
const (
	routeOrder = "svc-chain, svc-plugin, route-chain, a, c"
	pOrder     = "only"
)

// checkFilterPlugins checks what the configuration filterPluginsSetup (or
// its kong.yml twin) builds: the order above on /r, a filter plugin on a
// route without a chain on /p, a disabled one not run on /off, the
// responses changed too, under concurrent keep-alive clients.
func checkFilterPlugins(t *testing.T, n *node) {
	n.waitSeen("/r", routeOrder)
	n.waitSeen("/p", pOrder)
	n.waitSeen("/off", "")
	res, err := http.Get(n.proxy + "/r")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("X-Saw-Lua"); got != "1" {
		t.Errorf("the ordinary plugin beside the filter plugins did not run: X-Lua %q", got)
	}
	_, _, resp := n.seen(http.DefaultClient, "/r")
	// proxy_on_response_headers runs in the chain's order too.
	if want := []string{"svc-chain", "svc-plugin", "route-chain", "a", "c"}; !reflect.DeepEqual(resp, want) {
		t.Errorf("/r X-Resp %q, want %q", resp, want)
	}
	if _, _, resp := n.seen(http.DefaultClient, "/off"); len(resp) != 0 {
		t.Errorf("the disabled filter plugin ran: X-Resp %q", resp)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			for i := 0; i < 25; i++ {
				for path, want := range map[string]string{"/r": routeOrder, "/p": pOrder, "/off": ""} {
					res, err := client.Get(n.proxy + path)
					if err != nil {
						errs <- err.Error()
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if got := res.Header.Get("X-Saw"); res.StatusCode != 200 || got != want {
						errs <- fmt.Sprintf("%s: %d %q, want %q", path, res.StatusCode, got, want)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// filterPluginsSetup configures, through the Admin API, what
// checkFilterPlugins checks, and returns the route plugin pw-a's id.
func filterPluginsSetup(n *node, upstream string) string {
	n.call("POST", "/services", map[string]any{"name": "s", "url": upstream})
	n.call("POST", "/services", map[string]any{"name": "s2", "url": upstream})
	n.call("POST", "/services/s/routes", map[string]any{"name": "r", "paths": []string{"/r"}})
	n.call("POST", "/services/s2/routes", map[string]any{"name": "p", "paths": []string{"/p"}})
	n.call("POST", "/services/s2/routes", map[string]any{"name": "off", "paths": []string{"/off"}})
	n.call("POST", "/services/s/filter-chains", map[string]any{"name": "sc",
		"filters": []any{map[string]any{"name": "pw-b", "config": pwString("svc-chain")}}})
	n.call("POST", "/routes/r/filter-chains", map[string]any{"name": "rc",
		"filters": []any{map[string]any{"name": "pw-a", "config": pwConfig("route-chain")}}})
	n.call("POST", "/services/s/plugins", map[string]any{"name": "pw-a", "config": pwConfig("svc-plugin")})
	// Created out of name order: they run sorted by name.
	n.call("POST", "/routes/r/plugins", map[string]any{"name": "pw-c", "config": pwString("c")})
	_, a := n.call("POST", "/plugins", map[string]any{"name": "pw-a", "route": map[string]any{"name": "r"}, "config": pwConfig("a")})
	// An ordinary plugin on the same route keeps its own slot.
	n.call("POST", "/routes/r/plugins", map[string]any{"name": "request-transformer",
		"config": map[string]any{"append": map[string]any{"headers": []string{"x-lua:1"}}}})
	n.call("POST", "/routes/p/plugins", map[string]any{"name": "pw-b", "config": pwString(pOrder)})
	n.call("POST", "/routes/off/plugins", map[string]any{"name": "pw-b", "config": pwString("off"), "enabled": false})
	return a["id"].(string)
}

// TestFilterPlugins: filters configured as plugins through the Admin API
// on SQLite and Postgres run where Kong runs them, the Admin API shows and
// refuses them as Kong does, and changes to them take effect.
func TestFilterPlugins(t *testing.T) {
	dir := filterPluginsDir(t)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			settings := map[string]string{"database": "sqlite"}
			if backend == "postgres" {
				settings = testpg.Settings(t)
			}
			n := startFilterNode(t, dir, settings)
			up := sawUpstream(t)
			aID := filterPluginsSetup(n, up.URL)
			checkFilterPlugins(t, n)
			checkFilterPluginAdmin(t, n)

			// The plugin as stored: config is the filter's config itself.
			_, got := n.call("GET", "/plugins/"+aID, nil)
			if b, _ := json.Marshal(got["config"]); string(b) != `{"add_req":{"x-chain":"a"},"add_resp":{"x-resp":"a"}}` {
				t.Errorf("stored config %s", b)
			}
			// Unscoping it is refused with Kong's update wording.
			msg := "when updating, at least one of these fields must be non-empty: 'service', 'route'"
			status, body := n.raw("PATCH", "/plugins/"+aID, map[string]any{"route": nil})
			if want := map[string]any{"code": 2.0, "name": "schema violation", "message": "schema violation (" + msg + ")",
				"fields": map[string]any{"@entity": []any{msg}}}; status != http.StatusBadRequest || !reflect.DeepEqual(body, want) {
				t.Errorf("PATCH route null: %d %v", status, body)
			}
			// A new config runs; a disabled plugin stops; deleting one too.
			n.call("PATCH", "/plugins/"+aID, map[string]any{"config": pwConfig("a2")})
			n.waitSeen("/r", "svc-chain, svc-plugin, route-chain, a2, c")
			n.call("PATCH", "/plugins/"+aID, map[string]any{"enabled": false})
			n.waitSeen("/r", "svc-chain, svc-plugin, route-chain, c")
			n.call("DELETE", "/routes/r/filter-chains/rc", nil)
			n.waitSeen("/r", "svc-chain, svc-plugin, c")
			_, list := n.call("GET", "/services/s/plugins", nil)
			n.call("DELETE", "/plugins/"+list["data"].([]any)[0].(map[string]any)["id"].(string), nil)
			n.waitSeen("/r", "svc-chain, c")
		})
	}
}

// checkFilterPluginAdmin: GET /, /plugins/enabled and
// /schemas/plugins/{filter} show the filters as Kong 3.9 does, and the
// Admin API refuses what Kong refuses with Kong's error bodies.
func checkFilterPluginAdmin(t *testing.T, n *node) {
	_, root := n.call("GET", "/", nil)
	avail := root["plugins"].(map[string]any)["available_on_server"].(map[string]any)
	for _, name := range []string{"pw-a", "pw-b", "pw-c"} {
		if b, _ := json.Marshal(avail[name]); string(b) != `{"priority":0,"version":"0.1.0"}` {
			t.Errorf("available_on_server[%s] = %s", name, b)
		}
	}
	_, enabled := n.call("GET", "/plugins/enabled", nil)
	var names []string
	for _, x := range enabled["enabled_plugins"].([]any) {
		names = append(names, x.(string))
	}
	if !slices.Contains(names, "pw-a") || !slices.Contains(names, "pw-c") || !slices.Contains(names, "request-transformer") {
		t.Errorf("enabled_plugins %v", names)
	}
	_, sch := n.call("GET", "/schemas/plugins/pw-a", nil)
	want := `{"entity_checks":[{"mutually_exclusive":["service","route"]},{"at_least_one_of":["service","route"]}],` +
		`"fields":[{"name":{"type":"string"}},` +
		`{"consumer":{"description":"Custom type for representing a foreign key with a null value allowed.","eq":null,"reference":"consumers","type":"foreign"}},` +
		`{"protocols":{"default":["grpc","grpcs","http","https"],"description":"A set of strings representing HTTP protocols.","elements":{"one_of":["grpc","grpcs","http","https"],"type":"string"},"required":true,"type":"set"}},` +
		`{"config":{"json_schema":{"default":{"$schema":"http://json-schema.org/draft-04/schema#","type":["string","null"]},"namespace":"proxy-wasm-filters","optional":true,"parent_subschema_key":"name"},"required":false,"type":"json"}}]}`
	if b, _ := json.Marshal(sch); string(b) != want {
		t.Errorf("/schemas/plugins/pw-a\n%s\nwant\n%s", b, want)
	}

	n.call("POST", "/consumers", map[string]any{"username": "u"})
	violation := func(msg string, fields map[string]any) map[string]any {
		return map[string]any{"code": 2.0, "name": "schema violation", "message": msg, "fields": fields}
	}
	atLeast := "at least one of these fields must be non-empty: 'service', 'route'"
	for _, c := range []struct {
		name, path string
		body       map[string]any
		want       map[string]any
	}{
		{"global", "/plugins", map[string]any{"name": "pw-b", "config": "x"},
			violation("schema violation ("+atLeast+")", map[string]any{"@entity": []any{atLeast}})},
		{"route and service", "/plugins", map[string]any{"name": "pw-b", "config": "x",
			"route": map[string]any{"name": "p"}, "service": map[string]any{"name": "s2"}},
			violation("schema violation (only one or none of these fields must be set: 'service', 'route')",
				map[string]any{"@entity": []any{"only one or none of these fields must be set: 'service', 'route'"}})},
		{"consumer-scoped", "/consumers/u/plugins", map[string]any{"name": "pw-b", "route": map[string]any{"name": "p"}, "config": "x"},
			violation("schema violation (consumer: value must be null)", map[string]any{"consumer": "value must be null"})},
		{"config failing the filter's schema", "/services/s2/plugins", map[string]any{"name": "pw-a", "config": map[string]any{"nope": 1}},
			violation("schema violation (config: additional properties forbidden, found nope)",
				map[string]any{"config": "additional properties forbidden, found nope"})},
		{"nested config of an old client, no schema", "/services/s2/plugins", map[string]any{"name": "pw-b", "config": map[string]any{"config": "x"}},
			violation("schema violation (config: wrong type: expected one of string, null, got object)",
				map[string]any{"config": "wrong type: expected one of string, null, got object"})},
		{"not an HTTP protocol", "/services/s2/plugins", map[string]any{"name": "pw-b", "protocols": []string{"tcp"}},
			violation("schema violation (protocols.1: expected one of: grpc, grpcs, http, https)",
				map[string]any{"protocols": []any{"expected one of: grpc, grpcs, http, https"}})},
	} {
		status, got := n.raw("POST", c.path, c.body)
		if status != http.StatusBadRequest || !reflect.DeepEqual(got, c.want) {
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(c.want)
			t.Errorf("%s: %d %s\nwant 400 %s", c.name, status, gb, wb)
		}
	}
	// The schema validation endpoint answers the same.
	status, got := n.raw("POST", "/schemas/plugins/validate", map[string]any{"name": "pw-b", "config": "x"})
	if status != http.StatusBadRequest || got["message"] != "schema violation ("+atLeast+")" {
		t.Errorf("validate: %d %v", status, got)
	}
	if status, _ := n.raw("POST", "/schemas/plugins/validate", map[string]any{"name": "pw-b", "config": "x",
		"service": map[string]any{"id": "6a4c9ac7-2d29-4b53-9dbe-1c7e1a1bd5c4"}}); status != http.StatusOK {
		t.Errorf("validate a valid filter plugin: %d", status)
	}
}

// TestFilterPluginsDBLess: the same configuration from kong.yml runs the
// same; a kong.yml with a global filter plugin is refused.
func TestFilterPluginsDBLess(t *testing.T) {
	dir := filterPluginsDir(t)
	up := sawUpstream(t)
	conf := func(v string) string { b, _ := json.Marshal(pwConfig(v)); return string(b) }
	yml := fmt.Sprintf(`_format_version: "3.0"
services:
- name: s
  url: %[1]s
  routes:
  - name: r
    paths: ["/r"]
    plugins:
    - name: pw-c
      config: '%[2]s'
    - name: request-transformer
      config: {append: {headers: ["x-lua:1"]}}
    filter_chains:
    - name: rc
      filters:
      - name: pw-a
        config: %[3]s
  plugins:
  - name: pw-a
    config: %[4]s
  filter_chains:
  - name: sc
    filters:
    - name: pw-b
      config: '%[5]s'
- name: s2
  url: %[1]s
  routes:
  - name: p
    paths: ["/p"]
  - name: "off"
    paths: ["/off"]
plugins:
- name: pw-a
  route: r
  config: %[6]s
- name: pw-b
  route: p
  config: '%[7]s'
- name: pw-b
  route: "off"
  enabled: false
  config: '%[8]s'
`, up.URL, pwString("c"), conf("route-chain"), conf("svc-plugin"), pwString("svc-chain"), conf("a"), pwString(pOrder), pwString("off"))
	file := filepath.Join(t.TempDir(), "kong.yml")
	if err := os.WriteFile(file, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	n := startFilterNode(t, dir, map[string]string{"database": "off", "declarative_config": file})
	checkFilterPlugins(t, n)

	// The export keeps the filter plugins' configs and loads back.
	_, exported := n.call("GET", "/config", nil)
	if !strings.Contains(exported["config"].(string), "x-chain: svc-plugin") && !strings.Contains(exported["config"].(string), "svc-plugin") {
		t.Fatalf("export lacks the filter plugin: %s", exported["config"])
	}
	status, _ := n.form("POST", "/config", "config="+url.QueryEscape(exported["config"].(string)))
	if status != http.StatusCreated {
		t.Fatalf("export loads back: %d", status)
	}
	checkFilterPlugins(t, n)

	status, bad := n.form("POST", "/config", "config="+url.QueryEscape("_format_version: \"3.0\"\nplugins:\n- name: pw-b\n  config: x\n"))
	if status != http.StatusBadRequest || bad["code"] != 14.0 ||
		!strings.Contains(fmt.Sprint(bad), "at least one of these fields must be non-empty: 'service', 'route'") {
		t.Fatalf("global filter plugin in kong.yml: %d %v", status, bad)
	}
	checkFilterPlugins(t, n)
}

// form sends a form-encoded Admin API call.
func (n *node) form(method, path, body string) (int, map[string]any) {
	n.t.Helper()
	req, _ := http.NewRequest(method, n.admin+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]any{}
	data, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(data, &out)
	return res.StatusCode, out
}

// TestFiltersSeePluginChanges: a filter runs after the other plugins'
// access phase and sees the request as they changed it, as in Kong (one
// request there): the client's X-Chain removed and "lua" appended by
// request-transformer, then "f" added by the filter, reach the upstream
// as "lua, f" — not the client's value, and not without "lua".
func TestFiltersSeePluginChanges(t *testing.T) {
	n := startFilterNode(t, filterPluginsDir(t), map[string]string{"database": "sqlite"})
	up := sawUpstream(t)
	n.call("POST", "/services", map[string]any{"name": "s", "url": up.URL})
	n.call("POST", "/services/s/routes", map[string]any{"name": "t", "paths": []string{"/t"}})
	n.call("POST", "/routes/t/plugins", map[string]any{"name": "request-transformer", "config": map[string]any{
		"remove": map[string]any{"headers": []string{"x-chain"}},
		"append": map[string]any{"headers": []string{"x-chain:lua"}}}})
	n.call("POST", "/routes/t/plugins", map[string]any{"name": "pw-b", "config": pwString("f")})
	get := func() (int, string) {
		req, _ := http.NewRequest("GET", n.proxy+"/t", nil)
		req.Header.Set("X-Chain", "client")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		io.Copy(io.Discard, res.Body)
		return res.StatusCode, res.Header.Get("X-Saw")
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		status, saw := get()
		if status == 200 && saw == "lua, f" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /t: %d, the upstream saw X-Chain %q, want \"lua, f\"", status, saw)
		}
	}
}
