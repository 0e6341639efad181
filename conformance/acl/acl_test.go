// Package acl_test drives the acl plugin and the policies entity through
// real nodes over 127.0.0.1: consumers, groups, credentials and policies
// created with the Admin API (or a kong.yml file), key-auth and acl on
// routes, requests through the proxy to an upstream that echoes the
// headers it received.
package acl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/runtime/app"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
)

type env struct {
	t            *testing.T
	node         *app.Node
	admin, proxy string
	upstream     string
}

func upstream(t *testing.T) string {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"headers": r.Header, "method": r.Method})
	}))
	t.Cleanup(up.Close)
	return up.URL
}

// start starts a node. Its policy_timeout is generous unless settings
// say otherwise: a loaded machine running -race must not fail a decision
// by the clock.
func start(t *testing.T, settings map[string]string) *env {
	u := upstream(t)
	s := map[string]string{"policy_timeout": "2000"}
	for k, v := range settings {
		s[k] = v
	}
	n := testnode.Start(t, s)
	return &env{t: t, node: n, admin: "http://" + n.Addr("admin"), proxy: "http://" + n.Addr("proxy"), upstream: u}
}

func do(t testing.TB, c *http.Client, req *http.Request) (int, []byte) {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// api sends a JSON Admin API request and checks the status.
func (e *env) api(method, path string, body any, status int) map[string]any {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, e.admin+path, rd)
	req.Header.Set("Content-Type", "application/json")
	code, b := do(e.t, http.DefaultClient, req)
	if code != status {
		e.t.Fatalf("%s %s: %d %s, want %d", method, path, code, b, status)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func (e *env) rebuild() {
	e.t.Helper()
	if err := e.node.Snapshots().Rebuild(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

type reply struct {
	status  int
	message string
	headers http.Header // the upstream's view
}

func (e *env) call(c *http.Client, method, path string, headers map[string]string) reply {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.proxy+path, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	code, b := do(e.t, c, req)
	var m struct {
		Message string
		Headers http.Header
	}
	if err := json.Unmarshal(b, &m); err != nil {
		e.t.Fatalf("%s %s: body %q: %v", method, path, b, err)
	}
	return reply{code, m.Message, m.Headers}
}

// setup: service + routes, consumers with groups and keys, an anonymous
// consumer.
//
//	alice  key alice-key  groups admin, dev
//	bob    key bob-key    no groups
//	carol  key carol-key  group banned
//	rita   key rita-key   group reader
//	guest  (anonymous)    group guests
func (e *env) setup() {
	e.api("POST", "/services", map[string]any{"name": "svc", "url": e.upstream}, 201)
	for _, c := range []struct {
		name   string
		groups []string
	}{{"alice", []string{"admin", "dev"}}, {"bob", nil}, {"carol", []string{"banned"}}, {"rita", []string{"reader"}}, {"guest", []string{"guests"}}} {
		e.api("POST", "/consumers", map[string]any{"username": c.name}, 201)
		if c.name != "guest" {
			e.api("POST", "/consumers/"+c.name+"/key-auth", map[string]any{"key": c.name + "-key"}, 201)
		}
		for _, g := range c.groups {
			e.api("POST", "/consumers/"+c.name+"/acls", map[string]any{"group": g}, 201)
		}
	}
}

// route adds a route with key-auth (its config; nil for none) and acl.
func (e *env) route(name string, keyAuth map[string]any, acl map[string]any) {
	e.api("POST", "/services/svc/routes", map[string]any{"name": name, "paths": []string{"/" + name}}, 201)
	if keyAuth != nil {
		e.api("POST", "/routes/"+name+"/plugins", map[string]any{"name": "key-auth", "config": keyAuth}, 201)
	}
	e.api("POST", "/routes/"+name+"/plugins", map[string]any{"name": "acl", "config": acl}, 201)
}

const forbidden = "You cannot consume this service"

func key(k string) map[string]string { return map[string]string{"apikey": k} }

// TestKongDocumentedBehaviour: allow and deny lists, consumers without
// groups, the anonymous consumer, hide_groups_header, X-Consumer-Groups,
// Kong's 401 and 403 bodies, through the proxy.
func TestKongDocumentedBehaviour(t *testing.T) {
	e := start(t, nil)
	e.setup()
	e.route("allow", map[string]any{}, map[string]any{"allow": []string{"admin"}})
	e.route("deny", map[string]any{}, map[string]any{"deny": []string{"banned"}})
	e.route("hidden", map[string]any{}, map[string]any{"allow": []string{"admin"}, "hide_groups_header": true})
	e.route("anon", map[string]any{"anonymous": "guest"}, map[string]any{"allow": []string{"guests", "admin"}})
	e.route("anon-denied", map[string]any{"anonymous": "guest"}, map[string]any{"allow": []string{"admin"}})
	e.route("noauth", nil, map[string]any{"allow": []string{"admin"}})
	e.rebuild()
	c := &http.Client{}
	cases := []struct {
		path    string
		headers map[string]string
		status  int
		message string
		groups  string // X-Consumer-Groups upstream ("-": absent)
	}{
		{"/allow", key("alice-key"), 200, "", "admin, dev"},
		{"/allow", key("carol-key"), 403, forbidden, ""},
		{"/allow", key("bob-key"), 403, forbidden, ""}, // no groups, with a credential
		{"/allow", nil, 401, "No API key found in request", ""},
		{"/deny", key("alice-key"), 200, "", "admin, dev"},
		{"/deny", key("carol-key"), 403, forbidden, ""},
		{"/deny", key("bob-key"), 200, "", "-"}, // no groups, deny list: passes
		{"/hidden", key("alice-key"), 200, "", "-"},
		{"/anon", nil, 200, "", "guests"},
		{"/anon", key("alice-key"), 200, "", "admin, dev"},
		{"/anon-denied", nil, 403, forbidden, ""},
		{"/anon-denied", key("alice-key"), 200, "", "admin, dev"},
		{"/noauth", nil, 401, "Unauthorized", ""},
		{"/allow", map[string]string{"apikey": "alice-key", "X-Consumer-Groups": "forged"}, 200, "", "admin, dev"},
		{"/hidden", map[string]string{"apikey": "alice-key", "X-Consumer-Groups": "forged"}, 200, "", "forged"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.path, tc.headers), func(t *testing.T) {
			r := e.call(c, "GET", tc.path, tc.headers)
			if r.status != tc.status || r.message != tc.message {
				t.Fatalf("%d %q, want %d %q", r.status, r.message, tc.status, tc.message)
			}
			if tc.status != 200 {
				return
			}
			got, has := r.headers.Get("X-Consumer-Groups"), len(r.headers.Values("X-Consumer-Groups")) > 0
			switch {
			case tc.groups == "-" && has && got != "":
				t.Errorf("X-Consumer-Groups %q, want none", got)
			case tc.groups != "-" && sortedList(got) != tc.groups:
				// The consumer's groups come in the store's order.
				t.Errorf("X-Consumer-Groups %q, want %q", got, tc.groups)
			}
		})
	}
}

const readersRego = `package custom.readers

# Group admin may do anything; group reader may only read.
default allow := false

allow if "admin" in input.groups

allow if {
	"reader" in input.groups
	input.request.method == "GET"
}
`

// TestPoliciesAdminAPI: /policies CRUD; Rego that does not compile is a
// 400 in Kong's error JSON naming line and column.
func TestPoliciesAdminAPI(t *testing.T) {
	e := start(t, nil)
	p := e.api("POST", "/policies", map[string]any{"name": "readers", "rego": readersRego, "tags": []string{"t1"}}, 201)
	if p["name"] != "readers" || p["rego"] != readersRego || p["id"] == nil || p["created_at"] == nil {
		t.Errorf("created %v", p)
	}
	if got := e.api("GET", "/policies/readers", nil, 200); got["id"] != p["id"] {
		t.Errorf("by name: %v", got)
	}
	if got := e.api("GET", "/policies?tags=t1", nil, 200); len(got["data"].([]any)) != 1 {
		t.Errorf("by tag: %v", got)
	}
	bad := e.api("POST", "/policies", map[string]any{"name": "bad", "rego": "package bad\n\nallow if {\n\tinput.x ==\n}\n"}, 400)
	fields, _ := bad["fields"].(map[string]any)
	msg, _ := fields["rego"].(string)
	if bad["name"] != "schema violation" || bad["code"] != 2.0 || !strings.Contains(msg, "line 5, column 1") ||
		!strings.Contains(bad["message"].(string), "line 5, column 1") {
		t.Errorf("bad policy answer %v", bad)
	}
	unsafe := e.api("PATCH", "/policies/readers", map[string]any{"rego": "package custom.readers\nallow if x == 1\n"}, 400)
	if f, _ := unsafe["fields"].(map[string]any); !strings.Contains(fmt.Sprint(f["rego"]), "line 2, column 10") {
		t.Errorf("unsafe var answer %v", unsafe)
	}
	e.api("POST", "/policies", map[string]any{"name": "readers", "rego": readersRego}, 409)
	// Kong's /schemas/{entity}/validate checks a policy without storing it.
	e.api("POST", "/schemas/policies/validate", map[string]any{"name": "v", "rego": readersRego}, 200)
	v := e.api("POST", "/schemas/policies/validate", map[string]any{"name": "v", "rego": "package v\nallow if {"}, 400)
	if f, _ := v["fields"].(map[string]any); !strings.Contains(fmt.Sprint(f["rego"]), "line 2") {
		t.Errorf("validate answer %v", v)
	}
	e.api("PUT", "/policies/other", map[string]any{"rego": "package other\nallow := true\n"}, 200)
	e.api("DELETE", "/policies/other", nil, 204)
	e.api("GET", "/policies/other", nil, 404)
}

// TestCustomPolicy: an acl instance naming a policy decides as its Rego
// says; a new version of the policy takes over with the next snapshot; a
// policy that errors at evaluation fails closed (500); a missing one too.
func TestCustomPolicy(t *testing.T) {
	e := start(t, nil)
	e.setup()
	e.api("POST", "/policies", map[string]any{"name": "readers", "rego": readersRego}, 201)
	e.api("POST", "/policies", map[string]any{"name": "broken", "rego": "package broken\nallow if to_number(input.request.method) > 0\n"}, 201)
	e.route("custom", map[string]any{}, map[string]any{"allow": []string{"admin", "reader"}, "policy": "readers"})
	e.route("plain", map[string]any{}, map[string]any{"allow": []string{"admin", "reader"}})
	e.route("broken", map[string]any{}, map[string]any{"allow": []string{"admin"}, "policy": "broken"})
	e.route("missing", map[string]any{}, map[string]any{"allow": []string{"admin"}, "policy": "nope"})
	e.rebuild()
	c := &http.Client{}
	for _, tc := range []struct {
		method, path, key string
		status            int
	}{
		{"GET", "/custom", "rita-key", 200},
		{"POST", "/custom", "rita-key", 403},
		{"DELETE", "/custom", "alice-key", 200},
		{"GET", "/custom", "bob-key", 403},
		{"POST", "/plain", "rita-key", 200}, // the default rule lets readers write
		{"GET", "/broken", "alice-key", 500},
		{"GET", "/missing", "alice-key", 500},
	} {
		if r := e.call(c, tc.method, tc.path, key(tc.key)); r.status != tc.status {
			t.Errorf("%s %s as %s: %d %q, want %d", tc.method, tc.path, tc.key, r.status, r.message, tc.status)
		}
	}
	// Readers may now write too.
	e.api("PATCH", "/policies/readers", map[string]any{"rego": "package custom.readers\nallow if \"reader\" in input.groups\n"}, 200)
	e.rebuild()
	if r := e.call(c, "POST", "/custom", key("rita-key")); r.status != 200 {
		t.Errorf("after the update: %d %q", r.status, r.message)
	}
	// The missing policy appears.
	e.api("POST", "/policies", map[string]any{"name": "nope", "rego": "package nope\nallow := true\n"}, 201)
	e.rebuild()
	if r := e.call(c, "GET", "/missing", key("bob-key")); r.status != 200 {
		t.Errorf("once the policy exists: %d %q", r.status, r.message)
	}
}

// TestPolicyTimeout: a policy that runs longer than policy_timeout fails
// its request closed with a 500, in about the timeout.
func TestPolicyTimeout(t *testing.T) {
	e := start(t, map[string]string{"policy_timeout": "5"})
	e.setup()
	e.api("POST", "/policies", map[string]any{"name": "slow", "rego": "package slow\nallow if count([1 | some i in numbers.range(1, 3000); some j in numbers.range(1, 3000)]) > 0\n"}, 201)
	e.route("slow", map[string]any{}, map[string]any{"allow": []string{"admin"}, "policy": "slow"})
	e.rebuild()
	start := time.Now()
	if r := e.call(&http.Client{}, "GET", "/slow", key("alice-key")); r.status != 500 {
		t.Errorf("slow policy: %d %q, want 500", r.status, r.message)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("the request took %v", el)
	}
}

// TestDeclarative: policies and acl from a kong.yml file, DB-less.
func TestDeclarative(t *testing.T) {
	u := upstream(t)
	yml := `_format_version: "3.0"
services:
- name: svc
  url: ` + u + `
  routes:
  - name: r
    paths: [/r]
    plugins:
    - name: key-auth
    - name: acl
      config:
        allow: [admin, reader]
        policy: readers
consumers:
- username: rita
  keyauth_credentials:
  - key: rita-key
  acls:
  - group: reader
policies:
- name: readers
  rego: |
` + indent(readersRego, "    ")
	path := filepath.Join(t.TempDir(), "kong.yml")
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	n := testnode.Start(t, map[string]string{"database": "off", "declarative_config": path, "policy_timeout": "2000"})
	e := &env{t: t, node: n, admin: "http://" + n.Addr("admin"), proxy: "http://" + n.Addr("proxy")}
	c := &http.Client{}
	if r := e.call(c, "GET", "/r", key("rita-key")); r.status != 200 || r.headers.Get("X-Consumer-Groups") != "reader" {
		t.Errorf("GET: %d %q %v", r.status, r.message, r.headers)
	}
	if r := e.call(c, "POST", "/r", key("rita-key")); r.status != 403 || r.message != forbidden {
		t.Errorf("POST: %d %q", r.status, r.message)
	}
	// A kong.yml whose policy does not compile is refused whole.
	bad := strings.Replace(yml, `input.request.method == "GET"`, `input.request.method ==`, 1)
	b, _ := json.Marshal(map[string]string{"config": bad})
	req, _ := http.NewRequest("POST", e.admin+"/config", strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	code, body := do(t, http.DefaultClient, req)
	if code != 400 || !strings.Contains(string(body), "line ") {
		t.Errorf("bad kong.yml: %d %s", code, body)
	}
}

// sortedList sorts the items of a ", "-separated list.
func sortedList(s string) string {
	items := strings.Split(s, ", ")
	sort.Strings(items)
	return strings.Join(items, ", ")
}

func indent(s, pfx string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pfx + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// TestConcurrentKeepAlive: keep-alive clients in parallel (run under
// -race) while the policy is rewritten between two versions that agree on
// reads: a GET by a reader always passes, a POST by a non-member never
// does, whatever snapshot serves it.
func TestConcurrentKeepAlive(t *testing.T) {
	e := start(t, nil)
	e.setup()
	e.api("POST", "/policies", map[string]any{"name": "readers", "rego": readersRego}, 201)
	e.route("custom", map[string]any{}, map[string]any{"allow": []string{"admin", "reader"}, "policy": "readers"})
	e.route("allow", map[string]any{}, map[string]any{"allow": []string{"admin"}})
	e.rebuild()
	const workers, rounds = 6, 60
	var wg sync.WaitGroup
	errs := make(chan string, workers*rounds)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer c.CloseIdleConnections()
			for i := 0; i < rounds; i++ {
				check := func(method, path, k string, want int) {
					req, _ := http.NewRequest(method, e.proxy+path, nil)
					req.Header.Set("apikey", k)
					res, err := c.Do(req)
					if err != nil {
						errs <- err.Error()
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != want {
						errs <- fmt.Sprintf("%s %s as %s: %d, want %d", method, path, k, res.StatusCode, want)
					}
				}
				check("GET", "/custom", "rita-key", 200)
				check("POST", "/custom", "carol-key", 403)
				check("GET", "/allow", []string{"alice-key", "carol-key"}[(i+w)%2], []int{200, 403}[(i+w)%2])
			}
		}(w)
	}
	versions := []string{readersRego, "package custom.readers\nallow if \"reader\" in input.groups\n"}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for i := 0; ; i++ {
		select {
		case <-done:
			close(errs)
			for msg := range errs {
				t.Error(msg)
			}
			return
		default:
		}
		e.api("PATCH", "/policies/readers", map[string]any{"rego": versions[i%2]}, 200)
		e.rebuild()
	}
}
