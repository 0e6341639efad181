package managergui_test

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/gatehouse/gatehouse/runtime/app"
)

// lowContrast lists visible text whose colour against its effective
// background is under WCAG AA's 4.5:1 (normal text).
const lowContrast = `(() => {
  const rgb = (s) => { const m = s.match(/rgba?\(([^)]+)\)/); if (!m) return null; const p = m[1].split(',').map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const bg = (el) => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c && c.a > 0) return c; } return { r: 255, g: 255, b: 255, a: 1 }; };
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el || !el.offsetParent && el !== document.body) continue;
    if (el.closest('[hidden]') || el.closest('noscript') || el.closest('option')) continue;
    const fg = rgb(getComputedStyle(el).color), b = bg(el);
    const l1 = lum(fg), l2 = lum(b);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    if (ratio < 4.5) bad.push(n.textContent.trim().slice(0, 30) + ' ' + ratio.toFixed(2));
  }
  return bad;
})()`

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
	pages := []string{"#/", "#/services", "#/services/a11y", "#/routes/new", "#/plugins/new", "#/plugins/new?name=rate-limiting", "#/certificates/new", "#/upstreams/new",
		"#/portal/settings", "#/portal/specs", "#/portal/files/specs%2Fa11y.yml", "#/portal/developers", "#/portal/developers/" + dev.ID, "#/portal/roles", "#/portal/applications",
		"#/rbac/roles", "#/rbac/roles/reviewer", "#/rbac/users", "#/rbac/users/a11y-user", "#/teams",
		"#/filter-chains", "#/filter-chains/new", "#/forgot-password"}
	for _, p := range pages {
		var bad []string
		w.step("contrast "+p,
			w.open(p),
			w.expectLabelled(p),
			into(chromedp.Evaluate[[]string](lowContrast), &bad),
		)
		if len(bad) > 0 {
			t.Errorf("%s: text under 4.5:1 contrast: %v", p, bad)
		}
	}
	var bad []string
	w.step("contrast of an error",
		w.open("#/plugins/new?name=rate-limiting"),
		submit(),
		expectText("main [role=alert]", "schema violation"),
		into(chromedp.Evaluate[[]string](lowContrast), &bad),
	)
	if len(bad) > 0 {
		t.Errorf("error state: text under 4.5:1 contrast: %v", bad)
	}

	// Keyboard only: after navigation focus is on the page's heading; Tab
	// reaches the first field, typing fills it, Tab walks on to the
	// submit button and Enter sends the form.
	var active string
	w.step("keyboard: heading has focus after navigation",
		w.open("#/"),
		chromedp.Click(chromedp.CSS(`nav a[href="#/consumers"]`)),
		w.ready("#/consumers"),
		chromedp.Click(chromedp.CSS(`main a[href="#/consumers/new"]`)),
		w.ready("#/consumers/new"),
		into(chromedp.Evaluate[string](`document.activeElement.tagName + ':' + document.activeElement.textContent`), &active),
	)
	if active != "H1:New consumer" {
		t.Fatalf("focus after navigation on %q, want the heading", active)
	}
	w.step("keyboard: fill and send",
		chromedp.KeyEvent("\t"),
		chromedp.KeyEvent("kb-user"),
		chromedp.KeyEvent("\t"),
		chromedp.KeyEvent("kb-custom"),
		chromedp.KeyEvent("\t"), // tags
		chromedp.KeyEvent("\t"), // Create
		into(chromedp.Evaluate[string](`document.activeElement.textContent`), &active),
	)
	if active != "Create" {
		t.Fatalf("Tab order reached %q, want the Create button", active)
	}
	w.step("keyboard: Enter",
		chromedp.KeyEvent("\r"),
		w.readyPrefix("#/consumers/", new(string)),
		expectText("main .banner.ok", "Created kb-user."),
	)
	var c struct {
		CustomID string `json:"custom_id"`
	}
	w.mustAPI(http.StatusOK, "GET", "/consumers/kb-user", nil, &c)
	if c.CustomID != "kb-custom" {
		t.Fatalf("consumer made with the keyboard: custom_id %q", c.CustomID)
	}
}
