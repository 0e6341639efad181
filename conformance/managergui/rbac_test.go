package managergui_test

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
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

	w.step("no token: Kong's 401",
		w.open("#/consumers"),
		expectText("main [role=alert]", "401: Invalid credentials. Token or User credentials required"),
	)
	setToken := func(tok string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			into(chromedp.Evaluate[bool](`(() => { document.getElementById('admin-token').value = ''; return true })()`), new(bool)),
			chromedp.SendKeys(chromedp.CSS("#admin-token"), tok),
			chromedp.Click(chromedp.CSS(`#token-form button`)),
		)
	}
	var n int
	w.step("reader's token: lists work",
		setToken(readerToken),
		expectText("main .banner.ok", "Token set for this tab."),
		expectText("main table", "existing"),
		rows(&n),
	)
	if n != 1 {
		t.Fatalf("reader sees %d consumers, want 1", n)
	}
	w.step("reader's edit is refused",
		w.open("#/consumers/new"),
		fill("username", "sneaky"),
		submit(),
		expectText("main [role=alert]", "403: reader, you do not have permissions to create this resource"),
	)
	if code := w.api("GET", "/consumers/sneaky", nil, nil); code != http.StatusNotFound {
		t.Fatalf("the refused consumer exists: GET answers %d", code)
	}
	w.step("super-admin's token: the same create works",
		setToken(rootToken),
		w.open("#/consumers/new"),
		fill("username", "allowed"),
		submit(),
		expectText("main .banner.ok", "Created allowed."),
	)
	w.mustAPI(http.StatusOK, "GET", "/consumers/allowed", nil, nil)
}
