package router

import (
	"fmt"
	"testing"
)

// benchRoute returns route i of a realistic mix: host+prefix routes,
// path-only routes, wildcard hosts, regex paths with captures, header
// routes, SNI/port routes, prefix-wildcard hosts, multi-path (split)
// routes and multi-host routes.
func benchRoute(i int) map[string]any {
	r := map[string]any{
		"id":         fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i),
		"name":       fmt.Sprintf("r%d", i),
		"protocols":  list("http", "https"),
		"strip_path": i%3 != 0,
		"created_at": int64(1700000000 + i),
		"service":    map[string]any{"id": fmt.Sprintf("s%d", i%100)},
	}
	switch k := i % 20; {
	case k <= 8:
		r["hosts"] = list(fmt.Sprintf("svc%d.example.com", i))
		r["paths"] = list(fmt.Sprintf("/api/v1/res%d", i))
		if k%2 == 0 {
			r["methods"] = list("GET", "POST")
		}
	case k <= 11:
		r["paths"] = list(fmt.Sprintf("/p%d/v%d", i, i%5))
	case k <= 13:
		r["hosts"] = list(fmt.Sprintf("*.tenant%d.example.net", i))
		r["paths"] = list(fmt.Sprintf("/app/%d", i))
	case k == 14:
		r["hosts"] = list(fmt.Sprintf("users%d.example.org", i))
		r["paths"] = list(fmt.Sprintf(`~/users/(?<id>\d+)/orders/%d$`, i))
		r["regex_priority"] = int64(i % 3)
	case k == 15:
		r["paths"] = list(fmt.Sprintf("/hdr%d", i))
		r["headers"] = map[string]any{"x-tenant": list(fmt.Sprintf("t%d", i))}
	case k == 16:
		r["protocols"] = list("https")
		r["hosts"] = list(fmt.Sprintf("secure%d.example.com:8443", i))
		r["snis"] = list(fmt.Sprintf("secure%d.example.com", i))
		r["paths"] = list("/secure")
	case k == 17:
		r["hosts"] = list(fmt.Sprintf("api%d.example.*", i))
		r["paths"] = list("/v2")
	case k == 18:
		r["methods"] = list("GET", "POST")
		r["paths"] = list(fmt.Sprintf("/m%d", i), fmt.Sprintf("/m%d/longer", i), fmt.Sprintf(`~/m%d/re/\d+`, i))
	default:
		r["hosts"] = list(fmt.Sprintf("h%d.example.com", i), fmt.Sprintf("alt%d.example.com", i))
		r["paths"] = list("/", fmt.Sprintf("/x%d", i))
		r["preserve_host"] = true
	}
	return r
}

func benchServices() map[string]map[string]any {
	s := map[string]map[string]any{}
	for j := 0; j < 100; j++ {
		svc := map[string]any{"id": fmt.Sprintf("s%d", j), "protocol": "http", "host": fmt.Sprintf("up%d", j), "port": int64(80)}
		if j%2 == 0 {
			svc["path"] = fmt.Sprintf("/base%d", j)
		}
		s[fmt.Sprintf("s%d", j)] = svc
	}
	return s
}

func benchRoutes(n int) []map[string]any {
	routes := make([]map[string]any, n)
	for i := range routes {
		routes[i] = benchRoute(i)
	}
	return routes
}

func benchRouter(n int) *Router {
	r, err := Compile(benchRoutes(n), benchServices())
	if err != nil {
		panic(err)
	}
	return r
}

type headerList map[string][]string

func (h headerList) get(name string) []string { return h[name] }

// benchRequest returns a request aimed at route i.
func benchRequest(i int) *Request {
	q := &Request{Method: "GET", Scheme: "http", Port: 8000}
	switch k := i % 20; {
	case k <= 8:
		q.Host, q.Path = fmt.Sprintf("svc%d.example.com", i), fmt.Sprintf("/api/v1/res%d/items/%d", i, i)
	case k <= 11:
		q.Host, q.Path = "gateway.example.com", fmt.Sprintf("/p%d/v%d/x", i, i%5)
	case k <= 13:
		q.Host, q.Path = fmt.Sprintf("eu.tenant%d.example.net", i), fmt.Sprintf("/app/%d/x", i)
	case k == 14:
		q.Host, q.Path = fmt.Sprintf("users%d.example.org", i), fmt.Sprintf("/users/42/orders/%d", i)
	case k == 15:
		q.Host, q.Path = "gateway.example.com", fmt.Sprintf("/hdr%d", i)
		q.Header = headerList{"x-tenant": {fmt.Sprintf("t%d", i)}}.get
	case k == 16:
		q.Scheme, q.Port = "https", 8443
		q.Host, q.SNI, q.Path = fmt.Sprintf("secure%d.example.com", i), fmt.Sprintf("secure%d.example.com", i), "/secure/x"
	case k == 17:
		q.Host, q.Path = fmt.Sprintf("api%d.example.io", i), "/v2/things"
	case k == 18:
		q.Host, q.Path = "gateway.example.com", fmt.Sprintf("/m%d/longer/x", i)
	default:
		q.Host, q.Path = fmt.Sprintf("alt%d.example.com:8000", i), fmt.Sprintf("/x%d/y", i)
	}
	return q
}

// benchRequests returns n requests over a router of size routes: 90% aimed
// at a route, 10% matching nothing.
func benchRequests(r *Router, n int) []*Request {
	size := len(r.routes)
	out := make([]*Request, n)
	for j := range out {
		if j%10 == 9 {
			out[j] = &Request{Method: "GET", Scheme: "http", Host: fmt.Sprintf("miss%d.example.com", j), Path: fmt.Sprintf("/nothing/%d", j)}
			continue
		}
		out[j] = benchRequest((j * 7919) % size)
	}
	return out
}

func benchMatch(b *testing.B, n int) {
	r := benchRouter(n)
	reqs := benchRequests(r, 1024)
	var m Match
	hits := 0
	for _, q := range reqs {
		if r.Match(q, &m) {
			hits++
		}
	}
	if hits < len(reqs)*8/10 {
		b.Fatalf("only %d of %d requests matched", hits, len(reqs))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Match(reqs[i&1023], &m)
	}
}

// BenchmarkMatch100 matches a realistic request mix against 100 routes.
func BenchmarkMatch100(b *testing.B) { benchMatch(b, 100) }

// BenchmarkMatch10000 matches a realistic request mix against 10,000 routes.
// Sub-benchmarks isolate one kind of request each.
func BenchmarkMatch10000(b *testing.B) {
	b.Run("mixed", func(b *testing.B) { benchMatch(b, 10000) })
	r := benchRouter(10000)
	for _, c := range []struct {
		name string
		i    int
	}{{"host-prefix", 4007}, {"path-only", 4010}, {"wildcard-host", 4012}, {"regex", 4014}, {"header", 4015}, {"multi-path", 4018}, {"miss", -1}} {
		q := &Request{Method: "GET", Host: "miss.example.com", Path: "/nothing/at/all"}
		if c.i >= 0 {
			q = benchRequest(c.i)
		}
		b.Run(c.name, func(b *testing.B) {
			var m Match
			if ok := r.Match(q, &m); ok != (c.i >= 0) || (ok && m.Route.Name != fmt.Sprintf("r%d", c.i)) {
				b.Fatalf("request for route %d: matched=%v %v", c.i, ok, m.Route)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r.Match(q, &m)
			}
		})
	}
}

// BenchmarkCompile10000 compiles 10,000 routes of the same mix.
func BenchmarkCompile10000(b *testing.B) {
	routes := benchRoutes(10000)
	services := benchServices()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Compile(routes, services); err != nil {
			b.Fatal(err)
		}
	}
}
