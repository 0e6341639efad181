package managergui_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/conformance/browser"
	"github.com/gatehouse/gatehouse/runtime/app"
)

// threatHash is the Threat protection page.
const threatHash = "#/threat-protection"

// TestThreatProtectionPage: the loopback client's own address denied in
// the GUI and refused by the proxy (403 "IP address not allowed"), then
// deleted in the GUI and let through again; a threat-protection plugin
// made through the page's link to its schema form, a JSON body over its
// depth limit refused by the proxy and the event listed on the page
// (time, rule, action, status, client IP, method, path); the events
// paged by the next link.
func TestThreatProtectionPage(t *testing.T) {
	w := newWalk(t)
	var svc struct{ ID string }
	w.mustAPI(http.StatusCreated, "POST", "/services", map[string]any{"name": "guarded", "host": w.upstreamHost(), "port": w.upstreamPort()}, &svc)
	w.mustAPI(http.StatusCreated, "POST", "/services/guarded/routes", map[string]any{"name": "guarded-route", "paths": []string{"/guarded"}}, nil)
	w.proxyStatus("/guarded/hi", nil, http.StatusOK)

	w.Step("empty page",
		w.open(threatHash),
		browser.ExpectText("#threat-denied-section", "No denied addresses yet."),
		browser.ExpectText("#threat-plugins-section", "No threat-protection plugins yet."),
		chromedp.WaitVisible(chromedp.CSS(`nav a[href="#/threat-protection"][aria-current="page"]`)),
	)

	// The proxy sees the test's client as 127.0.0.1.
	w.Step("deny 127.0.0.1",
		browser.Fill("denied-ip", "127.0.0.1"),
		browser.Fill("denied-reason", "gui test"),
		chromedp.Click(chromedp.CSS("#denied-add")),
		browser.ExpectText("main .banner.ok", "Denied 127.0.0.1."),
		browser.ExpectText(`tr[data-ip="127.0.0.1"]`, "gui test"),
	)
	w.keep("threat-protection")
	body := w.proxyStatus("/guarded/hi", nil, http.StatusForbidden)
	if !strings.Contains(body, "IP address not allowed") {
		t.Fatalf("denied client's answer: %s", body)
	}
	var list struct {
		Data []struct{ IP, Reason string }
	}
	w.mustAPI(http.StatusOK, "GET", "/denied-ips", nil, &list)
	if len(list.Data) != 1 || list.Data[0].IP != "127.0.0.1" || list.Data[0].Reason != "gui test" {
		t.Fatalf("GET /denied-ips = %+v", list.Data)
	}

	w.Step("the refusal is a threat event",
		w.open("#/"), w.open(threatHash),
		browser.ExpectText(`#threat-events tr[data-rule="denied_ips"]`, "127.0.0.1"),
	)
	w.Step("a bad address is refused in Kong's words",
		browser.Fill("denied-ip", "not-an-ip"),
		chromedp.Click(chromedp.CSS("#denied-add")),
		browser.ExpectText("#denied-status [role=alert]", "400: "),
	)
	w.Step("delete the denied address",
		chromedp.Click(chromedp.CSS(`tr[data-ip="127.0.0.1"] button[data-action="delete"]`)),
		chromedp.Click(chromedp.CSS(`tr[data-ip="127.0.0.1"] button[data-action="confirm-delete"]`)),
		browser.ExpectText("main .banner.ok", "Removed 127.0.0.1 from the denied addresses."),
		browser.ExpectText("#threat-denied-section", "No denied addresses yet."),
	)
	w.proxyStatus("/guarded/hi", nil, http.StatusOK)

	// A threat-protection plugin on the service, through the page's link
	// to the plugin's schema form (rules is an array of records: JSON).
	w.Step("add a threat-protection plugin from the page",
		w.open(threatHash),
		chromedp.Click(chromedp.CSS("#threat-plugin-new")),
		browser.Ready("#/plugins/new?name=threat-protection"),
		browser.Labelled("threat-protection form"),
		chromedp.WaitReady(chromedp.CSS(fmt.Sprintf(`main select[name="service"] option[value="%s"]`, svc.ID))),
		chromedp.SetValue(chromedp.CSS(`main select[name="service"]`), svc.ID),
		browser.SetText(`main [name="config.rules"]`, `[{"name":"gui-json-depth","message":"json too deep","filters":{"json":{"max_container_depth":2}}}]`),
		submit(),
		browser.ExpectText("main .banner.ok", "Created"),
	)
	deep := `{"a":{"b":[1]}}`
	bodyOf := w.http.Eventually("deep JSON refused", func() (browser.Answer, error) {
		return w.http.Try("POST", w.proxy+"/guarded/deep", []byte(deep), map[string]string{"Content-Type": "application/json"})
	}, func(a browser.Answer) bool { return a.Status == http.StatusForbidden })
	if !strings.Contains(string(bodyOf.Body), "json too deep") {
		t.Fatalf("deep JSON answer: %s", bodyOf.Body)
	}
	w.Step("the event is listed",
		w.open("#/"), w.open(threatHash),
		browser.ExpectText(`#threat-events tbody tr:first-child`, "gui-json-depth"),
		browser.ExpectText(`#threat-events tbody tr:first-child`, "POST"),
		browser.ExpectText(`#threat-events tbody tr:first-child`, "/guarded/deep"),
		browser.ExpectText(`#threat-events tbody tr:first-child`, "403"),
		browser.ExpectText(`#threat-events tbody tr:first-child`, "127.0.0.1"),
		chromedp.WaitReady(chromedp.CSS(`#threat-events tbody tr:first-child[data-event-action="deny"]`)),
		browser.ExpectText(`#threat-plugins-section table`, "service "+svc.ID),
	)
	w.keep("threat-events")

	// More events than a page: 30 refusals, the page shows 25 newest
	// first, "Older events" follows the next link to the rest.
	for i := 0; i < 30; i++ {
		a := w.http.Do("POST", fmt.Sprintf("%s/guarded/many-%02d", w.proxy, i), []byte(deep), map[string]string{"Content-Type": "application/json"})
		if a.Status != http.StatusForbidden {
			t.Fatalf("request %d: %d %s", i, a.Status, a.Body)
		}
	}
	var first, older []string
	w.Step("events paged: newest first",
		w.open("#/"), w.open(threatHash),
		browser.ExpectText(`#threat-events tbody tr:first-child`, "/guarded/many-29"),
		browser.Into(chromedp.Evaluate[[]string](`[...document.querySelectorAll('#threat-events tbody tr')].map((r) => r.cells[6].textContent)`), &first),
	)
	w.Step("events paged: older",
		chromedp.Click(chromedp.CSS("#threat-events-next")),
		browser.ReadyPrefix("#/threat-protection?before=", new(string)),
		chromedp.WaitVisible(chromedp.CSS("#threat-events-first")),
		browser.Into(chromedp.Evaluate[[]string](`[...document.querySelectorAll('#threat-events tbody tr')].map((r) => r.cells[6].textContent)`), &older),
	)
	if len(first) != 25 || first[0] != "/guarded/many-29" || first[24] != "/guarded/many-05" {
		t.Fatalf("first page of events: %d %v", len(first), first)
	}
	// Older: many-04..00, the deep request, then the denied_ips refusals.
	if len(older) < 6 || older[0] != "/guarded/many-04" || older[4] != "/guarded/many-00" || older[5] != "/guarded/deep" {
		t.Fatalf("older events: %v", older)
	}
}

// TestThreatProtectionRBAC: an RBAC user allowed to read plugins but not
// /denied-ips nor /threat-events sees Kong's 403 in those two sections of
// the page, the plugins section still listed.
func TestThreatProtectionRBAC(t *testing.T) {
	t.Setenv("GATEHOUSE_RBAC_BOOTSTRAP_TOKEN", rootToken)
	w := newWalkWith(t, map[string]string{"enforce_rbac": "on"}, app.Options{})
	w.token = rootToken
	w.mustAPI(http.StatusCreated, "POST", "/rbac/roles", map[string]any{"name": "plugin-reader"}, nil)
	w.mustAPI(http.StatusCreated, "POST", "/rbac/roles/plugin-reader/endpoints", map[string]any{"endpoint": "/plugins", "actions": "read"}, nil)
	var user map[string]any
	w.mustAPI(http.StatusCreated, "POST", "/rbac/users", map[string]any{"name": "pr", "roles": "plugin-reader"}, &user)
	tok, _ := user["user_token"].(string)
	w.Step("403s shown per section",
		w.openWithToken(tok, threatHash),
		browser.ExpectText("#threat-denied-section [role=alert]", "403: pr, you do not have permissions to read this resource"),
		browser.ExpectText("#threat-events-title-section [role=alert]", "403: "),
		browser.ExpectText("#threat-plugins-section", "No threat-protection plugins yet."),
	)
}
