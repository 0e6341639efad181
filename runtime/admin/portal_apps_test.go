package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/plugin/catalogtest"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle" // oauth2, key-auth, application-registration
	"github.com/gatehouse/gatehouse/store"
)

// appServer is an Admin API on a store with the bundled plugins: a
// developer, a service with an auto-approving application-registration
// plugin and one without the plugin.
func appServer(t *testing.T) (*Server, *store.Store) {
	t.Helper()
	st, _ := catalogtest.OpenStore(t, "bundled")
	s := New(Options{Store: st})
	ctx := store.WithTypedInput(context.Background())
	for _, in := range []struct {
		entity string
		rec    map[string]any
	}{
		{"developers", map[string]any{"email": "dev@x.test", "status": 0}},
		{"services", map[string]any{"name": "crud", "host": "up.test"}},
		{"services", map[string]any{"name": "bare", "host": "up.test"}},
	} {
		if _, err := st.Insert(ctx, in.entity, in.rec); err != nil {
			t.Fatal(err)
		}
	}
	svc, _ := st.Get(ctx, "services", "crud")
	if _, err := st.Insert(ctx, "plugins", map[string]any{"name": "application-registration", "service": map[string]any{"id": svc["id"]},
		"config": map[string]any{"display_name": "crud", "auto_approve": true}}); err != nil {
		t.Fatal(err)
	}
	return s, st
}

func jsonBody(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestApplicationEndpoints(t *testing.T) {
	s, st := appServer(t)
	ctx := context.Background()
	status, app := call(t, s, "POST", "/default/developers/dev@x.test/applications", ctJSON,
		jsonBody(t, map[string]any{"name": "app", "redirect_uri": "http://cb.test/"}))
	if status != 201 || app["name"] != "app" {
		t.Fatalf("create: %d %v", status, app)
	}
	id := app["id"].(string)
	crud, _ := st.Get(ctx, "services", "crud")
	bare, _ := st.Get(ctx, "services", "bare")
	tests := []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"list the developer's applications", "GET", "/developers/dev@x.test/applications", nil, 200},
		{"unknown developer", "GET", "/developers/nobody@x.test/applications", nil, 404},
		{"get one", "GET", "/developers/dev@x.test/applications/" + id, nil, 200},
		{"same name again", "POST", "/developers/dev@x.test/applications", map[string]any{"name": "app", "redirect_uri": "http://cb.test/"}, 409},
		{"no redirect_uri", "POST", "/developers/dev@x.test/applications", map[string]any{"name": "b"}, 400},
		{"generic read", "GET", "/applications/" + id, nil, 200},
		{"no developer through the application", "GET", "/applications/" + id + "/developer", nil, 404},
		{"register without service", "POST", "/applications/" + id + "/application_instances", map[string]any{}, 400},
		{"register to a service without the plugin", "POST", "/applications/" + id + "/application_instances",
			map[string]any{"service": map[string]any{"id": bare["id"]}}, 400},
		{"register", "POST", "/applications/" + id + "/application_instances", map[string]any{"service": map[string]any{"id": crud["id"]}}, 201},
		{"register twice", "POST", "/applications/" + id + "/application_instances", map[string]any{"service": map[string]any{"id": crud["id"]}}, 409},
		{"list instances (generic)", "GET", "/applications/" + id + "/application_instances", nil, 200},
		{"service's applications", "GET", "/services/crud/applications", nil, 200},
		{"service's instances (generic)", "GET", "/services/crud/application_instances", nil, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			ct := ""
			if tc.body != nil {
				body, ct = jsonBody(t, tc.body), ctJSON
			}
			if got, b := call(t, s, tc.method, tc.path, ct, body); got != tc.status {
				t.Fatalf("%d, want %d: %v", got, tc.status, b)
			}
		})
	}
	// The registration is auto-approved; revoking the developer
	// suspends it, approving them again resumes it.
	inst, err := st.FindUnique(ctx, store.ApplicationInstanceEntity, "composite_id", store.CompositeID(id, crud["id"].(string)))
	if err != nil || !store.InstanceAllows(inst) {
		t.Fatalf("instance %v %v", inst, err)
	}
	for _, step := range []struct {
		status int
		allows bool
	}{{3, false}, {0, true}, {2, false}} {
		if got, b := call(t, s, "PATCH", "/developers/dev@x.test", ctJSON, jsonBody(t, map[string]any{"status": step.status})); got != 200 {
			t.Fatalf("developer status %d: %d %v", step.status, got, b)
		}
		inst, err := st.Get(ctx, store.ApplicationInstanceEntity, fmt.Sprint(inst["id"]))
		if err != nil || store.InstanceAllows(inst) != step.allows {
			t.Fatalf("developer status %d: instance %v %v", step.status, inst, err)
		}
	}
	// Deleting the application deletes its consumer and credentials.
	if got, _ := call(t, s, "DELETE", "/applications/"+id, "", nil); got != 204 {
		t.Fatalf("delete: %d", got)
	}
	if _, err := st.Get(ctx, "consumers", store.ForeignID(app["consumer"])); !store.IsNotFound(err) {
		t.Fatalf("consumer left: %v", err)
	}
	if got, _ := call(t, s, "DELETE", "/applications/"+id, "", nil); got != 204 {
		t.Fatalf("delete again: %d", got)
	}
}

// TestServiceInstancesEmbed: GET /services/{s}/application_instances
// rows embed the application and, in it, the developer (no password), as
// Kong's do; ?status= filters; unknown services are 404.
func TestServiceInstancesEmbed(t *testing.T) {
	s, st := appServer(t)
	ctx := context.Background()
	if got, b := call(t, s, "PATCH", "/developers/dev@x.test", ctJSON, []byte(`{"password":"secret-pw"}`)); got != 200 {
		t.Fatalf("password: %d %v", got, b)
	}
	crud, _ := st.Get(ctx, "services", "crud")
	var appIDs []string
	for _, name := range []string{"first", "second"} {
		status, app := call(t, s, "POST", "/developers/dev@x.test/applications", ctJSON,
			jsonBody(t, map[string]any{"name": name, "redirect_uri": "http://cb.test/"}))
		if status != 201 {
			t.Fatalf("create %s: %d %v", name, status, app)
		}
		appIDs = append(appIDs, app["id"].(string))
		if got, b := call(t, s, "POST", "/applications/"+app["id"].(string)+"/application_instances", ctJSON,
			jsonBody(t, map[string]any{"service": map[string]any{"id": crud["id"]}})); got != 201 {
			t.Fatalf("register %s: %d %v", name, got, b)
		}
	}
	// The second registration is revoked: status 3.
	inst, err := st.FindUnique(ctx, store.ApplicationInstanceEntity, "composite_id", store.CompositeID(appIDs[1], crud["id"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	if got, b := call(t, s, "PATCH", "/services/crud/application_instances/"+inst["id"].(string), ctJSON, []byte(`{"status":3}`)); got != 200 {
		t.Fatalf("revoke: %d %v", got, b)
	}
	dev, _ := st.Get(ctx, "developers", "dev@x.test")

	tests := []struct {
		name, path string
		status     int
		apps       []string // application names, in any order
	}{
		{"all, by name", "/services/crud/application_instances", 200, []string{"first", "second"}},
		{"all, by id, workspace prefix", "/default/services/" + crud["id"].(string) + "/application_instances", 200, []string{"first", "second"}},
		{"approved", "/services/crud/application_instances?status=0", 200, []string{"first"}},
		{"revoked", "/services/crud/application_instances?status=3", 200, []string{"second"}},
		{"pending: none", "/services/crud/application_instances?status=1", 200, nil},
		{"other service: none", "/services/bare/application_instances", 200, nil},
		{"bad status", "/services/crud/application_instances?status=approved", 400, nil},
		{"status out of range", "/services/crud/application_instances?status=9", 400, nil},
		{"unknown service", "/services/nope/application_instances", 404, nil},
		{"bad size", "/services/crud/application_instances?size=0", 400, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, b := call(t, s, "GET", tc.path, "", nil)
			if got != tc.status {
				t.Fatalf("%d %v, want %d", got, b, tc.status)
			}
			if got != 200 {
				return
			}
			rows, _ := b["data"].([]any)
			var names []string
			for _, r := range rows {
				row := r.(map[string]any)
				app, _ := row["application"].(map[string]any)
				d, _ := app["developer"].(map[string]any)
				if app["id"] == nil || app["name"] == nil || d["id"] != dev["id"] || d["email"] != "dev@x.test" {
					t.Fatalf("row does not embed the application and its developer: %v", row)
				}
				if _, ok := d["password"]; ok {
					t.Fatalf("developer's password shown: %v", d)
				}
				if svc, _ := row["service"].(map[string]any); svc["id"] != crud["id"] || row["composite_id"] == nil {
					t.Fatalf("row lost its own fields: %v", row)
				}
				names = append(names, app["name"].(string))
			}
			sort.Strings(names)
			if strings.Join(names, ",") != strings.Join(tc.apps, ",") {
				t.Fatalf("applications %v, want %v", names, tc.apps)
			}
		})
	}
	// Paging: one row a page, the next page from offset.
	got, b := call(t, s, "GET", "/services/crud/application_instances?size=1", "", nil)
	if got != 200 || len(b["data"].([]any)) != 1 || b["offset"] == nil || b["next"] == nil {
		t.Fatalf("page 1: %d %v", got, b)
	}
	got, b2 := call(t, s, "GET", "/services/crud/application_instances?size=1&offset="+url.QueryEscape(b["offset"].(string)), "", nil)
	if got != 200 || len(b2["data"].([]any)) != 1 ||
		b2["data"].([]any)[0].(map[string]any)["id"] == b["data"].([]any)[0].(map[string]any)["id"] {
		t.Fatalf("page 2: %d %v", got, b2)
	}
	// The store still holds references only.
	raw, _ := st.Get(ctx, store.ApplicationInstanceEntity, inst["id"].(string))
	if app, _ := raw["application"].(map[string]any); len(app) != 1 {
		t.Fatalf("stored instance changed: %v", raw)
	}
}
