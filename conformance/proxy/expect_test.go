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
