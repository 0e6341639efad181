package router

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func route(name string, kv ...any) map[string]any {
	r := map[string]any{"id": fmt.Sprintf("00000000-0000-4000-8000-%012x", hashName(name)), "name": name}
	for i := 0; i+1 < len(kv); i += 2 {
		r[kv[i].(string)] = kv[i+1]
	}
	return r
}

func hashName(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h & 0xffffffffffff
}

func list(s ...string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func mustCompile(t testing.TB, routes ...map[string]any) *Router {
	t.Helper()
	r, err := Compile(routes, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSplitHostPort(t *testing.T) {
	for _, c := range []struct {
		in   string
		host string
		port int
	}{
		{"example.com", "example.com", -1},
		{"example.com:8080", "example.com", 8080},
		{"example.*:123", "example.*", 123},
		{"example.com:", "example.com:", -1},
		{"example.com:http", "example.com:http", -1},
		{"[::1]:80", "[::1]:80", -1},
		{"a:1:2", "a:1:2", -1},
	} {
		h, p := splitHostPort(c.in)
		if h != c.host || p != c.port {
			t.Errorf("splitHostPort(%q) = %q, %d; want %q, %d", c.in, h, p, c.host, c.port)
		}
	}
}

func TestParsePatterns(t *testing.T) {
	for in, want := range map[string]hostPat{
		"example.com":        {patExact, "example.com", -1},
		"*.example.com":      {patSuffix, ".example.com", -1},
		"example.*":          {patPrefix, "example.", -1},
		"*.example.com:8443": {patSuffix, ".example.com", 8443},
		"example.*:80":       {patPrefix, "example.", 80},
	} {
		if got := parseHostPat(in); got != want {
			t.Errorf("parseHostPat(%q) = %+v, want %+v", in, got, want)
		}
	}
	for in, want := range map[string]hostPat{
		"foo.test.":   {patExact, "foo.test", -1},
		"*.foo.test.": {patSuffix, ".foo.test", -1},
		"foo.*":       {patPrefix, "foo.", -1},
		".":           {patExact, ".", -1},
	} {
		if got := parseSNIPat(in); got != want {
			t.Errorf("parseSNIPat(%q) = %+v, want %+v", in, got, want)
		}
	}
}

func TestLiteralPrefix(t *testing.T) {
	for in, want := range map[string]string{
		`^/users/(\d+)`:     "/users/",
		`^/a`:               "/a",
		`^(?i)/abc`:         "",
		`^/v(?P<v>\d)/x`:    "/v",
		`^/(a|b)`:           "/",
		`^/a|^/b`:           "",
		`/a`:                "",
		`^/caf\x{e9}/x`:     "/caf\u00e9/x",
		`^/status/\p{Nd}+`:  "/status/",
		`^/a*`:              "/",
		`^/ab?`:             "/a",
		`^\/version\/any\/`: "/version/any/",
	} {
		if got := literalPrefix(in); got != want {
			t.Errorf("literalPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUUIDv5(t *testing.T) {
	// resty.jit-uuid's documented factory_v5 examples
	ns := mustParseUUID("e6ebd542-06ae-11e6-8e82-bba81706b27d")
	if got := uuidV5(ns, "hello"); got != "4850816f-1658-5890-8bfd-1ed14251f1f0" {
		t.Errorf("v5 hello = %s", got)
	}
	if got := uuidV5(ns, "foobar"); got != "c9be99fc-326b-5066-bdba-dcd31a6d01ab" {
		t.Errorf("v5 foobar = %s", got)
	}
}

func TestSplitMatchers(t *testing.T) {
	rt := route("mixed", "paths", list("/a", "~/re1", "/bb", "/cc", "~/re2", "/dddd"))
	r := mustCompile(t, rt)
	if r.Len() != 4 {
		t.Fatalf("matchers = %d, want 4", r.Len())
	}
	byID := map[string]*matcher{}
	for i := range r.ms {
		byID[r.ms[i].id] = &r.ms[i]
	}
	id := rt["id"].(string)
	// groups in order of first appearance: "/a", the regexes, "/bb" "/cc", "/dddd"
	for i, want := range []string{"[/a] 0", "[] 2", "[/bb /cc] 0", "[/dddd] 0"} {
		m := byID[uuidV5(splitNamespace, id+"#"+fmt.Sprint(i+1))]
		if m == nil {
			t.Fatalf("no matcher for group %d", i+1)
		}
		if got := fmt.Sprintf("%v %d", m.prefixes, len(m.regexes)); got != want {
			t.Errorf("group %d = %s, want %s", i+1, got, want)
		}
	}
	// a single group keeps the route's id
	r = mustCompile(t, route("one", "paths", list("/a", "/b")))
	if r.Len() != 1 || r.ms[0].id != route("one")["id"] {
		t.Errorf("unsplit route id %q", r.ms[0].id)
	}
}

func TestSplitGroupsByLength(t *testing.T) {
	r := mustCompile(t, route("g", "paths", list("/a", "~/re1", "/bb", "/cc", "~/re2", "/dddd")))
	var got []string
	for _, m := range r.ms {
		got = append(got, fmt.Sprintf("%d:%v:%d", m.pathKind, m.prefixes, len(m.regexes)))
	}
	want := []string{"2:[]:2", "1:[/dddd]:0", "1:[/bb /cc]:0", "1:[/a]:0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("matchers in priority order = %v, want %v", got, want)
	}
}

func TestPriorityOrder(t *testing.T) {
	// each route should be tried before the next one
	routes := []map[string]any{
		route("w3", "hosts", list("*.x.com"), "paths", list("/"), "methods", list("GET")),
		route("w2-plain-2hdr", "hosts", list("a.com"), "headers", map[string]any{"a": list("1"), "b": list("2")}),
		route("w2-plain-1hdr", "hosts", list("a.com"), "headers", map[string]any{"a": list("1")}),
		route("w2-plain-regex", "hosts", list("a.com"), "paths", list("~/r"), "regex_priority", int64(1)),
		route("w2-plain-regex-low", "hosts", list("a.com"), "paths", list("~/r"), "regex_priority", int64(-1)),
		route("w2-plain-long", "hosts", list("a.com"), "paths", list("/long")),
		route("w2-plain-short", "hosts", list("a.com"), "paths", list("/s")),
		route("w2-wild", "hosts", list("*.a.com"), "paths", list("/long/long")),
		route("w1-plain", "hosts", list("a.com")),
		route("w1-hdr", "headers", map[string]any{"h": list("v")}),
		route("w1-regex", "paths", list("~/x")),
		route("w1-prefix", "paths", list("/xxxxxx")),
	}
	r := mustCompile(t, routes...)
	var got []string
	for _, m := range r.ms {
		got = append(got, m.route.Name)
	}
	var want []string
	for _, rt := range routes {
		want = append(want, rt["name"].(string))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order\n got %v\nwant %v", got, want)
	}
}

func TestCompileErrors(t *testing.T) {
	routes := []map[string]any{
		route("ok", "paths", list("/ok")),
		route("bad-regex", "paths", list("~/(")),
		route("bad-type", "paths", "not-a-list"),
		route("bad-header-regex", "headers", map[string]any{"x": list("~*(")}),
		{"name": "no-id", "paths": list("/x")},
		route("nothing"),
		route("half", "paths", list("/good", "~/(bad")),
		route("ok", "paths", list("/dup")), // duplicate id
		route("stream", "protocols", list("tcp"), "destinations", []any{}),
		route("svc", "paths", list("/svc"), "service", map[string]any{"id": "missing"}),
	}
	r, err := Compile(routes, nil)
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *CompileError", err)
	}
	var names []string
	for _, e := range ce.Routes {
		names = append(names, e.RouteName)
	}
	want := []string{"bad-regex", "bad-type", "bad-header-regex", "no-id", "nothing", "half", "ok", "svc"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("skipped %q, want %q", names, want)
	}
	if !strings.Contains(err.Error(), "bad-regex") {
		t.Errorf("error text %q", err)
	}
	var m Match
	for path, want := range map[string]string{"/ok": "ok", "/good": "half", "/dup": "", "/svc": "", "/x": ""} {
		ok := r.Match(&Request{Method: "GET", Path: path}, &m)
		got := ""
		if ok {
			got = m.Route.Name
		}
		if got != want {
			t.Errorf("%s matched %q, want %q", path, got, want)
		}
	}
}

func TestCompileNilAndEmpty(t *testing.T) {
	r, err := Compile(nil, nil)
	if err != nil || r == nil {
		t.Fatal(r, err)
	}
	var m Match
	if r.Match(&Request{Path: "/"}, &m) || r.Match(nil, &m) {
		t.Error("empty router matched")
	}
}

func TestRouteFields(t *testing.T) {
	svc := map[string]any{"id": "s1", "protocol": "grpc", "host": "h", "port": int64(50051), "path": "/p"}
	r, err := Compile([]map[string]any{route("f", "paths", list("/f"), "service", map[string]any{"id": "s1"},
		"https_redirect_status_code", float64(308), "regex_priority", int64(3), "created_at", int64(1700000000),
		"request_buffering", false, "path_handling", "v1")}, map[string]map[string]any{"s1": svc})
	if err != nil {
		t.Fatal(err)
	}
	rt := r.Routes()[0]
	if !rt.StripPath || rt.PreserveHost || rt.HTTPSRedirectStatus != 308 || rt.RegexPriority != 3 ||
		rt.CreatedAt != 1700000000 || rt.RequestBuffering || !rt.ResponseBuffering || rt.PathHandling != "v1" ||
		rt.ServiceID != "s1" || rt.Service["host"] != "h" || !reflect.DeepEqual(rt.Protocols, []string{"http", "https"}) {
		t.Errorf("route = %+v", rt)
	}
	var m Match
	if !r.Match(&Request{Method: "GET", Path: "/f/x"}, &m) || m.UpstreamPath != "/p/x" {
		t.Errorf("upstream = %q (grpc services keep their path; v1 ignored)", m.UpstreamPath)
	}
}

func TestCaptures(t *testing.T) {
	r := mustCompile(t, route("c", "paths", list(`~/u/(?<id>\d+)(/x)?(?<opt>/y)?`)))
	var m Match
	if !r.Match(&Request{Method: "GET", Path: "/u/42/z"}, &m) {
		t.Fatal("no match")
	}
	c := &m.Captures
	if c.Empty() {
		t.Error("Empty")
	}
	if c.Len() != 4 {
		t.Errorf("Len = %d", c.Len())
	}
	if v, ok := c.Group(0); !ok || v != "/u/42" {
		t.Errorf("Group(0) = %q %v", v, ok)
	}
	if v, ok := c.Named("id"); !ok || v != "42" {
		t.Errorf("Named(id) = %q %v", v, ok)
	}
	if _, ok := c.Named("opt"); ok {
		t.Error("opt participated")
	}
	if _, ok := c.Group(9); ok {
		t.Error("Group(9)")
	}
	if c.Name(1) != "id" || c.Name(2) != "" {
		t.Errorf("names %q %q", c.Name(1), c.Name(2))
	}
	want := map[string]string{"0": "/u/42", "1": "42", "id": "42"}
	if got := c.Map(); !reflect.DeepEqual(got, want) {
		t.Errorf("Map = %v", got)
	}
	if m.MatchedPath != "/u/42" || m.UpstreamPath != "/z" {
		t.Errorf("matched %q upstream %q", m.MatchedPath, m.UpstreamPath)
	}
	var empty Captures
	if !empty.Empty() || empty.Map() != nil || empty.Len() != 0 {
		t.Error("zero Captures")
	}
}

func TestUpstreamPathHelper(t *testing.T) {
	for _, c := range []struct {
		strip, v1         bool
		svc, matched, req string
		want              string
	}{
		{true, false, "/s", "/tv0", "/tv0req", "/s/req"},
		{true, true, "/s", "/tv1", "/tv1req", "/sreq"},
		{false, false, "/s", "/fv0", "/fv0req", "/s/fv0req"},
		{false, true, "/s", "/fv1", "/fv1req", "/sfv1req"},
		{true, false, "", "", "/x", "/x"},
		{true, false, "/s/", "/r", "/r", "/s"},
		{true, false, "/s/", "/r", "/r/", "/s/"},
		{true, false, "/s", "/r", "/r/", "/s/"},
	} {
		if got := UpstreamPath(c.strip, c.v1, c.svc, c.matched, c.req); got != c.want {
			t.Errorf("UpstreamPath(%v, %v, %q, %q, %q) = %q, want %q", c.strip, c.v1, c.svc, c.matched, c.req, got, c.want)
		}
	}
}

func TestHeaderNamesAndValues(t *testing.T) {
	r := mustCompile(t,
		route("eq", "headers", map[string]any{"X-Tenant": list("Acme")}),
		route("re", "headers", map[string]any{"x_flavor": list(`~*^v\d+$`)}),
	)
	var m Match
	for _, c := range []struct {
		h    http.Header
		want string
	}{
		{http.Header{"X-Tenant": {"ACME"}}, "eq"},
		{http.Header{"X-Tenant": {"acme"}}, "eq"},
		{http.Header{"X-Tenant": {"acme2"}}, ""},
		{http.Header{"X-Flavor": {"V12"}}, "re"},
		{http.Header{"X-Flavor": {"v"}}, ""},
		{http.Header{"X-Tenant": {"\u00c4cme"}}, ""},
		{http.Header{"X-Tenant": {"x\xff"}}, ""}, // invalid UTF-8: nothing matches
	} {
		got := ""
		if r.Match(&Request{Method: "GET", Path: "/", Header: c.h.Values}, &m) {
			got = m.Route.Name
		}
		if got != c.want {
			t.Errorf("%v matched %q, want %q", c.h, got, c.want)
		}
	}
}

func TestMatchStringsStayValid(t *testing.T) {
	r := mustCompile(t, route("a", "paths", list("/a")), route("b", "paths", list("/b"),
		"service", nil))
	var m Match
	if !r.Match(&Request{Method: "GET", Path: "/a/%78/./y"}, &m) {
		t.Fatal("no match")
	}
	p, up := m.Path, m.UpstreamPath
	for i := 0; i < 10000; i++ {
		r.Match(&Request{Method: "GET", Path: fmt.Sprintf("/b/%%7%d/./%d", i%10, i)}, &m)
	}
	if p != "/a/x/y" || up != "/x/y" {
		t.Errorf("earlier strings changed: %q %q", p, up)
	}
}

func TestMatchConcurrent(t *testing.T) {
	r := benchRouter(1000)
	reqs := benchRequests(r, 200)
	want := make([]string, len(reqs))
	var m Match
	for i, q := range reqs {
		if r.Match(q, &m) {
			want[i] = m.Route.ID
		}
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var m Match
			for n := 0; n < 5; n++ {
				for i, q := range reqs {
					got := ""
					if r.Match(q, &m) {
						got = m.Route.ID
					}
					if got != want[i] {
						t.Errorf("request %d: %q, want %q", i, got, want[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestMatchAllocs(t *testing.T) {
	r := benchRouter(10000)
	var m Match
	for _, c := range []struct {
		name string
		req  *Request
		max  float64
	}{
		{"prefix", benchRequest(7), 0},
		{"wildcard", benchRequest(12), 0},
		{"header", benchRequest(15), 0},
		{"sni-port", benchRequest(16), 0},
		{"multi-path", benchRequest(18), 0},
		{"miss", &Request{Method: "GET", Host: "nowhere.test", Path: "/nothing/here"}, 0},
		{"normalized", &Request{Method: "GET", Host: "svc7.example.com", Path: "/api/v1/res7/./a/../b%41"}, 0},
		{"regex", benchRequest(14), 1},
	} {
		if !r.Match(c.req, &m) && c.name != "miss" {
			t.Fatalf("%s: no match", c.name)
		}
		if n := testing.AllocsPerRun(200, func() { r.Match(c.req, &m) }); n > c.max {
			t.Errorf("%s: %v allocs per Match, want <= %v", c.name, n, c.max)
		}
	}
}
