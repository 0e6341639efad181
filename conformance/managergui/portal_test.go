package managergui_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/gatehouse/gatehouse/conformance/browser"
	"github.com/gatehouse/gatehouse/runtime/app"
)

// portalSettings are a node with the Developer Portal's listeners: the
// portal API on port 0 (the portal GUI is not needed here).
func portalSettings() map[string]string {
	return map[string]string{"portal": "on", "portal_api_listen": "127.0.0.1:0", "portal_gui_listen": "off"}
}

// developer is a developer's browser on the portal API: a client with
// a cookie jar.
type developer struct {
	w     *walk
	c     *browser.Client
	basic string
}

func newDeveloper(w *walk, email, password string) *developer {
	jar, err := cookiejar.New(nil)
	if err != nil {
		w.t.Fatal(err)
	}
	c := browser.NewClient(w.t, "http://"+w.node.Addr("portal_api")+"/default")
	c.HTTP.Jar = jar
	return &developer{w: w, c: c, basic: browser.Basic(email, password)}
}

// call sends one request to the portal API and returns the status and body.
func (d *developer) call(method, path string, body any, header map[string]string) (int, string) {
	d.w.t.Helper()
	a := d.c.Do(method, path, body, header)
	return a.Status, string(a.Body)
}

func (d *developer) must(want int, method, path string, body any, header map[string]string) string {
	d.w.t.Helper()
	code, b := d.call(method, path, body, header)
	if code != want {
		d.w.t.Fatalf("portal API %s %s: %d, want %d: %s", method, path, code, want, b)
	}
	return b
}

// specPaths lists the paths GET /files on the portal API shows the developer.
func (d *developer) specPaths() []string {
	d.w.t.Helper()
	var res struct {
		Data []struct {
			Path string `json:"path"`
		} `json:"data"`
	}
	b := d.must(http.StatusOK, "GET", "/files", nil, nil)
	if err := json.Unmarshal([]byte(b), &res); err != nil {
		d.w.t.Fatalf("portal GET /files: %v: %s", err, b)
	}
	var out []string
	for _, f := range res.Data {
		out = append(out, f.Path)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

const sessionConf = `{"cookie_secure":false,"cookie_name":"portal_session","secret":"SYS","storage":"kong"}`

// TestPortalAdminWalk is the training's §8–§9 admin side in Kong Manager:
// the portal turned on with basic-auth and the training's session
// configuration, the spec uploaded, role dev created and set as the
// spec's readable_by, a developer who registered on the portal API
// approved and given role dev — and, over HTTP on the portal API, the
// developer sees the spec only after that. Then the service's "Add
// documentation" and an application's registration approved in the GUI.
func TestPortalAdminWalk(t *testing.T) {
	w := newWalkWith(t, portalSettings(), app.Options{})
	dev := newDeveloper(w, "dev@example.test", "dev-password")

	// The portal is off: the portal API answers 404 to everything.
	dev.must(http.StatusNotFound, "POST", "/register", map[string]any{"email": "early@example.test", "password": "p", "meta": `{"full_name":"E"}`}, nil)

	// §8.2, §9.1: Portal settings.
	w.Step("portal settings: enable, basic-auth, session configuration",
		w.open("#/portal/settings"),
		browser.Labelled("portal settings"),
		browser.Check("#portal-enabled"),
		chromedp.SetValue(chromedp.CSS("#portal-auth"), "basic-auth"),
		browser.SetText("#portal-session-conf", sessionConf),
		chromedp.Click(chromedp.CSS("#portal-settings-save")),
		browser.ExpectText("main .banner.ok", "Saved portal settings."),
	)
	w.keep("portal-settings")
	var ws struct {
		Config map[string]any `json:"config"`
	}
	w.mustAPI(http.StatusOK, "GET", "/workspaces/default", nil, &ws)
	if ws.Config["portal"] != true || ws.Config["portal_auth"] != "basic-auth" || ws.Config["portal_auto_approve"] != false {
		t.Fatalf("workspace config after the settings page: %v", ws.Config)
	}
	conf, _ := ws.Config["portal_session_conf"].(string)
	var confObj map[string]any
	if err := json.Unmarshal([]byte(conf), &confObj); err != nil || confObj["cookie_name"] != "portal_session" || confObj["cookie_secure"] != false {
		t.Fatalf("portal_session_conf %q (a JSON string, as Kong keeps it): %v", conf, err)
	}
	var authValue string
	var enabled bool
	w.Step("settings form shows the saved values",
		w.open("#/portal/settings"),
		browser.Into(chromedp.Value(chromedp.CSS("#portal-auth")), &authValue),
		browser.Into(chromedp.Evaluate[bool](`document.getElementById('portal-enabled').checked`), &enabled),
	)
	if authValue != "basic-auth" || !enabled {
		t.Fatalf("settings page shows portal_auth %q, enabled %v", authValue, enabled)
	}
	w.Step("a session configuration that is not JSON is refused in the page",
		browser.SetText("#portal-session-conf", `{"cookie_name":`),
		chromedp.Click(chromedp.CSS("#portal-settings-save")),
		browser.ExpectText("main [role=alert]", "must be a JSON object"),
	)

	// §8.3: the spec, uploaded from a file as `-F contents=@misc/spec.yml`.
	specFile, err := filepath.Abs("testdata/misc/spec.yml")
	if err != nil {
		t.Fatal(err)
	}
	w.Step("upload the spec",
		w.open("#/portal/specs"),
		browser.Labelled("specs"),
		browser.Fill("spec-name", "iam-training"),
		chromedp.SetUploadFiles(chromedp.CSS("#spec-file"), []string{specFile}),
		chromedp.Click(chromedp.CSS("#spec-upload")),
		browser.ExpectText("main .banner.ok", "Uploaded specs/iam-training.yml."),
		browser.ExpectText(`tr[data-path="specs/iam-training.yml"]`, "everyone"),
	)
	w.keep("portal-specs")
	var file struct {
		Contents string `json:"contents"`
	}
	w.mustAPI(http.StatusOK, "GET", "/files/specs/iam-training.yml", nil, &file)
	if !strings.Contains(file.Contents, "InterSystems IRIS REST CRUD demo") {
		t.Fatalf("uploaded contents: %q", file.Contents)
	}

	// §9.2.1: role dev.
	w.Step("create developer role dev",
		w.open("#/portal/roles"),
		browser.Labelled("developer roles"),
		browser.Fill("role-name", "dev"),
		chromedp.Click(chromedp.CSS("#role-create")),
		browser.ExpectText("main .banner.ok", "Created role dev."),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-name="dev"]`)),
	)

	// The training's Referer, Kong Manager's own page path, lands on the
	// same page.
	w.Step("Kong Manager's /default/portal/permissions/ path",
		chromedp.Navigate(w.gui+"/default/portal/permissions/"),
		browser.Ready("#/default/portal/permissions"),
		browser.ExpectText("main h1", "Developer roles"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-name="dev"]`)),
		chromedp.WaitVisible(chromedp.CSS(`nav a[href="#/portal/roles"][aria-current="page"]`)),
	)

	// §9.2.2: Permissions — readable_by [dev] in the spec's x-headmatter.
	w.Step("set readable_by dev",
		w.open("#/portal/files/"+url.PathEscape("specs/iam-training.yml")),
		browser.Labelled("file page"),
		browser.ExpectText("#file-readable-by", "everyone"),
		browser.Check(`input[name="readable-role"][data-role="dev"]`),
		chromedp.Click(chromedp.CSS("#readable-save")),
		browser.ExpectText("main .banner.ok", "Saved permissions of specs/iam-training.yml: dev."),
		browser.ExpectText("#file-readable-by", "dev"),
	)
	w.keep("portal-spec-permissions")
	w.mustAPI(http.StatusOK, "GET", "/files/specs/iam-training.yml", nil, &file)
	if !strings.HasPrefix(file.Contents, "x-headmatter:\n  readable_by:\n    - dev\nswagger: '2.0'\n") {
		t.Fatalf("readable_by written as %q", file.Contents[:min(len(file.Contents), 80)])
	}

	// §9.2.3: a developer registers on the portal (pending), an admin
	// approves them in the GUI.
	dev.must(http.StatusOK, "POST", "/register", map[string]any{"email": "dev@example.test", "password": "dev-password", "meta": `{"full_name":"Dev Eloper"}`}, nil)
	if code, _ := dev.call("GET", "/auth", nil, map[string]string{"Authorization": dev.basic}); code != http.StatusUnauthorized {
		t.Fatalf("a pending developer signs in: %d", code)
	}
	row := `tr[data-email="dev@example.test"]`
	w.Step("developer listed as pending",
		w.open("#/portal/developers"),
		browser.Labelled("developers"),
		chromedp.WaitVisible(chromedp.CSS(row+` [data-status="1"]`)),
	)
	w.keep("portal-developers")
	w.Step("pending filter",
		chromedp.SetValue(chromedp.CSS("#developer-status-filter"), "1"),
		chromedp.Click(chromedp.CSS(`main form[aria-label="Filter developers"] button`)),
		browser.Ready("#/portal/developers?status=1"),
		chromedp.WaitVisible(chromedp.CSS(row)),
	)
	w.Step("approve the developer",
		chromedp.Click(chromedp.CSS(row+` button[data-action="approve"]`)),
		browser.ExpectText("main .banner.ok", "dev@example.test is now approved."),
	)
	var d struct {
		ID     string   `json:"id"`
		Status int      `json:"status"`
		Roles  []string `json:"roles"`
	}
	w.mustAPI(http.StatusOK, "GET", "/developers/dev@example.test", nil, &d)
	if d.Status != 0 {
		t.Fatalf("developer status after approval: %d", d.Status)
	}

	// Signed in, without role dev: the spec is hidden.
	dev.must(http.StatusOK, "GET", "/auth", nil, map[string]string{"Authorization": dev.basic})
	if paths := dev.specPaths(); contains(paths, "specs/iam-training.yml") {
		t.Fatalf("a developer without role dev sees %v", paths)
	}

	w.Step("give the developer role dev",
		w.open("#/portal/developers"),
		chromedp.Click(chromedp.CSS(row+` a`)),
		browser.Ready("#/portal/developers/"+d.ID),
		browser.Labelled("developer page"),
		browser.ExpectText("#developer-status-name", "approved"),
		browser.Check(`input[name="developer-role"][data-role="dev"]`),
		chromedp.Click(chromedp.CSS("#developer-roles-save")),
		browser.ExpectText("main .banner.ok", "Saved the roles of dev@example.test."),
		browser.ExpectText("#developer-roles", "dev"),
	)
	w.keep("portal-developer")
	if paths := dev.specPaths(); !contains(paths, "specs/iam-training.yml") {
		t.Fatalf("the developer with role dev sees %v, want the spec", paths)
	}

	// §9.3.3: Add documentation on the service's page.
	var svc, pl map[string]any
	w.mustAPI(http.StatusCreated, "POST", "/services", map[string]any{"name": "crud", "host": w.upstreamHost(), "port": w.upstreamPort()}, &svc)
	svcID := svc["id"].(string)
	w.Step("add documentation to the service",
		w.open("#/services/"+svcID),
		browser.Labelled("service page"),
		chromedp.SetValue(chromedp.CSS("#documentation-path"), "specs/iam-training.yml"),
		chromedp.Click(chromedp.CSS("#documentation-add")),
		browser.ExpectText("main .banner.ok", "Added documentation."),
		chromedp.WaitVisible(chromedp.CSS(`#sec-documentation ~ table tr[data-path="specs/iam-training.yml"]`)),
	)
	var docs struct {
		Data []map[string]any `json:"data"`
	}
	w.mustAPI(http.StatusOK, "GET", "/services/crud/document_objects", nil, &docs)
	if len(docs.Data) != 1 || docs.Data[0]["path"] != "specs/iam-training.yml" {
		t.Fatalf("document objects of crud: %v", docs.Data)
	}

	// Application registration without auto_approve: the developer's
	// application waits for an admin, who approves it in the GUI.
	w.mustAPI(http.StatusCreated, "POST", "/services/crud/plugins", map[string]any{"name": "application-registration",
		"config": map[string]any{"display_name": "auth", "auto_approve": false}}, &pl)
	var appRes struct {
		ID string `json:"id"`
	}
	b := dev.must(http.StatusOK, "POST", "/applications", map[string]any{"name": "my-app", "redirect_uri": "http://localhost:8003/cb"}, nil)
	if err := json.Unmarshal([]byte(b), &appRes); err != nil || appRes.ID == "" {
		t.Fatalf("create application: %v %s", err, b)
	}
	var inst struct {
		ID     string `json:"id"`
		Status int    `json:"status"`
	}
	b = dev.must(http.StatusCreated, "POST", "/applications/"+appRes.ID+"/application_instances", map[string]any{"service": map[string]any{"id": svcID}}, nil)
	if err := json.Unmarshal([]byte(b), &inst); err != nil || inst.Status != 1 {
		t.Fatalf("registration: %v %s", err, b)
	}
	irow := fmt.Sprintf(`tr[data-instance=%q]`, inst.ID)
	w.Step("service contracts list the pending registration",
		w.open("#/"), // the service page is open: load it afresh
		w.open("#/services/"+svcID),
		chromedp.WaitVisible(chromedp.CSS(`#sec-contracts ~ * `+irow+` [data-status="1"]`)),
	)
	w.keep("service-documentation")
	w.Step("approve the registration on the applications page",
		w.open("#/portal/applications"),
		browser.Labelled("applications"),
		chromedp.WaitVisible(chromedp.CSS(irow+` [data-status="1"]`)),
	)
	w.keep("portal-applications")
	w.Step("approve it",
		chromedp.Click(chromedp.CSS(irow+` button[data-action="approve"]`)),
		browser.ExpectText("main .banner.ok", "Registration approved."),
		chromedp.WaitVisible(chromedp.CSS(irow+` [data-status="0"]`)),
	)
	w.mustAPI(http.StatusOK, "GET", "/applications/"+appRes.ID+"/application_instances/"+inst.ID, nil, &inst)
	if inst.Status != 0 {
		t.Fatalf("registration status after approval: %d", inst.Status)
	}
	w.Step("revoke it from the application's page",
		w.open("#/portal/applications/"+appRes.ID),
		chromedp.Click(chromedp.CSS(irow+` button[data-action="revoke"]`)),
		browser.ExpectText("main .banner.ok", "Registration revoked."),
	)
	w.mustAPI(http.StatusOK, "GET", "/applications/"+appRes.ID+"/application_instances/"+inst.ID, nil, &inst)
	if inst.Status != 3 {
		t.Fatalf("registration status after revocation: %d", inst.Status)
	}

	// Revoking the developer: the portal refuses their session's calls.
	w.Step("revoke the developer",
		w.open("#/portal/developers/"+d.ID),
		chromedp.Click(chromedp.CSS(`main button[data-action="revoke"]`)),
		browser.ExpectText("main .banner.ok", "dev@example.test is now revoked."),
		browser.ExpectText("#developer-status-name", "revoked"),
		browser.ExpectText(`main table a[href="#/portal/applications/`+appRes.ID+`"]`, "my-app"),
	)
	w.mustAPI(http.StatusOK, "GET", "/developers/dev@example.test", nil, &d)
	if d.Status != 3 {
		t.Fatalf("developer status after revocation: %d", d.Status)
	}

	// Authentication back to none, the session configuration emptied,
	// auto-approve on: nulls on the workspace, and the portal is public.
	w.Step("portal settings: no authentication",
		w.open("#/portal/settings"),
		chromedp.SetValue(chromedp.CSS("#portal-auth"), ""),
		browser.SetText("#portal-session-conf", ""),
		browser.Check("#portal-auto-approve"),
		chromedp.Click(chromedp.CSS("#portal-settings-save")),
		browser.ExpectText("main .banner.ok", "Saved portal settings."),
	)
	ws.Config = nil
	w.mustAPI(http.StatusOK, "GET", "/workspaces/default", nil, &ws)
	if ws.Config["portal"] != true || ws.Config["portal_auth"] != nil || ws.Config["portal_session_conf"] != nil || ws.Config["portal_auto_approve"] != true {
		t.Fatalf("workspace config after choosing no authentication: %v", ws.Config)
	}
	anon := newDeveloper(w, "nobody@example.test", "x")
	anon.must(http.StatusOK, "GET", "/files", nil, nil)

	// The role and the file deleted in the GUI.
	w.Step("delete the spec",
		w.open("#/portal/specs"),
		chromedp.Click(chromedp.CSS(`tr[data-path="specs/iam-training.yml"] button[data-action="delete"]`)),
		chromedp.Click(chromedp.CSS(`tr[data-path="specs/iam-training.yml"] button[data-action="confirm-delete"]`)),
		browser.ExpectText("main .banner.ok", "Deleted specs/iam-training.yml."),
	)
	if code := w.api("GET", "/files/specs/iam-training.yml", nil, nil); code != http.StatusNotFound {
		t.Fatalf("deleted spec: GET answers %d", code)
	}
	w.Step("delete role dev",
		w.open("#/portal/roles"),
		chromedp.Click(chromedp.CSS(`tr[data-name="dev"] button[data-action="delete"]`)),
		chromedp.Click(chromedp.CSS(`tr[data-name="dev"] button[data-action="confirm-delete"]`)),
		browser.ExpectText("main .banner.ok", "Deleted role dev."),
	)
	w.mustAPI(http.StatusOK, "GET", "/developers/dev@example.test", nil, &d)
	if len(d.Roles) != 0 {
		t.Fatalf("the deleted role is still granted: %v", d.Roles)
	}
}
