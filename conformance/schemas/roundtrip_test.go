// Package schemas_test proves that schemas survive being data: every bundled
// plugin's schema and every core entity schema, rendered as `/schemas/...`
// shows it and loaded back with store.PluginSchemaFromJSON or
// schema.FromJSON, renders the same bytes and validates a table of valid and
// invalid inputs with the same results and the same messages.
package schemas_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/plugin"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

const someID = "7c8c7a3e-0b2f-4a7e-9a39-8a1c2c1f6a11"

type catalog map[string]*store.PluginSchema

func (c catalog) PluginSchema(name string) (*store.PluginSchema, bool) {
	ps, ok := c[name]
	return ps, ok
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// validConfigs are known-good configurations, from the plugins' tests; a
// plugin not listed starts from an empty config.
var validConfigs = map[string][]map[string]any{
	"response-ratelimiting": {
		{"limits": map[string]any{"videos": map[string]any{"minute": 5, "hour": 50}}},
		{"limits": map[string]any{"a": map[string]any{"second": 1}}, "policy": "redis", "redis": map[string]any{"host": "redis.test", "port": 6379}, "block_on_first_violation": true},
	},
	"rate-limiting": {
		{"minute": 5},
		{"second": 1, "hour": 100, "limit_by": "header", "header_name": "x-user"},
		{"minute": 10, "policy": "redis", "redis": map[string]any{"host": "redis.test", "port": 6379}, "sync_rate": 0.5},
		{"day": 1000, "limit_by": "path", "path": "/v1/things"},
	},
	"request-transformer": {
		{"http_method": "POST", "add": map[string]any{"headers": []any{"x-a:1"}, "querystring": []any{"q:v"}}},
		{"rename": map[string]any{"headers": []any{"x-old:x-new"}}, "remove": map[string]any{"headers": []any{"x-gone"}}},
		{"replace": map[string]any{"uri": "/new", "body": []any{"k:v"}}},
	},
	"proxy-cache": {
		{"strategy": "memory"},
		{"strategy": "memory", "cache_control": true, "vary_headers": []any{"Accept"}, "response_code": []any{200}},
	},
	"key-auth":   {{"key_names": []any{"apikey", "x-api-key"}, "hide_credentials": true}},
	"basic-auth": {{"realm": "r", "anonymous": someID}},
	"http-log": {
		{"http_endpoint": "http://127.0.0.1:9/log"},
		{"http_endpoint": "https://u:p@logs.test/x", "method": "PUT", "headers": map[string]any{"x-k": "v"},
			"queue": map[string]any{"max_batch_size": 10, "max_bytes": 1000}},
	},
	"file-log": {{"path": "/tmp/gatehouse-file-log.json", "reopen": true}},
	"tcp-log":  {{"host": "127.0.0.1", "port": 9, "tls": true, "tls_sni": "logs.test"}},
	"udp-log":  {{"host": "logs.test", "port": 514, "timeout": 100}},
	"application-registration": {
		{"display_name": "auth", "auto_approve": true},
		{"display_name": "auth2", "auth_header_name": "authorization", "auto_approve": true, "enable_client_credentials": true},
	},
	"oauth2": {
		{"enable_client_credentials": true},
		{"enable_authorization_code": true, "mandatory_scope": true, "scopes": []any{"email"}, "pkce": "strict", "provision_key": "pk"},
	},
	"jwt":            {{"claims_to_verify": []any{"exp", "nbf"}, "maximum_expiration": 3600, "cookie_names": []any{"c"}, "realm": "r"}},
	"hmac-auth":      {{"algorithms": []any{"hmac-sha256"}, "enforce_headers": []any{"date"}, "clock_skew": 30, "validate_request_body": true}},
	"redirect":       {{"location": "https://example.com/new"}, {"location": "http://a.test:8080/x?y=1", "keep_incoming_path": true, "status_code": 302}},
	"ip-restriction": {{"allow": []any{"10.0.0.0/8", "::1"}}, {"deny": []any{"192.168.0.1"}, "status": 401, "message": "no"}},
	"acl":            {{"allow": []any{"admin"}}, {"deny": []any{"banned"}, "hide_groups_header": true, "policy": "readers"}},
	"threat-protection": {{"dos": map[string]any{"max_requests": 100, "window": 10, "trusted_cidrs": []any{"10.0.0.0/8"}}},
		{"dos_by_ip": map[string]any{"max_in_progress": 4, "action": "deny_list", "block_seconds": 60}, "auth_lockout": map[string]any{"max_failures": 5}},
		{"rules": []any{map[string]any{"name": "deep", "action": "alert", "message": "m", "paths": []any{"/api/*"},
			"filters": map[string]any{"max_body_size": 1024, "json": map[string]any{"max_container_depth": 3}, "xml": map[string]any{"max_node_depth": 4},
				"sql_injection": map[string]any{"parameters": []any{"q"}}, "require_credential": true}}}}},
}

// extraConfigs are invalid configurations that exercise entity checks and
// custom validators.
var extraConfigs = map[string][]map[string]any{
	"response-ratelimiting": {
		{},
		{"limits": map[string]any{}},
		{"limits": map[string]any{"videos": map[string]any{}}},
		{"limits": map[string]any{"videos": map[string]any{"minute": 5, "second": 10}}},
		{"limits": map[string]any{"videos": map[string]any{"minute": -1}}},
		{"limits": map[string]any{"videos": map[string]any{"minute": 5}}, "policy": "redis"},
		{"limits": map[string]any{"videos": map[string]any{"minute": 5}}, "limit_by": "path"},
	},
	"rate-limiting": {
		{},
		{"minute": 10, "second": 20},
		{"minute": 5, "policy": "redis"},
		{"minute": 5, "policy": "redis", "redis": map[string]any{"host": "redis.test"}},
		{"minute": 5, "limit_by": "header"},
		{"minute": 5, "limit_by": "path"},
		{"minute": 5, "sync_rate": 1},
		{"minute": 5, "policy": "redis", "redis": map[string]any{"host": "r", "port": 1}, "sync_rate": 0.001},
		{"minute": 5, "redis": map[string]any{"host": "h:80", "port": 1}},
	},
	"request-transformer": {
		{"http_method": "post"},
		{"add": map[string]any{"headers": []any{"x-a"}}},
		{"add": map[string]any{"headers": []any{"x a:1"}}},
		{"rename": map[string]any{"headers": []any{"x-old:bad name"}}},
		{"add": map[string]any{"body": []any{"k:"}}},
		{"replace": map[string]any{"headers": []any{":v"}}},
	},
	"key-auth":  {{"key_names": []any{"bad name"}}, {"key_names": []any{}}},
	"jwt":       {{"maximum_expiration": 60}, {"maximum_expiration": 60, "claims_to_verify": []any{"nbf"}}, {"claims_to_verify": []any{"iat"}}, {"maximum_expiration": 31536001}},
	"hmac-auth": {{"clock_skew": 0}, {"algorithms": []any{"hmac-md5"}}},
}

// probeStrings are values that trip typedef validators and patterns.
var probeStrings = []any{"", " ", "ok", "a b", "/", "/a//b", "/a?b", "x:y", ":v", "k:", "GET", "get",
	"example.com", "example.com:80", "-bad-", "bad name", "a\x00b", strings.Repeat("n", 600)}

// mutations returns values that exercise f's type and constraints: the
// wrong types, null, bounds and probe strings.
func mutations(f *schema.Field) []any {
	out := []any{nil, "x", int64(7), 1.5, true, []any{"a"}, map[string]any{"k": "v"}}
	switch f.Type {
	case schema.String:
		out = append(out, probeStrings...)
		for _, o := range f.OneOf {
			out = append(out, o)
		}
		if f.LenMax > 0 {
			out = append(out, strings.Repeat("a", f.LenMax+1))
		}
	case schema.Integer, schema.Number:
		out = append(out, int64(-1), int64(0), int64(1), int64(65536), int64(2147483647), 0.01, -0.5)
		if f.Between != nil {
			out = append(out, f.Between[0]-1, f.Between[1]+1, f.Between[0], f.Between[1])
		}
		if f.Gt != nil {
			out = append(out, *f.Gt)
		}
		for _, o := range f.OneOf {
			out = append(out, o)
		}
	case schema.Array, schema.Set:
		out = append(out, []any{}, []any{nil}, []any{int64(1)}, "a,b")
		for _, s := range probeStrings {
			out = append(out, []any{s})
		}
		if f.Elements != nil {
			for _, o := range f.Elements.OneOf {
				out = append(out, []any{o, o})
			}
		}
	case schema.Map:
		out = append(out, map[string]any{"k": int64(1)}, map[string]any{"access": []any{"x"}}, map[string]any{"bad name": "v"})
	case schema.Record:
		out = append(out, map[string]any{}, map[string]any{"unknown": 1})
	case schema.Foreign:
		out = append(out, map[string]any{"id": someID}, map[string]any{"id": "nope"})
	}
	return out
}

// inputs builds the table for a record: each base, then each base with one
// field (at any depth) replaced by each of its mutations.
func inputs(fields []*schema.Field, bases []map[string]any) []map[string]any {
	var out []map[string]any
	var walk func(path []string, fields []*schema.Field)
	walk = func(path []string, fields []*schema.Field) {
		for _, f := range fields {
			p := append(append([]string(nil), path...), f.Name)
			for _, base := range bases {
				for _, v := range mutations(f) {
					in := schema.Clone(base).(map[string]any)
					set(in, p, schema.Clone(v))
					out = append(out, in)
				}
			}
			if f.Type == schema.Record {
				walk(p, f.Fields)
			}
		}
	}
	out = append(out, bases...)
	walk(nil, fields)
	return out
}

func set(m map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		sub, ok := m[k].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[k] = sub
		}
		m = sub
	}
	m[path[len(path)-1]] = v
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestBundledPluginSchemasRoundTrip: every bundled plugin's
// `/schemas/plugins/{name}` body loads back into a schema that renders the
// same bytes and validates the same plugin entities with the same errors.
func TestBundledPluginSchemasRoundTrip(t *testing.T) {
	names := plugin.Bundled()
	if len(names) < 4 {
		t.Fatalf("only %d bundled plugins: %v", len(names), names)
	}
	cat, err := plugin.NewCatalog([]string{"bundled"})
	if err != nil {
		t.Fatal(err)
	}
	orig := store.New(nil, store.Options{Plugins: cat})
	ctx := context.Background()
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			ps, _ := cat.PluginSchema(name)
			body, ok := orig.PluginSchemaBody(name)
			if !ok {
				t.Fatalf("no /schemas body")
			}
			raw := marshal(t, body)
			if gone := schema.GoOnly(ps.Config); len(gone) > 0 {
				t.Fatalf("config has parts that cannot be rendered: %v", gone)
			}
			loaded, err := store.PluginSchemaFromJSON(name, raw)
			if err != nil {
				t.Fatalf("PluginSchemaFromJSON: %v\n%s", err, raw)
			}
			store.PreparePluginSchema(loaded)
			again := store.New(nil, store.Options{Plugins: catalog{name: loaded}})
			body2, _ := again.PluginSchemaBody(name)
			if raw2 := marshal(t, body2); string(raw2) != string(raw) {
				t.Fatalf("rendering differs after the round trip:\n%s\n%s", raw, raw2)
			}
			if loaded.NoConsumer != ps.NoConsumer || loaded.NoRoute != ps.NoRoute || loaded.NoService != ps.NoService {
				t.Errorf("scopes differ: %+v vs %+v", loaded, ps)
			}

			bases := validConfigs[name]
			if bases == nil {
				bases = []map[string]any{{}}
			}
			var table []map[string]any
			for _, cfg := range inputs(ps.Config.Fields, bases) {
				table = append(table, map[string]any{"name": name, "config": cfg})
			}
			for _, cfg := range extraConfigs[name] {
				table = append(table, map[string]any{"name": name, "config": cfg})
			}
			for _, scope := range []string{"consumer", "route", "service"} {
				table = append(table, map[string]any{"name": name, "config": bases[0], scope: map[string]any{"id": someID}})
			}
			for _, p := range [][]any{{"tcp"}, {"http"}, {"grpc", "https"}, {"udp", "http"}, {}} {
				table = append(table, map[string]any{"name": name, "config": bases[0], "protocols": p})
			}
			accepted, messages := 0, map[string]bool{}
			for i, in := range table {
				e1 := errString(orig.ValidateSchema(ctx, "plugins", in))
				e2 := errString(again.ValidateSchema(ctx, "plugins", in))
				if e1 != e2 {
					t.Errorf("input %d %s:\n Go schema:     %q\n loaded schema: %q", i, marshal(t, in), e1, e2)
				}
				if e1 == "" {
					accepted++
				} else {
					messages[e1] = true
				}
			}
			for _, cfg := range bases {
				if err := orig.ValidateSchema(ctx, "plugins", map[string]any{"name": name, "config": cfg}); err != nil {
					t.Errorf("valid config %v refused: %v", cfg, err)
				}
			}
			// The table must exercise refusals, not only acceptances.
			if accepted == 0 || len(messages) < 5 {
				t.Errorf("table of %d inputs: %d accepted, %d distinct errors", len(table), accepted, len(messages))
			}
			t.Logf("%d inputs, %d accepted, %d distinct errors", len(table), accepted, len(messages))
		})
	}
}

// entityBases are valid inputs of the core entities the round trip covers
// whole.
var entityBases = map[string][]map[string]any{
	"keyauth_credentials":   {{"key": "k", "consumer": map[string]any{"id": someID}}},
	"basicauth_credentials": {{"username": "u", "password": "p", "consumer": map[string]any{"id": someID}}},
	"acls":                  {{"group": "g", "consumer": map[string]any{"id": someID}}},
	"hmacauth_credentials":  {{"username": "u", "secret": "s", "consumer": map[string]any{"id": someID}}},
	"jwt_secrets":           {{"key": "k", "secret": "s", "algorithm": "HS256", "consumer": map[string]any{"id": someID}}},
	"oauth2_credentials":    {{"name": "app", "redirect_uris": []any{"https://app.test/cb"}, "consumer": map[string]any{"id": someID}}},
	"key_sets":              {{"name": "ks"}},
	"policies":              {{"name": "readers", "rego": "package p\nallow := true\n"}},
	"denied_ips":            {{"ip": "192.0.2.0/24", "reason": "abuse", "expires_at": 4102444800}},
	"rbac_users":            {{"name": "u1", "user_token": "0123456789abcdef", "comment": "c"}},
	"admin_credentials":     {{"admin": map[string]any{"id": someID}, "password_hash": "h"}},
	"reset_secrets":         {{"subject": "admin:x", "secret": "0123456789abcdef0123456789abcdef", "status": 2, "client_addr": "127.0.0.1"}},
	"sessions": {{"session_id": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "audience": "admin",
		"subject": "s", "created": 1, "last_seen": 2, "rolling_expires": 3, "absolute_expires": 4}},
	"login_attempts":      {{"subject": "admin:x", "attempts": 3}},
	"rbac_roles":          {{"name": "dev", "comment": "c", "privileges": []any{"manage-apis"}}},
	"rbac_role_endpoints": {{"role": map[string]any{"id": someID}, "endpoint": "/services/*", "actions": []any{"read"}, "negative": true}},
	"teams":               {{"name": "t1", "description": "d", "roles": []any{"read-only"}}},
	"team_members":        {{"team": map[string]any{"id": someID}, "user": map[string]any{"id": someID}, "admin": true}},
	"team_assets":         {{"team": map[string]any{"id": someID}, "entity_type": "services", "entity_id": someID, "via_rule": false}},
	"team_rules": {{"team": map[string]any{"id": someID}, "entity_type": "services", "join": "or",
		"conditions": []any{map[string]any{"field": "tags", "op": "contains", "value": "prod"}}}},
	"filter_chains":              {{"service": map[string]any{"id": someID}, "filters": []any{map[string]any{"name": "f", "enabled": true, "config": "c"}}}},
	"oauth2_authorization_codes": {{"credential": map[string]any{"id": someID}, "code": "c", "challenge_method": "S256"}},
	"oauth2_tokens":              {{"credential": map[string]any{"id": someID}, "expires_in": 10, "refresh_token": "r", "scope": "s"}},
	"workspaces":                 {{"name": "default", "comment": "c", "config": map[string]any{"portal": true}}},
	"applications": {{"name": "app", "redirect_uri": "https://app.test/cb", "custom_id": "c1",
		"consumer": map[string]any{"id": someID}, "developer": map[string]any{"id": someID}}},
	"application_instances": {{"application": map[string]any{"id": someID}, "service": map[string]any{"id": someID}, "status": 0}},
}

// goOnlyEntities are the core entities whose schemas still hold Go-only
// validators or checks (declared in store/entities.go, store/keys.go and
// store/portal.go):
// their rendering round-trips, but their validation cannot until those
// become named validators and entity checks as data. The test fails when
// this list is stale, in either direction.
var goOnlyEntities = []string{"admins", "ca_certificates", "certificates", "consumers", "developer_roles", "developers",
	"document_objects", "files", "keys", "plugins", "routes", "services", "snis", "targets", "upstreams"}

// validate runs the write pipeline's schema steps: coercion, defaults,
// validation, as a flat list of messages.
func validate(sch *schema.Schema, in map[string]any) []string {
	rec, errs := schema.Coerce(sch, schema.Clone(in).(map[string]any))
	if !errs.Empty() {
		return append([]string{"coerce"}, errs.Flatten()...)
	}
	schema.FillDefaults(sch, rec)
	return schema.Validate(sch, rec).Flatten()
}

// TestEntitySchemasRoundTrip: every core entity's `/schemas/{entity}` body
// loads back with schema.FromJSON and renders the same bytes; the entities
// without Go-only parts also validate a table of inputs the same way.
func TestEntitySchemasRoundTrip(t *testing.T) {
	var goOnly []string
	for _, e := range store.New(nil, store.Options{Entities: plugin.LinkedEntities()}).Registry().All() {
		t.Run(e.Name, func(t *testing.T) {
			raw := marshal(t, schema.Render(e.Schema))
			loaded, err := schema.FromJSON(raw)
			if err != nil {
				t.Fatalf("FromJSON: %v\n%s", err, raw)
			}
			if raw2 := marshal(t, schema.Render(loaded)); string(raw2) != string(raw) {
				t.Fatalf("rendering differs after the round trip:\n%s\n%s", raw, raw2)
			}
			if parts := schema.GoOnly(e.Schema); len(parts) > 0 {
				goOnly = append(goOnly, e.Name)
				t.Logf("Go-only parts, validation not compared: %v", parts)
				return
			}
			bases, ok := entityBases[e.Name]
			if !ok {
				t.Fatalf("no valid input listed for %s in entityBases", e.Name)
			}
			accepted, messages := 0, map[string]bool{}
			table := inputs(e.Schema.Fields, bases)
			for i, in := range table {
				m1, m2 := validate(e.Schema, in), validate(loaded, in)
				if !reflect.DeepEqual(m1, m2) {
					t.Errorf("input %d %s:\n Go schema:     %q\n loaded schema: %q", i, marshal(t, in), m1, m2)
				}
				if len(m1) == 0 {
					accepted++
				} else {
					messages[strings.Join(m1, "; ")] = true
				}
			}
			if accepted == 0 || len(messages) < 5 {
				t.Errorf("table of %d inputs: %d accepted, %d distinct errors", len(table), accepted, len(messages))
			}
		})
	}
	sort.Strings(goOnly)
	if !reflect.DeepEqual(goOnly, goOnlyEntities) {
		t.Errorf("entities with Go-only parts: %v, listed %v", goOnly, goOnlyEntities)
	}
}

// TestLoadedPluginRunsItsValidators: a schema loaded from JSON carries the
// named validators, patterns and entity checks, not only their names: each
// refuses what it should.
func TestLoadedPluginRunsItsValidators(t *testing.T) {
	cat, err := plugin.NewCatalog([]string{"bundled"})
	if err != nil {
		t.Fatal(err)
	}
	orig := store.New(nil, store.Options{Plugins: cat})
	cases := []struct {
		plugin string
		config map[string]any
		want   string
	}{
		{"rate-limiting", map[string]any{}, "at least one of these fields must be non-empty: 'config.second'"},
		{"oauth2", map[string]any{}, "at least one of these fields must be true: enable_authorization_code, enable_implicit_grant, enable_client_credentials, enable_password_grant"},
		{"oauth2", map[string]any{"enable_password_grant": true, "mandatory_scope": true}, "failed conditional validation given value of field 'mandatory_scope'"},
		{"rate-limiting", map[string]any{"minute": 5, "limit_by": "header"}, "failed conditional validation given value of field 'config.limit_by'"},
		{"rate-limiting", map[string]any{"minute": 5, "second": 10}, "The limit for minute(5.0) cannot be lower than the limit for second(10.0)"},
		{"rate-limiting", map[string]any{"minute": 5, "redis": map[string]any{"host": "h"}}, "all or none of these fields must be set: 'host', 'port'"},
		{"rate-limiting", map[string]any{"minute": 5, "path": "/a//b"}, "must not have empty segments"},
		{"key-auth", map[string]any{"key_names": []any{"a b"}}, "bad header name 'a b'"},
		{"request-transformer", map[string]any{"http_method": "get"}, "http_method: invalid value: get"},
		{"http-log", map[string]any{"http_endpoint": "http://u:p@h/x", "headers": map[string]any{"Authorization": "x"}},
			"specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed"},
		{"http-log", map[string]any{"http_endpoint": "http://h/x", "headers": map[string]any{"Host": "x"}}, "cannot contain 'Host' header"},
		{"file-log", map[string]any{"path": "/tmp/a*b"}, "invalid value"},
		{"udp-log", map[string]any{"host": "h", "port": 1, "custom_fields_by_lua": map[string]any{"a": "return 1"}}, "custom_fields_by_lua is not supported"},
		{"request-transformer", map[string]any{"add": map[string]any{"body": []any{"k"}}}, "key 'k' has no value"},
	}
	for _, c := range cases {
		body, _ := orig.PluginSchemaBody(c.plugin)
		loaded, err := store.PluginSchemaFromJSON(c.plugin, marshal(t, body))
		if err != nil {
			t.Fatal(err)
		}
		s := store.New(nil, store.Options{Plugins: catalog{c.plugin: loaded}})
		got := errString(s.ValidateSchema(context.Background(), "plugins", map[string]any{"name": c.plugin, "config": c.config}))
		if !strings.Contains(got, c.want) {
			t.Errorf("%s %v: error %q, want it to contain %q", c.plugin, c.config, got, c.want)
		}
	}
}

// Example of the body a loaded schema is read from, for the docs.
func ExampleRenderPluginSchema() {
	ps := &store.PluginSchema{Name: "demo", NoConsumer: true, Config: &schema.Schema{Fields: []*schema.Field{
		store.HeaderNameField("header"),
	}}}
	s := store.New(nil, store.Options{Plugins: catalog{"demo": ps}})
	body, _ := s.PluginSchemaBody("demo")
	fields := body["fields"].([]any)
	b, _ := json.Marshal(fields[0])
	fmt.Println(string(b))
	b, _ = json.Marshal(fields[4])
	fmt.Println(string(b))
	// Output:
	// {"consumer":{"eq":null,"on_delete":"cascade","reference":"consumers","type":"foreign"}}
	// {"config":{"fields":[{"header":{"type":"string","x_gatehouse_validator":"header_name"}}],"required":true,"type":"record"}}
}
