package portalgui_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/conformance/browser"
)

// guiAdmin does the administrator's steps of §8–§10 in Kong Manager's
// pages (runtime/manager, driven by its README's selector contract), in a
// tab of its own (its own browser context) beside the developer's. Kong
// Manager is served by the node on admin_gui_listen and calls the Admin
// API cross-origin, as in users' browsers. After each step the result is
// read back on the Admin API, so a page that reports success without
// doing it fails here, before the developer's side would.
type guiAdmin struct {
	w       *walk
	tab     *browser.Tab
	manager string // http://127.0.0.1:port of Kong Manager
}

// open loads a Kong Manager page afresh (a hash-only change of the page
// on screen would not re-render it) and waits until it has rendered.
func (g guiAdmin) open(hash string) chromedp.Action[chromedp.Void] {
	return browser.OpenAfresh(g.manager, hash)
}

// saved waits for Kong Manager's success banner.
func saved(text string) chromedp.Action[chromedp.Void] {
	return browser.ExpectText("main .banner.ok", text)
}

func (g guiAdmin) enablePortal() {
	g.tab.Step("portal settings: enable the portal",
		g.open("#/portal/settings"),
		browser.Labelled("portal settings"),
		browser.Check("#portal-enabled"),
		chromedp.Click(chromedp.CSS("#portal-settings-save")),
		saved("Saved portal settings."),
	)
	if ws := g.w.api.Must(200, "GET", "/workspaces/default", nil); ws["config"].(map[string]any)["portal"] != true {
		g.w.t.Fatalf("workspace after the settings page: %v", ws["config"])
	}
}

func (g guiAdmin) publishSpec(contents string) {
	g.tab.Step("upload the spec",
		g.open("#/portal/specs"),
		browser.Labelled("specs"),
		browser.Fill("spec-name", "iam-training"),
		browser.SetText("#spec-contents", contents),
		chromedp.Click(chromedp.CSS("#spec-upload")),
		saved("Uploaded "+specPath+"."),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-path=%q]`, specPath))),
	)
	if f := g.w.api.Must(200, "GET", "/files/"+specPath, nil); f["contents"] != contents {
		g.w.t.Fatalf("uploaded spec differs: %.200v", f["contents"])
	}
}

// addPlugin adds a plugin through Kong Manager's plugin form under a
// service's or route's page (parent "services/<id>" or "routes/<id>"):
// choose the plugin, fill its schema form with fill, create.
func (g guiAdmin) addPlugin(parent, name string, fill ...chromedp.Action[chromedp.Void]) {
	form := "#/" + parent + "/plugins/new?name=" + name
	steps := []chromedp.Action[chromedp.Void]{
		g.open("#/" + parent + "/plugins/new"),
		chromedp.SetValue(chromedp.CSS(`#plugin-name`), name),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		browser.Ready(form),
		browser.Labelled(name + " form"),
	}
	steps = append(steps, fill...)
	steps = append(steps,
		chromedp.Click(chromedp.CSS(`main form[aria-label] button[type="submit"]`)),
		browser.Ready("#/"+parent),
		browser.ExpectText("#sec-plugins + p + table", name),
	)
	g.tab.Step("add the "+name+" plugin", steps...)
}

func (g guiAdmin) addCORS() {
	route := g.w.api.Must(200, "GET", "/routes/crud-route", nil)
	g.addPlugin("routes/"+route["id"].(string), "cors")
	plugins := g.w.api.Must(200, "GET", "/routes/crud-route/plugins", nil)
	if data, _ := plugins["data"].([]any); len(data) != 1 || data[0].(map[string]any)["name"] != "cors" {
		g.w.t.Fatalf("plugins of crud-route: %v", plugins)
	}
}

func (g guiAdmin) enableBasicAuth() {
	g.tab.Step("portal settings: basic-auth and the session configuration",
		g.open("#/portal/settings"),
		chromedp.SetValue(chromedp.CSS("#portal-auth"), "basic-auth"),
		browser.SetText("#portal-session-conf", portalSessionConf),
		chromedp.Click(chromedp.CSS("#portal-settings-save")),
		saved("Saved portal settings."),
	)
	cfg := g.w.api.Must(200, "GET", "/workspaces/default", nil)["config"].(map[string]any)
	if cfg["portal"] != true || cfg["portal_auth"] != "basic-auth" || cfg["portal_session_conf"] == nil {
		g.w.t.Fatalf("workspace after the settings page: %v", cfg)
	}
}

func (g guiAdmin) restrictSpec() {
	g.tab.Step("create developer role dev",
		g.open("#/portal/roles"),
		browser.Fill("role-name", "dev"),
		chromedp.Click(chromedp.CSS("#role-create")),
		saved("Created role dev."),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-name="dev"]`)),
	)
	g.tab.Step("spec readable by dev",
		g.open("#/portal/files/"+url.PathEscape(specPath)),
		browser.Labelled("file page"),
		browser.Check(`input[name="readable-role"][data-role="dev"]`),
		chromedp.Click(chromedp.CSS("#readable-save")),
		saved("Saved permissions of "+specPath+": dev."),
		browser.ExpectText("#file-readable-by", "dev"),
	)
}

func (g guiAdmin) approveDeveloper(email string) {
	row := fmt.Sprintf(`tr[data-email=%q]`, email)
	g.tab.Step("approve the developer",
		g.open("#/portal/developers"),
		chromedp.WaitVisible(chromedp.CSS(row+` [data-status="1"]`)),
		chromedp.Click(chromedp.CSS(row+` button[data-action="approve"]`)),
		saved(email+" is now approved."),
		chromedp.WaitVisible(chromedp.CSS(row+` [data-status="0"]`)),
	)
}

func (g guiAdmin) grantRole(email, role string) {
	var page string
	g.tab.Step("give the developer role "+role,
		g.open("#/portal/developers"),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-email=%q] a`, email))),
		browser.ReadyPrefix("#/portal/developers/", &page),
		browser.Check(fmt.Sprintf(`input[name="developer-role"][data-role=%q]`, role)),
		chromedp.Click(chromedp.CSS("#developer-roles-save")),
		saved("Saved the roles of "+email+"."),
		browser.ExpectText("#developer-roles", role),
	)
}

func (g guiAdmin) appRegistration(serviceID string) {
	g.tab.Step("add documentation to the service",
		g.open("#/services/"+serviceID),
		chromedp.SetValue(chromedp.CSS("#documentation-path"), specPath),
		chromedp.Click(chromedp.CSS("#documentation-add")),
		saved("Added documentation."),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#sec-documentation ~ table tr[data-path=%q]`, specPath))),
	)
	var header string
	g.addPlugin("services/"+serviceID, "application-registration",
		browser.Fill("config.display_name", "auth"),
		browser.Check(`main [name="config.auto_approve"]`),
		browser.Check(`main [name="config.enable_client_credentials"]`),
		browser.Into(chromedp.Value(chromedp.CSS(`main [name="config.auth_header_name"]`)), &header),
	)
	if header != "authorization" {
		g.w.t.Fatalf("config.auth_header_name prefilled %q, want the schema default authorization", header)
	}
	g.w.readmeManager("application-registration.png")
	plugins := g.w.api.Must(200, "GET", "/services/crud/plugins", nil)
	data, _ := plugins["data"].([]any)
	if len(data) != 1 {
		g.w.t.Fatalf("plugins of crud: %v", plugins)
	}
	cfg := data[0].(map[string]any)["config"].(map[string]any)
	if cfg["display_name"] != "auth" || cfg["auto_approve"] != true || cfg["enable_client_credentials"] != true || cfg["auth_header_name"] != "authorization" {
		g.w.t.Fatalf("application-registration config from the form: %v", cfg)
	}
}

// readmeManager keeps the last screenshot as a Kong Manager README
// picture (runtime/manager/screenshots) with GATEHOUSE_SCREENSHOTS=1.
func (w *walk) readmeManager(file string) { w.Keep("runtime/manager/screenshots", file) }

// TestTrainingWalkBothGUIs is TestTrainingWalk with the administrator in
// Kong Manager instead of on the Admin API: one browser, two tabs (two
// browser contexts), the administrator's in Kong Manager served by the
// node on admin_gui_listen, the developer's in the portal GUI. It ends,
// as the training does, with a client-credentials token from
// /oauth2/token on the TLS proxy and a Bearer call answered 200.
func TestTrainingWalkBothGUIs(t *testing.T) {
	w := newWalk(t, map[string]string{"admin_gui_listen": "127.0.0.1:0"})
	g := guiAdmin{w: w, tab: w.NewTab("admin"), manager: "http://" + w.node.Addr("admin_gui")}
	g.tab.Step("Kong Manager's dashboard", g.open("#/"), browser.ExpectText("#db-reachable", "yes"))
	trainingWalk(w, g)
}
