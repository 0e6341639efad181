package portalgui_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/conformance/browser"
)

const (
	specPath  = "specs/iam-training.yml"
	specTitle = "InterSystems IRIS REST CRUD demo"
	devEmail  = "dev@example.test"
	devPass   = "dev-password-1"
	// portalSessionConf is the training's §9.1 portal session
	// configuration.
	portalSessionConf = `{"cookie_secure":false,"cookie_name":"portal_session","secret":"SYS","storage":"kong"}`
	// allPersons is the spec's GET /persons/all operation in Swagger UI.
	allPersons = `#operations-default-GetAllPersons`
)

// admin is the administrator's side of §8–§10, one method a step, in
// the order the walk takes them. apiAdmin sends the training's Admin API
// calls over HTTP; guiAdmin (both_test.go) does the same in Kong
// Manager's pages.
type admin interface {
	// enablePortal is §8.2: the portal on for the default workspace.
	enablePortal()
	// publishSpec is §8.3: the spec (with the test's proxy as host) in
	// the portal's files.
	publishSpec(contents string)
	// addCORS is §8.5.1: the cors plugin on route crud-route.
	addCORS()
	// enableBasicAuth is §9.1: portal_auth basic-auth with the training's
	// portal_session_conf.
	enableBasicAuth()
	// restrictSpec is §9.2.1–9.2.2: role dev, and the spec readable by it.
	restrictSpec()
	// approveDeveloper is §9.2.3's "Approve this developer".
	approveDeveloper(email string)
	// grantRole is §9.2.3's "Add role for this developer".
	grantRole(email, role string)
	// appRegistration is §9.3.2 and §9.3.3: application-registration on
	// service crud, and the service documented by the spec.
	appRegistration(serviceID string)
}

// apiAdmin does the administrator's steps through the Admin API over
// HTTP, exactly as the training sends them.
type apiAdmin struct{ w *walk }

func (a apiAdmin) enablePortal() {
	a.w.api.Must(200, "PATCH", "/workspaces/default", url.Values{"config.portal": {"true"}})
}

// publishSpec sends POST /default/files with path and contents as a
// multipart form (curl -F).
func (a apiAdmin) publishSpec(contents string) {
	form, err := browser.Multipart(map[string]string{"path": specPath}, map[string][]byte{"contents": []byte(contents)})
	if err != nil {
		a.w.t.Fatal(err)
	}
	a.w.api.Must(201, "POST", "/default/files", form)
}

func (a apiAdmin) addCORS() {
	a.w.api.Must(201, "POST", "/routes/crud-route/plugins", url.Values{"name": {"cors"}})
}

func (a apiAdmin) enableBasicAuth() {
	a.w.api.Must(200, "PATCH", "/default/workspaces/default", map[string]any{"config": map[string]any{
		"portal_auth": "basic-auth", "portal_session_conf": portalSessionConf}})
}

func (a apiAdmin) restrictSpec() {
	a.w.api.Must(201, "POST", "/default/developers/roles", url.Values{"name": {"dev"}})
	file := a.w.api.Must(200, "GET", "/default/files/"+specPath, nil)
	contents, _ := file["contents"].(string)
	a.w.api.Must(200, "PATCH", "/default/files/"+specPath, map[string]any{
		"contents": "x-headmatter:\n  readable_by:\n    - dev\n" + contents})
}

func (a apiAdmin) approveDeveloper(email string) {
	a.w.api.Must(200, "PATCH", "/default/developers/"+url.PathEscape(email), map[string]any{"status": 0})
}

func (a apiAdmin) grantRole(email, role string) {
	a.w.api.Must(200, "PATCH", "/default/developers/"+url.PathEscape(email), map[string]any{"roles": []string{role}})
}

func (a apiAdmin) appRegistration(serviceID string) {
	a.w.api.Must(201, "POST", "/services/crud/plugins", url.Values{"name": {"application-registration"},
		"config.auth_header_name": {"authorization"}, "config.auto_approve": {"true"},
		"config.display_name": {"auth"}, "config.enable_client_credentials": {"true"}})
	a.w.api.Must(201, "POST", "/default/document_objects", map[string]any{"service": map[string]any{"id": serviceID}, "path": specPath})
}

// createService creates the training's service crud (proxying to
// upstream) and its route crud-route on /persons (§2.3, walked in Kong
// Manager by conformance/managergui).
func (w *walk) createService(upstream string) string {
	svc := w.api.Must(201, "POST", "/services", map[string]any{"name": "crud", "url": upstream + "/crud/"})
	w.api.Must(201, "POST", "/services/crud/routes", map[string]any{"name": "crud-route", "paths": []string{"/persons"}, "strip_path": false})
	return svc["id"].(string)
}

// spec is testdata/iam-training.yml with the test's proxy as its host.
func (w *walk) spec() string {
	spec, err := os.ReadFile("testdata/iam-training.yml")
	if err != nil {
		w.t.Fatal(err)
	}
	return strings.ReplaceAll(string(spec), "{{PROXY_HOST}}", strings.TrimPrefix(w.proxy, "http://"))
}

// upstream serves the API behind service crud: it echoes what it saw.
func upstream(t *testing.T) *httptest.Server {
	up := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(map[string]any{"upstream": "saw " + r.Method + " " + r.URL.Path,
			"consumer": r.Header.Get("X-Consumer-Username"), "groups": r.Header.Get("X-Consumer-Groups")})
	}))
	t.Cleanup(up.Close)
	return up
}

// tryItOut runs "Try it out" → "Execute" on GET /persons/all in Swagger
// UI and waits for its live response.
func tryItOut() chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Click(chromedp.CSS(allPersons+` .try-out__btn`)),
		chromedp.Click(chromedp.CSS(allPersons+` .btn.execute`)),
		chromedp.WaitVisible(chromedp.CSS(allPersons+` .live-responses-table`)),
	)
}

// TestTrainingWalk is the training's §8–§10 portal flow end to end: the
// spec published and rendered; "Try it out" blocked by CORS, then working
// with the cors plugin; basic-auth and the dev role hiding the spec; a
// developer registering in the GUI, pending, approved, signing in and
// seeing the spec once given the role; an application created in the GUI,
// registered to the service, its credentials read from the page and used
// for a client-credentials token on the TLS proxy.
func TestTrainingWalk(t *testing.T) {
	w := newWalk(t, nil)
	trainingWalk(w, apiAdmin{w})
}

// trainingWalk is the developer's side of the walk in the portal GUI,
// with adm doing the administrator's.
func trainingWalk(w *walk, adm admin) {
	t := w.t
	serviceID := w.createService(upstream(t).URL)

	// The portal is off: the GUI says so.
	w.Step("portal off", w.open("#/"), browser.ExpectText("main [role=alert]", "not enabled"))

	// §8.2, §8.3: enabled, the spec published, listed and rendered.
	adm.enablePortal()
	adm.publishSpec(w.spec())
	var signInShown bool
	w.Step("catalogue", w.open("#/"), browser.ExpectText("main .cards", specTitle),
		browser.Into(chromedp.Evaluate[bool](`!!document.querySelector('#nav a[href="#/login"]').offsetParent`), &signInShown))
	if signInShown {
		t.Fatal("sign-in offered while portal_auth is not set")
	}
	w.CheckFirstLoad("catalogue")
	w.CheckAccessible("catalogue")

	w.Step("spec page",
		chromedp.Click(chromedp.CSS(`main .cards a`)),
		browser.Ready("#/specs/iam-training.yml"),
		chromedp.WaitVisible(chromedp.CSS(`#spec[data-rendered="true"] .swagger-ui .info .title`)),
		browser.ExpectText("#spec .info .title", specTitle),
		chromedp.WaitVisible(chromedp.CSS(allPersons)),
		browser.ExpectText("#spec", "/persons/{id}"),
	)
	w.readme("spec.png")
	w.CheckAccessible("spec page")

	// §8.4: "Try it out" from the browser straight to the proxy: the
	// route answers without CORS headers, the browser refuses the answer.
	w.Step("try it out: blocked by CORS",
		chromedp.Click(chromedp.CSS(allPersons+` .opblock-summary-control`)),
		tryItOut(),
		browser.ExpectText(allPersons+` .live-responses-table`, "Failed to fetch"),
		browser.ExpectText(allPersons+` .live-responses-table`, "CORS"),
	)
	w.CheckAccessible("spec page with an operation open")
	// §8.5: the cors plugin on the route, and the same request works.
	adm.addCORS()
	w.api.Eventually("cors on the proxy", func() (browser.Answer, error) {
		return w.api.Try("GET", w.proxy+"/persons/all", nil, map[string]string{"Origin": w.gui})
	}, func(a browser.Answer) bool {
		return a.Status == 200 && a.Header.Get("Access-Control-Allow-Origin") != ""
	})
	w.Step("try it out: the upstream's answer",
		chromedp.Click(chromedp.CSS(allPersons+` .btn-clear`)),
		chromedp.Click(chromedp.CSS(allPersons+` .btn.execute`)),
		browser.ExpectText(allPersons+` .live-responses-table`, "saw GET /crud/persons/all"),
		browser.ExpectText(allPersons+` .live-responses-table tr.response .response-col_status`, "200"),
	)
	w.readme("try-it-out.png")
	w.CheckCSP("spec page after Try it out")

	// §9.1, §9.2: basic-auth, the dev role, the spec readable by dev only:
	// an anonymous visitor no longer sees it.
	adm.enableBasicAuth()
	adm.restrictSpec()
	w.Step("anonymous: the spec is hidden",
		w.open("#/"),
		browser.ExpectText("main", "No specs are published yet."),
		w.open("#/specs/iam-training.yml"),
		browser.ExpectText("main [role=alert]", "Not found: specs/iam-training.yml"),
		browser.ExpectText("main", "sign in"),
	)

	// §9.2.3: the developer registers in the GUI: pending.
	w.Step("register",
		w.open("#/register"),
		browser.Fill("email", devEmail),
		browser.Fill("password", devPass),
		browser.Fill("meta.full_name", "Dev Eloper"),
	)
	w.CheckAccessible("register")
	w.readme("register.png")
	w.Step("registered: pending",
		submit("Register"),
		browser.ExpectText("main [role=status]", "pending"),
	)
	dev := w.api.Must(200, "GET", "/default/developers/"+url.PathEscape(devEmail), nil)
	if dev["status"] != 1.0 || !strings.Contains(fmt.Sprint(dev["meta"]), "Dev Eloper") {
		t.Fatalf("registered developer: %v", dev)
	}
	w.Step("sign-in while pending",
		w.open("#/login"),
		browser.Fill("email", devEmail),
		browser.Fill("password", devPass),
		submit("Sign in"),
		browser.ExpectText("main [role=alert]", "pending"),
	)
	w.CheckAccessible("sign-in refused")

	// Approved, signed in: still no spec without the role.
	adm.approveDeveloper(devEmail)
	// Keyboard only: the nav link, then focus is on the page's heading;
	// Tab, type, Tab, type, Enter.
	w.CheckHeadingFocus("sign in with the keyboard", "Sign in",
		w.open("#/"),
		chromedp.Click(chromedp.CSS(`#nav a[href="#/login"]`)),
		browser.Ready("#/login"),
	)
	w.Step("signed in",
		chromedp.KeyEvent("\t"),
		chromedp.KeyEvent(devEmail),
		chromedp.KeyEvent("\t"),
		chromedp.KeyEvent(devPass),
		chromedp.KeyEvent("\r"),
		browser.Ready("#/"),
		browser.ExpectText("#who", "Signed in as "+devEmail),
		browser.ExpectText("main", "No specs are published yet."),
	)
	// With the role dev: the spec appears.
	adm.grantRole(devEmail, "dev")
	w.Step("with the role: the spec is listed",
		w.open("#/"),
		browser.ExpectText("main .cards", specTitle),
	)
	w.readme("catalogue.png")
	w.Step("with the role: the spec renders",
		chromedp.Click(chromedp.CSS(`main .cards a`)),
		chromedp.WaitVisible(chromedp.CSS(`#spec[data-rendered="true"] `+allPersons)),
	)

	// §9.3: application registration on the service; the developer
	// creates an application in the GUI and registers it to the service.
	adm.appRegistration(serviceID)
	w.Step("my apps: empty", w.open("#/apps"), browser.ExpectText("main", "You have no applications yet."))
	w.CheckAccessible("my apps")
	var appRoute string
	w.Step("create application",
		browser.Fill("name", "my-app"),
		browser.Fill("description", "the training's application"),
		submit("Create an application"),
		browser.ReadyPrefix("#/apps/", &appRoute),
		browser.ExpectText("main h1", "my-app"),
		browser.ExpectText(`main tr[data-service="`+serviceID+`"]`, "not registered"),
	)
	w.Step("register to the service",
		chromedp.Click(chromedp.CSS(`main tr[data-service="`+serviceID+`"] button`)),
		browser.ExpectText(`main tr[data-service="`+serviceID+`"] .status`, "approved"),
		browser.ExpectText(`#app-msg`, "Registered to auth: approved."),
	)
	w.CheckAccessible("application")
	var clientID, secret string
	w.Step("read the credentials",
		browser.Into(chromedp.Text(chromedp.CSS(`main [data-cred="client_id"]`)), &clientID),
		browser.Into(chromedp.Text(chromedp.CSS(`main [data-cred="client_secret"]`)), &secret),
	)
	w.readme("my-apps.png")
	w.CheckCSP("application")
	if len(clientID) < 8 || len(secret) < 8 {
		t.Fatalf("credentials on the page: %q / %q", clientID, secret)
	}

	// The token from §9.3's curl on the TLS proxy, and the API with it.
	tok := w.api.Eventually("client-credentials token", func() (browser.Answer, error) {
		return w.api.Try("POST", w.proxyTLS+"/persons/oauth2/token", url.Values{"grant_type": {"client_credentials"},
			"client_id": {clientID}, "client_secret": {secret}}, nil)
	}, func(a browser.Answer) bool {
		return a.Status == 200 && strings.Contains(string(a.Body), "access_token")
	}).JSON(t)
	access, _ := tok["access_token"].(string)
	if access == "" || tok["token_type"] != "bearer" {
		t.Fatalf("token: %v", tok)
	}
	used := w.api.Do("GET", w.proxyTLS+"/persons/all", nil, map[string]string{"Authorization": "Bearer " + access})
	if used.Status != 200 || used.JSON(t)["upstream"] != "saw GET /crud/persons/all" {
		t.Fatalf("API with the token: %d %s", used.Status, used.Body)
	}
	if a := w.api.Do("GET", w.proxyTLS+"/persons/all", nil, nil); a.Status != 401 {
		t.Fatalf("API without a token: %d %s", a.Status, a.Body)
	}

	// Another application, deleted from its dashboard.
	var tmpRoute string
	w.Step("create a second application",
		w.open("#/apps"),
		browser.Fill("name", "tmp-app"),
		submit("Create an application"),
		browser.ReadyPrefix("#/apps/", &tmpRoute),
		browser.ExpectText("main h1", "tmp-app"),
	)
	w.Step("delete it",
		chromedp.Click(chromedp.CSS(`main button.danger`)),
		chromedp.Click(chromedp.CSS(`main button.danger`)), // "Yes, delete"
		browser.Ready("#/apps"),
		browser.ExpectText("main table", "my-app"),
	)
	var listed string
	w.Step("deleted application gone", browser.Into(chromedp.Text(chromedp.CSS("main table")), &listed))
	if strings.Contains(listed, "tmp-app") {
		t.Fatalf("deleted application still listed: %q", listed)
	}

	// The policy holds in the browser: an injected inline script does not
	// run, and the recorder the checks above rely on sees the violation.
	var ran bool
	w.Step("CSP refuses an inline script",
		browser.Into(chromedp.Evaluate[bool](`(() => { const s = document.createElement('script'); s.textContent = 'window.__ran = true'; document.body.append(s); return !!window.__ran; })()`), &ran),
		browser.WaitTrue(`window.__csp.some((v) => v.startsWith('script-src'))`),
	)
	if ran {
		t.Fatal("an inline script ran despite script-src 'self'")
	}

	// Sign out: the header offers sign-in again, My Apps asks for it.
	w.Step("sign out",
		chromedp.Click(chromedp.CSS(`#sign-out`)),
		chromedp.WaitVisible(chromedp.CSS(`#nav a[href="#/login"]`)),
		w.open("#/apps"),
		browser.ExpectText("main", "Sign in to see your applications."),
	)
}
