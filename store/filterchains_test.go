package store_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

func TestDiscoverWasmFilters(t *testing.T) {
	got, err := store.DiscoverWasmFilters("testdata/wasmfilters")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range got {
		names = append(names, f.Name)
		if f.Name == "rt" && !reflect.DeepEqual(f.ConfigSchema, map[string]any{"type": "object", "required": []any{"add"}}) {
			t.Errorf("rt config schema %v", f.ConfigSchema)
		}
		if f.Name == "tests" && (f.ConfigSchema != nil || f.Path != filepath.Join("testdata/wasmfilters", "tests.wasm")) {
			t.Errorf("tests filter %+v", f)
		}
	}
	if !reflect.DeepEqual(names, []string{"Upper", "rt", "tests"}) {
		t.Fatalf("names %v", names)
	}
	for _, dir := range []string{"", "testdata/no-such-dir"} {
		if got, err := store.DiscoverWasmFilters(dir); err != nil || got != nil {
			t.Errorf("%q: %v %v", dir, got, err)
		}
	}
}

func TestDiscoverWasmFiltersBadMeta(t *testing.T) {
	for _, c := range []struct {
		name, meta, want string
		dir              bool
	}{
		{"not json", "oops!", "JSON decode error", false},
		{"not an object", "[1]", "file contains invalid metadata", false},
		{"schema not an object", `{"config_schema": "x"}`, "file contains invalid metadata", false},
		{"a directory", "", "path exists but is not a file", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "f.wasm"), []byte("\x00asm"), 0o644); err != nil {
				t.Fatal(err)
			}
			meta := filepath.Join(dir, "f.meta.json")
			if c.dir {
				if err := os.Mkdir(meta, 0o755); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(meta, []byte(c.meta), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := store.DiscoverWasmFilters(dir)
			if err == nil || !strings.Contains(err.Error(), "Failed to load metadata for one or more filters") ||
				!strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), meta) {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestValidateJSONSchema(t *testing.T) {
	sch := map[string]any{
		"type":     "object",
		"required": []any{"add"},
		"properties": map[string]any{
			"add":   map[string]any{"type": "object", "properties": map[string]any{"headers": map[string]any{"type": "array", "items": map[string]any{"type": "string", "minLength": 3.0}}}},
			"mode":  map[string]any{"enum": []any{"a", "b"}},
			"count": map[string]any{"type": "integer", "minimum": 1.0, "maximum": 10.0},
		},
		"additionalProperties": false,
	}
	for _, c := range []struct {
		v    any
		want string
	}{
		{map[string]any{"add": map[string]any{}}, ""},
		{map[string]any{"add": map[string]any{"headers": []any{"x:1"}}, "mode": "b", "count": int64(3)}, ""},
		{"str", "wrong type: expected object, got string"},
		{map[string]any{}, "property add is required"},
		{map[string]any{"add": map[string]any{"headers": []any{"x:1", 7.0}}}, "property add validation failed: property headers validation failed: failed to validate item 2: wrong type: expected string, got number"},
		{map[string]any{"add": map[string]any{"headers": []any{"x"}}}, "property add validation failed: property headers validation failed: failed to validate item 1: string too short, expected at least 3, got 1"},
		{map[string]any{"add": map[string]any{}, "mode": "c"}, "property mode validation failed: matches none of the enum values"},
		{map[string]any{"add": map[string]any{}, "count": 1.5}, "property count validation failed: wrong type: expected integer, got number"},
		{map[string]any{"add": map[string]any{}, "count": 11.0}, "property count validation failed: expected 11 to be at most 10"},
		{map[string]any{"add": map[string]any{}, "other": 1.0}, "additional properties forbidden, found other"},
	} {
		if got := store.ValidateJSONSchema(sch, c.v); got != c.want {
			t.Errorf("%v: got %q, want %q", c.v, got, c.want)
		}
	}
}

// FuzzValidateJSONSchema feeds arbitrary JSON schemas and values: the
// validator never panics.
func FuzzValidateJSONSchema(f *testing.F) {
	f.Add([]byte(`{"config_schema":{"type":"object","required":["a"],"properties":{"a":{"items":{"type":"string"}}}}}`), []byte(`{"a":[1]}`))
	f.Add([]byte(`{"config_schema":{"anyOf":[{"type":"null"}],"enum":[1,"x"]}}`), []byte(`"x"`))
	f.Fuzz(func(t *testing.T, meta, value []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "f.wasm"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "f.meta.json"), meta, 0o644); err != nil {
			t.Fatal(err)
		}
		filters, err := store.DiscoverWasmFilters(dir)
		if err != nil || len(filters) != 1 || filters[0].ConfigSchema == nil {
			return
		}
		v, derr := decodeAny(value)
		if derr != nil {
			return
		}
		_ = store.ValidateJSONSchema(filters[0].ConfigSchema, v)
	})
}

func decodeAny(b []byte) (any, error) {
	var v any
	err := json.Unmarshal(b, &v)
	return v, err
}

// TestFilterPluginValidation: a plugin named after an available filter
// takes Kong's shape (kong/runloop/wasm/plugins.lua): config is the
// filter's configuration itself, validated against the filter's JSON
// schema (a string or null without one); a route or a service, not both,
// never a consumer; HTTP protocols. The errors are Kong's.
func TestFilterPluginValidation(t *testing.T) {
	filters, err := store.DiscoverWasmFilters("testdata/wasmfilters")
	if err != nil {
		t.Fatal(err)
	}
	s := store.New(nil, store.Options{Wasm: &store.WasmState{Enabled: true, Filters: filters}})
	route := map[string]any{"id": "6a4c9ac7-2d29-4b53-9dbe-1c7e1a1bd5c4"}
	service := map[string]any{"id": "0a4c9ac7-2d29-4b53-9dbe-1c7e1a1bd5c4"}
	consumer := map[string]any{"id": "1a4c9ac7-2d29-4b53-9dbe-1c7e1a1bd5c4"}
	for _, c := range []struct {
		name string
		in   map[string]any
		want string // the violation's fields as JSON; "" when valid
	}{
		{"string config", map[string]any{"name": "tests", "route": route, "config": "x"}, ""},
		{"no config", map[string]any{"name": "tests", "service": service}, ""},
		{"null config", map[string]any{"name": "tests", "route": route, "config": nil}, ""},
		{"object config without schema", map[string]any{"name": "tests", "route": route, "config": map[string]any{"config": "x"}},
			`{"config":"wrong type: expected one of string, null, got object"}`},
		{"schema'd config", map[string]any{"name": "rt", "route": route, "config": map[string]any{"add": map[string]any{}}}, ""},
		{"schema'd config failing", map[string]any{"name": "rt", "route": route, "config": map[string]any{"remove": 1}},
			`{"config":"property add is required"}`},
		{"schema'd config absent", map[string]any{"name": "rt", "route": route},
			`{"config":"wrong type: expected object, got null"}`},
		{"global", map[string]any{"name": "tests", "config": "x"},
			`{"@entity":["at least one of these fields must be non-empty: 'service', 'route'"]}`},
		{"route and service", map[string]any{"name": "tests", "route": route, "service": service},
			`{"@entity":["only one or none of these fields must be set: 'service', 'route'"]}`},
		{"consumer", map[string]any{"name": "tests", "route": route, "consumer": consumer},
			`{"consumer":"value must be null"}`},
		{"consumer alone", map[string]any{"name": "tests", "consumer": consumer},
			`{"@entity":["at least one of these fields must be non-empty: 'service', 'route'"],"consumer":"value must be null"}`},
		{"tcp", map[string]any{"name": "tests", "route": route, "protocols": []any{"tcp"}},
			`{"protocols":["expected one of: grpc, grpcs, http, https"]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := s.ValidateSchema(t.Context(), "plugins", c.in)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var se *store.Error
			if !errors.As(err, &se) || se.Code != store.CodeSchemaViolation {
				t.Fatalf("got %v, want a schema violation", err)
			}
			got, _ := json.Marshal(se.Fields)
			if string(got) != c.want {
				t.Fatalf("fields %s, want %s", got, c.want)
			}
		})
	}
	// A filter that is not available, or wasm off, is not a plugin.
	for _, st := range []*store.Store{s, store.New(nil, store.Options{})} {
		name := "nope"
		if st != s {
			name = "tests"
		}
		err := st.ValidateSchema(t.Context(), "plugins", map[string]any{"name": name, "route": route})
		if err == nil || !strings.Contains(err.Error(), "not enabled") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestFilterPluginSchemaRoundTrip: the filter plugin schema renders as
// Kong 3.9's GET /schemas/plugins/{filter} and loads back from that body
// with the same meaning.
func TestFilterPluginSchemaRoundTrip(t *testing.T) {
	ps := store.FilterPluginSchema("rt")
	body := bodyOf(t, ps)
	want := `{"entity_checks":[{"mutually_exclusive":["service","route"]},{"at_least_one_of":["service","route"]}],` +
		`"fields":[{"name":{"type":"string"}},` +
		`{"consumer":{"description":"Custom type for representing a foreign key with a null value allowed.","eq":null,"reference":"consumers","type":"foreign"}},` +
		`{"protocols":{"default":["grpc","grpcs","http","https"],"description":"A set of strings representing HTTP protocols.","elements":{"one_of":["grpc","grpcs","http","https"],"type":"string"},"required":true,"type":"set"}},` +
		`{"config":{"json_schema":{"default":{"$schema":"http://json-schema.org/draft-04/schema#","type":["string","null"]},"namespace":"proxy-wasm-filters","optional":true,"parent_subschema_key":"name"},"required":false,"type":"json"}}]}`
	if string(body) != want {
		t.Fatalf("body\n%s\nwant\n%s", body, want)
	}
	loaded, err := store.PluginSchemaFromJSON("rt", body)
	if err != nil {
		t.Fatal(err)
	}
	if again := bodyOf(t, loaded); string(again) != string(body) {
		t.Fatalf("rendering changed:\n%s\n%s", body, again)
	}
	if !reflect.DeepEqual(loaded, ps) {
		t.Errorf("loaded %+v\nwant %+v", loaded, ps)
	}
	for _, bad := range []string{
		`{"fields":[{"config":{"type":"json","json_schema":{"namespace":"x"}}}]}`,
		`{"fields":[{"config":{"type":"json","json_schema":{"inline":1}}}]}`,
		`{"fields":[{"config":{"type":"json","json_schema":{"inline":{},"what":1}}}]}`,
		`{"fields":[{"config":{"type":"json","required":"no"}}]}`,
		`{"fields":[{"name":{"type":"integer"}}]}`,
	} {
		if _, err := store.PluginSchemaFromJSON("rt", []byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

// FuzzPluginSchemaFromJSON feeds arbitrary plugin schema bodies (as
// providers deliver them, the filter plugins' JSON config included) and
// plugin entities: loading never panics; a schema that loads renders a
// body that loads again, and validating an entity against it never
// panics.
func FuzzPluginSchemaFromJSON(f *testing.F) {
	filterBody, _ := json.Marshal(map[string]any{"fields": []any{
		map[string]any{"name": map[string]any{"type": "string"}},
		map[string]any{"config": map[string]any{"type": "json", "json_schema": map[string]any{"inline": map[string]any{"type": "object"}}}},
	}, "entity_checks": []any{map[string]any{"at_least_one_of": []any{"service", "route"}}}})
	f.Add(filterBody, []byte(`{"name":"probe","config":{"a":1},"route":{"id":"6a4c9ac7-2d29-4b53-9dbe-1c7e1a1bd5c4"}}`))
	f.Add([]byte(`{"fields":[{"config":{"type":"json","json_schema":{"parent_subschema_key":"name","namespace":"proxy-wasm-filters","optional":true,"default":{"type":["string","null"]}}}}]}`), []byte(`{"name":"probe","config":"x"}`))
	f.Add([]byte(`{"fields":[{"config":{"type":"record","fields":[{"a":{"type":"string"}}]}}]}`), []byte(`{"name":"probe","config":{"a":"x"}}`))
	f.Fuzz(func(t *testing.T, body, entity []byte) {
		ps, err := store.PluginSchemaFromJSON("probe", body)
		if err != nil {
			return
		}
		s := store.New(nil, store.Options{Plugins: catalog{"probe": ps}, Wasm: &store.WasmState{Enabled: true,
			Filters: []store.WasmFilter{{Name: "probe", ConfigSchema: map[string]any{"type": "object"}}}}})
		rendered, ok := s.PluginSchemaBody("probe")
		if !ok {
			t.Fatal("no body for a loaded schema")
		}
		out, err := json.Marshal(rendered)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.PluginSchemaFromJSON("probe", out); err != nil {
			t.Fatalf("the rendering does not load back: %v\n%s", err, out)
		}
		var in map[string]any
		if json.Unmarshal(entity, &in) == nil && in != nil {
			in["name"] = "probe"
			_ = s.ValidateSchema(t.Context(), "plugins", in)
		}
	})
}

// TestFilterPluginSchemaWithoutProvider: a store that knows a filter
// only from the node's wasm state (no provider serves it) still shows
// Kong's /schemas/plugins body for it.
func TestFilterPluginSchemaWithoutProvider(t *testing.T) {
	s := store.New(nil, store.Options{Wasm: &store.WasmState{Enabled: true, Filters: []store.WasmFilter{{Name: "rt"}}}})
	body, ok := s.PluginSchemaBody("rt")
	if !ok {
		t.Fatal("no body")
	}
	got, _ := json.Marshal(body)
	if want := bodyOf(t, store.FilterPluginSchema("rt")); string(got) != string(want) {
		t.Fatalf("body\n%s\nwant\n%s", got, want)
	}
	if _, ok := store.New(nil, store.Options{}).PluginSchemaBody("rt"); ok {
		t.Fatal("a body with wasm off")
	}
}
