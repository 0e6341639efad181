// Package ratelimiting_test runs the rate-limiting plugin on real nodes over
// real sockets: Kong's 429 body and headers for the anonymous consumer of
// the training flow, the local policy exact under concurrent keep-alive
// clients, the redis policy shared by two nodes, and the cluster policy
// shared by two nodes through their Postgres database.
package ratelimiting_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/conformance/testpg"
	"github.com/gatehouse/gatehouse/conformance/testredis"
	"github.com/gatehouse/gatehouse/runtime/app"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
)

type admin struct {
	t    *testing.T
	base string
}

// form sends an urlencoded Admin API request and decodes the answer.
func (a admin) form(method, path string, want int, kv ...string) map[string]any {
	a.t.Helper()
	v := url.Values{}
	for _, s := range kv {
		k, val, _ := strings.Cut(s, "=")
		v.Add(k, val)
	}
	req, _ := http.NewRequest(method, a.base+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		a.t.Fatalf("%s %s: %d %s, want %d", method, path, res.StatusCode, b, want)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func upstream(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "up")
	}))
	t.Cleanup(srv.Close)
	return "http://" + srv.Listener.Addr().String()
}

// waitRoute polls until the proxy serves path with want (configuration
// changes reach the proxy through a new snapshot).
func waitRoute(t *testing.T, n *app.Node, path string, ok func(status int) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := http.Get("http://" + n.Addr("proxy") + path)
		if err == nil {
			res.Body.Close()
			if ok(res.StatusCode) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the proxy never served %s as expected (last: %v %v)", path, res, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// awayFromMinuteEnd waits for the next minute when fewer than need
// seconds are left in this one, so a test's requests share a window.
func awayFromMinuteEnd(need int) {
	if s := time.Now().UTC().Second(); s > 59-need {
		time.Sleep(time.Duration(61-s) * time.Second)
	}
}

// TestAnonymousConsumerTwoPerMinute is the training flow: key-auth maps
// callers without a key to the consumer "anonymous", which has a
// rate-limiting plugin (limit_by consumer, 2 per minute); the third call
// in the minute gets Kong's 429.
func TestAnonymousConsumerTwoPerMinute(t *testing.T) {
	n := testnode.Start(t, nil)
	a := admin{t, "http://" + n.Addr("admin")}
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "up "+r.Header.Get("X-Consumer-Username"))
	}))
	t.Cleanup(echo.Close)
	a.form("POST", "/services", 201, "name=iam", "url=http://"+echo.Listener.Addr().String())
	a.form("POST", "/services/iam/routes", 201, "name=iam", "paths=/iam")
	anon := a.form("POST", "/consumers", 201, "username=anonymous")
	a.form("POST", "/consumers", 201, "username=probe")
	a.form("POST", "/consumers/probe/key-auth", 201, "key=probe-key")
	a.form("POST", "/consumers/anonymous/plugins", 201, "name=rate-limiting", "config.limit_by=consumer", "config.minute=2")
	a.form("POST", "/routes/iam/plugins", 201, "name=key-auth", "config.anonymous="+anon["id"].(string))
	// Once the probe's key authenticates, the node runs a configuration
	// with both plugins; no anonymous request was counted yet.
	deadline := time.Now().Add(5 * time.Second)
	for {
		req, _ := http.NewRequest("GET", "http://"+n.Addr("proxy")+"/iam", nil)
		req.Header.Set("apikey", "probe-key")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) == "up probe" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("key-auth never became active: %d %s", res.StatusCode, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	awayFromMinuteEnd(5)
	for i := 1; i <= 3; i++ {
		res, err := http.Get("http://" + n.Addr("proxy") + "/iam")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		h := res.Header
		reset := 60 - time.Now().UTC().Second()
		wantStatus, wantRemaining := 200, fmt.Sprint(2-i)
		if i == 3 {
			wantStatus, wantRemaining = 429, "0"
		}
		if res.StatusCode != wantStatus {
			t.Fatalf("call %d: %d %s, want %d", i, res.StatusCode, body, wantStatus)
		}
		for name, want := range map[string]string{
			"X-RateLimit-Limit-Minute": "2", "X-RateLimit-Remaining-Minute": wantRemaining,
			"RateLimit-Limit": "2", "RateLimit-Remaining": wantRemaining,
		} {
			if got := h.Get(name); got != want {
				t.Errorf("call %d: %s = %q, want %q", i, name, got, want)
			}
		}
		if got := h.Get("RateLimit-Reset"); got != fmt.Sprint(reset) && got != fmt.Sprint(reset+1) {
			t.Errorf("call %d: RateLimit-Reset = %q, want about %d", i, got, reset)
		}
		if i < 3 {
			if h.Get("Retry-After") != "" || string(body) != "up anonymous" {
				t.Errorf("call %d: Retry-After %q body %q", i, h.Get("Retry-After"), body)
			}
			continue
		}
		if string(body) != `{"message":"API rate limit exceeded"}` || h.Get("Retry-After") != h.Get("RateLimit-Reset") {
			t.Errorf("429: body %s, Retry-After %q", body, h.Get("Retry-After"))
		}
		if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("429: Content-Type %q", ct)
		}
	}
}

// TestLocalExactUnderConcurrency: N clients, each on its own keep-alive
// connection, against a limit L: exactly L requests succeed.
func TestLocalExactUnderConcurrency(t *testing.T) {
	const limit, clients, each = 60, 16, 10
	n := testnode.Start(t, nil)
	a := admin{t, "http://" + n.Addr("admin")}
	a.form("POST", "/services", 201, "name=s", "url="+upstream(t))
	a.form("POST", "/services/s/routes", 201, "name=r", "paths=/r")
	waitRoute(t, n, "/r", func(s int) bool { return s == 200 })
	a.form("POST", "/routes/r/plugins", 201, "name=rate-limiting", "config.hour=1000000", "config.limit_by=header",
		"config.header_name=x-client-group")
	waitRoute(t, n, "/r", func(s int) bool { return s == 200 })
	// The counted group is new: no request so far belongs to it.
	a.form("PATCH", "/plugins/"+pluginID(t, a), 200, "config.hour="+fmt.Sprint(limit))
	waitHeader(t, n, "/r", "X-RateLimit-Limit-Hour", fmt.Sprint(limit))
	group := fmt.Sprintf("g-%d", time.Now().UnixNano())
	ok, limited := hammer(t, []*app.Node{n}, "/r", group, clients, each)
	if ok != limit || limited != clients*each-limit {
		t.Errorf("%d succeeded, %d limited; want exactly %d of %d", ok, limited, limit, clients*each)
	}
}

// hammer sends each requests for path from clients keep-alive clients
// (client c on nodes[c % n]) in the counted group, and counts the 200s and
// the 429s; any other status fails the test.
func hammer(t *testing.T, nodes []*app.Node, path, group string, clients, each int) (ok, limited int64) {
	t.Helper()
	var okN, limitedN atomic.Int64
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr}
			for i := 0; i < each; i++ {
				req, _ := http.NewRequest("GET", "http://"+nodes[c%len(nodes)].Addr("proxy")+path, nil)
				req.Header.Set("X-Client-Group", group)
				res, err := hc.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				switch res.StatusCode {
				case 200:
					okN.Add(1)
				case 429:
					limitedN.Add(1)
				default:
					t.Errorf("status %d", res.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	return okN.Load(), limitedN.Load()
}

func pluginID(t *testing.T, a admin) string {
	t.Helper()
	req, _ := http.NewRequest("GET", a.base+"/plugins", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var page struct {
		Data []map[string]any `json:"data"`
	}
	json.NewDecoder(res.Body).Decode(&page)
	for _, p := range page.Data {
		if p["name"] == "rate-limiting" {
			return p["id"].(string)
		}
	}
	t.Fatal("no rate-limiting plugin")
	return ""
}

func waitHeader(t *testing.T, n *app.Node, path, name, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := http.Get("http://" + n.Addr("proxy") + path)
		if err == nil {
			res.Body.Close()
			if res.Header.Get(name) == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never became %q", name, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRedisTwoNodes: two nodes with their own databases share the redis
// counters of the same plugin entity: requests alternating between them
// are limited together, exactly with sync_rate -1.
func TestRedisTwoNodes(t *testing.T) {
	host, portN := testredis.Addr(t)
	port := strconv.Itoa(portN)
	const limit = 7
	up := upstream(t)
	// Kong's counter keys name the plugin's route and service: the nodes
	// share them when their entities have the same ids (as with one
	// kong.yml); a fresh route id keeps reruns apart.
	routeUUID := fmt.Sprintf("7a7a7a7a-0000-4000-8000-%012d", time.Now().UnixNano()%1e12)
	var nodes []*app.Node
	for i := 0; i < 2; i++ {
		n := testnode.Start(t, nil)
		a := admin{t, "http://" + n.Addr("admin")}
		a.form("POST", "/services", 201, "name=s", "url="+up)
		a.form("PUT", "/routes/"+routeUUID, 200, "name=r", "paths=/r", "service.name=s")
		a.form("POST", "/routes/r/plugins", 201, "name=rate-limiting", "config.hour="+fmt.Sprint(limit),
			"config.policy=redis", "config.redis.host="+host, "config.redis.port="+port, "config.redis.database=4",
			"config.limit_by=ip")
		waitHeader(t, n, "/r", "X-RateLimit-Limit-Hour", fmt.Sprint(limit))
		nodes = append(nodes, n)
	}
	// The two waits counted one request each.
	passed := 2
	for i := 0; i < 20; i++ {
		res, err := http.Get("http://" + nodes[i%2].Addr("proxy") + "/r")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == 200 {
			passed++
		} else if res.StatusCode != 429 {
			t.Fatalf("status %d", res.StatusCode)
		}
	}
	if passed != limit {
		t.Errorf("%d requests passed across two nodes, want %d", passed, limit)
	}
}

// TestClusterTwoNodes: two nodes sharing one Postgres database count the
// cluster policy's requests in it: exactly the limit passes across both
// nodes under concurrent keep-alive clients (sync_rate -1), and with a
// sync_rate one node sees the other's requests after a sync.
func TestClusterTwoNodes(t *testing.T) {
	settings := testpg.Settings(t)
	nodes := []*app.Node{testnode.Start(t, settings), testnode.Start(t, settings)}
	a := admin{t, "http://" + nodes[0].Addr("admin")}
	a.form("POST", "/services", 201, "name=s", "url="+upstream(t))
	a.form("POST", "/services/s/routes", 201, "name=exact", "paths=/exact")
	a.form("POST", "/services/s/routes", 201, "name=synced", "paths=/synced")
	a.form("POST", "/routes/exact/plugins", 201, "name=rate-limiting", "config.policy=cluster", "config.hour=1000000",
		"config.limit_by=header", "config.header_name=x-client-group")
	a.form("PATCH", "/plugins/"+pluginID(t, a), 200, "config.hour=50")
	a.form("POST", "/routes/synced/plugins", 201, "name=rate-limiting", "config.policy=cluster", "config.hour=10",
		"config.sync_rate=0.05", "config.limit_by=header", "config.header_name=x-client-group")
	for _, n := range nodes {
		waitHeader(t, n, "/exact", "X-RateLimit-Limit-Hour", "50")
		waitHeader(t, n, "/synced", "X-RateLimit-Limit-Hour", "10")
	}
	get := func(n *app.Node, hc *http.Client, path, group string) *http.Response {
		req, _ := http.NewRequest("GET", "http://"+n.Addr("proxy")+path, nil)
		req.Header.Set("X-Client-Group", group)
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}

	const limit, clients, each = 50, 16, 8
	ok, limited := hammer(t, nodes, "/exact", fmt.Sprintf("g-%d", time.Now().UnixNano()), clients, each)
	if ok != limit || limited != clients*each-limit {
		t.Errorf("%d succeeded, %d limited across two nodes; want exactly %d of %d", ok, limited, limit, clients*each)
	}

	// sync_rate: node 0 takes 6 of 10; within a few sync periods node 1
	// knows, and its next request leaves 3.
	group := fmt.Sprintf("s-%d", time.Now().UnixNano())
	for i := 0; i < 6; i++ {
		if res := get(nodes[0], http.DefaultClient, "/synced", group); res.StatusCode != 200 {
			t.Fatalf("node 0 request %d: %d", i+1, res.StatusCode)
		}
	}
	time.Sleep(300 * time.Millisecond)
	res := get(nodes[1], http.DefaultClient, "/synced", group)
	if res.StatusCode != 200 || res.Header.Get("X-RateLimit-Remaining-Hour") != "3" {
		t.Fatalf("node 1 after the sync: %d, remaining %q, want 200 and 3", res.StatusCode, res.Header.Get("X-RateLimit-Remaining-Hour"))
	}
}
