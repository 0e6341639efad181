package portalapi

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/conformance/testpg"
	"github.com/gatehouse/gatehouse/runtime/app"
)

// The §9.3 flow of the training end to end, over real HTTP on a real
// node: the training's application-registration call on service crud, a
// developer signing up on the portal API, approved by an administrator,
// signing in, creating an application, registering it to the service,
// reading its client_id/client_secret, getting a token with the
// training's client_credentials call on the TLS proxy listener and
// calling the API with it; an application not approved for a service is
// refused with 403, a revoked one too.

// portalSessionConf is the training's §9.1 portal session configuration.
const portalSessionConf = `{"cookie_secure":false,"cookie_name":"portal_session","secret":"SYS","storage":"kong"}`

// appWalk drives one node through the application flow.
type appWalk struct {
	*walk
	proxy  string       // https://127.0.0.1:port of the TLS proxy listener
	plain  string       // http://127.0.0.1:port of the plain proxy listener
	portal string       // http://127.0.0.1:port of the portal API
	dev    *http.Client // the developer's browser: a cookie jar
	tls    *http.Client // an insecure TLS client, as curl --insecure
}

func newAppWalk(t *testing.T, settings map[string]string) *appWalk {
	return newAppWalkWith(t, settings, app.Options{})
}

// newAppWalkWith is newAppWalk with node options (a logger whose output
// the test reads).
func newAppWalkWith(t *testing.T, settings map[string]string, opts app.Options) *appWalk {
	all := map[string]string{
		"proxy_listen": "127.0.0.1:0, 127.0.0.1:0 ssl", "portal": "on",
		"portal_api_listen": "127.0.0.1:0", "portal_gui_listen": "off",
	}
	for k, v := range settings {
		all[k] = v
	}
	n := testnode.StartWith(t, all, opts)
	w := newWalk(t, all)
	w.load("testdata/appreg.txt")
	w.attach(n)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	devTr := &http.Transport{MaxIdleConnsPerHost: 2}
	tlsTr := &http.Transport{MaxIdleConnsPerHost: 2, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	t.Cleanup(devTr.CloseIdleConnections)
	t.Cleanup(tlsTr.CloseIdleConnections)
	return &appWalk{
		walk:   w,
		proxy:  "https://" + n.Addr("proxy_ssl"),
		plain:  "http://" + n.Addr("proxy"),
		portal: "http://" + n.Addr("portal_api"),
		dev:    &http.Client{Jar: jar, Transport: devTr, Timeout: 30 * time.Second},
		tls:    &http.Client{Transport: tlsTr, Timeout: 30 * time.Second},
	}
}

// portalCall is a call of the developer's browser to the portal API,
// under /default as the portal GUI sends it.
func (w *appWalk) portalCall(method, path string, body any) answer {
	w.t.Helper()
	return w.send(w.dev, method, w.portal+"/default"+path, body, nil)
}

// command runs a command of testdata/appreg.txt with curl, the training's
// host names pointing at the node (--connect-to) and its values (the
// training instance's client_id, client_secret, token) replaced by repl.
func (w *appWalk) command(name string, repl ...string) answer {
	w.t.Helper()
	text, ok := w.cmds[name]
	if !ok {
		w.t.Fatalf("no command %q in the testdata files", name)
	}
	text = strings.NewReplacer(repl...).Replace(text)
	return w.curl(text)
}

// tokenAnswer is a token endpoint's answer, with a 200 that carries no
// access_token (the upstream's: the route reached the proxy before its
// plugin did) turned into a status eventually keeps waiting through.
func tokenAnswer(a answer) answer {
	if a.status == http.StatusOK && !bytes.Contains(a.body, []byte(`"access_token"`)) {
		a.status = 0
	}
	return a
}

func (w *appWalk) run() {
	t := w.t
	upstream := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(map[string]any{"path": r.URL.Path,
			"consumer": r.Header.Get("X-Consumer-Username"), "groups": r.Header.Get("X-Consumer-Groups")})
	}))
	t.Cleanup(upstream.Close)

	// The training's service and route (§4); the route's path is Kong
	// 3's plain prefix /persons: the training's `/persons/*` is a Kong 2
	// regex that Kong 3 (and Gatehouse) store as a literal prefix.
	svc := w.want("service", w.do("POST", "/services", "", map[string]any{"name": "crud", "url": upstream.URL + "/crud/"}), 201)
	svcID := svc["id"].(string)
	w.want("route", w.do("POST", "/services/crud/routes", "", map[string]any{"name": "crud-route",
		"paths": []string{"/persons"}, "strip_path": false}), 201)

	// §9.3.2, exactly as written.
	pl := w.want("app-registration", w.command("app-registration"), 201)
	cfg, _ := pl["config"].(map[string]any)
	if pl["name"] != "application-registration" || cfg["auto_approve"] != true || cfg["display_name"] != "auth" ||
		cfg["enable_client_credentials"] != true || cfg["auth_header_name"] != "authorization" ||
		cfg["token_expiration"] != 7200.0 || cfg["provision_key"] == nil {
		t.Fatalf("app-registration: %v", pl)
	}

	// §8.2 and §9.1: the portal on, with basic-auth and the training's
	// session configuration (Kong Manager's portal settings).
	w.want("portal settings", w.do("PATCH", "/default/workspaces/default", "", map[string]any{"config": map[string]any{
		"portal": true, "portal_auth": "basic-auth", "portal_session_conf": portalSessionConf}}), 200)

	// §9.2.3: the developer registers on the portal: pending.
	reg := w.want("register", w.portalCall("POST", "/register", map[string]any{
		"email": "dev@example.test", "password": "dev-password", "meta": `{"full_name":"Dev Eloper"}`}), 200)
	dev, _ := reg["developer"].(map[string]any)
	if dev["status"] != 1.0 || dev["password"] != nil || dev["email"] != "dev@example.test" {
		t.Fatalf("register: %v", reg)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("dev@example.test:dev-password"))
	if m := w.want("pending sign-in", w.send(w.dev, "GET", w.portal+"/default/auth", nil,
		map[string]string{"Authorization": basic}), 401); m["message"] != "Unauthorized: Developer status: PENDING" {
		t.Fatalf("pending sign-in: %v", m)
	}
	// An administrator approves the developer.
	w.want("approve", w.do("PATCH", "/default/developers/dev@example.test", "", map[string]any{"status": 0}), 200)
	// A wrong password: refused, no cookie.
	bad := w.send(w.dev, "GET", w.portal+"/default/auth", nil,
		map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("dev@example.test:nope"))})
	if m := w.want("wrong password", bad, 401); m["message"] != "Invalid authentication credentials" {
		t.Fatalf("wrong password: %v", m)
	}
	w.want("developer before sign-in", w.portalCall("GET", "/developer", nil), 401)
	// Sign-in: the portal_session cookie.
	w.want("sign-in", w.send(w.dev, "GET", w.portal+"/default/auth", nil, map[string]string{"Authorization": basic}), 200)
	me := w.want("developer", w.portalCall("GET", "/developer", nil), 200)
	if me["email"] != "dev@example.test" || me["status"] != 0.0 {
		t.Fatalf("developer: %v", me)
	}

	// "Test it": the developer creates an application.
	app := w.want("create application", w.portalCall("POST", "/applications", map[string]any{
		"name": "my-app", "redirect_uri": "http://localhost:8003/callback"}), 200)
	appID := app["id"].(string)
	if app["name"] != "my-app" || app["developer"].(map[string]any)["id"] != me["id"] || app["consumer"] == nil {
		t.Fatalf("create application: %v", app)
	}
	w.want("duplicate application", w.portalCall("POST", "/applications", map[string]any{
		"name": "my-app", "redirect_uri": "http://localhost:8003/callback"}), 409)
	// The catalogue of services the application can register to, each
	// with the portal route of its spec (§8.3's file, §9.3.3's link).
	w.want("spec", w.do("POST", "/default/files", "", map[string]any{"path": "specs/iam-training.yml",
		"contents": "openapi: 3.0.0\ninfo:\n  title: IAM training\n"}), 201)
	w.want("document object", w.do("POST", "/default/document_objects", "", map[string]any{
		"service": map[string]any{"id": svcID}, "path": "specs/iam-training.yml"}), 201)
	svcs := w.want("application services", w.portalCall("GET", "/application_services?app_id="+appID, nil), 200)
	if data, _ := svcs["data"].([]any); len(data) != 1 || data[0].(map[string]any)["id"] != svcID ||
		data[0].(map[string]any)["name"] != "auth" || data[0].(map[string]any)["instance"] != nil ||
		data[0].(map[string]any)["document_route"] != "/documentation/iam-training" {
		t.Fatalf("application services: %v", svcs)
	}
	for _, q := range []struct {
		query string
		rows  int
	}{{"&status=-1", 1}, {"&status=0", 0}, {"&name=AUT", 1}, {"&name=nope", 0}, {"&status=x", 0}} {
		l := w.want("application services"+q.query, w.portalCall("GET", "/application_services?app_id="+appID+q.query, nil), 200)
		if data, _ := l["data"].([]any); len(data) != q.rows {
			t.Fatalf("application services%s: %v", q.query, l)
		}
	}
	// Register it to the crud service: approved at once (auto_approve).
	inst := w.want("register to crud", w.portalCall("POST", "/applications/"+appID+"/application_instances",
		map[string]any{"service": map[string]any{"id": svcID}}), 201)
	if inst["status"] != 0.0 || inst["suspended"] != false || inst["composite_id"] != appID+"_"+svcID {
		t.Fatalf("register to crud: %v", inst)
	}
	w.want("register twice", w.portalCall("POST", "/applications/"+appID+"/application_instances",
		map[string]any{"service": map[string]any{"id": svcID}}), 409)
	if l := w.want("approved services", w.portalCall("GET", "/application_services?status=0&app_id="+appID, nil), 200); len(l["data"].([]any)) != 1 {
		t.Fatalf("approved services: %v", l)
	}
	// Its credentials: client_id and client_secret.
	creds := w.want("credentials", w.portalCall("GET", "/applications/"+appID+"/credentials", nil), 200)
	data, _ := creds["data"].([]any)
	if len(data) != 1 {
		t.Fatalf("credentials: %v", creds)
	}
	clientID, _ := data[0].(map[string]any)["client_id"].(string)
	secret, _ := data[0].(map[string]any)["client_secret"].(string)
	if clientID == "" || secret == "" {
		t.Fatalf("credentials: %v", creds)
	}

	// Get a token with the training's call on the TLS listener.
	tokenRepl := []string{"2TXNvDqjeVMHydJbjv9t96lWTXOKAtU8", clientID, "V6Vma6AtIvl04UYssz6gAxPc92eCF4KR", secret}
	// (The proxy applies configuration changes asynchronously: the first
	// calls through a new route or plugin poll until it serves them.)
	tok := w.eventually("get-token", func() answer { return tokenAnswer(w.command("get-token", tokenRepl...)) }, 200).json(t)
	access, _ := tok["access_token"].(string)
	if access == "" || tok["token_type"] != "bearer" || tok["expires_in"] != 7200.0 {
		t.Fatalf("get-token: %v", tok)
	}
	// The token endpoint needs HTTPS.
	w.want("token over http", w.send(w.tls, "POST", w.plain+"/persons/oauth2/token",
		"grant_type=client_credentials&client_id="+clientID+"&client_secret="+secret, nil), 400)
	// A wrong secret gets no token.
	w.want("token with a wrong secret", w.send(w.tls, "POST", w.proxy+"/persons/oauth2/token",
		"grant_type=client_credentials&client_id="+clientID+"&client_secret=wrong", nil), 400)

	// Use the token: the training's call, proxied.
	used := w.want("use-token", w.command("use-token", "u5guWaYR3BjZ1KdwuBSC6C7udCYxj5vK", access), 200)
	if used["path"] != "/crud/persons/all" || used["groups"] != svcID || used["consumer"] != me["id"].(string)+"_my-app" {
		t.Fatalf("use-token: %v", used)
	}
	// Without a token, with a wrong one: 401.
	w.want("no token", w.send(w.tls, "GET", w.proxy+"/persons/all", nil, nil), 401)
	w.want("wrong token", w.send(w.tls, "GET", w.proxy+"/persons/all", nil, map[string]string{"Authorization": "Bearer nope"}), 401)

	// An application not approved for a service: a second service whose
	// plugin does not auto-approve.
	other := w.want("service other", w.do("POST", "/services", "", map[string]any{"name": "other", "url": upstream.URL}), 201)
	otherID := other["id"].(string)
	w.want("route other", w.do("POST", "/services/other/routes", "", map[string]any{"name": "other-route", "paths": []string{"/other"}}), 201)
	w.want("other plugin", w.do("POST", "/services/other/plugins", "", map[string]any{"name": "application-registration",
		"config": map[string]any{"display_name": "other", "enable_client_credentials": true}}), 201)
	pending := w.want("register to other", w.portalCall("POST", "/applications/"+appID+"/application_instances",
		map[string]any{"service": map[string]any{"id": otherID}}), 201)
	if pending["status"] != 1.0 {
		t.Fatalf("register to other: %v", pending)
	}
	// Registered but not approved: a token is issued, the API refuses it.
	otherTok := w.eventually("token for other", func() answer {
		return tokenAnswer(w.send(w.tls, "POST", w.proxy+"/other/oauth2/token",
			"grant_type=client_credentials&client_id="+clientID+"&client_secret="+secret, nil))
	}, 200).json(t)
	otherAccess := otherTok["access_token"].(string)
	callOther := func() answer {
		return w.send(w.tls, "GET", w.proxy+"/other/x", nil, map[string]string{"Authorization": "Bearer " + otherAccess})
	}
	if m := w.want("unapproved", callOther(), 403); m["message"] != "You cannot consume this service" {
		t.Fatalf("unapproved: %v", m)
	}
	// The crud token is bound to crud: refused on other.
	w.want("crud token on other", w.send(w.tls, "GET", w.proxy+"/other/x", nil, map[string]string{"Authorization": "Bearer " + access}), 401)
	// An administrator approves the registration: the API lets it through.
	instID := pending["id"].(string)
	w.want("admin approves", w.do("PATCH", "/default/applications/"+appID+"/application_instances/"+instID, "",
		map[string]any{"status": 0}), 200)
	w.eventually("approved", callOther, 200)
	// The admin's view: the service's registrations and applications.
	l := w.want("service instances", w.do("GET", "/default/services/other/application_instances", "", nil), 200)
	if d, _ := l["data"].([]any); len(d) != 1 || d[0].(map[string]any)["id"] != instID {
		t.Fatalf("service instances: %v", l)
	}
	sa := w.want("service applications", w.do("GET", "/default/services/other/applications", "", nil), 200)
	if d, _ := sa["data"].([]any); len(d) != 1 || d[0].(map[string]any)["id"] != appID {
		t.Fatalf("service applications: %v", sa)
	}
	da := w.want("developer applications", w.do("GET", "/default/developers/dev@example.test/applications", "", nil), 200)
	if d, _ := da["data"].([]any); len(d) != 1 || d[0].(map[string]any)["id"] != appID {
		t.Fatalf("developer applications: %v", da)
	}
	// The developer's record (and password hash) is not reachable
	// through the application's foreign key.
	w.want("developer through the application", w.do("GET", "/default/applications/"+appID+"/developer", "", nil), 404)
	// Revoked: refused again.
	w.want("admin revokes", w.do("PATCH", "/default/services/other/application_instances/"+instID, "",
		map[string]any{"status": 3}), 200)
	if m := w.eventually("revoked", callOther, 403).json(t); m["message"] != "You cannot consume this service" {
		t.Fatalf("revoked: %v", m)
	}
	// crud is untouched.
	w.want("crud still served", w.command("use-token", "u5guWaYR3BjZ1KdwuBSC6C7udCYxj5vK", access), 200)
	// Revoking the developer suspends their registrations; approving
	// them again resumes them.
	useCrud := func() answer { return w.command("use-token", "u5guWaYR3BjZ1KdwuBSC6C7udCYxj5vK", access) }
	w.want("revoke the developer", w.do("PATCH", "/default/developers/dev@example.test", "", map[string]any{"status": 3}), 200)
	w.eventually("developer revoked", useCrud, 403)
	if m := w.want("revoked developer's portal", w.portalCall("GET", "/developer", nil), 401); m["message"] != "Unauthorized: Developer status: REVOKED" {
		t.Fatalf("revoked developer's portal: %v", m)
	}
	w.want("approve the developer again", w.do("PATCH", "/default/developers/dev@example.test", "", map[string]any{"status": 0}), 200)
	w.eventually("developer approved again", useCrud, 200)

	// Another developer cannot see the application.
	w.want("other developer", w.do("POST", "/default/developers", "", map[string]any{
		"email": "eve@example.test", "password": "eve-password", "meta": `{"full_name":"Eve"}`, "status": 0}), 201)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	eve := &http.Client{Jar: jar, Transport: w.dev.Transport, Timeout: 30 * time.Second}
	w.want("eve signs in", w.send(eve, "GET", w.portal+"/auth", nil, map[string]string{
		"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("eve@example.test:eve-password"))}), 200)
	w.want("eve reads the app", w.send(eve, "GET", w.portal+"/applications/"+appID, nil, nil), 404)
	w.want("eve deletes the app", w.send(eve, "DELETE", w.portal+"/applications/"+appID, nil, nil), 404)
	if l := w.want("eve's apps", w.send(eve, "GET", w.portal+"/applications", nil, nil), 200); len(l["data"].([]any)) != 0 {
		t.Fatalf("eve's apps: %v", l)
	}

	// The developer deletes the application: its token stops working.
	w.want("delete application", w.portalCall("DELETE", "/applications/"+appID, nil), 204)
	w.eventually("deleted application", func() answer {
		return w.command("use-token", "u5guWaYR3BjZ1KdwuBSC6C7udCYxj5vK", access)
	}, 401)
	// Sign-out: the session is gone.
	w.want("sign-out", w.portalCall("DELETE", "/auth?session_logout=true", nil), 200)
	w.want("developer after sign-out", w.portalCall("GET", "/developer", nil), 401)
}

// TestApplicationFlowSQLite runs §9.3 on SQLite.
func TestApplicationFlowSQLite(t *testing.T) {
	needCurl(t)
	newAppWalk(t, map[string]string{"prefix": t.TempDir()}).run()
}

// TestApplicationFlowPostgres runs §9.3 on Postgres.
func TestApplicationFlowPostgres(t *testing.T) {
	needCurl(t)
	newAppWalk(t, testpg.Settings(t)).run()
}
