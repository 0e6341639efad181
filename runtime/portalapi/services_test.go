package portalapi

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

const ordersID = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f2"

// servicesAPI is testAPI with a second registrable service, orders
// (auto-approved), whose spec only role dev may read; crud's spec is
// public.
func servicesAPI(t *testing.T) (ann, dev *client, st *store.Store) {
	t.Helper()
	app, st := testAPI(t, nil)
	ctx := store.WithTypedInput(context.Background())
	for _, rec := range []struct {
		entity string
		in     map[string]any
	}{
		{"services", map[string]any{"id": ordersID, "name": "orders", "host": "orders.test"}},
		{"plugins", map[string]any{"name": AppRegistrationPlugin, "service": map[string]any{"id": ordersID},
			"config": map[string]any{"display_name": "Orders API", "auto_approve": true}}},
		{"document_objects", map[string]any{"service": map[string]any{"id": svcID}, "path": "specs/public.yml"}},
		{"document_objects", map[string]any{"service": map[string]any{"id": ordersID}, "path": "specs/private.yml"}},
	} {
		if _, err := st.Insert(ctx, rec.entity, rec.in); err != nil {
			t.Fatalf("%s: %v", rec.entity, err)
		}
	}
	return signedUp(t, app, st, "ann@x.test"), signedUp(t, app, st, "dev@x.test", "dev"), st
}

// rowsOf lists an /application_services answer as "name route status"
// lines ("-" for an absent route or instance), sorted.
func rowsOf(t *testing.T, body map[string]any) string {
	t.Helper()
	data, ok := body["data"].([]any)
	if !ok {
		t.Fatalf("no data: %v", body)
	}
	var out []string
	for _, r := range data {
		row := r.(map[string]any)
		route, _ := row["document_route"].(string)
		if route == "" {
			route = "-"
		}
		inst := "-"
		if i, ok := row["instance"].(map[string]any); ok {
			inst = fmt.Sprint(i["status"]) // a JSON number: 1, not 1.0
		}
		out = append(out, row["name"].(string)+" "+route+" "+inst)
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// TestApplicationServices: the rows, their document_route (the linked
// spec's portal route), the name and status filters as Kong applies
// them, and a spec's readable_by hiding its service.
func TestApplicationServices(t *testing.T) {
	ann, dev, st := servicesAPI(t)
	status, app, _ := dev.call("POST", "/applications", `{"name":"app","redirect_uri":"http://cb.test/"}`)
	if status != 200 {
		t.Fatalf("app: %d %v", status, app)
	}
	appID := app["id"].(string)
	if status, _, _ := dev.call("POST", "/applications/"+appID+"/application_instances", `{"service":{"id":"`+svcID+`"}}`); status != 201 {
		t.Fatalf("register: %d", status)
	}
	q := "/application_services?app_id=" + appID
	rows := func(want string) func(*testing.T, map[string]any) {
		return func(t *testing.T, body map[string]any) {
			if got := rowsOf(t, body); got != want {
				t.Fatalf("rows %q, want %q", got, want)
			}
		}
	}
	runRoutes(t, []routeCase{
		{name: "spec readable by dev hides orders from ann", c: ann, method: "GET", path: "/application_services", status: 200,
			check: rows("crud api /documentation/public -")},
		{name: "dev sees both", c: dev, method: "GET", path: "/application_services", status: 200,
			check: rows("Orders API /documentation/private -; crud api /documentation/public -")},
		{name: "name, any case", c: dev, method: "GET", path: "/application_services?name=ORDERS", status: 200,
			check: rows("Orders API /documentation/private -")},
		{name: "name matching none", c: dev, method: "GET", path: "/application_services?name=zzz", status: 200, check: rows("")},
		{name: "with the app's instances", c: dev, method: "GET", path: q, status: 200,
			check: rows("Orders API /documentation/private -; crud api /documentation/public 1")},
		{name: "pending", c: dev, method: "GET", path: q + "&status=1", status: 200, check: rows("crud api /documentation/public 1")},
		{name: "pending as 1.0", c: dev, method: "GET", path: q + "&status=1.0", status: 200, check: rows("crud api /documentation/public 1")},
		{name: "approved", c: dev, method: "GET", path: q + "&status=0", status: 200, check: rows("")},
		{name: "no instance yet", c: dev, method: "GET", path: q + "&status=-1", status: 200, check: rows("Orders API /documentation/private -")},
		{name: "status not a number", c: dev, method: "GET", path: q + "&status=abc", status: 200, check: rows("")},
		{name: "status without app_id: no instance", c: dev, method: "GET", path: "/application_services?status=-1", status: 200,
			check: rows("Orders API /documentation/private -; crud api /documentation/public -")},
		{name: "status without app_id: pending", c: dev, method: "GET", path: "/application_services?status=1", status: 200, check: rows("")},
		{name: "another's app_id", c: ann, method: "GET", path: q, status: 404, message: "Application not found"},
		{name: "anonymous", c: &client{t: t, app: ann.app}, method: "GET", path: "/application_services", status: 401},
	})
	// A spec with an explicit route; a linked file that is gone: the row
	// stays without a route.
	ctx := store.WithTypedInput(context.Background())
	if _, err := st.Update(ctx, "files", "specs/public.yml", map[string]any{
		"contents": "x-headmatter:\n  route: /apis/crud\nopenapi: 3.0.0\n"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Delete(ctx, "files", "specs/private.yml"); err != nil {
		t.Fatal(err)
	}
	runRoutes(t, []routeCase{
		{name: "explicit route, missing file", c: ann, method: "GET", path: "/application_services", status: 200,
			check: rows("Orders API - -; crud api /apis/crud -")},
	})
	// portal.conf.yaml's specs collection, its :title the spec's
	// info.title when the headmatter has none.
	if _, err := st.Insert(ctx, "files", map[string]any{"path": "portal.conf.yaml",
		"contents": "collections:\n  specs:\n    output: true\n    route: /apis/:title\n"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Update(ctx, "files", "specs/public.yml", map[string]any{
		"contents": "openapi: 3.0.0\ninfo:\n  title: Crud\n"}); err != nil {
		t.Fatal(err)
	}
	runRoutes(t, []routeCase{
		{name: "collection route of portal.conf.yaml", c: ann, method: "GET", path: "/application_services", status: 200,
			check: rows("Orders API - -; crud api /apis/Crud -")},
	})
}

// TestFileRoute: Kong's routes of portal files (file_helpers.parse_content).
func TestFileRoute(t *testing.T) {
	hm := func(fields map[string]any) store.Headmatter { return store.Headmatter{Fields: fields} }
	def := map[string]Collection{"specs": defaultSpecs}
	tests := []struct {
		name, path  string
		hm          store.Headmatter
		collections map[string]Collection
		want        string
	}{
		{"spec", "specs/orders.yaml", hm(nil), def, "/documentation/orders"},
		{"spec, name up to the first dot", "specs/orders.v2.yml", hm(nil), def, "/documentation/orders"},
		{"nested spec", "specs/team/a.json", hm(nil), def, "/documentation/a"},
		{"explicit route", "specs/x.yaml", hm(map[string]any{"route": "/apis/x"}), def, "/apis/x"},
		{"not output", "specs/x.yaml", hm(map[string]any{"output": false}), def, ""},
		{"collection route of portal.conf.yaml", "specs/x.yaml", hm(map[string]any{"title": "X"}),
			map[string]Collection{"specs": {Route: "/apis/:title/:name", Output: true}}, "/apis/X/x"},
		{"collection not output", "specs/x.yaml", hm(nil), map[string]Collection{"specs": {Route: "/d/:name"}}, ""},
		{"page", "content/about.md", hm(nil), def, "/about"},
		{"home", "content/index.html", hm(nil), def, "/"},
		{"section index", "content/guides/index.md", hm(nil), def, "/guides"},
		{"undeclared collection", "content/_posts/a.md", hm(nil), def, ""},
		{"theme file", "themes/base/layouts/x.html", hm(nil), def, ""},
		{"unknown extension", "specs/x.exe", hm(nil), def, ""},
		{"no name", "specs/.yaml", hm(nil), def, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FileRoute(tc.path, tc.hm, tc.collections); got != tc.want {
				t.Fatalf("FileRoute(%q) = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
}

// FuzzFileRoute: any path and route give "" or a route starting with "/"
// (or the headmatter's own), never a panic.
func FuzzFileRoute(f *testing.F) {
	for _, p := range []string{"specs/a.yaml", "content/index.md", "content/_x/y.md", "specs/", "content/", "/_", "specs/a.b.c"} {
		f.Add(p, "")
	}
	f.Add("specs/a.yaml", "/explicit")
	f.Fuzz(func(t *testing.T, p, route string) {
		fields := map[string]any{}
		if route != "" {
			fields["route"] = route
		}
		got := FileRoute(p, store.Headmatter{Fields: fields}, map[string]Collection{"specs": defaultSpecs})
		if got != "" && got != route && !strings.HasPrefix(got, "/") {
			t.Fatalf("FileRoute(%q, %q) = %q", p, route, got)
		}
	})
}

// FuzzServiceFilter: any status query parses to a number, "none" or no
// filter, as Lua's tonumber would.
func FuzzServiceFilter(f *testing.F) {
	for _, s := range []string{"1", "-1", "1.0", "abc", "", " 2 ", "1e3", "NaN", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, status string) {
		fl := ParseServiceFilter("", status, true)
		if (fl.Status == nil) == !fl.NoStatus {
			t.Fatalf("%q: %+v", status, fl)
		}
		if fl.keepsInstance(nil) && (fl.Status == nil || *fl.Status != -1) {
			t.Fatalf("%q keeps a service without instance: %+v", status, fl)
		}
	})
}
