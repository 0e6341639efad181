package proxy_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestUnreadBodyAnswered: a request answered without its (large, streamed)
// body being read, here a 404, closes the connection, since the rest of
// the body is still on it; the client still gets the answer, not a reset.
func TestUnreadBodyAnswered(t *testing.T) {
	nd := startNode(t, nil)
	for i := 0; i < 5; i++ {
		c, err := net.Dial("tcp", nd.n.Addr("proxy"))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte("POST /nowhere HTTP/1.1\r\nHost: example.com\r\nContent-Length: 16777216\r\n\r\n"))
		go func() {
			chunk := make([]byte, 64<<10)
			for i := 0; i < 256; i++ {
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
		}()
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		if res.StatusCode != 404 || !res.Close {
			t.Fatalf("attempt %d: %d, close %v", i, res.StatusCode, res.Close)
		}
		var b strings.Builder
		_, err = bufio.NewReader(res.Body).WriteTo(&b)
		if err != nil || !strings.Contains(b.String(), "no Route matched") {
			t.Fatalf("attempt %d: body %q %v", i, b.String(), err)
		}
		c.Close()
	}
}
