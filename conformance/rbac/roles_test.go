package rbac_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

var svc = func(name string, tags ...string) map[string]any {
	m := map[string]any{"name": name, "url": "http://example.test"}
	if len(tags) > 0 {
		m["tags"] = tags
	}
	return m
}

func forbidden(name, action string) string {
	return fmt.Sprintf(`{"message":"%s, you do not have permissions to %s this resource"}`, name, action)
}

// wantBody checks a call's status and exact body.
func (e *env) wantBody(token, method, path string, body any, status int, exact string) {
	e.t.Helper()
	code, b := e.call(token, method, path, body)
	if code != status || strings.TrimSpace(string(b)) != exact {
		e.t.Errorf("%s %s: %d %s, want %d %s", method, path, code, b, status, exact)
	}
}

// TestPredefinedRoles: the four predefined roles are seeded, listed with
// their endpoints, and cannot be deleted, renamed or given endpoints.
func TestPredefinedRoles(t *testing.T) {
	e := start(t, "on")
	list := e.want(rootToken, "GET", "/rbac/roles", nil, 200)
	var names []string
	for _, r := range list["data"].([]any) {
		role := r.(map[string]any)
		names = append(names, role["name"].(string))
		if role["predefined"] != true {
			t.Errorf("role %v is not predefined", role["name"])
		}
	}
	sort.Strings(names)
	if want := []string{"admin", "api-provider", "read-only", "super-admin"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("roles %v, want %v", names, want)
	}
	eps := e.want(rootToken, "GET", "/rbac/roles/admin/endpoints", nil, 200)["data"].([]any)
	var sawStar, sawNegRBAC bool
	for _, ep := range eps {
		p := ep.(map[string]any)
		sawStar = sawStar || (p["endpoint"] == "*" && p["negative"] == false)
		sawNegRBAC = sawNegRBAC || (p["endpoint"] == "/rbac/*" && p["negative"] == true)
	}
	if !sawStar || !sawNegRBAC {
		t.Errorf("admin endpoints lack * or negative /rbac/*: %v", eps)
	}
	e.wantBody(rootToken, "DELETE", "/rbac/roles/admin", nil, 400, `{"message":"'admin' is a predefined role: it cannot be deleted"}`)
	e.wantBody(rootToken, "PATCH", "/rbac/roles/read-only", map[string]any{"name": "reader"}, 400,
		`{"message":"'read-only' is a predefined role: it cannot be changed"}`)
	e.want(rootToken, "POST", "/rbac/roles/read-only/endpoints", map[string]any{"endpoint": "*", "actions": "*"}, 400)
	e.want(rootToken, "DELETE", "/rbac/roles/admin/endpoints/*/rbac/*", nil, 400)
	e.want(rootToken, "POST", "/rbac/roles", map[string]any{"name": "admin"}, 409)
	e.want(rootToken, "POST", "/rbac/roles", map[string]any{"name": "mine", "predefined": true}, 400)
	// Still there, unchanged.
	if got := e.want(rootToken, "GET", "/rbac/roles/admin/endpoints", nil, 200)["data"].([]any); len(got) != len(eps) {
		t.Errorf("admin has %d endpoints after the refused changes, had %d", len(got), len(eps))
	}
	privs := e.want(rootToken, "GET", "/rbac/privileges", nil, 200)["data"].([]any)
	var pnames []string
	for _, p := range privs {
		pnames = append(pnames, p.(map[string]any)["name"].(string))
	}
	for _, want := range []string{"manage-apis", "manage-applications", "manage-global-policies", "manage-threat-protection",
		"manage-user-administration", "view-administration-configurations", "import-export", "manage-security-configurations"} {
		if !strings.Contains(strings.Join(pnames, ","), want) {
			t.Errorf("privilege %s missing from %v", want, pnames)
		}
	}
	// An unknown role cannot be granted.
	e.want(rootToken, "POST", "/rbac/users", map[string]any{"name": "bob"}, 201)
	e.wantBody(rootToken, "POST", "/rbac/users/bob/roles", map[string]any{"roles": "nope"}, 400, `{"message":"role not found with name 'nope'"}`)
}

// TestAPIProvider: an api-provider manages services, routes and consumers
// but not /rbac, /policies, global plugins or /denied-ips.
func TestAPIProvider(t *testing.T) {
	e := start(t, "on")
	p := e.createUser("provider", "api-provider")
	e.want(p, "GET", "/", nil, 200)
	e.want(p, "GET", "/status", nil, 200)
	e.want(p, "POST", "/services", svc("orders"), 201)
	e.want(p, "PATCH", "/services/orders", map[string]any{"retries": 3}, 200)
	e.want(p, "POST", "/services/orders/routes", map[string]any{"name": "r1", "paths": []string{"/orders"}}, 201)
	e.want(p, "POST", "/services/orders/plugins", map[string]any{"name": "cors"}, 201)
	e.want(p, "GET", "/plugins", nil, 200)
	e.want(p, "POST", "/consumers", map[string]any{"username": "app1"}, 201)
	e.want(p, "POST", "/consumers/app1/key-auth", map[string]any{"key": "k-123456"}, 201)
	e.want(p, "POST", "/upstreams", map[string]any{"name": "up1"}, 201)
	e.want(p, "POST", "/upstreams/up1/targets", map[string]any{"target": "10.0.0.1:80"}, 201)
	e.want(p, "GET", "/schemas/services", nil, 200)
	e.wantBody(p, "GET", "/rbac/users", nil, 403, forbidden("provider", "read"))
	e.wantBody(p, "POST", "/rbac/roles", map[string]any{"name": "x"}, 403, forbidden("provider", "create"))
	e.wantBody(p, "GET", "/policies", nil, 403, forbidden("provider", "read"))
	e.wantBody(p, "POST", "/policies", map[string]any{"name": "p", "rego": "package p\nallow := true\n"}, 403, forbidden("provider", "create"))
	e.wantBody(p, "POST", "/plugins", map[string]any{"name": "cors"}, 403, forbidden("provider", "create"))
	e.wantBody(p, "POST", "/denied-ips", map[string]any{"ip": "192.0.2.1"}, 403, forbidden("provider", "create"))
	e.wantBody(p, "POST", "/certificates", map[string]any{}, 403, forbidden("provider", "create"))
	// A path that climbs into /rbac reaches nothing.
	if code, b := e.call(p, "DELETE", "/services/orders/routes/r1/../../../rbac/users/kong_admin", nil); code != 403 && code != 404 {
		t.Errorf("DELETE through ..: %d %s", code, b)
	}
	e.want(rootToken, "GET", "/rbac/users/kong_admin", nil, 200)
	// read-only lists but cannot create; it reads /rbac (as Kong
	// Enterprise's read-only does) but cannot write it.
	r := e.createUser("reader", "read-only")
	e.want(r, "GET", "/services", nil, 200)
	e.want(r, "GET", "/consumers/app1/key-auth", nil, 200)
	e.wantBody(r, "POST", "/services", svc("x"), 403, forbidden("reader", "create"))
	e.want(r, "GET", "/rbac/roles", nil, 200)
	e.wantBody(r, "POST", "/rbac/roles", map[string]any{"name": "mine"}, 403, forbidden("reader", "create"))
}

// TestCustomRole: a role with endpoint permissions and another's
// negative permission; permissions listing; endpoint reads, updates and
// deletes; revocation.
func TestCustomRole(t *testing.T) {
	e := start(t, "on")
	e.want(rootToken, "POST", "/rbac/roles", map[string]any{"name": "svc-editor", "comment": "services"}, 201)
	ep := e.want(rootToken, "POST", "/rbac/roles/svc-editor/endpoints", map[string]any{"endpoint": "/services", "actions": "read,create"}, 201)
	if ep["workspace"] != "default" || ep["negative"] != false || !reflect.DeepEqual(ep["actions"], []any{"read", "create"}) {
		t.Errorf("endpoint created as %v", ep)
	}
	if role, _ := ep["role"].(map[string]any); role["id"] == nil {
		t.Errorf("endpoint's role %v, want a foreign key", ep["role"])
	}
	e.want(rootToken, "POST", "/rbac/roles/svc-editor/endpoints", map[string]any{"endpoint": "/services/*", "actions": []string{"*"}}, 201)
	e.want(rootToken, "POST", "/rbac/roles/svc-editor/endpoints", map[string]any{"endpoint": "/services/*", "actions": "read"}, 409)
	e.want(rootToken, "POST", "/rbac/roles", map[string]any{"name": "no-delete"}, 201)
	e.want(rootToken, "POST", "/rbac/roles/no-delete/endpoints", map[string]any{"endpoint": "services/*/", "actions": "delete", "negative": true}, 201)
	// Refused inputs.
	for _, in := range []map[string]any{
		{"endpoint": "/services", "actions": "fly"},
		{"endpoint": "/serv*ces", "actions": "read"},
		{"endpoint": "/a//b", "actions": "read"},
		{"actions": "read"},
		{"endpoint": "/x", "actions": ""},
		{"endpoint": "/x", "actions": "read", "negative": "maybe"},
		{"endpoint": "/x", "actions": "read", "workspace": "other"},
	} {
		e.want(rootToken, "POST", "/rbac/roles/no-delete/endpoints", in, 400)
	}
	e.want(rootToken, "POST", "/rbac/roles", map[string]any{"name": "x", "privileges": "manage-everything"}, 400)

	dev := e.createUser("dev", "svc-editor,no-delete")
	e.want(dev, "POST", "/services", svc("s1"), 201)
	e.want(dev, "GET", "/services", nil, 200)
	e.want(dev, "GET", "/services/s1", nil, 200)
	e.want(dev, "PATCH", "/services/s1", map[string]any{"retries": 2}, 200)
	e.wantBody(dev, "DELETE", "/services/s1", nil, 403, forbidden("dev", "delete"))
	e.wantBody(dev, "GET", "/services/s1/routes", nil, 403, forbidden("dev", "read"))
	e.wantBody(dev, "GET", "/consumers", nil, 403, forbidden("dev", "read"))

	perms := e.want(rootToken, "GET", "/rbac/users/dev/permissions", nil, 200)
	want := map[string]any{"endpoints": map[string]any{"default": map[string]any{
		"/services":   map[string]any{"actions": []any{"read", "create"}, "negative": false},
		"/services/*": map[string]any{"actions": []any{"read", "create", "update", "delete"}, "negative": true},
	}}, "entities": map[string]any{}}
	if !reflect.DeepEqual(perms, want) {
		t.Errorf("permissions %v, want %v", perms, want)
	}

	// The permission is read, updated and deleted by its workspace and
	// endpoint.
	got := e.want(rootToken, "GET", "/rbac/roles/no-delete/endpoints/default/services/*", nil, 200)
	if got["endpoint"] != "/services/*" || got["negative"] != true {
		t.Errorf("GET endpoint: %v", got)
	}
	e.want(rootToken, "GET", "/rbac/roles/no-delete/endpoints/default/routes", nil, 404)
	e.want(rootToken, "PATCH", "/rbac/roles/no-delete/endpoints/default/services/*", map[string]any{"actions": "update"}, 200)
	e.want(dev, "DELETE", "/services/s1", nil, 204)
	e.wantBody(dev, "PATCH", "/services/s1x", map[string]any{"retries": 2}, 403, forbidden("dev", "update"))
	e.want(rootToken, "DELETE", "/rbac/roles/no-delete/endpoints/default/services/*", nil, 204)
	e.want(rootToken, "GET", "/rbac/roles/no-delete/endpoints", nil, 200)

	// A privilege bundle adds its endpoints.
	e.want(rootToken, "PATCH", "/rbac/roles/no-delete", map[string]any{"privileges": []string{"manage-applications"}}, 200)
	e.want(dev, "POST", "/consumers", map[string]any{"username": "c1"}, 201)

	// Revoked, the role grants nothing.
	e.want(rootToken, "DELETE", "/rbac/users/dev/roles", map[string]any{"roles": "svc-editor"}, 204)
	e.wantBody(dev, "POST", "/services", svc("s2"), 403, forbidden("dev", "create"))
	roles := e.want(rootToken, "GET", "/rbac/users/dev/roles", nil, 200)["roles"].([]any)
	if len(roles) != 1 || roles[0].(map[string]any)["name"] != "no-delete" {
		t.Errorf("roles after the revocation: %v", roles)
	}
	// A renamed role follows into its grants; a deleted one leaves them.
	e.want(rootToken, "PATCH", "/rbac/roles/no-delete", map[string]any{"name": "apps"}, 200)
	e.want(dev, "POST", "/consumers", map[string]any{"username": "c2"}, 201)
	e.want(rootToken, "DELETE", "/rbac/roles/apps", nil, 204)
	e.wantBody(dev, "POST", "/consumers", map[string]any{"username": "c3"}, 403, forbidden("dev", "create"))
	if roles := e.want(rootToken, "GET", "/rbac/users/dev/roles", nil, 200)["roles"].([]any); len(roles) != 0 {
		t.Errorf("roles after the role's deletion: %v", roles)
	}
	e.want(rootToken, "GET", "/rbac/roles/apps/endpoints", nil, 404)
}

// TestAdminRulePolicy: a user rule under package admin refuses the
// deletion of prod-tagged services, for everyone; a broken rule is
// refused when written.
func TestAdminRulePolicy(t *testing.T) {
	e := start(t, "on")
	op := e.createUser("operator", "admin")
	e.want(op, "POST", "/services", svc("prod-api", "prod"), 201)
	e.want(op, "POST", "/services", svc("dev-api"), 201)
	src, err := os.ReadFile("testdata/prod_guard.rego")
	if err != nil {
		t.Fatal(err)
	}
	// admin may not write policies through /policies? It may (only /rbac
	// and /teams are out of its reach); api-provider may not.
	e.want(op, "POST", "/policies", map[string]any{"name": "prod-guard", "rego": string(src)}, 201)
	// The rule reaches the Admin API with the next snapshot: probe with
	// throwaway prod services until a deletion is refused.
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		name := fmt.Sprintf("probe-%d", i)
		e.want(rootToken, "POST", "/services", svc(name, "prod"), 201)
		code, b := e.call(op, "DELETE", "/services/"+name, nil)
		if code == 403 {
			if want := `{"message":"operator: service ` + name + ` is tagged prod and cannot be deleted"}`; strings.TrimSpace(string(b)) != want {
				t.Fatalf("refusal %s, want %s", b, want)
			}
			break
		}
		if code != 204 || time.Now().After(deadline) {
			t.Fatalf("DELETE of a prod service: %d %s", code, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.wantBody(op, "DELETE", "/services/prod-api", nil, 403, `{"message":"operator: service prod-api is tagged prod and cannot be deleted"}`)
	e.wantBody(rootToken, "DELETE", "/services/prod-api", nil, 403, `{"message":"kong_admin: service prod-api is tagged prod and cannot be deleted"}`)
	e.want(op, "PATCH", "/services/prod-api", map[string]any{"retries": 1}, 200)
	e.want(op, "DELETE", "/services/dev-api", nil, 204)
	// A user rule cannot grant: a read-only admin still cannot delete.
	r := e.createUser("reader", "read-only")
	e.want(op, "POST", "/services", svc("dev2"), 201)
	e.wantBody(r, "DELETE", "/services/dev2", nil, 403, forbidden("reader", "delete"))

	// A broken admin rule is refused with 400 naming its line.
	broken, err := os.ReadFile("testdata/broken_rule.rego")
	if err != nil {
		t.Fatal(err)
	}
	code, b := e.call(rootToken, "POST", "/policies", map[string]any{"name": "broken", "rego": string(broken)})
	if code != 400 || !strings.Contains(string(b), "line 5") {
		t.Errorf("broken admin rule: %d %s, want 400 naming line 5", code, b)
	}
	// Removed, the rule refuses nothing.
	e.want(rootToken, "DELETE", "/policies/prod-guard", nil, 204)
	deadline = time.Now().Add(20 * time.Second)
	for {
		code, b := e.call(op, "DELETE", "/services/prod-api", nil)
		if code == 204 {
			break
		}
		if code != 403 || time.Now().After(deadline) {
			t.Fatalf("DELETE of prod-api after the rule's removal: %d %s", code, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRBACConcurrentTokens: 8 clients, each on its own keep-alive
// connection with its own token, make mixed calls at once; each call is
// judged by its own token.
func TestRBACConcurrentTokens(t *testing.T) {
	e := start(t, "on")
	e.want(rootToken, "POST", "/rbac/roles", map[string]any{"name": "svc-reader"}, 201)
	e.want(rootToken, "POST", "/rbac/roles/svc-reader/endpoints", map[string]any{"endpoint": "/services", "actions": "read"}, 201)
	type client struct {
		name, token string
		calls       []struct {
			method, path string
			status       int
		}
	}
	roles := []string{"read-only", "api-provider", "admin", "svc-reader", "read-only", "api-provider", "admin", "svc-reader"}
	var clients []*client
	for i, role := range roles {
		name := fmt.Sprintf("u%d", i)
		clients = append(clients, &client{name: name, token: e.createUser(name, role)})
	}
	expect := map[string]map[string]int{
		"read-only":    {"GET /services": 200, "POST /services": 403, "GET /rbac/users": 200, "GET /consumers": 200},
		"api-provider": {"GET /services": 200, "POST /services": 201, "GET /rbac/users": 403, "GET /consumers": 200},
		"admin":        {"GET /services": 200, "POST /services": 201, "GET /rbac/users": 403, "GET /consumers": 200},
		"svc-reader":   {"GET /services": 200, "POST /services": 403, "GET /rbac/users": 403, "GET /consumers": 403},
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*40)
	for i, c := range clients {
		wg.Add(1)
		go func(i int, c *client) {
			defer wg.Done()
			tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			calls := []string{"GET /services", "POST /services", "GET /rbac/users", "GET /consumers"}
			for j := 0; j < 20; j++ {
				call := calls[(i+j)%len(calls)]
				method, path, _ := strings.Cut(call, " ")
				var body *strings.Reader
				if method == "POST" {
					b, _ := json.Marshal(svc(fmt.Sprintf("%s-%d", c.name, j)))
					body = strings.NewReader(string(b))
				} else {
					body = strings.NewReader("")
				}
				req, _ := http.NewRequest(method, e.admin+path, body)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Kong-Admin-Token", c.token)
				res, err := hc.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				var out map[string]any
				_ = json.NewDecoder(res.Body).Decode(&out)
				res.Body.Close()
				if want := expect[roles[i]][call]; res.StatusCode != want {
					errs <- fmt.Sprintf("%s (%s) %s: %d %v, want %d", c.name, roles[i], call, res.StatusCode, out, want)
				}
				if res.StatusCode == 403 && out["message"] != c.name+", you do not have permissions to "+
					map[string]string{"GET": "read", "POST": "create"}[method]+" this resource" {
					errs <- fmt.Sprintf("%s %s: refusal %v names another admin or action", c.name, call, out)
				}
			}
		}(i, c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
