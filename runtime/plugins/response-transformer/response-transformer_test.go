package responsetransformer_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	responsetransformer "github.com/gatehouse/gatehouse/runtime/plugins/response-transformer"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

func newPlugin(t testing.TB, cfg map[string]any) any {
	t.Helper()
	return plugintest.New(t, responsetransformer.Schema(), responsetransformer.New, cfg)
}

// respond runs the header_filter and body_filter phases over an upstream
// response with the given headers and body.
func respond(t *testing.T, cfg map[string]any, header map[string][]string, body string) (*plugintest.Result, *plugintest.Result) {
	t.Helper()
	p := newPlugin(t, cfg)
	req := func() *plugintest.Request {
		r := plugintest.NewRequest("GET", "/")
		r.ServiceHeader, r.ServiceBody = header, []byte(body)
		return r
	}
	hf := plugintest.Run(t, p, hostabi.PhaseHeaderFilter, req())
	bf := plugintest.Run(t, p, hostabi.PhaseBodyFilter, req())
	if hf.Err != nil || bf.Err != nil {
		t.Fatalf("errors: %v, %v", hf.Err, bf.Err)
	}
	return hf, bf
}

func TestHeaders(t *testing.T) {
	up := func() map[string][]string {
		return map[string][]string{"X-Old": {"a", "b"}, "X-Keep": {"k"}, "Content-Type": {"text/plain"}, "Content-Length": {"3"}}
	}
	cases := []struct {
		name string
		cfg  map[string]any
		want map[string][]string // nil: absent
	}{
		{"remove", map[string]any{"remove": map[string]any{"headers": []any{"x-old", "X-Missing"}}},
			map[string][]string{"x-old": nil, "x-keep": {"k"}}},
		{"remove takes the name before a colon", map[string]any{"remove": map[string]any{"headers": []any{"X-Keep:ignored"}}},
			map[string][]string{"x-keep": nil}},
		{"rename moves every value", map[string]any{"rename": map[string]any{"headers": []any{"X-Old:X-New"}}},
			map[string][]string{"x-old": nil, "x-new": {"a", "b"}}},
		{"rename of an absent header does nothing", map[string]any{"rename": map[string]any{"headers": []any{"X-None:X-New"}}},
			map[string][]string{"x-new": nil, "x-old": {"a", "b"}}},
		{"replace when present", map[string]any{"replace": map[string]any{"headers": []any{"x-keep:r", "x-absent:r"}}},
			map[string][]string{"x-keep": {"r"}, "x-absent": nil}},
		{"add when absent", map[string]any{"add": map[string]any{"headers": []any{"x-keep:no", "x-added:yes"}}},
			map[string][]string{"x-keep": {"k"}, "x-added": {"yes"}}},
		{"add sees the headers as the phase found them", map[string]any{
			"remove": map[string]any{"headers": []any{"x-keep"}}, "add": map[string]any{"headers": []any{"x-keep:back"}}},
			map[string][]string{"x-keep": nil}},
		{"append adds a value", map[string]any{"append": map[string]any{"headers": []any{"x-keep:k2", "x-fresh:f"}}},
			map[string][]string{"x-keep": {"k", "k2"}, "x-fresh": {"f"}}},
		{"colons after the name are skipped", map[string]any{"add": map[string]any{"headers": []any{"x-url::http://a:1/b"}}},
			map[string][]string{"x-url": {"http://a:1/b"}}},
		{"json rules keep Content-Length of a non-JSON body", map[string]any{"add": map[string]any{"json": []any{"a:b"}}},
			map[string][]string{"content-length": {"3"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hf, _ := respond(t, c.cfg, up(), "abc")
			for name, want := range c.want {
				if got := hf.ResponseHeader[name]; !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %q, want %q (all: %v)", name, got, want, hf.ResponseHeader)
				}
			}
		})
	}
}

func TestJSONBody(t *testing.T) {
	body := `{"a":1,"b":"two","f":false,"n":null,"list":[1],"obj":{"x":1},"big":12345678901234567890,"url":"http://h/p"}`
	cases := []struct {
		name string
		cfg  map[string]any
		want string // the body, compared as JSON
	}{
		{"no json rule leaves the body", map[string]any{"add": map[string]any{"headers": []any{"x:y"}}}, body},
		{"remove", map[string]any{"remove": map[string]any{"json": []any{"a", "missing"}}},
			`{"b":"two","f":false,"n":null,"list":[1],"obj":{"x":1},"big":12345678901234567890,"url":"http://h/p"}`},
		{"rename, false included", map[string]any{"rename": map[string]any{"json": []any{"f:g", "none:x"}}},
			`{"a":1,"b":"two","g":false,"n":null,"list":[1],"obj":{"x":1},"big":12345678901234567890,"url":"http://h/p"}`},
		{"replace skips false and absent, replaces null", map[string]any{"replace": map[string]any{"json": []any{"f:x", "n:y", "zz:z", "b:2"}}},
			`{"a":1,"b":"2","f":false,"n":"y","list":[1],"obj":{"x":1},"big":12345678901234567890,"url":"http://h/p"}`},
		{"add fills absent and false", map[string]any{"add": map[string]any{"json": []any{"f:now", "a:no", "c:new"}}},
			`{"a":1,"b":"two","f":"now","c":"new","n":null,"list":[1],"obj":{"x":1},"big":12345678901234567890,"url":"http://h/p"}`},
		{"json_types cast by position", map[string]any{"add": map[string]any{"json": []any{"num:1.5", "yes:true", "no:nope", "s:7", "hex:0x10", "bad:x1"},
			"json_types": []any{"number", "boolean", "boolean", "string", "number", "number"}}},
			`{"a":1,"b":"two","f":false,"n":null,"list":[1],"obj":{"x":1},"big":12345678901234567890,"url":"http://h/p","num":1.5,"yes":true,"no":false,"s":"7","hex":16}`},
		{"append to string, array, object and scalars", map[string]any{"append": map[string]any{"json": []any{"b:3", "list:2", "obj:o", "a:x", "new:v"}}},
			`{"a":["x"],"b":["two","3"],"f":false,"n":null,"list":[1,"2"],"obj":{"x":1,"1":"o"},"big":12345678901234567890,"url":"http://h/p","new":["v"]}`},
		{"values keep backslashes escaped as cjson leaves them", map[string]any{"add": map[string]any{"json": []any{`q:say "hi"\now`}}},
			`{"a":1,"b":"two","f":false,"n":null,"list":[1],"obj":{"x":1},"big":12345678901234567890,"url":"http://h/p","q":"say \"hi\"\\\\now"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hf, bf := respond(t, c.cfg, map[string][]string{"Content-Type": {"application/json; charset=utf-8"}, "Content-Length": {"99"}}, body)
			var got, want any
			if err := json.Unmarshal(bf.ResponseBody, &got); err != nil {
				t.Fatalf("body %s: %v", bf.ResponseBody, err)
			}
			json.Unmarshal([]byte(c.want), &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("body = %s\nwant   %s", bf.ResponseBody, c.want)
			}
			hasJSON := false
			for _, k := range []string{"remove", "rename", "replace", "add", "append"} {
				if r, ok := c.cfg[k].(map[string]any); ok && r["json"] != nil {
					hasJSON = true
				}
			}
			if cl := hf.ResponseHeader["content-length"]; hasJSON == (cl != nil) {
				t.Errorf("Content-Length = %v with json rules %v", cl, hasJSON)
			}
		})
	}
}

// TestBodiesLeftAlone: bodies that are not JSON objects, or not JSON, pass
// unchanged (an array is re-encoded as is).
func TestBodiesLeftAlone(t *testing.T) {
	cfg := map[string]any{"add": map[string]any{"json": []any{"a:b"}}}
	for _, c := range []struct{ ct, body, want string }{
		{"application/json", `not json`, `not json`},
		{"application/json", `"just a string"`, `"just a string"`},
		{"application/json", `{"a":1} trailing`, `{"a":1} trailing`},
		{"application/json", `[1, 2]`, `[1,2]`},
		{"text/html", `{"x":1}`, `{"x":1}`},
		{"application/json;", `{"x":1}`, `{"x":1}`},
		{"application/problem+json", `{"x":1}`, `{"a":"b","x":1}`},
		{"text/plain, application/json", `{"x":1}`, `{"a":"b","x":1}`},
	} {
		_, bf := respond(t, cfg, map[string][]string{"Content-Type": {c.ct}}, c.body)
		if got := string(bf.ResponseBody); got != c.want {
			t.Errorf("%s %s: body %s, want %s", c.ct, c.body, got, c.want)
		}
	}
}

// TestSchemaErrors: Kong's validation messages.
func TestSchemaErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  map[string]any
		want string
	}{
		{map[string]any{"rename": map[string]any{"headers": []any{"a:b c"}}}, "'b c' is not a valid header"},
		{map[string]any{"add": map[string]any{"headers": []any{"novalue"}}}, "invalid value: novalue"},
		{map[string]any{"add": map[string]any{"json_types": []any{"object"}}}, "expected one of: boolean, number, string"},
	} {
		_, errs := plugintest.ValidateConfig(responsetransformer.Schema(), c.cfg)
		if got := fmt.Sprint(errs.Flatten()); errs.Empty() || !strings.Contains(got, c.want) {
			t.Errorf("%v: errors %s, want %q", c.cfg, got, c.want)
		}
	}
}

func FuzzTransformJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[]`, `{"b":"x","c":[1,{"d":null}]}`, `{`, `"s"`, `{"a":false}`} {
		f.Add([]byte(s))
	}
	p, err := responsetransformer.ParseConfig(map[string]any{
		"remove": map[string]any{"json": []any{"a"}}, "rename": map[string]any{"json": []any{"b:a"}},
		"replace": map[string]any{"json": []any{"c:1"}}, "add": map[string]any{"json": []any{"d:2"}, "json_types": []any{"number"}},
		"append": map[string]any{"json": []any{"c:3", "b:4"}}})
	if err != nil {
		f.Fatal(err)
	}
	plugin := responsetransformer.NewPlugin(p)
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := plugin.TransformJSON(body)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("transformed %q into invalid JSON %q", body, out)
		}
	})
}

func BenchmarkBodyFilter(b *testing.B) {
	p := newPlugin(b, map[string]any{"add": map[string]any{"json": []any{"added:1"}, "json_types": []any{"number"}},
		"remove": map[string]any{"json": []any{"secret"}, "headers": []any{"server"}}})
	req := plugintest.NewRequest("GET", "/")
	req.ServiceHeader = map[string][]string{"Content-Type": {"application/json"}, "Server": {"x"}}
	req.ServiceBody = []byte(`{"id":1,"name":"n","secret":"s","tags":["a","b"],"nested":{"k":"v"}}`)
	env := plugintest.NewEnv()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		k := env.NewKong(req)
		if err := plugintest.Call(k, p, hostabi.PhaseHeaderFilter); err != nil {
			b.Fatal(err)
		}
		if err := plugintest.Call(k, p, hostabi.PhaseBodyFilter); err != nil {
			b.Fatal(err)
		}
	}
}
