package schemas_test

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/conformance/testcert"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// cloneField deep-copies a field tree (Check functions are shared).
func cloneField(f *schema.Field) *schema.Field {
	if f == nil {
		return nil
	}
	c := *f
	c.Elements, c.Keys, c.Values = cloneField(f.Elements), cloneField(f.Keys), cloneField(f.Values)
	c.Fields = make([]*schema.Field, len(f.Fields))
	for i, sub := range f.Fields {
		c.Fields[i] = cloneField(sub)
	}
	if f.Fields == nil {
		c.Fields = nil
	}
	return &c
}

// named returns a copy of s where every Go validator and record check that
// is a registered validator is referred to by its name instead: what the
// core entity declarations become when they say Validator: "<name>".
func named(s *schema.Schema) *schema.Schema {
	fieldNames, recordNames := map[uintptr]string{}, map[uintptr]string{}
	fns, rns := schema.Validators()
	for _, n := range fns {
		fn, _ := schema.LookupValidator(n)
		fieldNames[reflect.ValueOf(fn).Pointer()] = n
	}
	for _, n := range rns {
		fn, _ := schema.LookupRecordValidator(n)
		recordNames[reflect.ValueOf(fn).Pointer()] = n
	}
	var convert func(f *schema.Field)
	convert = func(f *schema.Field) {
		if f == nil {
			return
		}
		if f.Check != nil {
			if n, ok := fieldNames[reflect.ValueOf(f.Check).Pointer()]; ok && f.Validator == "" {
				f.Validator, f.Check = n, nil
			}
		}
		convert(f.Elements)
		convert(f.Keys)
		convert(f.Values)
		for _, sub := range f.Fields {
			convert(sub)
		}
	}
	out := &schema.Schema{Conditionals: s.Conditionals}
	for _, f := range s.Fields {
		c := cloneField(f)
		convert(c)
		out.Fields = append(out.Fields, c)
	}
	var checks []schema.EntityCheck
	for _, c := range s.Checks {
		if n, ok := recordNames[reflect.ValueOf(c).Pointer()]; ok {
			checks = append(checks, schema.EntityCheck{Validator: n})
		} else {
			out.Checks = append(out.Checks, c)
		}
	}
	return out.AddEntityChecks("", checks...)
}

// TestCoreEntitiesWithNamedValidators: the core entities' Go validators
// are registered by name (store/typedefs.go); an entity declared with
// those names instead of Go functions validates exactly as today and
// survives the JSON round trip, unless Go-only conditionals or checks
// remain. This is the migration path for store/entities.go.
func TestCoreEntitiesWithNamedValidators(t *testing.T) {
	cert, key, err := testcert.SelfSigned("example.test")
	if err != nil {
		t.Fatal(err)
	}
	ref := map[string]any{"id": someID}
	bases := map[string][]map[string]any{
		"targets":            {{"target": "10.0.0.1:8080", "upstream": ref}},
		"snis":               {{"name": "example.test", "certificate": ref}},
		"ca_certificates":    {{"cert": cert}},
		"plugins":            {{"name": "key-auth", "instance_name": "ka-1"}},
		"oauth2_credentials": {{"name": "app", "redirect_uris": []any{"https://app.test/cb"}, "consumer": ref}},
		"keys":               {{"kid": "k1", "pem": map[string]any{"private_key": key}}},
	}
	var full []string
	for _, e := range store.New(nil, store.Options{Entities: plugin.LinkedEntities()}).Registry().All() {
		if len(schema.GoOnly(e.Schema)) == 0 {
			continue // already covered by TestEntitySchemasRoundTrip
		}
		conv := named(e.Schema)
		if rest := schema.GoOnly(conv); len(rest) > 0 {
			t.Logf("%s: Go-only after naming validators: %v", e.Name, rest)
			continue
		}
		full = append(full, e.Name)
		raw, _ := json.Marshal(schema.Render(conv))
		loaded, err := schema.FromJSON(raw)
		if err != nil {
			t.Errorf("%s: FromJSON: %v", e.Name, err)
			continue
		}
		if raw2, _ := json.Marshal(schema.Render(loaded)); string(raw2) != string(raw) {
			t.Errorf("%s: rendering differs after the round trip", e.Name)
		}
		b := bases[e.Name]
		if b == nil {
			b = []map[string]any{{}}
		}
		messages := map[string]bool{}
		for i, in := range inputs(e.Schema.Fields, b) {
			m0, m1, m2 := validate(e.Schema, in), validate(conv, in), validate(loaded, in)
			if !reflect.DeepEqual(m0, m1) || !reflect.DeepEqual(m0, m2) {
				t.Errorf("%s input %d %s:\n Go: %q\n named: %q\n loaded: %q", e.Name, i, marshal(t, in), m0, m1, m2)
			}
			messages[strings.Join(m0, "; ")] = true
		}
		if len(messages) < 5 {
			t.Errorf("%s: only %d distinct results", e.Name, len(messages))
		}
	}
	sort.Strings(full)
	want := []string{"ca_certificates", "keys", "plugins", "snis", "targets"}
	if !reflect.DeepEqual(full, want) {
		t.Errorf("entities that round-trip once their validators are named: %v, want %v", full, want)
	}
}
