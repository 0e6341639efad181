package store_test

import (
	"encoding/json"
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
