package httpguard

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeConn is a net.Conn that reads from a string in pieces of at most
// step bytes.
type fakeConn struct {
	net.Conn
	data []byte
	step int
}

func (f *fakeConn) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, io.EOF
	}
	n := len(p)
	if f.step > 0 && n > f.step {
		n = f.step
	}
	n = copy(p[:n], f.data)
	f.data = f.data[n:]
	return n, nil
}
func (f *fakeConn) SetReadDeadline(time.Time) error { return nil }
func (f *fakeConn) Close() error                    { return nil }

func guard(in string, step int, lim Limits) *Conn {
	l := NewListener(nil, lim)
	c := &Conn{Conn: &fakeConn{data: []byte(in), step: step}, l: l, lim: &l.limits}
	return c
}

// through returns what the server would read of in.
func through(t testing.TB, in string, step int, lim Limits) (string, *Conn) {
	c := guard(in, step, lim)
	out, err := io.ReadAll(c)
	if err != nil && t != nil {
		t.Logf("read error: %v", err)
	}
	return string(out), c
}

const syn = "GET / HTTP/1.1\r\nHost: gatehouse.invalid\r\nConnection: close\r\n\r\n"

func TestPassesValidRequests(t *testing.T) {
	for _, in := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /x?y=1 HTTP/1.1\r\nHost: a:8000\r\nAccept: */*\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-VT: a\x0bb\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\n\nPOST / HTTP/1.1\nHost: a\r\nContent-Length: 2\n\r\nokGET / HTTP/1.0\n\n",
	} {
		for _, step := range []int{0, 1, 7} {
			out, c := through(t, in, step, Limits{})
			if out != in {
				t.Errorf("step %d: %q became %q", step, in, out)
			}
			if c.rejectNum != 0 {
				t.Errorf("%q rejected", in)
			}
		}
	}
	// Empty lines before a request are dropped.
	out, _ := through(t, "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 1, Limits{})
	if out != "GET / HTTP/1.1\r\nHost: a\r\n\r\n" {
		t.Errorf("got %q", out)
	}
}

func TestRejects(t *testing.T) {
	okGET := "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
	long := strings.Repeat("a", 9000)
	for _, tc := range []struct {
		name, in string
		status   int
		prefix   string // requests handed on before the bad one
	}{
		{"bad chunk size then smuggled GET", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n", 400, ""},
		{"chunk without CRLF", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", 400, ""},
		{"chunk size LF only", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", 400, ""},
		{"duplicate CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, ""},
		{"CL list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\na", 400, ""},
		{"CL sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\na", 400, ""},
		{"CL and TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, ""},
		{"xchunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 501, ""},
		{"gzip, chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501, ""},
		{"quoted chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n", 501, ""},
		{"VT chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n", 501, ""},
		{"duplicate TE", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, ""},
		{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, ""},
		{"folded TE", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400, ""},
		{"space before colon", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400, ""},
		{"bad header name", "GET / HTTP/1.1\r\nHost: a\r\nX(y): 1\r\n\r\n", 400, ""},
		{"bare CR", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400, ""},
		{"bare LF in a chunk line", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n", 400, ""},
		{"LF then bare CR", "GET / HTTP/1.1\nHost: a\r\nX: \r\r\n\n", 400, ""},
		{"bad request line", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, ""},
		{"bad version", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 400, ""},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", 400, ""},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, ""},
		{"userinfo Host", "GET / HTTP/1.1\r\nHost: attacker:chosen@a\r\n\r\n", 400, ""},
		{"userinfo URI", "GET http://u:p@a/x HTTP/1.1\r\nHost: a\r\n\r\n", 400, ""},
		{"relative target", "GET x HTTP/1.1\r\nHost: a\r\n\r\n", 400, ""},
		{"long request line", "GET /" + long + " HTTP/1.1\r\nHost: a\r\n\r\n", 414, ""},
		{"long header line", "GET / HTTP/1.1\r\nHost: a\r\nX: " + long + "\r\n\r\n", 400, ""},
		{"large head", "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: "+strings.Repeat("b", 7000)+"\r\n", 5) + "\r\n", 400, ""},
		{"after a good one", okGET + "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, okGET},
		{"endless empty lines", strings.Repeat("\r\n", 5000) + okGET, 400, ""},
		{"forbidden trailer", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n", 400, ""},
	} {
		for _, step := range []int{0, 1, 5} {
			out, c := through(nil, tc.in, step, Limits{})
			if out != tc.prefix+syn {
				t.Errorf("%s (step %d): server read %q", tc.name, step, out)
				continue
			}
			want := uint64(strings.Count(tc.prefix, "HTTP/1.1\r\n") + 1)
			if st, _ := Rejection(c, want); st != tc.status {
				t.Errorf("%s (step %d): request %d status %d, want %d", tc.name, step, want, st, tc.status)
			}
		}
	}
}

// TestStreamedBody: a body over Prefetch is handed on as it is validated;
// bad framing in it ends the stream with an error and a 400 for the proxy.
func TestStreamedBody(t *testing.T) {
	lim := Limits{Prefetch: 16}
	head := "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	body := "10\r\n0123456789abcdef\r\n10\r\n0123456789abcdef\r\n"
	c := guard(head+body+"zz\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n", 3, lim)
	out, err := io.ReadAll(c)
	if err == nil || string(out) != head+body {
		t.Fatalf("read %q, %v", out, err)
	}
	if st, _ := BodyError(c); st != 400 {
		t.Fatalf("body error %d", st)
	}
	in := "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 40\r\n\r\n" + strings.Repeat("x", 40) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
	if out, _ := through(t, in, 3, lim); out != in {
		t.Fatalf("got %q", out)
	}
}

func BenchmarkGuard(b *testing.B) {
	req := []byte("GET /api/v1/items?limit=10 HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: bench/1.0\r\nAccept: application/json\r\nAuthorization: Bearer abcdefghijklmnopqrstuvwxyz0123456789\r\nX-Request-Id: 0123456789abcdef\r\nCookie: session=0123456789abcdef0123456789abcdef\r\n\r\n")
	const batch = 64
	in := bytes.Repeat(req, batch)
	f := &fakeConn{}
	l := NewListener(nil, Limits{})
	c := &Conn{Conn: f, l: l, lim: &l.limits}
	p := make([]byte, 4096)
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		f.data = in
		for {
			if _, err := c.Read(p); err != nil {
				break
			}
			if len(f.data) == 0 && c.r == c.rel && c.p == c.w {
				break
			}
		}
	}
}
