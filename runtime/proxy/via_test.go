package proxy_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/runtime/config"
	"github.com/gatehouse/gatehouse/runtime/internal/httpguard"
	"github.com/valyala/fasthttp"
)

// TestVia: Kong ≥ 3.8's Via (kong/runloop/handler.lua), through a real
// listener over keep-alive connections. The upstream request carries one
// Via: the client's first Via, if any, then the client's HTTP version (a
// Lua number: "1.1", or "1" for HTTP/1.0) and the server token, whatever
// `headers` says. The response's Via, when `headers` enables it and the
// request was proxied, is the upstream's Via lines joined, then "1.1" and
// the server token, in one line; with Via disabled the upstream's Via
// reaches the client unchanged.
func TestVia(t *testing.T) {
	// The upstream answers with the Via lines of X-Up-Via ("|"-separated)
	// and echoes the Via lines it received ("|"-joined) as its body.
	upstream := func(ctx *fasthttp.RequestCtx) {
		if v := ctx.Request.Header.Peek("X-Up-Via"); len(v) > 0 {
			for _, line := range strings.Split(string(v), "|") {
				ctx.Response.Header.Add("Via", line)
			}
		}
		var got []string
		for _, v := range ctx.Request.Header.PeekAll("Via") {
			got = append(got, string(v))
		}
		ctx.SetBodyString(strings.Join(got, "|"))
	}
	tests := []struct {
		name      string
		headers   []string // the node's `headers`; nil: Kong's default
		proto     string
		clientVia []string
		upVia     string
		wantUp    string   // the Via lines the upstream saw, "|"-joined
		wantResp  []string // the response's Via lines
	}{
		{"none", nil, "HTTP/1.1", nil, "", "1.1 gatehouse/bench", []string{"1.1 gatehouse/bench"}},
		{"client's", nil, "HTTP/1.1", []string{"1.1 dev"}, "", "1.1 dev, 1.1 gatehouse/bench", []string{"1.1 gatehouse/bench"}},
		{"client's first of two", nil, "HTTP/1.1", []string{"1.1 a", "1.0 b"}, "", "1.1 a, 1.1 gatehouse/bench", []string{"1.1 gatehouse/bench"}},
		{"HTTP/1.0 client", nil, "HTTP/1.0", []string{"1.0 old"}, "", "1.0 old, 1 gatehouse/bench", []string{"1.1 gatehouse/bench"}},
		{"upstream's", nil, "HTTP/1.1", []string{"1.1 dev"}, "2 nginx, HTTP/1.1 http_mock", "1.1 dev, 1.1 gatehouse/bench",
			[]string{"2 nginx, HTTP/1.1 http_mock, 1.1 gatehouse/bench"}},
		{"upstream's two lines", nil, "HTTP/1.1", nil, "1.0 a|1.1 b", "1.1 gatehouse/bench", []string{"1.0 a, 1.1 b, 1.1 gatehouse/bench"}},
		{"headers off", []string{"off"}, "HTTP/1.1", []string{"1.1 dev"}, "1.0 a|1.1 b", "1.1 dev, 1.1 gatehouse/bench", []string{"1.0 a", "1.1 b"}},
		{"headers off, upstream without", []string{"off"}, "HTTP/1.1", nil, "", "1.1 gatehouse/bench", nil},
		{"Via alone", []string{"Via"}, "HTTP/1.1", nil, "2 up", "1.1 gatehouse/bench", []string{"2 up, 1.1 gatehouse/bench"}},
	}
	servers := map[string]net.Addr{}
	addr := func(headers []string) net.Addr {
		key := strings.Join(headers, ",")
		if a, ok := servers[key]; ok {
			return a
		}
		cfg := config.Defaults()
		if headers != nil {
			cfg.Headers = headers
		}
		srv, _ := startProxyWith(t, cfg, upstream, nil)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		front := &fasthttp.Server{Handler: srv.ServeFastHTTP, StreamRequestBody: true, DisablePreParseMultipartForm: true}
		done := make(chan struct{})
		go func() { defer close(done); front.Serve(httpguard.NewListener(ln, httpguard.Limits{})) }()
		t.Cleanup(func() { front.Shutdown(); <-done })
		servers[key] = ln.Addr()
		return ln.Addr()
	}
	conns := map[net.Addr]*bufio.ReadWriter{}
	parent := t // connections outlive the case that opened them
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := addr(tc.headers)
			// Twice on one keep-alive connection (HTTP/1.1): the second
			// request finds the state and buffers of the first.
			for round := 0; round < 2; round++ {
				rw := conns[a]
				if rw == nil || tc.proto == "HTTP/1.0" {
					c, err := net.Dial("tcp", a.String())
					if err != nil {
						t.Fatal(err)
					}
					parent.Cleanup(func() { c.Close() })
					c.SetDeadline(time.Now().Add(30 * time.Second))
					rw = bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c))
					if tc.proto != "HTTP/1.0" {
						conns[a] = rw
					}
				}
				var head strings.Builder
				head.WriteString("GET /via " + tc.proto + "\r\nHost: example.com\r\n")
				for _, v := range tc.clientVia {
					head.WriteString("Via: " + v + "\r\n")
				}
				if tc.upVia != "" {
					head.WriteString("X-Up-Via: " + tc.upVia + "\r\n")
				}
				head.WriteString("\r\n")
				rw.WriteString(head.String())
				if err := rw.Flush(); err != nil {
					t.Fatal(err)
				}
				req, _ := http.NewRequest("GET", "/via", nil)
				resp, err := http.ReadResponse(rw.Reader, req)
				if err != nil {
					t.Fatal(err)
				}
				var body strings.Builder
				if _, err := bufio.NewReader(resp.Body).WriteTo(&body); err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, body.String())
				}
				if body.String() != tc.wantUp {
					t.Errorf("round %d: upstream saw Via %q, want %q", round, body.String(), tc.wantUp)
				}
				if got := resp.Header.Values("Via"); strings.Join(got, "|") != strings.Join(tc.wantResp, "|") {
					t.Errorf("round %d: response Via %q, want %q", round, got, tc.wantResp)
				}
			}
		})
	}
}
