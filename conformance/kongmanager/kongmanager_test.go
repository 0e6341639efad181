// Package kongmanager_test checks Kong Manager's admins and sign-in
// (issue 16, PORTALSPEC §1, §2) on real nodes over real HTTP: the
// training's §10 walk (invite, generate the registration link, register,
// sign in with basic-auth, call the Admin API with the session cookie and
// Kong-Admin-User), refusals (read-only, signed out, forged, expired,
// portal-audience cookies), and sessions shared by two nodes on one
// Postgres database.
package kongmanager_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/browser"
	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/conformance/testpg"
	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/config"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
	"github.com/gatehouse/gatehouse/runtime/session"
)

const rootToken = "kongmanager-bootstrap-token-8c1f"

// sessionConf is the training's KONG_ADMIN_GUI_SESSION_CONF.
const sessionConf = `{"secret":"SYS","storage":"kong","cookie_secure":false}`

// guiSettings are the training's §10.2 settings, plus any given.
func guiSettings(extra map[string]string) map[string]string {
	s := map[string]string{
		"enforce_rbac": "on", "admin_gui_auth": "basic-auth", "admin_gui_session_conf": sessionConf,
		"admin_gui_url": "http://localhost:8002",
	}
	for k, v := range extra {
		s[k] = v
	}
	return s
}

// client talks to one node's Admin API over keep-alive connections
// (conformance/browser's Client), answers decoded as Kong's JSON objects.
type client struct {
	t  *testing.T
	hc *browser.Client
}

func newClient(t *testing.T, n *app.Node) *client {
	return &client{t: t, hc: browser.NewClient(t, "http://"+n.Addr("admin"))}
}

type answer struct {
	status  int
	body    map[string]any
	raw     string
	cookies []*http.Cookie
}

// do sends one call with the headers (a JSON body when body is not nil).
func (c *client) do(method, path string, headers map[string]string, body any) answer {
	c.t.Helper()
	a := c.hc.Do(method, path, body, headers)
	out := answer{status: a.Status, raw: string(a.Body), cookies: a.Cookies}
	if len(a.Body) > 0 && a.Body[0] == '{' {
		_ = json.Unmarshal(a.Body, &out.body)
	}
	return out
}

func (c *client) root(method, path string, body any) answer {
	c.t.Helper()
	return c.do(method, path, map[string]string{"Kong-Admin-Token": rootToken}, body)
}

func (c *client) must(want int, a answer, what string) answer {
	c.t.Helper()
	if a.status != want {
		c.t.Fatalf("%s: %d %s, want %d", what, a.status, a.raw, want)
	}
	return a
}

// basic is an Authorization header for HTTP basic authentication.
var basic = browser.Basic

func withSession(c *http.Cookie, user string) map[string]string {
	return map[string]string{"Cookie": c.Name + "=" + c.Value, "Kong-Admin-User": user}
}

// invite is the training's §10.1: invite (POST /admins), grant a role,
// "Generate link"; it returns the register URL's query.
func (c *client) invite(user, email, role string) url.Values {
	c.t.Helper()
	a := c.must(200, c.root("POST", "/default/admins", map[string]any{"username": user, "email": email}), "invite "+user)
	if a.body["admin"] == nil {
		c.t.Fatalf("invite answer %s", a.raw)
	}
	c.must(201, c.root("POST", "/default/admins/"+user+"/roles", map[string]any{"roles": role}), "grant "+role)
	a = c.must(200, c.root("GET", "/default/admins/"+user+"?generate_register_url=true", nil), "generate link")
	link, _ := a.body["register_url"].(string)
	u, err := url.Parse(link)
	if err != nil || u.Scheme != "http" || u.Host != "localhost:8002" || u.Path != "/register" {
		c.t.Fatalf("register_url %q", link)
	}
	return u.Query()
}

// signUp registers (POST /admins/register with the link's values) and
// signs in (GET /auth); it returns the session cookie.
func (c *client) signUp(q url.Values, pw string) *http.Cookie {
	c.t.Helper()
	user := q.Get("username")
	c.must(201, c.do("POST", "/admins/register", nil, map[string]any{
		"username": user, "email": q.Get("email"), "token": q.Get("token"), "password": pw}), "register "+user)
	a := c.must(200, c.do("GET", "/auth", map[string]string{"Authorization": basic(user, pw), "Kong-Admin-User": user}, nil), "sign in "+user)
	if len(a.cookies) != 1 || a.cookies[0].Name != "session" || !a.cookies[0].HttpOnly || a.cookies[0].Secure ||
		a.cookies[0].SameSite != http.SameSiteStrictMode {
		c.t.Fatalf("sign-in cookies %+v", a.cookies)
	}
	return a.cookies[0]
}

// TestTrainingAdminsWalk is §10 over HTTP on one SQLite node.
func TestTrainingAdminsWalk(t *testing.T) {
	t.Setenv("GATEHOUSE_RBAC_BOOTSTRAP_TOKEN", rootToken)
	n := testnode.Start(t, guiSettings(nil))
	c := newClient(t, n)

	// §10.3: without credentials, Kong's 401.
	if a := c.do("GET", "/routes", nil, nil); a.status != 401 || a.body["message"] != "Invalid credentials. Token or User credentials required" {
		t.Fatalf("no credentials: %d %s", a.status, a.raw)
	}
	c.must(201, c.root("POST", "/services", map[string]any{"name": "crud", "url": "http://127.0.0.1:9"}), "service")
	c.must(201, c.root("POST", "/services/crud/routes", map[string]any{"name": "crud-route", "paths": []string{"/persons"}}), "route")

	alice := c.signUp(c.invite("alice", "alice@example.test", "super-admin"), "alice-pw")
	bob := c.signUp(c.invite("bob", "bob@example.test", "read-only"), "bob-pw")

	// Cookie + Kong-Admin-User: the admin's RBAC decides.
	if a := c.do("GET", "/routes", withSession(alice, "alice"), nil); a.status != 200 || !strings.Contains(a.raw, "crud-route") {
		t.Fatalf("alice GET /routes: %d %s", a.status, a.raw)
	}
	if a := c.do("GET", "/default/routes", withSession(bob, "bob"), nil); a.status != 200 {
		t.Fatalf("bob GET /default/routes: %d %s", a.status, a.raw)
	}
	if a := c.do("POST", "/services", withSession(bob, "bob"), map[string]any{"name": "nope", "url": "http://127.0.0.1:9"}); a.status != 403 ||
		a.body["message"] != "bob, you do not have permissions to create this resource" {
		t.Fatalf("read-only POST: %d %s", a.status, a.raw)
	}
	c.must(201, c.do("POST", "/services", withSession(alice, "alice"), map[string]any{"name": "made-by-alice", "url": "http://127.0.0.1:9"}), "alice POST")

	// /userinfo describes the signed-in admin.
	info := c.must(200, c.do("GET", "/userinfo", withSession(bob, "bob"), nil), "userinfo")
	if adm, _ := info.body["admin"].(map[string]any); adm["username"] != "bob" || adm["status"] != 0.0 {
		t.Fatalf("userinfo admin: %s", info.raw)
	}
	if s, _ := info.body["session"].(map[string]any); s == nil || s["expires_in"].(float64) <= 0 {
		t.Fatalf("userinfo session: %s", info.raw)
	}

	// Refusals: the wrong admin's name, a forged cookie, a portal session.
	if a := c.do("GET", "/routes", withSession(alice, "bob"), nil); a.status != 401 || a.body["message"] != "Unauthorized" {
		t.Fatalf("alice's cookie as bob: %d %s", a.status, a.raw)
	}
	forged := *alice
	forged.Value = strings.Repeat("A", 43) + "." + strings.Repeat("B", 43)
	if a := c.do("GET", "/routes", withSession(&forged, "alice"), nil); a.status != 401 || a.body["message"] != "Unauthorized" {
		t.Fatalf("forged cookie: %d %s", a.status, a.raw)
	}
	// A portal session with the very same configuration and secret.
	sc := config.SessionConf{Secret: "SYS", Storage: "kong"}
	portal, err := session.New(sc, session.AudiencePortal, session.StoreStorage{Store: n.Store()})
	if err != nil {
		t.Fatal(err)
	}
	aliceID := c.root("GET", "/admins/alice", nil).body["id"].(string)
	pc, err := portal.Start(context.Background(), aliceID)
	if err != nil {
		t.Fatal(err)
	}
	if a := c.do("GET", "/routes", withSession(pc, "alice"), nil); a.status != 401 {
		t.Fatalf("portal-audience session opened the Admin API: %d %s", a.status, a.raw)
	}

	// Sign out: the same cookie is refused afterwards.
	out := c.must(200, c.do("DELETE", "/auth?session_logout=true", withSession(alice, "alice"), nil), "sign out")
	if len(out.cookies) != 1 || out.cookies[0].MaxAge >= 0 {
		t.Fatalf("sign-out cookies %+v", out.cookies)
	}
	if a := c.do("GET", "/routes", withSession(alice, "alice"), nil); a.status != 401 || a.body["message"] != "Unauthorized" {
		t.Fatalf("after sign-out: %d %s", a.status, a.raw)
	}
	// bob's session is untouched.
	c.must(200, c.do("GET", "/routes", withSession(bob, "bob"), nil), "bob after alice signed out")
	// The token path still works (§10.3.1).
	c.must(200, c.root("GET", "/routes", nil), "token")

	// The sign-in state is reachable through no generic route, even for
	// the super-admin, and /endpoints lists none.
	bobID := c.root("GET", "/admins/bob", nil).body["id"].(string)
	for _, p := range []string{"/sessions/sessions", "/sessions", "/admins/credentials", "/admins/reset_secrets",
		"/admins/login_attempts", "/admins/admins/" + bobID, "/admins/admins/" + bobID + "/admins/credentials",
		"/rbac/users/kong_admin/admins/admins", "/admin_credentials", "/reset_secrets", "/login_attempts"} {
		if a := c.root("GET", p, nil); a.status != 404 {
			t.Errorf("GET %s: %d %s, want 404", p, a.status, a.raw)
		}
	}
	eps := c.must(200, c.root("GET", "/endpoints", nil), "endpoints")
	for _, e := range eps.body["data"].([]any) {
		if s := e.(string); strings.Contains(s, "session") || strings.Contains(s, "credentials/") && strings.HasPrefix(s, "/admins") ||
			strings.Contains(s, "reset_secrets") || strings.Contains(s, "login_attempts") {
			t.Errorf("/endpoints lists %s", s)
		}
	}
}

// TestBootstrapAdmin: as Kong's KONG_PASSWORD bootstrap, the first
// super-admin kong_admin signs in to Kong Manager with that password.
func TestBootstrapAdmin(t *testing.T) {
	t.Setenv("GATEHOUSE_RBAC_BOOTSTRAP_TOKEN", "")
	t.Setenv("KONG_PASSWORD", "kong")
	n := testnode.Start(t, guiSettings(nil))
	c := newClient(t, n)
	if a := c.do("GET", "/auth", map[string]string{"Authorization": basic("kong_admin", "wrong"), "Kong-Admin-User": "kong_admin"}, nil); a.status != 401 {
		t.Fatalf("wrong password: %d %s", a.status, a.raw)
	}
	a := c.must(200, c.do("GET", "/auth", map[string]string{"Authorization": basic("kong_admin", "kong"), "Kong-Admin-User": "kong_admin"}, nil), "sign in")
	if len(a.cookies) != 1 {
		t.Fatalf("cookies %v", a.cookies)
	}
	c.must(201, c.do("POST", "/services", withSession(a.cookies[0], "kong_admin"), map[string]any{"name": "s", "url": "http://127.0.0.1:9"}), "super-admin write")
	c.must(200, c.do("GET", "/routes", map[string]string{"Kong-Admin-Token": "kong"}, nil), "the token still works")
	if u := c.do("GET", "/userinfo", withSession(a.cookies[0], "kong_admin"), nil); u.status != 200 || u.body["admin"].(map[string]any)["status"] != 0.0 {
		t.Fatalf("userinfo %d %s", u.status, u.raw)
	}
}

// TestConcurrentSessions: many keep-alive clients use their sessions at
// once (run with -race).
func TestConcurrentSessions(t *testing.T) {
	t.Setenv("GATEHOUSE_RBAC_BOOTSTRAP_TOKEN", rootToken)
	n := testnode.Start(t, guiSettings(nil))
	c := newClient(t, n)
	cookie := c.signUp(c.invite("carol", "carol@example.test", "read-only"), "pw")
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				a, err := c.hc.Try("GET", "/services", nil, withSession(cookie, "carol"))
				if err != nil {
					errs <- err.Error()
					return
				}
				if a.Status != 200 {
					errs <- fmt.Sprintf("%d %s", a.Status, a.Body)
					return
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

// TestIdleSessionEnds: a session unused past idling_timeout is refused.
func TestIdleSessionEnds(t *testing.T) {
	t.Setenv("GATEHOUSE_RBAC_BOOTSTRAP_TOKEN", rootToken)
	n := testnode.Start(t, guiSettings(map[string]string{
		"admin_gui_session_conf": `{"secret":"SYS","storage":"kong","cookie_secure":false,"idling_timeout":1}`}))
	c := newClient(t, n)
	cookie := c.signUp(c.invite("dan", "dan@example.test", "read-only"), "pw")
	// No use for longer than the idling timeout: the session has ended,
	// however slow the machine (more time only makes it more idle).
	time.Sleep(1500 * time.Millisecond)
	if a := c.do("GET", "/routes", withSession(cookie, "dan"), nil); a.status != 401 || a.body["message"] != "Unauthorized" {
		t.Fatalf("idle session: %d %s", a.status, a.raw)
	}
}

// TestSessionsAcrossNodesPostgres: two nodes on one Postgres database
// share sessions: a cookie from one works on the other, and signing out
// on one ends it on both.
func TestSessionsAcrossNodesPostgres(t *testing.T) {
	t.Setenv("GATEHOUSE_RBAC_BOOTSTRAP_TOKEN", rootToken)
	pg := testpg.Settings(t)
	n1 := testnode.Start(t, guiSettings(pg))
	n2 := testnode.Start(t, guiSettings(pg))
	c1, c2 := newClient(t, n1), newClient(t, n2)
	q := c1.invite("erin", "erin@example.test", "read-only")
	cookie := c2.signUp(q, "pw") // registered and signed in on node 2
	c1.must(200, c1.do("GET", "/routes", withSession(cookie, "erin"), nil), "node 1 with node 2's cookie")
	c1.must(200, c1.do("DELETE", "/auth", withSession(cookie, "erin"), nil), "sign out on node 1")
	if a := c2.do("GET", "/routes", withSession(cookie, "erin"), nil); a.status != 401 {
		t.Fatalf("node 2 after sign-out on node 1: %d %s", a.status, a.raw)
	}
}
