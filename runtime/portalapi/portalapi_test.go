package portalapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/plugin/catalogtest"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle" // oauth2, key-auth, application-registration
	"github.com/gatehouse/gatehouse/store"
	"github.com/gofiber/fiber/v2"
)

const svcID = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f1"

// testAPI is a portal API on an in-memory store: portal on with
// basic-auth, a service with the application-registration plugin (no
// auto-approve), a spec readable by role dev and a public one.
func testAPI(t *testing.T, wsConfig map[string]any) (*fiber.App, *store.Store) {
	t.Helper()
	return testAPIWith(t, wsConfig, Options{})
}

// testAPIWith is testAPI with options (their Store is the test's).
func testAPIWith(t *testing.T, wsConfig map[string]any, opts Options) (*fiber.App, *store.Store) {
	t.Helper()
	st, _ := catalogtest.OpenStore(t, "bundled")
	ctx := store.WithTypedInput(context.Background())
	cfg := map[string]any{"portal": true, "portal_auth": "basic-auth",
		"portal_session_conf": `{"cookie_name":"portal_session","secret":"s3cret","cookie_secure":false}`}
	for k, v := range wsConfig {
		cfg[k] = v
	}
	must := func(_ map[string]any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.Insert(ctx, "workspaces", map[string]any{"name": "default", "config": cfg}))
	must(st.Insert(ctx, "services", map[string]any{"id": svcID, "name": "crud", "host": "up.test"}))
	must(st.Insert(ctx, "plugins", map[string]any{"name": AppRegistrationPlugin, "service": map[string]any{"id": svcID},
		"config": map[string]any{"display_name": "crud api", "enable_client_credentials": true}}))
	must(st.Insert(ctx, "files", map[string]any{"path": "specs/private.yml",
		"contents": "x-headmatter:\n  readable_by: [dev]\nopenapi: 3.0.0\n"}))
	must(st.Insert(ctx, "files", map[string]any{"path": "specs/public.yml", "contents": "openapi: 3.0.0\n"}))
	must(st.Insert(ctx, "developer_roles", map[string]any{"name": "dev"}))
	opts.Store = st
	return App(opts), st
}

// client calls the app, keeping the session cookie.
type client struct {
	t      *testing.T
	app    *fiber.App
	cookie string
}

func (c *client) call(method, path, body string, header ...string) (int, map[string]any, *http.Response) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if c.cookie != "" {
		req.Header.Set("Cookie", c.cookie)
	}
	res, err := c.app.Test(req, -1)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	for _, ck := range res.Cookies() {
		if ck.Name == "portal_session" {
			c.cookie = ck.Name + "=" + ck.Value
		}
	}
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return res.StatusCode, m, res
}

// routeCase is one call of a route table: the caller, the request, the
// status wanted and, when not "", the message; check (optional) looks
// further at the answer.
type routeCase struct {
	name               string
	c                  *client
	method, path, body string
	header             []string // name, value, ...
	status             int
	message            string
	check              func(t *testing.T, body map[string]any)
}

// runRoutes runs a route table in order (later calls see the earlier
// ones' effects), each as a subtest.
func runRoutes(t *testing.T, cases []routeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := *tc.c // the caller's cookie is kept below
			c.t = t
			status, body, _ := c.call(tc.method, tc.path, tc.body, tc.header...)
			tc.c.cookie = c.cookie
			if status != tc.status {
				t.Fatalf("%s %s: %d %v, want %d", tc.method, tc.path, status, body, tc.status)
			}
			if tc.message != "" && body["message"] != tc.message {
				t.Fatalf("message %v, want %q", body["message"], tc.message)
			}
			if tc.check != nil {
				tc.check(t, body)
			}
		})
	}
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// signedUp registers and (with approve) approves a developer, then signs in.
func signedUp(t *testing.T, app *fiber.App, st *store.Store, email string, roles ...string) *client {
	t.Helper()
	c := &client{t: t, app: app}
	status, body, _ := c.call("POST", "/register", `{"email":"`+email+`","password":"pw-123456","meta":"{\"full_name\":\"A\"}"}`)
	if status != 200 {
		t.Fatalf("register: %d %v", status, body)
	}
	in := map[string]any{"status": 0}
	if len(roles) > 0 {
		l := []any{}
		for _, r := range roles {
			l = append(l, r)
		}
		in["roles"] = l
	}
	if _, err := st.Update(store.WithTypedInput(context.Background()), "developers", email, in); err != nil {
		t.Fatal(err)
	}
	if status, body, _ := c.call("GET", "/auth", "", "Authorization", basic(email, "pw-123456")); status != 200 {
		t.Fatalf("sign-in: %d %v", status, body)
	}
	return c
}

func TestSignIn(t *testing.T) {
	app, st := testAPI(t, nil)
	anon := &client{t: t, app: app}
	if s, b, _ := anon.call("POST", "/register", `{"email":"a@x.test","password":"pw-123456","meta":"{\"full_name\":\"A\"}"}`); s != 200 ||
		b["developer"].(map[string]any)["status"] != 1.0 || b["developer"].(map[string]any)["password"] != nil {
		t.Fatalf("register: %d %v", s, b)
	}
	tests := []struct {
		name, auth string
		status     int
		message    string
	}{
		{"no header", "", 401, "Unauthorized"},
		{"not basic", "Bearer x", 401, "Unauthorized"},
		{"bad base64", "Basic !!!", 401, "Unauthorized"},
		{"unknown email", basic("b@x.test", "pw-123456"), 401, "Invalid authentication credentials"},
		{"wrong password", basic("a@x.test", "nope"), 401, "Invalid authentication credentials"},
		{"pending", basic("a@x.test", "pw-123456"), 401, "Unauthorized: Developer status: PENDING"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &client{t: t, app: app}
			var h []string
			if tc.auth != "" {
				h = []string{"Authorization", tc.auth}
			}
			s, b, res := c.call("GET", "/auth", "", h...)
			if s != tc.status || b["message"] != tc.message || res.Header.Get("Set-Cookie") != "" {
				t.Fatalf("%d %v (cookie %q)", s, b, res.Header.Get("Set-Cookie"))
			}
		})
	}
	c := signedUp(t, app, st, "c@x.test")
	if s, b, _ := c.call("GET", "/default/developer", ""); s != 200 || b["email"] != "c@x.test" || b["password"] != nil {
		t.Fatalf("developer: %d %v", s, b)
	}
	// A forged cookie is no session.
	forged := &client{t: t, app: app, cookie: c.cookie[:len(c.cookie)-2] + "AA"}
	if s, _, _ := forged.call("GET", "/developer", ""); s != 401 {
		t.Fatalf("forged cookie: %d", s)
	}
	// Revoking the developer ends its access at once.
	if _, err := st.Update(store.WithTypedInput(context.Background()), "developers", "c@x.test", map[string]any{"status": 3}); err != nil {
		t.Fatal(err)
	}
	if s, b, _ := c.call("GET", "/developer", ""); s != 401 || b["message"] != "Unauthorized: Developer status: REVOKED" {
		t.Fatalf("revoked: %d %v", s, b)
	}
	if _, err := st.Update(store.WithTypedInput(context.Background()), "developers", "c@x.test", map[string]any{"status": 0}); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := c.call("DELETE", "/auth?session_logout=true", ""); s != 200 {
		t.Fatalf("sign-out: %d", s)
	}
	if s, _, _ := c.call("GET", "/developer", ""); s != 401 {
		t.Fatalf("after sign-out: %d", s)
	}
}

func TestRegister(t *testing.T) {
	tests := []struct {
		name, body string
		ws         map[string]any
		status     int
		devStatus  float64
	}{
		{"pending", `{"email":"a@x.test","password":"p","meta":"{\"full_name\":\"A\"}"}`, nil, 200, 1},
		{"auto approve", `{"email":"a@x.test","password":"p","meta":"{\"full_name\":\"A\"}"}`, map[string]any{"portal_auto_approve": true}, 200, 0},
		{"meta object", `{"email":"a@x.test","password":"p","meta":{"full_name":"A"}}`, nil, 200, 1},
		{"status refused", `{"email":"a@x.test","password":"p","status":0,"meta":"{\"full_name\":\"A\"}"}`, nil, 400, 0},
		{"no full_name", `{"email":"a@x.test","password":"p","meta":"{}"}`, nil, 400, 0},
		{"no password", `{"email":"a@x.test","meta":"{\"full_name\":\"A\"}"}`, nil, 400, 0},
		{"no email", `{"password":"p","meta":"{\"full_name\":\"A\"}"}`, nil, 400, 0},
		{"bad json", `{"email":`, nil, 400, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			app, _ := testAPI(t, tc.ws)
			c := &client{t: t, app: app}
			s, b, _ := c.call("POST", "/register", tc.body)
			if s != tc.status {
				t.Fatalf("%d %v", s, b)
			}
			if s == 200 && b["developer"].(map[string]any)["status"] != tc.devStatus {
				t.Fatalf("status %v", b)
			}
			if s == 200 {
				if s2, _, _ := c.call("POST", "/register", tc.body); s2 != 409 {
					t.Fatalf("duplicate: %d", s2)
				}
			}
		})
	}
}

func TestPortalOff(t *testing.T) {
	app, _ := testAPI(t, map[string]any{"portal": false})
	c := &client{t: t, app: app}
	for _, p := range []string{"/files", "/default/register", "/auth", "/applications"} {
		if s, b, _ := c.call("GET", p, ""); s != 404 || b["message"] != "Not Found" {
			t.Fatalf("%s: %d %v", p, s, b)
		}
	}
}

func TestFilesReadableBy(t *testing.T) {
	app, st := testAPI(t, nil)
	paths := func(c *client) []string {
		t.Helper()
		s, b, _ := c.call("GET", "/files", "")
		if s != 200 {
			t.Fatalf("files: %d %v", s, b)
		}
		var out []string
		for _, f := range b["data"].([]any) {
			out = append(out, f.(map[string]any)["path"].(string))
		}
		sort.Strings(out)
		return out
	}
	tests := []struct {
		name    string
		client  func() *client
		want    []string
		private int
	}{
		{"anonymous", func() *client { return &client{t: t, app: app} }, []string{"specs/public.yml"}, 404},
		{"developer without the role", func() *client { return signedUp(t, app, st, "norole@x.test") }, []string{"specs/public.yml"}, 404},
		{"developer with dev", func() *client { return signedUp(t, app, st, "dev@x.test", "dev") },
			[]string{"specs/private.yml", "specs/public.yml"}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.client()
			got := paths(c)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("files %v, want %v", got, tc.want)
			}
			if s, _, _ := c.call("GET", "/files/specs/private.yml", ""); s != tc.private {
				t.Fatalf("private spec: %d, want %d", s, tc.private)
			}
		})
	}
}

func TestApplications(t *testing.T) {
	app, st := testAPI(t, nil)
	ann := signedUp(t, app, st, "ann@x.test")
	bob := signedUp(t, app, st, "bob@x.test")
	s, a, _ := ann.call("POST", "/applications", `{"name":"app ","redirect_uri":"http://cb.test/"}`)
	if s != 200 || a["name"] != "app" {
		t.Fatalf("create: %d %v", s, a)
	}
	id := a["id"].(string)
	runRoutes(t, []routeCase{
		{name: "no redirect_uri", c: ann, method: "POST", path: "/applications", body: `{"name":"x"}`, status: 400},
		{name: "no name", c: ann, method: "POST", path: "/applications", body: `{"redirect_uri":"http://cb.test/"}`, status: 400},
		{name: "duplicate name", c: ann, method: "POST", path: "/applications", body: `{"name":"app","redirect_uri":"http://cb.test/"}`, status: 409},
		{name: "same name, other developer", c: bob, method: "POST", path: "/applications", body: `{"name":"app","redirect_uri":"http://cb.test/"}`, status: 200},
		{name: "own app", c: ann, method: "GET", path: "/applications/" + id, body: "", status: 200},
		{name: "other's app", c: bob, method: "GET", path: "/applications/" + id, body: "", status: 404},
		{name: "other's app credentials", c: bob, method: "GET", path: "/applications/" + id + "/credentials", body: "", status: 404},
		{name: "register without service", c: ann, method: "POST", path: "/applications/" + id + "/application_instances", body: `{}`, status: 400},
		{name: "register unknown service", c: ann, method: "POST", path: "/applications/" + id + "/application_instances", body: `{"service":{"id":"0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0"}}`, status: 404},
		{name: "register", c: ann, method: "POST", path: "/applications/" + id + "/application_instances", body: `{"service":{"id":"` + svcID + `"},"status":0}`, status: 201},
		{name: "register twice", c: ann, method: "POST", path: "/applications/" + id + "/application_instances", body: `{"service":{"id":"` + svcID + `"}}`, status: 409},
		{name: "other registers it", c: bob, method: "POST", path: "/applications/" + id + "/application_instances", body: `{"service":{"id":"` + svcID + `"}}`, status: 404},
		{name: "anonymous", c: &client{t: t, app: app}, method: "GET", path: "/applications", body: "", status: 401},
	})
	// The registration is pending: the plugin does not auto-approve, and
	// the body's status is ignored.
	s, l, _ := ann.call("GET", "/applications/"+id+"/application_instances", "")
	if s != 200 || len(l["data"].([]any)) != 1 || l["data"].([]any)[0].(map[string]any)["status"] != 1.0 {
		t.Fatalf("instances: %d %v", s, l)
	}
	// Credentials: one oauth2 credential with id and secret, on the
	// app's consumer, and its key-auth key.
	s, cr, _ := ann.call("GET", "/applications/"+id+"/credentials", "")
	creds, _ := cr["data"].([]any)
	if s != 200 || len(creds) != 1 || creds[0].(map[string]any)["client_secret"] == nil {
		t.Fatalf("credentials: %d %v", s, cr)
	}
	cid := creds[0].(map[string]any)["client_id"].(string)
	if k, err := st.FindUnique(context.Background(), "keyauth_credentials", "key", cid); err != nil ||
		store.ForeignID(k["consumer"]) != store.ForeignID(a["consumer"]) {
		t.Fatalf("key-auth key: %v %v", k, err)
	}
	// application_services with the app's instance.
	s, svcs, _ := ann.call("GET", "/application_services?app_id="+id, "")
	rows, _ := svcs["data"].([]any)
	if s != 200 || len(rows) != 1 || rows[0].(map[string]any)["name"] != "crud api" || rows[0].(map[string]any)["instance"] == nil {
		t.Fatalf("application_services: %d %v", s, svcs)
	}
	if s, _, _ := bob.call("GET", "/application_services?app_id="+id, ""); s != 404 {
		t.Fatalf("other's app_id: %d", s)
	}
	// Renaming it renames its consumer and its credential; the new
	// redirect_uri follows into the credential.
	runRoutes(t, []routeCase{
		{name: "rename", c: ann, method: "PATCH", path: "/applications/" + id, body: `{"name":"renamed","redirect_uri":"http://new.test/cb"}`, status: 200},
		{name: "other's", c: bob, method: "PATCH", path: "/applications/" + id, body: `{"name":"x"}`, status: 404},
		{name: "empty name", c: ann, method: "PATCH", path: "/applications/" + id, body: `{"name":" "}`, status: 400},
		{name: "name not a string", c: ann, method: "PATCH", path: "/applications/" + id, body: `{"name":5}`, status: 400},
		{name: "redirect_uri removed", c: ann, method: "PATCH", path: "/applications/" + id, body: `{"redirect_uri":null}`, status: 400},
	})
	s, cr, _ = ann.call("GET", "/applications/"+id+"/credentials", "")
	c0 := cr["data"].([]any)[0].(map[string]any)
	if s != 200 || c0["name"] != "renamed" || c0["redirect_uris"].([]any)[0] != "http://new.test/cb" {
		t.Fatalf("credential after rename: %d %v", s, cr)
	}
	if cons, err := st.Get(context.Background(), "consumers", store.ForeignID(a["consumer"])); err != nil ||
		!strings.HasSuffix(cons["username"].(string), "_renamed") {
		t.Fatalf("consumer after rename: %v %v", cons, err)
	}
	// Deleting the app deletes its consumer, credentials, registrations.
	if s, _, _ := ann.call("DELETE", "/applications/"+id, ""); s != 204 {
		t.Fatalf("delete: %d", s)
	}
	for _, e := range []struct{ entity, key string }{{"consumers", store.ForeignID(a["consumer"])}, {"oauth2_credentials", cid}} {
		if _, err := st.Get(context.Background(), e.entity, e.key); !store.IsNotFound(err) {
			t.Fatalf("%s %s left: %v", e.entity, e.key, err)
		}
	}
	if s, l, _ := ann.call("GET", "/applications", ""); s != 200 || len(l["data"].([]any)) != 0 {
		t.Fatalf("after delete: %d %v", s, l)
	}
}

func TestCORSAndPrefix(t *testing.T) {
	app, _ := testAPI(t, map[string]any{"portal_cors_origins": []any{"http://portal.test:8003"}})
	c := &client{t: t, app: app}
	tests := []struct{ origin, want string }{
		{"http://portal.test:8003", "http://portal.test:8003"},
		{"http://evil.test", "http://portal.test:8003"},
	}
	for _, tc := range tests {
		_, _, res := c.call("GET", "/default/developer/meta_fields", "", "Origin", tc.origin)
		if res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != tc.want ||
			res.Header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Fatalf("%s: %d %v", tc.origin, res.StatusCode, res.Header)
		}
	}
	if s, b, _ := c.call("GET", "/nowhere", ""); s != 404 || b["message"] != "Not found" {
		t.Fatalf("unknown route: %d %v", s, b)
	}
	if s, _, _ := c.call("GET", "/defaults/files", ""); s != 404 {
		t.Fatalf("/defaults: %d", s)
	}
}

// FuzzBasicCredentials: any Authorization header parses or is refused,
// never panics; what parses has a user.
func FuzzBasicCredentials(f *testing.F) {
	f.Add(basic("a@x.test", "pw"))
	f.Add("Basic ")
	f.Add("basic " + base64.StdEncoding.EncodeToString([]byte(":x")))
	f.Add("Bearer abc")
	f.Fuzz(func(t *testing.T, h string) {
		user, _, ok := basicCredentials(h)
		if ok && user == "" {
			t.Fatalf("%q parsed with an empty user", h)
		}
	})
}

// FuzzSessionCookie: a cookie value opens a session only when it is the
// one Start issued; a portal_session_conf of any shape gives a working
// configuration (storage kong, a cookie name, a secret).
func FuzzSessionCookie(f *testing.F) {
	s := newSessions(nil)
	m, err := s.manager(`{"secret":"k","cookie_name":"portal_session"}`)
	if err != nil {
		f.Fatal(err)
	}
	cookie, err := m.Start(context.Background(), "dev-1")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(cookie.Value, `{"secret":"k"}`)
	f.Add(cookie.Value+"x", `{"cookie_name":5}`)
	f.Add("abc.def", "")
	f.Add(".", `[1,2]`)
	f.Fuzz(func(t *testing.T, value, conf string) {
		sc := s.portalSessionConf(conf)
		if sc.Storage != "kong" || sc.CookieName == "" || sc.Secret == "" {
			t.Fatalf("%q: %+v", conf, sc)
		}
		sess, ok, err := m.Load(context.Background(), value)
		if err != nil {
			t.Fatal(err)
		}
		if ok != (value == cookie.Value) || ok && sess.Subject != "dev-1" {
			t.Fatalf("%q opened %v (%+v)", value, ok, sess)
		}
	})
}

// TestHandlerPanic: a handler's panic answers 500 with Kong's message,
// and the API keeps serving.
func TestHandlerPanic(t *testing.T) {
	app, _ := testAPI(t, nil)
	app.Get("/boom", func(*fiber.Ctx) error { panic("boom") })
	c := &client{t: t, app: app}
	if s, b, _ := c.call("GET", "/boom", ""); s != 500 || b["message"] != msgUnexpected {
		t.Fatalf("panic: %d %v", s, b)
	}
	if s, _, _ := c.call("GET", "/developer/meta_fields", ""); s != 200 {
		t.Fatalf("after the panic: %d", s)
	}
}
