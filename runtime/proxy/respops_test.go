package proxy_test

import (
	"context"
	"net"
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/store"
	"github.com/valyala/fasthttp"
)

// TestResponseHeaderOps: response headers a plugin sets before any
// response exists (rate-limiting, in access) reach every kind of answer
// exactly once, through a real listener on keep-alive connections: the
// upstream's (replacing every value the upstream sent under that name),
// an exit of a later plugin (request-termination), the plugin's own exit
// (429 once the limit is spent), and none on a route without the plugin.
func TestResponseHeaderOps(t *testing.T) {
	upstream := func(ctx *fasthttp.RequestCtx) {
		// Two values under a name rate-limiting sets, in another case.
		ctx.Response.Header.Add("x-ratelimit-limit-minute", "999")
		ctx.Response.Header.Add("X-RateLimit-Limit-Minute", "998")
		ctx.Response.Header.Set("X-Up", "yes")
		ctx.SetBodyString("up")
	}
	srv, _ := startProxy(t, upstream, func(st *store.Store) {
		ctx := context.Background()
		for _, r := range []struct {
			name    string
			limit   int
			plugins []map[string]any
		}{
			{"limited", 3, nil},
			{"terminated", 100, []map[string]any{{"name": "request-termination", "config": map[string]any{"status_code": 418, "message": "tea"}}}},
		} {
			route, err := st.Insert(ctx, "routes", map[string]any{"name": r.name, "paths": []any{"/" + r.name}, "service": map[string]any{"name": "s"}})
			if err != nil {
				t.Fatal(err)
			}
			plugins := append([]map[string]any{{"name": "rate-limiting", "config": map[string]any{"minute": r.limit, "policy": "local"}}}, r.plugins...)
			for _, p := range plugins {
				p["route"] = map[string]any{"id": route["id"]}
				if _, err := st.Insert(ctx, "plugins", p); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	front := &fasthttp.Server{Handler: srv.ServeFastHTTP}
	done := make(chan struct{})
	go func() { defer close(done); front.Serve(ln) }()
	t.Cleanup(func() { front.Shutdown(); <-done })

	client := &http.Client{} // keep-alive: one connection serves the table
	get := func(path string) *http.Response {
		t.Helper()
		resp, err := client.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	tests := []struct {
		path       string
		status     int
		limit      []string // X-RateLimit-Limit-Minute values
		remaining  string
		rateLimit  string // RateLimit-Limit
		upstreamed bool
	}{
		{"/limited", 200, []string{"3"}, "2", "3", true},
		{"/limited", 200, []string{"3"}, "1", "3", true},
		{"/limited", 200, []string{"3"}, "0", "3", true},
		{"/limited", 429, []string{"3"}, "0", "3", false},
		{"/terminated", 418, []string{"100"}, "99", "100", false},
		{"/terminated", 418, []string{"100"}, "98", "100", false},
		{"/other", 200, []string{"999", "998"}, "", "", true},
	}
	for i, tc := range tests {
		resp := get(tc.path)
		if resp.StatusCode != tc.status {
			t.Fatalf("#%d %s: status %d, want %d", i, tc.path, resp.StatusCode, tc.status)
		}
		if got := resp.Header.Values("X-RateLimit-Limit-Minute"); !equalStrings(got, tc.limit) {
			t.Errorf("#%d %s: X-RateLimit-Limit-Minute %q, want %q", i, tc.path, got, tc.limit)
		}
		if got := resp.Header.Values("X-RateLimit-Remaining-Minute"); tc.remaining != "" && !equalStrings(got, []string{tc.remaining}) {
			t.Errorf("#%d %s: X-RateLimit-Remaining-Minute %q, want [%s]", i, tc.path, got, tc.remaining)
		}
		if got := resp.Header.Values("RateLimit-Limit"); tc.rateLimit != "" && !equalStrings(got, []string{tc.rateLimit}) {
			t.Errorf("#%d %s: RateLimit-Limit %q, want [%s]", i, tc.path, got, tc.rateLimit)
		}
		if tc.rateLimit == "" && resp.Header.Get("RateLimit-Limit") != "" {
			t.Errorf("#%d %s: RateLimit-Limit on a route without rate-limiting", i, tc.path)
		}
		if got := resp.Header.Get("X-Up") == "yes"; got != tc.upstreamed {
			t.Errorf("#%d %s: upstream's header present %v, want %v", i, tc.path, got, tc.upstreamed)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
