// Package wasmnode starts real Gatehouse nodes serving Wasm plugins for the
// conformance suites of the Wasm host (conformance/wasmhost,
// conformance/httpwasm): guests built from Go sources into a plugins
// folder, the node's log lines recorded for the faults' messages, and the
// Admin API and proxy on loopback.
package wasmnode

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

// Logs records a node's log lines (a slog.Handler).
type Logs struct {
	mu    sync.Mutex
	lines []string
}

// Enabled implements slog.Handler: every level is recorded.
func (l *Logs) Enabled(context.Context, slog.Level) bool { return true }

// Handle implements slog.Handler: the message and its attributes as one
// line.
func (l *Logs) Handle(_ context.Context, r slog.Record) error {
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

// WithAttrs implements slog.Handler.
func (l *Logs) WithAttrs([]slog.Attr) slog.Handler { return l }

// WithGroup implements slog.Handler.
func (l *Logs) WithGroup(string) slog.Handler { return l }

// Find returns the first line containing every part, waiting up to two
// seconds for it (the log phase logs after the response).
func (l *Logs) Find(parts ...string) (string, bool) {
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

// Has reports whether a line recorded so far contains every part, without
// waiting.
func (l *Logs) Has(parts ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return true
		}
	}
	return false
}

// Dump returns every line recorded, for a failing test's message.
func (l *Logs) Dump() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// Node is a running node serving the Wasm plugins of a folder.
type Node struct {
	T      testing.TB
	N      *app.Node
	Admin  string // the Admin API's base URL
	Proxy  string // the proxy's base URL
	Logs   *Logs
	Client *http.Client // keep-alive client for the proxy
}

// WriteGuest writes a module into dir as NAME.wasm.
func WriteGuest(t testing.TB, dir, name string, wasm []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name+".wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
}

// BuildGuest compiles the Go guest in src (wasip1) into dir as NAME.wasm,
// NAME being src's base name.
func BuildGuest(t testing.TB, dir, src string) {
	t.Helper()
	path, err := wasmbuild.Build(src)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	WriteGuest(t, dir, filepath.Base(src), b)
}

// GuestDir builds the guests (testdata/<name>, or a path with a slash)
// into a new folder and returns it.
func GuestDir(t testing.TB, sources ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, src := range sources {
		if !strings.Contains(src, "/") {
			src = filepath.Join("testdata", src)
		}
		BuildGuest(t, dir, src)
	}
	return dir
}

// Start starts a node whose wasm_plugins_dir is dir, serving every module
// there, with opts' limits; prefix "" is a fresh one, which shares the
// tests' compilation cache (a given prefix keeps its own,
// <prefix>/wasm-cache). The node closes when the test ends.
func Start(t testing.TB, dir string, opts wasmplugins.Options, prefix string) *Node {
	t.Helper()
	lg := &Logs{}
	log := slog.New(lg)
	if prefix == "" {
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
	names, err := wasmplugins.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := testnode.StartWith(t, map[string]string{
		"plugins": "bundled," + strings.Join(names, ","), "prefix": prefix, "wasm_plugins_dir": dir,
	}, app.Options{Providers: []hostabi.Provider{p}, Logger: log})
	return &Node{T: t, N: n, Admin: "http://" + n.Addr("admin"), Proxy: "http://" + n.Addr("proxy"), Logs: lg,
		Client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}}
}

// Call sends an Admin API request with a JSON body.
func (nd *Node) Call(method, path string, body any) (int, []byte) {
	nd.T.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, nd.Admin+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		nd.T.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

// MustCreate POSTs body to path and fails the test unless it is created.
func (nd *Node) MustCreate(path string, body any) []byte {
	nd.T.Helper()
	status, b := nd.Call("POST", path, body)
	if status != 201 {
		nd.T.Fatalf("POST %s: %d %s", path, status, b)
	}
	return b
}
