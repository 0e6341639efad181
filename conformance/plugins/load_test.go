package plugins_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
)

// TestLuaCounterUnderLoad: 8 keep-alive clients send 25 requests each
// through the Lua counter plugin (ngx.shared's incr, across the pool's
// states): every request gets a distinct count, 1 to 200, and the
// upstream sees every request.
func TestLuaCounterUnderLoad(t *testing.T) {
	const clients, each = 8, 25
	opts, _ := luaRuntime.Node(t)
	n := testnode.StartWith(t, map[string]string{"plugins": "bundled,sc-counter"}, opts)
	var mu sync.Mutex
	upstreamHits := 0
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		upstreamHits++
		mu.Unlock()
		io.WriteString(w, "ok")
	}))
	defer up.Close()
	admin := "http://" + n.Addr("admin")
	for _, c := range []struct {
		path string
		body map[string]any
	}{
		{"/services", map[string]any{"name": "s", "url": up.URL}},
		{"/services/s/routes", map[string]any{"name": "s", "paths": []any{"/s"}}},
		{"/routes/s/plugins", map[string]any{"name": "sc-counter"}},
	} {
		b, _ := json.Marshal(c.body)
		res, err := http.Post(admin+c.path, "application/json", bytes.NewReader(b))
		if err != nil || res.StatusCode != 201 {
			t.Fatalf("POST %s: %v %v", c.path, res, err)
		}
		res.Body.Close()
	}
	proxy := "http://" + n.Addr("proxy") + "/s"
	// Wait for the plugin with another user's requests.
	deadline := time.Now().Add(5 * time.Second)
	for {
		req, _ := http.NewRequest("GET", proxy, nil)
		req.Header.Set("X-User", "warmup")
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if res.Header.Get("X-Count") != "" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the counter plugin never served")
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	upstreamHits = 0
	mu.Unlock()

	seen := make([]int, clients*each+1)
	var seenMu sync.Mutex
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr}
			for i := 0; i < each; i++ {
				req, _ := http.NewRequest("GET", proxy, nil)
				req.Header.Set("X-User", "loaded")
				res, err := hc.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				n, err := strconv.Atoi(res.Header.Get("X-Count"))
				if res.StatusCode != 200 || err != nil || n < 1 || n > clients*each {
					t.Errorf("status %d, X-Count %q", res.StatusCode, res.Header.Get("X-Count"))
					return
				}
				seenMu.Lock()
				seen[n]++
				seenMu.Unlock()
			}
		}()
	}
	wg.Wait()
	for i := 1; i <= clients*each; i++ {
		if seen[i] != 1 {
			t.Fatalf("count %d was given %d times, want once each from 1 to %d", i, seen[i], clients*each)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if upstreamHits != clients*each {
		t.Errorf("the upstream saw %d requests, want %d", upstreamHits, clients*each)
	}
}
