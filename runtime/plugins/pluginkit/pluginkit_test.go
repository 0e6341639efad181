package pluginkit_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/plugins/pluginkit"
)

// conf is what the tests read a configuration into.
type conf struct {
	S      string
	B      bool
	N      float64
	NSet   bool
	L      []string
	RecS   string
	RecL   []string
	RecSet bool
}

func read(m map[string]any) (conf, error) {
	c := conf{S: "default", B: true, N: -1, L: []string{"d"}}
	r := pluginkit.NewConf("test", m)
	r.String("s", &c.S)
	r.Bool("b", &c.B)
	c.NSet = r.Number("n", &c.N)
	r.Strings("l", &c.L)
	if rec, ok := r.Record("rec"); ok {
		c.RecSet = true
		rec.String("s", &c.RecS)
		rec.Strings("l", &c.RecL)
	}
	return c, r.Err()
}

func TestConf(t *testing.T) {
	defaults := conf{S: "default", B: true, N: -1, L: []string{"d"}}
	with := func(f func(*conf)) conf {
		c := defaults
		f(&c)
		return c
	}
	cases := []struct {
		name string
		m    map[string]any
		want conf
		errs []string
	}{
		{"empty keeps defaults", nil, defaults, nil},
		{"nulls keep defaults", map[string]any{"s": nil, "b": nil, "n": nil, "l": nil, "rec": nil}, defaults, nil},
		{"values", map[string]any{"s": "x", "b": false, "n": 2.5, "l": []any{"a", "b"}},
			with(func(c *conf) { c.S, c.B, c.N, c.NSet, c.L = "x", false, 2.5, true, []string{"a", "b"} }), nil},
		{"int64 number", map[string]any{"n": int64(7)}, with(func(c *conf) { c.N, c.NSet = 7, true }), nil},
		{"int number", map[string]any{"n": 8}, with(func(c *conf) { c.N, c.NSet = 8, true }), nil},
		{"empty array is not nil", map[string]any{"l": []any{}}, with(func(c *conf) { c.L = []string{} }), nil},
		{"record", map[string]any{"rec": map[string]any{"s": "y", "l": []any{"z"}}},
			with(func(c *conf) { c.RecSet, c.RecS, c.RecL = true, "y", []string{"z"} }), nil},
		{"wrong types", map[string]any{"s": 1, "b": "yes", "n": "2", "l": "a"}, defaults, []string{
			"test: s: expected a string, got int",
			"test: b: expected a boolean, got string",
			"test: n: expected a number, got string",
			"test: l: expected an array, got string",
		}},
		{"wrong element", map[string]any{"l": []any{"a", 5}}, defaults, []string{"test: l: expected strings, got int"}},
		{"wrong record", map[string]any{"rec": []any{}}, defaults, []string{"test: rec: expected a record, got []interface {}"}},
		{"errors inside a record", map[string]any{"rec": map[string]any{"s": true, "l": []any{1}}},
			with(func(c *conf) { c.RecSet = true }), []string{
				"test: rec.s: expected a string, got bool",
				"test: rec.l: expected strings, got int",
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := read(tc.m)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("read = %+v\nwant %+v", got, tc.want)
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

func TestConfFail(t *testing.T) {
	r := pluginkit.NewConf("rate-limiting", nil)
	r.Fail("second", "value must be greater than %d", 0)
	if err := r.Err(); err == nil || err.Error() != "rate-limiting: second: value must be greater than 0" {
		t.Errorf("Err = %v", err)
	}
}

func TestHeaderNames(t *testing.T) {
	const bad = "bad header name '%s', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
	cases := []struct {
		s     string
		valid bool   // IsHeaderName
		check string // CheckHeaderName's message, %s for s
	}{
		{"apikey", true, ""},
		{"X-Api_Key-09", true, ""},
		{"", false, ""}, // left to the length check
		{"api key", false, bad},
		{"api:key", false, bad},
		{"é", false, bad},
	}
	for _, tc := range cases {
		if got := pluginkit.IsHeaderName(tc.s); got != tc.valid {
			t.Errorf("IsHeaderName(%q) = %v", tc.s, got)
		}
		want := ""
		if tc.check != "" {
			want = strings.Replace(tc.check, "%s", tc.s, 1)
		}
		if got := pluginkit.CheckHeaderName(tc.s); got != want {
			t.Errorf("CheckHeaderName(%q) = %q, want %q", tc.s, got, want)
		}
	}
	if got := pluginkit.CheckHeaderName(nil); got != "" {
		t.Errorf("CheckHeaderName(nil) = %q", got)
	}
}
