package managergui_test

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/gatehouse/gatehouse/conformance/browser"
	"github.com/gatehouse/gatehouse/runtime/app"
)

// TestAccessibility: text contrast on each kind of page (with an error
// and a success banner shown), labels on every control, and a consumer
// created with the keyboard alone.
func TestAccessibility(t *testing.T) {
	w := newWalkWith(t, portalSettings(), app.Options{})
	w.mustAPI(201, "POST", "/services", map[string]any{"name": "a11y", "host": "example.test", "tags": []string{"t"}}, nil)
	// The Dev Portal pages, with something in each.
	w.mustAPI(200, "PATCH", "/workspaces/default", map[string]any{"config": map[string]any{"portal": true, "portal_auth": "basic-auth"}}, nil)
	w.mustAPI(201, "POST", "/developers/roles", map[string]any{"name": "dev"}, nil)
	w.mustAPI(201, "POST", "/files", map[string]any{"path": "specs/a11y.yml", "contents": "x-headmatter:\n  readable_by:\n    - dev\nopenapi: 3.0.0\ninfo:\n  title: A11y\n  version: '1'\npaths: {}\n"}, nil)
	w.mustAPI(201, "POST", "/rbac/roles", map[string]any{"name": "reviewer"}, nil)
	w.mustAPI(201, "POST", "/rbac/roles/reviewer/endpoints", map[string]any{"endpoint": "/services/*", "actions": "read,update", "negative": true}, nil)
	w.mustAPI(201, "POST", "/rbac/users", map[string]any{"name": "a11y-user", "roles": "reviewer"}, nil)
	var dev struct {
		ID string `json:"id"`
	}
	if code := w.api("POST", "/developers", map[string]any{"email": "a11y@example.test", "password": "pw-a11y", "meta": `{"full_name":"A"}`}, &dev); code/100 != 2 || dev.ID == "" {
		t.Fatalf("POST /developers: %d %+v", code, dev)
	}
	// The Threat protection page with a denied address, a plugin and an
	// event in it; the dashboard with its Traffic card filled.
	w.mustAPI(201, "POST", "/denied-ips", map[string]any{"ip": "192.0.2.1", "reason": "a11y"}, nil)
	w.mustAPI(201, "POST", "/services/a11y/routes", map[string]any{"name": "a11y-route", "paths": []string{"/a11y"}}, nil)
	w.mustAPI(201, "POST", "/plugins", map[string]any{"name": "threat-protection", "config": map[string]any{"rules": []any{
		map[string]any{"name": "a11y-credential", "filters": map[string]any{"require_credential": true}}}}}, nil)
	w.mustAPI(201, "POST", "/plugins", map[string]any{"name": "prometheus", "config": map[string]any{"status_code_metrics": true, "latency_metrics": true}}, nil)
	w.proxyStatus("/a11y", nil, http.StatusForbidden)
	pages := []string{"#/threat-protection", "#/", "#/services", "#/services/a11y", "#/routes/new", "#/plugins/new", "#/plugins/new?name=rate-limiting", "#/certificates/new", "#/upstreams/new",
		"#/portal/settings", "#/portal/specs", "#/portal/files/specs%2Fa11y.yml", "#/portal/developers", "#/portal/developers/" + dev.ID, "#/portal/roles", "#/portal/applications",
		"#/rbac/roles", "#/rbac/roles/reviewer", "#/rbac/users", "#/rbac/users/a11y-user", "#/teams",
		"#/filter-chains", "#/filter-chains/new", "#/forgot-password"}
	for _, p := range pages {
		var bad []string
		w.Step("contrast "+p,
			w.open(p),
			browser.Labelled(p),
			browser.Into(chromedp.Evaluate[[]string](browser.LowContrastScript), &bad),
		)
		if len(bad) > 0 {
			t.Errorf("%s: text under 4.5:1 contrast: %v", p, bad)
		}
	}
	var bad []string
	w.Step("contrast of an error",
		w.open("#/plugins/new?name=rate-limiting"),
		submit(),
		browser.ExpectText("main [role=alert]", "schema violation"),
		browser.Into(chromedp.Evaluate[[]string](browser.LowContrastScript), &bad),
	)
	if len(bad) > 0 {
		t.Errorf("error state: text under 4.5:1 contrast: %v", bad)
	}

	// Keyboard only: after navigation focus is on the page's heading; Tab
	// reaches the first field, typing fills it, Tab walks on to the
	// submit button and Enter sends the form.
	w.CheckHeadingFocus("keyboard: heading has focus after navigation", "New consumer",
		w.open("#/"),
		chromedp.Click(chromedp.CSS(`nav a[href="#/consumers"]`)),
		browser.Ready("#/consumers"),
		chromedp.Click(chromedp.CSS(`main a[href="#/consumers/new"]`)),
		browser.Ready("#/consumers/new"),
	)
	var active string
	w.Step("keyboard: fill and send",
		chromedp.KeyEvent("\t"),
		chromedp.KeyEvent("kb-user"),
		chromedp.KeyEvent("\t"),
		chromedp.KeyEvent("kb-custom"),
		chromedp.KeyEvent("\t"), // tags
		chromedp.KeyEvent("\t"), // Create
		browser.Into(chromedp.Evaluate[string](`document.activeElement.textContent`), &active),
	)
	if active != "Create" {
		t.Fatalf("Tab order reached %q, want the Create button", active)
	}
	w.Step("keyboard: Enter",
		chromedp.KeyEvent("\r"),
		browser.ReadyPrefix("#/consumers/", new(string)),
		browser.ExpectText("main .banner.ok", "Created kb-user."),
	)
	var c struct {
		CustomID string `json:"custom_id"`
	}
	w.mustAPI(http.StatusOK, "GET", "/consumers/kb-user", nil, &c)
	if c.CustomID != "kb-custom" {
		t.Fatalf("consumer made with the keyboard: custom_id %q", c.CustomID)
	}
}
