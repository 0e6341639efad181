package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/admin"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
)

var (
	root  = store.Actor{ID: "0b7c3a52-2f0e-4d59-8f3e-6a1d1c9e0001", Name: "root"}
	alice = store.Actor{ID: "0b7c3a52-2f0e-4d59-8f3e-6a1d1c9e0002", Name: "alice"}
)

// recordingBackend records the actor the context of every write carries
// into the backend: what reaches the store's write paths.
type recordingBackend struct {
	store.Backend
	mu     sync.Mutex
	actors []store.Actor
}

func (b *recordingBackend) Update(ctx context.Context, fn func(store.Tx) error) error {
	b.mu.Lock()
	b.actors = append(b.actors, store.ActorFrom(ctx))
	b.mu.Unlock()
	return b.Backend.Update(ctx, fn)
}

// take returns the actors recorded since the last call.
func (b *recordingBackend) take() []store.Actor {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.actors
	b.actors = nil
	return out
}

// tokenIdentifier knows two tokens; a call without one is refused.
type tokenIdentifier struct{}

func (tokenIdentifier) Identify(_ context.Context, req admin.RequestInfo) (store.Actor, error) {
	switch req.Header("Kong-Admin-Token") {
	case "root-token":
		return root, nil
	case "alice-token":
		return alice, nil
	}
	return store.Actor{}, admin.Unauthorized("")
}

// testAuthorizer records every call. It refuses alice the consumers and
// everything reached through a consumer, and hides from her the services
// tagged "hidden".
type testAuthorizer struct {
	mu    sync.Mutex
	calls []admin.Call
}

func (a *testAuthorizer) Authorize(ctx context.Context, call admin.Call) error {
	a.mu.Lock()
	a.calls = append(a.calls, call)
	a.mu.Unlock()
	if store.ActorFrom(ctx) != call.Actor {
		return context.Canceled // a 500: the context must carry the call's actor
	}
	if call.Actor == alice && (call.Entity == "consumers" || call.Parent == "consumers") {
		return admin.Forbidden(call.Actor, call.Operation)
	}
	return nil
}

func (a *testAuthorizer) Visible(_ context.Context, call admin.Call, entity string, rec map[string]any) bool {
	if call.Actor != alice || entity != "services" {
		return true
	}
	tags, _ := rec["tags"].([]any)
	return !slices.Contains(tags, any("hidden"))
}

func (a *testAuthorizer) last() (admin.Call, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.calls) == 0 {
		return admin.Call{}, 0
	}
	return a.calls[len(a.calls)-1], len(a.calls)
}

// server serves an Admin API over real HTTP on 127.0.0.1, on a store in a
// SQLite file with the bundled plugins' entities.
func server(t *testing.T, opts admin.Options) (base string, backend *recordingBackend) {
	t.Helper()
	ctx := context.Background()
	b, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "kong.db"))
	if err != nil {
		t.Fatal(err)
	}
	backend = &recordingBackend{Backend: b}
	catalog, err := plugin.NewCatalog([]string{"bundled"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.NewChecked(backend, store.Options{Plugins: catalog})
	if err != nil {
		t.Fatal(err)
	}
	opts.Store = st
	srv := admin.New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.App().Listener(ln) }()
	t.Cleanup(func() {
		_ = srv.App().Shutdown()
		_ = b.Close()
	})
	return "http://" + ln.Addr().String(), backend
}

type reply struct {
	status int
	body   map[string]any
	raw    string
}

func call(t *testing.T, base, token, method, path string, body any) reply {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Kong-Admin-Token", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := reply{status: res.StatusCode, raw: string(raw)}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return out
}

func must(t *testing.T, r reply, status int, what string) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.raw)
	}
	return r
}

func TestAuthorizerDeniesAnEntityTypeEverywhere(t *testing.T) {
	authz := &testAuthorizer{}
	base, backend := server(t, admin.Options{Identifier: tokenIdentifier{}, Authorizer: authz})
	must(t, call(t, base, "root-token", "POST", "/consumers", map[string]any{"username": "bob"}), 201, "create bob")
	cred := must(t, call(t, base, "root-token", "POST", "/consumers/bob/key-auth", map[string]any{"key": "k1"}), 201, "create key")
	credID, _ := cred.body["id"].(string)
	must(t, call(t, base, "root-token", "POST", "/services", map[string]any{"name": "svc", "url": "http://example.test"}), 201, "create service")
	plug := must(t, call(t, base, "root-token", "POST", "/consumers/bob/plugins",
		map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 5}}), 201, "create plugin")
	plugID, _ := plug.body["id"].(string)
	if got := backend.take(); len(got) != 4 || slices.ContainsFunc(got, func(a store.Actor) bool { return a != root }) {
		t.Fatalf("writes reached the store as %v, want root 4 times", got)
	}

	denied := []struct {
		method, path string
		body         any
		op           admin.Operation
	}{
		{"GET", "/consumers", nil, admin.OpList},
		{"HEAD", "/consumers", nil, admin.OpList},
		{"POST", "/consumers", map[string]any{"username": "carol"}, admin.OpCreate},
		{"GET", "/consumers/bob", nil, admin.OpRead},
		{"PATCH", "/consumers/bob", map[string]any{"custom_id": "x"}, admin.OpUpdate},
		{"PUT", "/consumers/carol", map[string]any{}, admin.OpUpdate},
		{"DELETE", "/consumers/bob", nil, admin.OpDelete},
		{"GET", "/consumers/bob/key-auth", nil, admin.OpList},
		{"POST", "/consumers/bob/key-auth", map[string]any{"key": "k2"}, admin.OpCreate},
		{"GET", "/consumers/bob/key-auth/" + credID, nil, admin.OpRead},
		{"PATCH", "/consumers/bob/key-auth/" + credID, map[string]any{"key": "k3"}, admin.OpUpdate},
		{"DELETE", "/consumers/bob/key-auth/" + credID, nil, admin.OpDelete},
		{"GET", "/consumers/bob/plugins", nil, admin.OpList},
		{"DELETE", "/consumers/bob/plugins/" + plugID, nil, admin.OpDelete},
		{"GET", "/plugins/" + plugID + "/consumer", nil, admin.OpRead},
		{"PATCH", "/plugins/" + plugID + "/consumer", map[string]any{"custom_id": "x"}, admin.OpUpdate},
		{"GET", "/key-auths/" + credID + "/consumer", nil, admin.OpRead},
	}
	for _, tt := range denied {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := call(t, base, "alice-token", tt.method, tt.path, tt.body)
			if r.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403: %s", r.status, r.raw)
			}
			if tt.method != "HEAD" {
				want := "alice, you do not have permissions to " + opWord(tt.op) + " this resource"
				if len(r.body) != 1 || r.body["message"] != want {
					t.Fatalf("body %s, want {\"message\":%q}", r.raw, want)
				}
			}
			if c, _ := authz.last(); c.Operation != tt.op || c.Actor != alice {
				t.Fatalf("authorizer asked %+v, want operation %s by alice", c, tt.op)
			}
		})
	}
	if got := backend.take(); len(got) != 0 {
		t.Fatalf("refused calls reached the store's write path as %v", got)
	}
	// Nothing changed, other entity types stay open to alice, and her
	// writes reach the store as hers.
	must(t, call(t, base, "root-token", "GET", "/consumers/bob/key-auth/"+credID, nil), 200, "root reads the key")
	must(t, call(t, base, "root-token", "GET", "/consumers/bob/plugins/"+plugID, nil), 200, "root reads the plugin")
	must(t, call(t, base, "alice-token", "GET", "/key-auths/"+credID, nil), 200, "alice reads the key by its own path")
	must(t, call(t, base, "alice-token", "PATCH", "/services/svc", map[string]any{"retries": 3}), 200, "alice updates a service")
	must(t, call(t, base, "alice-token", "POST", "/services", map[string]any{"name": "hers", "url": "http://example.test"}), 201, "alice creates a service")
	if got := backend.take(); !slices.Equal(got, []store.Actor{alice, alice}) {
		t.Fatalf("alice's writes reached the store as %v", got)
	}
	// Without a token the identifier refuses the call.
	r := must(t, call(t, base, "", "GET", "/services", nil), 401, "no token")
	if r.body["message"] != "Invalid credentials. Token or User credentials required" {
		t.Fatalf("401 body %s", r.raw)
	}
}

func opWord(op admin.Operation) string {
	if op == admin.OpList {
		return "read"
	}
	return string(op)
}

func TestAuthorizerFiltersLists(t *testing.T) {
	authz := &testAuthorizer{}
	base, _ := server(t, admin.Options{Identifier: tokenIdentifier{}, Authorizer: authz})
	all, visible := []string{}, []string{}
	for i, name := range []string{"s0", "s1", "s2", "s3", "s4", "s5", "s6"} {
		tags := []string{"team"}
		if i%2 == 1 {
			tags = append(tags, "hidden")
		} else {
			visible = append(visible, name)
		}
		all = append(all, name)
		must(t, call(t, base, "root-token", "POST", "/services",
			map[string]any{"name": name, "url": "http://example.test", "tags": tags}), 201, "create "+name)
	}
	must(t, call(t, base, "root-token", "POST", "/services/s1/routes", map[string]any{"paths": []string{"/r"}}), 201, "route")

	// names follows next to the end, checking every page's size.
	names := func(token, path string, size int) []string {
		t.Helper()
		var out []string
		for pages := 0; path != ""; pages++ {
			if pages > 20 {
				t.Fatal("next never ends")
			}
			r := must(t, call(t, base, token, "GET", path, nil), 200, path)
			data, _ := r.body["data"].([]any)
			if len(data) > size {
				t.Fatalf("%s: %d items on a page of %d", path, len(data), size)
			}
			for _, d := range data {
				rec := d.(map[string]any)
				name, _ := rec["name"].(string)
				if name == "" { // a /tags row
					name, _ = rec["entity_id"].(string)
				}
				out = append(out, name)
			}
			next, _ := r.body["next"].(string)
			if next != "" && r.body["offset"] == nil {
				t.Fatalf("%s: next without offset", path)
			}
			path = next
		}
		sort.Strings(out)
		return out
	}
	tests := []struct {
		name, token, path string
		size              int
		want              []string
	}{
		{"root sees all", "root-token", "/services?size=2", 2, all},
		{"alice sees the visible ones, across pages", "alice-token", "/services?size=2", 2, visible},
		{"one page", "alice-token", "/services", 100, visible},
		{"tag filter", "alice-token", "/services?tags=team&size=3", 3, visible},
		{"unique filter, hidden", "alice-token", "/services?name=s1", 1, nil},
		{"unique filter, shown", "alice-token", "/services?name=s2", 1, []string{"s2"}},
		{"unique filter, root", "root-token", "/services?name=s1", 1, []string{"s1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := names(tt.token, tt.path, tt.size); !slices.Equal(got, tt.want) {
				t.Fatalf("listed %v, want %v", got, tt.want)
			}
			if c, _ := authz.last(); c.Entity != "services" || c.Operation != admin.OpList {
				t.Fatalf("authorizer asked %+v", c)
			}
		})
	}
	// /tags rows of hidden services are dropped too.
	rootRows := names("root-token", "/tags/hidden?size=2", 2)
	if len(rootRows) != 3 {
		t.Fatalf("root sees %d hidden rows, want 3", len(rootRows))
	}
	if got := names("alice-token", "/tags/hidden?size=2", 2); len(got) != 0 {
		t.Fatalf("alice sees hidden rows %v", got)
	}
	if got := names("alice-token", "/tags/team", 100); len(got) != len(visible) {
		t.Fatalf("alice sees %d team rows, want %d", len(got), len(visible))
	}
	// Other entity types are not filtered.
	must(t, call(t, base, "alice-token", "GET", "/services/s1", nil), 200, "read by key is the authorizer's Authorize to refuse")
	if r := must(t, call(t, base, "alice-token", "GET", "/routes", nil), 200, "routes"); len(r.body["data"].([]any)) != 1 {
		t.Fatalf("routes filtered: %s", r.raw)
	}
}

func TestAuthorizerSeesEveryEndpoint(t *testing.T) {
	authz := &testAuthorizer{}
	base, _ := server(t, admin.Options{Identifier: tokenIdentifier{}, Authorizer: authz})
	must(t, call(t, base, "root-token", "POST", "/services", map[string]any{"name": "svc", "url": "http://example.test"}), 201, "service")
	route := must(t, call(t, base, "root-token", "POST", "/services/svc/routes", map[string]any{"paths": []string{"/r"}}), 201, "route")
	routeID, _ := route.body["id"].(string)
	must(t, call(t, base, "root-token", "POST", "/upstreams", map[string]any{"name": "up"}), 201, "upstream")

	type want struct {
		entity            string
		op                admin.Operation
		key               string
		parent, parentKey string
	}
	tests := []struct {
		method, path string
		body         any
		want         want
	}{
		{"GET", "/", nil, want{admin.ResourceNode, admin.OpRead, "", "", ""}},
		{"GET", "/status", nil, want{admin.ResourceStatus, admin.OpRead, "", "", ""}},
		{"GET", "/endpoints", nil, want{admin.ResourceEndpoints, admin.OpRead, "", "", ""}},
		{"GET", "/schemas/services", nil, want{admin.ResourceSchemas, admin.OpRead, "services", "", ""}},
		{"GET", "/schemas/plugins/key-auth", nil, want{admin.ResourceSchemas, admin.OpRead, "plugins/key-auth", "", ""}},
		{"POST", "/schemas/services/validate", map[string]any{"host": "x"}, want{admin.ResourceSchemas, admin.OpRead, "services/validate", "", ""}},
		{"GET", "/plugins/enabled", nil, want{admin.ResourceEnabled, admin.OpRead, "", "", ""}},
		{"GET", "/tags", nil, want{admin.ResourceTags, admin.OpList, "", "", ""}},
		{"GET", "/tags/team", nil, want{admin.ResourceTags, admin.OpList, "team", "", ""}},
		{"GET", "/config", nil, want{admin.ResourceConfig, admin.OpRead, "", "", ""}},
		{"POST", "/config", map[string]any{}, want{admin.ResourceConfig, admin.OpCreate, "", "", ""}},
		{"GET", "/services", nil, want{"services", admin.OpList, "", "", ""}},
		{"POST", "/services", map[string]any{"name": "two", "url": "http://example.test"}, want{"services", admin.OpCreate, "", "", ""}},
		{"GET", "/services/svc", nil, want{"services", admin.OpRead, "svc", "", ""}},
		{"PATCH", "/services/two", map[string]any{"retries": 1}, want{"services", admin.OpUpdate, "two", "", ""}},
		{"PUT", "/services/three", map[string]any{"url": "http://example.test"}, want{"services", admin.OpUpdate, "three", "", ""}},
		{"DELETE", "/services/three", nil, want{"services", admin.OpDelete, "three", "", ""}},
		{"GET", "/services/svc/routes", nil, want{"routes", admin.OpList, "", "services", "svc"}},
		{"GET", "/routes/" + routeID + "/service", nil, want{"services", admin.OpRead, "", "routes", routeID}},
		{"GET", "/upstreams/up/targets", nil, want{"targets", admin.OpList, "", "upstreams", "up"}},
		{"POST", "/upstreams/up/targets", map[string]any{"target": "10.0.0.1:80"}, want{"targets", admin.OpCreate, "", "upstreams", "up"}},
		{"GET", "/upstreams/up/targets/all", nil, want{"targets", admin.OpList, "", "upstreams", "up"}},
		{"GET", "/upstreams/up/targets/10.0.0.1:80", nil, want{"targets", admin.OpRead, "10.0.0.1:80", "upstreams", "up"}},
		{"POST", "/upstreams/up/targets/10.0.0.1:80/healthy", nil, want{"targets", admin.OpUpdate, "10.0.0.1:80", "upstreams", "up"}},
		{"POST", "/upstreams/up/targets/10.0.0.1:80/10.0.0.1:80/unhealthy", nil, want{"targets", admin.OpUpdate, "10.0.0.1:80", "upstreams", "up"}},
		{"GET", "/upstreams/up/health", nil, want{"upstreams", admin.OpRead, "up", "", ""}},
		{"GET", "/consumers/bob/key-auth", nil, want{"keyauth_credentials", admin.OpList, "", "consumers", "bob"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			_, before := authz.last()
			call(t, base, "root-token", tt.method, tt.path, tt.body)
			c, after := authz.last()
			if after != before+1 {
				t.Fatalf("authorizer asked %d times, want once", after-before)
			}
			got := want{c.Entity, c.Operation, c.Key, c.Parent, c.ParentKey}
			if got != tt.want {
				t.Fatalf("call %+v, want %+v", got, tt.want)
			}
			if c.Actor != root || c.Method != tt.method {
				t.Fatalf("actor %v method %s", c.Actor, c.Method)
			}
		})
	}
	// Preflights and paths naming nothing do not ask it.
	for _, p := range []struct{ method, path string }{{"OPTIONS", "/services"}, {"GET", "/nothing-here"}} {
		_, before := authz.last()
		call(t, base, "", p.method, p.path, nil)
		if _, after := authz.last(); after != before {
			t.Fatalf("%s %s asked the authorizer", p.method, p.path)
		}
	}
}

func TestDefaultsAllowAllAsAnonymous(t *testing.T) {
	base, backend := server(t, admin.Options{})
	must(t, call(t, base, "", "POST", "/consumers", map[string]any{"username": "bob"}), 201, "create")
	must(t, call(t, base, "", "GET", "/consumers", nil), 200, "list")
	must(t, call(t, base, "", "DELETE", "/consumers/bob", nil), 204, "delete")
	if got := backend.take(); !slices.Equal(got, []store.Actor{store.Anonymous, store.Anonymous}) {
		t.Fatalf("writes reached the store as %v, want anonymous twice", got)
	}
}
