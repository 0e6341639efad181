package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/admin"
	"github.com/gatehouse/gatehouse/store"
)

// resourceAuthorizer refuses alice the resource "probe-cache".
type resourceAuthorizer struct{ calls []admin.Call }

func (a *resourceAuthorizer) Authorize(_ context.Context, call admin.Call) error {
	a.calls = append(a.calls, call)
	if call.Actor == alice && call.Entity == "probe-cache" {
		return admin.Forbidden(call.Actor, call.Operation)
	}
	return nil
}

func (a *resourceAuthorizer) Visible(context.Context, admin.Call, string, map[string]any) bool {
	return true
}

// TestPluginEndpoints: a plugin's endpoint is served on the Admin API
// with its path parameters and the request body, after the authorizer
// decided the call as one on the endpoint's resource.
func TestPluginEndpoints(t *testing.T) {
	authz := &resourceAuthorizer{}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(map[string]string{"key": r.PathValue("key"), "method": r.Method, "body": string(body),
			"actor": store.ActorFrom(r.Context()).Name})
	})
	base, _ := server(t, admin.Options{Identifier: tokenIdentifier{}, Authorizer: authz, Endpoints: []admin.Endpoint{
		{Method: "GET", Path: "/probe-cache/:key", Resource: "probe-cache", Handler: handler},
		{Method: "DELETE", Path: "/probe-cache/:key", Resource: "probe-cache", Handler: handler},
		{Method: "POST", Path: "/probe-cache", Resource: "probe-cache", Handler: handler},
	}})
	r := must(t, call(t, base, "root-token", "GET", "/probe-cache/k1", nil), http.StatusAccepted, "GET")
	if r.body["key"] != "k1" || r.body["method"] != "GET" || r.body["actor"] != "root" {
		t.Fatalf("GET answered %s", r.raw)
	}
	last := authz.calls[len(authz.calls)-1]
	if last.Entity != "probe-cache" || last.Operation != admin.OpRead || last.Key != "k1" || last.Actor != root {
		t.Fatalf("authorizer saw %+v", last)
	}
	r = must(t, call(t, base, "root-token", "POST", "/probe-cache", map[string]any{"a": 1}), http.StatusAccepted, "POST")
	if r.body["body"] != `{"a":1}` {
		t.Fatalf("POST body reached the handler as %q", r.body["body"])
	}
	if last := authz.calls[len(authz.calls)-1]; last.Operation != admin.OpCreate {
		t.Errorf("POST authorized as %v", last.Operation)
	}
	must(t, call(t, base, "root-token", "DELETE", "/probe-cache/k1", nil), http.StatusAccepted, "DELETE")
	must(t, call(t, base, "alice-token", "GET", "/probe-cache/k1", nil), http.StatusForbidden, "alice GET")
	must(t, call(t, base, "", "GET", "/probe-cache/k1", nil), http.StatusUnauthorized, "anonymous GET")
	list, _ := must(t, call(t, base, "root-token", "GET", "/endpoints", nil), http.StatusOK, "GET /endpoints").body["data"].([]any)
	found := map[string]bool{}
	for _, e := range list {
		found[e.(string)] = true
	}
	if !found["/probe-cache"] || !found["/probe-cache/{key}"] {
		t.Errorf("/endpoints lacks the plugin's endpoints: %v", list)
	}
}
