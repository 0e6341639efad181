package schema_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store/schema"
)

// fuzzSchema resembles Kong's services and routes: every field type, nested
// records with and without defaults, element and key constraints, custom
// checks and a record check.
var fuzzSchema = &schema.Schema{
	Fields: []*schema.Field{
		{Name: "id", Type: schema.String, UUID: true, Auto: true},
		{Name: "created_at", Type: schema.Integer, Timestamp: true, Auto: true},
		{Name: "name", Type: schema.String, Unique: true, Match: regexp.MustCompile(`^[\w.\-~]+$`)},
		{Name: "retries", Type: schema.Integer, Default: int64(5), Between: schema.Range(0, 32767)},
		{Name: "protocol", Type: schema.String, Required: true, Default: "http", OneOf: []any{"grpc", "grpcs", "http", "https", "tcp", "tls"}},
		{Name: "host", Type: schema.String, Required: true, LenMax: 253, Check: func(v any) string {
			if strings.ContainsAny(v.(string), " /:") {
				return "invalid value: " + v.(string)
			}
			return ""
		}},
		{Name: "port", Type: schema.Integer, Required: true, Default: int64(80), Between: schema.Range(0, 65535)},
		{Name: "path", Type: schema.String, StartsWith: "/"},
		{Name: "weight", Type: schema.Number, Gt: schema.Float(0)},
		{Name: "enabled", Type: schema.Boolean, Required: true, Default: true},
		{Name: "tls_verify", Type: schema.Boolean},
		{Name: "protocols", Type: schema.Set, Required: true, LenMin: 1, Default: []any{"http", "https"},
			Elements: &schema.Field{Type: schema.String, OneOf: []any{"http", "https", "grpc", "grpcs"}}},
		{Name: "paths", Type: schema.Array, LenMax: 16, Elements: &schema.Field{Type: schema.String, StartsWith: "/"}},
		{Name: "tags", Type: schema.Set, Elements: &schema.Field{Type: schema.String, LenMax: 64}},
		{Name: "statuses", Type: schema.Array, Default: []any{int64(200), int64(302)},
			Elements: &schema.Field{Type: schema.Integer, Between: schema.Range(100, 999)}},
		{Name: "ratios", Type: schema.Array, Elements: &schema.Field{Type: schema.Number}},
		{Name: "headers", Type: schema.Map, Keys: &schema.Field{Type: schema.String, Match: regexp.MustCompile(`^[A-Za-z0-9-]+$`)},
			Values: &schema.Field{Type: schema.Array, Elements: &schema.Field{Type: schema.String}}},
		{Name: "sources", Type: schema.Set, Elements: &schema.Field{Type: schema.Record, Fields: []*schema.Field{
			{Name: "ip", Type: schema.String},
			{Name: "port", Type: schema.Integer, Between: schema.Range(0, 65535)},
		}}},
		{Name: "healthchecks", Type: schema.Record, Fields: []*schema.Field{
			{Name: "active", Type: schema.Record, Fields: []*schema.Field{
				{Name: "type", Type: schema.String, Default: "http", OneOf: []any{"tcp", "http", "https"}},
				{Name: "timeout", Type: schema.Number, Default: float64(1), Between: schema.Range(0, 65535)},
				{Name: "http_path", Type: schema.String, Default: "/", StartsWith: "/"},
				{Name: "https_sni", Type: schema.String},
				{Name: "healthy", Type: schema.Record, Fields: []*schema.Field{
					{Name: "interval", Type: schema.Number, Default: float64(0)},
					{Name: "http_statuses", Type: schema.Array, Default: []any{int64(200), int64(302)},
						Elements: &schema.Field{Type: schema.Integer, Between: schema.Range(100, 999)}},
					{Name: "successes", Type: schema.Integer, Default: int64(0), Between: schema.Range(0, 255)},
				}},
			}},
			{Name: "threshold", Type: schema.Number, Default: float64(0), Between: schema.Range(0, 100)},
		}},
		{Name: "client", Type: schema.Record, Fields: []*schema.Field{
			{Name: "cert", Type: schema.String},
			{Name: "depth", Type: schema.Integer},
		}},
		{Name: "service", Type: schema.Foreign, Reference: "services"},
		{Name: "consumer", Type: schema.Foreign, Reference: "consumers", OnDelete: "cascade"},
		{Name: "meta", Type: schema.JSON},
	},
	Checks: []func(map[string]any) []string{func(rec map[string]any) []string {
		if rec["protocol"] == "tcp" && rec["path"] != nil {
			return []string{"failed conditional validation given value of field 'protocol'"}
		}
		return nil
	}},
}

var fuzzFieldNames = func() []string {
	var out []string
	for _, f := range fuzzSchema.Fields {
		out = append(out, f.Name)
	}
	return out
}()

// nilElementsAccepted, when true, tolerates null array, set and map elements
// in a valid record. Kong validates elements as required (kong/db/schema/init.lua
// validate_elements sets elements.required = true), so [null] is rejected
// with "required field missing"; Validate now does the same, so the fuzz
// target enforces it.
const nilElementsAccepted = false

// nonFiniteJSONAccepted reflects a known bug: a json field given a number
// that overflows float64 (1e400) is normalized to +Inf, passes Validate and
// then cannot be encoded for storage. Set to false once Coerce rejects it.
const nonFiniteJSONAccepted = true

// FuzzCoerceValidate drives Coerce → FillDefaults → Validate with JSON bodies
// and form-like bodies. It checks that nothing panics and that a record
// Validate accepts holds every declared field with the Go type the field
// declares.
func FuzzCoerceValidate(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"host":"example.com"}`,
		`{"host":"example.com","port":8080,"paths":["/a","/b"],"protocols":["https"]}`,
		`{"host":"example.com","port":"8080","retries":"3","enabled":"false","weight":"0.5"}`,
		`{"host":"h","healthchecks":{"active":{"http_path":"/status","healthy":{"http_statuses":[200,"201"]}}}}`,
		`{"host":"h","healthchecks":null,"client":{"depth":"3"}}`,
		`{"host":"h","headers":{"x-a":"1","x-b":["2","3"]},"sources":[{"ip":"10.0.0.1","port":80}]}`,
		`{"host":"h","service":"5cc8dee4-066d-492e-b2f8-bd77eb0a4c86","consumer":{"id":"5cc8dee4-066d-492e-b2f8-bd77eb0a4c86"}}`,
		`{"host":"h","meta":{"a":[1,2.5,{"b":null}]},"ratios":[1,1e3,-0.5]}`,
		`{"host":"h","meta":[1e400]}`,
		`{"host":"h","protocol":"tcp","path":"/x"}`,
		`{"host":"h","port":1e3,"retries":1.5,"statuses":[1e2]}`,
		`{"host":"h","tags":[null],"paths":{}}`,
		`{"bogus":1,"host":["a"],"port":{"x":1}}`,
		`host=example.com&port=8080&paths=/a&paths=/b`,
		`host=example.com&healthchecks.active.healthy.successes=3&healthchecks.threshold=50`,
		`host=h&enabled&tls_verify=true&protocols=https&protocols=grpcs`,
		`host=h&service.id=5cc8dee4-066d-492e-b2f8-bd77eb0a4c86&headers.x-a=1`,
		`host=&port=&name=`,
		`a=1&b=2&c=3&d=4`,
		`{"host":"h\u0000","meta":{"k\u0000":"v"},"headers":{"x-a":["\u0000"]}}`,
		"host=h\xff&name=a\x00b&meta.k\xc3=1",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzInput(data)
		if in == nil {
			return
		}
		rec, errs := schema.Coerce(fuzzSchema, in)
		if errs == nil {
			t.Fatal("Coerce returned nil Errors")
		}
		_ = errs.Flatten()
		schema.FillDefaults(fuzzSchema, rec)
		verrs := schema.Validate(fuzzSchema, rec)
		_ = verrs.Flatten()
		if !errs.Empty() || !verrs.Empty() {
			return
		}
		checkRecord(t, "", fuzzSchema.Fields, rec, true)
		// Every backend can store what validates: no string or map key
		// holds NUL or invalid UTF-8.
		if msg := storableText(rec); msg != "" {
			t.Fatalf("valid record holds unstorable text (%s): %#v", msg, rec)
		}
		// A valid record survives a JSON round trip and re-validation
		// unchanged, as it does when a store reads it back.
		b, err := json.Marshal(rec)
		var unsupported *json.UnsupportedValueError
		if nonFiniteJSONAccepted && errors.As(err, &unsupported) {
			return
		}
		if err != nil {
			t.Fatalf("valid record does not encode: %v\n%#v", err, rec)
		}
		back := decodeJSON(b)
		again, cerrs := schema.Coerce(fuzzSchema, back)
		if !cerrs.Empty() {
			t.Fatalf("stored record does not coerce: %v\n%s", cerrs, b)
		}
		if verrs := schema.Validate(fuzzSchema, again); !verrs.Empty() {
			t.Fatalf("stored record does not validate: %v\n%s", verrs, b)
		}
	})
}

// fuzzInput turns fuzz bytes into an input map: a JSON object when the bytes
// hold one (numbers as json.Number, as the Admin API decodes them), otherwise
// a form body whose keys are mapped onto the schema's field names.
func fuzzInput(data []byte) map[string]any {
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		v := decodeJSON(t)
		if v != nil {
			return v
		}
	}
	return formInput(string(data))
}

func decodeJSON(b []byte) map[string]any {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil
	}
	return m
}

// formInput decodes a form-like body the way the Admin API's form decoder
// shapes it: "a.b=v" nests, a repeated key becomes an array, "key" alone is
// true and "key=" is null. Top-level keys that are not field names are
// assigned to a field chosen by the key's hash, so arbitrary strings reach
// every field.
func formInput(s string) map[string]any {
	out := map[string]any{}
	for i, part := range strings.Split(s, "&") {
		if i >= 100 {
			break
		}
		if part == "" {
			continue
		}
		key, val, hasVal := strings.Cut(part, "=")
		var v any = true
		if hasVal {
			v = val
			if val == "" {
				v = nil
			}
		}
		path := strings.Split(key, ".")
		if len(path) > 6 {
			path = path[:6]
		}
		if fuzzSchema.Field(path[0]) == nil {
			h := fnv.New32a()
			h.Write([]byte(path[0]))
			path[0] = fuzzFieldNames[int(h.Sum32()%uint32(len(fuzzFieldNames)))]
		}
		setPath(out, path, v)
	}
	return out
}

func setPath(m map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		sub, ok := m[k].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[k] = sub
		}
		m = sub
	}
	k := path[len(path)-1]
	switch old := m[k].(type) {
	case nil:
		if _, present := m[k]; present {
			m[k] = []any{nil, v}
		} else {
			m[k] = v
		}
	case []any:
		m[k] = append(old, v)
	case map[string]any:
		// A scalar after a nested key: keep the nested value, as a form
		// decoder keeps the first shape it saw.
	default:
		m[k] = []any{old, v}
	}
}

// checkRecord asserts that rec holds every field (when full) with its
// declared type.
func checkRecord(t *testing.T, prefix string, fields []*schema.Field, rec map[string]any, full bool) {
	t.Helper()
	for _, f := range fields {
		v, ok := rec[f.Name]
		if !ok {
			if full {
				t.Fatalf("valid record lacks field %s%s: %#v", prefix, f.Name, rec)
			}
			continue
		}
		checkValue(t, prefix+f.Name, f, v)
	}
	for k := range rec {
		if (&schema.Schema{Fields: fields}).Field(k) == nil {
			t.Fatalf("valid record has undeclared field %s%s", prefix, k)
		}
	}
}

func checkValue(t *testing.T, path string, f *schema.Field, v any) {
	t.Helper()
	if v == nil {
		if f.Required {
			t.Fatalf("%s: required field is null in a valid record", path)
		}
		return
	}
	bad := func() { t.Fatalf("%s: %s field holds %T (%#v)", path, f.Type, v, v) }
	switch f.Type {
	case schema.String:
		if _, ok := v.(string); !ok {
			bad()
		}
	case schema.Integer:
		if _, ok := v.(int64); !ok {
			bad()
		}
	case schema.Number:
		if _, ok := v.(float64); !ok {
			bad()
		}
	case schema.Boolean:
		if _, ok := v.(bool); !ok {
			bad()
		}
	case schema.Array, schema.Set:
		list, ok := v.([]any)
		if !ok {
			bad()
		}
		if f.Elements == nil {
			return
		}
		for i, e := range list {
			p := fmt.Sprintf("%s.%d", path, i+1)
			if e == nil {
				if !nilElementsAccepted {
					t.Fatalf("%s: null element in a valid record", p)
				}
				continue
			}
			if f.Elements.Type == schema.Record {
				m, ok := e.(map[string]any)
				if !ok {
					t.Fatalf("%s: record element holds %T", p, e)
				}
				// Records inside arrays get no defaults: fields may be absent.
				checkRecord(t, p+".", f.Elements.Fields, m, false)
				continue
			}
			checkValue(t, p, f.Elements, e)
		}
	case schema.Map:
		m, ok := v.(map[string]any)
		if !ok {
			bad()
		}
		for k, e := range m {
			if f.Values == nil {
				continue
			}
			if e == nil {
				if !nilElementsAccepted {
					t.Fatalf("%s.%s: null map value in a valid record", path, k)
				}
				continue
			}
			checkValue(t, path+"."+k, f.Values, e)
		}
	case schema.Record:
		m, ok := v.(map[string]any)
		if !ok {
			bad()
		}
		checkRecord(t, path+".", f.Fields, m, true)
	case schema.Foreign:
		m, ok := v.(map[string]any)
		if !ok {
			bad()
		}
		for k, e := range m {
			if _, ok := e.(string); !ok {
				t.Fatalf("%s.%s: foreign key part holds %T", path, k, e)
			}
		}
	case schema.JSON:
		checkNoJSONNumber(t, path, v)
	}
}

func checkNoJSONNumber(t *testing.T, path string, v any) {
	t.Helper()
	switch x := v.(type) {
	case json.Number:
		t.Fatalf("%s: json.Number left in a valid record", path)
	case []any:
		for i, e := range x {
			checkNoJSONNumber(t, fmt.Sprintf("%s.%d", path, i+1), e)
		}
	case map[string]any:
		for k, e := range x {
			checkNoJSONNumber(t, path+"."+k, e)
		}
	}
}

func storableText(v any) string {
	switch t := v.(type) {
	case string:
		return schema.CheckText(t)
	case []any:
		for _, e := range t {
			if msg := storableText(e); msg != "" {
				return msg
			}
		}
	case map[string]any:
		for k, e := range t {
			if msg := schema.CheckText(k); msg != "" {
				return msg
			}
			if msg := storableText(e); msg != "" {
				return msg
			}
		}
	}
	return ""
}
