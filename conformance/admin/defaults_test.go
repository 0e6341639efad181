package admin_test

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// fillRecordDefaults fills a configuration from a schema served at
// /schemas/..., the way decK's go-kong (FillRecordDefaults) does: for each
// field, a record that is given or `required` is filled recursively; a field
// already present is kept; an absent field gets its `default`, or null.
func fillRecordDefaults(sch map[string]any, config map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range config {
		out[k] = v
	}
	fields, _ := sch["fields"].([]any)
	for _, entry := range fields {
		for name, raw := range entry.(map[string]any) {
			f := raw.(map[string]any)
			given, present := config[name]
			required, _ := f["required"].(bool)
			if f["type"] == "record" && ((present && given != nil) || required) {
				sub, _ := given.(map[string]any)
				if sub == nil {
					sub = map[string]any{}
				}
				out[name] = fillRecordDefaults(f, sub)
				continue
			}
			if elems, _ := f["elements"].(map[string]any); f["type"] == "array" && elems["type"] == "record" && present {
				// Records inside an array get their defaults too (a
				// filter chain's filters[].enabled).
				if list, ok := given.([]any); ok {
					filled := make([]any, len(list))
					for i, el := range list {
						if m, ok := el.(map[string]any); ok {
							filled[i] = fillRecordDefaults(elems, m)
						} else {
							filled[i] = el
						}
					}
					out[name] = filled
				}
				continue
			}
			if present {
				continue
			}
			if d, ok := f["default"]; ok {
				out[name] = d
			} else {
				out[name] = nil
			}
		}
	}
	return out
}

// TestSchemaDefaultsMatchStore: a client that fills defaults from the served
// schemas computes exactly what the store keeps, for every entity and every
// bundled plugin, so a synced configuration diffs clean against the gateway.
func TestSchemaDefaultsMatchStore(t *testing.T) {
	node := startNode(t, wasmSettings(t, nil))
	c := &client{t: t, base: "http://" + node.Addr("admin")}
	post := func(path string, body map[string]any) map[string]any {
		t.Helper()
		r := c.json("POST", path, body)
		expect(t, r, http.StatusCreated, "POST "+path)
		return r.body
	}
	ref := func(rec map[string]any) map[string]any { return map[string]any{"id": rec["id"]} }
	cert, key := selfSigned(t, "defaults.example.com")
	certificate := post("/certificates", map[string]any{"cert": cert, "key": key})
	consumer := post("/consumers", map[string]any{"username": "alice"})
	upstream := post("/upstreams", map[string]any{"name": "up.test"})
	service := post("/services", map[string]any{"host": "svc.test"})
	developer := post("/developers", map[string]any{"email": "dev@defaults.test", "password": "pw", "meta": `{"full_name":"D"}`})
	application := post("/applications", map[string]any{"name": "app", "consumer": ref(consumer), "developer": ref(developer)})

	type check struct {
		name   string
		schema string         // the /schemas/... path
		path   string         // where to POST
		input  map[string]any // a partial configuration
		skip   []string       // generated fields the schema cannot predict
	}
	generated := []string{"id", "created_at", "updated_at"}
	km := storetest.NewTestKeyMaterial(t)
	checks := []check{
		{"services", "/schemas/services", "/services", map[string]any{"host": "partial.test", "name": "partial"}, nil},
		{"routes", "/schemas/routes", "/routes", map[string]any{"paths": []any{"/p"}, "service": ref(service)}, nil},
		{"consumers", "/schemas/consumers", "/consumers", map[string]any{"custom_id": "c-1"}, nil},
		{"upstreams", "/schemas/upstreams", "/upstreams", map[string]any{"name": "partial.test"}, nil},
		{"upstreams, partial healthchecks", "/schemas/upstreams", "/upstreams", map[string]any{"name": "hc.test",
			"healthchecks": map[string]any{"active": map[string]any{"healthy": map[string]any{"interval": 5}}}}, nil},
		{"targets", "/schemas/targets", "/targets", map[string]any{"target": "10.0.0.1:80", "upstream": ref(upstream)}, nil},
		{"certificates", "/schemas/certificates", "/certificates", map[string]any{"cert": cert, "key": key}, nil},
		{"ca_certificates", "/schemas/ca_certificates", "/ca_certificates", map[string]any{"cert": cert}, []string{"cert_digest"}},
		{"snis", "/schemas/snis", "/snis", map[string]any{"name": "x.example.com", "certificate": ref(certificate)}, nil},
		{"keyauth_credentials", "/schemas/keyauth_credentials", "/key-auths", map[string]any{"key": "k-1", "consumer": ref(consumer)}, nil},
		{"basicauth_credentials", "/schemas/basicauth_credentials", "/basic-auths", map[string]any{"username": "u", "password": "p", "consumer": ref(consumer)}, []string{"password"}},
		{"jwt_secrets", "/schemas/jwt_secrets", "/jwts", map[string]any{"consumer": ref(consumer)}, []string{"key", "secret"}},
		{"acls", "/schemas/acls", "/acls", map[string]any{"group": "g", "consumer": ref(consumer)}, nil},
		{"hmacauth_credentials", "/schemas/hmacauth_credentials", "/hmac-auths", map[string]any{"username": "h", "consumer": ref(consumer)}, []string{"secret"}},
		{"oauth2_credentials", "/schemas/oauth2_credentials", "/oauth2", map[string]any{"name": "app", "consumer": ref(consumer)}, []string{"client_id", "client_secret"}},
		{"key_sets", "/schemas/key_sets", "/key-sets", map[string]any{"name": "ks"}, nil},
		{"keys", "/schemas/keys", "/keys", map[string]any{"kid": "k-1", "jwk": storetest.JWKString(km.JWK, "k-1")}, nil},
		{"keys, pem", "/schemas/keys", "/keys", map[string]any{"kid": "k-2", "pem": map[string]any{"public_key": km.PublicPEM}}, nil},
		{"filter_chains", "/schemas/filter_chains", "/filter-chains", map[string]any{"service": ref(service),
			"filters": []any{map[string]any{"name": "tests"}}}, nil},
		{"plugins: key-auth", "/schemas/plugins/key-auth", "/plugins", map[string]any{"name": "key-auth", "config": map[string]any{"key_names": []any{"k"}}}, nil},
		{"plugins: basic-auth", "/schemas/plugins/basic-auth", "/plugins", map[string]any{"name": "basic-auth", "route": nil, "service": ref(service)}, nil},
		{"plugins: rate-limiting", "/schemas/plugins/rate-limiting", "/plugins", map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 5}}, nil},
		{"plugins: jwt", "/schemas/plugins/jwt", "/plugins", map[string]any{"name": "jwt", "config": map[string]any{"cookie_names": []any{"c"}}}, nil},
		{"plugins: hmac-auth", "/schemas/plugins/hmac-auth", "/plugins", map[string]any{"name": "hmac-auth", "config": map[string]any{"clock_skew": 60}}, nil},
		{"plugins: response-ratelimiting", "/schemas/plugins/response-ratelimiting", "/plugins", map[string]any{"name": "response-ratelimiting",
			"config": map[string]any{"limits": map[string]any{"videos": map[string]any{"minute": 5}}}}, nil},
		{"plugins: request-transformer", "/schemas/plugins/request-transformer", "/plugins", map[string]any{"name": "request-transformer",
			"consumer": ref(consumer), "config": map[string]any{"add": map[string]any{"headers": []any{"x-a:1"}}}}, nil},
		{"plugins: response-transformer", "/schemas/plugins/response-transformer", "/plugins", map[string]any{"name": "response-transformer",
			"service": ref(service), "config": map[string]any{"add": map[string]any{"json": []any{"a:1"}}}}, nil},
		{"plugins: proxy-cache", "/schemas/plugins/proxy-cache", "/plugins", map[string]any{"name": "proxy-cache",
			"route": nil, "config": map[string]any{"strategy": "memory", "vary_headers": []any{"Accept"}}}, nil},
		{"plugins: correlation-id", "/schemas/plugins/correlation-id", "/plugins", map[string]any{"name": "correlation-id",
			"config": map[string]any{"echo_downstream": true}}, nil},
		{"plugins: prometheus", "/schemas/plugins/prometheus", "/plugins", map[string]any{"name": "prometheus", "config": map[string]any{"per_consumer": true}}, nil},
		{"plugins: http-log", "/schemas/plugins/http-log", "/plugins", map[string]any{"name": "http-log", "config": map[string]any{
			"http_endpoint": "http://logs.test/x", "queue": map[string]any{"max_batch_size": 5}}}, nil},
		{"plugins: file-log", "/schemas/plugins/file-log", "/plugins", map[string]any{"name": "file-log", "service": ref(service), "config": map[string]any{"path": "/tmp/x.log"}}, nil},
		{"plugins: tcp-log", "/schemas/plugins/tcp-log", "/plugins", map[string]any{"name": "tcp-log", "config": map[string]any{"host": "logs.test", "port": 9}}, nil},
		{"plugins: udp-log", "/schemas/plugins/udp-log", "/plugins", map[string]any{"name": "udp-log", "config": map[string]any{"host": "logs.test", "port": 9}}, nil},
		{"plugins: oauth2", "/schemas/plugins/oauth2", "/plugins", map[string]any{"name": "oauth2", "service": ref(service),
			"config": map[string]any{"enable_password_grant": true, "provision_key": "pk"}}, nil},
		{"plugins: cors", "/schemas/plugins/cors", "/plugins", map[string]any{"name": "cors"}, nil},
		{"plugins: ip-restriction", "/schemas/plugins/ip-restriction", "/plugins", map[string]any{"name": "ip-restriction", "config": map[string]any{"deny": []any{"10.0.0.1"}}}, nil},
		{"plugins: request-termination", "/schemas/plugins/request-termination", "/plugins", map[string]any{"name": "request-termination", "config": map[string]any{"trigger": "x-stop"}}, nil},
		{"plugins: request-size-limiting", "/schemas/plugins/request-size-limiting", "/plugins", map[string]any{"name": "request-size-limiting"}, nil},
		{"plugins: bot-detection", "/schemas/plugins/bot-detection", "/plugins", map[string]any{"name": "bot-detection", "config": map[string]any{"deny": []any{"^evil"}}}, nil},
		{"policies", "/schemas/policies", "/policies", map[string]any{"name": "p", "rego": "package p\nallow := true\n"}, nil},
		{"denied_ips", "/schemas/denied_ips", "/denied-ips", map[string]any{"ip": "192.0.2.1"}, nil},
		{"rbac_users", "/schemas/rbac_users", "/rbac/users", map[string]any{"name": "u1"}, []string{"user_token"}},
		{"document_objects", "/schemas/document_objects", "/document_objects", map[string]any{"service": ref(service), "path": "specs/a.yml"}, nil},
		{"applications", "/schemas/applications", "/applications", map[string]any{"name": "app2", "consumer": ref(consumer), "developer": ref(developer)}, nil},
		{"application_instances", "/schemas/application_instances", "/application_instances",
			map[string]any{"application": ref(application), "service": ref(service)}, []string{"composite_id"}},
		{"plugins: application-registration", "/schemas/plugins/application-registration", "/plugins", map[string]any{"name": "application-registration",
			"service": ref(service), "config": map[string]any{"display_name": "d", "provision_key": "pk"}}, nil},
		{"plugins: threat-protection", "/schemas/plugins/threat-protection", "/plugins", map[string]any{"name": "threat-protection"}, nil},
		{"plugins: acl", "/schemas/plugins/acl", "/plugins", map[string]any{"name": "acl", "config": map[string]any{"allow": []any{"admin"}}}, nil},
		{"plugins: redirect", "/schemas/plugins/redirect", "/plugins", map[string]any{"name": "redirect", "config": map[string]any{"location": "https://example.com"}}, nil},
		// Kong loads every available proxy-wasm filter as a plugin.
		{"plugins: filter tests", "/schemas/plugins/tests", "/plugins", map[string]any{"name": "tests", "service": ref(service)}, nil},
		{"plugins: filter rt_with_validation", "/schemas/plugins/rt_with_validation", "/plugins", map[string]any{"name": "rt_with_validation",
			"service": ref(service), "config": map[string]any{"add": map[string]any{"headers": []any{"x-a:1"}}}}, nil},
	}
	covered := map[string]bool{}
	for _, ch := range checks {
		t.Run(ch.name, func(t *testing.T) {
			sr := c.get(ch.schema)
			expect(t, sr, http.StatusOK, "GET "+ch.schema)
			var sch map[string]any
			if err := json.Unmarshal(sr.raw, &sch); err != nil {
				t.Fatal(err)
			}
			// The input travels as JSON, as decK sends it.
			in := roundTrip(t, ch.input)
			want := fillRecordDefaults(sch, in)
			got := post(ch.path, ch.input)
			skip := map[string]bool{}
			for _, s := range append(generated, ch.skip...) {
				skip[s] = true
			}
			for _, name := range fieldNames(sch) {
				if skip[name] {
					continue
				}
				wb, _ := json.Marshal(want[name])
				gb, _ := json.Marshal(got[name])
				if string(wb) != string(gb) {
					t.Errorf("%s: schema defaults give %s, the store keeps %s", name, wb, gb)
				}
			}
		})
		covered[ch.schema] = true
	}
	// Every entity the Admin API serves, and every bundled plugin, is covered.
	for _, name := range servedEntities(t, c) {
		if !covered["/schemas/"+name] && name != "plugins" {
			t.Errorf("entity %s has no defaults check", name)
		}
	}
	enabled, _ := c.get("/plugins/enabled").get("enabled_plugins").([]any)
	for _, p := range enabled {
		if !covered["/schemas/plugins/"+p.(string)] {
			t.Errorf("plugin %s has no defaults check", p)
		}
	}
}

func roundTrip(t *testing.T, v map[string]any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func fieldNames(sch map[string]any) []string {
	var out []string
	fields, _ := sch["fields"].([]any)
	for _, entry := range fields {
		for name := range entry.(map[string]any) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// servedEntities lists the entities whose collections the Admin API serves
// (the first segment of each /endpoints entry that is an entity's path),
// checking that each has its schema at /schemas/{name}.
func servedEntities(t *testing.T, c *client) []string {
	t.Helper()
	byPath := map[string]string{}
	for _, e := range store.KongEntities() {
		if store.IsTeamEntity(e.Name) || store.IsPortalEntity(e.Name) || store.IsAdminEntity(e.Name) {
			continue // served through /teams only when enable_teams is on; portal entities by their own handlers
		}
		byPath[strings.Split(e.Path, "/")[0]] = e.Name // rbac_users: /rbac/users
	}
	seen := map[string]bool{}
	var out []string
	eps, _ := c.get("/endpoints").get("data").([]any)
	for _, ep := range eps {
		seg := strings.Split(strings.TrimPrefix(ep.(string), "/"), "/")[0]
		name, ok := byPath[seg]
		if !ok || seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, name)
		if r := c.get("/schemas/" + name); r.status != http.StatusOK {
			t.Errorf("GET /schemas/%s: status %d", name, r.status)
		}
	}
	if len(out) != len(byPath) {
		t.Errorf("/endpoints serves %d entities, the store declares %d", len(out), len(byPath))
	}
	return out
}
