package edgeplugins_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// zeros is an endless reader of 'x' bytes (never held in memory).
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func body(n int64) io.Reader { return io.LimitReader(zeros{}, n) }

func TestRequestSizeLimiting(t *testing.T) {
	e := newEnv(t, nil)
	const mb = 1 << 20
	tooLarge := `{"message":"Request size limit exceeded"`
	cases := []struct {
		name    string
		config  map[string]any
		size    int64 // body size
		chunked bool
		headers map[string]string
		status  int
		prefix  string // body prefix ("" for the upstream's)
		// upstreamGot is the body size the upstream read, -1 unchecked.
		upstreamGot int64
	}{
		{"default 128MB, small body", nil, 1000, false, nil, 200, "", 1000},
		{"bytes under", map[string]any{"allowed_payload_size": 10, "size_unit": "bytes"}, 10, false, nil, 200, "", 10},
		{"bytes over", map[string]any{"allowed_payload_size": 10, "size_unit": "bytes"}, 11, false, nil, 413, tooLarge, -1},
		{"kilobytes over", map[string]any{"allowed_payload_size": 1, "size_unit": "kilobytes"}, 1025, false, nil, 413, tooLarge, -1},
		{"kilobytes at limit", map[string]any{"allowed_payload_size": 1, "size_unit": "kilobytes"}, 1024, false, nil, 200, "", 1024},
		{"megabytes over, streamed length", map[string]any{"allowed_payload_size": 2}, 2*mb + 1, false, nil, 413, tooLarge, -1},
		{"megabytes under, streamed length", map[string]any{"allowed_payload_size": 4}, 3 * mb, false, nil, 200, "", 3 * mb},
		{"expect 100-continue over", map[string]any{"allowed_payload_size": 10, "size_unit": "bytes"}, 20, false, map[string]string{"Expect": "100-continue"}, 417, tooLarge, -1},
		{"chunked small under", map[string]any{"allowed_payload_size": 100, "size_unit": "bytes"}, 100, true, nil, 200, "", 100},
		{"chunked small over", map[string]any{"allowed_payload_size": 100, "size_unit": "bytes"}, 101, true, nil, 413, tooLarge, -1},
		{"chunked streamed under", map[string]any{"allowed_payload_size": 8}, 6 * mb, true, nil, 200, "", 6 * mb},
		{"require_content_length with length", map[string]any{"require_content_length": true}, 5, false, nil, 200, "", 5},
		{"require_content_length chunked passes", map[string]any{"require_content_length": true, "allowed_payload_size": 1}, 50, true, nil, 200, "", 50},
		{"require_content_length missing", map[string]any{"require_content_length": true}, 0, false, nil, 411, `{"message":"A valid Content-Length header is required"`, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := e.route("request-size-limiting", c.config)
			r := &request{method: "POST", path: path, headers: c.headers}
			if c.size > 0 || !strings.Contains(c.name, "missing") {
				r.body, r.length = body(c.size), c.size
				if c.chunked {
					r.length = -1
				}
			} else {
				r.method = "GET"
			}
			res := e.send(r)
			if res.StatusCode != c.status {
				t.Fatalf("status %d %.200s, want %d", res.StatusCode, res.body, c.status)
			}
			if c.prefix != "" && !strings.HasPrefix(res.body, c.prefix) {
				t.Errorf("body %q, want %s...", res.body, c.prefix)
			}
			if c.status == 200 && res.Header.Get("X-Upstream") != "yes" {
				t.Errorf("not proxied")
			}
			if c.upstreamGot >= 0 && e.lastBody.Load() != c.upstreamGot {
				t.Errorf("upstream read %d bytes, want %d", e.lastBody.Load(), c.upstreamGot)
			}
		})
	}
}

// TestRequestSizeLimitingHostile sends raw requests: absurd and malformed
// Content-Length values and broken chunking get 4xx answers, never a 5xx
// and never a hang.
func TestRequestSizeLimitingHostile(t *testing.T) {
	e := newEnv(t, nil)
	path := e.route("request-size-limiting", map[string]any{"allowed_payload_size": 1, "size_unit": "kilobytes"})
	addr := strings.TrimPrefix(e.proxy, "http://")
	cases := []struct {
		name string
		raw  string
		want func(int) bool
	}{
		{"huge content-length", "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", func(s int) bool { return s >= 400 && s < 500 }},
		// the server reads the first 8KB before routing; the rest is never sent
		{"large content-length, partial body", "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n" + strings.Repeat("b", 16<<10), func(s int) bool { return s == 413 }},
		{"negative content-length", "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", func(s int) bool { return s >= 400 && s < 500 }},
		{"bad chunk size", "POST " + path + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", func(s int) bool { return s >= 400 && s < 500 }},
		{"chunked over limit", "POST " + path + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", 2000, strings.Repeat("a", 2000)), func(s int) bool { return s == 413 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := conn.Write([]byte(c.raw)); err != nil {
				t.Fatal(err)
			}
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no response: %v", err)
			}
			res.Body.Close()
			if !c.want(res.StatusCode) {
				t.Errorf("status %d", res.StatusCode)
			}
		})
	}
}

// TestRequestSizeLimitingStreamedChunked: a chunked body far over the limit
// streams to the upstream until the limit is counted, then the client gets
// 413 and its connection closes; the upstream never got the whole body.
func TestRequestSizeLimitingStreamedChunked(t *testing.T) {
	e := newEnv(t, nil)
	path := e.route("request-size-limiting", map[string]any{"allowed_payload_size": 2})
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(e.proxy, "http://"), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	before := e.hits.Load()
	const total = 32 << 20
	go func() {
		w := bufio.NewWriter(conn)
		fmt.Fprintf(w, "POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", path)
		chunk := strings.Repeat("c", 64<<10)
		for sent := 0; sent < total; sent += len(chunk) {
			if _, err := fmt.Fprintf(w, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
				return // the proxy closed the connection
			}
		}
		fmt.Fprint(w, "0\r\n\r\n")
		_ = w.Flush()
	}()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 413 || !strings.Contains(string(raw), "Request size limit exceeded") {
		t.Fatalf("got %d %s, want 413", res.StatusCode, raw)
	}
	if !res.Close {
		t.Errorf("connection not closed after a cut-short body")
	}
	// The upstream sees the request (headers and the first megabytes)
	// before the count passes the limit; its handler may start a moment
	// after the client's 413.
	for deadline := time.Now().Add(3 * time.Second); e.hits.Load() == before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the body was not streamed to the upstream before the limit")
		}
	}
	if got := e.lastBody.Load(); got >= total {
		t.Errorf("upstream read the whole %d bytes", got)
	}
}
