package admin_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestErrorShapes checks Kong's status codes and error bodies, one row per
// shape, over real HTTP.
func TestErrorShapes(t *testing.T) {
	node := startNode(t, nil)
	c := &client{t: t, base: "http://" + node.Addr("admin")}
	expect(t, c.form("POST", "/services", "name=crud", "url=http://iris:52773/crud/"), http.StatusCreated, "seed service")
	expect(t, c.form("POST", "/services/crud/routes", "name=r", "paths=/p"), http.StatusCreated, "seed route")

	cases := []struct {
		name        string
		do          func() *response
		status      int
		code        float64 // 0: no code in the body
		message     string  // exact, or prefix when ending in "*"
		fieldsCheck func(*response) bool
	}{
		{"schema violation, one", func() *response { return c.form("POST", "/services", "name=x") }, 400, 2,
			"schema violation (host: required field missing)", func(r *response) bool { return r.str("fields.host") == "required field missing" }},
		{"schema violations, several", func() *response { return c.form("POST", "/services", "host=a", "port=abc", "retries=x") }, 400, 2,
			"2 schema violations (port: expected an integer; retries: expected an integer)", nil},
		{"unknown field", func() *response { return c.json("POST", "/consumers", map[string]any{"username": "a", "nope": 1}) }, 400, 2,
			"schema violation (nope: unknown field)", nil},
		{"json type strict", func() *response { return c.json("POST", "/services", map[string]any{"host": "a", "port": "80"}) }, 400, 2,
			"schema violation (port: expected an integer)", nil},
		{"entity check", func() *response { return c.json("POST", "/routes", map[string]any{}) }, 400, 2,
			"schema violation (must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https')",
			func(r *response) bool { return r.str("fields.@entity.0") != "" }},
		{"array element", func() *response { return c.form("POST", "/routes", "paths=nope") }, 400, 2,
			"schema violation (paths.1: should start with: / (fixed path) or ~/ (regex path))", nil},
		{"unique violation", func() *response { return c.form("POST", "/services", "name=crud", "host=b") }, 409, 5,
			`UNIQUE violation detected on '{name="crud"}'`, func(r *response) bool { return r.str("fields.name") == "crud" }},
		{"foreign key", func() *response {
			return c.json("POST", "/routes", map[string]any{"paths": []string{"/z"}, "service": map[string]any{"id": "5cc8dee4-066d-492e-b2f8-bd77eb0a4c86"}})
		}, 400, 4, `the foreign key '{id="5cc8dee4-066d-492e-b2f8-bd77eb0a4c86"}' does not reference an existing 'services' entity.`, nil},
		{"restricted delete", func() *response { return c.do("DELETE", "/services/crud", "", nil) }, 400, 4,
			"an existing 'routes' entity references this 'services' entity", nil},
		{"plugin not enabled", func() *response { return c.form("POST", "/plugins", "name=nope") }, 400, 2,
			"schema violation (name: plugin 'nope' not enabled; add it to the 'plugins' configuration property)", nil},
		{"not found", func() *response { return c.get("/services/none") }, 404, 0, "Not found", nil},
		{"no such path", func() *response { return c.get("/nothing/here") }, 404, 0, "Not found", nil},
		{"nested parent missing", func() *response { return c.get("/services/none/routes") }, 404, 0, "Not found", nil},
		{"method not allowed", func() *response { return c.do("POST", "/services/crud", "", nil) }, 405, 0, "Method not allowed", nil},
		{"collection method", func() *response { return c.do("DELETE", "/services", "", nil) }, 405, 0, "Method not allowed", nil},
		{"POST /", func() *response { return c.do("POST", "/", "application/json", []byte("{}")) }, 405, 0, "Method not allowed", nil},
		{"DELETE /", func() *response { return c.do("DELETE", "/", "", nil) }, 405, 0, "Method not allowed", nil},
		{"POST /status", func() *response { return c.do("POST", "/status", "", nil) }, 405, 0, "Method not allowed", nil},
		{"PUT /endpoints", func() *response { return c.do("PUT", "/endpoints", "", nil) }, 405, 0, "Method not allowed", nil},
		{"POST /tags", func() *response { return c.do("POST", "/tags", "", nil) }, 405, 0, "Method not allowed", nil},
		{"PATCH /plugins/enabled", func() *response { return c.do("PATCH", "/plugins/enabled", "", nil) }, 405, 0, "Method not allowed", nil},
		{"bad JSON", func() *response { return c.do("POST", "/services", "application/json", []byte("{bad")) }, 400, 0, "Cannot parse JSON body", nil},
		{"unsupported media type", func() *response { return c.do("POST", "/services", "text/plain", []byte("host=a")) }, 415, 0, "", nil},
		{"size not a number", func() *response { return c.get("/services?size=abc") }, 400, 9, "size must be a number", nil},
		{"size out of range", func() *response { return c.get("/services?size=1001") }, 400, 9, "size must be an integer between 1 and 1000", nil},
		{"bad offset", func() *response { return c.get("/services?offset=!!!") }, 400, 7, "'!!!' is not a valid offset: *", nil},
		{"mixed tag filter", func() *response { return c.get("/services?tags=a,b/c") }, 400, 11, "invalid option (tags: invalid filter syntax)",
			func(r *response) bool { return r.str("options.tags") == "invalid filter syntax" }},
		{"unknown schema", func() *response { return c.get("/schemas/nope") }, 404, 0, "No entity named 'nope'", nil},
		{"unknown plugin schema", func() *response { return c.get("/schemas/plugins/nope") }, 404, 0, "No plugin named 'nope'", nil},
		{"immutable", func() *response {
			p := c.form("POST", "/plugins", "name=rate-limiting", "config.minute=5")
			return c.form("PATCH", "/plugins/"+p.str("id"), "name=basic-auth")
		}, 400, 2, "schema violation (name: immutable field cannot be updated)", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.do()
			expect(t, r, tc.status, tc.name)
			if tc.code != 0 {
				equal(t, "code", r.get("code"), tc.code)
				if r.str("name") == "" {
					t.Errorf("no error name in %s", r.raw)
				}
			} else if _, ok := r.body["code"]; ok {
				t.Errorf("unexpected code in %s", r.raw)
			}
			if strings.HasSuffix(tc.message, "*") {
				if !strings.HasPrefix(r.str("message"), strings.TrimSuffix(tc.message, "*")) {
					t.Errorf("message = %q, want prefix %q", r.str("message"), tc.message)
				}
			} else if tc.message != "" {
				equal(t, "message", r.get("message"), tc.message)
			}
			if tc.fieldsCheck != nil && !tc.fieldsCheck(r) {
				t.Errorf("fields check failed on %s", r.raw)
			}
		})
	}
	// None of the rejected writes left anything behind.
	equal(t, "services", len(c.get("/services").get("data").([]any)), 1)
	equal(t, "routes", len(c.get("/routes").get("data").([]any)), 1)
}
