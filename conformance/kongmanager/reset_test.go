package kongmanager_test

import (
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/conformance/browser"
	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/runtime/app"
)

// resetURL waits for the reset link the node logs for an admin (no SMTP:
// PORTALSPEC §1.6 [D]) and returns it.
func resetURL(t *testing.T, logs *testnode.LogBuffer, admin string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, line := range strings.Split(logs.String(), "\n") {
			var rec struct {
				Msg   string `json:"msg"`
				Admin string `json:"admin"`
				URL   string `json:"url"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Admin == admin && strings.Contains(rec.Msg, "password reset") && rec.URL != "" {
				return rec.URL
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reset link logged for %s:\n%s", admin, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBrowserPasswordReset: an admin who forgot their password asks for
// a reset on Kong Manager's sign-in page ("Forgot your password?" →
// POST /admins/password_resets), opens the link the node issued
// (/account/reset-password?email&token, a nested page path whose query
// must reach the page), sets a new password (PATCH
// /admins/password_resets) and signs in with it; the old password and
// the used link no longer work.
func TestBrowserPasswordReset(t *testing.T) {
	t.Setenv("GATEHOUSE_RBAC_BOOTSTRAP_TOKEN", rootToken)
	logs := &testnode.LogBuffer{}
	// No admin_gui_url: the Admin API's CORS allows the page's own origin
	// (the GUI on a test port), and the links are relative to the GUI.
	n := testnode.StartWith(t, map[string]string{"enforce_rbac": "on", "admin_gui_auth": "basic-auth",
		"admin_gui_session_conf": sessionConf, "log_level": "info"},
		app.Options{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	c := newClient(t, n)
	c.must(200, c.root("POST", "/admins", map[string]any{"username": "carol", "email": "carol@example.test"}), "invite")
	c.must(201, c.root("POST", "/admins/carol/roles", map[string]any{"roles": "super-admin"}), "grant")
	reg, _ := c.must(200, c.root("GET", "/admins/carol?generate_register_url=true", nil), "link").body["register_url"].(string)
	ru, err := url.Parse(reg)
	if err != nil {
		t.Fatal(err)
	}
	c.signUp(ru.Query(), "carol-old-pw")

	gui, b := startGUI(t, n)

	b.Step("forgot password from the sign-in page",
		chromedp.Navigate(gui+"/#/login"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.Click(chromedp.CSS("#forgot-link")),
		browser.Ready("#/forgot-password"),
		chromedp.SendKeys(chromedp.CSS("#forgot-email"), "carol@example.test"),
		chromedp.Click(chromedp.CSS("#forgot-submit")),
		browser.ExpectText("#forgot-status .banner.ok", "a reset link was issued"),
	)
	logged := resetURL(t, logs, "carol")
	u, err := url.Parse(logged)
	if err != nil || u.Host != "" || u.Path != "/account/reset-password" || u.Query().Get("email") != "carol@example.test" || u.Query().Get("token") == "" {
		t.Fatalf("reset link %q", logged)
	}
	link := u.RequestURI()
	b.Step("reset page",
		chromedp.Navigate(gui+link),
		chromedp.WaitVisible(chromedp.CSS("#reset-form")),
		browser.ExpectText("#reset-email", "carol@example.test"),
		passwordForm("reset", "carol-new-pw", "carol-other"),
		browser.ExpectText("#reset-status [role=alert]", "The passwords differ."),
	)
	b.Keep("runtime/manager/screenshots", "password-reset.png")
	b.Step("set the new password",
		chromedp.SetValue(chromedp.CSS("#reset-confirm"), "carol-new-pw"),
		chromedp.Click(chromedp.CSS("#reset-submit")),
		browser.Ready("#/login"),
		browser.ExpectText("main .banner.ok", "Password changed"),
	)
	b.Step("sign in with the new password",
		signIn("carol", "carol-new-pw"),
	)
	if a := c.do("GET", "/auth", map[string]string{"Authorization": basic("carol", "carol-old-pw"), "Kong-Admin-User": "carol"}, nil); a.status != 401 {
		t.Fatalf("old password after the reset: %d %s", a.status, a.raw)
	}
	b.Step("the used link is refused",
		chromedp.Navigate(gui+link),
		chromedp.WaitVisible(chromedp.CSS("#reset-form")),
		passwordForm("reset", "carol-third", "carol-third"),
		browser.ExpectText("#reset-status [role=alert]", "401"),
	)
}
