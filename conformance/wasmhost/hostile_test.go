package wasmhost_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
)

// TestHostileGuests: each misbehaviour costs its request a 500 (or, in the
// log phase, only the log line), the log names plugin, phase and cause,
// a request whose rewrite or access failed never reaches the upstream, and
// the next request on the same route and connection is served whole.
func TestHostileGuests(t *testing.T) {
	dir := guestDir(t, "hostile")
	// 500 ms rather than the default 100: the well-behaved requests
	// between the hostile ones must not time out on a loaded machine
	nd := startNode(t, dir, wasmplugins.Options{MemoryLimit: 32 << 20, Timeout: 500 * time.Millisecond}, "")
	up := newUpstream(t)
	nd.setup(up, "hostile", nil)
	nd.waitRoute("/h", func(status int, h http.Header) bool { return status == 200 && h.Get("X-Pinned") == "warmup" })

	tests := []struct {
		mode, phase string
		status      int
		proxied     bool
		log         []string
	}{
		{"loop", "access", 500, false, []string{"wasm plugin hostile: access: timeout: time limit (500ms) exceeded"}},
		{"clock-loop", "access", 500, false, []string{"wasm plugin hostile: access: timeout: time limit (500ms) exceeded"}},
		{"loop", "rewrite", 500, false, []string{"wasm plugin hostile: rewrite: timeout"}},
		{"trap", "rewrite", 500, false, []string{"wasm plugin hostile: rewrite: trap: wasm error: unreachable", "panic: runtime error: invalid memory address or nil pointer dereference"}},
		{"trap", "access", 500, false, []string{"wasm plugin hostile: access: trap: wasm error: unreachable", "panic: runtime error: invalid memory address or nil pointer dereference"}},
		{"trap", "response", 500, true, []string{"wasm plugin hostile: response: trap: wasm error: unreachable", "panic: runtime error: invalid memory address or nil pointer dereference"}},
		{"loop", "response", 500, true, []string{"wasm plugin hostile: response: timeout"}},
		{"trap", "header_filter", 500, true, []string{"wasm plugin hostile: header_filter: trap: wasm error: unreachable", "panic: runtime error: invalid memory address or nil pointer dereference"}},
		{"trap", "body_filter", 500, true, []string{"wasm plugin hostile: body_filter: trap: wasm error: unreachable", "panic: runtime error: invalid memory address or nil pointer dereference"}},
		{"trap", "log", 200, true, []string{"wasm plugin hostile: log: trap: wasm error: unreachable", "panic: runtime error: invalid memory address or nil pointer dereference"}},
		{"oob", "access", 500, false, []string{"wasm plugin hostile: access: pointer out of memory"}},
		{"oob", "header_filter", 500, true, []string{"wasm plugin hostile: header_filter: pointer out of memory"}},
		{"wrong-phase", "header_filter", 500, true, []string{"wasm plugin hostile: header_filter: kong.service.request.set_header cannot be called in header_filter phase (only in: rewrite, access)"}},
		{"wrong-phase", "log", 200, true, []string{"wasm plugin hostile: log: kong.service.request.set_header cannot be called in log phase (only in: rewrite, access)"}},
		{"wrong-phase", "access", 500, false, []string{"wasm plugin hostile: access: body_chunk is only available in body_filter (called in access)"}},
		{"fail", "access", 500, false, []string{"wasm plugin hostile: access: refused by the guest in access"}},
	}
	for i, tt := range tests {
		t.Run(tt.mode+"/"+tt.phase, func(t *testing.T) {
			nd.T = t
			bad := fmt.Sprintf("bad-%d", i)
			status, _, body := nd.get("/h", "X-Id", bad, "X-Hostile", tt.mode, "X-Hostile-Phase", tt.phase)
			if status != tt.status {
				t.Fatalf("status %d (%s), want %d\n%s", status, body, tt.status, nd.Logs.Dump())
			}
			if status == 500 && !strings.Contains(body, "An unexpected error occurred") {
				t.Errorf("body %q, want Kong's 500", body)
			}
			if _, ok := up.got(bad); ok != tt.proxied {
				t.Errorf("the upstream got the request: %v, want %v", ok, tt.proxied)
			}
			checkLog(t, nd, tt.log)
			good := fmt.Sprintf("good-%d", i)
			nextIsServed(t, nd, up, good)
		})
	}
}

// TestHostileAllocation: a guest that allocates without bound hits the
// memory limit (wasm_memory_limit; the time limit here is long enough
// for the limit to be the cause): a 500, the log line, and the next
// request is served by a fresh instance.
func TestHostileAllocation(t *testing.T) {
	dir := guestDir(t, "hostile")
	nd := startNode(t, dir, wasmplugins.Options{MemoryLimit: 32 << 20, Timeout: 5 * time.Second}, "")
	up := newUpstream(t)
	nd.setup(up, "hostile", nil)
	nd.waitRoute("/h", func(status int, h http.Header) bool { return status == 200 && h.Get("X-Pinned") == "warmup" })
	for i, phase := range []string{"access", "header_filter"} {
		status, _, body := nd.get("/h", "X-Id", "bad", "X-Hostile", "alloc", "X-Hostile-Phase", phase)
		if status != 500 || !strings.Contains(body, "An unexpected error occurred") {
			t.Fatalf("%s: %d %q", phase, status, body)
		}
		checkLog(t, nd, []string{"wasm plugin hostile: " + phase + ": memory: memory limit (32 MiB) exceeded (fatal error: out of memory)"})
		nextIsServed(t, nd, up, fmt.Sprint("good-", i))
	}
}

func checkLog(t *testing.T, nd *node, parts []string) {
	t.Helper()
	if line, ok := nd.Logs.Find(parts...); !ok {
		t.Errorf("no log line with %q:\n%s", parts, nd.Logs.Dump())
	} else if !strings.Contains(line, "plugin=hostile") {
		t.Errorf("log line %q does not name the plugin", line)
	}
}

// nextIsServed: a well-behaved request on the same route and connection
// is served whole, its phases on one instance.
func nextIsServed(t *testing.T, nd *node, up *upstream, id string) {
	t.Helper()
	status, h, body := nd.get("/h", "X-Id", id)
	if status != 200 || h.Get("X-Pinned") != id || body != "up|"+id {
		t.Fatalf("the next request: %d %q x-pinned=%q", status, body, h.Get("X-Pinned"))
	}
	if uh, ok := up.got(id); !ok || uh.Get("X-Seen") != id {
		t.Fatalf("the next request upstream: %v %v", ok, uh)
	}
}

// TestNoWASIGrants: a guest reads no file, lists no directory, writes
// nothing, and sees no environment variables and no arguments.
func TestNoWASIGrants(t *testing.T) {
	dir := guestDir(t, "hostile")
	nd := startNode(t, dir, wasmplugins.Options{Timeout: 2 * time.Second}, "")
	up := newUpstream(t)
	nd.setup(up, "hostile", nil)
	nd.waitRoute("/h", func(status int, h http.Header) bool { return status == 200 && h.Get("X-Pinned") == "warmup" })
	t.Setenv("GATEHOUSE_WASI_CANARY", "visible")
	status, _, _ := nd.get("/h", "X-Id", "wasi", "X-Hostile", "wasi")
	h, ok := up.got("wasi")
	if status != 200 || !ok || h.Get("X-Wasi") != "true|true|true|0|0" {
		t.Fatalf("%d: x-wasi = %q (file error|dir error|write error|env vars|args)", status, h.Get("X-Wasi"))
	}
}

// TestWASIGrants: wasm_grant_env passes exactly the named variables of
// the node's environment, wasm_grant_dir mounts a directory read-only at
// /data (no write, no escape with ../, nothing else of the host's file
// system); without them a guest sees neither.
func TestWASIGrants(t *testing.T) {
	dir := guestDir(t, "hostile")
	root := t.TempDir()
	data := filepath.Join(root, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "granted.txt"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	// a sibling of the mounted directory, which ../ must not reach
	if err := os.WriteFile(filepath.Join(root, "outside.txt"), []byte("no"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GATEHOUSE_GRANTED", "yes")
	t.Setenv("GATEHOUSE_NOT_GRANTED", "leak")
	tests := []struct {
		name string
		opts wasmplugins.Options
		want string
	}{
		{"none", wasmplugins.Options{}, "||0|ERR|true|true|true"},
		{"env", wasmplugins.Options{GrantEnv: []string{"GATEHOUSE_GRANTED", "GATEHOUSE_ABSENT"}}, "yes||1|ERR|true|true|true"},
		{"env and dir", wasmplugins.Options{GrantEnv: []string{"GATEHOUSE_GRANTED"}, GrantDir: data}, "yes||1|secret|true|true|true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Timeout = 2 * time.Second
			nd := startNode(t, dir, tt.opts, "")
			up := newUpstream(t)
			nd.setup(up, "hostile", nil)
			nd.waitRoute("/h", func(status int, h http.Header) bool { return status == 200 && h.Get("X-Pinned") == "warmup" })
			status, _, _ := nd.get("/h", "X-Id", "grants", "X-Hostile", "grants")
			h, ok := up.got("grants")
			if status != 200 || !ok || h.Get("X-Grants") != tt.want {
				t.Fatalf("%d: x-grants = %q, want %q (granted|not granted|variables|file|write error|escape error|/etc error)",
					status, h.Get("X-Grants"), tt.want)
			}
			if _, err := os.Stat(filepath.Join(data, "new.txt")); err == nil {
				t.Fatal("the guest wrote into the granted directory")
			}
		})
	}
	if _, err := wasmplugins.New(wasmplugins.Options{PluginsDir: dir, GrantDir: filepath.Join(data, "granted.txt")}); err == nil ||
		!strings.Contains(err.Error(), "wasm_grant_dir") || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("a file as wasm_grant_dir: %v", err)
	}
}
