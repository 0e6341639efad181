package proxywasm_test

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
	"github.com/gatehouse/gatehouse/plugins-wasm/proxywasm"
	"github.com/gatehouse/gatehouse/runtime/plugins/prometheus"
)

// wireWasmMetrics installs proxywasm.Metrics as the prometheus plugin's
// Wasm metric source, as cmd/gatehouse does.
func wireWasmMetrics(t *testing.T) {
	prometheus.SetWasmMetrics(func() []prometheus.WasmMetric {
		var out []prometheus.WasmMetric
		for _, m := range proxywasm.Metrics() {
			w := prometheus.WasmMetric{Name: m.Name, Type: m.Type, Value: float64(m.Value), Sum: float64(m.Sum)}
			for _, b := range m.Buckets {
				ub := float64(b.UpperBound)
				if b.UpperBound == math.MaxUint32 {
					ub = math.Inf(1)
				}
				w.Buckets = append(w.Buckets, prometheus.WasmBucket{UpperBound: ub, Count: b.Count})
			}
			out = append(out, w)
		}
		return out
	})
	t.Cleanup(func() { prometheus.SetWasmMetrics(nil) })
}

// TestABI2 runs testdata/abi2 through the proxy listener: trailer maps,
// proxy_get_status, root-context http calls (from proxy_on_configure and
// proxy_on_tick, one timing out), Kong's writable properties, the
// resolve_lua foreign function (at once and through
// proxy_on_foreign_function), an unknown foreign function trapping, and
// the filter's metrics on GET /metrics.
func TestABI2(t *testing.T) {
	wireWasmMetrics(t)
	proxywasm.SetNodeInfo(&proxywasm.NodeInfo{Version: "3.9.3", Configuration: map[string]any{"log_level": "notice", "plugins": []string{"bundled", "abi2"}}})
	t.Cleanup(func() { proxywasm.SetNodeInfo(nil) })
	dir := t.TempDir()
	buildFilter(t, dir, "abi2", "abi2")
	nd := startNode(t, dir, wasmplugins.Options{Timeout: 2 * time.Second})
	up, up2 := newEcho(t), newEcho(t)

	var ticks atomic.Int64
	root := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/configure":
			w.Write([]byte("conf-ok"))
		case "/tick":
			w.WriteHeader(201)
			fmt.Fprintf(w, "tick-%d", ticks.Add(1))
		case "/teapot":
			w.WriteHeader(418)
			w.Write([]byte("short and stout"))
		default:
			w.WriteHeader(404)
		}
	}))
	defer root.Close()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // until the caller gives up
	}))
	defer hang.Close()
	host := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }
	conf := map[string]any{"root_call": host(root), "hang_call": host(hang), "call": host(root), "tick_ms": 30}
	nd.route("abi2", up.URL, "/abi2", "abi2", conf, false)
	nd.route("abi2-svc", up.URL, "/abi2-svc", "abi2", conf, true)

	// the root context's calls: from configure (answered), from configure
	// timing out (dispatch status "timeout", status 0), and from ticks
	var got http.Header
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		// the filter adds request headers; the echo shows them
		status, _, body := nd.do("GET", "/abi2", "")
		if status == 200 && strings.HasPrefix(body, "{") {
			hs := decode(t, body).Headers
			got = http.Header(hs)
			if got.Get("X-Abi2-Configure") != "" && got.Get("X-Abi2-Tick") != "" && got.Get("X-Abi2-Hang") != "" && got.Get("X-Abi2-Wasmx-Root") != "" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("root calls not answered: %v\n%s", got, nd.Logs.Dump())
		}
	}
	for name, want := range map[string]string{
		"X-Abi2-Configure":  "200||conf-ok",
		"X-Abi2-Hang":       "0|timeout|",
		"X-Trailers":        "0:0:2", // read OK, no pairs, add refused (BadArgument)
		"X-Status-Outside":  "1",     // NotFound outside a call's answer
		"X-Subsystem":       "http",
		"X-Tls":             "1:1",       // plain HTTP: connection.tls_version, connection.mtls NotFound
		"X-Conf-Set":        "2",         // kong.configuration.* is read-only
		"X-Abi2-Wasmx-Root": "configure", // set in proxy_on_configure, read in proxy_on_tick
		"X-Wasmx-Http":      "1",         // the root context's wasmx.* is not the request's
	} {
		if v := got.Get(name); v != want {
			t.Errorf("%s = %q, want %q", name, v, want)
		}
	}
	if v := got.Get("X-Abi2-Tick"); !strings.HasPrefix(v, "201||tick-") {
		t.Errorf("X-Abi2-Tick = %q", v)
	}
	if v := got.Get("X-Ua"); !strings.HasPrefix(v, "Go-http-client") {
		t.Errorf("request.useragent = %q", v)
	}
	// ticks go on calling: the count the requests see grows
	first := ticks.Load()
	for deadline := time.Now().Add(10 * time.Second); ticks.Load() < first+2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("ticks stopped calling at %d", ticks.Load())
		}
	}

	t.Run("wasmx host properties per request", func(t *testing.T) {
		status, h, body := nd.do("GET", "/abi2", "")
		v := h.Get("X-Wasmx")
		req, ctxID, ok := strings.Cut(v, "/")
		if status != 200 || !ok || req != "http-"+ctxID {
			t.Fatalf("%d x-wasmx %q %s", status, v, body)
		}
	})

	t.Run("log-phase properties", func(t *testing.T) {
		// the log phase runs after the response: a later request reads
		// what an earlier one's proxy_on_log stored
		upAddr := strings.TrimPrefix(up.URL, "http://")
		var v string
		props := map[string]string{}
		for deadline := time.Now().Add(10 * time.Second); props["upstream.address"] != upAddr; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no log properties of a proxied request: %q", v)
			}
			_, _, body := nd.do("GET", "/abi2", "")
			v = http.Header(decode(t, body).Headers).Get("X-Abi2-Log")
			for _, kv := range strings.Split(v, ";") {
				k, val, _ := strings.Cut(kv, "=")
				props[k] = val
			}
		}
		_, upPort, _ := strings.Cut(upAddr, ":")
		if props["upstream.address"] != upAddr || props["upstream.port"] != upPort || props["connection.tls_version"] != "<1>" {
			t.Fatalf("log properties %q (upstream %s)", v, upAddr)
		}
		for _, p := range []string{"request.time", "request.duration", "request.total_size", "response.total_size"} {
			if props[p] == "" || strings.HasPrefix(props[p], "<") {
				t.Fatalf("%s = %q in %q", p, props[p], v)
			}
		}
		if sec, _, _ := strings.Cut(props["request.time"], "."); sec < fmt.Sprint(time.Now().Add(-time.Hour).Unix()) {
			t.Fatalf("request.time %q", props["request.time"])
		}
	})

	t.Run("nginx variables", func(t *testing.T) {
		_, _, body := nd.do("GET", "/abi2/x?a=1&b=2", "", "x-multi", "m1", "x-multi", "m2", "cookie", "c=cv; d=dv")
		if v := http.Header(decode(t, body).Headers).Get("X-Ngx"); v != "/abi2/x|1|m1, m2|cv|GET|?" {
			t.Fatalf("x-ngx %q", v)
		}
		_, _, body = nd.do("GET", "/abi2", "", "x-upstream-uri", "/rewritten?q=1")
		e := decode(t, body)
		if http.Header(e.Headers).Get("X-Upstream-Uri-Set") != "0" || e.URI != "/rewritten?q=1" {
			t.Fatalf("ngx.upstream_uri: set %q, upstream saw %q", http.Header(e.Headers).Get("X-Upstream-Uri-Set"), e.URI)
		}
		before := up.hits.Load()
		if status, _, _ := nd.do("GET", "/abi2", "", "x-ngx-trap", "1"); status != 500 || up.hits.Load() != before {
			t.Fatalf("setting ngx.request_uri: %d", status)
		}
	})

	t.Run("response trailers map", func(t *testing.T) {
		status, h, _ := nd.do("GET", "/abi2", "")
		if status != 200 || h.Get("X-Resp-Trailers") != "0:0:2" {
			t.Fatalf("%d x-resp-trailers %q", status, h.Get("X-Resp-Trailers"))
		}
	})

	t.Run("chunked request with trailers: no trailer callback", func(t *testing.T) {
		req, _ := http.NewRequest("POST", nd.Proxy+"/abi2", io.MultiReader(strings.NewReader("part1"), strings.NewReader("part2")))
		req.ContentLength = -1
		req.Trailer = http.Header{"X-Checksum": {"abc"}}
		res, err := nd.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || decode(t, string(b)).Body != "part1part2" {
			t.Fatalf("%d %s", res.StatusCode, b)
		}
	})

	t.Run("request http call status", func(t *testing.T) {
		_, _, body := nd.do("GET", "/abi2", "", "x-call", "1")
		if v := http.Header(decode(t, body).Headers).Get("X-Call-Status"); v != "418||short and stout" {
			t.Fatalf("x-call-status %q", v)
		}
	})

	t.Run("kong.service.target", func(t *testing.T) {
		before := up2.hits.Load()
		_, _, body := nd.do("GET", "/abi2", "", "x-target", host(up2.Server))
		hs := http.Header(decode(t, body).Headers)
		if hs.Get("X-Target-Set") != "0" || up2.hits.Load() != before+1 {
			t.Fatalf("x-target-set %q, second upstream hits %d", hs.Get("X-Target-Set"), up2.hits.Load()-before)
		}
		_, _, body = nd.do("GET", "/abi2", "", "x-target", "no-port")
		if v := http.Header(decode(t, body).Headers).Get("X-Target-Set"); v != "2" {
			t.Fatalf("a target without a port: %q", v)
		}
		_, _, body = nd.do("GET", "/abi2", "", "x-scheme", "gopher")
		if v := http.Header(decode(t, body).Headers).Get("X-Scheme-Set"); v != "2" {
			t.Fatalf("scheme gopher: %q", v)
		}
	})

	t.Run("resolve_lua", func(t *testing.T) {
		_, _, body := nd.do("GET", "/abi2", "", "x-resolve", "127.0.0.1")
		if v := http.Header(decode(t, body).Headers).Get("X-Resolved-Now"); v != "127.0.0.1" {
			t.Fatalf("an IP literal: %q", v)
		}
		_, _, body = nd.do("GET", "/abi2", "", "x-resolve", "localhost")
		v := http.Header(decode(t, body).Headers).Get("X-Resolved")
		if v != "localhost=127.0.0.1" && v != "localhost=::1" {
			t.Fatalf("localhost through proxy_on_foreign_function: %q", v)
		}
		_, _, body = nd.do("GET", "/abi2", "", "x-resolve", "no-such-host.invalid")
		if v := http.Header(decode(t, body).Headers).Get("X-Resolved"); v != "no-such-host.invalid=" {
			t.Fatalf("an unknown name: %q", v)
		}
	})

	t.Run("unknown foreign function traps", func(t *testing.T) {
		before := up.hits.Load()
		status, _, body := nd.do("GET", "/abi2", "", "x-foreign-unknown", "1")
		if status != 500 || up.hits.Load() != before {
			t.Fatalf("%d %s (proxied: %v)", status, body, up.hits.Load() != before)
		}
		if !nd.Logs.Has("no_such_function") {
			t.Fatalf("the trap is not logged:\n%s", nd.Logs.Dump())
		}
		if status, _, _ := nd.do("GET", "/abi2", ""); status != 200 {
			t.Fatalf("after the trap: %d", status)
		}
	})

	t.Run("keep-alive clients", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				for j := 0; j < 8; j++ {
					path := "/abi2"
					if i%2 == 1 {
						path = "/abi2-svc"
					}
					req, _ := http.NewRequest("GET", nd.Proxy+path, nil)
					req.Header.Set("x-call", "1")
					req.Header.Set("x-resolve", "127.0.0.1")
					res, err := nd.Client.Do(req)
					if err != nil {
						errs <- err
						return
					}
					b, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if res.StatusCode != 200 || !strings.Contains(string(b), "short and stout") || !strings.Contains(string(b), "127.0.0.1") {
						errs <- fmt.Errorf("client %d: %d %s", i, res.StatusCode, b)
						return
					}
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})

	t.Run("metrics on GET /metrics", func(t *testing.T) {
		nd.mustCreate("/plugins", map[string]any{"name": "prometheus", "config": map[string]any{"wasm_metrics": true}})
		var text string
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			nd.do("GET", "/abi2", "") // the prometheus log phase reads the configuration
			res, err := http.Get(nd.Admin + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			text = string(b)
			if strings.Contains(text, "pw_abi2_hits") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no filter metrics:\n%s", text)
			}
		}
		for _, want := range []string{"# TYPE pw_abi2_hits counter", "# TYPE pw_abi2_level gauge", "pw_abi2_level 5",
			"# TYPE pw_abi2_sizes histogram", `pw_abi2_sizes_bucket{le="8"}`, "pw_abi2_sizes_count"} {
			if !strings.Contains(text, want) {
				t.Errorf("/metrics lacks %q:\n%s", want, grepLines(text, "pw_"))
			}
		}
	})
}

// grepLines returns the lines of s containing sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
