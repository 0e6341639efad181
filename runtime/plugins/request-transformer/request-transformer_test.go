package requesttransformer_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	requesttransformer "github.com/gatehouse/gatehouse/runtime/plugins/request-transformer"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

func newPlugin(t testing.TB, cfg map[string]any) any {
	t.Helper()
	return plugintest.New(t, requesttransformer.Schema(), requesttransformer.New, cfg)
}

func run(t *testing.T, cfg map[string]any, req *plugintest.Request) *plugintest.Result {
	t.Helper()
	res := plugintest.Run(t, newPlugin(t, cfg), hostabi.PhaseAccess, req)
	if res.Err != nil {
		t.Fatalf("error: %v", res.Err)
	}
	if res.Exited {
		t.Fatalf("exited %d", res.Status)
	}
	return res
}

func rules(kind, field string, entries ...string) map[string]any {
	return map[string]any{kind: map[string]any{field: entries}}
}

func merge(ms ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range ms {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				if cur, ok := out[k].(map[string]any); ok {
					for sk, sv := range sub {
						cur[sk] = sv
					}
					continue
				}
				cp := map[string]any{}
				for sk, sv := range sub {
					cp[sk] = sv
				}
				v = cp
			}
			out[k] = v
		}
	}
	return out
}

func TestHeaders(t *testing.T) {
	base := func() *plugintest.Request {
		return plugintest.NewRequest("GET", "/").WithHeader("X-Existing", "old").WithHeader("Host", "client.test")
	}
	cases := []struct {
		name   string
		cfg    map[string]any
		req    *plugintest.Request
		want   map[string][]string // nil slice: header absent
		exactO []plugintest.HeaderOp
	}{
		{name: "add absent", cfg: rules("add", "headers", "X-New:v1"), req: base(),
			want:   map[string][]string{"x-new": {"v1"}, "x-existing": {"old"}},
			exactO: []plugintest.HeaderOp{{Op: "set", Name: "X-New", Value: "v1"}}},
		{name: "add present is skipped", cfg: rules("add", "headers", "x-EXISTING:new"), req: base(),
			want: map[string][]string{"x-existing": {"old"}}, exactO: []plugintest.HeaderOp{}},
		{name: "first add wins", cfg: rules("add", "headers", "x-a:1", "X-A:2"), req: base(),
			want: map[string][]string{"x-a": {"1"}}},
		{name: "add host is ignored", cfg: rules("add", "headers", "Host:other"), req: plugintest.NewRequest("GET", "/"),
			want: map[string][]string{"host": nil}, exactO: []plugintest.HeaderOp{}},
		{name: "add with empty value is a no-op", cfg: rules("add", "headers", "x-empty:"), req: base(),
			want: map[string][]string{"x-empty": nil}},
		{name: "value keeps later colons", cfg: rules("add", "headers", "x-url::http://a:8080/b"), req: base(),
			want: map[string][]string{"x-url": {"http://a:8080/b"}}},
		{name: "template passed literally", cfg: rules("add", "headers", "x-t:$(headers.host)"), req: base(),
			want: map[string][]string{"x-t": {"$(headers.host)"}}},
		{name: "replace present", cfg: rules("replace", "headers", "X-Existing:new"), req: base(),
			want: map[string][]string{"x-existing": {"new"}}},
		{name: "replace absent is skipped", cfg: rules("replace", "headers", "x-none:new"), req: base(),
			want: map[string][]string{"x-none": nil}},
		{name: "replace host", cfg: rules("replace", "headers", "host:upstream.test"), req: base(),
			want: map[string][]string{"host": {"upstream.test"}}},
		{name: "remove is case-insensitive", cfg: rules("remove", "headers", "x-EXISTING"), req: base(),
			want:   map[string][]string{"x-existing": nil},
			exactO: []plugintest.HeaderOp{{Op: "clear", Name: "x-existing"}}},
		{name: "remove absent does nothing", cfg: rules("remove", "headers", "x-none"), req: base(),
			exactO: []plugintest.HeaderOp{}},
		{name: "remove host is ignored", cfg: rules("remove", "headers", "host"), req: base(),
			want: map[string][]string{"host": {"client.test"}}, exactO: []plugintest.HeaderOp{}},
		{name: "rename", cfg: rules("rename", "headers", "x-existing:x-renamed"), req: base(),
			want: map[string][]string{"x-existing": nil, "x-renamed": {"old"}}},
		{name: "rename moves every value", cfg: rules("rename", "headers", "x-multi:x-many"),
			req:  plugintest.NewRequest("GET", "/").WithHeader("X-Multi", "a").WithHeader("X-Multi", "b"),
			want: map[string][]string{"x-multi": nil, "x-many": {"a", "b"}}},
		{name: "rename overwrites the target", cfg: rules("rename", "headers", "x-existing:x-other"),
			req:  base().WithHeader("X-Other", "gone"),
			want: map[string][]string{"x-other": {"old"}, "x-existing": nil}},
		{name: "rename absent does nothing", cfg: rules("rename", "headers", "x-none:x-some"), req: base(),
			want: map[string][]string{"x-some": nil}, exactO: []plugintest.HeaderOp{}},
		{name: "rename changing case", cfg: rules("rename", "headers", "x-existing:X-EXISTING"), req: base(),
			want: map[string][]string{"x-existing": {"old"}}},
		{name: "append to present", cfg: rules("append", "headers", "x-existing:new"), req: base(),
			want: map[string][]string{"x-existing": {"old", "new"}}},
		{name: "append to absent", cfg: rules("append", "headers", "x-new:1", "x-new:2"), req: base(),
			want: map[string][]string{"x-new": {"1", "2"}}},
		{name: "append host sets it", cfg: rules("append", "headers", "Host:appended.test"), req: base(),
			want: map[string][]string{"host": {"appended.test"}}},
		{name: "remove then add", cfg: merge(rules("remove", "headers", "x-existing"), rules("add", "headers", "x-existing:fresh")), req: base(),
			want: map[string][]string{"x-existing": {"fresh"}}},
		{name: "rename then replace the new name", cfg: merge(rules("rename", "headers", "x-existing:x-b"), rules("replace", "headers", "x-b:replaced")), req: base(),
			want: map[string][]string{"x-existing": nil, "x-b": {"replaced"}}},
		{name: "replace then add sees the replacement", cfg: merge(rules("replace", "headers", "x-existing:r"), rules("add", "headers", "x-existing:a")), req: base(),
			want: map[string][]string{"x-existing": {"r"}}},
		{name: "remove before rename", cfg: merge(rules("remove", "headers", "x-existing"), rules("rename", "headers", "x-existing:x-r")), req: base(),
			want: map[string][]string{"x-existing": nil, "x-r": nil}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, tc.cfg, tc.req)
			for n, vs := range tc.want {
				got, ok := res.Header[n]
				if vs == nil {
					if ok {
						t.Errorf("%s = %q, want absent", n, got)
					}
					continue
				}
				if !reflect.DeepEqual(got, vs) {
					t.Errorf("%s = %q, want %q", n, got, vs)
				}
			}
			if tc.exactO != nil && !reflect.DeepEqual(append([]plugintest.HeaderOp{}, res.HeaderOps...), tc.exactO) {
				t.Errorf("ops = %+v, want %+v", res.HeaderOps, tc.exactO)
			}
		})
	}
}

func TestQuerystring(t *testing.T) {
	cases := []struct {
		name, query string
		cfg         map[string]any
		want        string
	}{
		{"add", "a=1", rules("add", "querystring", "b:2"), "a=1&b=2"},
		{"add present is skipped", "b=1", rules("add", "querystring", "b:2"), "b=1"},
		{"add escapes", "", rules("add", "querystring", "q:hello world&more"), "q=hello%20world%26more"},
		{"replace", "a=1&a=2&b=3", rules("replace", "querystring", "a:x"), "a=x&b=3"},
		{"replace absent", "b=3", rules("replace", "querystring", "a:x"), "b=3"},
		{"remove", "a=1&b=2&a=3", rules("remove", "querystring", "a"), "b=2"},
		{"rename", "a=1&c=3", rules("rename", "querystring", "a:b"), "b=1&c=3"},
		{"rename absent keeps the target", "b=2", rules("rename", "querystring", "a:b"), "b=2"},
		{"append to string", "a=1", rules("append", "querystring", "a:2"), "a=1&a=2"},
		{"append to absent", "", rules("append", "querystring", "a:2"), "a=2"},
		{"append to flag replaces it", "a", rules("append", "querystring", "a:2"), "a=2"},
		{"flags and empty values survive", "f&e=&z=1", rules("add", "querystring", "n:1"), "e=&f&n=1&z=1"},
		{"decoded then re-encoded sorted", "b=x+y&a=%41", rules("add", "querystring", "c:1"), "a=A&b=x%20y&c=1"},
		{"order: remove, rename, replace, add, append", "a=1&b=2",
			merge(rules("remove", "querystring", "a"), rules("rename", "querystring", "b:a"), rules("replace", "querystring", "a:r"),
				rules("add", "querystring", "b:added"), rules("append", "querystring", "a:app")),
			"a=r&a=app&b=added"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := plugintest.NewRequest("GET", "/")
			req.RawQuery = tc.query
			res := run(t, tc.cfg, req)
			if !res.QuerySet || res.RawQuery != tc.want {
				t.Errorf("query = %q (set %v), want %q", res.RawQuery, res.QuerySet, tc.want)
			}
		})
	}
	res := run(t, rules("add", "headers", "x:1"), plugintest.NewRequest("GET", "/?b=2&a=1"))
	if res.QuerySet || res.RawQuery != "b=2&a=1" {
		t.Errorf("query touched without query rules: %q", res.RawQuery)
	}
}

func TestJSONBody(t *testing.T) {
	cases := []struct {
		name, body string
		cfg        map[string]any
		want       string // "" : body untouched
	}{
		{"add", `{"a":1}`, rules("add", "body", "b:2"), `{"a":1,"b":"2"}`},
		{"add to empty body", ``, rules("add", "body", "b:2"), `{"b":"2"}`},
		{"add over false", `{"b":false}`, rules("add", "body", "b:2"), `{"b":"2"}`},
		{"add keeps null", `{"b":null}`, rules("add", "body", "b:2"), ``},
		{"replace", `{"a":{"x":1},"b":2}`, rules("replace", "body", "a:new"), `{"a":"new","b":2}`},
		{"replace skips false", `{"a":false}`, rules("replace", "body", "a:new"), ``},
		{"replace on empty body", ``, rules("replace", "body", "a:new"), ``},
		{"remove", `{"a":1,"b":2}`, rules("remove", "body", "a"), `{"b":2}`},
		{"remove absent still re-encodes", `{"b":2.50}`, rules("remove", "body", "a"), `{"b":2.50}`},
		{"rename", `{"a":[1,2]}`, rules("rename", "body", "a:b"), `{"b":[1,2]}`},
		{"append to string", `{"a":"x"}`, rules("append", "body", "a:y"), `{"a":["x","y"]}`},
		{"append to array", `{"a":["x"]}`, rules("append", "body", "a:y"), `{"a":["x","y"]}`},
		{"append to number replaces it", `{"a":5}`, rules("append", "body", "a:y"), `{"a":["y"]}`},
		{"html is not escaped", `{}`, rules("add", "body", "h:<b>&"), `{"h":"<b>&"}`},
		{"invalid JSON untouched", `{"a":`, rules("add", "body", "b:2"), ``},
		{"array body untouched", `[1,2]`, rules("add", "body", "b:2"), ``},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := plugintest.NewRequest("POST", "/").WithBody("application/json; charset=utf-8", []byte(tc.body))
			res := run(t, tc.cfg, req)
			if tc.want == "" {
				if res.BodySet {
					t.Fatalf("body changed to %s", res.Body)
				}
				return
			}
			if !res.BodySet {
				t.Fatalf("body not set")
			}
			if !jsonEqual(t, res.Body, tc.want) {
				t.Errorf("body = %s, want %s", res.Body, tc.want)
			}
			if res.UpstreamHeader("Content-Length") != itoa(len(res.Body)) {
				t.Errorf("content-length %q for %d bytes", res.UpstreamHeader("Content-Length"), len(res.Body))
			}
		})
	}
}

func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(a, b) && (!strings.Contains(want, ".50") || strings.Contains(string(got), "2.50"))
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestFormBody(t *testing.T) {
	cases := []struct {
		name, body string
		cfg        map[string]any
		want       string
	}{
		{"add", "a=1", rules("add", "body", "b:x y"), "a=1&b=x%20y"},
		{"add to empty body", "", rules("add", "body", "b:2"), "b=2"},
		{"add present", "b=1", rules("add", "body", "b:2"), ""},
		{"replace", "a=1&a=2", rules("replace", "body", "a:r"), "a=r"},
		{"remove", "a=1&b=2", rules("remove", "body", "a"), "b=2"},
		{"rename", "a=1", rules("rename", "body", "a:b"), "b=1"},
		{"append", "a=1", rules("append", "body", "a:2", "c:3"), "a=1&a=2&c=3"},
		{"flags kept", "f&a=1", rules("add", "body", "b:2"), "a=1&b=2&f"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := plugintest.NewRequest("POST", "/").WithBody("application/x-www-form-urlencoded", []byte(tc.body))
			res := run(t, tc.cfg, req)
			if tc.want == "" {
				if res.BodySet {
					t.Errorf("body changed to %q", res.Body)
				}
				return
			}
			if string(res.Body) != tc.want {
				t.Errorf("body = %q, want %q", res.Body, tc.want)
			}
		})
	}
}

func TestBodyContentTypes(t *testing.T) {
	cfg := rules("add", "body", "b:2")
	for _, ct := range []string{"text/plain", "multipart/form-data; boundary=x", ""} {
		res := run(t, cfg, plugintest.NewRequest("POST", "/").WithBody(ct, []byte("a=1")))
		if res.BodySet {
			t.Errorf("%q: body changed to %q", ct, res.Body)
		}
	}
	// The body step sees the Content-Type the header rules left.
	res := run(t, merge(rules("replace", "headers", "content-type:application/json"), cfg),
		plugintest.NewRequest("POST", "/").WithBody("text/plain", []byte(`{"a":1}`)))
	if !jsonEqual(t, res.Body, `{"a":1,"b":"2"}`) {
		t.Errorf("body = %s", res.Body)
	}
}

func TestMethodAndURI(t *testing.T) {
	res := run(t, map[string]any{"http_method": "POST"}, plugintest.NewRequest("GET", "/"))
	if !res.MethodSet || res.Method != "POST" {
		t.Errorf("method %q", res.Method)
	}
	// To GET, a form body is copied into the query string.
	req := plugintest.NewRequest("POST", "/?a=1&c=q").WithBody("application/x-www-form-urlencoded", []byte("b=2&c=body"))
	res = run(t, map[string]any{"http_method": "GET"}, req)
	if res.Method != "GET" || res.RawQuery != "a=1&b=2&c=q&c=body" || string(res.Body) != "b=2&c=body" {
		t.Errorf("method %q query %q body %q", res.Method, res.RawQuery, res.Body)
	}
	// ... and query rules then apply to the merged query.
	res = run(t, merge(map[string]any{"http_method": "GET"}, rules("remove", "querystring", "a")), req)
	if res.RawQuery != "b=2&c=q&c=body" {
		t.Errorf("query %q", res.RawQuery)
	}
	res = run(t, map[string]any{"replace": map[string]any{"uri": "/new/path"}}, plugintest.NewRequest("GET", "/old?x=1"))
	if !res.PathSet || res.Path != "/new/path" || res.RawQuery != "x=1" {
		t.Errorf("path %q query %q", res.Path, res.RawQuery)
	}
	for _, cfg := range []map[string]any{{"http_method": "FETCH"}, {"replace": map[string]any{"uri": "relative"}}} {
		r := plugintest.Run(t, newPlugin(t, cfg), hostabi.PhaseAccess, plugintest.NewRequest("GET", "/"))
		if r.Err == nil {
			t.Errorf("%v: no error", cfg)
		}
	}
}

func TestSchema(t *testing.T) {
	cfg := plugintest.Config(t, requesttransformer.Schema(), nil)
	empty := map[string]any{"body": []any{}, "headers": []any{}, "querystring": []any{}}
	withURI := map[string]any{"body": []any{}, "headers": []any{}, "querystring": []any{}, "uri": nil}
	want := map[string]any{"http_method": nil, "remove": empty, "rename": empty, "replace": withURI, "add": empty, "append": empty}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults = %v\nwant %v", cfg, want)
	}
	bad := []struct {
		cfg  map[string]any
		want string
	}{
		{map[string]any{"http_method": "get"}, "http_method: invalid value: get"},
		{rules("add", "querystring", "novalue"), "add.querystring.1: key 'novalue' has no value"},
		{rules("add", "body", "k:"), "add.body.1: key 'k' has no value"},
		{rules("add", "headers", "nocolon"), "add.headers.1: invalid value: nocolon"},
		{rules("add", "headers", "bad name:v"), "add.headers.1: 'bad name' is not a valid header"},
		{rules("add", "headers", "x:a\r\nb"), "add.headers.1: 'a\r\nb' is not a valid header"},
		{rules("rename", "headers", "x-a:bad name"), "rename.headers.1: 'bad name' is not a valid header"},
		{rules("remove", "headers", "bad name"), "remove.headers.1: 'bad name' is not a valid header"},
		{rules("remove", "headers", ":x"), "remove.headers.1: 'nil' is not a valid header"},
	}
	for _, b := range bad {
		_, errs := plugintest.ValidateConfig(requesttransformer.Schema(), b.cfg)
		if got := errs.Flatten(); !slices.Contains(got, b.want) {
			t.Errorf("%v: errors %q, want %q", b.cfg, got, b.want)
		}
	}
	for _, good := range []map[string]any{
		rules("add", "headers", "x-empty:"),
		rules("remove", "headers", "x-a:ignored"),
		rules("rename", "body", "a:b"),
		{"http_method": "PATCH", "replace": map[string]any{"uri": "/x"}},
	} {
		if _, errs := plugintest.ValidateConfig(requesttransformer.Schema(), good); !errs.Empty() {
			t.Errorf("%v rejected: %v", good, errs.Flatten())
		}
	}
	if !slices.Contains(plugin.Bundled(), "request-transformer") {
		t.Error("not registered")
	}
	if _, err := requesttransformer.New(map[string]any{"add": map[string]any{"headers": "x:1"}}); err == nil {
		t.Error("bad config accepted")
	}
}

// BenchmarkAccess is the access phase adding one header.
func BenchmarkAccess(b *testing.B) {
	inst := newPlugin(b, rules("add", "headers", "X-Added:yes"))
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/orders").WithHeader("accept", "*/*").WithHeader("user-agent", "bench"))
	b.ReportAllocs()
	for b.Loop() {
		k.Reset()
		if err := plugintest.Call(k, inst, hostabi.PhaseAccess); err != nil {
			b.Fatal(err)
		}
	}
	if got := k.Result().UpstreamHeader("X-Added"); got != "yes" {
		b.Fatalf("header = %q", got)
	}
}
