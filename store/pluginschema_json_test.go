package store_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

type catalog map[string]*store.PluginSchema

func (c catalog) PluginSchema(name string) (*store.PluginSchema, bool) {
	ps, ok := c[name]
	return ps, ok
}

// bodyOf renders ps as `GET /schemas/plugins/{name}` shows it.
func bodyOf(t *testing.T, ps *store.PluginSchema) []byte {
	t.Helper()
	s := store.New(nil, store.Options{Plugins: catalog{ps.Name: ps}})
	body, ok := s.PluginSchemaBody(ps.Name)
	if !ok {
		t.Fatalf("no body for %s", ps.Name)
	}
	out, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func testPlugin() *store.PluginSchema {
	cfg := &schema.Schema{Fields: []*schema.Field{
		{Name: "second", Type: schema.Number, Gt: schema.Float(0)},
		{Name: "minute", Type: schema.Number, Gt: schema.Float(0)},
		{Name: "policy", Type: schema.String, Default: "local", OneOf: []any{"local", "redis"}},
		{Name: "redis", Type: schema.Record, Fields: []*schema.Field{
			{Name: "host", Type: schema.String},
			{Name: "port", Type: schema.Integer, Between: schema.Range(0, 65535)},
		}, EntityChecks: []schema.EntityCheck{{MutuallyRequired: []string{"host", "port"}}}},
	}}
	cfg.AddEntityChecks("config",
		schema.EntityCheck{AtLeastOneOf: []string{"config.second", "config.minute"}},
		schema.EntityCheck{Conditional: &schema.ConditionalCheck{
			IfField: "config.policy", IfMatch: &schema.Field{Eq: "redis"},
			ThenField: "config.redis.host", ThenMatch: &schema.Field{Required: true}}},
	)
	return &store.PluginSchema{Name: "probe", NoConsumer: true, OnlyProtocols: store.HTTPProtocols,
		Protocols: []string{"http", "https"}, Config: cfg}
}

// TestPluginSchemaFromJSON: a plugin schema loaded from its
// `/schemas/plugins/{name}` body renders the same body, keeps its scopes
// and protocols, and validates plugin entities with the same errors.
func TestPluginSchemaFromJSON(t *testing.T) {
	orig := testPlugin()
	body := bodyOf(t, orig)
	for _, want := range []string{`"consumer":{"eq":null`, `"entity_checks":[{"at_least_one_of":["config.second","config.minute"]}`, `"mutually_required":["host","port"]`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("body lacks %s: %s", want, body)
		}
	}
	loaded, err := store.PluginSchemaFromJSON("probe", body)
	if err != nil {
		t.Fatal(err)
	}
	if again := bodyOf(t, loaded); string(again) != string(body) {
		t.Fatalf("rendering changed:\n%s\n%s", body, again)
	}
	if !loaded.NoConsumer || loaded.NoRoute || loaded.NoService ||
		!reflect.DeepEqual(loaded.OnlyProtocols, orig.OnlyProtocols) || !reflect.DeepEqual(loaded.Protocols, orig.Protocols) {
		t.Errorf("scopes/protocols lost: %+v", loaded)
	}
	inputs := []map[string]any{
		{"name": "probe", "config": map[string]any{"second": 1}},
		{"name": "probe", "config": map[string]any{}},
		{"name": "probe", "config": map[string]any{"second": 1, "policy": "redis"}},
		{"name": "probe", "config": map[string]any{"second": 1, "redis": map[string]any{"port": 5}}},
		{"name": "probe", "config": map[string]any{"second": -1}},
		{"name": "probe", "consumer": map[string]any{"id": "7c8c7a3e-0b2f-4a7e-9a39-8a1c2c1f6a11"}, "config": map[string]any{"second": 1}},
		{"name": "probe", "protocols": []any{"tcp"}, "config": map[string]any{"second": 1}},
	}
	so := store.New(nil, store.Options{Plugins: catalog{"probe": orig}})
	sl := store.New(nil, store.Options{Plugins: catalog{"probe": loaded}})
	fails := 0
	for i, in := range inputs {
		e1 := so.ValidateSchema(context.Background(), "plugins", in)
		e2 := sl.ValidateSchema(context.Background(), "plugins", in)
		if e1 != nil {
			fails++
		}
		if (e1 == nil) != (e2 == nil) || (e1 != nil && e1.Error() != e2.Error()) {
			t.Errorf("input %d: %v vs %v", i, e1, e2)
		}
	}
	if fails != len(inputs)-1 {
		t.Errorf("%d inputs refused, want %d", fails, len(inputs)-1)
	}
}

// TestPluginSchemaFromJSONErrors: malformed bodies are refused with the
// path of the culprit.
func TestPluginSchemaFromJSONErrors(t *testing.T) {
	cases := []struct{ body, want string }{
		{`[]`, "expected a JSON object"},
		{`{"fields": {}}`, "fields: expected an array"},
		{`{"fields": [{"consumer": {"type": "foreign", "reference": "consumers", "eq": 1}}]}`, "consumer.eq"},
		{`{"fields": [{"protocols": {"type": "set", "default": ["gopher"]}}]}`, `unknown protocol "gopher"`},
		{`{"fields": [{"config": {"type": "record", "fields": [{"a": {"type": "strang"}}]}}]}`, `a: unknown type "strang"`},
		{`{"fields": [{"config": {"type": "record", "fields": [{"r": {"type": "record", "fields": [{"n": {"type": "integer", "between": [5]}}]}}]}}]}`, `r.n: attribute "between"`},
		{`{"fields": [{"name": {"type": "integer"}}]}`, `name: expected {"type": "string"}`},
		{`{"fields": [{"instance_name": {"type": "string"}}]}`, "instance_name: not a field"},
		{`{"fields": [], "entity_checks": [{"at_least_one_off": ["a"]}]}`, `unknown entity check "at_least_one_off"`},
		{`{"name": "other", "fields": []}`, `name other does not match`},
		{`{"fields": [], "shorthand_fields": []}`, `unknown key "shorthand_fields"`},
	}
	if ps, err := store.PluginSchemaFromJSON("probe", []byte(`{"name": "probe", "fields": []}`)); err != nil || ps.Name != "probe" || ps.Config == nil {
		t.Errorf("a matching name: %v, %v", ps, err)
	}
	for _, c := range cases {
		_, err := store.PluginSchemaFromJSON("probe", []byte(c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.body, err, c.want)
		}
	}
}

// TestTypedefs: the public typedefs validate as Kong's do.
func TestTypedefs(t *testing.T) {
	cases := []struct {
		f    *schema.Field
		good []any
		bad  map[any]string
	}{
		{store.HostField("h", false), []any{"example.com", "10.0.0.1", "a_b.test"},
			map[any]string{"example.com:80": "must not have a port", "bad host": "invalid value: bad host"}},
		{store.PathField("p"), []any{"/", "/a/b"},
			map[any]string{"a": "should start with: /", "/a//b": "must not have empty segments", "/a?b": "invalid path: '/a?b' (characters '?' and '#' are not allowed)"}},
		{store.HeaderNameField("n"), []any{"x-api_key"},
			map[any]string{"x api": "bad header name 'x api', allowed characters are A-Z, a-z, 0-9, '_', and '-'"}},
		{store.HTTPMethodField("m"), []any{"GET"}, map[any]string{"get": "invalid value: get"}},
		{store.PortField("port", nil), []any{int64(0), int64(65535)}, map[any]string{int64(65536): "value should be between 0 and 65535"}},
		{store.TimeoutField("t", 0, int64(5)), []any{int64(0)}, map[any]string{int64(-1): "value should be between 0 and 2147483646"}},
		{store.URLField("u"), []any{"https://a.test/cb"}, map[any]string{"nope": "cannot parse 'nope'"}},
		{store.SNIField("s"), []any{"*.example.test"}, map[any]string{"10.0.0.1": "must not be an IP"}},
		{store.TagsField(), []any{[]any{"a", "b c"}}, map[any]string{}},
		{store.NameField(true), []any{"svc-1.a~b"}, map[any]string{"a b": "invalid value 'a b': the only accepted ascii characters are alphanumerics or ., -, _, and ~"}},
	}
	for _, c := range cases {
		sch := &schema.Schema{Fields: []*schema.Field{c.f}}
		if gone := schema.GoOnly(sch); len(gone) > 0 {
			t.Errorf("%s: Go-only parts %v", c.f.Name, gone)
		}
		for _, v := range c.good {
			if errs := schema.Validate(sch, map[string]any{c.f.Name: v}); !errs.Empty() {
				t.Errorf("%s: %v refused: %v", c.f.Name, v, errs)
			}
		}
		for v, want := range c.bad {
			errs := schema.Validate(sch, map[string]any{c.f.Name: v})
			if got, _ := errs[c.f.Name].(string); !strings.HasPrefix(got, want) {
				t.Errorf("%s: %v: error %v, want %q", c.f.Name, v, errs, want)
			}
		}
	}
}
