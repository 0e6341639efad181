package admin_test

import (
	"net/http"
	"strings"
	"testing"

	// The real plugins: their schemas are what these tests check.
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
)

// backends lists the databases the HTTP-level cases run on.
var backends = map[string]func(t *testing.T) map[string]string{
	"sqlite":   func(t *testing.T) map[string]string { return nil },
	"postgres": pgSettings,
}

// TestWriteTimeRefusals sends input Kong refuses when written, over real
// HTTP on both databases: each is a 400 schema violation (or invalid
// option), never a 201 or a 500.
func TestWriteTimeRefusals(t *testing.T) {
	for name, settings := range backends {
		t.Run(name, func(t *testing.T) {
			node := startNode(t, settings(t))
			c := &client{t: t, base: "http://" + node.Addr("admin")}
			expect(t, c.form("POST", "/consumers", "username=alice"), http.StatusCreated, "seed consumer")
			up := c.form("POST", "/upstreams", "name=up.test")
			expect(t, up, http.StatusCreated, "seed upstream")
			cases := []struct {
				name    string
				do      func() *response
				code    float64
				message string // prefix
			}{
				{"NUL in a name (JSON)", func() *response {
					return c.json("POST", "/services", map[string]any{"name": "a\x00b", "host": "h.test"})
				}, 2,
					"schema violation (name: invalid NUL character detected at position 2)"},
				{"invalid UTF-8 in a name (form)", func() *response {
					return c.do("POST", "/consumers", "application/x-www-form-urlencoded", []byte("username=a%FFb"))
				}, 2, "schema violation (username: invalid utf-8 character sequence detected at position 2)"},
				{"NUL in a key-auth key", func() *response { return c.form("POST", "/consumers/alice/key-auth", "key=k\x00") }, 2,
					"schema violation (key: invalid NUL character detected at position 2)"},
				{"empty key-auth key", func() *response { return c.json("POST", "/consumers/alice/key-auth", map[string]any{"key": ""}) }, 2,
					"schema violation (key: length must be at least 1)"},
				{"negative credential ttl", func() *response {
					return c.json("POST", "/consumers/alice/key-auth", map[string]any{"key": "k", "ttl": -1})
				}, 11, "invalid option (ttl: must be an integer between 0 and 100000000)"},
				{"invalid header regex", func() *response {
					return c.json("POST", "/routes", map[string]any{"headers": map[string]any{"x-v": []string{"~*("}}})
				}, 2, "schema violation (Router Expression failed validation: "},
				{"malformed target", func() *response { return c.form("POST", "/upstreams/up.test/targets", "target=[::1") }, 2,
					"schema violation (target: Invalid target ('[::1'); not a valid hostname or ip address)"},
				{"health-check interval of 1e-6", func() *response {
					return c.json("POST", "/upstreams", map[string]any{"name": "busy.test",
						"healthchecks": map[string]any{"active": map[string]any{"unhealthy": map[string]any{"interval": 1e-6}}}})
				}, 2, "schema violation (healthchecks.active.unhealthy.interval: value must be 0 (disabled) or at least 0.1 seconds)"},
				{"name longer than the indexed bound", func() *response { return c.form("POST", "/services", "host=h.test", "name="+strings.Repeat("n", 600)) }, 2,
					"schema violation (name: length must be at most 512)"},
				{"key-auth on tcp", func() *response {
					return c.json("POST", "/plugins", map[string]any{"name": "key-auth", "protocols": []string{"tcp"}})
				}, 2,
					"schema violation (protocols.1: expected one of: grpc, grpcs, http, https)"},
				{"basic-auth on udp", func() *response {
					return c.json("POST", "/plugins", map[string]any{"name": "basic-auth", "protocols": []string{"http", "udp"}})
				}, 2,
					"schema violation (protocols.2: expected one of: grpc, grpcs, http, https)"},
				{"rate-limiting on tls", func() *response {
					return c.json("POST", "/plugins", map[string]any{"name": "rate-limiting", "protocols": []string{"tls"}, "config": map[string]any{"minute": 5}})
				}, 2, "schema violation (protocols.1: expected one of: grpc, grpcs, http, https)"},
			}
			for _, tc := range cases {
				r := tc.do()
				if r.status != http.StatusBadRequest {
					t.Errorf("%s: status %d, want 400; body %s", tc.name, r.status, r.raw)
					continue
				}
				if got, _ := r.get("code").(float64); got != tc.code {
					t.Errorf("%s: code %v, want %v; body %s", tc.name, got, tc.code, r.raw)
				}
				if msg := r.str("message"); !strings.HasPrefix(msg, tc.message) {
					t.Errorf("%s: message %q, want prefix %q", tc.name, msg, tc.message)
				}
			}
			// Lookups by keys no entity can hold are plain 404s.
			for _, path := range []string{"/services/a%00b", "/consumers/%FF", "/key-auths/k%00"} {
				if r := c.get(path); r.status != http.StatusNotFound {
					t.Errorf("GET %s: status %d, want 404; body %s", path, r.status, r.raw)
				}
			}
			// request-transformer declares every protocol (typedefs.protocols).
			expect(t, c.json("POST", "/plugins", map[string]any{"name": "request-transformer", "protocols": []string{"tcp"}}),
				http.StatusCreated, "request-transformer on tcp")
		})
	}
}

// TestValidateChecksSchemaOnly: the validate endpoints run the schema
// only, so an entity colliding with or referring to stored ones validates.
func TestValidateChecksSchemaOnly(t *testing.T) {
	node := startNode(t, nil)
	c := &client{t: t, base: "http://" + node.Addr("admin")}
	expect(t, c.form("POST", "/services", "name=crud", "url=http://iris:52773/crud/"), http.StatusCreated, "seed service")
	expect(t, c.form("POST", "/consumers", "username=alice"), http.StatusCreated, "seed consumer")
	expect(t, c.form("POST", "/consumers/alice/key-auth", "key=secret"), http.StatusCreated, "seed key")
	missing := map[string]any{"id": "5cc8dee4-066d-492e-b2f8-bd77eb0a4c86"}
	ok := []struct {
		path string
		body map[string]any
	}{
		{"/schemas/services/validate", map[string]any{"name": "crud", "host": "other.test"}},
		{"/schemas/consumers/validate", map[string]any{"username": "alice"}},
		{"/schemas/routes/validate", map[string]any{"paths": []string{"/p"}, "service": missing}},
		{"/schemas/keyauth_credentials/validate", map[string]any{"key": "secret", "consumer": missing}},
		{"/schemas/plugins/validate", map[string]any{"name": "key-auth", "service": missing}},
	}
	for _, v := range ok {
		r := c.json("POST", v.path, v.body)
		expect(t, r, http.StatusOK, "validate "+v.path)
		equal(t, v.path+" message", r.get("message"), "schema validation successful")
	}
	bad := c.json("POST", "/schemas/services/validate", map[string]any{"name": "crud"})
	expect(t, bad, http.StatusBadRequest, "validate without host")
	equal(t, "message", bad.get("message"), "schema violation (host: required field missing)")
	bad = c.json("POST", "/schemas/plugins/validate", map[string]any{"name": "key-auth", "protocols": []string{"tcp"}})
	expect(t, bad, http.StatusBadRequest, "validate key-auth on tcp")
	// Nothing was written.
	equal(t, "services", len(c.get("/services").get("data").([]any)), 1)
	equal(t, "plugins", len(c.get("/plugins").get("data").([]any)), 0)
}
