package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
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

// TestPluginEndpointRouting: Kong's routing of plugin endpoints: another
// method on a plugin's path is 405, OPTIONS lists the path's methods, GET
// answers HEAD, a body Kong's before_filter refuses is 415, a plugin
// endpoint beats the entity routes, and the core routes beat a plugin's.
func TestPluginEndpointRouting(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("decline") != "" {
			if !admin.Decline(r) {
				t.Error("Decline outside the Admin API")
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"served": "plugin", "c": r.PathValue("c")})
	})
	base, _ := server(t, admin.Options{Endpoints: []admin.Endpoint{
		{Method: "GET", Path: "/crafter/:c/tokens", Resource: "crafter", Handler: handler},
		{Method: "POST", Path: "/crafter/:c/tokens", Resource: "crafter", Handler: handler},
		{Method: "GET", Path: "/consumers/:c/crafted", Resource: "crafter", Handler: handler},
		{Method: "GET", Path: "/consumers", Resource: "crafter", Handler: handler},
		{Method: "GET", Path: "/status", Resource: "crafter", Handler: handler},
		{Method: "POST", Path: "/status", Resource: "crafter", Handler: handler},
		{Method: "POST", Path: "/status/", Resource: "crafter", Handler: handler},
	}})
	do := func(method, path, ct, body string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	cases := []struct {
		method, path, ct, body string
		status                 int
		want                   string
	}{
		{"GET", "/crafter/bob/tokens", "", "", 200, `"c":"bob"`},
		{"POST", "/crafter/bob/tokens", "application/json", `{}`, 200, `"served":"plugin"`},
		{"POST", "/crafter/bob/tokens", "application/x-www-form-urlencoded", `a=1`, 200, `"served":"plugin"`},
		{"POST", "/crafter/bob/tokens", "", "", 200, `"served":"plugin"`},
		{"POST", "/crafter/bob/tokens", "text/plain", "hi", 415, ""},
		{"DELETE", "/crafter/bob/tokens", "", "", 405, `{"message":"Method not allowed"}`},
		{"PUT", "/crafter/bob/tokens", "application/json", "{}", 405, `{"message":"Method not allowed"}`},
		{"GET", "/crafter/bob/other", "", "", 404, `{"message":"Not found"}`},
		{"GET", "/consumers/x/crafted", "", "", 200, `"served":"plugin"`},
		{"POST", "/consumers/x/crafted", "application/json", "{}", 405, `{"message":"Method not allowed"}`},
		// the plugin's GET replaces the entity route's; the entity
		// route answers the others, as Kong merges the methods
		{"GET", "/consumers", "", "", 200, `"served":"plugin"`},
		{"POST", "/consumers", "application/json", `{"username":"merged"}`, 201, `"username":"merged"`},
		{"GET", "/consumers/merged", "", "", 200, `"username":"merged"`},
		// a declined call: the entity route answers, or Kong's 404
		{"GET", "/consumers?decline=1", "", "", 200, `"data":[{`},
		{"GET", "/crafter/bob/tokens?decline=1", "", "", 404, `{"message":"Not found"}`},
		{"GET", "/status", "", "", 200, `"database"`},
		{"POST", "/status", "application/json", "{}", 405, `{"message":"Method not allowed"}`},
	}
	for _, tc := range cases {
		res, body := do(tc.method, tc.path, tc.ct, tc.body)
		if res.StatusCode != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: %d %s, want %d with %s", tc.method, tc.path, res.StatusCode, body, tc.status, tc.want)
		}
	}
	res, body := do("HEAD", "/crafter/bob/tokens", "", "")
	if res.StatusCode != 200 || body != "" {
		t.Errorf("HEAD: %d %q", res.StatusCode, body)
	}
	for path, want := range map[string]string{"/crafter/bob/tokens": "GET, HEAD, OPTIONS, POST",
		"/consumers": "GET, HEAD, OPTIONS, POST", "/consumers/x/crafted": "GET, HEAD, OPTIONS"} {
		res, _ = do("OPTIONS", path, "", "")
		if res.StatusCode != 204 || res.Header.Get("Allow") != want {
			t.Errorf("OPTIONS %s: %d Allow %q, want %q", path, res.StatusCode, res.Header.Get("Allow"), want)
		}
	}
}
