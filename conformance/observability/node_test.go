// Package observability_test runs the observability plugins (prometheus,
// http-log, file-log, tcp-log, udp-log) on real nodes over real sockets:
// requests proxied to a real upstream, /metrics scraped over HTTP and
// parsed with the Prometheus text parser, log records received by real
// servers.
package observability_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/runtime/app"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// node is a started node with its listeners' URLs.
type node struct {
	t                    testing.TB
	n                    *app.Node
	admin, proxy, status string
}

func startNode(t testing.TB) *node {
	t.Helper()
	n := testnode.Start(t, map[string]string{"status_listen": "127.0.0.1:0"})
	return &node{t: t, n: n, admin: "http://" + n.Addr("admin"), proxy: "http://" + n.Addr("proxy"), status: "http://" + n.Addr("status")}
}

// configure sends a JSON Admin API request, fails unless 2xx, and rebuilds
// the proxy snapshot.
func (nd *node) configure(method, path string, body map[string]any) map[string]any {
	nd.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, nd.admin+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
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
	_ = json.Unmarshal(raw, &out)
	if err := nd.n.Snapshots().Rebuild(context.Background()); err != nil {
		nd.t.Fatal(err)
	}
	return out
}

// get sends a proxy request and returns the status and body.
func (nd *node) get(path string, headers map[string]string) (int, string) {
	nd.t.Helper()
	req, _ := http.NewRequest("GET", nd.proxy+path, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		nd.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// scrape fetches a /metrics URL and parses it with the library's parser.
func scrape(t testing.TB, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	return mfs
}

// value is the counter, gauge or histogram count of the first metric of
// a family whose labels include want; -1 when there is none.
func value(mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	mf := mfs[name]
	if mf == nil {
		return -1
	}
next:
	for _, m := range mf.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// eventually polls cond (the log phase runs after the response).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// upstream is a real HTTP server answering 200 "ok", or the status in
// the X-Status request header.
func upstream(t testing.TB) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := r.Header.Get("X-Status"); s == "500" {
			w.WriteHeader(500)
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// hangingServer accepts connections and never answers.
func hangingServer(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String() + "/log"
}

// closedPort is a loopback URL nothing listens on.
func closedPort(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/log"
}

func startNodeWith(t testing.TB, settings map[string]string) *node {
	t.Helper()
	s := map[string]string{"status_listen": "127.0.0.1:0"}
	for k, v := range settings {
		s[k] = v
	}
	n := testnode.Start(t, s)
	return &node{t: t, n: n, admin: "http://" + n.Addr("admin"), proxy: "http://" + n.Addr("proxy"), status: "http://" + n.Addr("status")}
}

func httpGet(url string) (int, error) {
	res, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}
