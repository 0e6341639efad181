package luaschema_test

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/plugins-lua/luaschema"
	rtplugin "github.com/gatehouse/gatehouse/runtime/plugin"
	iprestriction "github.com/gatehouse/gatehouse/runtime/plugins/ip-restriction"
	keyauth "github.com/gatehouse/gatehouse/runtime/plugins/key-auth"
	"github.com/gatehouse/gatehouse/store"
)

// newState returns a state with package.preload holding the typedefs.
func newState(t testing.TB) *lua.LState {
	L := lua.NewState()
	luaschema.Preload(L)
	t.Cleanup(L.Close)
	return L
}

// convert runs a schema source and converts its value.
func convert(t testing.TB, L *lua.LState, name, src string) (*luaschema.Schema, lua.LValue, error) {
	t.Helper()
	if err := L.DoString(src); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	v := L.Get(-1)
	L.Pop(1)
	s, err := luaschema.Convert(L, name, v)
	return s, v, err
}

type catalog map[string]*store.PluginSchema

func (c catalog) PluginSchema(name string) (*store.PluginSchema, bool) {
	ps, ok := c[name]
	return ps, ok
}

func body(t *testing.T, ps *store.PluginSchema) map[string]any {
	t.Helper()
	s := store.New(nil, store.Options{Plugins: catalog{ps.Name: ps}})
	b, ok := s.PluginSchemaBody(ps.Name)
	if !ok {
		t.Fatal("no body")
	}
	data, _ := json.Marshal(b)
	var out map[string]any
	json.Unmarshal(data, &out)
	return stripDescriptions(out).(map[string]any)
}

func stripDescriptions(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if k != "description" {
				out[k] = stripDescriptions(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = stripDescriptions(e)
		}
		return out
	}
	return v
}

// TestLikeNative: Lua versions of native plugins' schemas load into the
// node's schemas that render (descriptions aside) and validate exactly
// like the native declarations: same defaults, same errors.
func TestLikeNative(t *testing.T) {
	cases := []struct {
		file   string
		native *store.PluginSchema
		inputs []map[string]any
	}{
		{"key-auth", keyauth.Schema(), []map[string]any{
			{"name": "key-auth", "config": map[string]any{}},
			{"name": "key-auth", "config": map[string]any{"key_names": []any{"x-key", "bad header"}}},
			{"name": "key-auth", "config": map[string]any{"hide_credentials": "yes"}},
			{"name": "key-auth", "config": map[string]any{"unknown": 1}},
			{"name": "key-auth", "consumer": map[string]any{"id": "7c8c7a3e-0b2f-4a7e-9a39-8a1c2c1f6a11"}, "config": map[string]any{}},
			{"name": "key-auth", "protocols": []any{"tcp"}, "config": map[string]any{}},
			{"name": "key-auth", "config": map[string]any{"key_names": []any{}}},
		}},
		{"ip-restriction", iprestriction.Schema(), []map[string]any{
			{"name": "ip-restriction", "config": map[string]any{"allow": []any{"10.0.0.0/8"}}},
			{"name": "ip-restriction", "config": map[string]any{}},
			{"name": "ip-restriction", "config": map[string]any{"deny": []any{"not-an-ip"}}},
			{"name": "ip-restriction", "protocols": []any{"tcp"}, "config": map[string]any{"deny": []any{"1.2.3.4"}}},
			{"name": "ip-restriction", "protocols": []any{"udp"}, "config": map[string]any{"deny": []any{"1.2.3.4"}}},
			{"name": "ip-restriction", "config": map[string]any{"deny": []any{"1.2.3.4"}, "status": "x"}},
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			src, err := os.ReadFile("testdata/" + c.file + ".lua")
			if err != nil {
				t.Fatal(err)
			}
			s, _, err := convert(t, newState(t), c.file, string(src))
			if err != nil {
				t.Fatal(err)
			}
			data, _ := json.Marshal(s.Rendering)
			loaded, err := store.PluginSchemaFromJSON(c.file, data)
			if err != nil {
				t.Fatalf("%v\n%s", err, data)
			}
			if got, want := body(t, loaded), body(t, c.native); !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				t.Errorf("renderings differ:\nlua    %s\nnative %s", g, w)
			}
			sn := store.New(nil, store.Options{Plugins: catalog{c.file: c.native}})
			sl := store.New(nil, store.Options{Plugins: catalog{c.file: loaded}})
			fails := 0
			for i, in := range c.inputs {
				en := sn.ValidateSchema(context.Background(), "plugins", in)
				el := sl.ValidateSchema(context.Background(), "plugins", in)
				if en != nil {
					fails++
				}
				if (en == nil) != (el == nil) || (en != nil && en.Error() != el.Error()) {
					t.Errorf("input %d: native %v, lua %v", i, en, el)
				}
			}
			if fails == 0 || fails == len(c.inputs) {
				t.Errorf("%d of %d inputs refused: the inputs do not exercise the schema", fails, len(c.inputs))
			}
		})
	}
}

// TestConvertErrors: schemas the converter refuses, with the culprit's
// path.
func TestConvertErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{`return 1`, "want a table"},
		{`return { name = "p", fields = { { config = { type = "record", fields = { { a = { type = "strang" } } } } } } }`, `a: type "strang" is not supported`},
		{`return { name = "p", fields = { { config = { type = "record", fields = { { a = { type = "string", bogus = 1 } } } } } } }`, `a: unknown attribute "bogus"`},
		{`return { name = "p", fields = { { config = { type = "string" } } } }`, "config: expected a record"},
		{`return { name = "p", fields = { { consumer = { type = "foreign", reference = "consumers", eq = 1 } } } }`, "only eq = null"},
		{`return { name = "p", fields = { { config = { type = "record", fields = { { a = { type = "string", default = function() end } } } } } } }`, "a: default: functions cannot be rendered"},
		{`return { fields = { a = { type = "blob" } } }`, `a: unknown legacy field type "blob"`},
		{`return { fields = { a = { type = "string", weird = true } } }`, `unknown legacy field attribute "weird"`},
		{`return { name = "p", fields = {}, entity_checks = { { mutually_exclusive_sets = { set1 = {}, set2 = {} } } } }`, `entity check "mutually_exclusive_sets" is not supported`},
	}
	for _, c := range cases {
		_, _, err := convert(t, newState(t), "p", c.src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.src, err, c.want)
		}
	}
}

// TestLegacy: the 0.x form converts as Kong 1.x's loader did.
func TestLegacy(t *testing.T) {
	src := `return {
	  no_consumer = true,
	  fields = {
	    ttl = { type = "number", default = 60 },
	    kind = { type = "string", enum = { "a", "b" }, required = true, default = "a" },
	    hosts = { type = "array", enum = { "x", "y" } },
	    cb = { type = "url" },
	    sub = { type = "table", schema = { fields = { n = { type = "number", default = 2 } } } },
	    flex = { type = "table", schema = { flexible = true, fields = { v = { type = "string" } } } },
	    free = { type = "table" },
	    at = { type = "timestamp" },
	  },
	}`
	s, _, err := convert(t, newState(t), "old", src)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(s.Rendering)
	want := `{"fields":[{"consumer":{"eq":null,"reference":"consumers","type":"foreign"}},{"config":{"fields":[` +
		`{"at":{"auto":true,"timestamp":true,"type":"integer"}},` +
		`{"cb":{"type":"string","x_gatehouse_validator":"url"}},` +
		`{"flex":{"keys":{"type":"string"},"type":"map","values":{"fields":[{"v":{"type":"string"}}],"required":true,"type":"record"}}},` +
		`{"free":{"keys":{"type":"string"},"type":"map","values":{"type":"string"}}},` +
		`{"hosts":{"elements":{"one_of":["x","y"],"type":"string"},"type":"array"}},` +
		`{"kind":{"default":"a","one_of":["a","b"],"required":true,"type":"string"}},` +
		`{"sub":{"default":{"n":2},"fields":[{"n":{"default":2,"type":"number"}}],"required":true,"type":"record"}},` +
		`{"ttl":{"default":60,"type":"number"}}],"type":"record"}}]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if _, err := store.PluginSchemaFromJSON("old", got); err != nil {
		t.Errorf("the node refuses it: %v", err)
	}
}

// TestValidateChecks: custom validators on array elements and map
// values, entity checks, errors raised by a validator.
func TestValidateChecks(t *testing.T) {
	L := newState(t)
	src := `
	local function short(v) if #v > 3 then return nil, "too long: " .. v end return true end
	local function boom(v) if v == "boom" then error("exploded") end return true end
	return { name = "p", fields = { { config = { type = "record", fields = {
	  { list = { type = "array", elements = { type = "string", custom_validator = short } } },
	  { tags = { type = "map", keys = { type = "string" }, values = { type = "string", custom_validator = short } } },
	  { risky = { type = "string", custom_validator = boom } },
	  { silent = { type = "string", custom_validator = function() return false end } },
	} } } } }`
	s, mod, err := convert(t, L, "p", src)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		config map[string]any
		want   string
	}{
		{map[string]any{"list": []any{"a", "bb"}, "tags": map[string]any{"k": "v"}}, ""},
		{map[string]any{"list": []any{"a", "toolong"}}, "list.2: too long: toolong"},
		{map[string]any{"tags": map[string]any{"x": "abcd", "a": "abcde"}}, "tags.a: too long: abcde; tags.x: too long: abcd"},
		{map[string]any{"risky": "boom"}, "risky: <string>:3: exploded"},
		{map[string]any{"silent": "v"}, "silent: failed validating: v"},
	}
	for _, c := range cases {
		err := s.Validate(L, mod, c.config)
		if (c.want == "" && err != nil) || (c.want != "" && (err == nil || err.Error() != c.want)) {
			t.Errorf("%v: %v, want %q", c.config, err, c.want)
		}
	}
}

// TestOtherName: a schema whose name differs from the plugin's is filed
// under the plugin's, as Kong does, and the difference noted.
func TestOtherName(t *testing.T) {
	s, _, err := convert(t, newState(t), "p", `return { name = "other", fields = {} }`)
	if err != nil || len(s.Ignored) != 1 || !strings.Contains(s.Ignored[0], "name other") {
		t.Fatalf("%v %v", err, s)
	}
}

// TestLegacyDaos: a 0.x DAO schema becomes an entity the node accepts,
// with the foreign key renamed as Kong 1.x did.
func TestLegacyDaos(t *testing.T) {
	L := newState(t)
	if err := L.DoString(`
	local function random() return "r" end
	return { crafted_secrets = {
	  primary_key = { "id" },
	  table = "crafted_secrets",
	  cache_key = { "key" },
	  fields = {
	    id = { type = "id", dao_insert_value = true },
	    created_at = { type = "timestamp", immutable = true, dao_insert_value = true },
	    consumer_id = { type = "id", required = true, foreign = "consumers:id" },
	    key = { type = "string", unique = true, default = random },
	    algorithm = { type = "string", default = "HS256", enum = { "HS256", "RS256" } },
	  },
	  self_check = function() return true end,
	} }`); err != nil {
		t.Fatal(err)
	}
	eds, err := luaschema.ConvertDaos(L, L.Get(-1))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(eds[0].Schema)
	want := `{"fields":[{"id":{"auto":true,"type":"string","uuid":true}},{"created_at":{"auto":true,"timestamp":true,"type":"integer"}},` +
		`{"algorithm":{"default":"HS256","one_of":["HS256","RS256"],"type":"string"}},` +
		`{"consumer":{"on_delete":"cascade","reference":"consumers","required":true,"type":"foreign"}},` +
		`{"key":{"auto":true,"type":"string","unique":true}}]}`
	if eds[0].Name != "crafted_secrets" || string(got) != want || !reflect.DeepEqual(eds[0].CacheKey, []string{"key"}) {
		t.Fatalf("got %s %s %v\nwant %s", eds[0].Name, got, eds[0].CacheKey, want)
	}
	if _, err := rtplugin.EntityFromData(eds[0], rtplugin.JSONSchemaLoader{}); err != nil {
		t.Errorf("the node refuses it: %v", err)
	}
}
