package proxywasm_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
)

// TestFilters runs the test filter as a plugin on routes and services of
// one node.
func TestFilters(t *testing.T) {
	dir := t.TempDir()
	buildFilter(t, dir, "filter", "pwfilter")
	// a generous time limit: a Go guest starting under -race on a busy
	// machine is slow (the instantiation limit is ten times this one)
	nd := startNode(t, dir, wasmplugins.Options{Timeout: 2 * time.Second})
	up := newEcho(t)

	nd.route("headers", up.URL, "/headers", "pwfilter", map[string]any{
		"add_req": map[string]string{"x-added": "a"}, "replace_req": map[string]string{"x-rep": "new"},
		"remove_req": []string{"x-remove"}, "echo_method_to": "x-method",
		"add_resp": map[string]string{"x-resp-added": "b"}, "replace_resp": map[string]string{"x-up-replace": "new"},
		"remove_resp": []string{"x-up-remove"},
	}, false)
	nd.route("pairs", up.URL, "/pairs", "pwfilter", `{"set_req_pairs": true}`, false)
	nd.route("bodies", up.URL, "/bodies", "pwfilter", map[string]any{"req_body_suffix": "+req", "resp_body_prefix": "pre:"}, true)
	nd.route("deny", up.URL, "/deny", "pwfilter", map[string]any{"deny_header": "x-deny", "log_count_key": "logged"}, false)
	props := []string{"kong.route_id", "kong.service_id", "kong.route_name", "kong.service_name", "kong.client.consumer_id",
		"request.path", "request.method", "plugin_name", "source.address", "request.headers.x-in", "kong.nothing", "ngx.request_uri", "destination.address"}
	routeID, serviceID := nd.route("props", up.URL, "/props", "pwfilter", map[string]any{"props": props}, false)
	nd.mustCreate("/routes/props/plugins", map[string]any{"name": "key-auth"})
	consumer := nd.mustCreate("/consumers", map[string]any{"username": "alice"})
	nd.mustCreate("/consumers/alice/key-auth", map[string]any{"key": "alice-key"})
	for _, where := range []string{"request_headers", "request_body", "response_headers", "response_body"} {
		nd.route("trap-"+where, up.URL, "/trap-"+where, "pwfilter", map[string]any{"trap": where, "resp_body_prefix": "ok:"}, false)
	}
	checker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if user := r.URL.Query().Get("user"); user == "alice" && r.Header.Get("X-From") == "filter" && string(b) == "ping" && r.URL.Path == "/check" {
			w.Write([]byte("ok-" + user))
			return
		}
		w.WriteHeader(401)
		w.Write([]byte("no"))
	}))
	defer checker.Close()
	checkerHost := strings.TrimPrefix(checker.URL, "http://")
	nd.route("call", up.URL, "/call", "pwfilter", map[string]any{"call_upstream": checkerHost, "call_path": "/check"}, false)
	nd.route("trap-http_call_response", up.URL, "/trap-http_call_response", "pwfilter", map[string]any{"call_upstream": checkerHost, "call_path": "/check", "trap": "http_call_response", "resp_body_prefix": "ok:"}, false)
	nd.route("logread", up.URL, "/logread", "pwfilter", map[string]any{"count_key": "logged"}, false)
	nd.route("queue", up.URL, "/queue", "pwfilter", map[string]any{"queue": "q1"}, false)
	nd.route("qread", up.URL, "/qread", "pwfilter", map[string]any{"count_key": "last-msg"}, false)
	nd.route("metric", up.URL, "/metric", "pwfilter", map[string]any{"metric": "requests"}, false)
	nd.route("ticks", up.URL, "/ticks", "pwfilter", map[string]any{"tick_ms": 10, "count_key": "ticks"}, false)
	// the last plugin created: once it runs, every route and plugin above does
	nd.waitFilter("/ticks", "X-Count")

	t.Run("headers both ways", func(t *testing.T) {
		status, h, body := nd.do("GET", "/headers?q=1", "", "X-Rep", "old", "X-Remove", "1", "X-Keep", "k")
		if status != 200 {
			t.Fatalf("status %d %s", status, body)
		}
		e := decode(t, body)
		checks := []struct{ name, got, want string }{
			{"upstream x-added", strings.Join(e.Headers["X-Added"], ","), "a"},
			{"upstream x-rep", strings.Join(e.Headers["X-Rep"], ","), "new"},
			{"upstream x-remove", strings.Join(e.Headers["X-Remove"], ","), ""},
			{"upstream x-keep", strings.Join(e.Headers["X-Keep"], ","), "k"},
			{"upstream x-method (:method)", strings.Join(e.Headers["X-Method"], ","), "GET"},
			{"upstream uri", e.URI, "/?q=1"},
			{"response x-resp-added", h.Get("X-Resp-Added"), "b"},
			{"response x-up-replace", strings.Join(h.Values("X-Up-Replace"), ","), "new"},
			{"response x-up-remove", h.Get("X-Up-Remove"), ""},
			{"response x-upstream", h.Get("X-Upstream"), "echo"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
			}
		}
	})

	t.Run("set header map pairs", func(t *testing.T) {
		status, _, body := nd.do("GET", "/pairs", "", "X-Drop", "1", "X-Keep", "k")
		if status != 200 {
			t.Fatalf("status %d %s", status, body)
		}
		e := decode(t, body)
		if e.Headers["X-Drop"] != nil || strings.Join(e.Headers["X-Keep"], ",") != "k" || len(e.Headers["X-Pairs"]) != 1 {
			t.Fatalf("upstream headers %v: want x-drop gone, x-keep kept, x-pairs set", e.Headers)
		}
	})

	t.Run("bodies both ways on a service", func(t *testing.T) {
		status, _, body := nd.do("POST", "/bodies", "hello", "Content-Type", "text/plain")
		rest, ok := strings.CutPrefix(body, "pre:")
		if status != 200 || !ok {
			t.Fatalf("status %d body %q: want 200 and the prefix pre:", status, body)
		}
		if e := decode(t, rest); e.Body != "hello+req" {
			t.Fatalf("upstream body %q, want hello+req", e.Body)
		}
	})

	t.Run("local response", func(t *testing.T) {
		before := up.hits.Load()
		status, h, body := nd.do("GET", "/deny", "", "X-Deny", "yes")
		if status != 403 || body != "denied: yes" || h.Get("X-Why") != "filter" {
			t.Fatalf("got %d %q %v, want 403 \"denied: yes\" with x-why", status, body, h)
		}
		if up.hits.Load() != before {
			t.Fatal("a local response was proxied")
		}
		if status, _, _ := nd.do("GET", "/deny", ""); status != 200 {
			t.Fatalf("without the header: %d", status)
		}
	})

	t.Run("proxy_on_log runs after local and proxied responses", func(t *testing.T) {
		count := func() int {
			status, _, body := nd.do("GET", "/logread", "")
			if status != 200 {
				t.Fatalf("status %d", status)
			}
			n, _ := strconv.Atoi(strings.Join(decode(t, body).Headers["X-Count"], ""))
			return n
		}
		first := count()
		for i := 0; i < 5; i++ {
			nd.do("GET", "/deny", "", "X-Deny", "yes")
			nd.do("GET", "/deny", "")
		}
		deadline := time.Now().Add(5 * time.Second)
		for count() < first+10 {
			if time.Now().After(deadline) {
				t.Fatalf("proxy_on_log ran %d times for 10 requests", count()-first)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("properties", func(t *testing.T) {
		status, h, body := nd.do("GET", "/props/x?a=b", "", "apikey", "alice-key", "X-In", "v1")
		if status != 200 {
			t.Fatalf("status %d %s", status, body)
		}
		want := map[string]string{
			"kong.route_id": routeID, "kong.service_id": serviceID, "kong.route_name": "props",
			"kong.service_name": "props-svc", "kong.client.consumer_id": consumer["id"].(string),
			"request.path": "/props/x?a=b", "request.method": "GET", "plugin_name": "pwfilter",
			"request.headers.x-in": "v1", "kong.nothing": "(none)", "ngx.request_uri": "/props/x?a=b",
		}
		for p, w := range want {
			if got := h.Get("X-Prop-" + p); got != w {
				t.Errorf("property %s = %q, want %q", p, got, w)
			}
		}
		if a := h.Get("X-Prop-source.address"); !strings.HasPrefix(a, "127.0.0.1:") {
			t.Errorf("source.address = %q", a)
		}
		if a := h.Get("X-Prop-destination.address"); a != strings.TrimPrefix(nd.Proxy, "http://") {
			t.Errorf("destination.address = %q, want the proxy listener %s", a, nd.Proxy)
		}
	})

	t.Run("a trap in each callback fails closed", func(t *testing.T) {
		for _, where := range []string{"request_headers", "request_body", "response_headers", "response_body", "http_call_response"} {
			path := "/trap-" + where
			before := up.hits.Load()
			status, _, body := nd.do("POST", path, "data", "X-Trap", "1", "X-User", "alice")
			if status != 500 {
				t.Errorf("%s: a trap answered %d %q, want 500", where, status, body)
			}
			if !strings.HasPrefix(where, "response") && up.hits.Load() != before {
				t.Errorf("%s: the request was proxied after the trap", where)
			}
			if strings.Contains(body, "ok:") {
				t.Errorf("%s: a half-processed response was sent: %q", where, body)
			}
			status, _, body = nd.do("POST", path, "data", "X-User", "alice")
			if status != 200 || !strings.HasPrefix(body, "ok:") {
				t.Errorf("%s: the next request got %d %q, want 200 through the filter", where, status, body)
			}
		}
		if !nd.Logs.Has("pwfilter", "trap in request_headers") {
			t.Error("the trap's cause is not in the log")
		}
	})

	t.Run("http call decides while the request waits", func(t *testing.T) {
		status, _, body := nd.do("GET", "/call", "", "X-User", "alice")
		if status != 200 {
			t.Fatalf("status %d %s", status, body)
		}
		if got := strings.Join(decode(t, body).Headers["X-Call"], ","); got != "ok-alice" {
			t.Fatalf("upstream x-call = %q, want ok-alice", got)
		}
		before := up.hits.Load()
		status, _, body = nd.do("GET", "/call", "", "X-User", "mallory")
		if status != 403 || body != "call said 401: no" || up.hits.Load() != before {
			t.Fatalf("refused call: %d %q (proxied: %v), want 403 \"call said 401: no\" not proxied", status, body, up.hits.Load() != before)
		}
	})

	t.Run("tick updates shared data requests read", func(t *testing.T) {
		count := func() int {
			status, _, body := nd.do("GET", "/ticks", "")
			if status != 200 {
				t.Fatalf("status %d", status)
			}
			n, _ := strconv.Atoi(strings.Join(decode(t, body).Headers["X-Count"], ""))
			return n
		}
		first := count()
		deadline := time.Now().Add(5 * time.Second)
		for count() <= first {
			if time.Now().After(deadline) {
				t.Fatalf("the tick count stayed at %d", first)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("shared queue", func(t *testing.T) {
		for _, msg := range []string{"first", "second"} {
			if status, _, body := nd.do("GET", "/queue", "", "X-Msg", msg); status != 200 {
				t.Fatalf("enqueue: %d %s", status, body)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				_, _, body := nd.do("GET", "/qread", "")
				got := strings.Join(decode(t, body).Headers["X-Count"], "")
				if got == msg {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("proxy_on_queue_ready never stored %q (last-msg %q)", msg, got)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		var last int
		for i := 0; i < 3; i++ {
			status, h, _ := nd.do("GET", "/metric", "")
			n, err := strconv.Atoi(h.Get("X-Metric"))
			if status != 200 || err != nil || n <= last {
				t.Fatalf("request %d: %d x-metric %q after %d: want a growing counter", i, status, h.Get("X-Metric"), last)
			}
			last = n
		}
	})

	t.Run("keep-alive concurrency", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; i < 20; i++ {
					v := fmt.Sprintf("%d-%d", g, i)
					status, h, body := nd.do("POST", "/bodies", v)
					rest, ok := strings.CutPrefix(body, "pre:")
					if status != 200 || !ok || !strings.Contains(rest, `"body":"`+v+`+req"`) {
						errs <- fmt.Errorf("%s: %d %q %v", v, status, body, h)
						return
					}
				}
			}(g)
		}
		wg.Wait()
		close(errs)
		failed := false
		for err := range errs {
			t.Error(err)
			failed = true
		}
		if failed {
			t.Log(nd.Logs.Dump())
		}
	})
}

// TestUnknownImportFailsAtLoad: a filter importing a function the host
// does not provide fails to load, and the error names the import.
func TestUnknownImportFailsAtLoad(t *testing.T) {
	dir := t.TempDir()
	buildFilter(t, dir, "unknownimport", "unknown")
	_, err := wasmplugins.New(wasmplugins.Options{PluginsDir: dir, CacheDir: filepath.Join(t.TempDir(), "c")})
	if err == nil || !strings.Contains(err.Error(), "proxy_does_not_exist") || !strings.Contains(err.Error(), "unknown.wasm") {
		t.Fatalf("load error %v: want one naming unknown.wasm and proxy_does_not_exist", err)
	}
	_ = os.Remove
}

// TestLegacyFilter: an ABI 0.2.0 filter importing wasi_unstable (and
// exporting malloc instead of proxy_on_memory_allocate) loads and runs;
// its Pause with nothing pending lets the request go on.
func TestLegacyFilter(t *testing.T) {
	dir := t.TempDir()
	buildFilter(t, dir, "legacy", "legacy")
	nd := startNode(t, dir, wasmplugins.Options{Timeout: 2 * time.Second})
	up := newEcho(t)
	nd.route("legacy", up.URL, "/legacy", "legacy", "", false)
	body := nd.waitFilter("/legacy", "X-Random", "X-One", "1")
	e := decode(t, body)
	for name, want := range map[string]string{"X-Random": "true", "X-Continue": "0", "X-Log-Level": "1"} { // the test logger takes debug lines
		if got := strings.Join(e.Headers[name], ","); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	n, err := strconv.Atoi(strings.Join(e.Headers["X-Headers"], ""))
	if err != nil || n < 2 {
		t.Errorf("x-headers (the callback's header count) = %q", e.Headers["X-Headers"])
	}
	if size, err := strconv.Atoi(strings.Join(e.Headers["X-Map-Size"], "")); err != nil || size < 4+8*n {
		t.Errorf("x-map-size = %q: want the serialized size of %d pairs", e.Headers["X-Map-Size"], n)
	}
}

// TestHostileFilter: a filter attacking the host ends its request with
// 500 (never proxied) and the node keeps serving; malformed input the
// ABI answers with a status gets that status.
func TestHostileFilter(t *testing.T) {
	dir := t.TempDir()
	buildFilter(t, dir, "hostile", "hostile")
	nd := startNode(t, dir, wasmplugins.Options{Timeout: 300 * time.Millisecond})
	up := newEcho(t)
	nd.route("hostile", up.URL, "/hostile", "hostile", "", false)
	nd.waitFilter("/hostile", "X-Pairs-Status", "X-Attack", "pairs")
	for _, attack := range []string{"pointer", "loop", "action", "allocator", "spinning-allocator"} {
		before := up.hits.Load()
		status, _, body := nd.do("GET", "/hostile", "", "X-Attack", attack)
		if status != 500 || up.hits.Load() != before {
			t.Errorf("%s: %d %q (proxied: %v), want 500 not proxied", attack, status, body, up.hits.Load() != before)
		}
		if status, _, _ := nd.do("GET", "/hostile", ""); status != 200 {
			t.Errorf("after %s: %d, want 200", attack, status)
		}
	}
	status, _, body := nd.do("GET", "/hostile", "", "X-Attack", "pairs")
	if status != 200 {
		t.Fatalf("pairs: %d %s", status, body)
	}
	e := decode(t, body)
	for name, want := range map[string]string{"X-Pairs-Status": "3", "X-Local-Status": "3", "X-Status-Code": "2"} {
		if got := strings.Join(e.Headers[name], ","); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}
