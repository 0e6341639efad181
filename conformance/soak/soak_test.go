// Package soak runs the gateway binary under a bounded mixed load on
// loopback — plain GETs, request bodies of every size (chunked and not),
// slow clients, idle keep-alive connections and Admin API writes at the same
// time — and checks that the process stays up, that every request gets the
// right answer, that the slow and idle connections are cut at their
// timeouts, and that memory returns to near its idle size afterwards.
package soak

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Timeouts given to the gateway: short, so that slow and idle clients are
// cut several times within the soak.
const (
	headerTimeout    = 2 * time.Second
	bodyTimeout      = 2 * time.Second
	keepaliveTimeout = 3 * time.Second
)

// soakDuration is 60 s; GATEHOUSE_SOAK_SECONDS shortens or lengthens it for
// local runs.
func soakDuration(t *testing.T) time.Duration {
	if v := os.Getenv("GATEHOUSE_SOAK_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("GATEHOUSE_SOAK_SECONDS=%q: want a positive number of seconds", v)
		}
		return time.Duration(n) * time.Second
	}
	return 60 * time.Second
}

// tally counts outcomes by kind; any failure fails the test with its first
// few reasons.
type tally struct {
	mu       sync.Mutex
	ok       map[string]int
	failures []string
	failed   int
}

func newTally() *tally { return &tally{ok: map[string]int{}} }

func (t *tally) pass(kind string) {
	t.mu.Lock()
	t.ok[kind]++
	t.mu.Unlock()
}

func (t *tally) fail(kind, format string, args ...any) {
	t.mu.Lock()
	t.failed++
	if len(t.failures) < 20 {
		t.failures = append(t.failures, kind+": "+fmt.Sprintf(format, args...))
	}
	t.mu.Unlock()
}

// gateway is the binary under test, running as its own process.
type gateway struct {
	cmd   *exec.Cmd
	admin string
	proxy string
	done  chan error
	log   *bytes.Buffer
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// moduleRoot finds the directory holding go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

func startGateway(t *testing.T) *gateway {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gatehouse")
	build := exec.Command("go", "build", "-o", bin, "./cmd/gatehouse")
	build.Dir = moduleRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the gateway: %v\n%s", err, out)
	}
	g := &gateway{admin: freePort(t), proxy: freePort(t), done: make(chan error, 1), log: &bytes.Buffer{}}
	g.cmd = exec.Command(bin, "start",
		"--set", "prefix="+t.TempDir(),
		"--set", "admin_listen="+g.admin,
		"--set", "proxy_listen="+g.proxy,
		"--set", "status_listen=off",
		"--set", "admin_gui_listen=off",
		"--set", "log_level=error",
		"--set", "nginx_http_client_header_timeout="+fmt.Sprint(headerTimeout.Seconds())+"s",
		"--set", "nginx_http_client_body_timeout="+fmt.Sprint(bodyTimeout.Seconds())+"s",
		"--set", "nginx_http_keepalive_timeout="+fmt.Sprint(keepaliveTimeout.Seconds())+"s",
	)
	g.cmd.Stdout = g.log
	g.cmd.Stderr = g.log
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { g.done <- g.cmd.Wait() }()
	t.Cleanup(func() {
		if g.cmd.ProcessState == nil {
			g.cmd.Process.Kill()
			<-g.done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get("http://" + g.admin + "/")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return g
			}
		}
		select {
		case err := <-g.done:
			t.Fatalf("gateway exited at start: %v\n%s", err, g.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway did not answer within 30 s: %v\n%s", err, g.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rss reads the process's resident set size in bytes.
func (g *gateway) rss(t *testing.T) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("reading the gateway's memory: %v", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}

func (g *gateway) alive() bool {
	select {
	case err := <-g.done:
		g.done <- err
		return false
	default:
		return true
	}
}

// adminDo sends one Admin API request and returns its status and body.
func adminDo(c *http.Client, method, url, body string) (int, string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return res.StatusCode, string(raw), err
}

// upstream answers every request with the length and SHA-256 of the body it
// received, so the client can check its body arrived whole.
func upstream(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	page := bytes.Repeat([]byte("g"), 1024)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Body-Length", strconv.FormatInt(n, 10))
		w.Header().Set("X-Body-Sha256", hex.EncodeToString(h.Sum(nil)))
		w.Write(page)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// hiddenLength hides a reader's length so net/http sends it chunked.
type hiddenLength struct{ r io.Reader }

func (h hiddenLength) Read(p []byte) (int, error) { return h.r.Read(p) }

func TestSoak(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the process's memory from /proc (Linux only)")
	}
	duration := soakDuration(t)
	up := upstream(t)
	g := startGateway(t)
	admin := "http://" + g.admin
	proxy := "http://" + g.proxy
	ac := &http.Client{Timeout: 10 * time.Second}
	for _, step := range []struct{ method, path, body string }{
		{"PUT", "/services/soak", `{"url":"http://` + up + `/"}`},
		{"PUT", "/services/soak/routes/soak", `{"paths":["/soak"]}`},
		{"PUT", "/services/churn", `{"url":"http://` + up + `/churn"}`},
	} {
		if code, body, err := adminDo(ac, step.method, admin+step.path, step.body); err != nil || code/100 != 2 {
			t.Fatalf("%s %s: %d %s %v", step.method, step.path, code, body, err)
		}
	}
	// Wait for the route to be served, then warm up before measuring the
	// idle size.
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(proxy + "/soak/ready")
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("route not served within 10 s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second)
	idle := g.rss(t)

	tl := newTally()
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	var peak atomic.Int64
	var bytesSent atomic.Int64
	run := func(fn func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn()
		}()
	}

	// Memory, sampled through the run.
	run(func() {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for ctx.Err() == nil {
			if g.alive() {
				if r := g.rss(t); r > peak.Load() {
					peak.Store(r)
				}
			}
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	})

	// Plain GETs on keep-alive connections.
	for w := 0; w < 2; w++ {
		run(func() {
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer c.CloseIdleConnections()
			for ctx.Err() == nil {
				res, err := c.Get(proxy + "/soak/get")
				if err != nil {
					tl.fail("get", "%v", err)
					continue
				}
				n, _ := io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || n != 1024 || res.Header.Get("X-Body-Length") != "0" {
					tl.fail("get", "status %d, %d bytes, upstream saw %s bytes", res.StatusCode, n, res.Header.Get("X-Body-Length"))
					continue
				}
				tl.pass("get")
			}
		})
	}

	// Bodies of every size, with Content-Length and chunked.
	sizes := []int{0, 1 << 10, 8 << 10, 64 << 10, 1 << 20, 8 << 20}
	bodies := make([][]byte, len(sizes))
	sums := make([]string, len(sizes))
	for i, n := range sizes {
		bodies[i] = bytes.Repeat([]byte{byte('a' + i)}, n)
		s := sha256.Sum256(bodies[i])
		sums[i] = hex.EncodeToString(s[:])
	}
	for w := 0; w < 2; w++ {
		run(func() {
			c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer c.CloseIdleConnections()
			for i := w; ctx.Err() == nil; i++ {
				k := i % len(sizes)
				chunked := (i/len(sizes))%2 == 1
				var body io.Reader = bytes.NewReader(bodies[k])
				kind := "body " + strconv.Itoa(sizes[k])
				if chunked {
					body = hiddenLength{body}
					kind += " chunked"
				}
				req, _ := http.NewRequest("POST", proxy+"/soak/body", body)
				res, err := c.Do(req)
				if err != nil {
					tl.fail(kind, "%v", err)
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || res.Header.Get("X-Body-Sha256") != sums[k] {
					tl.fail(kind, "status %d, upstream saw %s bytes", res.StatusCode, res.Header.Get("X-Body-Length"))
					continue
				}
				bytesSent.Add(int64(sizes[k]))
				tl.pass(kind)
			}
		})
	}

	// Slow clients: a request head trickled a byte at a time, never
	// finished; the gateway must cut each at the header timeout.
	var slowCut, slowOpen atomic.Int64
	for w := 0; w < 4; w++ {
		run(func() {
			for ctx.Err() == nil {
				conn, err := net.Dial("tcp", g.proxy)
				if err != nil {
					tl.fail("slow client", "dial: %v", err)
					time.Sleep(100 * time.Millisecond)
					continue
				}
				slowOpen.Add(1)
				began := time.Now()
				head := "GET /soak/slow HTTP/1.1\r\nHost: soak\r\nX-Slow: "
				cut := false
				for i := 0; ctx.Err() == nil && time.Since(began) < 3*headerTimeout; i++ {
					conn.SetWriteDeadline(time.Now().Add(time.Second))
					if _, err := conn.Write([]byte{head[i%len(head)]}); err != nil {
						cut = true
						break
					}
					// A closed connection is seen on read as EOF or reset.
					conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
					var b [1]byte
					if _, err := conn.Read(b[:]); err != nil && !isTimeout(err) {
						cut = true
						break
					}
				}
				conn.Close()
				if ctx.Err() != nil && !cut {
					break // the run ended first
				}
				if !cut {
					tl.fail("slow client", "still open after %v (header timeout %v)", time.Since(began), headerTimeout)
					continue
				}
				if d := time.Since(began); d < headerTimeout-200*time.Millisecond {
					tl.fail("slow client", "cut after %v, before the header timeout %v", d, headerTimeout)
					continue
				}
				slowCut.Add(1)
				tl.pass("slow client cut")
			}
		})
	}

	// Idle keep-alive connections: waves of connections that send one
	// request, get their answer and then say nothing; the gateway must close
	// each after the keep-alive timeout.
	var idleCut atomic.Int64
	run(func() {
		for ctx.Err() == nil {
			var wave sync.WaitGroup
			for i := 0; i < 200 && ctx.Err() == nil; i++ {
				conn, err := net.Dial("tcp", g.proxy)
				if err != nil {
					tl.fail("idle", "dial: %v", err)
					continue
				}
				wave.Add(1)
				go func() {
					defer wave.Done()
					defer conn.Close()
					conn.SetDeadline(time.Now().Add(10 * time.Second))
					if _, err := io.WriteString(conn, "GET /soak/idle HTTP/1.1\r\nHost: soak\r\n\r\n"); err != nil {
						tl.fail("idle", "write: %v", err)
						return
					}
					br := bufio.NewReader(conn)
					res, err := http.ReadResponse(br, nil)
					if err != nil {
						tl.fail("idle", "no answer: %v", err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 200 {
						tl.fail("idle", "status %d", res.StatusCode)
						return
					}
					answered := time.Now()
					conn.SetReadDeadline(answered.Add(keepaliveTimeout + 3*time.Second))
					_, err = br.ReadByte()
					switch {
					case err == nil:
						tl.fail("idle", "unexpected bytes on an idle connection")
					case isTimeout(err):
						tl.fail("idle", "still open %v after its answer (keep-alive timeout %v)", time.Since(answered), keepaliveTimeout)
					default:
						idleCut.Add(1)
						tl.pass("idle connection cut")
					}
				}()
			}
			wave.Wait()
		}
	})

	// Admin API writes on one keep-alive connection: routes and plugins
	// come and go on another service while traffic runs.
	run(func() {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
		defer c.CloseIdleConnections()
		for i := 0; ctx.Err() == nil; i++ {
			name := "churn-" + strconv.Itoa(i%50)
			code, body, err := adminDo(c, "PUT", admin+"/services/churn/routes/"+name, `{"paths":["/churn/`+strconv.Itoa(i)+`"],"tags":["soak"]}`)
			if err != nil || code/100 != 2 {
				tl.fail("admin", "PUT route: %d %s %v", code, body, err)
				continue
			}
			code, body, err = adminDo(c, "POST", admin+"/routes/"+name+"/plugins", `{"name":"request-transformer","config":{"add":{"headers":["x-churn:`+strconv.Itoa(i)+`"]}}}`)
			if err != nil || code != 201 {
				tl.fail("admin", "POST plugin: %d %s %v", code, body, err)
				continue
			}
			code, body, err = adminDo(c, "PATCH", admin+"/routes/"+name, `{"strip_path":false}`)
			if err != nil || code != 200 {
				tl.fail("admin", "PATCH route: %d %s %v", code, body, err)
				continue
			}
			code, body, err = adminDo(c, "DELETE", admin+"/routes/"+name, "")
			if err != nil || code != 204 {
				tl.fail("admin", "DELETE route: %d %s %v", code, body, err)
				continue
			}
			tl.pass("admin write cycle")
		}
	})

	wg.Wait()
	if !g.alive() {
		t.Fatalf("the gateway exited during the soak:\n%s", g.log)
	}
	// Memory back near its idle size once the load is gone.
	var final int64
	var settled time.Duration
	quiet := time.Now()
	for {
		final = g.rss(t)
		settled = time.Since(quiet)
		if final <= 2*idle || settled > 60*time.Second {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	tl.mu.Lock()
	var kinds []string
	total := 0
	for k, n := range tl.ok {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
		total += n
	}
	tl.mu.Unlock()
	t.Logf("soak %v: %d answered correctly (%s), %d failed; %d MiB of request bodies; slow clients opened %d, cut %d; idle connections cut %d",
		duration, total, strings.Join(kinds, " "), tl.failed, bytesSent.Load()>>20, slowOpen.Load(), slowCut.Load(), idleCut.Load())
	t.Logf("memory: idle %.1f MiB, peak %.1f MiB, %.1f MiB %v after the load (%.2fx idle)",
		mib(idle), mib(peak.Load()), mib(final), settled.Round(100*time.Millisecond), float64(final)/float64(idle))
	if tl.failed > 0 {
		t.Errorf("%d requests failed; first ones:\n  %s", tl.failed, strings.Join(tl.failures, "\n  "))
	}
	if final > 2*idle {
		t.Errorf("memory did not return: %.1f MiB after the load, idle size %.1f MiB", mib(final), mib(idle))
	}
	if slowCut.Load() == 0 || idleCut.Load() == 0 {
		t.Errorf("timeouts never cut a connection: slow %d, idle %d", slowCut.Load(), idleCut.Load())
	}
	// A bounded graceful stop.
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-g.done:
		if err != nil {
			t.Errorf("gateway exit after SIGTERM: %v\n%s", err, g.log)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("gateway still running 20 s after SIGTERM")
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
