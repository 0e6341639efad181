package proxy_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestExpectContinue: a client that waits for "100 Continue" before its
// body gets it (the guard does not hold such a head back waiting for the
// body), small and streamed bodies alike.
func TestExpectContinue(t *testing.T) {
	up := digestUpstream(t)
	nd := startNode(t, nil)
	nd.configure("POST", "/services", "name=digest", "url=http://"+up.addr)
	nd.configure("POST", "/services/digest/routes", "paths=/digest")
	for _, size := range []int{10 << 10, 3 << 20} {
		c, err := net.Dial("tcp", nd.n.Addr("proxy"))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		io.WriteString(c, "POST /digest HTTP/1.1\r\nHost: example.com\r\nExpect: 100-continue\r\nContent-Length: "+itoa(size)+"\r\n\r\n")
		line, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 Continue") {
			t.Fatalf("%d bytes: waiting for 100 Continue: %q %v", size, line, err)
		}
		br.ReadString('\n')
		c.Write(make([]byte, size))
		res, err := http.ReadResponse(br, nil)
		if err != nil || res.StatusCode != 200 || res.Header.Get("X-Received") != itoa(size) {
			t.Fatalf("%d bytes: %v %v", size, res, err)
		}
		c.Close()
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestServerErrorsKongBody: errors found while the server reads a body it
// had started on (here after "100 Continue": a body cut short, and bad
// chunked framing) are answered with Kong's JSON, without an echo of the
// request, and the upstream completes nothing.
func TestServerErrorsKongBody(t *testing.T) {
	rec := startRecorder(t)
	nd := startNode(t, nil)
	nd.configure("POST", "/services", "name=rec", "url=http://"+rec.addr)
	nd.configure("POST", "/services/rec/routes", "paths=/")
	for name, tc := range map[string]struct{ framing, body string }{
		"cut short": {"Content-Length: 100\r\n", "0123456789"},
		"bad chunk": {"Transfer-Encoding: chunked\r\n", "5\r\nhello\r\nzz\r\nGET /smuggled HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	} {
		c, err := net.Dial("tcp", nd.n.Addr("proxy"))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		io.WriteString(c, "POST /x HTTP/1.1\r\nHost: example.com\r\n"+secretHeaders+"Expect: 100-continue\r\n"+tc.framing+"\r\n")
		if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 Continue") {
			t.Fatalf("%s: %q %v", name, line, err)
		}
		br.ReadString('\n')
		io.WriteString(c, tc.body)
		c.(*net.TCPConn).CloseWrite()
		rest, _ := io.ReadAll(br)
		raw := string(rest)
		if !strings.HasPrefix(raw, "HTTP/1.1 400 Bad Request\r\n") || !strings.Contains(raw, `{"message":"Bad request","request_id":"`) {
			t.Errorf("%s: answer %q", name, raw)
		}
		for _, secret := range []string{"c2VjcmV0", "topsecret", "smuggled", "Continue"} {
			if strings.Contains(raw, secret) {
				t.Errorf("%s: the answer echoes the request (%s): %q", name, secret, raw)
			}
		}
		c.Close()
	}
	time.Sleep(50 * time.Millisecond)
	if reqs := rec.requests(); len(reqs) != 0 {
		t.Errorf("the upstream completed %v", reqs)
	}
}
