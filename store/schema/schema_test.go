package schema_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store/schema"
)

const testUUID = "5cc8dee4-066d-492e-b2f8-bd77eb0a4c86"

// coerceSchema has one field of every type, shaped like Kong's services and
// routes fields.
func coerceSchema() *schema.Schema {
	return &schema.Schema{Fields: []*schema.Field{
		{Name: "name", Type: schema.String},
		{Name: "port", Type: schema.Integer, Default: int64(80), Between: schema.Range(0, 65535)},
		{Name: "ratio", Type: schema.Number},
		{Name: "enabled", Type: schema.Boolean, Default: true},
		{Name: "paths", Type: schema.Array, Elements: &schema.Field{Type: schema.String, StartsWith: "/"}},
		{Name: "tags", Type: schema.Set, Elements: &schema.Field{Type: schema.String}},
		{Name: "statuses", Type: schema.Array, Elements: &schema.Field{Type: schema.Integer}},
		{Name: "headers", Type: schema.Map, Keys: &schema.Field{Type: schema.String},
			Values: &schema.Field{Type: schema.Array, Elements: &schema.Field{Type: schema.String}}},
		{Name: "limits", Type: schema.Record, Fields: []*schema.Field{
			{Name: "minute", Type: schema.Integer},
			{Name: "policy", Type: schema.String, Default: "local"},
		}},
		{Name: "service", Type: schema.Foreign, Reference: "services"},
		{Name: "extra", Type: schema.JSON},
	}}
}

func TestCoerce(t *testing.T) {
	cases := []struct {
		name    string
		in      map[string]any
		want    map[string]any
		wantErr schema.Errors
	}{
		{"empty input stays empty", map[string]any{}, map[string]any{}, nil},
		{"explicit null kept", map[string]any{"port": nil, "limits": nil}, map[string]any{"port": nil, "limits": nil}, nil},
		{"string passes", map[string]any{"name": "crud"}, map[string]any{"name": "crud"}, nil},
		{"string rejects bool", map[string]any{"name": true}, map[string]any{}, schema.Errors{"name": "expected a string"}},
		{"string rejects number", map[string]any{"name": json.Number("5")}, map[string]any{}, schema.Errors{"name": "expected a string"}},

		{"integer from form string", map[string]any{"port": "8080"}, map[string]any{"port": int64(8080)}, nil},
		{"integer from padded string", map[string]any{"port": " 42 "}, map[string]any{"port": int64(42)}, nil},
		{"integer from negative string", map[string]any{"port": "-1"}, map[string]any{"port": int64(-1)}, nil},
		{"integer rejects fraction string", map[string]any{"port": "8.5"}, map[string]any{}, schema.Errors{"port": "expected an integer"}},
		{"integer rejects word", map[string]any{"port": "many"}, map[string]any{}, schema.Errors{"port": "expected an integer"}},
		{"integer rejects empty string", map[string]any{"port": ""}, map[string]any{}, schema.Errors{"port": "expected an integer"}},
		{"integer from json.Number", map[string]any{"port": json.Number("8080")}, map[string]any{"port": int64(8080)}, nil},
		{"integer from json.Number exponent", map[string]any{"port": json.Number("1e3")}, map[string]any{"port": int64(1000)}, nil},
		{"integer from whole json.Number float", map[string]any{"port": json.Number("80.0")}, map[string]any{"port": int64(80)}, nil},
		{"integer rejects fractional json.Number", map[string]any{"port": json.Number("1.5")}, map[string]any{}, schema.Errors{"port": "expected an integer"}},
		{"integer rejects huge json.Number", map[string]any{"port": json.Number("1e300")}, map[string]any{}, schema.Errors{"port": "expected an integer"}},
		{"integer from whole float64", map[string]any{"port": float64(3)}, map[string]any{"port": int64(3)}, nil},
		{"integer rejects fractional float64", map[string]any{"port": 3.5}, map[string]any{}, schema.Errors{"port": "expected an integer"}},
		{"integer from int", map[string]any{"port": 7}, map[string]any{"port": int64(7)}, nil},
		{"integer rejects bool", map[string]any{"port": true}, map[string]any{}, schema.Errors{"port": "expected an integer"}},

		{"number from form string", map[string]any{"ratio": "1.5"}, map[string]any{"ratio": 1.5}, nil},
		{"number from integer string", map[string]any{"ratio": "2"}, map[string]any{"ratio": float64(2)}, nil},
		{"number from json.Number", map[string]any{"ratio": json.Number("2.25")}, map[string]any{"ratio": 2.25}, nil},
		{"number from int64", map[string]any{"ratio": int64(3)}, map[string]any{"ratio": float64(3)}, nil},
		{"number rejects NaN", map[string]any{"ratio": "NaN"}, map[string]any{}, schema.Errors{"ratio": "expected a number"}},
		{"number rejects Inf", map[string]any{"ratio": "Inf"}, map[string]any{}, schema.Errors{"ratio": "expected a number"}},
		{"number rejects overflow", map[string]any{"ratio": "1e400"}, map[string]any{}, schema.Errors{"ratio": "expected a number"}},
		{"number rejects word", map[string]any{"ratio": "half"}, map[string]any{}, schema.Errors{"ratio": "expected a number"}},

		{"boolean true string", map[string]any{"enabled": "true"}, map[string]any{"enabled": true}, nil},
		{"boolean false string any case", map[string]any{"enabled": "FALSE"}, map[string]any{"enabled": false}, nil},
		{"boolean native", map[string]any{"enabled": false}, map[string]any{"enabled": false}, nil},
		{"boolean rejects yes", map[string]any{"enabled": "yes"}, map[string]any{}, schema.Errors{"enabled": "expected a boolean"}},
		{"boolean rejects number", map[string]any{"enabled": json.Number("1")}, map[string]any{}, schema.Errors{"enabled": "expected a boolean"}},

		{"scalar becomes one-element array", map[string]any{"paths": "/a"}, map[string]any{"paths": []any{"/a"}}, nil},
		{"array passes", map[string]any{"paths": []any{"/a", "/b"}}, map[string]any{"paths": []any{"/a", "/b"}}, nil},
		{"empty object is an empty array", map[string]any{"paths": map[string]any{}}, map[string]any{"paths": []any{}}, nil},
		{"non-empty object is not an array", map[string]any{"paths": map[string]any{"a": "/a"}}, map[string]any{}, schema.Errors{"paths": "expected an array"}},
		{"non-empty object is not a set", map[string]any{"tags": map[string]any{"a": "b"}}, map[string]any{}, schema.Errors{"tags": "expected a set"}},
		{"scalar becomes one-element set", map[string]any{"tags": "t1"}, map[string]any{"tags": []any{"t1"}}, nil},
		{"array elements coerced", map[string]any{"statuses": []any{"200", json.Number("302")}}, map[string]any{"statuses": []any{int64(200), int64(302)}}, nil},
		{"array element errors by position", map[string]any{"statuses": []any{"200", "ok", json.Number("1.5")}}, map[string]any{},
			schema.Errors{"statuses": []any{nil, "expected an integer", "expected an integer"}}},
		{"string array element error", map[string]any{"paths": []any{"/a", true}}, map[string]any{}, schema.Errors{"paths": []any{nil, "expected a string"}}},

		{"map passes", map[string]any{"headers": map[string]any{"x-a": []any{"1"}}}, map[string]any{"headers": map[string]any{"x-a": []any{"1"}}}, nil},
		{"map value scalar becomes array", map[string]any{"headers": map[string]any{"x-a": "1"}}, map[string]any{"headers": map[string]any{"x-a": []any{"1"}}}, nil},
		{"map from empty form value is null", map[string]any{"headers": ""}, map[string]any{"headers": nil}, nil},
		{"map rejects string", map[string]any{"headers": "x-a:1"}, map[string]any{}, schema.Errors{"headers": "expected a map"}},
		{"map value errors keyed", map[string]any{"headers": map[string]any{"x-a": []any{"1"}, "x-b": []any{json.Number("1")}}}, map[string]any{},
			schema.Errors{"headers": schema.Errors{"x-b": []any{"expected a string"}}}},

		{"record fields coerced", map[string]any{"limits": map[string]any{"minute": "5"}}, map[string]any{"limits": map[string]any{"minute": int64(5)}}, nil},
		{"record field error nested", map[string]any{"limits": map[string]any{"minute": "x", "policy": "redis"}}, map[string]any{},
			schema.Errors{"limits": schema.Errors{"minute": "expected an integer"}}},
		{"record unknown sub-field", map[string]any{"limits": map[string]any{"hour": "1"}}, map[string]any{},
			schema.Errors{"limits": schema.Errors{"hour": "unknown field"}}},
		{"record rejects string", map[string]any{"limits": "5"}, map[string]any{}, schema.Errors{"limits": "expected a record"}},

		{"foreign from id string", map[string]any{"service": testUUID}, map[string]any{"service": map[string]any{"id": testUUID}}, nil},
		{"foreign by id", map[string]any{"service": map[string]any{"id": testUUID}}, map[string]any{"service": map[string]any{"id": testUUID}}, nil},
		{"foreign by name", map[string]any{"service": map[string]any{"name": "crud"}}, map[string]any{"service": map[string]any{"name": "crud"}}, nil},
		{"foreign rejects non-string id", map[string]any{"service": map[string]any{"id": json.Number("5")}}, map[string]any{},
			schema.Errors{"service": schema.Errors{"id": "expected a string"}}},
		{"foreign rejects other keys", map[string]any{"service": map[string]any{"host": "x"}}, map[string]any{},
			schema.Errors{"service": schema.Errors{"host": "unknown field"}}},
		{"foreign rejects number", map[string]any{"service": json.Number("5")}, map[string]any{}, schema.Errors{"service": "expected a record"}},

		{"json normalizes numbers", map[string]any{"extra": map[string]any{"n": json.Number("1"), "f": json.Number("1.5"), "l": []any{json.Number("2"), "s"}}},
			map[string]any{"extra": map[string]any{"n": int64(1), "f": 1.5, "l": []any{int64(2), "s"}}}, nil},

		{"unknown field", map[string]any{"bogus": "1", "name": "ok"}, map[string]any{"name": "ok"}, schema.Errors{"bogus": "unknown field"}},
		{"errors on several fields", map[string]any{"port": "x", "enabled": "maybe", "name": "ok"}, map[string]any{"name": "ok"},
			schema.Errors{"port": "expected an integer", "enabled": "expected a boolean"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, errs := schema.Coerce(coerceSchema(), c.in)
			if c.wantErr == nil {
				c.wantErr = schema.Errors{}
			}
			if !reflect.DeepEqual(errs, c.wantErr) {
				t.Errorf("errors = %#v, want %#v", errs, c.wantErr)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("coerced = %#v, want %#v", got, c.want)
			}
		})
	}
}

func TestCoerceLeavesInputUntouchedForScalars(t *testing.T) {
	in := map[string]any{"port": "8080", "paths": "/a"}
	if _, errs := schema.Coerce(coerceSchema(), in); !errs.Empty() {
		t.Fatal(errs)
	}
	if in["port"] != "8080" || in["paths"] != "/a" {
		t.Errorf("input changed: %#v", in)
	}
}

func defaultsSchema() *schema.Schema {
	return &schema.Schema{Fields: []*schema.Field{
		{Name: "id", Type: schema.String},
		{Name: "retries", Type: schema.Integer, Default: 5},
		{Name: "protocols", Type: schema.Set, Default: []string{"http", "https"}, Elements: &schema.Field{Type: schema.String}},
		{Name: "healthchecks", Type: schema.Record, Fields: []*schema.Field{
			{Name: "active", Type: schema.Record, Fields: []*schema.Field{
				{Name: "http_path", Type: schema.String, Default: "/"},
				{Name: "timeout", Type: schema.Number, Default: float64(1)},
				{Name: "https_sni", Type: schema.String},
				{Name: "healthy", Type: schema.Record, Fields: []*schema.Field{
					{Name: "http_statuses", Type: schema.Array, Default: []int{200, 302}, Elements: &schema.Field{Type: schema.Integer}},
				}},
			}},
			{Name: "threshold", Type: schema.Number, Default: float64(0)},
		}},
		{Name: "nullable", Type: schema.Record, Fields: []*schema.Field{
			{Name: "a", Type: schema.String},
			{Name: "b", Type: schema.Integer},
		}},
		{Name: "required_rec", Type: schema.Record, Required: true, Fields: []*schema.Field{
			{Name: "a", Type: schema.String},
		}},
		{Name: "defaulted_rec", Type: schema.Record, Default: map[string]any{"a": "x"}, Fields: []*schema.Field{
			{Name: "a", Type: schema.String},
		}},
	}}
}

func TestFillDefaults(t *testing.T) {
	fullHealth := map[string]any{
		"active": map[string]any{
			"http_path": "/", "timeout": float64(1), "https_sni": nil,
			"healthy": map[string]any{"http_statuses": []any{int64(200), int64(302)}},
		},
		"threshold": float64(0),
	}
	cases := []struct {
		name string
		in   map[string]any
		want map[string]any
	}{
		{"everything absent", map[string]any{}, map[string]any{
			"id": nil, "retries": int64(5), "protocols": []any{"http", "https"},
			"healthchecks": fullHealth, "nullable": nil,
			"required_rec":  map[string]any{"a": nil},
			"defaulted_rec": map[string]any{"a": "x"},
		}},
		{"given values kept", map[string]any{"id": "x", "retries": int64(0), "protocols": []any{"tcp"}}, map[string]any{
			"id": "x", "retries": int64(0), "protocols": []any{"tcp"},
			"healthchecks": fullHealth, "nullable": nil,
			"required_rec":  map[string]any{"a": nil},
			"defaulted_rec": map[string]any{"a": "x"},
		}},
		{"explicit nulls stay null", map[string]any{"retries": nil, "healthchecks": nil, "nullable": nil}, map[string]any{
			"id": nil, "retries": nil, "protocols": []any{"http", "https"},
			"healthchecks": nil, "nullable": nil,
			"required_rec":  map[string]any{"a": nil},
			"defaulted_rec": map[string]any{"a": "x"},
		}},
		{"partial nested record gets the rest", map[string]any{
			"healthchecks": map[string]any{"active": map[string]any{"http_path": "/status"}},
			"nullable":     map[string]any{"a": "set"},
		}, map[string]any{
			"id": nil, "retries": int64(5), "protocols": []any{"http", "https"},
			"healthchecks": map[string]any{
				"active": map[string]any{
					"http_path": "/status", "timeout": float64(1), "https_sni": nil,
					"healthy": map[string]any{"http_statuses": []any{int64(200), int64(302)}},
				},
				"threshold": float64(0),
			},
			"nullable":      map[string]any{"a": "set", "b": nil},
			"required_rec":  map[string]any{"a": nil},
			"defaulted_rec": map[string]any{"a": "x"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sch := defaultsSchema()
			m := schema.Clone(c.in).(map[string]any)
			schema.FillDefaults(sch, m)
			if !reflect.DeepEqual(m, c.want) {
				t.Errorf("got  %#v\nwant %#v", m, c.want)
			}
		})
	}
}

func TestFillDefaultsCopiesDefaults(t *testing.T) {
	sch := defaultsSchema()
	a := map[string]any{}
	schema.FillDefaults(sch, a)
	a["protocols"].([]any)[0] = "changed"
	a["healthchecks"].(map[string]any)["active"].(map[string]any)["healthy"].(map[string]any)["http_statuses"].([]any)[0] = int64(500)
	a["defaulted_rec"].(map[string]any)["a"] = "changed"
	b := map[string]any{}
	schema.FillDefaults(sch, b)
	if b["protocols"].([]any)[0] != "http" {
		t.Errorf("set default shared between records: %v", b["protocols"])
	}
	if got := b["healthchecks"].(map[string]any)["active"].(map[string]any)["healthy"].(map[string]any)["http_statuses"].([]any)[0]; got != int64(200) {
		t.Errorf("nested default shared between records: %v", got)
	}
	if b["defaulted_rec"].(map[string]any)["a"] != "x" {
		t.Errorf("record default shared between records: %v", b["defaulted_rec"])
	}
}

func TestMerge(t *testing.T) {
	sch := coerceSchema()
	base := map[string]any{
		"name":    "crud",
		"port":    int64(80),
		"paths":   []any{"/a", "/b"},
		"headers": map[string]any{"x-a": []any{"1"}},
		"limits":  map[string]any{"minute": int64(1), "policy": "local"},
		"service": map[string]any{"id": testUUID},
	}
	cases := []struct {
		name  string
		patch map[string]any
		want  map[string]any
	}{
		{"empty patch copies base", map[string]any{}, base},
		{"scalar replaced", map[string]any{"port": int64(8080)}, with(base, "port", int64(8080))},
		{"null clears", map[string]any{"name": nil}, with(base, "name", nil)},
		{"array replaced not appended", map[string]any{"paths": []any{"/c"}}, with(base, "paths", []any{"/c"})},
		{"record merged field by field", map[string]any{"limits": map[string]any{"minute": int64(2)}},
			with(base, "limits", map[string]any{"minute": int64(2), "policy": "local"})},
		{"record set to null", map[string]any{"limits": nil}, with(base, "limits", nil)},
		{"map replaced not merged", map[string]any{"headers": map[string]any{"x-b": []any{"2"}}},
			with(base, "headers", map[string]any{"x-b": []any{"2"}})},
		{"foreign replaced", map[string]any{"service": map[string]any{"id": "00000000-0000-0000-0000-000000000000"}},
			with(base, "service", map[string]any{"id": "00000000-0000-0000-0000-000000000000"})},
		{"new field added", map[string]any{"ratio": 0.5}, with(base, "ratio", 0.5)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := schema.Clone(base)
			patch := schema.Clone(c.patch).(map[string]any)
			got := schema.Merge(sch, base, patch)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %#v\nwant %#v", got, c.want)
			}
			if !reflect.DeepEqual(base, before) {
				t.Errorf("base modified: %#v", base)
			}
			// The result shares nothing with base or patch.
			mutate(got)
			if !reflect.DeepEqual(base, before) {
				t.Errorf("result aliases base: %#v", base)
			}
			if !reflect.DeepEqual(patch, c.patch) {
				t.Errorf("result aliases patch: %#v", patch)
			}
		})
	}
}

// with returns a deep copy of m with k set to v.
func with(m map[string]any, k string, v any) map[string]any {
	out := schema.Clone(m).(map[string]any)
	out[k] = v
	return out
}

// mutate changes every container in the tree.
func mutate(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			mutate(e)
			if _, ok := e.(map[string]any); !ok {
				if _, ok := e.([]any); !ok {
					t[k] = "mutated"
				}
			}
		}
	case []any:
		for i, e := range t {
			mutate(e)
			t[i] = "mutated"
		}
	}
}

func TestValidateField(t *testing.T) {
	str := func(f schema.Field) *schema.Field { f.Name, f.Type = "f", schema.String; return &f }
	typed := func(ty schema.Type, f schema.Field) *schema.Field { f.Name, f.Type = "f", ty; return &f }
	cases := []struct {
		name  string
		field *schema.Field
		value any
		want  any // nil: valid
	}{
		{"required missing", str(schema.Field{Required: true}), nil, "required field missing"},
		{"optional null", str(schema.Field{}), nil, nil},
		{"required present", str(schema.Field{Required: true}), "x", nil},

		{"string wrong type", str(schema.Field{}), int64(1), "expected a string"},
		{"empty string rejected by default", str(schema.Field{}), "", "length must be at least 1"},
		{"empty string refused for auto too (Kong generates only when absent)", str(schema.Field{Auto: true}), "", "length must be at least 1"},
		{"len_max counts characters", str(schema.Field{LenMax: 3}), "héé", nil},
		{"invalid utf-8", str(schema.Field{}), "ab\xff", "invalid utf-8 character sequence detected at position 3"},
		{"NUL", str(schema.Field{}), "a\x00b", "invalid NUL character detected at position 2"},
		{"NUL in a map key", typed(schema.Map, schema.Field{Keys: &schema.Field{Type: schema.String}, Values: &schema.Field{Type: schema.String}}),
			map[string]any{"a\x00": "x"}, "invalid NUL character detected at position 2"},
		{"NUL in an untyped map key", typed(schema.Map, schema.Field{}), map[string]any{"a\x00": "x"}, "invalid NUL character detected at position 2"},
		{"invalid utf-8 in a json value", typed(schema.JSON, schema.Field{}), map[string]any{"k": []any{"\xc3"}}, "invalid utf-8 character sequence detected at position 1"},
		{"len_min", str(schema.Field{LenMin: 3}), "ab", "length must be at least 3"},
		{"len_min ok", str(schema.Field{LenMin: 3}), "abc", nil},
		{"len_max", str(schema.Field{LenMax: 3}), "abcd", "length must be at most 3"},
		{"len_max ok", str(schema.Field{LenMax: 3}), "abc", nil},
		{"starts_with", str(schema.Field{StartsWith: "/"}), "persons", "should start with: /"},
		{"starts_with ok", str(schema.Field{StartsWith: "/"}), "/persons", nil},
		{"is_regex", str(schema.Field{IsRegex: true}), "curl(", "not a valid regex: curl("},
		{"is_regex ok", str(schema.Field{IsRegex: true}), "^curl/[0-9.]+$", nil},
		{"uuid", str(schema.Field{UUID: true}), "nope", "expected a valid UUID"},
		{"uuid without dashes", str(schema.Field{UUID: true}), "5cc8dee4066d492eb2f8bd77eb0a4c86", "expected a valid UUID"},
		{"uuid in braces", str(schema.Field{UUID: true}), "{" + testUUID + "}", "expected a valid UUID"},
		{"uuid ok", str(schema.Field{UUID: true}), testUUID, nil},
		{"match default message", str(schema.Field{Match: regexp.MustCompile(`^[A-Z]+$`)}), "get", "invalid value: get"},
		{"match custom message", str(schema.Field{Match: regexp.MustCompile(`^[A-Z]+$`), MatchMessage: "must be uppercase"}), "get", "must be uppercase"},
		{"match ok", str(schema.Field{Match: regexp.MustCompile(`^[A-Z]+$`)}), "GET", nil},
		{"one_of strings", str(schema.Field{OneOf: []any{"http", "https"}}), "ftp", "expected one of: http, https"},
		{"one_of strings ok", str(schema.Field{OneOf: []any{"http", "https"}}), "https", nil},

		{"integer wrong type", typed(schema.Integer, schema.Field{}), 1.0, "expected an integer"},
		{"integer from string not accepted uncoerced", typed(schema.Integer, schema.Field{}), "1", "expected an integer"},
		{"between below", typed(schema.Integer, schema.Field{Between: schema.Range(0, 65535)}), int64(-1), "value should be between 0 and 65535"},
		{"between above", typed(schema.Integer, schema.Field{Between: schema.Range(0, 65535)}), int64(65536), "value should be between 0 and 65535"},
		{"between inclusive low", typed(schema.Integer, schema.Field{Between: schema.Range(0, 65535)}), int64(0), nil},
		{"between inclusive high", typed(schema.Integer, schema.Field{Between: schema.Range(0, 65535)}), int64(65535), nil},
		{"between large bound", typed(schema.Integer, schema.Field{Between: schema.Range(1, 2147483646)}), int64(0), "value should be between 1 and 2147483646"},
		{"gt", typed(schema.Integer, schema.Field{Gt: schema.Float(0)}), int64(0), "value must be greater than 0"},
		{"gt ok", typed(schema.Integer, schema.Field{Gt: schema.Float(0)}), int64(1), nil},
		{"one_of integers", typed(schema.Integer, schema.Field{OneOf: []any{int64(426), int64(301)}}), int64(400), "expected one of: 426, 301"},
		{"one_of integers ok", typed(schema.Integer, schema.Field{OneOf: []any{int64(426), int64(301)}}), int64(301), nil},
		{"one_of go ints match int64", typed(schema.Integer, schema.Field{OneOf: []any{426, 301}}), int64(426), nil},

		{"number wrong type", typed(schema.Number, schema.Field{}), int64(1), "expected a number"},
		{"number between fractional bounds", typed(schema.Number, schema.Field{Between: schema.Range(0.5, 1.5)}), 2.0, "value should be between 0.5 and 1.5"},
		{"number between ok", typed(schema.Number, schema.Field{Between: schema.Range(0, 100)}), 99.5, nil},
		{"number gt fractional", typed(schema.Number, schema.Field{Gt: schema.Float(0.5)}), 0.5, "value must be greater than 0.5"},

		{"boolean wrong type", typed(schema.Boolean, schema.Field{}), "true", "expected a boolean"},
		{"boolean ok", typed(schema.Boolean, schema.Field{Required: true}), false, nil},

		{"array wrong type", typed(schema.Array, schema.Field{}), "x", "expected an array"},
		{"set wrong type", typed(schema.Set, schema.Field{}), "x", "expected a set"},
		{"array len_min", typed(schema.Set, schema.Field{LenMin: 1}), []any{}, "length must be at least 1"},
		{"array len_max", typed(schema.Array, schema.Field{LenMax: 1}), []any{"a", "b"}, "length must be at most 1"},
		{"array element errors", typed(schema.Array, schema.Field{Elements: &schema.Field{Type: schema.String, StartsWith: "/"}}),
			[]any{"/a", "b", "/c", "d"}, []any{nil, "should start with: /", nil, "should start with: /"}},
		{"array element type", typed(schema.Array, schema.Field{Elements: &schema.Field{Type: schema.Integer, Between: schema.Range(100, 999)}}),
			[]any{int64(200), int64(1000)}, []any{nil, "value should be between 100 and 999"}},
		{"array ok", typed(schema.Array, schema.Field{Elements: &schema.Field{Type: schema.String}}), []any{"a"}, nil},
		{"set element one_of", typed(schema.Set, schema.Field{Elements: &schema.Field{Type: schema.String, OneOf: []any{"http", "https"}}}),
			[]any{"ftp"}, []any{"expected one of: http, https"}},

		{"map wrong type", typed(schema.Map, schema.Field{}), []any{}, "expected a map"},
		{"map key check", typed(schema.Map, schema.Field{
			Keys: &schema.Field{Type: schema.String, Check: func(v any) string {
				if strings.EqualFold(v.(string), "host") {
					return "cannot contain 'host' header"
				}
				return ""
			}},
			Values: &schema.Field{Type: schema.Array, Elements: &schema.Field{Type: schema.String}},
		}), map[string]any{"Host": []any{"x"}, "x-a": []any{"y"}}, "cannot contain 'host' header"},
		{"map value errors", typed(schema.Map, schema.Field{
			Keys:   &schema.Field{Type: schema.String},
			Values: &schema.Field{Type: schema.Array, Elements: &schema.Field{Type: schema.String}},
		}), map[string]any{"x-a": "y", "x-b": []any{"z"}}, schema.Errors{"x-a": "expected an array"}},
		{"map empty key rejected", typed(schema.Map, schema.Field{Keys: &schema.Field{Type: schema.String}}),
			map[string]any{"": "v"}, "length must be at least 1"},

		{"record wrong type", typed(schema.Record, schema.Field{}), "x", "expected a record"},
		{"record sub-field errors", typed(schema.Record, schema.Field{Fields: []*schema.Field{
			{Name: "minute", Type: schema.Integer, Gt: schema.Float(0)},
			{Name: "policy", Type: schema.String, Required: true},
		}}), map[string]any{"minute": int64(0)}, schema.Errors{"minute": "value must be greater than 0", "policy": "required field missing"}},
		{"record unknown sub-field", typed(schema.Record, schema.Field{Fields: []*schema.Field{{Name: "a", Type: schema.String}}}),
			map[string]any{"a": "x", "b": "y"}, schema.Errors{"b": "unknown field"}},

		{"foreign wrong type", typed(schema.Foreign, schema.Field{}), "x", "expected a record"},
		{"foreign bad id", typed(schema.Foreign, schema.Field{}), map[string]any{"id": "x"}, schema.Errors{"id": "expected a valid UUID"}},
		{"foreign missing id", typed(schema.Foreign, schema.Field{}), map[string]any{"name": "crud"}, schema.Errors{"id": "expected a valid UUID"}},
		{"foreign ok", typed(schema.Foreign, schema.Field{}), map[string]any{"id": testUUID}, nil},

		{"custom check", str(schema.Field{Check: func(v any) string { return "custom: " + v.(string) }}), "x", "custom: x"},
		{"custom check runs after built-ins", str(schema.Field{StartsWith: "/", Check: func(any) string { return "custom" }}), "x", "should start with: /"},
		{"custom check after one_of", str(schema.Field{OneOf: []any{"a"}, Check: func(any) string { return "custom" }}), "b", "expected one of: a"},
		{"custom check passes", str(schema.Field{Check: func(any) string { return "" }}), "x", nil},
		{"custom check not run on null", str(schema.Field{Check: func(any) string { return "custom" }}), nil, nil},
		{"custom check on array", typed(schema.Array, schema.Field{Check: func(v any) string {
			if len(v.([]any)) > 1 {
				return "only one"
			}
			return ""
		}}), []any{"a", "b"}, "only one"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := schema.Validate(&schema.Schema{Fields: []*schema.Field{c.field}}, map[string]any{"f": c.value})
			want := schema.Errors{}
			if c.want != nil {
				want["f"] = c.want
			}
			if !reflect.DeepEqual(errs, want) {
				t.Errorf("errors = %#v, want %#v", errs, want)
			}
		})
	}
}

func TestValidateRecord(t *testing.T) {
	calls := 0
	sch := &schema.Schema{
		Fields: []*schema.Field{
			{Name: "username", Type: schema.String},
			{Name: "custom_id", Type: schema.String},
			{Name: "port", Type: schema.Integer, Between: schema.Range(0, 65535)},
		},
		Checks: []func(map[string]any) []string{
			func(rec map[string]any) []string {
				calls++
				if rec["username"] == nil && rec["custom_id"] == nil {
					return []string{"at least one of these fields must be non-empty: 'custom_id', 'username'"}
				}
				return nil
			},
			func(rec map[string]any) []string {
				if rec["port"] == int64(0) {
					return []string{"second check", "third message"}
				}
				return nil
			},
		},
	}
	cases := []struct {
		name      string
		in        map[string]any
		want      schema.Errors
		wantCalls int
	}{
		{"valid", map[string]any{"username": "u", "custom_id": nil, "port": nil}, schema.Errors{}, 1},
		{"check fails", map[string]any{"username": nil, "custom_id": nil, "port": nil},
			schema.Errors{"@entity": []any{"at least one of these fields must be non-empty: 'custom_id', 'username'"}}, 1},
		{"checks accumulate in order", map[string]any{"port": int64(0)},
			schema.Errors{"@entity": []any{"at least one of these fields must be non-empty: 'custom_id', 'username'", "second check", "third message"}}, 1},
		// Kong runs entity checks even when other fields are invalid.
		{"checks run when a field is invalid", map[string]any{"port": int64(70000)},
			schema.Errors{"port": "value should be between 0 and 65535", "@entity": []any{"at least one of these fields must be non-empty: 'custom_id', 'username'"}}, 1},
		{"unknown field reported, checks run", map[string]any{"username": "u", "bogus": "x"},
			schema.Errors{"bogus": "unknown field"}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			calls = 0
			errs := schema.Validate(sch, c.in)
			if !reflect.DeepEqual(errs, c.want) {
				t.Errorf("errors = %#v, want %#v", errs, c.want)
			}
			if calls != c.wantCalls {
				t.Errorf("first check ran %d times, want %d", calls, c.wantCalls)
			}
		})
	}
}

func TestErrorsAddAndEmpty(t *testing.T) {
	e := schema.Errors{}
	if !e.Empty() {
		t.Fatal("new Errors not empty")
	}
	e.Add("host", "first")
	e.Add("host", "second")
	e.AddEntity("entity one")
	e.AddEntity("entity two")
	want := schema.Errors{"host": "first", "@entity": []any{"entity one", "entity two"}}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("got %#v, want %#v", e, want)
	}
	if e.Empty() {
		t.Error("Empty() = true with errors")
	}
	if schema.EntityKey != "@entity" {
		t.Errorf("EntityKey = %q", schema.EntityKey)
	}
}

func TestFlatten(t *testing.T) {
	cases := []struct {
		name string
		errs schema.Errors
		want []string
	}{
		{"empty", schema.Errors{}, nil},
		{"one field", schema.Errors{"host": "required field missing"}, []string{"host: required field missing"}},
		{"fields sorted", schema.Errors{"port": "b", "host": "a", "connect_timeout": "c"},
			[]string{"connect_timeout: c", "host: a", "port: b"}},
		{"entity first in given order", schema.Errors{
			"port":    "value should be between 0 and 65535",
			"@entity": []any{"z entity", "a entity"},
			"host":    "required field missing",
		}, []string{"z entity", "a entity", "host: required field missing", "port: value should be between 0 and 65535"}},
		{"array elements one-based, nil skipped", schema.Errors{"paths": []any{nil, "should start with: /", nil, "bad"}},
			[]string{"paths.2: should start with: /", "paths.4: bad"}},
		{"first element", schema.Errors{"protocols": []any{"expected one of: http, https"}},
			[]string{"protocols.1: expected one of: http, https"}},
		{"nested record", schema.Errors{"config": schema.Errors{"minute": "value must be greater than 0", "add": "expected a record"}},
			[]string{"config.add: expected a record", "config.minute: value must be greater than 0"}},
		{"nested plain map", schema.Errors{"service": map[string]any{"id": "expected a valid UUID"}},
			[]string{"service.id: expected a valid UUID"}},
		{"nested entity messages use the field path", schema.Errors{"config": schema.Errors{"@entity": []any{"bad config"}}},
			[]string{"config: bad config"}},
		{"map value element", schema.Errors{"headers": schema.Errors{"x-a": []any{"expected a string"}}},
			[]string{"headers.x-a.1: expected a string"}},
		{"entity and nested mixed", schema.Errors{
			"@entity": []any{"must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"},
			"paths":   []any{"should start with: / (fixed path) or ~/ (regex path)"},
			"hosts":   []any{nil, "invalid hostname: a b"},
		}, []string{
			"must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'",
			"hosts.2: invalid hostname: a b",
			"paths.1: should start with: / (fixed path) or ~/ (regex path)",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.errs.Flatten()
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Flatten() = %q, want %q", got, c.want)
			}
		})
	}
}

// TestFlattenOfValidate checks the messages Validate's errors flatten to for a
// record shaped like Kong's services, the text inside "schema violation (...)".
func TestFlattenOfValidate(t *testing.T) {
	sch := &schema.Schema{Fields: []*schema.Field{
		{Name: "host", Type: schema.String, Required: true},
		{Name: "port", Type: schema.Integer, Between: schema.Range(0, 65535)},
		{Name: "protocols", Type: schema.Set, Elements: &schema.Field{Type: schema.String, OneOf: []any{"http", "https"}}},
	}}
	got := schema.Validate(sch, map[string]any{"host": nil, "port": int64(99999), "protocols": []any{"http", "ftp"}}).Flatten()
	want := []string{"host: required field missing", "port: value should be between 0 and 65535", "protocols.2: expected one of: http, https"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRender(t *testing.T) {
	sch := &schema.Schema{Fields: []*schema.Field{
		{Name: "id", Type: schema.String, UUID: true, Auto: true},
		{Name: "created_at", Type: schema.Integer, Timestamp: true, Auto: true},
		{Name: "name", Type: schema.String, Unique: true, Description: "The service name."},
		{Name: "port", Type: schema.Integer, Required: true, Default: int64(80), Between: schema.Range(0, 65535)},
		{Name: "timeout", Type: schema.Number, Default: float64(1), Between: schema.Range(0, 65535)},
		{Name: "ratio", Type: schema.Number, Between: schema.Range(0.5, 1.5), Gt: schema.Float(0)},
		{Name: "protocol", Type: schema.String, Required: true, Default: "http", OneOf: []any{"http", "https"}},
		{Name: "code", Type: schema.Integer, OneOf: []any{int64(426), int64(301)}},
		{Name: "path", Type: schema.String, StartsWith: "/", LenMin: 1, LenMax: 10},
		{Name: "protocols", Type: schema.Set, Default: []string{"http", "https"}, LenMin: 1,
			Elements: &schema.Field{Type: schema.String, OneOf: []any{"http", "https"}}},
		{Name: "headers", Type: schema.Map, Keys: &schema.Field{Type: schema.String},
			Values: &schema.Field{Type: schema.Array, Elements: &schema.Field{Type: schema.String}}},
		{Name: "config", Type: schema.Record, Required: true, Fields: []*schema.Field{
			{Name: "minute", Type: schema.Integer, Gt: schema.Float(0)},
			{Name: "add", Type: schema.Record, Fields: []*schema.Field{
				{Name: "headers", Type: schema.Array, Default: []any{}, Elements: &schema.Field{Type: schema.String}},
			}},
		}},
		{Name: "service", Type: schema.Foreign, Reference: "services"},
		{Name: "consumer", Type: schema.Foreign, Reference: "consumers", Required: true, OnDelete: "cascade"},
		{Name: "key", Type: schema.String, Immutable: true, Referenceable: true, Encrypted: true, Sensitive: true,
			Check: func(any) string { return "" }, Match: regexp.MustCompile(`.`)},
	}}
	want := `{"fields":[` +
		`{"id":{"auto":true,"type":"string","uuid":true}},` +
		`{"created_at":{"auto":true,"timestamp":true,"type":"integer"}},` +
		`{"name":{"description":"The service name.","type":"string","unique":true}},` +
		`{"port":{"between":[0,65535],"default":80,"required":true,"type":"integer"}},` +
		`{"timeout":{"between":[0,65535],"default":1,"type":"number"}},` +
		`{"ratio":{"between":[0.5,1.5],"gt":0,"type":"number"}},` +
		`{"protocol":{"default":"http","one_of":["http","https"],"required":true,"type":"string"}},` +
		`{"code":{"one_of":[426,301],"type":"integer"}},` +
		`{"path":{"len_max":10,"len_min":1,"starts_with":"/","type":"string"}},` +
		`{"protocols":{"default":["http","https"],"elements":{"one_of":["http","https"],"type":"string"},"len_min":1,"type":"set"}},` +
		`{"headers":{"keys":{"type":"string"},"type":"map","values":{"elements":{"type":"string"},"type":"array"}}},` +
		`{"config":{"fields":[` +
		`{"minute":{"gt":0,"type":"integer"}},` +
		`{"add":{"fields":[{"headers":{"default":[],"elements":{"type":"string"},"type":"array"}}],"type":"record"}}` +
		`],"required":true,"type":"record"}},` +
		`{"service":{"reference":"services","type":"foreign"}},` +
		`{"consumer":{"on_delete":"cascade","reference":"consumers","required":true,"type":"foreign"}},` +
		`{"key":{"encrypted":true,"immutable":true,"referenceable":true,"sensitive":true,"type":"string"}}` +
		`]}`
	got, err := json.Marshal(schema.Render(sch))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("Render =\n%s\nwant\n%s", got, want)
	}
}

func TestRenderFieldOrderAndCopies(t *testing.T) {
	def := []any{"http", "https"}
	oneOf := []any{"http", "https"}
	sch := &schema.Schema{Fields: []*schema.Field{
		{Name: "z", Type: schema.String},
		{Name: "a", Type: schema.Set, Default: def, OneOf: oneOf},
		{Name: "m", Type: schema.Boolean},
	}}
	r := schema.Render(sch)
	fields := r["fields"].([]any)
	var names []string
	for _, f := range fields {
		for k := range f.(map[string]any) {
			names = append(names, k)
		}
	}
	if !reflect.DeepEqual(names, []string{"z", "a", "m"}) {
		t.Errorf("field order = %v, want declaration order", names)
	}
	a := fields[1].(map[string]any)["a"].(map[string]any)
	a["default"].([]any)[0] = "changed"
	a["one_of"].([]any)[0] = "changed"
	if def[0] != "http" || oneOf[0] != "http" {
		t.Errorf("Render shares the schema's slices: default %v one_of %v", def, oneOf)
	}
	if got := schema.RenderField(&schema.Field{Type: schema.Boolean}); !reflect.DeepEqual(got, map[string]any{"type": "boolean"}) {
		t.Errorf("RenderField(boolean) = %v", got)
	}
}

func TestDedupeSets(t *testing.T) {
	sch := &schema.Schema{Fields: []*schema.Field{
		{Name: "tags", Type: schema.Set},
		{Name: "paths", Type: schema.Array},
		{Name: "mixed", Type: schema.Set},
		{Name: "rec", Type: schema.Record, Fields: []*schema.Field{{Name: "methods", Type: schema.Set}}},
		{Name: "none", Type: schema.Set},
	}}
	m := map[string]any{
		"tags":  []any{"b", "a", "b", "c", "a"},
		"paths": []any{"/a", "/a"},
		"mixed": []any{int64(1), "1", int64(1), true, true},
		"rec":   map[string]any{"methods": []any{"GET", "GET", "POST"}},
		"none":  nil,
	}
	schema.DedupeSets(sch, m)
	want := map[string]any{
		"tags":  []any{"b", "a", "c"},
		"paths": []any{"/a", "/a"},
		"mixed": []any{int64(1), "1", true},
		"rec":   map[string]any{"methods": []any{"GET", "POST"}},
		"none":  nil,
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got %#v, want %#v", m, want)
	}
}

func TestClone(t *testing.T) {
	cases := []struct {
		name string
		in   any
		want any
	}{
		{"nil", nil, nil},
		{"string", "x", "x"},
		{"int becomes int64", 5, int64(5)},
		{"string slice becomes []any", []string{"a", "b"}, []any{"a", "b"}},
		{"int slice becomes []any of int64", []int{200, 302}, []any{int64(200), int64(302)}},
		{"nested", map[string]any{"a": []any{map[string]any{"b": 1}}}, map[string]any{"a": []any{map[string]any{"b": int64(1)}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := schema.Clone(c.in); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Clone = %#v, want %#v", got, c.want)
			}
		})
	}
	orig := map[string]any{"a": []any{"x"}, "m": map[string]any{"k": "v"}}
	cp := schema.Clone(orig).(map[string]any)
	cp["a"].([]any)[0] = "changed"
	cp["m"].(map[string]any)["k"] = "changed"
	if orig["a"].([]any)[0] != "x" || orig["m"].(map[string]any)["k"] != "v" {
		t.Errorf("Clone is shallow: %v", orig)
	}
}

func TestSchemaField(t *testing.T) {
	sch := coerceSchema()
	if f := sch.Field("port"); f == nil || f.Type != schema.Integer {
		t.Errorf("Field(port) = %v", f)
	}
	if f := sch.Field("nope"); f != nil {
		t.Errorf("Field(nope) = %v", f)
	}
	if r := schema.Range(1, 2); r[0] != 1 || r[1] != 2 {
		t.Errorf("Range = %v", r)
	}
	if g := schema.Float(0.5); *g != 0.5 {
		t.Errorf("Float = %v", *g)
	}
}

// TestCoerceFillValidate runs the whole write pipeline on form-like input.
func TestCoerceFillValidate(t *testing.T) {
	sch := coerceSchema()
	rec, errs := schema.Coerce(sch, map[string]any{
		"name": "crud", "port": "8080", "paths": "/persons", "enabled": "false",
		"limits": map[string]any{"minute": "5"}, "service": testUUID,
	})
	if !errs.Empty() {
		t.Fatal(errs)
	}
	schema.FillDefaults(sch, rec)
	if errs := schema.Validate(sch, rec); !errs.Empty() {
		t.Fatal(errs)
	}
	want := map[string]any{
		"name": "crud", "port": int64(8080), "ratio": nil, "enabled": false,
		"paths": []any{"/persons"}, "tags": nil, "statuses": nil, "headers": nil,
		"limits":  map[string]any{"minute": int64(5), "policy": "local"},
		"service": map[string]any{"id": testUUID}, "extra": nil,
	}
	if !reflect.DeepEqual(rec, want) {
		t.Errorf("got  %#v\nwant %#v", rec, want)
	}
}
