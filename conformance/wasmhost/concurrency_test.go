package wasmhost_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
)

// TestConcurrentKeepAlive: eight keep-alive clients send requests at once
// through a global Wasm plugin with rewrite, access, header_filter,
// body_filter and log phases. The guest keeps the request's X-Id in a
// global variable in access and reads it back in header_filter and
// body_filter: every response carries its own id, so every request's
// phases ran on one instance, never shared with another request.
func TestConcurrentKeepAlive(t *testing.T) {
	dir := guestDir(t, "hostile")
	nd := startNode(t, dir, wasmplugins.Options{Timeout: time.Second}, "")
	up := newUpstream(t)
	nd.setup(up, "hostile", nil)
	nd.waitRoute("/h", func(status int, h http.Header) bool { return status == 200 && h.Get("X-Pinned") == "warmup" })

	const clients, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 10 * time.Second}
			for i := 0; i < each; i++ {
				id := fmt.Sprintf("c%d-r%d", c, i)
				req, _ := http.NewRequest("GET", nd.Proxy+"/h", nil)
				req.Header.Set("X-Id", id)
				res, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				var b [64]byte
				n, _ := res.Body.Read(b[:])
				res.Body.Close()
				if res.StatusCode != 200 || res.Header.Get("X-Pinned") != id || string(b[:n]) != "up|"+id {
					errs <- fmt.Errorf("%s: %d x-pinned=%q body=%q", id, res.StatusCode, res.Header.Get("X-Pinned"), b[:n])
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for c := 0; c < clients; c++ {
		for i := 0; i < each; i++ {
			id := fmt.Sprintf("c%d-r%d", c, i)
			if h, ok := up.got(id); !ok || h.Get("X-Seen") != id {
				t.Fatalf("%s upstream: %v %v", id, ok, h)
			}
		}
	}
}

// TestCompilationCacheAcrossRestarts: the first node compiles the module
// into <prefix>/wasm-cache; a node restarted on the same prefix loads it
// from there, writing nothing new, and serves the plugin.
func TestCompilationCacheAcrossRestarts(t *testing.T) {
	dir := guestDir(t, "hostile")
	prefix := t.TempDir()
	cache := filepath.Join(prefix, wasmplugins.CacheDirName)
	first := startNode(t, dir, wasmplugins.Options{Timeout: 2 * time.Second}, prefix)
	before := cacheFiles(t, cache)
	if len(before) == 0 {
		t.Fatalf("%s is empty after the first start", cache)
	}
	if err := first.N.Close(); err != nil {
		t.Fatal(err)
	}
	second := startNode(t, dir, wasmplugins.Options{Timeout: 2 * time.Second}, prefix)
	after := cacheFiles(t, cache)
	if len(after) != len(before) {
		t.Fatalf("the restart wrote to the cache: %d files, then %d", len(before), len(after))
	}
	for name, mod := range before {
		if after[name] != mod {
			t.Fatalf("the restart rewrote %s", name)
		}
	}
	up := newUpstream(t)
	second.setup(up, "hostile", nil)
	second.waitRoute("/h", func(status int, h http.Header) bool { return status == 200 && h.Get("X-Pinned") == "warmup" })
}

// cacheFiles lists the files under dir with their modification times.
func cacheFiles(t *testing.T, dir string) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !info.IsDir() {
			out[path] = info.ModTime()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
