package observability_test

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// setup configures a service on up with route "orders" (/orders) and
// consumer alice authenticated by key-auth with key "alice-key".
func setup(nd *node, up string) {
	nd.configure("POST", "/services", map[string]any{"name": "orders-svc", "url": up + "/base"})
	nd.configure("POST", "/services/orders-svc/routes", map[string]any{"name": "orders", "paths": []any{"/orders"}})
	nd.configure("POST", "/routes/orders/plugins", map[string]any{"name": "key-auth"})
	nd.configure("POST", "/consumers", map[string]any{"username": "alice"})
	nd.configure("POST", "/consumers/alice/key-auth", map[string]any{"key": "alice-key"})
}

// checkRecord asserts Kong's log record shape for GET /orders/x?q=1 by
// alice.
func checkRecord(t *testing.T, m map[string]any) {
	t.Helper()
	rq, _ := m["request"].(map[string]any)
	rs, _ := m["response"].(map[string]any)
	lat, _ := m["latencies"].(map[string]any)
	route, _ := m["route"].(map[string]any)
	svc, _ := m["service"].(map[string]any)
	cons, _ := m["consumer"].(map[string]any)
	ae, _ := m["authenticated_entity"].(map[string]any)
	hs, _ := rq["headers"].(map[string]any)
	switch {
	case rq["method"] != "GET" || rq["uri"] != "/orders/x?q=1" || !strings.HasSuffix(str(rq["url"]), "/orders/x?q=1"):
		t.Fatalf("request %v", rq)
	case hs["apikey"] != "alice-key" || rq["querystring"].(map[string]any)["q"] != "1":
		t.Fatalf("request headers/query %v", rq)
	case rs["status"] != float64(200) || rs["size"].(float64) <= 0:
		t.Fatalf("response %v", rs)
	case lat == nil || lat["proxy"].(float64) < 0 || lat["request"].(float64) < lat["kong"].(float64):
		t.Fatalf("latencies %v", lat)
	case route["name"] != "orders" || svc["name"] != "orders-svc" || cons["username"] != "alice" || ae["id"] == nil:
		t.Fatalf("entities route %v service %v consumer %v authenticated_entity %v", route, svc, cons, ae)
	case m["upstream_uri"] != "/base/x?q=1" || m["client_ip"] != "127.0.0.1" || m["started_at"].(float64) < 1.6e12:
		t.Fatalf("record %v", m)
	case lat["receive"] == nil || lat["receive"].(float64) < 0 || m["workspace_name"] != "default" || rq["tls"] != nil:
		t.Fatalf("receive latency, workspace_name or tls over plain HTTP: %v", m)
	}
	// One upstream attempt, to the upstream's address.
	tries, _ := m["tries"].([]any)
	if len(tries) != 1 {
		t.Fatalf("tries %v", m["tries"])
	}
	try, _ := tries[0].(map[string]any)
	if try["ip"] != "127.0.0.1" || try["port"].(float64) <= 0 || try["balancer_start"].(float64) < m["started_at"].(float64) ||
		try["balancer_latency"] == nil || try["state"] != nil {
		t.Fatalf("try %v", try)
	}
}

func str(v any) string { s, _ := v.(string); return s }

var alice = map[string]string{"apikey": "alice-key"}

// TestHTTPLogDelivers: http-log posts Kong's record of each request to
// its endpoint, batched as configured.
func TestHTTPLogDelivers(t *testing.T) {
	got := make(chan []byte, 10)
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Token") != "t" || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(400)
			return
		}
		got <- b
	}))
	defer ep.Close()
	nd := startNode(t)
	setup(nd, upstream(t))
	nd.configure("POST", "/plugins", map[string]any{"name": "http-log", "config": map[string]any{
		"http_endpoint": ep.URL + "/logs", "headers": map[string]any{"X-Token": "t"},
		"queue": map[string]any{"max_batch_size": 2, "max_coalescing_delay": 5}}})
	for i := 0; i < 2; i++ {
		if s, b := nd.get("/orders/x?q=1", alice); s != 200 {
			t.Fatalf("%d %s", s, b)
		}
	}
	select {
	case b := <-got:
		var batch []map[string]any
		if err := json.Unmarshal(b, &batch); err != nil || len(batch) != 2 {
			t.Fatalf("batch %s: %v", b, err)
		}
		checkRecord(t, batch[0])
	case <-time.After(10 * time.Second):
		t.Fatal("nothing delivered")
	}
}

// TestHTTPLogEndpointDown: with the endpoint refusing connections or
// hanging, every request still gets the upstream's answer; the bounded
// queue drops what does not fit and /metrics counts the drops.
func TestHTTPLogEndpointDown(t *testing.T) {
	cases := []struct {
		name     string
		endpoint func(testing.TB) string
	}{
		{"refused", closedPort},
		{"hanging", hangingServer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nd := startNode(t)
			setup(nd, upstream(t))
			nd.configure("POST", "/plugins", map[string]any{"name": "prometheus"})
			nd.configure("POST", "/plugins", map[string]any{"name": "http-log", "config": map[string]any{
				"http_endpoint": tc.endpoint(t), "timeout": 30000,
				"queue": map[string]any{"max_entries": 2, "max_retry_time": 600, "initial_retry_delay": 5}}})
			before := value(scrape(t, nd.status+"/metrics"), "kong_http_log_dropped_entries_total", map[string]string{"reason": "queue_full"})
			const n = 20
			for i := 0; i < n; i++ {
				if s, b := nd.get("/orders/x?q=1", alice); s != 200 || b != "ok" {
					t.Fatalf("request %d: %d %q", i, s, b)
				}
			}
			// One entry is with the sender, two wait: the rest are dropped.
			eventually(t, "the drops counted", func() bool {
				v := value(scrape(t, nd.status+"/metrics"), "kong_http_log_dropped_entries_total", map[string]string{"reason": "queue_full"})
				return v-max(before, 0) >= n-3
			})
		})
	}
}

// TestFileLog: file-log appends Kong's record of each request, one JSON
// line each.
func TestFileLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	nd := startNode(t)
	setup(nd, upstream(t))
	nd.configure("POST", "/routes/orders/plugins", map[string]any{"name": "file-log", "config": map[string]any{"path": path}})
	for i := 0; i < 3; i++ {
		if s, b := nd.get("/orders/x?q=1", alice); s != 200 {
			t.Fatalf("%d %s", s, b)
		}
	}
	var lines []string
	eventually(t, "three lines", func() bool {
		b, _ := os.ReadFile(path)
		lines = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		return len(lines) == 3
	})
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[2]), &m); err != nil {
		t.Fatal(err)
	}
	checkRecord(t, m)
}

// TestTCPAndUDPLog: tcp-log and udp-log deliver Kong's record to real
// servers.
func TestTCPAndUDPLog(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tcpLines := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					tcpLines <- sc.Text()
				}
			}()
		}
	}()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	nd := startNode(t)
	setup(nd, upstream(t))
	nd.configure("POST", "/plugins", map[string]any{"name": "tcp-log", "config": map[string]any{
		"host": "127.0.0.1", "port": ln.Addr().(*net.TCPAddr).Port}})
	nd.configure("POST", "/plugins", map[string]any{"name": "udp-log", "config": map[string]any{
		"host": "127.0.0.1", "port": pc.LocalAddr().(*net.UDPAddr).Port}})
	if s, b := nd.get("/orders/x?q=1", alice); s != 200 {
		t.Fatalf("%d %s", s, b)
	}
	var m map[string]any
	select {
	case l := <-tcpLines:
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		checkRecord(t, m)
	case <-time.After(10 * time.Second):
		t.Fatal("no tcp line")
	}
	buf := make([]byte, 64<<10)
	_ = pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	m = nil
	if err := json.Unmarshal(buf[:n], &m); err != nil {
		t.Fatal(err)
	}
	checkRecord(t, m)
}

// TestLogRecordTLSAndTries: over TLS the record carries request.tls
// (nginx's protocol and cipher names, client_verify NONE without a
// client certificate); a request retried after a dead target carries two
// tries, the first failed with 502.
func TestLogRecordTLSAndTries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	nd := startNodeWith(t, map[string]string{"proxy_listen": "127.0.0.1:0, 127.0.0.1:0 ssl"})
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close() // nothing listens there any more: connections are refused
	live := strings.TrimPrefix(upstream(t), "http://")
	nd.configure("POST", "/upstreams", map[string]any{"name": "pair"})
	nd.configure("POST", "/upstreams/pair/targets", map[string]any{"target": deadAddr})
	nd.configure("POST", "/upstreams/pair/targets", map[string]any{"target": live})
	nd.configure("POST", "/services", map[string]any{"name": "pair-svc", "host": "pair", "retries": 3})
	nd.configure("POST", "/services/pair-svc/routes", map[string]any{"name": "pair", "paths": []any{"/pair"}})
	nd.configure("POST", "/plugins", map[string]any{"name": "file-log", "config": map[string]any{"path": path}})

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	const n = 6
	for i := 0; i < n; i++ {
		res, err := client.Get("https://" + nd.n.Addr("proxy_ssl") + "/pair")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, res.StatusCode)
		}
	}
	var lines []string
	eventually(t, "every line", func() bool {
		b, _ := os.ReadFile(path)
		lines = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		return len(lines) == n
	})
	retried := 0
	for _, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		rq, _ := m["request"].(map[string]any)
		tl, _ := rq["tls"].(map[string]any)
		if tl["version"] != "TLSv1.3" || !strings.HasPrefix(str(tl["cipher"]), "TLS_") || tl["client_verify"] != "NONE" {
			t.Fatalf("request.tls %v", rq["tls"])
		}
		tries, _ := m["tries"].([]any)
		last, _ := tries[len(tries)-1].(map[string]any)
		if net.JoinHostPort(str(last["ip"]), fmt.Sprint(last["port"])) != live || last["state"] != nil {
			t.Fatalf("last try %v, want the live target %s", last, live)
		}
		if len(tries) == 2 {
			first, _ := tries[0].(map[string]any)
			if net.JoinHostPort(str(first["ip"]), fmt.Sprint(first["port"])) != deadAddr || first["state"] != "failed" || first["code"] != float64(502) {
				t.Fatalf("failed try %v, want %s failed with 502", first, deadAddr)
			}
			retried++
		}
	}
	if retried == 0 {
		t.Fatalf("no request of %d was retried after the dead target", n)
	}
}
