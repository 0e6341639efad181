package managergui_test

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/gatehouse/gatehouse/conformance/browser"
	"github.com/gatehouse/gatehouse/runtime/app"
)

const rootToken = "gui-bootstrap-token-5d2c9e0b7a4f"

// TestRBACToken: on a node enforcing RBAC the GUI holds no back door —
// without a token every page is Kong's 401; with the super-admin's token
// it works; with a read-only admin's token it reads, and an edit is
// refused with Kong Enterprise's 403, shown in the form.
func TestRBACToken(t *testing.T) {
	t.Setenv("GATEHOUSE_RBAC_BOOTSTRAP_TOKEN", rootToken)
	w := newWalkWith(t, map[string]string{"enforce_rbac": "on"}, app.Options{})
	w.token = rootToken
	var user map[string]any
	w.mustAPI(201, "POST", "/rbac/users", map[string]any{"name": "reader"}, &user)
	readerToken, _ := user["user_token"].(string)
	w.mustAPI(201, "POST", "/rbac/users/reader/roles", map[string]any{"roles": "read-only"}, nil)
	w.mustAPI(201, "POST", "/consumers", map[string]any{"username": "existing"}, nil)

	w.Step("no token: Kong's 401",
		w.open("#/consumers"),
		browser.ExpectText("main [role=alert]", "401: Invalid credentials. Token or User credentials required"),
	)
	var n int
	w.Step("reader's token: lists work",
		setToken(readerToken),
		browser.ExpectText("main .banner.ok", "Token set for this tab."),
		browser.ExpectText("main table", "existing"),
		rows(&n),
	)
	if n != 1 {
		t.Fatalf("reader sees %d consumers, want 1", n)
	}
	w.Step("reader's edit is refused",
		w.open("#/consumers/new"),
		browser.Fill("username", "sneaky"),
		submit(),
		browser.ExpectText("main [role=alert]", "403: reader, you do not have permissions to create this resource"),
	)
	if code := w.api("GET", "/consumers/sneaky", nil, nil); code != http.StatusNotFound {
		t.Fatalf("the refused consumer exists: GET answers %d", code)
	}
	w.Step("super-admin's token: the same create works",
		setToken(rootToken),
		w.open("#/consumers/new"),
		browser.Fill("username", "allowed"),
		submit(),
		browser.ExpectText("main .banner.ok", "Created allowed."),
	)
	w.mustAPI(http.StatusOK, "GET", "/consumers/allowed", nil, nil)
}

// openWithToken opens the dashboard, sets the token in the header's
// form, then opens hash.
func (w *walk) openWithToken(tok, hash string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(w.open("#/"), setToken(tok), w.open(hash))
}

// setToken types a Kong-Admin-Token into the header's form and uses it.
func setToken(tok string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		browser.Into(chromedp.Evaluate[bool](`(() => { document.getElementById('admin-token').value = ''; return true })()`), new(bool)),
		chromedp.SendKeys(chromedp.CSS("#admin-token"), tok),
		chromedp.Click(chromedp.CSS(`#token-form button`)),
	)
}

// TestRBACRoleScreens: on an enforce_rbac node, the super-admin makes a
// role in the GUI (read everything, create consumers) and an RBAC user
// holding it; with that user's token the GUI reads a service but its
// edit is refused with Kong Enterprise's 403, shown in the form, while a
// consumer create goes through.
func TestRBACRoleScreens(t *testing.T) {
	t.Setenv("GATEHOUSE_RBAC_BOOTSTRAP_TOKEN", rootToken)
	w := newWalkWith(t, map[string]string{"enforce_rbac": "on"}, app.Options{})
	w.token = rootToken
	var svc map[string]any
	w.mustAPI(201, "POST", "/services", map[string]any{"name": "orders", "host": "orders.test"}, &svc)

	w.Step("super-admin creates a role",
		w.openWithToken(rootToken, "#/rbac/roles"),
		browser.Labelled("rbac roles"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-name="read-only"]`)),
		browser.Fill("rbac-role-name", "reader-plus"),
		chromedp.Click(chromedp.CSS("#rbac-role-create")),
		browser.Ready("#/rbac/roles/reader-plus"),
		browser.ExpectText("main .banner.ok", "Created role reader-plus"),
	)
	w.Step("read of every endpoint",
		browser.Labelled("rbac role"),
		browser.Fill("rbac-endpoint-path", "*"),
		browser.Check("#rbac-action-read"),
		chromedp.Click(chromedp.CSS("#rbac-endpoint-add")),
		browser.ExpectText("main .banner.ok", "Added * to reader-plus."),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-endpoint="*"]`)),
	)
	w.Step("create of consumers",
		browser.Fill("rbac-endpoint-path", "/consumers"),
		browser.Check("#rbac-action-create"),
		chromedp.Click(chromedp.CSS("#rbac-endpoint-add")),
		browser.ExpectText("main .banner.ok", "Added /consumers to reader-plus."),
		browser.ExpectText(`tr[data-endpoint="/consumers"]`, "create"),
	)
	w.keep("rbac-role")
	var eps struct {
		Data []struct {
			Endpoint  string   `json:"endpoint"`
			Actions   []string `json:"actions"`
			Negative  bool     `json:"negative"`
			Workspace string   `json:"workspace"`
		} `json:"data"`
	}
	w.mustAPI(http.StatusOK, "GET", "/rbac/roles/reader-plus/endpoints", nil, &eps)
	if len(eps.Data) != 2 {
		t.Fatalf("role endpoints: %+v", eps.Data)
	}
	for _, e := range eps.Data {
		if e.Negative || e.Workspace != "default" || len(e.Actions) != 1 {
			t.Fatalf("role endpoint %+v", e)
		}
	}

	var tok string
	w.Step("create an RBAC user with the role",
		w.open("#/rbac/users"),
		browser.Labelled("rbac users"),
		browser.Fill("rbac-user-name", "limited"),
		chromedp.SetValue(chromedp.CSS("#rbac-user-role"), "reader-plus"),
		chromedp.Click(chromedp.CSS("#rbac-user-create")),
		chromedp.WaitVisible(chromedp.CSS("#rbac-user-token-created")),
		browser.Into(chromedp.Text(chromedp.CSS("#rbac-user-token-created")), &tok),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-name="limited"]`)),
	)
	if len(tok) < 16 {
		t.Fatalf("generated token shown: %q", tok)
	}
	w.Step("the user's page lists the role",
		chromedp.Click(chromedp.CSS(`tr[data-name="limited"] a`)),
		browser.Ready("#/rbac/users/limited"),
		browser.Labelled("rbac user"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-role="reader-plus"]`)),
	)
	w.keep("rbac-user")

	w.Step("with the user's token: the service reads, its edit is refused",
		setToken(tok),
		browser.ExpectText("main .banner.ok", "Token set for this tab."),
		w.open("#/services/"+svc["id"].(string)),
		browser.Fill("host", "evil.test"),
		submit(),
		browser.ExpectText("main [role=alert]", "403: limited, you do not have permissions to update this resource"),
	)
	w.keep("rbac-refused-edit")
	var after map[string]any
	w.mustAPI(http.StatusOK, "GET", "/services/orders", nil, &after)
	if after["host"] != "orders.test" {
		t.Fatalf("refused edit changed the service: host %v", after["host"])
	}
	w.Step("with the user's token: a consumer create goes through",
		w.open("#/consumers/new"),
		browser.Fill("username", "made-by-limited"),
		submit(),
		browser.ExpectText("main .banner.ok", "Created made-by-limited."),
	)
	w.mustAPI(http.StatusOK, "GET", "/consumers/made-by-limited", nil, nil)

	// The super-admin disables the user in the GUI: its token stops working.
	w.Step("disable the user",
		setToken(rootToken),
		w.open("#/rbac/users/limited"),
		chromedp.Click(chromedp.CSS("#rbac-user-edit-enabled")),
		chromedp.Click(chromedp.CSS("#rbac-user-save")),
		browser.ExpectText("main .banner.ok", "Saved limited."),
		browser.ExpectText("#rbac-user-enabled-now", "no"),
	)
	w.token = tok
	if code := w.api("GET", "/services", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("a disabled user's token: %d, want 401", code)
	}
}

// TestTeamsScreens: with enable_teams, a team made in the GUI, an RBAC
// user added as its member and a role given to it, each checked on the
// Admin API.
func TestTeamsScreens(t *testing.T) {
	t.Setenv("GATEHOUSE_RBAC_BOOTSTRAP_TOKEN", rootToken)
	w := newWalkWith(t, map[string]string{"enforce_rbac": "on", "enable_teams": "on"}, app.Options{})
	w.token = rootToken
	w.mustAPI(201, "POST", "/rbac/users", map[string]any{"name": "member-one"}, nil)
	w.Step("create a team",
		w.openWithToken(rootToken, "#/teams"),
		browser.Labelled("teams"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-name="Administrators"]`)),
		browser.Fill("team-name", "payments"),
		chromedp.Click(chromedp.CSS("#team-create")),
		browser.Ready("#/teams/payments"),
		browser.ExpectText("main .banner.ok", "Created team payments."),
	)
	w.Step("add a member and a role",
		browser.Labelled("team"),
		chromedp.SetValue(chromedp.CSS("#team-member-user"), "member-one"),
		chromedp.Click(chromedp.CSS("#team-member-add")),
		browser.ExpectText("main .banner.ok", "Added member-one to payments."),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-member="member-one"]`)),
		chromedp.SetValue(chromedp.CSS("#team-role"), "read-only"),
		chromedp.Click(chromedp.CSS("#team-role-add")),
		browser.ExpectText("main .banner.ok", "Added role read-only to payments."),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-role="read-only"]`)),
	)
	w.keep("teams")
	var members struct {
		Data []struct {
			User struct {
				Name string `json:"name"`
			} `json:"user"`
		} `json:"data"`
	}
	w.mustAPI(http.StatusOK, "GET", "/teams/payments/members", nil, &members)
	if len(members.Data) != 1 || members.Data[0].User.Name != "member-one" {
		t.Fatalf("team members: %+v", members.Data)
	}
	var roles struct {
		Roles []struct {
			Name string `json:"name"`
		} `json:"roles"`
	}
	w.mustAPI(http.StatusOK, "GET", "/teams/payments/roles", nil, &roles)
	if len(roles.Roles) != 1 || roles.Roles[0].Name != "read-only" {
		t.Fatalf("team roles: %+v", roles.Roles)
	}
}
