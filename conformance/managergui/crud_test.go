package managergui_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// rows counts the rows of the first table in main.
func rows(n *int) chromedp.Action[chromedp.Void] {
	return into(chromedp.Evaluate[int](`(() => { const t = document.querySelector('main table'); return t ? t.tBodies[0].rows.length : 0 })()`), n)
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
	w.step("edit the service's port",
		w.open("#/services/"+svc.ID),
		w.expectLabelled("edit service"),
		fill("port", port),
		submit(),
		expectText("main .banner.ok", "Saved edit-me."),
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

	w.step("edit the route's paths and tags",
		w.open("#/routes/"+route.ID),
		fill("paths", "/edited\n/second"),
		fill("tags", "gui\nedited"),
		submit(),
		expectText("main .banner.ok", "Saved edit-route."),
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
	w.step("delete the route from its service's page",
		w.open("#/services/"+svc.ID),
		chromedp.Click(chromedp.CSS(`main button[aria-label="Delete edit-route"]`)),
		expectText("main button.danger", "Confirm delete of edit-route"),
		chromedp.Click(chromedp.CSS(`main button.danger`)),
		expectText("main .banner.ok", "Deleted edit-route."),
		w.ready("#/services/"+svc.ID),
		expectText(`section[aria-labelledby="sec-routes"]`, "No routes yet."),
		rows(&left),
	)
	if left != 0 {
		t.Fatalf("%d rows left on the service's page after deleting its only route", left)
	}
	if code := w.api("GET", "/routes/"+route.ID, nil, nil); code != 404 {
		t.Fatalf("route after delete: GET answers %d", code)
	}
	w.proxyStatus("/second/y", nil, http.StatusNotFound)

	w.step("cancel keeps the service",
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
	w.step("first page",
		w.open("#/services"),
		rows(&first),
		chromedp.Click(chromedp.CSS(`main nav[aria-label="Pages"] a`)),
		w.readyPrefix("#/services?offset=", &nextRoute),
		rows(&second),
	)
	if first != 25 || second != 5 {
		t.Fatalf("pages of 30 services: %d then %d rows, want 25 then 5", first, second)
	}
	w.step("filter by one tag",
		w.open("#/services"),
		fill("tags", "even"),
		chromedp.Click(chromedp.CSS(`main form[role="search"] button[type="submit"]`)),
		w.ready("#/services?tags=even"),
		rows(&even),
	)
	w.step("tags all of",
		w.open("#/services?tags=even,third"),
		rows(&both),
	)
	w.step("tags any of",
		w.open("#/services?tags=even/third"),
		rows(&any),
	)
	if even != 15 || both != 5 || any != 20 {
		t.Fatalf("tag filters: even %d (want 15), even,third %d (want 5), even/third %d (want 20)", even, both, any)
	}
	w.step("search by name",
		w.open("#/services"),
		fill("q", "svc-07"),
		chromedp.Click(chromedp.CSS(`main form[role="search"] button[type="submit"]`)),
		w.ready("#/services?q=svc-07"),
		rows(&one),
		expectText("main table", "svc-07"),
	)
	w.step("search finds nothing",
		w.open("#/services?q=nope"),
		rows(&none),
		expectText("main [role=status]", "No services with name or ID “nope”."),
	)
	if one != 1 || none != 0 {
		t.Fatalf("search: %d rows for svc-07, %d for nope", one, none)
	}
}

// TestNestedErrors: Kong's errors land next to the nested field they
// name (an array element inside config, a whole config record).
func TestNestedErrors(t *testing.T) {
	w := newWalk(t)
	w.step("bad key name inside config",
		w.open("#/plugins/new?name=key-auth"),
		fill("config.key_names", "bad name!"),
		submit(),
		expectText(`main [data-field="config.key_names"] .error`, "item 1: bad header name 'bad name!'"),
		expectText(`main [role=alert]`, "schema violation"),
	)
	var focused string
	w.step("focus moves to the field in error",
		into(chromedp.Evaluate[string](`document.activeElement.name`), &focused))
	if focused != "config.key_names" {
		t.Fatalf("focus on %q after a field error, want config.key_names", focused)
	}
	w.step("record-level error on config",
		w.open("#/plugins/new?name=rate-limiting"),
		w.expectLabelled("rate-limiting form"),
		submit(),
		expectText(`main fieldset[data-field="config"] > .error`, "at least one of these fields must be non-empty"),
	)
	w.step("then a valid rate-limiting plugin",
		fill("config.minute", "5"),
		submit(),
		w.readyPrefix("#/plugins/", new(string)),
		expectText("main .banner.ok", "Created rate-limiting."),
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
	w.step("edit the plugin's config",
		w.open("#/plugins/"+list.Data[0].ID),
		expectText("#plugin-chosen", "rate-limiting"),
		fill("config.minute", "10"),
		fill("config.hour", "100"),
		submit(),
		expectText("main .banner.ok", "Saved rate-limiting."),
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
	w.step("create upstream",
		w.open("#/upstreams/new"),
		w.expectLabelled("new upstream"),
		fill("name", "pool"),
		submit(),
		w.readyPrefix("#/upstreams/", &upRoute),
	)
	upID := idFromRoute(upRoute)
	w.step("add target",
		w.open("#/upstreams/"+upID+"/targets/new"),
		w.expectLabelled("new target"),
		fill("target", w.upstream),
		submit(),
		w.ready("#/upstreams/"+upID),
		expectText("#sec-targets ~ table", w.upstream),
		expectText(`section[aria-labelledby="sec-health"] table`, "HEALTHCHECKS_OFF"),
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
	w.step("navigation",
		w.open("#/"),
		into(chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('nav > ul a')).map(a => a.getAttribute('href').slice(2)).filter(Boolean)`), &kinds),
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
		w.step("list "+k,
			w.open("#/"+k),
			into(chromedp.Text(chromedp.CSS("main h1")), &h1),
		)
		if h1 == "Error" || h1 == "Not found" {
			t.Fatalf("%s list: %s", k, h1)
		}
		if k == "filter-chains" {
			// This node has wasm off: Kong's 400 shown as such.
			w.step("filter chains need wasm", expectText("#list-unavailable", "400: "))
		}
		w.step("new "+k,
			w.open(newPage),
			w.expectLabelled(newPage),
			into(chromedp.Text(chromedp.CSS("main h1")), &h1),
			into(chromedp.Evaluate[int](`document.querySelectorAll('main form [name]').length`), &fields),
		)
		if h1 == "Error" || fields == 0 {
			t.Fatalf("%s: heading %q, %d fields", newPage, h1, fields)
		}
	}

	// A policy made in the GUI (multi-line Rego in a textarea) is stored
	// as typed.
	rego := "package admin.gui_guard\n\ndeny contains \"no\" if input.path == \"/forbidden\""
	w.step("create a policy",
		w.open("#/policies/new"),
		fill("name", "gui-guard"),
		into(chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const e = document.querySelector('main [name="rego"]'); e.value = %q; return e.tagName === 'TEXTAREA' })()`, rego)), new(bool)),
		submit(),
		w.readyPrefix("#/policies/", new(string)),
		expectText("main .banner.ok", "Created gui-guard."),
	)
	var p struct {
		Rego string `json:"rego"`
	}
	w.mustAPI(http.StatusOK, "GET", "/policies/gui-guard", nil, &p)
	if !strings.Contains(p.Rego, "\n\ndeny contains") {
		t.Fatalf("policy rego as stored: %q", p.Rego)
	}
}
