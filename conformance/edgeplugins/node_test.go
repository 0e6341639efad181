// Package edgeplugins_test proves the bundled edge plugins (cors,
// ip-restriction, request-termination, request-size-limiting,
// bot-detection, redirect) over real sockets: a real node, a real upstream,
// plugins configured through the Admin API and requests sent to the proxy.
package edgeplugins_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
)

// env is one node with one service (a recording upstream) and its admin
// and proxy base URLs.
type env struct {
	t            *testing.T
	admin, proxy string
	// hits counts requests that reached the upstream.
	hits atomic.Int64
	// lastBody is the size of the last body the upstream read.
	lastBody atomic.Int64
	routes   int
}

// newEnv starts a node with settings and a service "svc" pointing at an
// upstream that answers 200 {"ok":true} with X-Upstream: yes.
func newEnv(t *testing.T, settings map[string]string) *env {
	t.Helper()
	e := &env{t: t}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		n, _ := io.Copy(io.Discard, r.Body)
		e.lastBody.Store(n)
		w.Header().Set("X-Upstream", "yes")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(up.Close)
	n := testnode.Start(t, settings)
	e.admin, e.proxy = "http://"+n.Addr("admin"), "http://"+n.Addr("proxy")
	e.must(201, "POST", "/services", map[string]any{"name": "svc", "url": up.URL})
	return e
}

// call sends a JSON admin request and returns the status and decoded body.
func (e *env) call(method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.admin+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return res.StatusCode, m
}

func (e *env) must(want int, method, path string, body any) map[string]any {
	e.t.Helper()
	got, m := e.call(method, path, body)
	if got != want {
		e.t.Fatalf("%s %s = %d %v, want %d", method, path, got, m, want)
	}
	return m
}

// route adds a route on a fresh path with the named plugin and config, and
// returns the path (ending in "/" so that no route's prefix matches
// another's) once the proxy serves it with the plugin: the route is made
// on a parking path, the plugin added, and only then is the route moved to
// its path, so a snapshot that routes the path has the plugin too.
func (e *env) route(name string, config map[string]any) string {
	e.t.Helper()
	e.routes++
	path := fmt.Sprintf("/r%d/", e.routes)
	rname := fmt.Sprintf("route-%d", e.routes)
	e.must(201, "POST", "/services/svc/routes", map[string]any{"name": rname, "paths": []string{"/parked" + path}})
	body := map[string]any{"name": name}
	if config != nil {
		body["config"] = config
	}
	e.must(201, "POST", "/routes/"+rname+"/plugins", body)
	e.must(200, "PATCH", "/routes/"+rname, map[string]any{"paths": []string{path}})
	e.waitRouted(path)
	return path
}

// waitRouted waits until the proxy routes path (no Kong 404 "no Route
// matched").
func (e *env) waitRouted(path string) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := e.send(&request{method: "GET", path: path})
		if !strings.Contains(res.body, "no Route matched") {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s never routed", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// request is one proxy request of a table test.
type request struct {
	method, path string
	headers      map[string]string
	body         io.Reader
	// length is the Content-Length; -1 sends the body chunked.
	length int64
}

// response is a proxy response with its body read.
type response struct {
	*http.Response
	body string
}

// proxyClient sends proxy requests and never follows redirects.
var proxyClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (e *env) send(r *request) response {
	e.t.Helper()
	req, err := http.NewRequest(r.method, e.proxy+r.path, r.body)
	if err != nil {
		e.t.Fatal(err)
	}
	if r.body != nil {
		req.ContentLength = r.length
	}
	for k, v := range r.headers {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := proxyClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{Response: res, body: string(raw)}
}

// jsonBody decodes a response body as a JSON object.
func jsonBody(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("body %q: %v", s, err)
	}
	return m
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
