package balancer

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// passiveChecks is a healthchecks record with passive thresholds only.
func passiveChecks(httpFailures, tcpFailures, timeouts, successes int64) map[string]any {
	return map[string]any{
		"passive": map[string]any{
			"type":      "http",
			"healthy":   map[string]any{"successes": successes},
			"unhealthy": map[string]any{"http_failures": httpFailures, "tcp_failures": tcpFailures, "timeouts": timeouts},
		},
	}
}

func healthOf(b *Balancer, target string) string {
	for _, th := range b.Health() {
		if th.Target == target {
			return th.Health
		}
	}
	return "missing"
}

func TestPassiveHealthChecks(t *testing.T) {
	const (
		ok  = 200
		bad = 500
	)
	tcp := Result{TCPError: true}
	timeout := Result{Timeout: true}
	st := func(s int) Result { return Result{Status: s} }
	cases := []struct {
		name      string
		checks    map[string]any
		reports   []Result
		unhealthy bool
	}{
		{"3 http failures", passiveChecks(3, 0, 0, 0), []Result{st(bad), st(bad), st(bad)}, true},
		{"2 http failures", passiveChecks(3, 0, 0, 0), []Result{st(bad), st(bad)}, false},
		{"429 and 503 count", passiveChecks(3, 0, 0, 0), []Result{st(429), st(503), st(bad)}, true},
		{"status 0 is a failure", passiveChecks(2, 0, 0, 0), []Result{st(0), st(0)}, true},
		{"other statuses ignored", passiveChecks(2, 0, 0, 1), []Result{st(bad), st(404), st(401), st(bad)}, true},
		{"success resets failures", passiveChecks(3, 0, 0, 1), []Result{st(bad), st(bad), st(ok), st(bad), st(bad)}, false},
		{"successes off: no reset", passiveChecks(3, 0, 0, 0), []Result{st(bad), st(bad), st(ok), st(bad)}, true},
		{"tcp failures", passiveChecks(0, 2, 0, 0), []Result{tcp, tcp}, true},
		{"tcp limit off", passiveChecks(5, 0, 0, 0), []Result{tcp, tcp, tcp}, false},
		{"timeouts", passiveChecks(0, 0, 2, 0), []Result{timeout, st(bad), timeout}, true},
		{"counters separate", passiveChecks(2, 2, 2, 0), []Result{tcp, timeout, st(bad)}, false},
		{"disabled", map[string]any{}, []Result{st(bad), st(bad), st(bad), tcp, tcp, timeout}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := mustNew(t, map[string]any{"name": "u", "healthchecks": c.checks}, loopTargets(1, 1), Options{})
			// route every try to target 1 through the retry list
			other := "127.0.0.1:10002"
			for i, r := range c.reports {
				p, err := b.Pick(nil, []string{other})
				if err != nil {
					t.Fatalf("report %d: %v", i, err)
				}
				if p.Addr == other {
					t.Fatalf("report %d: target 1 already unhealthy", i)
				}
				b.Report(p, r)
			}
			h := healthOf(b, "127.0.0.1:10001")
			if want := c.unhealthy; (h == Unhealthy) != want {
				t.Fatalf("health %s, want unhealthy=%v", h, want)
			}
			if c.unhealthy {
				// no more picks for it, even when the retry list says so
				for range 10 {
					if p, _ := b.Pick(nil, []string{other}); p.Addr != other {
						t.Fatalf("unhealthy target picked")
					}
				}
			}
		})
	}
}

func TestPassiveRecoveryBySuccesses(t *testing.T) {
	// mostly_unhealthy: an unhealthy address that keeps getting traffic
	// (e.g. all peers tried) recovers after `successes` good answers
	b := mustNew(t, map[string]any{"name": "u", "healthchecks": passiveChecks(1, 0, 0, 2)}, loopTargets(1), Options{})
	p, _ := b.Pick(nil, nil)
	b.Report(p, Result{Status: 500})
	if _, err := b.Pick(nil, nil); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("only target unhealthy: %v", err)
	}
	if h := b.BalancerHealth(); h.Health != Unhealthy || h.Details.Healthy || h.Details.Weight.Unavailable != 1 {
		t.Fatalf("balancer health %+v", h)
	}
	b.Report(p, Result{Status: 200})
	if healthOf(b, p.Target) != Unhealthy {
		t.Fatal("one success should not be enough")
	}
	b.Report(p, Result{Status: 200})
	if healthOf(b, p.Target) != Healthy {
		t.Fatal("two successes should make it healthy")
	}
	if _, err := b.Pick(nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestThreshold(t *testing.T) {
	checks := passiveChecks(1, 0, 0, 0)
	checks["threshold"] = float64(50)
	b := mustNew(t, map[string]any{"name": "u", "healthchecks": checks}, loopTargets(1, 1, 1, 1), Options{})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.SetHealthy("127.0.0.1:10001", false))
	if _, err := b.Pick(nil, nil); err != nil {
		t.Fatalf("75%% healthy > 50%%: %v", err)
	}
	must(b.SetHealthy("t2", false)) // by id
	if _, err := b.Pick(nil, nil); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("50%% healthy is not above the 50%% threshold: %v", err)
	}
	if bh := b.BalancerHealth(); bh.Health != Unhealthy || bh.Details.Weight.Available != 2 {
		t.Fatalf("balancer health %+v", bh)
	}
	must(b.SetHealthy("127.0.0.1:10002", true))
	if bh := b.BalancerHealth(); bh.Health != Healthy {
		t.Fatalf("balancer health %+v", bh)
	}
	got := countPicks(t, b, 300, false, nil)
	if got["127.0.0.1:10001"] != 0 || got["127.0.0.1:10002"] != 100 {
		t.Fatalf("picks %v", got)
	}

	// threshold 100: healthy only while every address is available
	checks = passiveChecks(1, 0, 0, 0)
	checks["threshold"] = int64(100)
	b = mustNew(t, map[string]any{"name": "u", "healthchecks": checks}, loopTargets(1, 1), Options{})
	if _, err := b.Pick(nil, nil); err != nil {
		t.Fatalf("threshold 100, all available: %v", err)
	}
	must(b.SetHealthy("t1", false))
	if _, err := b.Pick(nil, nil); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("threshold 100, one down: %v", err)
	}
}

func TestSetHealthy(t *testing.T) {
	off := mustNew(t, map[string]any{"name": "u"}, loopTargets(1, 1), Options{})
	if err := off.SetHealthy("127.0.0.1:10001", false); !errors.Is(err, ErrHealthchecksOff) {
		t.Fatalf("checks off: %v", err)
	}
	b := mustNew(t, map[string]any{"name": "u", "healthchecks": passiveChecks(5, 0, 0, 0)}, loopTargets(1, 1), Options{})
	if err := b.SetHealthy("127.0.0.1:9", false); !errors.Is(err, ErrUnknownTarget) {
		t.Fatalf("unknown target: %v", err)
	}
	if err := b.SetAddressHealthy("t1", "127.0.0.9:10001", false); !errors.Is(err, ErrUnknownTarget) {
		t.Fatalf("unknown address: %v", err)
	}
	if err := b.SetAddressHealthy("t1", "127.0.0.1:10001", false); err != nil {
		t.Fatal(err)
	}
	if got := countPicks(t, b, 10, false, nil); got["127.0.0.1:10002"] != 10 {
		t.Fatalf("picks %v", got)
	}
	// counters were cleared: four failures do not reach the limit of five
	if err := b.SetHealthy("t1", true); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		p, _ := b.Pick(nil, []string{"127.0.0.1:10002"})
		b.Report(p, Result{Status: 500})
	}
	if got := countPicks(t, b, 10, false, nil); got["127.0.0.1:10001"] != 5 {
		t.Fatalf("picks %v", got)
	}
}

func TestHealthOutput(t *testing.T) {
	checks := passiveChecks(1, 0, 0, 0)
	b := mustNew(t, map[string]any{"id": "u-1", "name": "u", "healthchecks": checks},
		[]map[string]any{tgt("t1", "127.0.0.1:10001", 10), tgt("t2", "127.0.0.2:10002", 20)}, Options{})
	if err := b.SetHealthy("t2", false); err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(b.Health())
	want := `[{"id":"t1","target":"127.0.0.1:10001","weight":10,"health":"HEALTHY","data":{"host":"127.0.0.1","port":10001,"dns":"A","nodeWeight":10,"weight":{"total":10,"available":10,"unavailable":0},"addresses":[{"ip":"127.0.0.1","port":10001,"weight":10,"health":"HEALTHY"}]}},` +
		`{"id":"t2","target":"127.0.0.2:10002","weight":20,"health":"UNHEALTHY","data":{"host":"127.0.0.2","port":10002,"dns":"A","nodeWeight":20,"weight":{"total":20,"available":0,"unavailable":20},"addresses":[{"ip":"127.0.0.2","port":10002,"weight":20,"health":"UNHEALTHY"}]}}]`
	if string(js) != want {
		t.Fatalf("health\n got %s\nwant %s", js, want)
	}
	js, _ = json.Marshal(b.BalancerHealth())
	want = `{"id":"u-1","health":"HEALTHY","details":{"healthy":true,"weight":{"total":30,"available":10,"unavailable":20},"hosts":[` +
		`{"host":"127.0.0.1","port":10001,"dns":"A","nodeWeight":10,"weight":{"total":10,"available":10,"unavailable":0},"addresses":[{"ip":"127.0.0.1","port":10001,"weight":10,"healthy":true}]},` +
		`{"host":"127.0.0.2","port":10002,"dns":"A","nodeWeight":20,"weight":{"total":20,"available":0,"unavailable":20},"addresses":[{"ip":"127.0.0.2","port":10002,"weight":20,"healthy":false}]}]}}`
	if string(js) != want {
		t.Fatalf("balancer health\n got %s\nwant %s", js, want)
	}
	off := mustNew(t, map[string]any{"id": "u-2", "name": "u"}, loopTargets(1), Options{})
	js, _ = json.Marshal(off.BalancerHealth())
	if string(js) != `{"id":"u-2","health":"HEALTHCHECKS_OFF"}` {
		t.Fatalf("checks off: %s", js)
	}
	if h := off.Health()[0]; h.Health != HealthchecksOff || h.Data.Addresses[0].Health != HealthchecksOff {
		t.Fatalf("checks off: %+v", h)
	}
}

// flakyServer is an httptest server on 127.0.0.1 whose status can be switched.
type flakyServer struct {
	*httptest.Server
	status atomic.Int64
	hits   atomic.Int64
	host   atomic.Value
}

func newFlakyServer(t *testing.T, delay time.Duration) *flakyServer {
	f := &flakyServer{}
	f.status.Store(200)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/status" || r.Header.Get("X-Probe") != "yes" {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		f.hits.Add(1)
		f.host.Store(r.Host)
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
			}
		}
		w.WriteHeader(int(f.status.Load()))
	}))
	t.Cleanup(f.Close)
	return f
}

func activeChecks(interval float64) map[string]any {
	return map[string]any{
		"active": map[string]any{
			"type": "http", "http_path": "/status", "timeout": 0.5, "concurrency": int64(2),
			"headers":   map[string]any{"X-Probe": []any{"yes"}},
			"healthy":   map[string]any{"interval": interval, "successes": int64(1)},
			"unhealthy": map[string]any{"interval": interval, "http_failures": int64(1), "tcp_failures": int64(1), "timeouts": int64(1)},
		},
	}
}

// waitFor polls cond every 2 ms until it holds or limit passes; it returns
// how long that took.
func waitFor(limit time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for time.Since(start) < limit {
		if cond() {
			return time.Since(start), true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start), cond()
}

func TestActiveHealthChecks(t *testing.T) {
	const interval = 50 * time.Millisecond
	s1, s2 := newFlakyServer(t, 0), newFlakyServer(t, 0)
	a1, a2 := s1.Listener.Addr().String(), s2.Listener.Addr().String()
	b := mustNew(t, map[string]any{"name": "u", "healthchecks": activeChecks(interval.Seconds())},
		[]map[string]any{tgt("t1", a1, 100), tgt("t2", a2, 100)}, Options{})
	b.Start()
	b.Start() // idempotent

	if _, ok := waitFor(time.Second, func() bool { return s1.hits.Load() > 0 && s2.hits.Load() > 0 }); !ok {
		t.Fatal("no active probes")
	}
	if h, _ := s1.host.Load().(string); h != "127.0.0.1" {
		t.Fatalf("probe Host header %q, want the target host", h)
	}

	s2.status.Store(500)
	took, ok := waitFor(time.Second, func() bool { return healthOf(b, a2) == Unhealthy })
	if !ok {
		t.Fatal("failing target never marked unhealthy")
	}
	t.Logf("failing target unhealthy after %v (interval %v)", took.Round(time.Millisecond), interval)
	if took > 2*interval {
		t.Errorf("took %v, more than 2 intervals", took)
	}
	for range 100 {
		p, err := b.Pick(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.Addr == a2 {
			t.Fatal("unhealthy target picked")
		}
		b.Report(p, Result{Status: 200})
	}

	s2.status.Store(200)
	took, ok = waitFor(time.Second, func() bool { return healthOf(b, a2) == Healthy })
	if !ok {
		t.Fatal("recovered target never marked healthy")
	}
	t.Logf("recovered target healthy after %v", took.Round(time.Millisecond))
	if took > 2*interval {
		t.Errorf("took %v, more than 2 intervals", took)
	}
	if got := countPicks(t, b, 100, false, nil); got[a2] != 50 {
		t.Fatalf("picks after recovery %v", got)
	}

	b.Close()
	// A probe written just before Close may still reach the server: take
	// the baseline once such stragglers have landed.
	time.Sleep(interval)
	hits := s1.hits.Load()
	time.Sleep(3 * interval)
	if s1.hits.Load() != hits {
		t.Fatal("probes continue after Close")
	}
	b.Start() // no restart after Close
	time.Sleep(2 * interval)
	if s1.hits.Load() != hits {
		t.Fatal("Start after Close restarted probes")
	}
}

func TestActiveTCPFailuresAndTimeouts(t *testing.T) {
	const interval = 50 * time.Millisecond
	// a port with nothing listening: bind, note the address, close
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	slow := newFlakyServer(t, 1500*time.Millisecond)
	fine := newFlakyServer(t, 0)

	// The timeout leaves a refused connection time to be seen as one on a
	// loaded machine (a dial that outlives it would count as a timeout).
	checks := activeChecks(interval.Seconds())
	checks["active"].(map[string]any)["timeout"] = 0.25
	b := mustNew(t, map[string]any{"name": "u", "healthchecks": checks},
		[]map[string]any{tgt("dead", dead, 1), tgt("slow", slow.Listener.Addr().String(), 1), tgt("fine", fine.Listener.Addr().String(), 1)},
		Options{})
	b.Start()
	if _, ok := waitFor(2*time.Second, func() bool {
		return healthOf(b, dead) == Unhealthy && healthOf(b, slow.Listener.Addr().String()) == Unhealthy
	}); !ok {
		t.Fatalf("dead %s, slow %s", healthOf(b, dead), healthOf(b, slow.Listener.Addr().String()))
	}
	b.mu.Lock()
	var deadCtr, slowCtr [4]int
	for _, a := range b.addrs {
		switch a.t.cfg.id {
		case "dead":
			deadCtr = a.ctr
		case "slow":
			slowCtr = a.ctr
		}
	}
	b.mu.Unlock()
	if deadCtr[ctrTCP] != 1 || slowCtr[ctrTimeout] != 1 {
		t.Fatalf("counters: dead %v slow %v", deadCtr, slowCtr)
	}
	if healthOf(b, fine.Listener.Addr().String()) != Healthy {
		t.Fatal("fine target not healthy")
	}
}

func TestActiveTCPType(t *testing.T) {
	const interval = 50 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	addr := ln.Addr().String()
	checks := activeChecks(interval.Seconds())
	checks["active"].(map[string]any)["type"] = "tcp"
	b := mustNew(t, map[string]any{"name": "u", "healthchecks": checks}, []map[string]any{tgt("t", addr, 1)}, Options{})
	b.Start()
	time.Sleep(2 * interval)
	if healthOf(b, addr) != Healthy {
		t.Fatal("listening target unhealthy")
	}
	ln.Close()
	wg.Wait()
	if _, ok := waitFor(time.Second, func() bool { return healthOf(b, addr) == Unhealthy }); !ok {
		t.Fatal("closed port not marked unhealthy")
	}
}

func TestDNSRefresh(t *testing.T) {
	var answer atomic.Value
	answer.Store([]netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")})
	resolver := func(string) ([]netip.Addr, error) { return answer.Load().([]netip.Addr), nil }
	b := mustNew(t, map[string]any{"name": "u", "healthchecks": passiveChecks(1, 0, 0, 0)},
		[]map[string]any{tgt("t", "svc.test:80", 10)},
		Options{Resolver: resolver, DNSInterval: 10 * time.Millisecond})
	if err := b.SetAddressHealthy("svc.test:80", "127.0.0.1", false); err != nil {
		t.Fatal(err)
	}
	b.Start()
	answer.Store([]netip.Addr{netip.MustParseAddr("127.0.0.4"), netip.MustParseAddr("127.0.0.1")})
	addrs := func() string {
		var s []string
		for _, a := range b.Health()[0].Data.Addresses {
			s = append(s, a.IP+"="+a.Health)
		}
		return strings.Join(s, " ")
	}
	want := "127.0.0.1=UNHEALTHY 127.0.0.4=HEALTHY"
	if _, ok := waitFor(2*time.Second, func() bool { return addrs() == want }); !ok {
		t.Fatalf("addresses %q, want %q", addrs(), want)
	}
	if got := countPicks(t, b, 10, false, nil); got["svc.test:80"] != 10 {
		t.Fatalf("picks %v", got)
	}
	p, _ := b.Pick(nil, nil)
	if p.Addr != "127.0.0.4:80" {
		t.Fatalf("picked %s", p.Addr)
	}
}

func TestConcurrentUse(t *testing.T) {
	s1, s2 := newFlakyServer(t, 0), newFlakyServer(t, 0)
	checks := activeChecks(0.01)
	checks["passive"] = passiveChecks(3, 3, 3, 1)["passive"]
	for _, alg := range []string{"round-robin", "consistent-hashing", "least-connections", "latency"} {
		t.Run(alg, func(t *testing.T) {
			b := mustNew(t, map[string]any{"name": "u", "algorithm": alg, "hash_on": "ip", "healthchecks": checks},
				[]map[string]any{tgt("1", s1.Listener.Addr().String(), 10), tgt("2", s2.Listener.Addr().String(), 20)}, Options{})
			b.Start()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 2000 && ctx.Err() == nil; i++ {
						in := &HashInput{ClientIP: "10.0.0." + string(rune('0'+g))}
						p, err := b.Pick(in, nil)
						if err != nil {
							continue
						}
						b.Report(p, Result{Status: 200 + 300*(i%7/6), Latency: time.Millisecond})
						if i%500 == 0 {
							_ = b.Health()
							_ = b.SetHealthy("1", true)
						}
					}
				}()
			}
			wg.Wait()
			b.mu.Lock()
			for _, a := range b.addrs {
				if a.conns != 0 {
					t.Errorf("%s: %d in flight after every Report", a.addr, a.conns)
				}
			}
			b.mu.Unlock()
		})
	}
}

func TestActiveHTTPS(t *testing.T) {
	const interval = 30 * time.Millisecond
	var hits atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	for _, verify := range []bool{false, true} {
		checks := activeChecks(interval.Seconds())
		checks["active"].(map[string]any)["type"] = "https"
		checks["active"].(map[string]any)["https_verify_certificate"] = verify
		b := mustNew(t, map[string]any{"name": "u", "healthchecks": checks}, []map[string]any{tgt("t", addr, 1)}, Options{})
		before := hits.Load()
		b.Start()
		if verify {
			// the test certificate is not trusted: a handshake failure counts as a TCP failure
			if _, ok := waitFor(time.Second, func() bool { return healthOf(b, addr) == Unhealthy }); !ok {
				t.Fatal("untrusted certificate accepted")
			}
		} else {
			if _, ok := waitFor(time.Second, func() bool { return hits.Load() > before+1 }); !ok {
				t.Fatal("no https probes")
			}
			if healthOf(b, addr) != Healthy {
				t.Fatal("https target unhealthy")
			}
		}
		b.Close()
	}
}
