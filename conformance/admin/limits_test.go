package admin_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// zeros is a body of n spaces (valid JSON padding) that is never held in
// memory whole.
type zeros struct{ left int64 }

var spaces = bytes.Repeat([]byte(" "), 64<<10)

func (z *zeros) Read(p []byte) (int, error) {
	if z.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > z.left {
		p = p[:z.left]
	}
	n := copy(p, spaces)
	z.left -= int64(n)
	return n, nil
}

// post sends a JSON body of `{"name":name,"host":"a"}` followed by pad
// spaces; chunked hides its length.
func postPadded(t *testing.T, base, name string, pad int64, chunked bool) (int, string) {
	t.Helper()
	status, body, err := tryPostPadded(base, name, pad, chunked)
	if err != nil {
		t.Fatal(err)
	}
	return status, body
}

// tryPostPadded is postPadded for other goroutines than the test's.
func tryPostPadded(base, name string, pad int64, chunked bool) (int, string, error) {
	head := fmt.Sprintf(`{"name":%q,"host":"a"}`, name)
	var body io.Reader = io.MultiReader(strings.NewReader(head), &zeros{left: pad})
	req, err := http.NewRequest(http.MethodPost, base+"/services", body)
	if err != nil {
		return 0, "", err
	}
	if chunked {
		req.ContentLength = -1
	} else {
		req.ContentLength = int64(len(head)) + pad
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("POST %d bytes (chunked %v): %v (want an answer, not a reset)", int64(len(head))+pad, chunked, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(raw), nil
}

// TestBodyLimit: an Admin API body over nginx_admin_client_max_body_size
// (10m by default) is refused with 413 and Kong's JSON error, with or
// without a Content-Length, and the client reads that answer rather than a
// connection reset; a body under the limit is accepted.
func TestBodyLimit(t *testing.T) {
	node := startNode(t, nil)
	base := "http://" + node.Addr("admin")
	for _, chunked := range []bool{false, true} {
		status, body := postPadded(t, base, "over"+strconv.FormatBool(chunked), 10<<20, chunked)
		if status != http.StatusRequestEntityTooLarge || body != `{"message":"Payload too large"}` {
			t.Fatalf("10 MiB + header (chunked %v): %d %s", chunked, status, body)
		}
		status, body = postPadded(t, base, "under"+strconv.FormatBool(chunked), 10<<20-100, chunked)
		if status != http.StatusCreated {
			t.Fatalf("just under 10 MiB (chunked %v): %d %s", chunked, status, body)
		}
	}
	c := &client{t: t, base: base}
	if n := len(c.get("/services").get("data").([]any)); n != 2 {
		t.Fatalf("%d services stored, want the 2 under the limit", n)
	}

	small := startNode(t, map[string]string{"nginx_admin_client_max_body_size": "1k"})
	sbase := "http://" + small.Addr("admin")
	if status, body := postPadded(t, sbase, "a", 1024, false); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("over 1k: %d %s", status, body)
	}
	if status, body := postPadded(t, sbase, "a", 900, false); status != http.StatusCreated {
		t.Fatalf("under 1k: %d %s", status, body)
	}
}

// TestBodyLimitMemory sends six parallel 60 MiB bodies (the issue's
// measurement), half of them chunked: all are refused and the process
// keeps nothing of them (after a collection, its RSS is back to within
// 32 MiB of where it was; before the limit it grew by more than 1 GB).
func TestBodyLimitMemory(t *testing.T) {
	node := startNode(t, nil)
	base := "http://" + node.Addr("admin")
	before := rssKiB(t, true)
	var wg sync.WaitGroup
	errs := make(chan string, 6)
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body, err := tryPostPadded(base, fmt.Sprint("big", i), 60<<20, i%2 == 1)
			switch {
			case err != nil:
				errs <- err.Error()
			case status != http.StatusRequestEntityTooLarge:
				errs <- fmt.Sprintf("%d %s", status, body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("60 MiB body: %s, want 413", e)
	}
	if raceEnabled {
		return
	}
	peak := rssKiB(t, false)
	after := rssKiB(t, true)
	t.Logf("RSS before %d KiB, right after six refused 60 MiB bodies %d KiB, after a collection %d KiB", before, peak, after)
	if after-before > 32<<10 {
		t.Fatalf("RSS grew by %d KiB refusing the bodies", after-before)
	}
}

// rssKiB returns the process's resident memory, after collecting garbage
// and returning freed memory to the system when collect is set.
func rssKiB(t *testing.T, collect bool) int64 {
	t.Helper()
	if raceEnabled {
		return 0 // the race detector's shadow memory would be measured
	}
	if collect {
		runtime.GC()
		debug.FreeOSMemory()
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	t.Skip("no VmRSS")
	return 0
}

// TestPostArgsLimit: a form body with more arguments than lua_max_post_args
// (100) is refused with a 400 naming the limit, instead of losing the
// arguments past it; nothing is stored. With the limit raised, the same
// body is stored whole.
func TestPostArgsLimit(t *testing.T) {
	form := func(name string, n int) []byte {
		var b bytes.Buffer
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "paths=/p%d&", i)
		}
		b.WriteString("name=" + name)
		return b.Bytes()
	}
	node := startNode(t, nil)
	c := &client{t: t, base: "http://" + node.Addr("admin")}
	r := c.do("POST", "/routes", "application/x-www-form-urlencoded", form("cut", 150))
	expect(t, r, http.StatusBadRequest, "151 arguments")
	equal(t, "message", r.get("message"), "too many arguments in the request body: more than 100 (lua_max_post_args)")
	r = c.do("POST", "/routes", "application/x-www-form-urlencoded", form("exact", 99))
	expect(t, r, http.StatusCreated, "100 arguments")
	equal(t, "paths", len(r.get("paths").([]any)), 99)
	equal(t, "name", r.get("name"), "exact")
	if n := len(c.get("/routes").get("data").([]any)); n != 1 {
		t.Fatalf("%d routes stored, want 1", n)
	}

	raised := startNode(t, map[string]string{"lua_max_post_args": "200"})
	c2 := &client{t: t, base: "http://" + raised.Addr("admin")}
	r = c2.do("POST", "/routes", "application/x-www-form-urlencoded", form("whole", 150))
	expect(t, r, http.StatusCreated, "151 arguments, limit 200")
	equal(t, "paths", len(r.get("paths").([]any)), 150)
	equal(t, "name", r.get("name"), "whole")
}

// TestBodyMemoryReturned: six clients each send a body just under the limit
// and keep their keep-alive connection open and idle; the node keeps no
// body-sized buffer per connection (after a collection its RSS is back to
// within 32 MiB of where it was, where six 10 MiB buffers are 60 MiB).
func TestBodyMemoryReturned(t *testing.T) {
	node := startNode(t, nil)
	base := "http://" + node.Addr("admin")
	before := rssKiB(t, true)
	var clients []*http.Client
	for i := 0; i < 6; i++ {
		hc := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
		clients = append(clients, hc)
		head := fmt.Sprintf(`{"name":"kept-%d","host":"a"}`, i)
		pad := int64(10<<20 - 64)
		req, _ := http.NewRequest(http.MethodPost, base+"/services", io.MultiReader(strings.NewReader(head), &zeros{left: pad}))
		req.ContentLength = int64(len(head)) + pad
		req.Header.Set("Content-Type", "application/json")
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("body %d: status %d", i, res.StatusCode)
		}
	}
	after := rssKiB(t, true)
	if raceEnabled {
		return
	}
	t.Logf("RSS before %d KiB, with six idle connections that each carried a 10 MiB body %d KiB", before, after)
	if after-before > 32<<10 {
		t.Fatalf("RSS grew by %d KiB: buffers of the bodies are kept", after-before)
	}
	for _, hc := range clients {
		hc.CloseIdleConnections()
	}
}

// TestTruncatedBody: a body shorter than its Content-Length (the client
// stopped sending) is answered with 400 and the connection closed, and
// nothing is stored; a body announcing up to the limit that arrives whole
// on the same kind of raw connection is stored.
func TestTruncatedBody(t *testing.T) {
	node := startNode(t, nil)
	send := func(head, body string, closeWrite bool) string {
		t.Helper()
		conn, err := net.Dial("tcp", node.Addr("admin"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(conn, head+body)
		if closeWrite {
			conn.(*net.TCPConn).CloseWrite()
		}
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return fmt.Sprintf("%d close=%v %s", res.StatusCode, res.Close, raw)
	}
	head := "POST /services HTTP/1.1\r\nHost: admin\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
	body := `{"name":"cut","host":"a"}`
	// Cut within the first bytes fasthttp reads ahead, and after them.
	for _, sent := range []string{body, body + strings.Repeat(" ", 20<<10)} {
		for _, announced := range []int{100, 64 << 10, 10 << 20} {
			if announced <= len(sent) {
				continue
			}
			if got := send(fmt.Sprintf(head, announced), sent, true); got != `400 close=true {"message":"Bad request"}` {
				t.Fatalf("body of %d bytes announced as %d: %s", len(sent), announced, got)
			}
		}
	}
	if got := send(fmt.Sprintf(head, len(body)), body, false); !strings.HasPrefix(got, "201 close=false") {
		t.Fatalf("whole body: %s", got)
	}
	c := &client{t: t, base: "http://" + node.Addr("admin")}
	if n := len(c.get("/services").get("data").([]any)); n != 1 {
		t.Fatalf("%d services stored, want 1", n)
	}
}

// TestBodyAfterHeadPause: a client that sends the head, pauses, and then
// the body (chunked or with a Content-Length), as curl does with
// `Expect`-less uploads over a slow link, gets its entity stored, and
// concurrent clients doing the same on other connections each get their
// own body: the connection's read buffer is never handed to another
// connection while a handler still reads the body from it.
func TestBodyAfterHeadPause(t *testing.T) {
	node := startNode(t, nil)
	const clients = 8
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		go func(i int) {
			errs <- func() error {
				conn, err := net.Dial("tcp", node.Addr("admin"))
				if err != nil {
					return err
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				body := fmt.Sprintf(`{"name":"paused-%d","host":"h%d"}`, i, i)
				var head, rest string
				if i%2 == 0 {
					head = "POST /services HTTP/1.1\r\nHost: admin\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
					rest = fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
				} else {
					head = fmt.Sprintf("POST /services HTTP/1.1\r\nHost: admin\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
					rest = body
				}
				if _, err := io.WriteString(conn, head); err != nil {
					return err
				}
				time.Sleep(100 * time.Millisecond)
				if _, err := io.WriteString(conn, rest); err != nil {
					return err
				}
				res, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					return fmt.Errorf("client %d: %w", i, err)
				}
				defer res.Body.Close()
				raw, _ := io.ReadAll(res.Body)
				if res.StatusCode != 201 || !strings.Contains(string(raw), fmt.Sprintf(`"name":"paused-%d"`, i)) {
					return fmt.Errorf("client %d: %d %s", i, res.StatusCode, raw)
				}
				return nil
			}()
		}(i)
	}
	for i := 0; i < clients; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	c := &client{t: t, base: "http://" + node.Addr("admin")}
	if n := len(c.get("/services").get("data").([]any)); n != clients {
		t.Fatalf("%d services stored, want %d", n, clients)
	}
}
