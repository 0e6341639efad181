package proxy_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is an upstream that counts every byte it receives and records
// every request it parses, to prove what did (not) get through.
type recorder struct {
	addr  string
	bytes atomic.Int64
	mu    sync.Mutex
	reqs  []string
}

type countingListener struct {
	net.Listener
	rec *recorder
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.rec}, nil
}

type countingConn struct {
	net.Conn
	rec *recorder
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.rec.bytes.Add(int64(n))
	return n, err
}

func startRecorder(t *testing.T) *recorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{addr: ln.Addr().String()}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return // not a complete request
		}
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, r.Method+" "+r.URL.RequestURI())
		rec.mu.Unlock()
		w.Header().Set("X-Body-Length", strconv.Itoa(len(b)))
		w.Header().Set("X-Auth", r.Header.Get("Authorization"))
		w.Write([]byte("ok"))
	})}
	go srv.Serve(countingListener{ln, rec})
	t.Cleanup(func() { srv.Close() })
	return rec
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reqs...)
}

// rawExchange writes raw bytes to the proxy and reads until the proxy
// closes the connection (or the deadline passes, which fails the test).
// A reset before the whole answer is read is an error.
func rawExchange(t *testing.T, addr string, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	go func() { c.Write([]byte(raw)) }()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Errorf("reading the answer: %v (read %q)", err, got)
	}
	return string(got)
}

// parseAnswers splits raw answers into responses.
func parseAnswers(t *testing.T, raw string) []*http.Response {
	t.Helper()
	br := bufio.NewReader(strings.NewReader(raw))
	var out []*http.Response
	for {
		if _, err := br.Peek(1); errors.Is(err, io.EOF) {
			return out
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Errorf("parsing answers: %v in %q", err, raw)
			return out
		}
		body, _ := io.ReadAll(res.Body)
		res.Body = io.NopCloser(bytes.NewReader(body))
		out = append(out, res)
	}
}

const secretHeaders = "Authorization: Basic c2VjcmV0OnNlY3JldA==\r\nCookie: session=topsecretcookie\r\n"

// TestHostileFraming sends smuggling, desync, userinfo, ambiguous-Host and
// head-size attacks over a raw socket. Each must get exactly one answer,
// nginx's status with Kong's JSON body (no echo of the request), then a
// closed connection; the upstream must see nothing at all.
func TestHostileFraming(t *testing.T) {
	rec := startRecorder(t)
	nd := startNode(t, nil)
	nd.configure("POST", "/services", "name=rec", "url=http://"+rec.addr)
	nd.configure("POST", "/services/rec/routes", "paths=/")
	addr := nd.n.Addr("proxy")
	long := strings.Repeat("a", 9000)
	bigHead := strings.Repeat("X-Big: "+strings.Repeat("b", 7000)+"\r\n", 5)
	post := "POST /x HTTP/1.1\r\nHost: example.com\r\n" + secretHeaders
	cases := []struct {
		name, raw string
		status    int
		message   string
	}{
		{"bad chunk size then smuggled GET", post + "Transfer-Encoding: chunked\r\n\r\nzz\r\nGET /smuggled HTTP/1.1\r\nHost: example.com\r\n\r\n", 400, "Bad request"},
		{"chunk data overrun then smuggled GET", post + "Transfer-Encoding: chunked\r\n\r\n2\r\nabcdGET /smuggled HTTP/1.1\r\nHost: example.com\r\n\r\n", 400, "Bad request"},
		{"duplicate Content-Length", post + "Content-Length: 0\r\nContent-Length: 44\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: example.com\r\n\r\n", 400, "Bad request"},
		{"Content-Length with Transfer-Encoding", post + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: example.com\r\n\r\n", 400, "Bad request"},
		{"xchunked", post + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 501, "Not implemented"},
		{"gzip, chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501, "Not implemented"},
		{"quoted chunked", post + "Transfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n", 501, "Not implemented"},
		{"VT chunked", post + "Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n", 501, "Not implemented"},
		{"folded Transfer-Encoding", post + "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400, "Bad request"},
		{"duplicate Transfer-Encoding", post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "Bad request"},
		{"Transfer-Encoding in HTTP/1.0", "POST /x HTTP/1.0\r\n" + secretHeaders + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "Bad request"},
		{"space before colon", post + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400, "Bad request"},
		{"invalid header name", "GET /x HTTP/1.1\r\nHost: example.com\r\n" + secretHeaders + "X{1}: y\r\n\r\n", 400, "Bad request"},
		{"bare CR", "GET /x HTTP/1.1\r\nHost: example.com\r\n" + secretHeaders + "X-A: a\rb\r\n\r\n", 400, "Bad request"},
		{"invalid request line", "GET /x HTTP/1.1 extra\r\nHost: example.com\r\n" + secretHeaders + "\r\n", 400, "Bad request"},
		{"NUL in header", "GET /x HTTP/1.1\r\nHost: example.com\r\n" + secretHeaders + "X-A: a\x00b\r\n\r\n", 400, "Bad request"},
		{"userinfo in Host", "GET /x HTTP/1.1\r\nHost: attacker:chosen@example.com\r\n\r\n", 400, "Bad request"},
		{"userinfo in absolute URI", "GET http://attacker:chosen@example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n", 400, "Bad request"},
		{"two Hosts", "GET /x HTTP/1.1\r\nHost: example.com\r\nHost: other.com\r\n" + secretHeaders + "\r\n", 400, "Bad request"},
		{"HTTP/1.1 without Host", "GET /x HTTP/1.1\r\n" + secretHeaders + "\r\n", 400, "Bad request"},
		{"request line over 8 KiB", "GET /" + long + " HTTP/1.1\r\nHost: example.com\r\n" + secretHeaders + "\r\n", 414, "URI too long"},
		{"header line over 8 KiB", "GET /x HTTP/1.1\r\nHost: example.com\r\n" + secretHeaders + "X-Long: " + long + "\r\n\r\n", 400, "Request header or cookie too large"},
		{"head over 32 KiB", "GET /x HTTP/1.1\r\nHost: example.com\r\n" + secretHeaders + bigHead + "\r\n", 400, "Request header or cookie too large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := rec.bytes.Load()
			raw := rawExchange(t, addr, tc.raw)
			statusLine, _, _ := strings.Cut(raw, "\r\n")
			if want := "HTTP/1.1 " + strconv.Itoa(tc.status) + " " + http.StatusText(tc.status); statusLine != want {
				t.Fatalf("status line %q, want %q (answer %q)", statusLine, want, raw)
			}
			answers := parseAnswers(t, raw)
			if len(answers) != 1 {
				t.Fatalf("%d answers: %q", len(answers), raw)
			}
			res := answers[0]
			body, _ := io.ReadAll(res.Body)
			var kong struct {
				Message   string `json:"message"`
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(body, &kong); err != nil || kong.Message != tc.message || kong.RequestID == "" {
				t.Errorf("body %q, want Kong's {\"message\":%q,...}", body, tc.message)
			}
			if !strings.HasPrefix(res.Header.Get("Server"), "gatehouse/") {
				t.Errorf("Server header %q", res.Header.Get("Server"))
			}
			if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") || !res.Close {
				t.Errorf("Content-Type %q, Connection close %v", res.Header.Get("Content-Type"), res.Close)
			}
			for _, secret := range []string{"c2VjcmV0", "topsecret", "attacker", "smuggled"} {
				if strings.Contains(raw, secret) {
					t.Errorf("the answer echoes the request (%s): %q", secret, raw)
				}
			}
			time.Sleep(20 * time.Millisecond)
			if n := rec.bytes.Load() - before; n != 0 {
				t.Errorf("the upstream received %d bytes: %v", n, rec.requests())
			}
		})
	}
	if reqs := rec.requests(); len(reqs) != 0 {
		t.Errorf("the upstream saw %v", reqs)
	}

	// A framing error deep in a streamed (over 1 MiB) chunked body: the
	// head and the good chunks are on their way upstream already, so the
	// upstream gets an incomplete request (never a complete one, never the
	// smuggled one) and the client a 400.
	t.Run("bad chunk in a streamed body", func(t *testing.T) {
		chunk := "8000\r\n" + strings.Repeat("c", 0x8000) + "\r\n"
		raw := rawExchange(t, addr, post+"Transfer-Encoding: chunked\r\n\r\n"+strings.Repeat(chunk, 64)+
			"zz\r\nGET /smuggled HTTP/1.1\r\nHost: example.com\r\n\r\n")
		if !strings.HasPrefix(raw, "HTTP/1.1 400 Bad Request\r\n") || strings.Contains(raw, "smuggled") {
			t.Errorf("answer %.200q", raw)
		}
		time.Sleep(50 * time.Millisecond)
		if reqs := rec.requests(); len(reqs) != 0 {
			t.Errorf("the upstream completed %v", reqs)
		}
	})

	// Pipelined: a good request is answered and proxied, the bad one
	// after it is answered with 400, the one after that is never read.
	t.Run("pipelined", func(t *testing.T) {
		raw := rawExchange(t, addr, "GET /first HTTP/1.1\r\nHost: example.com\r\n\r\n"+
			"GET /second HTTP/1.1\r\nHost: example.com\r\nHost: evil.com\r\n\r\n"+
			"GET /third HTTP/1.1\r\nHost: example.com\r\n\r\n")
		answers := parseAnswers(t, raw)
		if len(answers) != 2 || answers[0].StatusCode != 200 || answers[1].StatusCode != 400 {
			t.Fatalf("answers %q", raw)
		}
		if reqs := rec.requests(); len(reqs) != 1 || reqs[0] != "GET /first" {
			t.Errorf("the upstream saw %v", reqs)
		}
	})
}

// TestLargeHeads: nginx's default large_client_header_buffers (4 8k)
// accepts a line of 8 KiB and a head of 32 KiB, e.g. a 3 KB JWT with a
// 1.5 KB cookie, and the upstream receives them whole.
func TestLargeHeads(t *testing.T) {
	rec := startRecorder(t)
	nd := startNode(t, nil)
	nd.configure("POST", "/services", "name=rec", "url=http://"+rec.addr)
	nd.configure("POST", "/services/rec/routes", "paths=/")
	jwt := "Bearer " + strings.Repeat("j", 3000)
	r := nd.request("GET", "/jwt", map[string]string{"Authorization": jwt, "Cookie": "s=" + strings.Repeat("c", 1500)}, nil)
	if r.status != 200 || r.header.Get("X-Auth") != jwt {
		t.Fatalf("JWT and cookie: %d %s", r.status, r.body)
	}
	// One line just under 8 KiB, and a head just under 32 KiB.
	line := "X-Line: " + strings.Repeat("l", 8<<10-len("X-Line: ")) // without CRLF: exactly 8 KiB
	head := "GET /big HTTP/1.1\r\nHost: example.com\r\n" + line + "\r\n"
	for len(head) < 32<<10-8<<10 {
		head += "X-Fill: " + strings.Repeat("f", 7000) + "\r\n"
	}
	head += "Connection: close\r\n\r\n"
	if len(head) > 32<<10 {
		t.Fatalf("test head is %d bytes", len(head))
	}
	answers := parseAnswers(t, rawExchange(t, nd.n.Addr("proxy"), head))
	if len(answers) != 1 || answers[0].StatusCode != 200 {
		t.Fatalf("8 KiB line in a %d-byte head: %v", len(head), answers)
	}
}

// TestHostileFramingTLS: the guard sits outside TLS, so it sees (and
// refuses) a smuggling attempt inside an HTTPS connection too, while the
// request still counts as https.
func TestHostileFramingTLS(t *testing.T) {
	rec := startRecorder(t)
	nd := startNode(t, map[string]string{"proxy_listen": "127.0.0.1:0 ssl"})
	nd.configure("POST", "/services", "name=rec", "url=http://"+rec.addr)
	nd.configure("POST", "/services/rec/routes", "paths=/", "protocols=https")
	c, err := tls.Dial("tcp", nd.n.Addr("proxy_ssl"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /ok HTTP/1.1\r\nHost: example.com\r\n\r\n"+
		"POST /x HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET /smuggled HTTP/1.1\r\nHost: example.com\r\n\r\n")
	raw, _ := io.ReadAll(c)
	answers := parseAnswers(t, string(raw))
	if len(answers) != 2 || answers[0].StatusCode != 200 || answers[1].StatusCode != 400 {
		t.Fatalf("answers %q", raw)
	}
	if reqs := rec.requests(); len(reqs) != 1 || reqs[0] != "GET /ok" {
		t.Errorf("the upstream saw %v", reqs)
	}
}

// TestAdminErrorsNoEcho: a request the Admin API's server cannot read is
// answered without quoting it (fasthttp's messages carry the raw request,
// Authorization included).
func TestAdminErrorsNoEcho(t *testing.T) {
	nd := startNode(t, nil)
	raw := rawExchange(t, nd.n.Addr("admin"), "GET / HTTP/1.1\r\nHost: a\r\n"+secretHeaders+"X y: z\r\n\r\n")
	if !strings.HasPrefix(raw, "HTTP/1.1 400 ") {
		t.Errorf("answer %q", raw)
	}
	for _, secret := range []string{"c2VjcmV0", "topsecret"} {
		if strings.Contains(raw, secret) {
			t.Errorf("the answer echoes the request (%s): %q", secret, raw)
		}
	}
}
