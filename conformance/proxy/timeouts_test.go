package proxy_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// closedWithin reports whether the proxy closes c (EOF or reset, no more
// data) within d.
func closedWithin(t *testing.T, c net.Conn, d time.Duration) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	var buf [1]byte
	for {
		_, err := c.Read(buf[:])
		if err == nil {
			continue // an answer: read on to the close
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return false
		}
		return true
	}
}

// TestClientTimeouts configures 300 ms timeouts: a connection that sends
// half a head, one that sends nothing, an idle keep-alive connection and
// a stalled body are all closed soon after; the upstream never sees the
// stalled request.
func TestClientTimeouts(t *testing.T) {
	rec := startRecorder(t)
	nd := startNode(t, map[string]string{
		"nginx_http_client_header_timeout": "300ms", "nginx_http_client_body_timeout": "300ms",
		"nginx_http_keepalive_timeout": "300ms",
	})
	nd.configure("POST", "/services", "name=rec", "url=http://"+rec.addr)
	nd.configure("POST", "/services/rec/routes", "paths=/")
	addr := nd.n.Addr("proxy")
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	limit := 3 * time.Second

	var wg sync.WaitGroup
	check := func(name string, c net.Conn) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			if !closedWithin(t, c, limit) {
				t.Errorf("%s: still open after %v", name, limit)
			} else if d := time.Since(start); d < 200*time.Millisecond {
				t.Errorf("%s: closed after %v, before the timeout", name, d)
			}
		}()
	}

	slowHead := dial()
	slowHead.Write([]byte("GET / HTTP/1.1\r\nHost: exa"))
	check("slow head", slowHead)

	emptyLines := dial()
	emptyLines.Write([]byte("\r\n\r\n\r"))
	check("empty lines", emptyLines)

	silent := dial()
	check("no request", silent)

	idle := dial()
	idle.Write([]byte("GET /idle HTTP/1.1\r\nHost: example.com\r\n\r\n"))
	res, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("keep-alive request: %v %v", res, err)
	}
	io.Copy(io.Discard, res.Body)
	check("idle keep-alive", idle)

	// Many at once: 50 slow heads and 100 idle keep-alive connections.
	for i := 0; i < 50; i++ {
		c := dial()
		c.Write([]byte("GET / HTTP/1.1\r\nX-Slow: "))
		check("slow head (many)", c)
	}
	for i := 0; i < 100; i++ {
		c := dial()
		c.Write([]byte("GET /idle HTTP/1.1\r\nHost: example.com\r\n\r\n"))
		if res, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || res.StatusCode != 200 {
			t.Fatalf("keep-alive request %d: %v %v", i, res, err)
		}
		check("idle keep-alive (many)", c)
	}

	// A stalled body is answered 408 (Kong's body) and cut.
	slowBody := dial()
	slowBody.Write([]byte("POST /stalled HTTP/1.1\r\nHost: example.com\r\nContent-Length: 100\r\n\r\n0123456789"))
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		slowBody.SetReadDeadline(time.Now().Add(limit))
		raw, err := io.ReadAll(slowBody)
		if !strings.HasPrefix(string(raw), "HTTP/1.1 408 Request Timeout\r\n") || !strings.Contains(string(raw), `"message":"Request timeout"`) || err != nil {
			t.Errorf("stalled body: %q %v", raw, err)
		}
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Errorf("stalled body: answered after %v, before the timeout", d)
		}
	}()

	// A streamed (over 1 MiB) body that stalls is cut, and answered 408
	// if the answer has not started.
	bigBody := dial()
	go func() {
		bigBody.Write([]byte("POST /big-stalled HTTP/1.1\r\nHost: example.com\r\nContent-Length: 4194304\r\n\r\n"))
		bigBody.Write(make([]byte, 2<<20))
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		bigBody.SetReadDeadline(time.Now().Add(limit))
		raw, err := io.ReadAll(bigBody)
		t.Logf("stalled streamed body: %.120q, %v", raw, err)
		if len(raw) > 0 && !strings.HasPrefix(string(raw), "HTTP/1.1 408 Request Timeout\r\n") {
			t.Errorf("stalled streamed body answered %.100q", raw)
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("stalled streamed body: still open after %v", limit)
		}
	}()
	wg.Wait()
	for _, r := range rec.requests() {
		if r == "POST /stalled" {
			t.Errorf("the upstream got the stalled request")
		}
	}
}

// TestShutdownBounded: with nginx_main_worker_shutdown_timeout=1s, Close
// lets an in-flight request finish, cuts a slow client and an idle
// keep-alive connection (and a slow Admin API client), and returns within
// the deadline.
func TestShutdownBounded(t *testing.T) {
	arrived := make(chan struct{}, 1)
	up := startUpstream(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		time.Sleep(400 * time.Millisecond)
		w.Write([]byte("finished"))
	})
	nd := startNode(t, map[string]string{"nginx_main_worker_shutdown_timeout": "1s"})
	nd.configure("POST", "/services", "name=slow", "url=http://"+up.addr)
	nd.configure("POST", "/services/slow/routes", "paths=/slow")
	addr := nd.n.Addr("proxy")

	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.Write([]byte("GET /slow HTTP/1.1\r\nHost: exa")) // and never more

	slowAdmin, err := net.Dial("tcp", nd.n.Addr("admin"))
	if err != nil {
		t.Fatal(err)
	}
	defer slowAdmin.Close()
	slowAdmin.Write([]byte("GET /status HTTP/1.1\r\nHost: exa")) // and never more

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idle.Write([]byte("GET /nothing HTTP/1.1\r\nHost: example.com\r\n\r\n"))
	if res, err := http.ReadResponse(bufio.NewReader(idle), nil); err != nil || res.StatusCode != 404 {
		t.Fatalf("keep-alive request: %v %v", res, err)
	}

	inflight := getAsync("http://" + addr + "/slow")
	<-arrived

	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- nd.n.Close() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close still running after 5s")
	}
	if d := time.Since(start); d > 2*time.Second { // the deadline, the cut, a loaded machine
		t.Errorf("Close took %v with a 1s shutdown timeout", d)
	}
	if got := <-inflight; got != "finished" {
		t.Errorf("in-flight request: %q", got)
	}
	if !closedWithin(t, slow, time.Second) {
		t.Error("the slow client is still connected")
	}
	if !closedWithin(t, slowAdmin, time.Second) {
		t.Error("the slow Admin API client is still connected")
	}
	if !closedWithin(t, idle, time.Second) {
		t.Error("the idle client is still connected")
	}
}

// TestShutdownIdleAtOnce: connections waiting for a request (a fresh one
// and an idle keep-alive one) do not hold a shutdown up: with a 5s
// deadline, Close returns as soon as the in-flight request is answered.
func TestShutdownIdleAtOnce(t *testing.T) {
	arrived := make(chan struct{}, 1)
	up := startUpstream(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			arrived <- struct{}{}
			time.Sleep(300 * time.Millisecond)
		}
		w.Write([]byte("finished"))
	})
	nd := startNode(t, map[string]string{"nginx_main_worker_shutdown_timeout": "5s"})
	nd.configure("POST", "/services", "name=slow", "url=http://"+up.addr)
	nd.configure("POST", "/services/slow/routes", "paths=/")
	addr := nd.n.Addr("proxy")

	fresh, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idle.Write([]byte("GET /fast HTTP/1.1\r\nHost: example.com\r\n\r\n"))
	if res, err := http.ReadResponse(bufio.NewReader(idle), nil); err != nil || res.StatusCode != 200 {
		t.Fatalf("keep-alive request: %v %v", res, err)
	}

	inflight := getAsync("http://" + addr + "/slow")
	<-arrived
	start := time.Now()
	nd.n.Close()
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Close took %v with only idle connections and a 300ms request", d)
	}
	if got := <-inflight; got != "finished" {
		t.Errorf("in-flight request: %q", got)
	}
	for name, c := range map[string]net.Conn{"fresh": fresh, "idle": idle} {
		if !closedWithin(t, c, time.Second) {
			t.Errorf("the %s connection is still open", name)
		}
	}
}

// getAsync sends a GET in the background; the channel gets the body, or
// the error's text.
func getAsync(url string) <-chan string {
	out := make(chan string, 1)
	go func() {
		res, err := http.Get(url)
		if err != nil {
			out <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		out <- string(b)
	}()
	return out
}
