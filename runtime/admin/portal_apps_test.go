package admin

import (
	"context"
	"encoding/json"
	"fmt"
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
