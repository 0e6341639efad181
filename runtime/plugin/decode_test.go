package plugin_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// testSchema exercises every kind of field the decoder handles.
func testSchema() *schema.Schema {
	return &schema.Schema{Fields: []*schema.Field{
		{Name: "s", Type: schema.String, Default: "dflt"},
		{Name: "free", Type: schema.String},
		{Name: "b", Type: schema.Boolean, Default: true},
		{Name: "n", Type: schema.Number, Default: float64(-1)},
		{Name: "i", Type: schema.Integer, Default: int64(7)},
		{Name: "opt", Type: schema.Number},
		{Name: "l", Type: schema.Array, Default: []any{"d"}, Elements: &schema.Field{Type: schema.String}},
		{Name: "m", Type: schema.Map, Keys: &schema.Field{Type: schema.String}, Values: &schema.Field{Type: schema.Integer}},
		{Name: "raw", Type: schema.JSON},
		{Name: "rec", Type: schema.Record, Fields: []*schema.Field{
			{Name: "s", Type: schema.String, Default: "inner"},
			{Name: "l", Type: schema.Array, Elements: &schema.Field{Type: schema.String}},
		}},
		{Name: "drec", Type: schema.Record, Default: map[string]any{"a": "from-default"}, Fields: []*schema.Field{
			{Name: "a", Type: schema.String},
			{Name: "b", Type: schema.String, Default: "b-field"},
		}},
	}}
}

type inner struct {
	S string   `config:"s"`
	L []string `config:"l"`
}

type drec struct {
	A string `config:"a"`
	B string `config:"b"`
}

type testConfig struct {
	S       string         `config:"s"`
	Free    string         `config:"free"`
	B       bool           `config:"b"`
	N       float64        `config:"n"`
	I       int            `config:"i"`
	Opt     *float64       `config:"opt"`
	L       []string       `config:"l"`
	M       map[string]int `config:"m"`
	Raw     any            `config:"raw"`
	Rec     inner          `config:"rec"`
	DRec    drec           `config:"drec"`
	Ignored string
	Skipped string `config:"-"`
}

// defaults is what a configuration with no field decodes to: the schema's.
var defaults = testConfig{S: "dflt", B: true, N: -1, I: 7, L: []string{"d"},
	Rec: inner{S: "inner"}, DRec: drec{A: "from-default", B: "b-field"}}

func TestDecode(t *testing.T) {
	with := func(f func(*testConfig)) testConfig {
		c := defaults
		f(&c)
		return c
	}
	five := 5.0
	cases := []struct {
		name string
		m    map[string]any
		want testConfig
		errs []string
	}{
		{"nil config takes every default", nil, defaults, nil},
		{"nulls take the defaults", map[string]any{"s": nil, "b": nil, "n": nil, "l": nil, "rec": nil, "drec": nil}, defaults, nil},
		{"values", map[string]any{"s": "x", "free": "f", "b": false, "n": 2.5, "i": int64(3), "opt": int64(5),
			"l": []any{"a", "b"}, "m": map[string]any{"k": int64(1)}, "raw": map[string]any{"z": []any{1.0}}},
			with(func(c *testConfig) {
				c.S, c.Free, c.B, c.N, c.I, c.Opt = "x", "f", false, 2.5, 3, &five
				c.L, c.M, c.Raw = []string{"a", "b"}, map[string]int{"k": 1}, map[string]any{"z": []any{1.0}}
			}), nil},
		{"Go ints", map[string]any{"n": 8, "i": 9}, with(func(c *testConfig) { c.N, c.I = 8, 9 }), nil},
		{"integral float into an int", map[string]any{"i": 4.0}, with(func(c *testConfig) { c.I = 4 }), nil},
		{"empty array is not nil", map[string]any{"l": []any{}}, with(func(c *testConfig) { c.L = []string{} }), nil},
		{"a partial record keeps its fields' defaults", map[string]any{"rec": map[string]any{"l": []any{"z"}}},
			with(func(c *testConfig) { c.Rec = inner{S: "inner", L: []string{"z"}} }), nil},
		{"a given record replaces the record's default", map[string]any{"drec": map[string]any{"a": "given"}},
			with(func(c *testConfig) { c.DRec = drec{A: "given", B: "b-field"} }), nil},
		{"wrong types", map[string]any{"s": 1, "b": "yes", "n": "2", "i": 1.5, "l": "a", "m": []any{}}, testConfig{}, []string{
			"s: expected a string, got int",
			"b: expected a boolean, got string",
			"n: expected a number, got string",
			"i: expected an integer, got 1.5",
			"l: expected an array, got string",
			"m: expected a map, got []interface {}",
		}},
		{"wrong element", map[string]any{"l": []any{"a", 5}}, testConfig{}, []string{"l[2]: expected a string, got int"}},
		{"wrong record", map[string]any{"rec": []any{}}, testConfig{}, []string{"rec: expected a record, got []interface {}"}},
		{"errors inside a record", map[string]any{"rec": map[string]any{"s": true, "l": []any{1}}},
			testConfig{}, []string{
				"rec.s: expected a string, got bool",
				"rec.l[1]: expected a string, got int",
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := testConfig{Ignored: "kept", Skipped: "kept"}
			err := plugin.Decode(testSchema(), tc.m, &got)
			tc.want.Ignored, tc.want.Skipped = "kept", "kept"
			// With errors the configuration is unusable: only they count.
			if tc.errs == nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Decode = %+v\nwant %+v", got, tc.want)
			}
			var errs []string
			if err != nil {
				errs = strings.Split(err.Error(), "\n")
			}
			if !reflect.DeepEqual(errs, tc.errs) {
				t.Errorf("errors = %q\nwant %q", errs, tc.errs)
			}
		})
	}
}

func TestDecodeDoesNotShareDefaults(t *testing.T) {
	s := testSchema()
	var a, b testConfig
	if err := plugin.Decode(s, nil, &a); err != nil {
		t.Fatal(err)
	}
	a.L[0] = "changed"
	if err := plugin.Decode(s, nil, &b); err != nil {
		t.Fatal(err)
	}
	if b.L[0] != "d" || s.Field("l").Default.([]any)[0] != "d" {
		t.Errorf("a decoded default aliases the schema's: %v %v", b.L, s.Field("l").Default)
	}
}

func TestDecodeMistakes(t *testing.T) {
	type unknown struct {
		X string `config:"nope"`
	}
	type embedded struct {
		inner
		Top string `config:"top"`
	}
	cases := []struct {
		name string
		dst  any
		want string
	}{
		{"not a pointer", testConfig{}, "plugin: Decode needs a pointer to a struct, got plugin_test.testConfig"},
		{"not a struct", new(string), "plugin: Decode needs a pointer to a struct, got *string"},
		{"tag naming no field", &unknown{}, "nope: unknown.X names no field of the schema"},
		{"embedded struct's tags are the record's", &embedded{}, "top: embedded.Top names no field of the schema"},
	}
	for _, tc := range cases {
		err := plugin.Decode(testSchema(), nil, tc.dst)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	var e embedded
	_ = plugin.Decode(testSchema(), map[string]any{"s": "x"}, &e)
	if e.S != "x" {
		t.Errorf("embedded struct not decoded from the record: %+v", e)
	}
}

func TestCheckDefaults(t *testing.T) {
	s := testSchema()
	if err := plugin.CheckDefaults(s, defaults); err != nil {
		t.Errorf("the schema's defaults: %v", err)
	}
	goDefault := defaults
	goDefault.Free = "set in Go"
	goDefault.Rec.S = "also in Go"
	goDefault.Opt = new(float64)
	err := plugin.CheckDefaults(s, &goDefault)
	want := []string{
		`free: decoded "set in Go", the schema's default is ""`,
		`opt: decoded 0, the schema's default is (*float64)(nil)`,
		`rec.s: decoded "also in Go", the schema's default is "inner"`,
	}
	if err == nil || !reflect.DeepEqual(strings.Split(err.Error(), "\n"), want) {
		t.Errorf("CheckDefaults = %v\nwant %q", err, want)
	}
}

func TestTyped(t *testing.T) {
	type cfg struct {
		Greeting string `config:"greeting"`
	}
	var built []cfg
	d := plugin.Typed(&plugin.Definition{Name: "typed-test", Schema: &store.PluginSchema{Name: "typed-test",
		Config: &schema.Schema{Fields: []*schema.Field{{Name: "greeting", Type: schema.String, Default: "hello"}}}}},
		func(c cfg) (any, error) { built = append(built, c); return c.Greeting, nil })
	inst, err := d.New(map[string]any{})
	if err != nil || inst != "hello" || !reflect.DeepEqual(built, []cfg{{"hello"}}) {
		t.Errorf("New = %v, %v (built %v)", inst, err, built)
	}
	if _, err := d.New(map[string]any{"greeting": 1}); err == nil || err.Error() != "typed-test: greeting: expected a string, got int" {
		t.Errorf("New(bad) = %v", err)
	}
	if len(built) != 1 {
		t.Errorf("build called with a bad config: %v", built)
	}
	v, ok, err := d.DecodeConfig(map[string]any{"greeting": "hi"})
	if !ok || err != nil || v != (cfg{"hi"}) {
		t.Errorf("DecodeConfig = %v, %v, %v", v, ok, err)
	}
	if _, ok, _ := (&plugin.Definition{Name: "untyped"}).DecodeConfig(nil); ok {
		t.Error("an untyped definition claims a config type")
	}
}

// TestDecodeScope: the keys the node adds to a configuration (Kong's
// plugins iterator's) fill a Scope field, with no tag and no schema field.
func TestDecodeScope(t *testing.T) {
	type scoped struct {
		S     string `config:"s"`
		Scope plugin.Scope
	}
	cfg := plugin.WithScope(map[string]any{"s": "x"}, plugin.Scope{PluginID: "p1", RouteID: "r1", ConsumerID: "c1"})
	if _, ok := cfg["service_id"]; ok {
		t.Errorf("an unset id was added: %v", cfg)
	}
	var got scoped
	if err := plugin.Decode(testSchema(), cfg, &got); err != nil {
		t.Fatal(err)
	}
	want := scoped{S: "x", Scope: plugin.Scope{PluginID: "p1", RouteID: "r1", ConsumerID: "c1"}}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if err := plugin.CheckDefaults(testSchema(), &scoped{S: "dflt"}); err != nil {
		t.Errorf("CheckDefaults does not skip the scope: %v", err)
	}
}
