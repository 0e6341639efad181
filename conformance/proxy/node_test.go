package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/runtime/app"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
)

// node is a running gateway with clients for its Admin API and proxy.
type node struct {
	t     *testing.T
	n     *app.Node
	admin string
	proxy string
}

func startNode(t *testing.T, settings map[string]string) *node {
	t.Helper()
	n := testnode.Start(t, settings)
	return &node{t: t, n: n, admin: "http://" + n.Addr("admin"), proxy: "http://" + n.Addr("proxy")}
}

// configure sends an Admin API form request and fails the test unless the
// status is 2xx; it waits for the proxy to pick the change up.
func (nd *node) configure(method, path string, pairs ...string) map[string]any {
	nd.t.Helper()
	v := url.Values{}
	for _, p := range pairs {
		k, val, _ := strings.Cut(p, "=")
		v.Add(k, val)
	}
	req, _ := http.NewRequest(method, nd.admin+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		nd.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		nd.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	var out map[string]any
	json.Unmarshal(raw, &out)
	nd.sync()
	return out
}

// sync rebuilds the proxy snapshot now, so tests need not wait for the
// change event to be picked up.
func (nd *node) sync() {
	if err := nd.n.Snapshots().Rebuild(context.Background()); err != nil {
		nd.t.Fatal(err)
	}
}

type result struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (nd *node) request(method, path string, header map[string]string, body []byte) *result {
	nd.t.Helper()
	req, err := http.NewRequest(method, nd.proxy+path, bytes.NewReader(body))
	if err != nil {
		nd.t.Fatal(err)
	}
	for k, v := range header {
		if strings.EqualFold(k, "host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		nd.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := &result{status: res.StatusCode, header: res.Header, body: raw}
	json.Unmarshal(raw, &r.json)
	return r
}

// upstream is a loopback HTTP server that echoes what it received.
type upstream struct {
	addr string
	srv  *http.Server
}

type echo struct {
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Query   string              `json:"query"`
	Host    string              `json:"host"`
	Headers map[string][]string `json:"headers"`
	Body    string              `json:"body"`
	Server  string              `json:"server"`
}

func startUpstream(t *testing.T, name string, handler http.HandlerFunc) *upstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if handler == nil {
		handler = func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Upstream", name)
			json.NewEncoder(w).Encode(echo{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Host: r.Host,
				Headers: r.Header, Body: string(b), Server: name})
		}
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &upstream{addr: ln.Addr().String(), srv: srv}
}

func (r *result) echo(t *testing.T) echo {
	t.Helper()
	var e echo
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("not an echo (status %d): %s", r.status, r.body)
	}
	return e
}

func (e echo) header(name string) string {
	for k, v := range e.Headers {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// configureGet reads an Admin API resource as JSON, failing on non-2xx.
func (nd *node) configureGet(path string) map[string]any {
	nd.t.Helper()
	res, err := http.Get(nd.admin + path)
	if err != nil {
		nd.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		nd.t.Fatalf("GET %s: %d %s", path, res.StatusCode, raw)
	}
	var out map[string]any
	json.Unmarshal(raw, &out)
	return out
}
