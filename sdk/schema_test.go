package sdk_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/sdk"
)

type limits struct {
	Second int    `json:"second" between:"1,100"`
	Policy string `json:"policy" default:"local" one_of:"local,redis"`
}

type fullConfig struct {
	Name    string            `json:"name" required:"true" len_min:"2" len_max:"8" match:"^[a-z]+$"`
	Enabled bool              `json:"enabled" default:"true"`
	Ratio   float64           `json:"ratio" default:"0.5"`
	Tags    []string          `json:"tags" set:"true"`
	Codes   []int             `json:"codes" default:"[401,403]"`
	Headers map[string]string `json:"headers"`
	Limits  limits            `json:"limits"`
	Opt     *string           `json:"opt,omitempty"`
	Skipped string            `json:"-"`
	hidden  string
	NoTag   int
}

func TestSchemaOf(t *testing.T) {
	f, err := sdk.SchemaOf[fullConfig]()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(f.Kong())
	want := `{"fields":[` +
		`{"name":{"len_max":8,"len_min":2,"match":"^[a-z]+$","required":true,"type":"string"}},` +
		`{"enabled":{"default":true,"type":"boolean"}},` +
		`{"ratio":{"default":0.5,"type":"number"}},` +
		`{"tags":{"elements":{"type":"string"},"type":"set"}},` +
		`{"codes":{"default":[401,403],"elements":{"type":"integer"},"type":"array"}},` +
		`{"headers":{"keys":{"type":"string"},"type":"map","values":{"type":"string"}}},` +
		`{"limits":{"fields":[{"second":{"between":[1,100],"type":"integer"}},{"policy":{"default":"local","one_of":["local","redis"],"type":"string"}}],"type":"record"}},` +
		`{"opt":{"type":"string"}},` +
		`{"NoTag":{"type":"integer"}}],"type":"record"}`
	if string(got) != want {
		t.Errorf("schema\n got %s\nwant %s", got, want)
	}
}

func TestSchemaOfRefuses(t *testing.T) {
	type badMap struct {
		M map[int]string `json:"m"`
	}
	type badType struct {
		C chan int `json:"c"`
	}
	type badDefault struct {
		N int `json:"n" default:"x"`
	}
	type badBetween struct {
		S string `json:"s" between:"1,2"`
	}
	type badMatch struct {
		S string `json:"s" match:"("`
	}
	type recursive struct {
		Next *recursive `json:"next"`
	}
	for _, c := range []struct {
		name string
		f    func() error
		want string
	}{
		{"map key", func() error { _, err := sdk.SchemaOf[badMap](); return err }, "map keys must be strings"},
		{"chan", func() error { _, err := sdk.SchemaOf[badType](); return err }, "unsupported type chan int"},
		{"default", func() error { _, err := sdk.SchemaOf[badDefault](); return err }, `n: default "x"`},
		{"between", func() error { _, err := sdk.SchemaOf[badBetween](); return err }, "between"},
		{"match", func() error { _, err := sdk.SchemaOf[badMatch](); return err }, "match"},
		{"recursive", func() error { _, err := sdk.SchemaOf[recursive](); return err }, "recursive type"},
		{"not a struct", func() error { _, err := sdk.SchemaOf[string](); return err }, "not a struct"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.f(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	p := sdk.Plugin[fullConfig]{Validate: func(c *fullConfig) error {
		if c.Name == "admin" {
			return errString("name admin is reserved")
		}
		return nil
	}}
	c, err := p.Decode([]byte(`{"name":"abc","route_id":"r1","__plugin_id":"p","limits":{"second":5},"headers":{"a":"b"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "abc" || !c.Enabled || c.Ratio != 0.5 || len(c.Codes) != 2 || c.Codes[1] != 403 ||
		c.Limits.Second != 5 || c.Limits.Policy != "local" || c.Headers["a"] != "b" || c.Opt != nil {
		t.Errorf("decoded %+v", c)
	}
	for _, tc := range []struct{ in, want string }{
		{`{}`, "name: required field missing"},
		{`{"name":null}`, "name: required field missing"},
		{`{"name":"a"}`, "name: length must be at least 2"},
		{`{"name":"abcdefghij"}`, "name: length must be at most 8"},
		{`{"name":"AB"}`, "name: invalid value: AB"},
		{`{"name":5}`, "name: expected a string"},
		{`{"name":"ab","limits":{"second":500}}`, "limits.second: value should be between 1 and 100"},
		{`{"name":"ab","limits":{"second":1.5}}`, "limits.second: expected an integer"},
		{`{"name":"ab","limits":{"policy":"cluster"}}`, "limits.policy: expected one of: local, redis"},
		{`{"name":"ab","codes":["x"]}`, "codes[1]: expected an integer"},
		{`{"name":"ab","headers":{"x":1}}`, "headers.x: expected a string"},
		{`{"name":"ab","enabled":"yes"}`, "enabled: expected a boolean"},
		{`{"name":"admin"}`, "name admin is reserved"},
		{`[1]`, "not a JSON object"},
		{`{`, "not a JSON object"},
	} {
		if _, err := p.Decode([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Decode(%s): %v, want %q", tc.in, err, tc.want)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// FuzzDecode: any configuration JSON is decoded or refused with an error,
// never a panic.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{}`, `{"name":"abc"}`, `{"name":"ab","limits":{"second":5}}`, `{"codes":[1,2,null]}`,
		`{"headers":{"a":null}}`, `null`, `{"name":"ab","tags":["a","a"]}`, `{"limits":null}`} {
		f.Add([]byte(s))
	}
	p := sdk.Plugin[fullConfig]{}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := p.Decode(b)
		if err == nil && c == nil {
			t.Fatal("no configuration and no error")
		}
	})
}
