package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/admin"
	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/config"
	"github.com/gatehouse/gatehouse/store"
)

var operator = store.Actor{ID: "5d0e7c1a-93b2-4f61-8a47-2c9e1b6f0d3e", Name: "operator"}

// operatorIdentifier makes every call the operator's.
type operatorIdentifier struct{}

func (operatorIdentifier) Identify(context.Context, admin.RequestInfo) (store.Actor, error) {
	return operator, nil
}

// routesOff refuses the routes (and what is reached through one) and hides
// the consumers whose username starts with "hidden-".
type routesOff struct{}

func (routesOff) Authorize(ctx context.Context, call admin.Call) error {
	if store.ActorFrom(ctx) != operator || call.Actor != operator {
		return admin.Unauthorized("the actor did not reach the authorizer")
	}
	if call.Entity == "routes" || call.Parent == "routes" {
		return admin.Forbidden(call.Actor, call.Operation)
	}
	return nil
}

func (routesOff) Visible(_ context.Context, _ admin.Call, entity string, rec map[string]any) bool {
	name, _ := rec["username"].(string)
	return entity != "consumers" || !strings.HasPrefix(name, "hidden-")
}

// TestNodeAdminAuthorizer: app.Options wires the identifier and the
// authorizer into a node's Admin API.
func TestNodeAdminAuthorizer(t *testing.T) {
	cfg, err := config.Load(config.LoadOptions{Flags: map[string]string{
		"prefix": t.TempDir(), "admin_listen": "127.0.0.1:0", "proxy_listen": "127.0.0.1:0",
		"status_listen": "off", "admin_gui_listen": "off", "log_level": "crit",
	}})
	if err != nil {
		t.Fatal(err)
	}
	node, err := app.StartWith(context.Background(), cfg, app.Options{
		AdminIdentifier: operatorIdentifier{}, AdminAuthorizer: routesOff{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	c := &client{t: t, base: "http://" + node.Addr("admin")}

	expect(t, c.form(http.MethodPost, "/services", "name=s", "url=http://example.test"), 201, "service")
	for _, name := range []string{"alice", "hidden-bob", "carol"} {
		expect(t, c.form(http.MethodPost, "/consumers", "username="+name), 201, "consumer "+name)
	}
	for _, tt := range []struct{ method, path, verb string }{
		{http.MethodGet, "/routes", "read"},
		{http.MethodPost, "/routes", "create"},
		{http.MethodPost, "/services/s/routes", "create"},
		{http.MethodGet, "/services/s/routes", "read"},
		{http.MethodPut, "/services/s/routes/r", "update"},
		{http.MethodDelete, "/routes/r", "delete"},
		{http.MethodGet, "/routes/r/service", "read"},
	} {
		r := c.form(tt.method, tt.path, "paths[]=/x")
		expect(t, r, 403, tt.method+" "+tt.path)
		equal(t, tt.method+" "+tt.path+" body", r.body, map[string]any{
			"message": "operator, you do not have permissions to " + tt.verb + " this resource"})
	}
	var names []string
	for path := "/consumers?size=1"; path != ""; {
		r := c.get(path)
		expect(t, r, 200, path)
		for _, d := range r.body["data"].([]any) {
			names = append(names, d.(map[string]any)["username"].(string))
		}
		path, _ = r.body["next"].(string)
	}
	if strings.Contains(strings.Join(names, " "), "hidden-") || len(names) != 2 {
		t.Fatalf("listed consumers %v, want alice and carol", names)
	}
}
