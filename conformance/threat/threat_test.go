// Package threat_test drives threat protection through real nodes over
// 127.0.0.1 with keep-alive clients: the threat-protection plugin's dos,
// dos_by_ip and auth_lockout limits, the denied_ips entity, the threat
// events at GET /threat-events and their Prometheus counter, and the
// client IP as trusted_ips and real_ip_header compute it (a forged
// X-Forwarded-For neither bypasses a limit nor frames another address).
package threat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/runtime/app"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
)

// deadline bounds every poll: generous for a loaded 2-core machine
// running -race.
const deadline = 20 * time.Second

type env struct {
	t            *testing.T
	node         *app.Node
	admin, proxy string
	upstream     string
	client       *http.Client // keep-alive
	hits         atomic.Int64 // requests the upstream served
	// since is the newest event when the test started: the ring is the
	// process's, and tests (or -count runs) share it.
	since uint64
}

// start starts a node trusting 127.0.0.1's X-Forwarded-For (so a test
// can speak for many client addresses) unless settings say otherwise.
func start(t *testing.T, settings map[string]string, handler http.HandlerFunc) *env {
	e := &env{t: t}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		if handler != nil {
			handler(w, r)
			return
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(up.Close)
	// policy_timeout is generous: a loaded machine running -race must not
	// fail a decision by the clock.
	s := map[string]string{"trusted_ips": "127.0.0.1/32", "real_ip_header": "X-Forwarded-For", "policy_timeout": "2000"}
	for k, v := range settings {
		if v == "" {
			delete(s, k)
			continue
		}
		s[k] = v
	}
	e.node = testnode.Start(t, s)
	e.admin, e.proxy, e.upstream = "http://"+e.node.Addr("admin"), "http://"+e.node.Addr("proxy"), up.URL
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	e.client = &http.Client{Transport: tr, Timeout: deadline}
	t.Cleanup(tr.CloseIdleConnections)
	e.since = e.newestEvent()
	return e
}

// newestEvent returns the ID of the newest event in the ring (0: none).
func (e *env) newestEvent() uint64 {
	e.t.Helper()
	page := e.api("GET", "/threat-events?size=1", nil, 200)
	if data, _ := page["data"].([]any); len(data) > 0 {
		id, _ := data[0].(map[string]any)["id"].(float64)
		return uint64(id)
	}
	return 0
}

func (e *env) api(method, path string, body any, status int) map[string]any {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, e.admin+path, rd)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != status {
		e.t.Fatalf("%s %s: %d %s, want %d", method, path, res.StatusCode, b, status)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func (e *env) rebuild() {
	e.t.Helper()
	if err := e.node.Snapshots().Rebuild(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// route creates a service and a route at path with the plugin config (nil:
// no plugin).
func (e *env) route(name, path string, config map[string]any) {
	e.t.Helper()
	e.api("POST", "/services", map[string]any{"name": name, "url": e.upstream}, 201)
	e.api("POST", "/services/"+name+"/routes", map[string]any{"name": name, "paths": []any{path}}, 201)
	if config != nil {
		e.api("POST", "/routes/"+name+"/plugins", map[string]any{"name": "threat-protection", "config": config}, 201)
	}
	e.rebuild()
}

type reply struct {
	status  int
	message string
}

// call sends a request as client address ip ("" sends no X-Forwarded-For).
func (e *env) call(c *http.Client, method, path, ip string, headers map[string]string) reply {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.proxy+path, nil)
	if ip != "" {
		req.Header.Set("X-Forwarded-For", ip)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m struct{ Message string }
	json.Unmarshal(b, &m)
	return reply{res.StatusCode, m.Message}
}

type event struct {
	ID       uint64  `json:"id"`
	Time     float64 `json:"time"`
	Rule     string  `json:"rule"`
	Filter   string  `json:"filter"`
	Action   string  `json:"action"`
	Status   int     `json:"status"`
	Message  string  `json:"message"`
	ClientIP string  `json:"client_ip"`
	Host     string  `json:"host"`
	Path     string  `json:"path"`
	Method   string  `json:"method"`
}

// events returns the threat events since the test started about paths
// under prefix, newest first.
func (e *env) events(prefix string) []event {
	e.t.Helper()
	res, err := http.Get(e.admin + "/threat-events?size=1000")
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var page struct {
		Data []event `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&page); err != nil || res.StatusCode != 200 {
		e.t.Fatalf("GET /threat-events: %d %v", res.StatusCode, err)
	}
	var out []event
	for _, ev := range page.Data {
		if ev.ID > e.since && strings.HasPrefix(ev.Path, prefix) {
			out = append(out, ev)
		}
	}
	return out
}

// poll calls fn until it returns true or the deadline passes.
func poll(t *testing.T, what string, fn func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !fn() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDoSByIPWindow(t *testing.T) {
	e := start(t, nil, nil)
	e.route("win", "/win", map[string]any{"dos_by_ip": map[string]any{"max_requests": 3, "window": 600, "message": "slow down, friend"}})
	for i := 1; i <= 3; i++ {
		if r := e.call(e.client, "GET", "/win", "203.0.113.1", nil); r.status != 200 {
			t.Fatalf("request %d: %d", i, r.status)
		}
	}
	r := e.call(e.client, "GET", "/win/x", "203.0.113.1", nil)
	if r.status != 429 || r.message != "slow down, friend" {
		t.Fatalf("request 4: %d %q, want 429 with the configured message", r.status, r.message)
	}
	// Another address has its own window.
	if r := e.call(e.client, "GET", "/win", "203.0.113.2", nil); r.status != 200 {
		t.Errorf("another IP: %d", r.status)
	}
	evs := e.events("/win")
	if len(evs) != 1 {
		t.Fatalf("events %+v, want one", evs)
	}
	ev := evs[0]
	if ev.Rule != "dos_by_ip" || ev.Filter != "max_requests" || ev.Action != "deny" || ev.Status != 429 ||
		ev.Message != "slow down, friend" || ev.ClientIP != "203.0.113.1" || ev.Path != "/win/x" || ev.Method != "GET" ||
		!strings.HasPrefix(ev.Host, "127.0.0.1") || ev.Time < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Errorf("event %+v", ev)
	}
	// The counter is exported with the node's metrics.
	res, err := http.Get(e.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), `gatehouse_threat_events_total{action="deny",filter="max_requests",rule="dos_by_ip"}`) {
		t.Errorf("/metrics has no threat counter:\n%.2000s", b)
	}
}

func TestDoSGlobalAndTrustedCIDRs(t *testing.T) {
	e := start(t, nil, nil)
	e.route("glob", "/glob", map[string]any{"dos": map[string]any{"max_requests": 2, "window": 600,
		"message": "gateway busy", "trusted_cidrs": []any{"10.0.0.0/8", "2001:db8::/32"}}})
	for i, ip := range []string{"198.51.100.1", "198.51.100.2"} {
		if r := e.call(e.client, "GET", "/glob", ip, nil); r.status != 200 {
			t.Fatalf("request %d: %d", i+1, r.status)
		}
	}
	// The whole gateway is over its limit: a third address is refused...
	if r := e.call(e.client, "GET", "/glob", "198.51.100.3", nil); r.status != 429 || r.message != "gateway busy" {
		t.Fatalf("request 3: %+v", r)
	}
	// ...but trusted ranges never are, however many they send.
	for i := 0; i < 20; i++ {
		for _, ip := range []string{"10.1.2.3", "2001:db8::9", "::ffff:10.9.9.9"} {
			if r := e.call(e.client, "GET", "/glob", ip, nil); r.status != 200 {
				t.Fatalf("trusted %s request %d: %+v", ip, i, r)
			}
		}
	}
	if evs := e.events("/glob"); len(evs) != 1 || evs[0].Rule != "dos" || evs[0].Filter != "max_requests" {
		t.Errorf("events %+v", evs)
	}
}

func TestInProgressCapUnderParallelSlowRequests(t *testing.T) {
	const limit, parallel = 2, 8
	release := make(chan struct{})
	var inside, peak atomic.Int64
	e := start(t, nil, func(w http.ResponseWriter, r *http.Request) {
		n := inside.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		inside.Add(-1)
		w.Write([]byte(`{}`))
	})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	e.route("slow", "/slow", map[string]any{"dos_by_ip": map[string]any{"max_in_progress": limit, "message": "one at a time"}})

	var wg sync.WaitGroup
	var ok, denied atomic.Int64
	for i := 0; i < parallel; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{}, Timeout: deadline}
			defer c.Transport.(*http.Transport).CloseIdleConnections()
			req, _ := http.NewRequest("GET", e.proxy+"/slow", nil)
			req.Header.Set("X-Forwarded-For", "192.0.2.50")
			res, err := c.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			switch {
			case res.StatusCode == 200:
				ok.Add(1)
			case res.StatusCode == 429 && strings.Contains(string(b), "one at a time"):
				denied.Add(1)
			default:
				t.Errorf("status %d %s", res.StatusCode, b)
			}
		}()
	}
	// The cap's requests hold the upstream; every other one is refused
	// while they do.
	poll(t, "the capped requests to reach the upstream and the rest to be refused", func() bool {
		return inside.Load() == limit && denied.Load() == parallel-limit
	})
	unblock()
	wg.Wait()
	if ok.Load() != limit || peak.Load() != limit {
		t.Errorf("%d passed, peak %d in progress; want %d", ok.Load(), peak.Load(), limit)
	}
	// Done requests free their slots (the log phase runs after the
	// response): the same address passes again.
	poll(t, "a slot to free", func() bool { return e.call(e.client, "GET", "/slow", "192.0.2.50", nil).status == 200 })
}

func TestBlocksExpire(t *testing.T) {
	e := start(t, nil, nil)
	e.route("blk", "/blk", map[string]any{"dos_by_ip": map[string]any{"max_requests": 1, "window": 1, "block_seconds": 2}})
	if r := e.call(e.client, "GET", "/blk", "192.0.2.9", nil); r.status != 200 {
		t.Fatalf("first: %+v", r)
	}
	if r := e.call(e.client, "GET", "/blk", "192.0.2.9", nil); r.status != 429 || r.message != "Too many requests" {
		t.Fatalf("second: %+v", r)
	}
	blockedAt := time.Now()
	// While blocked, requests are refused as blocked (unless the machine
	// was so slow the block already ran out).
	r := e.call(e.client, "GET", "/blk", "192.0.2.9", nil)
	if time.Since(blockedAt) < time.Second && r.status != 429 {
		t.Fatalf("while blocked: %+v", r)
	}
	poll(t, "the block to expire", func() bool { return e.call(e.client, "GET", "/blk", "192.0.2.9", nil).status == 200 })
	if time.Since(blockedAt) < 1500*time.Millisecond {
		t.Errorf("the block of 2 s ended after %v", time.Since(blockedAt))
	}
	var filters []string
	for _, ev := range e.events("/blk") {
		filters = append(filters, ev.Filter)
	}
	if len(filters) < 1 || filters[len(filters)-1] != "max_requests" {
		t.Errorf("event filters (newest first) %v", filters)
	}
}

func TestDoSByIPDenyList(t *testing.T) {
	e := start(t, nil, nil)
	e.route("dl", "/dl", map[string]any{"dos_by_ip": map[string]any{"max_requests": 2, "window": 600, "action": "deny_list", "block_seconds": 3600}})
	e.route("free", "/free", nil)
	for i := 0; i < 2; i++ {
		if r := e.call(e.client, "GET", "/dl", "198.51.100.77", nil); r.status != 200 {
			t.Fatalf("request %d: %+v", i, r)
		}
	}
	if r := e.call(e.client, "GET", "/dl", "198.51.100.77", nil); r.status != 429 {
		t.Fatalf("request 3: %+v", r)
	}
	var entry map[string]any
	poll(t, "the IP in /denied-ips", func() bool {
		page := e.api("GET", "/denied-ips", nil, 200)
		for _, d := range page["data"].([]any) {
			if m := d.(map[string]any); m["ip"] == "198.51.100.77" {
				entry = m
				return true
			}
		}
		return false
	})
	exp, _ := entry["expires_at"].(float64)
	if now := float64(time.Now().Unix()); exp < now+3000 || exp > now+3700 || !strings.Contains(fmt.Sprint(entry["reason"]), "dos_by_ip") {
		t.Errorf("entry %v", entry)
	}
	// Denied on every route, the one without the plugin included, before
	// any plugin runs; another address is not.
	poll(t, "the denied list to apply on /free", func() bool {
		r := e.call(e.client, "GET", "/free", "198.51.100.77", nil)
		return r.status == 403 && r.message == "IP address not allowed"
	})
	if r := e.call(e.client, "GET", "/free", "198.51.100.78", nil); r.status != 200 {
		t.Errorf("another IP on /free: %+v", r)
	}
	if evs := e.events("/free"); len(evs) == 0 || evs[0].Rule != "denied_ips" || evs[0].Status != 403 || evs[0].ClientIP != "198.51.100.77" {
		t.Errorf("events %+v", evs)
	}
	// Deleting the entry lifts it.
	e.api("DELETE", "/denied-ips/"+entry["id"].(string), nil, 204)
	e.rebuild()
	if r := e.call(e.client, "GET", "/free", "198.51.100.77", nil); r.status != 200 {
		t.Errorf("after delete: %+v", r)
	}
}

func TestDeniedIPsEntity(t *testing.T) {
	e := start(t, nil, nil)
	e.route("any", "/any", nil)
	e.api("POST", "/denied-ips", map[string]any{"ip": "192.0.2.0/24", "reason": "abuse"}, 201)
	e.api("POST", "/denied-ips", map[string]any{"ip": "2001:db8::/48"}, 201)
	expires := time.Now().Unix() + 2
	e.api("POST", "/denied-ips", map[string]any{"ip": "203.0.113.5", "expires_at": expires}, 201)
	e.api("POST", "/denied-ips", map[string]any{"ip": "not-an-ip"}, 400)
	e.rebuild()
	cases := []struct {
		ip   string
		want int
	}{
		{"192.0.2.200", 403}, {"::ffff:192.0.2.1", 403}, {"192.0.3.1", 200},
		{"2001:db8:0:1::1", 403}, {"2001:db8:1::1", 200}, {"203.0.113.6", 200},
	}
	for _, c := range cases {
		if r := e.call(e.client, "GET", "/any", c.ip, nil); r.status != c.want {
			t.Errorf("%s: %+v, want %d", c.ip, r, c.want)
		}
	}
	// An entry with expires_at stops applying then, without a rebuild.
	r := e.call(e.client, "GET", "/any", "203.0.113.5", nil)
	if r.status != 403 && time.Now().Unix() < expires-1 {
		t.Errorf("203.0.113.5 before its expiry: %+v, want 403", r)
	}
	poll(t, "the entry to expire", func() bool { return e.call(e.client, "GET", "/any", "203.0.113.5", nil).status == 200 })
}

func TestForgedForwardedForFromUntrustedClient(t *testing.T) {
	// No trusted_ips: 127.0.0.1's X-Forwarded-For is the client's word.
	e := start(t, map[string]string{"trusted_ips": ""}, nil)
	e.route("forge", "/forge", map[string]any{"dos_by_ip": map[string]any{"max_requests": 3, "window": 600}})
	// Rotating forged addresses does not bypass the per-IP limit: every
	// request counts against 127.0.0.1.
	for i := 0; i < 3; i++ {
		if r := e.call(e.client, "GET", "/forge", fmt.Sprintf("10.0.0.%d", i+1), nil); r.status != 200 {
			t.Fatalf("request %d: %+v", i, r)
		}
	}
	if r := e.call(e.client, "GET", "/forge", "10.0.0.99", nil); r.status != 429 {
		t.Fatalf("request 4 with a fresh forged address: %+v, want 429", r)
	}
	evs := e.events("/forge")
	if len(evs) != 1 || evs[0].ClientIP != "127.0.0.1" {
		t.Errorf("events %+v: the denied client must be 127.0.0.1", evs)
	}
	// Framing: claiming a denied address does not get 127.0.0.1 refused,
	// and a denied 127.0.0.1 cannot escape by claiming another one.
	e.route("open", "/open", nil)
	e.api("POST", "/denied-ips", map[string]any{"ip": "192.0.2.66"}, 201)
	e.rebuild()
	if r := e.call(e.client, "GET", "/open", "192.0.2.66", nil); r.status != 200 {
		t.Errorf("forged denied address: %+v, want 200", r)
	}
	e.api("POST", "/denied-ips", map[string]any{"ip": "127.0.0.1"}, 201)
	e.rebuild()
	if r := e.call(e.client, "GET", "/open", "192.0.2.1", nil); r.status != 403 {
		t.Errorf("denied client claiming another address: %+v, want 403", r)
	}
}

func TestAuthLockout(t *testing.T) {
	e := start(t, nil, nil)
	e.route("auth", "/auth", map[string]any{"auth_lockout": map[string]any{"max_failures": 3, "window": 600, "block_seconds": 600, "message": "locked out"}})
	e.api("POST", "/routes/auth/plugins", map[string]any{"name": "key-auth"}, 201)
	e.api("POST", "/consumers", map[string]any{"username": "alice"}, 201)
	e.api("POST", "/consumers/alice/key-auth", map[string]any{"key": "good-key"}, 201)
	e.rebuild()
	good := map[string]string{"apikey": "good-key"}
	if r := e.call(e.client, "GET", "/auth", "192.0.2.30", good); r.status != 200 {
		t.Fatalf("good key: %+v", r)
	}
	for i := 0; i < 3; i++ {
		if r := e.call(e.client, "GET", "/auth", "192.0.2.30", map[string]string{"apikey": "bad"}); r.status != 401 {
			t.Fatalf("bad key %d: %+v", i, r)
		}
	}
	// The failures are counted in the log phase, after the response.
	poll(t, "the lockout", func() bool {
		r := e.call(e.client, "GET", "/auth", "192.0.2.30", good)
		return r.status == 403 && r.message == "locked out"
	})
	if r := e.call(e.client, "GET", "/auth", "192.0.2.31", good); r.status != 200 {
		t.Errorf("another IP: %+v", r)
	}
	evs := e.events("/auth")
	if len(evs) == 0 || evs[0].Rule != "auth_lockout" || evs[0].Status != 403 || evs[0].ClientIP != "192.0.2.30" {
		t.Errorf("events %+v", evs)
	}
}

func TestThreatEventsPaging(t *testing.T) {
	e := start(t, nil, nil)
	e.route("pg", "/pg", map[string]any{"dos_by_ip": map[string]any{"max_requests": 0, "window": 600}})
	for i := 0; i < 3; i++ {
		if r := e.call(e.client, "GET", fmt.Sprintf("/pg/%d", i), "192.0.2.77", nil); r.status != 429 {
			t.Fatalf("request %d: %+v", i, r)
		}
	}
	var got []string
	next := "/threat-events?size=1"
	for next != "" && len(got) < 3 {
		page := e.api("GET", next, nil, 200)
		data := page["data"].([]any)
		if len(data) != 1 {
			t.Fatalf("page %v", page)
		}
		got = append(got, data[0].(map[string]any)["path"].(string))
		next, _ = page["next"].(string)
	}
	if strings.Join(got, " ") != "/pg/2 /pg/1 /pg/0" {
		t.Errorf("paged paths %v, want newest first", got)
	}
	e.api("GET", "/threat-events?size=0", nil, 400)
	e.api("GET", "/threat-events?offset=x", nil, 400)
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

// TestDeclarative: denied_ips and threat-protection from a kong.yml file,
// DB-less.
func TestDeclarative(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) }))
	t.Cleanup(up.Close)
	yml := `_format_version: "3.0"
services:
- name: svc
  url: ` + up.URL + `
  routes:
  - name: r
    paths: [/d]
    plugins:
    - name: threat-protection
      config:
        dos_by_ip:
          max_requests: 1
          window: 600
          message: once is enough
denied_ips:
- ip: 192.0.2.0/28
  reason: from kong.yml
`
	path := filepath.Join(t.TempDir(), "kong.yml")
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	n := testnode.Start(t, map[string]string{"database": "off", "declarative_config": path,
		"trusted_ips": "127.0.0.1/32", "real_ip_header": "X-Forwarded-For", "policy_timeout": "2000"})
	e := &env{t: t, node: n, admin: "http://" + n.Addr("admin"), proxy: "http://" + n.Addr("proxy"), client: &http.Client{}}
	e.since = e.newestEvent()
	if r := e.call(e.client, "GET", "/d", "192.0.2.5", nil); r.status != 403 || r.message != "IP address not allowed" {
		t.Errorf("denied range: %+v", r)
	}
	if r := e.call(e.client, "GET", "/d", "192.0.2.20", nil); r.status != 200 {
		t.Errorf("first request: %+v", r)
	}
	if r := e.call(e.client, "GET", "/d", "192.0.2.20", nil); r.status != 429 || r.message != "once is enough" {
		t.Errorf("second request: %+v", r)
	}
	page := e.api("GET", "/denied-ips", nil, 200)
	if data, _ := page["data"].([]any); len(data) != 1 || data[0].(map[string]any)["reason"] != "from kong.yml" {
		t.Errorf("/denied-ips: %v", page)
	}
}
