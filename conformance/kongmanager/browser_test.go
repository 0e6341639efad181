package kongmanager_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/conformance/browser"
	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/manager"
)

// TestBrowserSignIn walks Kong Manager in headless Chromium as the
// training's §10 does: an invited admin opens the registration link, sets
// a password, signs in through the page, sees the services list, invites
// another admin (read-only) and generates its link, and signs out; the
// read-only admin then registers, signs in and is refused an edit with
// Kong's 403 in the form. The page talks to
// the Admin API cross-origin with the session cookie and Kong-Admin-User;
// there is no token anywhere in the browser.
func TestBrowserSignIn(t *testing.T) {
	t.Setenv("GATEHOUSE_RBAC_BOOTSTRAP_TOKEN", rootToken)
	// No admin_gui_url: the CORS origin is the page's own (127.0.0.1 on
	// the GUI's port), and the register URL is relative to the GUI.
	n := testnode.Start(t, map[string]string{"enforce_rbac": "on", "admin_gui_auth": "basic-auth",
		"admin_gui_session_conf": sessionConf})
	c := newClient(t, n)
	c.must(201, c.root("POST", "/services", map[string]any{"name": "walk-svc", "url": "http://127.0.0.1:9"}), "service")
	c.must(200, c.root("POST", "/admins", map[string]any{"username": "alice", "email": "alice@example.test"}), "invite")
	c.must(201, c.root("POST", "/admins/alice/roles", map[string]any{"roles": "super-admin"}), "grant")
	link, _ := c.must(200, c.root("GET", "/admins/alice?generate_register_url=true", nil), "link").body["register_url"].(string)
	if !strings.HasPrefix(link, "/register?email=alice%40example.test&username=alice&token=") {
		t.Fatalf("register_url %q", link)
	}

	gui, b := startGUI(t, n)

	b.Step("register page",
		chromedp.Navigate(gui+link),
		chromedp.WaitVisible(chromedp.CSS("#register-form")),
		browser.ExpectText("#register-username", "alice"),
		passwordForm("register", "alice-pw-1", "alice-pw-1"),
		browser.Ready("#/login"),
		browser.ExpectText("main .banner.ok", "Password set for alice"),
	)
	b.Step("sign in",
		signIn("alice", "alice-pw-1"),
		browser.ExpectText("main .banner.ok", "Signed in as alice."),
	)
	b.Step("services list",
		browser.Open(gui, "#/services"),
		browser.ExpectText("main table", "walk-svc"),
	)
	b.Step("invite an admin",
		browser.Open(gui, "#/admins"),
		browser.ExpectText("main table", "alice"),
		chromedp.SendKeys(chromedp.CSS("#invite-email"), "bob@example.test"),
		chromedp.SendKeys(chromedp.CSS("#invite-username"), "bob"),
		chromedp.SetValue(chromedp.CSS("#invite-role"), "read-only"),
		chromedp.Click(chromedp.CSS(`#invite-form button[type="submit"]`)),
		browser.ExpectText("main .banner.ok", "Invited bob."),
		browser.ExpectText("#admin-roles", "read-only"),
		chromedp.Click(chromedp.CSS("#generate-link")),
		browser.ExpectText("#register-url", "/register?email=bob%40example.test&username=bob&token="),
	)
	b.Step("sign out",
		chromedp.Click(chromedp.CSS("#sign-out")),
		browser.Ready("#/login"),
		browser.ExpectText("main .banner.ok", "Signed out."),
	)
	// The browser's session is over on the server too.
	if a := c.do("GET", "/admins/bob", map[string]string{"Kong-Admin-User": "alice"}, nil); a.status != 401 {
		t.Fatalf("after sign-out: %d %s", a.status, a.raw)
	}
	if a := c.root("GET", "/admins/bob", nil); a.status != 200 || a.body["status"] != 4.0 {
		t.Fatalf("bob: %d %s", a.status, a.raw)
	}

	// The invited read-only admin activates through the link, signs in,
	// reads the service and is refused its edit with Kong's 403 in the form.
	bobLink, _ := c.must(200, c.root("GET", "/admins/bob?generate_register_url=true", nil), "bob's link").body["register_url"].(string)
	svc := c.must(200, c.root("GET", "/services/walk-svc", nil), "service").body
	b.Step("read-only admin registers",
		chromedp.Navigate(gui+bobLink),
		chromedp.WaitVisible(chromedp.CSS("#register-form")),
		browser.ExpectText("#register-username", "bob"),
		passwordForm("register", "bob-pw-1", "bob-pw-1"),
		browser.Ready("#/login"),
	)
	b.Step("read-only admin's edit is refused",
		signIn("bob", "bob-pw-1"),
		browser.Open(gui, "#/services/"+svc["id"].(string)),
		browser.Fill("host", "evil.test"),
		chromedp.Click(chromedp.CSS(`main form[aria-label] button[type="submit"]`)),
		browser.ExpectText("main [role=alert]", "403: bob, you do not have permissions to update this resource"),
	)
	if a := c.root("GET", "/services/walk-svc", nil); a.status != 200 || a.body["host"] != svc["host"] {
		t.Fatalf("the refused edit changed the service: %d %s", a.status, a.raw)
	}
}

// startGUI serves Kong Manager with basic-auth sign-in beside node n
// (its Admin API cross-origin, as users' browsers call it) and starts a
// browser; screenshots of a failing test go to
// $GATEHOUSE_ARTIFACTS/kongmanager/<test>/.
func startGUI(t *testing.T, n *app.Node) (string, *browser.Browser) {
	t.Helper()
	gui := browser.Serve(t, manager.App(manager.Options{AdminAPIPort: browser.Port(t, n.Addr("admin")), Auth: "basic-auth", Version: "test"}))
	return gui, browser.Start(t, "kongmanager")
}

// passwordForm types a password and its confirmation into Kong
// Manager's register or reset form (form "register" or "reset") and
// sends it.
func passwordForm(form, password, confirm string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.SendKeys(chromedp.CSS("#"+form+"-password"), password),
		chromedp.SendKeys(chromedp.CSS("#"+form+"-confirm"), confirm),
		chromedp.Click(chromedp.CSS("#"+form+"-submit")),
	)
}

// signIn fills Kong Manager's sign-in form and waits for the header to
// name the admin.
func signIn(user, password string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.SendKeys(chromedp.CSS("#login-username"), user),
		chromedp.SendKeys(chromedp.CSS("#login-password"), password),
		chromedp.Click(chromedp.CSS("#login-submit")),
		browser.ExpectText("#signed-in-as", "Signed in as "+user),
	)
}
