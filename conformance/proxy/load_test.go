package proxy_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// digestUpstream answers every request with the length and SHA-256 of the
// body it received.
func digestUpstream(t *testing.T) *upstream {
	return startUpstream(t, "digest", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			w.WriteHeader(599)
			return
		}
		w.Header().Set("X-Received", strconv.FormatInt(n, 10))
		w.Header().Set("X-Chunked", strconv.FormatBool(r.ContentLength < 0 && n > 0))
		w.Write([]byte(hex.EncodeToString(h.Sum(nil))))
	})
}

// TestConcurrentBodies sends bodies of mixed sizes (empty, 1 KiB, 8 KiB,
// 1 MiB, 8 MiB), chunked and with Content-Length, from 1, 4 and 16
// parallel clients over keep-alive connections. Every response must carry
// the digest of exactly the body sent, and the node must still serve
// afterwards. (fasthttp's request stream was released twice, once by the
// upstream request and once by the server, which crashed the process with
// two parallel clients and 8 KiB bodies.)
func TestConcurrentBodies(t *testing.T) {
	up := digestUpstream(t)
	nd := startNode(t, nil)
	nd.configure("POST", "/services", "name=digest", "url=http://"+up.addr)
	nd.configure("POST", "/services/digest/routes", "paths=/digest")

	sizes := []int{0, 1 << 10, 8 << 10, 1 << 20, 8 << 10, 2 << 10, 8 << 20}
	bodies := map[int][]byte{}
	sums := map[int]string{}
	for _, n := range sizes {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + n)
		}
		s := sha256.Sum256(b)
		bodies[n], sums[n] = b, hex.EncodeToString(s[:])
	}
	perClient := 2 * len(sizes) // each size once chunked and once with Content-Length
	if raceEnabled {
		perClient = len(sizes)
	}
	start := time.Now()
	for _, clients := range []int{1, 4, 16} {
		tr := &http.Transport{MaxIdleConnsPerHost: clients}
		c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
		var wg sync.WaitGroup
		errs := make(chan error, clients*perClient)
		for w := 0; w < clients; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < perClient; i++ {
					size := sizes[(i+w)%len(sizes)]
					if size == 8<<20 && w%4 != 0 {
						size = 8 << 10 // keep the 8 MiB bodies to a few clients
					}
					chunked := (i/len(sizes)+w)%2 == 1
					var body io.Reader = bytes.NewReader(bodies[size])
					if chunked {
						body = io.MultiReader(body) // hides the length: chunked
					}
					req, _ := http.NewRequest("POST", nd.proxy+"/digest", body)
					if chunked {
						req.ContentLength = -1
						if size == 0 {
							req.Body = io.NopCloser(io.MultiReader())
						}
					}
					res, err := c.Do(req)
					if err != nil {
						errs <- fmt.Errorf("client %d request %d (%d bytes, chunked %v): %v", w, i, size, chunked, err)
						return
					}
					got, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if res.StatusCode != 200 || string(got) != sums[size] || res.Header.Get("X-Received") != strconv.Itoa(size) {
						errs <- fmt.Errorf("client %d request %d (%d bytes, chunked %v): %d received %s: %.200s",
							w, i, size, chunked, res.StatusCode, res.Header.Get("X-Received"), got)
						return
					}
				}
			}(w)
		}
		wg.Wait()
		tr.CloseIdleConnections()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
	if r := nd.request("GET", "/digest", nil, nil); r.status != 200 {
		t.Fatalf("node no longer serves: %d", r.status)
	}
	t.Logf("%v", time.Since(start))
}

// TestBodyAfterHeadPause: clients on raw connections send the head, pause,
// then the body (chunked or with a Content-Length), in parallel; each
// upstream request carries exactly its own body.
func TestBodyAfterHeadPause(t *testing.T) {
	up := digestUpstream(t)
	nd := startNode(t, nil)
	nd.configure("POST", "/services", "name=digest", "url=http://"+up.addr)
	nd.configure("POST", "/services/digest/routes", "paths=/digest")
	const clients = 8
	errs := make(chan error, clients)
	addr := strings.TrimPrefix(nd.proxy, "http://")
	for i := 0; i < clients; i++ {
		go func(i int) {
			errs <- func() error {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					return err
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				body := strings.Repeat(fmt.Sprintf("client %d ", i), 50+i)
				var head, rest string
				if i%2 == 0 {
					head = "POST /digest HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"
					rest = fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
				} else {
					head = fmt.Sprintf("POST /digest HTTP/1.1\r\nHost: gw\r\nContent-Length: %d\r\n\r\n", len(body))
					rest = body
				}
				io.WriteString(conn, head)
				time.Sleep(100 * time.Millisecond)
				io.WriteString(conn, rest)
				res, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					return fmt.Errorf("client %d: %w", i, err)
				}
				defer res.Body.Close()
				raw, _ := io.ReadAll(res.Body)
				sum := sha256.Sum256([]byte(body))
				if res.StatusCode != 200 || string(raw) != hex.EncodeToString(sum[:]) {
					return fmt.Errorf("client %d: %d %s (received %s bytes of %d)", i, res.StatusCode, raw, res.Header.Get("X-Received"), len(body))
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
}
