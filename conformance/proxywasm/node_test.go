// Package proxywasm_test runs proxy-wasm filters on a real node, through
// the proxy listener over 127.0.0.1 with keep-alive clients: a filter
// written in standard Go on sdk/proxywasm/filter (testdata/filter), run as
// a plugin named after its module and from route and service filter
// chains (TestPlacements), changing headers and bodies both ways,
// answering locally, reading properties, counting ticks in shared data,
// and failing closed on traps; raw filters of ABI 0.2.0 (testdata/legacy)
// and attacking the host (testdata/hostile); the README tutorial's filter.
package proxywasm_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/wasmnode"
	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmbuild"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
)

// buildFilter compiles testdata/<src> into dir as NAME.wasm.
func buildFilter(t testing.TB, dir, src, name string) {
	t.Helper()
	path, err := wasmbuild.Build(filepath.Join("testdata", src))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wasmnode.WriteGuest(t, dir, name, b)
}

// node is a running node serving the filters of a folder as plugins.
type node struct{ *wasmnode.Node }

func startNode(t testing.TB, dir string, opts wasmplugins.Options) *node {
	return &node{wasmnode.Start(t, dir, opts, "")}
}

// mustCreate POSTs body to path, fails the test unless it is created, and
// returns the entity.
func (nd *node) mustCreate(path string, body any) map[string]any {
	nd.T.Helper()
	var m map[string]any
	json.Unmarshal(nd.MustCreate(path, body), &m)
	return m
}

// route creates a service on upstream and a route of it at path; a
// non-nil config puts the filter plugin on the route (onService: on the
// service instead). It returns the route's and service's ids.
func (nd *node) route(name, upstream, path, plugin string, config any, onService bool) (string, string) {
	nd.T.Helper()
	svc := nd.mustCreate("/services", map[string]any{"name": name + "-svc", "url": upstream})
	rt := nd.mustCreate("/services/"+name+"-svc/routes", map[string]any{"name": name, "paths": []string{path}})
	if config != nil {
		at := "/routes/" + name + "/plugins"
		if onService {
			at = "/services/" + name + "-svc/plugins"
		}
		nd.mustCreate(at, map[string]any{"name": plugin, "config": filterPluginConfig(config)})
	}
	return rt["id"].(string), svc["id"].(string)
}

// filterPluginConfig is the config record of a plugin named after a
// filter that hands the filter config: the config itself, as Kong 3.6+
// takes it (every filter plugin made here goes through it).
func filterPluginConfig(config any) any { return config }

// do sends a proxied request with headers (name, value pairs).
func (nd *node) do(method, path, body string, headers ...string) (int, http.Header, string) {
	nd.T.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, nd.Proxy+path, rd)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	res, err := nd.Client.Do(req)
	if err != nil {
		nd.T.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// echo is an upstream answering with the request it got, as JSON.
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
		w.Header().Set("X-Upstream", "echo")
		w.Header().Add("X-Up-Remove", "1")
		w.Header().Set("X-Up-Replace", "old")
		json.NewEncoder(w).Encode(echoed{Method: r.Method, URI: r.RequestURI, Headers: r.Header, Body: string(b)})
	}))
	t.Cleanup(e.Close)
	return e
}

func decode(t *testing.T, body string) echoed {
	t.Helper()
	var e echoed
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("upstream echo %q: %v", body, err)
	}
	return e
}

// waitFilter waits until a request to path (with headers) gets a 200
// whose body contains marker: the route may serve before the filter on it
// does. It returns that body.
func (nd *node) waitFilter(path, marker string, headers ...string) string {
	nd.T.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		status, _, body := nd.do("GET", path, "", headers...)
		if status == 200 && strings.Contains(body, marker) {
			return body
		}
		if time.Now().After(deadline) {
			nd.T.Fatalf("the filter on %s never ran: %d %s", path, status, body)
		}
	}
}
