package proxy

import (
	"bufio"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/valyala/fasthttp"
)

// TestPeekHeader: PeekHeader reports what HeaderValues does (its first
// value and their number) for real request heads, including the headers
// fasthttp keeps apart (Host, Content-Type, Cookie, Content-Length), and
// allocates nothing.
func TestPeekHeader(t *testing.T) {
	tests := []struct {
		name, head, header string
		want               []string
	}{
		{"absent", "X-A: 1\r\n", "apikey", nil},
		{"one", "Apikey: k1\r\n", "apikey", []string{"k1"}},
		{"any case", "aPiKeY: k1\r\n", "APIKEY", []string{"k1"}},
		{"underscore kept", "api_key: k1\r\nApi-Key: k2\r\n", "api_key", []string{"k1"}},
		{"empty value", "Apikey: \r\n", "apikey", []string{""}},
		{"two", "Apikey: k1\r\nX-A: 1\r\napikey: k2\r\n", "apikey", []string{"k1", "k2"}},
		{"host", "X-A: 1\r\n", "host", []string{"example.com"}},
		{"content-type", "Content-Type: text/plain\r\nContent-Length: 0\r\n", "content-type", []string{"text/plain"}},
		{"no content-length", "X-A: 1\r\n", "content-length", nil},
		{"content-length", "Content-Length: 0\r\n", "content-length", []string{"0"}},
		{"no cookie", "X-A: 1\r\n", "cookie", nil},
		{"cookies", "Cookie: a=1\r\nCookie: b=2\r\n", "cookie", []string{"a=1; b=2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parse := func() *state {
				fctx := &fasthttp.RequestCtx{}
				raw := "GET / HTTP/1.1\r\nHost: example.com\r\n" + tc.head + "\r\n"
				if err := fctx.Request.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
					t.Fatal(err)
				}
				return &state{fctx: fctx, phase: hostabi.PhaseAccess}
			}
			// Each on a request of its own: HeaderValues may parse
			// cookies, which PeekHeader must do alike.
			vs := kRequest{parse()}.HeaderValues(tc.header)
			if strings.Join(vs, "|") != strings.Join(tc.want, "|") || len(vs) != len(tc.want) {
				t.Fatalf("HeaderValues = %q, want %q", vs, tc.want)
			}
			r := kRequest{parse()}
			v, n := r.PeekHeader(tc.header)
			if n != len(tc.want) || (n > 0 && string(v) != tc.want[0]) || (n == 0 && v != nil) {
				t.Fatalf("PeekHeader = %q, %d; want the first of %q", v, n, tc.want)
			}
			if tc.header == "cookie" || raceEnabled {
				return // parsing cookies the first time allocates; so does -race
			}
			if allocs := testing.AllocsPerRun(100, func() { r.PeekHeader(tc.header) }); allocs != 0 {
				t.Errorf("PeekHeader: %v allocations, want 0", allocs)
			}
		})
	}
}

// TestPeekHeaderPhases: PeekHeader is checked as HeaderValues is (every
// phase allows it; the check runs).
func TestPeekHeaderPhases(t *testing.T) {
	fctx := &fasthttp.RequestCtx{}
	fctx.Request.Header.Set("Apikey", "k")
	for _, p := range []hostabi.Phase{hostabi.PhaseRewrite, hostabi.PhaseAccess, hostabi.PhaseHeaderFilter, hostabi.PhaseLog} {
		if v, n := (kRequest{&state{fctx: fctx, phase: p}}).PeekHeader("apikey"); n != 1 || string(v) != "k" {
			t.Errorf("phase %v: %q, %d", p, v, n)
		}
	}
}
