// Package wasmhost_test runs Wasm plugins on a real node, through the
// proxy listener over 127.0.0.1 with keep-alive clients: hostile guests
// (infinite loop, unbounded allocation, traps in every phase, pointers
// outside memory, host functions in the wrong phase), concurrency, the
// request's pinning to one instance, and the compilation cache across
// restarts.
package wasmhost_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/hostabi"
	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmbuild"
	"github.com/gatehouse/gatehouse/runtime/app"
)

// logs records the node's log lines, for the faults' messages.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, b.String())
	l.mu.Unlock()
	return nil
}
func (l *logs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logs) WithGroup(string) slog.Handler      { return l }

// find returns the first line containing every part, waiting up to a
// second for it (the log phase logs after the response).
func (l *logs) find(parts ...string) (string, bool) {
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		l.mu.Lock()
		for _, line := range l.lines {
			ok := true
			for _, p := range parts {
				if !strings.Contains(line, p) {
					ok = false
					break
				}
			}
			if ok {
				l.mu.Unlock()
				return line, true
			}
		}
		l.mu.Unlock()
		if time.Now().After(deadline) {
			return "", false
		}
	}
}

func (l *logs) dump() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// upstream records what reached it, by X-Id.
type upstream struct {
	*httptest.Server
	mu  sync.Mutex
	ids map[string]http.Header
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{ids: map[string]http.Header{}}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.ids[r.Header.Get("X-Id")] = r.Header.Clone()
		u.mu.Unlock()
		io.WriteString(w, "up")
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) got(id string) (http.Header, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	h, ok := u.ids[id]
	return h, ok
}

// node is a running node with Wasm plugins.
type node struct {
	t      testing.TB
	n      *app.Node
	admin  string
	proxy  string
	logs   *logs
	client *http.Client
}

// guestDir builds the guests (testdata/<name>, or a path with a slash)
// into one folder, as NAME.wasm (the source folder's name), and returns it.
func guestDir(t testing.TB, sources ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, src := range sources {
		name := filepath.Base(src)
		if !strings.Contains(src, "/") {
			src = filepath.Join("testdata", src)
		}
		path, err := wasmbuild.Build(src)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".wasm"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// startNode starts a node serving the Wasm plugins of dir, with opts'
// limits; prefix "" is a fresh one.
func startNode(t testing.TB, dir string, opts wasmplugins.Options, prefix string) *node {
	t.Helper()
	lg := &logs{}
	log := slog.New(lg)
	if prefix == "" {
		// a fresh node shares the tests' compilation cache; a given prefix
		// keeps its own (<prefix>/wasm-cache)
		prefix = t.TempDir()
		if opts.CacheDir == "" {
			cc, err := wasmbuild.CompilationCacheDir()
			if err != nil {
				t.Fatal(err)
			}
			opts.CacheDir = cc
		}
	}
	opts.PluginsDir, opts.Prefix, opts.Logger = dir, prefix, log
	p, err := wasmplugins.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	names, _ := wasmplugins.Discover(dir)
	n := testnode.StartWith(t, map[string]string{"plugins": "bundled," + strings.Join(names, ","), "prefix": prefix},
		app.Options{Providers: []hostabi.Provider{p}, Logger: log})
	return &node{t: t, n: n, admin: "http://" + n.Addr("admin"), proxy: "http://" + n.Addr("proxy"), logs: lg,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}}
}

// call sends an Admin API request with a JSON body.
func (nd *node) call(method, path string, body any) (int, []byte) {
	nd.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, nd.admin+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		nd.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

func (nd *node) mustCreate(path string, body any) {
	nd.t.Helper()
	if status, b := nd.call("POST", path, body); status != 201 {
		nd.t.Fatalf("POST %s: %d %s", path, status, b)
	}
}

// get sends a proxied request with headers (name, value pairs).
func (nd *node) get(path string, headers ...string) (int, http.Header, string) {
	nd.t.Helper()
	req, _ := http.NewRequest("GET", nd.proxy+path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := nd.client.Do(req)
	if err != nil {
		nd.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// waitRoute waits until path is served by the current configuration.
func (nd *node) waitRoute(path string, ok func(status int, h http.Header) bool) {
	nd.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		status, h, _ := nd.get(path, "X-Id", "warmup")
		if ok(status, h) {
			return
		}
		if time.Now().After(deadline) {
			nd.t.Fatalf("%s never became ready: last status %d, headers %v", path, status, h)
		}
	}
}

// setup creates a service on up, a route /h and the plugin, globally.
func (nd *node) setup(up *upstream, plugin string, config map[string]any) {
	nd.t.Helper()
	nd.mustCreate("/services", map[string]any{"name": "s", "url": up.URL})
	nd.mustCreate("/services/s/routes", map[string]any{"name": "h", "paths": []string{"/h"}})
	body := map[string]any{"name": plugin}
	if config != nil {
		body["config"] = config
	}
	nd.mustCreate("/plugins", body)
}
