package scan

import (
	"fmt"
	"strings"
	"testing"
)

type param struct{ name, value string }

func collect(query map[string][]string, ct string, body string, max int) []param {
	var out []param
	Params(query, ct, []byte(body), max, func(n, v string) bool {
		out = append(out, param{n, v})
		return true
	})
	return out
}

func TestParams(t *testing.T) {
	multipart := "--XYZ\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nadmin' --\r\n" +
		"--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nfile content\r\n" +
		"--XYZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--XYZ--\r\n"
	cases := []struct {
		name  string
		query map[string][]string
		ct    string
		body  string
		want  []param
	}{
		{"query sorted", map[string][]string{"b": {"2", "3"}, "a": {"1"}}, "", "", []param{{"a", "1"}, {"b", "2"}, {"b", "3"}}},
		{"form", nil, "application/x-www-form-urlencoded; charset=utf-8", "q=%27+OR+1%3D1--&x=y", []param{{"q", "' OR 1=1--"}, {"x", "y"}}},
		{"multipart skips files", nil, "multipart/form-data; boundary=XYZ", multipart, []param{{"user", "admin' --"}, {"note", "hello"}}},
		{"json leaves", nil, "application/json", `{"user":{"name":"O'Brien","age":42,"tags":["a",{"k":"v"}]},"q":"x"}`,
			[]param{{"user.name", "O'Brien"}, {"user.tags", "a"}, {"user.tags.k", "v"}, {"q", "x"}}},
		{"json suffix type", nil, "application/vnd.api+json", `["x"]`, []param{{"", "x"}}},
		{"json malformed keeps the leaves before", nil, "application/json", `{"a":"1","b":`, []param{{"a", "1"}}},
		{"query then body", map[string][]string{"id": {"7"}}, "application/json", `{"id":"8"}`, []param{{"id", "7"}, {"id", "8"}}},
		{"unknown type", nil, "text/plain", "a=b", nil},
		{"bad type", nil, "a/b; ;;=", "a=b", nil},
	}
	for _, c := range cases {
		got := collect(c.query, c.ct, c.body, 0)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestParamsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("[")
	for i := 0; i < 5000; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"v%d"`, i)
	}
	b.WriteString("]")
	if n := len(collect(nil, "application/json", b.String(), 0)); n != DefaultMaxParams {
		t.Errorf("got %d params, want %d", n, DefaultMaxParams)
	}
	if n := len(collect(map[string][]string{"a": {"1", "2", "3"}}, "application/json", b.String(), 5)); n != 5 {
		t.Errorf("got %d params, want 5", n)
	}
	// fn returning false stops at once.
	calls := 0
	Params(map[string][]string{"a": {"1", "2"}}, "application/json", []byte(`["x"]`), 0, func(string, string) bool {
		calls++
		return false
	})
	if calls != 1 {
		t.Errorf("%d calls after fn returned false", calls)
	}
}

func TestGlob(t *testing.T) {
	cases := []struct {
		pattern, path string
		want          bool
	}{
		{"/api/*", "/api/users/1", true},
		{"/api/*", "/api/", true},
		{"/api/*", "/api", false},
		{"/api", "/api", true},
		{"/api", "/api/x", false},
		{"*", "", true},
		{"*", "/anything/at/all", true},
		{"/v*/users/*/orders", "/v2/users/42/orders", true},
		{"/v*/users/*/orders", "/v2/users/42/orders/1", false},
		{"*.json", "/a/b/c.json", true},
		{"*.json", "/a/b/c.xml", false},
		{"/a/**/b", "/a/x/y/b", true},
		{"/a*b*c", "/aXXbYYc", true},
		{"/a*b*c", "/aXXcYYb", false},
		{"/API/*", "/api/x", false},
		{"", "", true},
		{"", "/", false},
	}
	for _, c := range cases {
		if got := Glob(c.pattern, c.path); got != c.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", c.pattern, c.path, got, c.want)
		}
	}
	// Pathological patterns stay fast (no exponential backtracking).
	long := strings.Repeat("a", 10000)
	if Glob(strings.Repeat("*a", 50)+"b", long) {
		t.Error("matched")
	}
}

func TestMatchParam(t *testing.T) {
	cases := []struct {
		names []string
		name  string
		want  bool
	}{
		{nil, "anything", true},
		{[]string{"q"}, "q", true},
		{[]string{"q"}, "query", false},
		{[]string{"user"}, "user.name", true},
		{[]string{"user"}, "username", false},
		{[]string{"user.name"}, "user.name", true},
		{[]string{"user.name"}, "user", false},
		{[]string{"a", "b"}, "b", true},
	}
	for _, c := range cases {
		if got := MatchParam(c.names, c.name); got != c.want {
			t.Errorf("MatchParam(%v, %q) = %v", c.names, c.name, got)
		}
	}
}

func TestCheckSQLInjection(t *testing.T) {
	cases := []struct {
		name  string
		query map[string][]string
		ct    string
		body  string
		names []string
		want  string // the parameter named, "" = none
	}{
		{"query", map[string][]string{"id": {"1"}, "q": {"' OR 1=1--"}}, "", "", nil, "q"},
		{"query not selected", map[string][]string{"q": {"' OR 1=1--"}}, "", "", []string{"id"}, ""},
		{"benign", map[string][]string{"name": {"O'Brien"}, "plan": {"select a plan"}}, "", "", nil, ""},
		{"form", nil, "application/x-www-form-urlencoded", "user=admin%27--&pw=x", nil, "user"},
		{"json nested", nil, "application/json", `{"user":{"name":"x' UNION SELECT password FROM users--"}}`, []string{"user"}, "user.name"},
		{"json number is no string", nil, "application/json", `{"id":1}`, nil, ""},
	}
	for _, c := range cases {
		v := CheckSQLInjection(c.query, c.ct, []byte(c.body), c.names, 0)
		got := ""
		if v != nil {
			got = v.Limit
			if v.Filter != "sql_injection" || !strings.Contains(v.Message, got) {
				t.Errorf("%s: bad violation %+v", c.name, v)
			}
		}
		if got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestBodyKind(t *testing.T) {
	cases := map[string]string{
		"application/json":                  "json",
		"Application/JSON; charset=utf-8":   "json",
		"application/problem+json":          "json",
		"application/xml":                   "xml",
		"text/xml; charset=iso-8859-1":      "xml",
		"application/soap+xml":              "xml",
		"application/x-www-form-urlencoded": "form",
		"multipart/form-data; boundary=abc": "multipart",
		"text/plain":                        "",
		"":                                  "",
		"application/json; =bad":            "",
		"application/jsonp":                 "",
	}
	for in, want := range cases {
		if got := BodyKind(in); got != want {
			t.Errorf("BodyKind(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParamsDeepJSON(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 100000) + `"x"` + strings.Repeat("}", 100000)
	if got := collect(nil, "application/json", deep, 0); len(got) != 0 {
		t.Errorf("got %d params from beyond the nesting bound", len(got))
	}
	// At the path bound, names are cut, not grown.
	mid := strings.Repeat(`{"a":`, 40) + `"x"` + strings.Repeat("}", 40)
	got := collect(nil, "application/json", mid, 0)
	if len(got) != 1 || got[0].name != strings.TrimSuffix(strings.Repeat("a.", maxJSONPathDepth), ".") {
		t.Errorf("got %v", got)
	}
}
