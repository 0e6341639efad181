package proxy_test

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// faulty panics or fails on demand, to prove a plugin fault costs one
// request a 500 and nothing more.
type faulty struct{}

func (faulty) Access(k hostabi.Kong) error {
	switch k.Request().Header("X-Fault") {
	case "panic":
		panic("test plugin panicked")
	case "error":
		return errors.New("test plugin failed")
	}
	return nil
}

func init() {
	plugin.Register(&plugin.Definition{Name: "test-faulty", Version: "1", Priority: 5000,
		Schema: &store.PluginSchema{Name: "test-faulty", Config: &schema.Schema{}},
		New:    func(map[string]any) (any, error) { return faulty{}, nil }})
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestProxyErrors checks Kong's error responses over real sockets.
func TestProxyErrors(t *testing.T) {
	ok := startUpstream(t, "ok", nil)
	slow := startUpstream(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		w.Write([]byte("late"))
	})
	nd := startNode(t, map[string]string{"plugins": "bundled,test-faulty"})
	nd.configure("POST", "/services", "name=ok", "url=http://"+ok.addr)
	nd.configure("POST", "/services/ok/routes", "paths=/ok")
	nd.configure("POST", "/services", "name=down", "url=http://"+closedPort(t), "retries=2")
	nd.configure("POST", "/services/down/routes", "paths=/down")
	nd.configure("POST", "/services", "name=slow", "url=http://"+slow.addr, "read_timeout=100", "retries=0")
	nd.configure("POST", "/services/slow/routes", "paths=/slow")
	nd.configure("POST", "/upstreams", "name=empty.upstream")
	nd.configure("POST", "/services", "name=nopeer", "host=empty.upstream")
	nd.configure("POST", "/services/nopeer/routes", "paths=/nopeer")
	nd.configure("POST", "/services", "name=secure", "url=http://"+ok.addr)
	nd.configure("POST", "/services/secure/routes", "paths=/secure", "protocols=https")
	nd.configure("POST", "/services", "name=moved", "url=http://"+ok.addr)
	nd.configure("POST", "/services/moved/routes", "paths=/moved", "protocols=https", "https_redirect_status_code=301")
	nd.configure("POST", "/services/ok/plugins", "name=test-faulty")

	cases := []struct {
		name    string
		path    string
		header  map[string]string
		status  int
		message string
	}{
		{"no route", "/nothing", nil, 404, "no Route matched with those values"},
		{"connection refused", "/down", nil, 502, "An invalid response was received from the upstream server"},
		{"read timeout", "/slow", nil, 504, "The upstream server is timing out"},
		{"no peer", "/nopeer", nil, 503, "failure to get a peer from the ring-balancer"},
		{"https only", "/secure", nil, 426, "Please use HTTPS protocol"},
		{"plugin panic", "/ok", map[string]string{"X-Fault": "panic"}, 500, "An unexpected error occurred"},
		{"plugin error", "/ok", map[string]string{"X-Fault": "error"}, 500, "An unexpected error occurred"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := nd.request("GET", c.path, c.header, nil)
			if r.status != c.status || r.json["message"] != c.message {
				t.Fatalf("got %d %s, want %d %q", r.status, r.body, c.status, c.message)
			}
			if id, _ := r.json["request_id"].(string); len(id) != 32 {
				t.Errorf("request_id = %v", r.json["request_id"])
			}
			if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
				t.Errorf("content type %q", r.header.Get("Content-Type"))
			}
		})
	}
	// After a fault the next request is served normally.
	if r := nd.request("GET", "/ok", nil, nil); r.status != 200 || r.echo(t).Server != "ok" {
		t.Fatalf("after faults: %d %s", r.status, r.body)
	}
	// Kong answers in the format the client accepts.
	for accept, want := range map[string]string{"text/plain": "no Route matched with those values\n", "text/html": "<!doctype html>", "application/xml": "<?xml"} {
		r := nd.request("GET", "/nothing", map[string]string{"Accept": accept}, nil)
		if r.status != 404 || !strings.HasPrefix(string(r.body), want) {
			t.Errorf("Accept %s: %d %q", accept, r.status, r.body)
		}
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", nd.proxy+"/moved/x?a=1", nil)
	req.Host = "example.com"
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 301 || res.Header.Get("Location") != "https://example.com/moved/x?a=1" {
		t.Errorf("redirect: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestLiveReconfiguration changes routes through the Admin API while a
// bounded load loop runs: changes take effect within a second and no
// request fails during the change.
func TestLiveReconfiguration(t *testing.T) {
	a := startUpstream(t, "a", nil)
	b := startUpstream(t, "b", nil)
	nd := startNode(t, nil)
	nd.configure("POST", "/services", "name=svc", "url=http://"+a.addr)
	nd.configure("POST", "/services/svc/routes", "name=r", "paths=/live")

	var failures, served atomic.Int64
	var sawB atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(10 * time.Second)
			for i := 0; i < 20000 && time.Now().Before(deadline); i++ {
				select {
				case <-stop:
					return
				default:
				}
				res, err := client.Get(nd.proxy + "/live")
				if err != nil {
					failures.Add(1)
					continue
				}
				if res.StatusCode != 200 {
					failures.Add(1)
				}
				if res.Header.Get("X-Upstream") == "b" {
					sawB.Store(true)
				}
				res.Body.Close()
				served.Add(1)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	// Change through the Admin API only, without forcing a rebuild: the
	// change event must reach the proxy by itself.
	req, _ := http.NewRequest("PATCH", nd.admin+"/services/svc", strings.NewReader("url=http://"+b.addr))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("PATCH: %v %v", res, err)
	}
	res.Body.Close()
	changed := time.Now()
	for !sawB.Load() && time.Since(changed) < time.Second {
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(changed)
	close(stop)
	wg.Wait()
	if !sawB.Load() {
		t.Fatalf("change not in effect after %v", took)
	}
	if failures.Load() != 0 {
		t.Fatalf("%d of %d requests failed during the change", failures.Load(), served.Load())
	}
	t.Logf("change in effect after %v; %d requests served, none failed", took, served.Load())
}
