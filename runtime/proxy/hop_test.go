package proxy

import (
	"bufio"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestDropHopHeaders parses real request heads and checks that every
// hop-by-hop header, in any case and however fasthttp stores it, is gone
// while the end-to-end headers stay.
func TestDropHopHeaders(t *testing.T) {
	tests := []struct {
		name string
		head string
		gone []string
	}{
		{"none", "X-A: 1\r\n", nil},
		{"connection close", "Connection: close\r\nX-A: 1\r\n", []string{"Connection"}},
		{"connection keep-alive", "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-A: 1\r\n", []string{"Connection", "Keep-Alive"}},
		{"connection upgrade", "Connection: Upgrade\r\nUpgrade: websocket\r\nX-A: 1\r\n", []string{"Connection", "Upgrade"}},
		{"proxy headers", "proxy-connection: x\r\nPROXY-AUTHORIZATION: Basic Zm9v\r\nProxy-Authenticate: y\r\nX-A: 1\r\n",
			[]string{"Proxy-Connection", "Proxy-Authorization", "Proxy-Authenticate"}},
		{"te and trailer", "TE: trailers\r\nTrailer: X-Sum\r\nX-A: 1\r\n", []string{"TE", "Trailer"}},
		{"every one", "Connection: close\r\nKeep-Alive: 1\r\nProxy-Connection: 1\r\nProxy-Authenticate: 1\r\n" +
			"Proxy-Authorization: 1\r\nTE: 1\r\nTrailer: X-Sum\r\nUpgrade: h2c\r\nX-A: 1\r\n", hopHeaders},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req fasthttp.Request
			raw := "GET / HTTP/1.1\r\nHost: example.com\r\n" + tt.head + "\r\n"
			if err := req.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
				t.Fatal(err)
			}
			dropHopHeaders(&req.Header)
			out := req.Header.String()
			for _, h := range tt.gone {
				if strings.Contains(strings.ToLower(out), "\n"+strings.ToLower(h)+":") {
					t.Errorf("%s still sent:\n%s", h, out)
				}
			}
			if req.Header.ConnectionClose() {
				t.Errorf("Connection: close still set:\n%s", out)
			}
			if got := string(req.Header.Peek("X-A")); got != "1" {
				t.Errorf("X-A = %q, want it kept:\n%s", got, out)
			}
			if got := string(req.Header.Host()); got != "example.com" {
				t.Errorf("Host = %q:\n%s", got, out)
			}
		})
	}
}

// TestDropHopHeadersChunked: a chunked request's Transfer-Encoding is a
// hop-by-hop header too.
func TestDropHopHeadersChunked(t *testing.T) {
	var req fasthttp.Request
	raw := "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
	if err := req.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		t.Fatal(err)
	}
	dropHopHeaders(&req.Header)
	if v := req.Header.Peek("Transfer-Encoding"); len(v) > 0 {
		t.Fatalf("Transfer-Encoding kept: %q", v)
	}
}

// TestNoPluginPathAllocs: a steady-state request through the no-plugin
// path allocates nothing in the proxy's own code (fasthttp's response
// streaming, which the benchmark shows, is outside it): the helpers the
// path calls are measured here with testing.AllocsPerRun.
func TestNoPluginPathAllocs(t *testing.T) {
	var req fasthttp.Request
	raw := "GET /a/b?x=1 HTTP/1.1\r\nHost: example.com:8000\r\nConnection: keep-alive\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n"
	if err := req.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		t.Fatal(err)
	}
	var h fasthttp.RequestHeader
	st := &state{}
	n := testing.AllocsPerRun(200, func() {
		req.Header.CopyTo(&h)
		dropHopHeaders(&h)
		_ = hostOnly(bytesView(req.Host()))
		h.SetCanonical(hdrXFPort, st.millis(1234))
	})
	if n != 0 {
		t.Fatalf("%v allocations per run, want 0", n)
	}
}
