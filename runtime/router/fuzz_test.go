package router

import (
	"strings"
	"testing"
)

// fuzzRoutes is the fixed route set FuzzMatch runs against: every kind of
// matcher, overlapping on purpose.
func fuzzRoutes() []map[string]any {
	return []map[string]any{
		route("root", "paths", list("/")),
		route("api", "paths", list("/api"), "strip_path", false),
		route("api-v1", "paths", list("/api/v1/"), "service", map[string]any{"id": "s"}),
		route("persons", "paths", list("/persons/*")),
		route("re-users", "paths", list(`~/users/(?<id>\d+)`, `~/u/(\w+)$`), "regex_priority", int64(2)),
		route("re-any", "paths", list(`~/(a|b)+/`)),
		route("host", "hosts", list("example.com")),
		route("host-path", "hosts", list("example.com", "*.example.org"), "paths", list("/api")),
		route("wild-suffix", "hosts", list("*.example.com"), "methods", list("GET", "POST")),
		route("wild-prefix", "hosts", list("example.*"), "paths", list("/x")),
		route("host-port", "hosts", list("example.com:8080", "*.example.net:8443")),
		route("odd-wild", "hosts", list("*ample.com", "exa*")),
		route("headers", "headers", map[string]any{"x-version": list("v1", `~*^v\d{2}$`)}, "paths", list("/api")),
		route("headers-2", "headers", map[string]any{"x-version": list("v1"), "x_tenant": list("acme")}),
		route("sni", "snis", list("example.com", "*.example.org"), "protocols", list("https")),
		route("mixed", "paths", list("/m", "/mm/long", `~/m/(\d+)`), "methods", list("PUT")),
		route("empty-hosts", "hosts", []any{}, "paths", list("/api")),
		route("preserve", "hosts", list("pres.example.com"), "preserve_host", true, "paths", list("/p/")),
	}
}

func fuzzRouter(t testing.TB) *Router {
	r, err := Compile(fuzzRoutes(), map[string]map[string]any{"s": {"id": "s", "protocol": "http", "path": "/svc/"}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// linearMatch is the reference: try every matcher in priority order.
func (r *Router) linearMatch(req *Request, path string) (int, int, int) {
	s := search{r: r, req: req, path: path, port: -1, https: req.Scheme == "https"}
	if req.Host != "" {
		s.hasHost = true
		s.host, s.port = splitHostPort(req.Host)
	}
	if s.port < 0 && req.Port > 0 {
		s.port = req.Port
	}
	if !r.validUTF8(req, &s) {
		return -1, 0, 0
	}
	for i := range r.ms {
		m := &r.ms[i]
		if !s.common(m) {
			continue
		}
		switch m.pathKind {
		case pathNone:
			return i, 0, 0
		case pathPrefix:
			for _, p := range m.prefixes {
				if strings.HasPrefix(path, p) {
					return i, len(p), 0
				}
			}
		case pathRegex:
			for j, re := range m.regexes {
				if re.MatchString(path) {
					return i, 0, j
				}
			}
		}
	}
	return -1, 0, 0
}

func FuzzMatch(f *testing.F) {
	f.Add("example.com", "/api/v1/x", "GET", "v1", false)
	f.Add("a.example.org:8443", "/users/12/x", "POST", "v42", true)
	f.Add("example.net", "/persons/*", "PUT", "", false)
	f.Add("x.example.net:8443", "/m/7", "PUT", "V1", true)
	f.Add("", "/a/../%2e%2e/api//v1/%41", "GET", "", false)
	f.Add("pres.example.com", "/p/x?q=1", "DELETE", "acme", false)
	r := fuzzRouter(f)
	f.Fuzz(func(t *testing.T, host, path, method, hdr string, https bool) {
		headers := map[string][]string{"x-version": {hdr}, "x-tenant": {hdr}}
		req := &Request{Method: method, Host: host, Path: path, Scheme: "http", Port: 8080,
			Header: func(name string) []string { return headers[name] }}
		if https {
			req.Scheme, req.SNI, req.Port = "https", host, 8443
		}
		var m1, m2 Match
		ok1 := r.Match(req, &m1)
		ok2 := r.Match(req, &m2)
		if ok1 != ok2 || ok1 && (m1.Route != m2.Route || m1.UpstreamPath != m2.UpstreamPath ||
			m1.MatchedPath != m2.MatchedPath || m1.Path != m2.Path) {
			t.Fatalf("Match not deterministic: %v %+v / %v %+v", ok1, m1, ok2, m2)
		}
		p := path
		if i := strings.IndexByte(p, '?'); i > 0 {
			p = p[:i]
		}
		p = NormalizePath(p)
		want, plen, _ := r.linearMatch(req, p)
		if want < 0 {
			if ok1 {
				t.Fatalf("index matched %s, reference matched nothing (path %q)", m1.Route.Name, p)
			}
			return
		}
		if !ok1 {
			t.Fatalf("index matched nothing, reference matched %s (path %q)", r.ms[want].route.Name, p)
		}
		if m1.Route != r.ms[want].route {
			t.Fatalf("index matched %s, reference %s (path %q)", m1.Route.Name, r.ms[want].route.Name, p)
		}
		if r.ms[want].pathKind == pathPrefix && m1.MatchedPath != p[:plen] {
			t.Fatalf("matched path %q, reference %q", m1.MatchedPath, p[:plen])
		}
		if m1.Path != p {
			t.Fatalf("Path %q, want %q", m1.Path, p)
		}
	})
}
