// Package httpwasm_test runs http-wasm guests as Gatehouse plugins on a
// real node, through the proxy listener over 127.0.0.1 with keep-alive
// clients: the http-wasm TCK (its guest loaded from wasm_plugins_dir in
// front of its backend), guests of our own written in Go on the raw
// http_handler imports, faults that fail closed, and concurrency.
package httpwasm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
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

// logs records the node's log lines.
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

// find returns the first line containing every part, waiting up to two
// seconds for it.
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

// node is a running node serving the Wasm plugins of a folder.
type node struct {
	t      testing.TB
	admin  string
	proxy  string
	logs   *logs
	client *http.Client
}

// writeGuest writes a module into dir as NAME.wasm.
func writeGuest(t testing.TB, dir, name string, wasm []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name+".wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
}

// buildGuest compiles testdata/<name> (Go, wasip1) into dir as NAME.wasm.
func buildGuest(t testing.TB, dir, name string) {
	t.Helper()
	path, err := wasmbuild.Build(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeGuest(t, dir, name, b)
}

// startNode starts a node whose wasm_plugins_dir is dir, serving every
// module there, with opts' limits.
func startNode(t testing.TB, dir string, opts wasmplugins.Options) *node {
	t.Helper()
	lg := &logs{}
	log := slog.New(lg)
	prefix := t.TempDir()
	opts.PluginsDir, opts.Prefix, opts.Logger = dir, prefix, log
	p, err := wasmplugins.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	names, err := wasmplugins.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := testnode.StartWith(t, map[string]string{
		"plugins": "bundled," + strings.Join(names, ","), "prefix": prefix, "wasm_plugins_dir": dir,
	}, app.Options{Providers: []hostabi.Provider{p}, Logger: log})
	return &node{t: t, admin: "http://" + n.Addr("admin"), proxy: "http://" + n.Addr("proxy"), logs: lg,
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

func (nd *node) mustCreate(path string, body any) []byte {
	nd.t.Helper()
	status, b := nd.call("POST", path, body)
	if status != 201 {
		nd.t.Fatalf("POST %s: %d %s", path, status, b)
	}
	return b
}

// setup creates service s on upstream, a route with paths and the plugin
// on the route with config (nil: none).
func (nd *node) setup(upstream string, paths []string, plugin string, config map[string]any) {
	nd.t.Helper()
	nd.mustCreate("/services", map[string]any{"name": "s", "url": upstream})
	nd.mustCreate("/services/s/routes", map[string]any{"name": "r", "paths": paths})
	body := map[string]any{"name": plugin}
	if config != nil {
		body["config"] = config
	}
	nd.mustCreate("/routes/r/plugins", body)
}

// do sends a proxied request with headers (name, value pairs).
func (nd *node) do(method, path string, body string, headers ...string) (int, http.Header, string) {
	nd.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, nd.proxy+path, rd)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	res, err := nd.client.Do(req)
	if err != nil {
		nd.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// waitReady waits until a GET of path (with headers) answers as ok
// says: the configuration with the route and the plugin is in use.
func (nd *node) waitReady(path string, ok func(status int, h http.Header) bool, headers ...string) {
	nd.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		status, h, _ := nd.do("GET", path, "", headers...)
		if ok(status, h) {
			return
		}
		if time.Now().After(deadline) {
			nd.t.Fatalf("%s never became ready: last status %d, headers %v", path, status, h)
		}
	}
}

// statusIs is a waitReady condition.
func statusIs(want int) func(int, http.Header) bool {
	return func(status int, _ http.Header) bool { return status == want }
}
