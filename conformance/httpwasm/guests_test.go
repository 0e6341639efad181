package httpwasm_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
)

// echo is an upstream that answers with the request it got as JSON
// (method, URI, headers) and counts the requests.
type echo struct {
	*httptest.Server
	hits atomic.Int64
}

type echoed struct {
	Method  string              `json:"method"`
	URI     string              `json:"uri"`
	Headers map[string][]string `json:"headers"`
	Body    string              `json:"body"`
}

func newEcho(t *testing.T) *echo {
	e := &echo{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(echoed{Method: r.Method, URI: r.RequestURI, Headers: r.Header, Body: string(b)})
	}))
	t.Cleanup(e.Close)
	return e
}

// unwrap reads the upstream's echo out of the rewrite guest's
// "wrapped(...)" body.
func unwrap(t *testing.T, body string) echoed {
	t.Helper()
	inner, ok := strings.CutPrefix(body, "wrapped(")
	if !ok || !strings.HasSuffix(inner, ")") {
		t.Fatalf("body %q is not wrapped by handle_response", body)
	}
	var e echoed
	if err := json.Unmarshal([]byte(strings.TrimSuffix(inner, ")")), &e); err != nil {
		t.Fatalf("upstream echo %q: %v", inner, err)
	}
	return e
}

// TestRewriteGuest: a Go guest changes the upstream request (headers,
// URI), reads its own changes back, correlates handle_response with the
// request context and rewrites the buffered response.
func TestRewriteGuest(t *testing.T) {
	dir := t.TempDir()
	buildGuest(t, dir, "rewrite")
	up := newEcho(t)
	nd := startNode(t, dir, wasmplugins.Options{Timeout: 2 * time.Second})
	nd.setup(up.URL, []string{"/rw"}, "rewrite", map[string]any{"config": "plain config"})
	nd.MustCreate("/services/s/routes", map[string]any{"name": "json", "paths": []string{"/json"}})
	nd.MustCreate("/routes/json/plugins", map[string]any{"name": "rewrite", "config": map[string]any{"config": map[string]any{"limit": 3, "names": []string{"a"}}}})
	nd.waitReady("/rw", statusIs(201))
	nd.waitReady("/json", statusIs(201))

	// the plugin's schema on the Admin API: config.config is free-form JSON
	status, raw := nd.Call("GET", "/schemas/plugins/rewrite", nil)
	if status != 200 {
		t.Fatalf("GET /schemas/plugins/rewrite: %d %s", status, raw)
	}
	if !strings.Contains(string(raw), `"config":{"type":"json"}`) {
		t.Fatalf("schema %s lacks config.config of type json", raw)
	}

	tests := []struct {
		name       string
		path       string
		headers    []string
		wantURI    string
		wantConfig string
		wantCtx    string
		wantUriWas string
	}{
		{name: "headers", path: "/rw/x?a=1", headers: []string{"X-In", "v", "X-Drop", "gone", "X-Ctx", "7"},
			wantURI: "/x?a=1", wantConfig: "plain config", wantCtx: "7"},
		{name: "uri", path: "/rw/uri?q=%26", headers: []string{"X-In", "w"},
			wantURI: "/changed?from=guest", wantConfig: "plain config", wantCtx: "0", wantUriWas: "/rw/uri?q=%26"},
		{name: "json config", path: "/json", headers: []string{"X-In", "j", "X-Ctx", "4000000000"},
			wantURI: "/", wantConfig: `{"limit":3,"names":["a"]}`, wantCtx: "4000000000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := nd.do("GET", tc.path, "", tc.headers...)
			if status != 201 {
				t.Fatalf("status %d (want the 201 handle_response set), body %q", status, body)
			}
			e := unwrap(t, body)
			if e.URI != tc.wantURI {
				t.Errorf("upstream URI %q, want %q", e.URI, tc.wantURI)
			}
			in := tc.headers[1]
			if got := e.Headers["X-Rewritten"]; !reflect.DeepEqual(got, []string{in + "-rw"}) {
				t.Errorf("upstream X-Rewritten %q", got)
			}
			if got := e.Headers["X-Multi"]; !reflect.DeepEqual(got, []string{"a", "b"}) {
				t.Errorf("upstream X-Multi %q, want two values", got)
			}
			if got, ok := e.Headers["X-Drop"]; ok {
				t.Errorf("X-Drop reached the upstream: %q", got)
			}
			if got := e.Headers["X-Config"]; !reflect.DeepEqual(got, []string{tc.wantConfig}) {
				t.Errorf("X-Config %q, want %q", got, tc.wantConfig)
			}
			if got, want := h.Get("X-Saw"), in+"-rw|a,b|0"; got != want {
				t.Errorf("X-Saw %q, want %q (the guest's own changes read back)", got, want)
			}
			if got := h.Get("X-Names"); got != "x-multi,x-rewritten" {
				t.Errorf("X-Names %q, want the sorted lower-case names after the changes", got)
			}
			if got := h.Get("X-Req-Ctx"); got != tc.wantCtx {
				t.Errorf("X-Req-Ctx %q, want %q", got, tc.wantCtx)
			}
			if got := h.Get("X-Status-Seen"); got != "200" {
				t.Errorf("X-Status-Seen %q, want the upstream's 200", got)
			}
			if tc.wantUriWas != "" {
				if got := h.Get("X-Uri-Was"); got != tc.wantUriWas {
					t.Errorf("X-Uri-Was %q, want %q", got, tc.wantUriWas)
				}
				if got := h.Get("X-Uri-Now"); got != "/changed?from=guest" {
					t.Errorf("X-Uri-Now %q: the guest's set_uri is not visible to its get_uri", got)
				}
			}
		})
	}
}

// TestAnswerGuest: a guest that does not call next answers the request
// itself; nothing reaches the upstream.
func TestAnswerGuest(t *testing.T) {
	dir := t.TempDir()
	buildGuest(t, dir, "answer")
	up := newEcho(t)
	nd := startNode(t, dir, wasmplugins.Options{Timeout: 2 * time.Second})
	nd.setup(up.URL, []string{"/a"}, "answer", nil)
	nd.waitReady("/a", statusIs(418))
	before := up.hits.Load() // requests made before the plugin applied
	for _, method := range []string{"GET", "POST", "DELETE"} {
		status, h, body := nd.do(method, "/a/teapot?x=%20y", "ignored body")
		if status != 418 {
			t.Fatalf("%s: status %d, body %q", method, status, body)
		}
		if want := "short and stout, " + method + " /a/teapot?x=%20y"; body != want {
			t.Errorf("%s: body %q, want %q", method, body, want)
		}
		if got := h.Values("X-A"); !reflect.DeepEqual(got, []string{"1", "2"}) {
			t.Errorf("%s: X-A %q, want both values", method, got)
		}
		if got := h.Get("X-Features"); got != "0" {
			t.Errorf("%s: enable_features granted %q of buffer_response|trailers in a header_filter plugin, want 0", method, got)
		}
		if got := h.Get("Content-Type"); got != "text/plain" {
			t.Errorf("%s: Content-Type %q", method, got)
		}
	}
	if n := up.hits.Load() - before; n != 0 {
		t.Fatalf("the upstream got %d requests; a guest that answers proxies nothing", n)
	}
}

// TestRequestBodyAfterNext: with buffer_request, a guest whose
// handle_response runs in header_filter still reads the request body
// after next, and the upstream got the body too.
func TestRequestBodyAfterNext(t *testing.T) {
	dir := t.TempDir()
	buildGuest(t, dir, "answer")
	up := newEcho(t)
	nd := startNode(t, dir, wasmplugins.Options{Timeout: 2 * time.Second})
	nd.setup(up.URL, []string{"/a"}, "answer", nil)
	nd.waitReady("/a", statusIs(418))
	status, _, body := nd.do("POST", "/a", "payload-123", "X-Mode", "body-later")
	if status != 200 || !strings.Contains(body, `"body":"payload-123"`) {
		t.Fatalf("%d %q: the upstream should get the body", status, body)
	}
	if _, ok := nd.Logs.Find("body after next: payload-123"); !ok {
		t.Fatal("handle_response did not read the request body after next")
	}
}

// TestFaultsFailClosed: a trap, a time-out, a pointer outside memory and
// a request change after next each end that request with 500, a log line
// naming the plugin, the phase and the cause, nothing proxied half-done;
// the next request is served.
func TestFaultsFailClosed(t *testing.T) {
	dir := t.TempDir()
	buildGuest(t, dir, "answer")
	up := newEcho(t)
	nd := startNode(t, dir, wasmplugins.Options{Timeout: time.Second})
	nd.setup(up.URL, []string{"/a"}, "answer", nil)
	nd.waitReady("/a", statusIs(418))
	tests := []struct {
		mode    string
		phase   string
		cause   string
		reached int64 // upstream requests the mode's request makes
	}{
		{mode: "trap", phase: "access", cause: "the guest gave up"},
		{mode: "loop", phase: "access", cause: "timeout"},
		{mode: "oob", phase: "access", cause: "pointer out of memory"},
		{mode: "late", phase: "header_filter", cause: "can't set request header after next handler", reached: 1},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			before := up.hits.Load()
			status, _, body := nd.do("GET", "/a", "", "X-Mode", tc.mode)
			if status != 500 {
				t.Fatalf("status %d, body %q; want 500", status, body)
			}
			if strings.Contains(body, "method") {
				t.Errorf("the upstream's answer leaked into the 500: %q", body)
			}
			if got := up.hits.Load() - before; got != tc.reached {
				t.Errorf("the upstream got %d requests, want %d", got, tc.reached)
			}
			if _, ok := nd.Logs.Find("answer", tc.phase, tc.cause); !ok {
				t.Errorf("no log line naming the plugin, %s and %q", tc.phase, tc.cause)
			}
			if status, _, body := nd.do("GET", "/a", ""); status != 418 {
				t.Errorf("the next request: %d %q; the gateway should serve on", status, body)
			}
		})
	}
}

// TestConcurrentKeepAlive: 8 keep-alive clients send requests at once;
// each response carries its own request's values (no state crosses
// requests on the pooled instances).
func TestConcurrentKeepAlive(t *testing.T) {
	dir := t.TempDir()
	buildGuest(t, dir, "rewrite")
	up := newEcho(t)
	nd := startNode(t, dir, wasmplugins.Options{Timeout: 5 * time.Second})
	nd.setup(up.URL, []string{"/rw"}, "rewrite", map[string]any{"config": "c"})
	nd.waitReady("/rw", statusIs(201))
	const clients, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 10 * time.Second}
			defer client.CloseIdleConnections()
			for i := 0; i < each; i++ {
				id := fmt.Sprintf("%d-%d", c, i)
				ctx := fmt.Sprint(c*1000 + i)
				req, _ := http.NewRequest("GET", nd.Proxy+"/rw/"+id, nil)
				req.Header.Set("X-In", id)
				req.Header.Set("X-Ctx", ctx)
				res, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				body := string(b)
				switch {
				case res.StatusCode != 201:
					errs <- fmt.Errorf("%s: status %d %q", id, res.StatusCode, body)
				case res.Header.Get("X-Req-Ctx") != ctx:
					errs <- fmt.Errorf("%s: X-Req-Ctx %q, want %q", id, res.Header.Get("X-Req-Ctx"), ctx)
				case !strings.HasPrefix(res.Header.Get("X-Saw"), id+"-rw|"):
					errs <- fmt.Errorf("%s: X-Saw %q", id, res.Header.Get("X-Saw"))
				case !strings.Contains(body, `"X-Rewritten":["`+id+`-rw"]`) || !strings.Contains(body, `"uri":"/`+id+`"`):
					errs <- fmt.Errorf("%s: upstream saw %q", id, body)
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestUpstreamDown: with the upstream unreachable the proxy answers 502
// itself (handle_response is not called); the instance pinned by
// handle_request comes back, and the plugin serves on.
func TestUpstreamDown(t *testing.T) {
	dir := t.TempDir()
	buildGuest(t, dir, "rewrite")
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	up := newEcho(t)
	nd := startNode(t, dir, wasmplugins.Options{Timeout: 2 * time.Second})
	nd.setup(up.URL, []string{"/rw"}, "rewrite", nil)
	nd.MustCreate("/services", map[string]any{"name": "dead", "url": deadURL})
	nd.MustCreate("/services/dead/routes", map[string]any{"name": "d", "paths": []string{"/dead"}})
	nd.MustCreate("/routes/d/plugins", map[string]any{"name": "rewrite"})
	nd.waitReady("/rw", statusIs(201))
	nd.waitReady("/dead", func(status int, h http.Header) bool { return status == 502 })
	for i := 0; i < 5; i++ {
		if status, h, _ := nd.do("GET", "/dead", ""); status != 502 || h.Get("X-Req-Ctx") != "" {
			t.Fatalf("dead upstream: %d, X-Req-Ctx %q", status, h.Get("X-Req-Ctx"))
		}
		if status, _, body := nd.do("GET", "/rw", ""); status != 201 {
			t.Fatalf("live route after a 502: %d %q", status, body)
		}
	}
}
