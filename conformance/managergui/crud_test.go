package managergui_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/conformance/browser"
)

// rows counts the rows of the first table in main.
func rows(n *int) chromedp.Action[chromedp.Void] {
	return browser.Into(chromedp.Evaluate[int](`(() => { const t = document.querySelector('main table'); return t ? t.tBodies[0].rows.length : 0 })()`), n)
}

// TestEditAndDelete edits a service and a route in the GUI (PATCH with
// every field the form shows), checks the proxy follows, then deletes the
// route with the in-place confirmation.
func TestEditAndDelete(t *testing.T) {
	w := newWalk(t)
	var svc, route struct{ ID string }
	w.mustAPI(201, "POST", "/services", map[string]any{"name": "edit-me", "url": "http://127.0.0.1:9/"}, &svc)
	w.mustAPI(201, "POST", "/services/edit-me/routes", map[string]any{"name": "edit-route", "paths": []string{"/edit"}}, &route)
	w.proxyStatus("/edit", nil, http.StatusBadGateway) // nothing listens on port 9

	_, port, _ := strings.Cut(w.upstream, ":")
	w.Step("edit the service's port",
		w.open("#/services/"+svc.ID),
		browser.Labelled("edit service"),
		browser.Fill("port", port),
		submit(),
		browser.ExpectText("main .banner.ok", "Saved edit-me."),
	)
	var got struct {
		Port int            `json:"port"`
		Tags []string       `json:"tags"`
		Path *string        `json:"path"`
		Cert map[string]any `json:"client_certificate"`
	}
	w.mustAPI(200, "GET", "/services/"+svc.ID, nil, &got)
	if fmt.Sprint(got.Port) != port || got.Path == nil || *got.Path != "/" || got.Cert != nil {
		t.Fatalf("service after the GUI's PATCH: %+v", got)
	}
	w.proxyStatus("/edit/x", nil, http.StatusOK)

	w.Step("edit the route's paths and tags",
		w.open("#/routes/"+route.ID),
		browser.Fill("paths", "/edited\n/second"),
		browser.Fill("tags", "gui\nedited"),
		submit(),
		browser.ExpectText("main .banner.ok", "Saved edit-route."),
	)
	var r struct {
		Paths []string `json:"paths"`
		Tags  []string `json:"tags"`
	}
	w.mustAPI(200, "GET", "/routes/"+route.ID, nil, &r)
	if strings.Join(r.Paths, ",") != "/edited,/second" || strings.Join(r.Tags, ",") != "gui,edited" {
		t.Fatalf("route after the GUI's PATCH: %+v", r)
	}
	w.proxyStatus("/second/y", nil, http.StatusOK)
	w.proxyStatus("/edit/x", nil, http.StatusNotFound)

	var left int
	w.Step("delete the route from its service's page",
		w.open("#/services/"+svc.ID),
		chromedp.Click(chromedp.CSS(`main button[aria-label="Delete edit-route"]`)),
		browser.ExpectText("main button.danger", "Confirm delete of edit-route"),
		chromedp.Click(chromedp.CSS(`main button.danger`)),
		browser.ExpectText("main .banner.ok", "Deleted edit-route."),
		browser.Ready("#/services/"+svc.ID),
		browser.ExpectText(`section[aria-labelledby="sec-routes"]`, "No routes yet."),
		rows(&left),
	)
	if left != 0 {
		t.Fatalf("%d rows left on the service's page after deleting its only route", left)
	}
	if code := w.api("GET", "/routes/"+route.ID, nil, nil); code != 404 {
		t.Fatalf("route after delete: GET answers %d", code)
	}
	w.proxyStatus("/second/y", nil, http.StatusNotFound)

	w.Step("cancel keeps the service",
		w.open("#/services"),
		chromedp.Click(chromedp.CSS(`main button[aria-label="Delete edit-me"]`)),
		chromedp.Click(chromedp.CSS(`main button.secondary:not([aria-label])`)),
		chromedp.WaitVisible(chromedp.CSS(`main button[aria-label="Delete edit-me"]`)),
	)
	if code := w.api("GET", "/services/"+svc.ID, nil, nil); code != 200 {
		t.Fatalf("service after cancel: GET answers %d", code)
	}
}

// TestListPagesTagsAndSearch: Kong's size/offset paging, tag filters
// (a,b all of; a/b any of) and lookup by name or id.
func TestListPagesTagsAndSearch(t *testing.T) {
	w := newWalk(t)
	for i := 0; i < 30; i++ {
		tags := []string{"bulk"}
		if i%2 == 0 {
			tags = append(tags, "even")
		}
		if i%3 == 0 {
			tags = append(tags, "third")
		}
		w.mustAPI(201, "POST", "/services", map[string]any{"name": fmt.Sprintf("svc-%02d", i), "host": "example.test", "tags": tags}, nil)
	}
	var first, second, even, both, any, one, none int
	var nextRoute string
	w.Step("first page",
		w.open("#/services"),
		rows(&first),
		chromedp.Click(chromedp.CSS(`main nav[aria-label="Pages"] a`)),
		browser.ReadyPrefix("#/services?offset=", &nextRoute),
		rows(&second),
	)
	if first != 25 || second != 5 {
		t.Fatalf("pages of 30 services: %d then %d rows, want 25 then 5", first, second)
	}
	w.Step("filter by one tag",
		w.open("#/services"),
		browser.Fill("tags", "even"),
		chromedp.Click(chromedp.CSS(`main form[role="search"] button[type="submit"]`)),
		browser.Ready("#/services?tags=even"),
		rows(&even),
	)
	w.Step("tags all of",
		w.open("#/services?tags=even,third"),
		rows(&both),
	)
	w.Step("tags any of",
		w.open("#/services?tags=even/third"),
		rows(&any),
	)
	if even != 15 || both != 5 || any != 20 {
		t.Fatalf("tag filters: even %d (want 15), even,third %d (want 5), even/third %d (want 20)", even, both, any)
	}
	w.Step("search by name",
		w.open("#/services"),
		browser.Fill("q", "svc-07"),
		chromedp.Click(chromedp.CSS(`main form[role="search"] button[type="submit"]`)),
		browser.Ready("#/services?q=svc-07"),
		rows(&one),
		browser.ExpectText("main table", "svc-07"),
	)
	w.Step("search finds nothing",
		w.open("#/services?q=nope"),
		rows(&none),
		browser.ExpectText("main [role=status]", "No services with name or ID “nope”."),
	)
	if one != 1 || none != 0 {
		t.Fatalf("search: %d rows for svc-07, %d for nope", one, none)
	}
}

// TestNestedErrors: Kong's errors land next to the nested field they
// name (an array element inside config, a whole config record).
func TestNestedErrors(t *testing.T) {
	w := newWalk(t)
	w.Step("bad key name inside config",
		w.open("#/plugins/new?name=key-auth"),
		browser.Fill("config.key_names", "bad name!"),
		submit(),
		browser.ExpectText(`main [data-field="config.key_names"] .error`, "item 1: bad header name 'bad name!'"),
		browser.ExpectText(`main [role=alert]`, "schema violation"),
	)
	var focused string
	w.Step("focus moves to the field in error",
		browser.Into(chromedp.Evaluate[string](`document.activeElement.name`), &focused))
	if focused != "config.key_names" {
		t.Fatalf("focus on %q after a field error, want config.key_names", focused)
	}
	w.Step("record-level error on config",
		w.open("#/plugins/new?name=rate-limiting"),
		browser.Labelled("rate-limiting form"),
		submit(),
		browser.ExpectText(`main fieldset[data-field="config"] > .error`, "at least one of these fields must be non-empty"),
	)
	w.Step("then a valid rate-limiting plugin",
		browser.Fill("config.minute", "5"),
		submit(),
		browser.ReadyPrefix("#/plugins/", new(string)),
		browser.ExpectText("main .banner.ok", "Created rate-limiting."),
	)
	var list struct {
		Data []struct {
			ID     string         `json:"id"`
			Name   string         `json:"name"`
			Config map[string]any `json:"config"`
		} `json:"data"`
	}
	w.mustAPI(200, "GET", "/plugins", nil, &list)
	if len(list.Data) != 1 || list.Data[0].Name != "rate-limiting" || fmt.Sprint(list.Data[0].Config["minute"]) != "5" {
		t.Fatalf("plugins after the GUI: %+v", list.Data)
	}

	// Editing one config field keeps the others as they were.
	w.Step("edit the plugin's config",
		w.open("#/plugins/"+list.Data[0].ID),
		browser.ExpectText("#plugin-chosen", "rate-limiting"),
		browser.Fill("config.minute", "10"),
		browser.Fill("config.hour", "100"),
		submit(),
		browser.ExpectText("main .banner.ok", "Saved rate-limiting."),
	)
	var after struct {
		Config map[string]any `json:"config"`
	}
	w.mustAPI(200, "GET", "/plugins/"+list.Data[0].ID, nil, &after)
	if fmt.Sprintf("%v %v %v %v", after.Config["minute"], after.Config["hour"], after.Config["policy"], after.Config["limit_by"]) != "10 100 local consumer" {
		t.Fatalf("config after the GUI's edit: %v", after.Config)
	}
}

// TestUpstreamTargets: an upstream and a target made in the GUI balance
// a service's traffic to the real upstream server.
func TestUpstreamTargets(t *testing.T) {
	w := newWalk(t)
	var upRoute string
	w.Step("create upstream",
		w.open("#/upstreams/new"),
		browser.Labelled("new upstream"),
		browser.Fill("name", "pool"),
		submit(),
		browser.ReadyPrefix("#/upstreams/", &upRoute),
	)
	upID := browser.IDFromRoute(upRoute)
	w.Step("add target",
		w.open("#/upstreams/"+upID+"/targets/new"),
		browser.Labelled("new target"),
		browser.Fill("target", w.upstream),
		submit(),
		browser.Ready("#/upstreams/"+upID),
		browser.ExpectText("#sec-targets ~ table", w.upstream),
		browser.ExpectText(`section[aria-labelledby="sec-health"] table`, "HEALTHCHECKS_OFF"),
	)
	w.mustAPI(201, "POST", "/services", map[string]any{"name": "pooled", "host": "pool"}, nil)
	w.mustAPI(201, "POST", "/services/pooled/routes", map[string]any{"paths": []string{"/pool"}}, nil)
	if body := w.proxyStatus("/pool/z", nil, http.StatusOK); !strings.Contains(body, "upstream saw GET /z") {
		t.Fatalf("through the upstream: %q", body)
	}
}

// TestEveryKind opens the list and the create form of every entity kind
// in the navigation's first list (the Teams and Dev Portal groups have
// their own tests): each renders (no error page), each control has a
// label, and the create form offers the schema's required fields.
func TestEveryKind(t *testing.T) {
	w := newWalk(t)
	var kinds []string
	w.Step("navigation",
		w.open("#/"),
		browser.Into(chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('nav > ul a')).map(a => a.getAttribute('href').slice(2)).filter(Boolean)`), &kinds),
	)
	if len(kinds) < 10 {
		t.Fatalf("navigation lists %v", kinds)
	}
	for _, k := range kinds {
		var h1 string
		var fields int
		newPage := "#/" + k + "/new"
		if k == "plugins" {
			newPage += "?name=key-auth"
		}
		w.Step("list "+k,
			w.open("#/"+k),
			browser.Into(chromedp.Text(chromedp.CSS("main h1")), &h1),
		)
		if h1 == "Error" || h1 == "Not found" {
			t.Fatalf("%s list: %s", k, h1)
		}
		if k == "filter-chains" {
			// This node has wasm off: Kong's 400 shown as such.
			w.Step("filter chains need wasm", browser.ExpectText("#list-unavailable", "400: "))
		}
		w.Step("new "+k,
			w.open(newPage),
			browser.Labelled(newPage),
			browser.Into(chromedp.Text(chromedp.CSS("main h1")), &h1),
			browser.Into(chromedp.Evaluate[int](`document.querySelectorAll('main form [name]').length`), &fields),
		)
		if h1 == "Error" || fields == 0 {
			t.Fatalf("%s: heading %q, %d fields", newPage, h1, fields)
		}
	}

	// A policy made in the GUI (multi-line Rego in a textarea) is stored
	// as typed.
	rego := "package admin.gui_guard\n\ndeny contains \"no\" if input.path == \"/forbidden\""
	w.Step("create a policy",
		w.open("#/policies/new"),
		browser.Fill("name", "gui-guard"),
		browser.Into(chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const e = document.querySelector('main [name="rego"]'); e.value = %q; return e.tagName === 'TEXTAREA' })()`, rego)), new(bool)),
		submit(),
		browser.ReadyPrefix("#/policies/", new(string)),
		browser.ExpectText("main .banner.ok", "Created gui-guard."),
	)
	var p struct {
		Rego string `json:"rego"`
	}
	w.mustAPI(http.StatusOK, "GET", "/policies/gui-guard", nil, &p)
	if !strings.Contains(p.Rego, "\n\ndeny contains") {
		t.Fatalf("policy rego as stored: %q", p.Rego)
	}
}
