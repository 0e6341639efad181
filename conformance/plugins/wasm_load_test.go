package plugins_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
)

// TestWasmUnderLoad: 8 keep-alive clients send 25 requests each through
// two SDK plugins compiled to Wasm on one route (api-key, then
// header-rewrite on every response), with valid and invalid keys
// interleaved. Each request gets exactly its own answer: a valid key is
// proxied with its own key index and the added header, an invalid one is
// refused with 403 and never proxied, and every response (the refusals
// included) carries header-rewrite's mark. The pools serve concurrent
// requests, each pinned to its instance from access to header_filter.
func TestWasmUnderLoad(t *testing.T) {
	const clients, each = 8, 25
	// A generous wasm_timeout: this test is about concurrency and pinning,
	// and the race detector slows the guests down tenfold.
	opts := wasmNode(t, 5*time.Second)
	n := testnode.StartWith(t, map[string]string{"plugins": "bundled,sc-api-key,sc-header-rewrite"}, opts)
	var mu sync.Mutex
	proxied := map[string]int{}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		proxied[r.Header.Get("X-Api-Key")+"/"+r.Header.Get("X-Key-Index")+"/"+r.Header.Get("X-Added")]++
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
		{"/routes/s/plugins", map[string]any{"name": "sc-api-key", "config": map[string]any{"keys": []any{"k1", "k2", "k3"}}}},
		{"/routes/s/plugins", map[string]any{"name": "sc-header-rewrite", "config": map[string]any{"header": "X-Added", "value": "yes"}}},
	} {
		b, _ := json.Marshal(c.body)
		res, err := http.Post(admin+c.path, "application/json", bytes.NewReader(b))
		if err != nil || res.StatusCode != 201 {
			t.Fatalf("POST %s: %v %v", c.path, res, err)
		}
		res.Body.Close()
	}
	proxy := "http://" + n.Addr("proxy") + "/s"
	// Wait for both plugins: a warm-up request refused by api-key and
	// marked by header-rewrite.
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest("GET", proxy, nil)
		req.Header.Set("X-Api-Key", "warmup")
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 403 && res.Header.Get("X-Scenario") == "header-rewrite" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the plugins never served")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Requests sent before the plugins applied went upstream unchecked.
	mu.Lock()
	clear(proxied)
	mu.Unlock()
	var wantProxied atomic.Int64

	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr}
			for i := 0; i < each; i++ {
				key, want := "k"+strconv.Itoa(1+(c+i)%3), 200
				if (c+i)%4 == 0 {
					key, want = "bad-"+strconv.Itoa(c), 403
				} else {
					wantProxied.Add(1)
				}
				req, _ := http.NewRequest("GET", proxy, nil)
				req.Header.Set("X-Api-Key", key)
				res, err := hc.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != want || res.Header.Get("X-Scenario") != "header-rewrite" {
					t.Errorf("key %s: %d %q (X-Scenario %q), want %d", key, res.StatusCode, body, res.Header.Get("X-Scenario"), want)
					return
				}
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for k, v := range proxied {
		switch k {
		case "k1/1/yes", "k2/2/yes", "k3/3/yes":
			total += v
		default:
			t.Errorf("the upstream got %d requests as %q (key/index/added)", v, k)
		}
	}
	if want := int(wantProxied.Load()); total != want {
		t.Errorf("the upstream got %d requests, want %d", total, want)
	}
}
