package schema_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store/schema"
)

func init() {
	schema.RegisterValidator("test.no_x", func(v any) string {
		if s, _ := v.(string); strings.Contains(s, "x") {
			return "must not contain x"
		}
		return ""
	})
	schema.RegisterRecordValidator("test.a_below_b", func(rec map[string]any) []string {
		a, _ := rec["a"].(int64)
		b, _ := rec["b"].(int64)
		if rec["a"] != nil && rec["b"] != nil && a >= b {
			return []string{"a must be below b"}
		}
		return nil
	})
}

// vocabulary uses every attribute and entity check FromJSON reads.
const vocabulary = `{"fields": [
 {"id": {"type": "string", "uuid": true, "auto": true}},
 {"a": {"type": "integer", "between": [0, 100]}},
 {"b": {"type": "integer", "gt": 0, "not_one_of": [13]}},
 {"c": {"type": "string", "len_min": 2, "len_max": 5, "starts_with": "c", "x_gatehouse_validator": "test.no_x"}},
 {"d": {"type": "string", "match": "^%u[%l%d]*$", "x_gatehouse_match_message": "must be a capitalised word"}},
 {"e": {"type": "string", "one_of": ["on", "off"], "default": "off", "required": true}},
 {"f": {"type": "number", "eq": 1.5}},
 {"g": {"type": "set", "elements": {"type": "string", "one_of": ["p", "q"]}, "default": ["p"]}},
 {"h": {"type": "map", "keys": {"type": "string", "match": "^[%w-]+$"}, "values": {"type": "integer", "between": [1, 9]}}},
 {"r": {"type": "record", "required": false, "fields": [
   {"host": {"type": "string"}}, {"port": {"type": "integer"}}
 ], "entity_checks": [{"mutually_required": ["host", "port"]}]}},
 {"owner": {"type": "foreign", "reference": "consumers", "on_delete": "cascade"}},
 {"secret": {"type": "string", "referenceable": true, "encrypted": true, "sensitive": true, "description": "a secret"}},
 {"blob": {"type": "json"}},
 {"ua": {"type": "array", "elements": {"type": "string", "is_regex": true}}},
 {"s2": {"type": "string", "not_match": "%s", "match_none": [{"pattern": "^admin", "err": "reserved"}], "match_all": [{"pattern": "%l", "err": "needs a lower-case letter"}], "match_any": {"patterns": ["^a", "^b"], "err": "must start with a or b"}}}
], "entity_checks": [
 {"at_least_one_of": ["a", "b"]},
 {"only_one_of": ["c", "d"]},
 {"mutually_exclusive": ["f", "blob"]},
 {"distinct": ["a", "b"]},
 {"conditional": {"if_field": "e", "if_match": {"eq": "on"}, "then_field": "f", "then_match": {"required": true}}},
 {"conditional": {"if_field": "a", "if_match": {"eq": 42}, "then_field": "r.host", "then_match": {"required": true}, "then_err": "a is %s"}},
 {"conditional_at_least_one_of": {"if_field": "e", "if_match": {"one_of": ["on"]}, "then_at_least_one_of": ["secret"], "else_match": {"eq": "off"}, "else_then_at_least_one_of": ["owner", "a", "b"], "else_then_err": "need one of %s"}},
 {"x_gatehouse_validator": "test.a_below_b"}
]}`

func validateJSON(s *schema.Schema, in map[string]any) []string {
	rec, errs := schema.Coerce(s, in)
	if !errs.Empty() {
		return errs.Flatten()
	}
	schema.FillDefaults(s, rec)
	return schema.Validate(s, rec).Flatten()
}

// TestFromJSONVocabulary: every attribute and entity check loads, renders
// back, and validates as Kong's schema library does.
func TestFromJSONVocabulary(t *testing.T) {
	s, err := schema.FromJSON([]byte(vocabulary))
	if err != nil {
		t.Fatal(err)
	}
	if gone := schema.GoOnly(s); len(gone) > 0 {
		t.Fatalf("GoOnly = %v", gone)
	}
	r1, _ := json.Marshal(schema.Render(s))
	s2, err := schema.FromJSON(r1)
	if err != nil {
		t.Fatalf("reloading %s: %v", r1, err)
	}
	if r2, _ := json.Marshal(schema.Render(s2)); string(r1) != string(r2) {
		t.Fatalf("render not stable:\n%s\n%s", r1, r2)
	}
	var back, orig any
	_ = json.Unmarshal(r1, &back)
	_ = json.Unmarshal([]byte(vocabulary), &orig)
	if !reflect.DeepEqual(back, orig) {
		t.Errorf("Render(FromJSON(x)) != x:\n%s", r1)
	}
	cases := []struct {
		in   map[string]any
		want []string
	}{
		{map[string]any{"a": 1, "c": "cab"}, nil},
		{map[string]any{"c": "cab"}, []string{"at least one of these fields must be non-empty: 'a', 'b'", "need one of 'owner', 'a', 'b'"}},
		{map[string]any{"a": 101, "c": "cab"}, []string{"a: value should be between 0 and 100"}},
		{map[string]any{"b": 13, "c": "cab"}, []string{"b: must not be one of: 13"}},
		{map[string]any{"b": 0, "c": "cab"}, []string{"b: value must be greater than 0"}},
		{map[string]any{"a": 1, "c": "c"}, []string{"c: length must be at least 2"}},
		{map[string]any{"a": 1, "c": "cabcab"}, []string{"c: length must be at most 5"}},
		{map[string]any{"a": 1, "c": "abc"}, []string{"c: should start with: c"}},
		{map[string]any{"a": 1, "c": "cx"}, []string{"c: must not contain x"}},
		{map[string]any{"a": 1, "c": "cab", "ua": []any{"ok", "bad["}}, []string{"ua.2: not a valid regex: bad["}},
		{map[string]any{"a": 1, "d": "hello"}, []string{"d: must be a capitalised word"}},
		{map[string]any{"a": 1, "d": "Hello2"}, nil},
		{map[string]any{"a": 1, "c": "cab", "d": "Hello"}, []string{"only one of these fields must be non-empty: 'c', 'd'"}},
		{map[string]any{"a": 1, "c": "cab", "e": "maybe"}, []string{"e: expected one of: on, off"}},
		{map[string]any{"a": 1, "c": "cab", "f": 2.5}, []string{"f: value must be 1.5"}},
		{map[string]any{"a": 1, "c": "cab", "f": 1.5, "blob": "x"}, []string{"only one or none of these fields must be set: 'f', 'blob'"}},
		{map[string]any{"a": 5, "b": 5, "c": "cab"}, []string{"values of these fields must be distinct: 'a', 'b'", "a must be below b"}},
		{map[string]any{"a": 7, "b": 5, "c": "cab"}, []string{"a must be below b"}},
		{map[string]any{"a": 1, "c": "cab", "e": "on", "secret": "s"}, []string{"failed conditional validation given value of field 'e'", "f: required field missing"}},
		{map[string]any{"a": 1, "c": "cab", "e": "on", "f": 1.5}, []string{"at least one of these fields must be non-empty: 'secret'"}},
		{map[string]any{"a": 1, "c": "cab", "g": []any{"p", "z"}}, []string{"g.2: expected one of: p, q"}},
		{map[string]any{"a": 1, "c": "cab", "h": map[string]any{"ok-1": 2, "bad key": 3}}, []string{"h: invalid value: bad key"}},
		{map[string]any{"a": 1, "c": "cab", "h": map[string]any{"k": 10}}, []string{"h.k: value should be between 1 and 9"}},
		{map[string]any{"a": 1, "c": "cab", "r": map[string]any{"host": "h", "port": nil}}, []string{"r: all or none of these fields must be set: 'host', 'port'"}},
		{map[string]any{"a": 1, "c": "cab", "r": map[string]any{"host": "h"}}, []string{"r: all or none of these fields must be set: 'host', 'port'"}},
		{map[string]any{"a": 1, "c": "cab", "r": map[string]any{"host": "h", "port": 80}}, nil},
		{map[string]any{"a": 1, "c": "cab", "s2": "abc"}, nil},
		{map[string]any{"a": 42, "c": "cab"}, []string{"a is a", "r.host: required field missing"}},
		{map[string]any{"a": 42, "c": "cab", "r": map[string]any{"host": "h", "port": 1}}, nil},
		{map[string]any{"a": 1, "c": "cab", "s2": "a b"}, []string{"s2: invalid value: a b"}},
		{map[string]any{"a": 1, "c": "cab", "s2": "admin"}, []string{"s2: reserved"}},
		{map[string]any{"a": 1, "c": "cab", "s2": "AB"}, []string{"s2: needs a lower-case letter"}},
		{map[string]any{"a": 1, "c": "cab", "s2": "cat"}, []string{"s2: must start with a or b"}},
		{map[string]any{"a": 1, "c": "cab", "s2": "bat"}, nil},
		{map[string]any{"a": 1, "c": "cab", "owner": map[string]any{"id": "nope"}}, []string{"owner.id: expected a valid UUID"}},
	}
	for _, c := range cases {
		for i, sch := range []*schema.Schema{s, s2} {
			got := validateJSON(sch, schema.Clone(c.in).(map[string]any))
			if !reflect.DeepEqual(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
				t.Errorf("schema %d, %v: got %q, want %q", i, c.in, got, c.want)
			}
		}
	}
}

// TestFromJSONErrors: malformed schemas are refused, naming the path.
func TestFromJSONErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"fields": [`, "invalid JSON"},
		{`{"fields": []} {}`, "trailing data"},
		{`{"fields": [], "extra": 1}`, `unknown key "extra"`},
		{`{}`, "fields: missing"},
		{`{"fields": [{"a": {"type": "string"}, "b": {"type": "string"}}]}`, "fields[0]: expected an object with one key"},
		{`{"fields": [{"a": {"type": "string"}}, {"a": {"type": "string"}}]}`, `a: field "a" declared twice`},
		{`{"fields": [{"a": {}}]}`, `a: attribute "type" missing`},
		{`{"fields": [{"a": {"type": "text"}}]}`, `a: unknown type "text"`},
		{`{"fields": [{"a": {"type": "string", "colour": "red"}}]}`, `a: unknown attribute "colour"`},
		{`{"fields": [{"a": {"type": "string", "required": "yes"}}]}`, `a: attribute "required": expected a boolean`},
		{`{"fields": [{"a": {"type": "integer", "default": 1.5}}]}`, `a.default: expected an integer`},
		{`{"fields": [{"a": {"type": "integer", "between": [5, 1]}}]}`, `a: attribute "between"`},
		{`{"fields": [{"a": {"type": "string", "len_min": -1}}]}`, `a: attribute "len_min": expected a positive integer`},
		{`{"fields": [{"a": {"type": "string", "match": "%b()"}}]}`, `a: attribute "match"`},
		{`{"fields": [{"a": {"type": "string", "x_gatehouse_validator": "nobody"}}]}`, `a: unknown validator "nobody"`},
		{`{"fields": [{"r": {"type": "record", "fields": [{"n": {"type": "array", "elements": {"type": "integer", "one_of": ["x"]}}}]}}]}`, `r.n.elements.one_of[0]: expected an integer`},
		{`{"fields": [{"r": {"type": "record"}}]}`, `r: record without "fields"`},
		{`{"fields": [{"a": {"type": "string", "elements": {"type": "string"}}}]}`, `a: "elements" on a string field`},
		{`{"fields": [{"a": {"type": "foreign"}}]}`, `a: foreign field without "reference"`},
		{`{"fields": [], "entity_checks": [{"at_least_one_of": []}]}`, `entity_checks[0].at_least_one_of: expected a non-empty array`},
		{`{"fields": [], "entity_checks": [{"conditional": {"if_field": "a", "then_field": "b", "then_match": {}}}]}`, `entity_checks[0].conditional.if_match: missing`},
		{`{"fields": [], "entity_checks": [{"conditional": {"if_field": "a", "if_match": {"type": 1}, "then_field": "b", "then_match": {}}}]}`, `if_match: attribute "type": expected a string`},
		{`{"fields": [], "entity_checks": [{"x_gatehouse_validator": "nobody"}]}`, `unknown record validator "nobody"`},
		{`{"fields": [], "entity_checks": [{"custom_entity_check": {}}]}`, `unknown entity check "custom_entity_check"`},
		{"{" + strings.Repeat(`"fields": [{"a": {"type": "record", `, 40) + `"fields": []` + strings.Repeat(`}}]`, 40) + "}", "nested deeper than"},
	}
	for _, c := range cases {
		_, err := schema.FromJSON([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n error %v, want it to contain %q", c.in, err, c.want)
		}
	}
}

// TestLuaPatternToRE2: Kong's patterns translate to RE2 that matches the
// same strings.
func TestLuaPatternToRE2(t *testing.T) {
	cases := []struct {
		pattern  string
		match    []string
		nomatch  []string
		hasError bool
	}{
		{pattern: "^%u+$", match: []string{"GET", "POST"}, nomatch: []string{"get", "", "GET1"}},
		{pattern: "^[^:]+:.*$", match: []string{"a:b", "a:", "a:b\nc"}, nomatch: []string{":b", "ab"}},
		{pattern: "^[%w%.%-%_~]+$", match: []string{"a.b-c_d~"}, nomatch: []string{"a b", "a/b"}},
		{pattern: "^%d+%.%d+$", match: []string{"1.5"}, nomatch: []string{"1x5"}},
		{pattern: "^a-b$", match: []string{"b", "aab"}, nomatch: []string{"ac"}},
		{pattern: "^%S+$", match: []string{"abc"}, nomatch: []string{"a c"}},
		{pattern: "x%$", match: []string{"ax$"}, nomatch: []string{"ax"}},
		{pattern: "%b()", hasError: true},
		{pattern: "%f[%w]", hasError: true},
		{pattern: "(a)%1", hasError: true},
		{pattern: "[abc", hasError: true},
		{pattern: "abc%", hasError: true},
	}
	for _, c := range cases {
		s, err := schema.FromJSON([]byte(`{"fields": [{"v": {"type": "string", "match": ` + quote(c.pattern) + `}}]}`))
		if c.hasError {
			if err == nil {
				t.Errorf("%q: loaded, want an error", c.pattern)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.pattern, err)
			continue
		}
		for _, v := range c.match {
			if got := validateJSON(s, map[string]any{"v": v}); len(got) > 0 && v != "" {
				t.Errorf("%q refuses %q: %v", c.pattern, v, got)
			}
		}
		for _, v := range c.nomatch {
			if got := validateJSON(s, map[string]any{"v": v}); len(got) == 0 {
				t.Errorf("%q accepts %q", c.pattern, v)
			}
		}
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// FuzzFromJSON feeds FromJSON arbitrary bytes: it never panics, and a
// schema it loads renders to JSON that loads back into a schema rendering
// the same bytes and validating sample inputs the same way.
func FuzzFromJSON(f *testing.F) {
	f.Add([]byte(vocabulary))
	f.Add([]byte(`{"fields": []}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := schema.FromJSON(data)
		if err != nil {
			return
		}
		r1, err := json.Marshal(schema.Render(s))
		if err != nil {
			t.Fatalf("Render of a loaded schema does not marshal: %v", err)
		}
		s2, err := schema.FromJSON(r1)
		if err != nil {
			t.Fatalf("rendering does not load back: %v\n%s", err, r1)
		}
		r2, _ := json.Marshal(schema.Render(s2))
		if string(r1) != string(r2) {
			t.Fatalf("rendering not stable:\n%s\n%s", r1, r2)
		}
		samples := []map[string]any{{}, {"a": "x", "b": int64(1), "c": []any{"y"}}}
		for _, fld := range s.Fields {
			samples = append(samples, map[string]any{fld.Name: "cab"}, map[string]any{fld.Name: int64(3)}, map[string]any{fld.Name: map[string]any{"host": "h"}})
		}
		for _, in := range samples {
			m1 := validateJSON(s, schema.Clone(in).(map[string]any))
			m2 := validateJSON(s2, schema.Clone(in).(map[string]any))
			if !reflect.DeepEqual(m1, m2) {
				t.Fatalf("validation differs on %v: %q vs %q", in, m1, m2)
			}
		}
	})
}
