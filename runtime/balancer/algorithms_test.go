package balancer

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"testing"
	"time"
)

func TestXXHash32(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint32
	}{
		{"", 0x02cc5d05},
		{"a", 0x550d7456},
		{"abc", 0x32d153ff},
		{"Nobody inspects the spammish repetition", 0xe2293b2f},
	} {
		if got := xxhash32(c.in); got != c.want {
			t.Errorf("xxhash32(%q) = %#08x, want %#08x", c.in, got, c.want)
		}
	}
}

var weightSets = []struct {
	name    string
	weights []int64
}{
	{"equal", []int64{100, 100, 100}},
	{"10-20-70", []int64{10, 20, 70}},
	{"1-2-3-4", []int64{1, 2, 3, 4}},
	{"with-zero", []int64{100, 0, 50}},
	{"single", []int64{7}},
}

func TestRoundRobinDistribution(t *testing.T) {
	const n = 10000
	for _, ws := range weightSets {
		t.Run(ws.name, func(t *testing.T) {
			targets := loopTargets(ws.weights...)
			b := mustNew(t, map[string]any{"name": "u"}, targets, Options{})
			checkShares(t, countPicks(t, b, n, false, nil), targets, n, 0.05)
		})
	}
}

func TestRoundRobinSmoothAndDeterministic(t *testing.T) {
	targets := loopTargets(5, 1, 1)
	seq := func() string {
		b := mustNew(t, map[string]any{"name": "u"}, targets, Options{})
		s := ""
		for range 14 {
			p, err := b.Pick(nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			s += p.Target[len(p.Target)-1:]
		}
		return s
	}
	a, b := seq(), seq()
	if a != b {
		t.Fatalf("not deterministic: %s vs %s", a, b)
	}
	// nginx's smooth weighted round-robin for 5,1,1
	if want := "11213111121311"; a != want {
		t.Fatalf("sequence %s, want %s", a, want)
	}
}

func TestLeastConnectionsDistribution(t *testing.T) {
	const n = 10000
	for _, ws := range weightSets {
		t.Run(ws.name, func(t *testing.T) {
			targets := loopTargets(ws.weights...)
			b := mustNew(t, map[string]any{"name": "u", "algorithm": "least-connections"}, targets, Options{})
			// connections held open: in-flight counts follow the weights
			checkShares(t, countPicks(t, b, n, true, nil), targets, n, 0.05)
		})
	}
}

func TestLeastConnectionsPrefersIdle(t *testing.T) {
	b := mustNew(t, map[string]any{"name": "u", "algorithm": "least-connections"}, loopTargets(10, 10), Options{})
	p1, _ := b.Pick(nil, nil)
	p2, _ := b.Pick(nil, nil)
	if p1.Addr == p2.Addr {
		t.Fatalf("second pick %s should go to the idle peer", p2.Addr)
	}
	b.Report(p1, Result{Status: 200})
	p3, _ := b.Pick(nil, nil)
	if p3.Addr != p1.Addr {
		t.Fatalf("after p1 finished, pick %s, want %s", p3.Addr, p1.Addr)
	}
	// busy peer with twice the weight takes two in-flight for one
	b2 := mustNew(t, map[string]any{"name": "u", "algorithm": "least-connections"}, loopTargets(20, 10), Options{})
	got := countPicks(t, b2, 3, true, nil)
	if got["127.0.0.1:10001"] != 2 || got["127.0.0.1:10002"] != 1 {
		t.Fatalf("picks %v, want 2 and 1", got)
	}
}

func TestLatency(t *testing.T) {
	const n = 10000
	t.Run("equal-uniform", func(t *testing.T) {
		targets := loopTargets(100, 100, 100)
		b := mustNew(t, map[string]any{"name": "u", "algorithm": "latency"}, targets, Options{})
		checkShares(t, countPicks(t, b, n, false, nil), targets, n, 0.05)
	})
	t.Run("faster-wins", func(t *testing.T) {
		now := time.Unix(1000, 0)
		b := mustNew(t, map[string]any{"name": "u", "algorithm": "latency"}, loopTargets(100, 100, 100),
			Options{Now: func() time.Time { return now }})
		lat := map[string]time.Duration{
			"127.0.0.1:10001": 5 * time.Millisecond,
			"127.0.0.1:10002": 50 * time.Millisecond,
			"127.0.0.1:10003": 200 * time.Millisecond,
		}
		got := map[string]int{}
		for i := 0; i < n; i++ {
			p, err := b.Pick(nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			got[p.Target]++
			b.Report(p, Result{Status: 200, Latency: lat[p.Target]})
			now = now.Add(time.Millisecond)
		}
		if got["127.0.0.1:10001"] < n*6/10 || got["127.0.0.1:10003"] > got["127.0.0.1:10002"] {
			t.Fatalf("latency picks %v: fastest should dominate, slowest be last", got)
		}
	})
	t.Run("ewma-decay", func(t *testing.T) {
		t0 := time.Unix(0, 0)
		if got := decayEWMA(0, time.Time{}, 0.2, t0); got != 0.2 {
			t.Fatalf("first sample = %v, want 0.2", got)
		}
		// after one time constant, the old value keeps e^-1 of its weight
		got := decayEWMA(1, t0, 0, t0.Add(10*time.Second))
		if math.Abs(got-math.Exp(-1)) > 1e-9 {
			t.Fatalf("decay = %v", got)
		}
	})
}

func hashUp(extra map[string]any) map[string]any {
	up := map[string]any{
		"name": "u", "algorithm": "consistent-hashing",
		"hash_on": "header", "hash_on_header": "x-user", "slots": int64(10000),
	}
	for k, v := range extra {
		up[k] = v
	}
	return up
}

func userKey(i int) *HashInput {
	k := fmt.Sprintf("user-%d", i)
	return &HashInput{Header: func(string) []string { return []string{k} }}
}

func TestConsistentHashingDistribution(t *testing.T) {
	const n = 10000
	for _, ws := range weightSets {
		t.Run(ws.name, func(t *testing.T) {
			targets := loopTargets(ws.weights...)
			b := mustNew(t, hashUp(nil), targets, Options{})
			got := countPicks(t, b, n, false, userKey)
			var sum int64
			for _, w := range ws.weights {
				sum += w
			}
			// a hashed share follows the ring's arcs: within 5 percentage points
			for _, m := range targets {
				w, name := m["weight"].(int64), m["target"].(string)
				share := float64(got[name]) / n
				want := float64(w) / float64(sum)
				t.Logf("%s weight %d: %.1f%% (want %.1f%%)", name, w, share*100, want*100)
				if math.Abs(share-want) > 0.05 || (w == 0 && got[name] != 0) {
					t.Errorf("%s: share %.3f, want %.3f", name, share, want)
				}
			}
		})
	}
}

func TestConsistentHashingStability(t *testing.T) {
	const n = 5000
	targets := loopTargets(100, 100, 100, 100)
	mapKeys := func(b *Balancer) []string {
		out := make([]string, n)
		for i := range out {
			p, err := b.Pick(userKey(i), nil)
			if err != nil {
				t.Fatal(err)
			}
			out[i] = p.Target
			b.Report(p, Result{Status: 200})
		}
		return out
	}
	b := mustNew(t, hashUp(nil), targets, Options{})
	first := mapKeys(b)
	if again := mapKeys(b); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Fatal("same key mapped to different peers")
	}
	// the ring does not depend on the order of the targets
	rev := []map[string]any{targets[3], targets[1], targets[2], targets[0]}
	if other := mapKeys(mustNew(t, hashUp(nil), rev, Options{})); fmt.Sprint(other) != fmt.Sprint(first) {
		t.Fatal("ring depends on the order of targets")
	}

	// removing a target moves its keys, and (almost) only them
	removed := targets[2]["target"].(string)
	after := mapKeys(mustNew(t, hashUp(nil), []map[string]any{targets[0], targets[1], targets[3]}, Options{}))
	stayed, others, movedFromRemoved := 0, 0, 0
	for i := range first {
		if first[i] == removed {
			movedFromRemoved++
			if after[i] == removed {
				t.Fatal("key still on removed target")
			}
			continue
		}
		others++
		if after[i] == first[i] {
			stayed++
		}
	}
	t.Logf("removing 1 of 4 targets: %d keys moved with it, %d/%d other keys stayed", movedFromRemoved, stayed, others)
	if float64(stayed) < 0.97*float64(others) {
		t.Fatalf("only %d/%d keys of remaining targets stayed", stayed, others)
	}

	// an unhealthy target: its keys move, every other key stays
	up := hashUp(map[string]any{"healthchecks": passiveChecks(1, 0, 0, 0)})
	bh := mustNew(t, up, targets, Options{})
	base := mapKeys(bh)
	if err := bh.SetHealthy(removed, false); err != nil {
		t.Fatal(err)
	}
	moved := mapKeys(bh)
	for i := range base {
		if base[i] != removed && moved[i] != base[i] {
			t.Fatalf("key %d moved from healthy %s to %s", i, base[i], moved[i])
		}
		if moved[i] == removed {
			t.Fatal("unhealthy target picked")
		}
	}
}

func TestConsistentHashingTriedAndCookie(t *testing.T) {
	b := mustNew(t, hashUp(nil), loopTargets(1, 1, 1), Options{})
	in := userKey(42)
	p1, _ := b.Pick(in, nil)
	p2, _ := b.Pick(in, []string{p1.Addr})
	p3, _ := b.Pick(in, []string{p1.Addr, p2.Addr})
	p4, _ := b.Pick(in, []string{p1.Addr, p2.Addr, p3.Addr})
	if p1.Addr == p2.Addr || p3.Addr == p1.Addr || p3.Addr == p2.Addr {
		t.Fatalf("retries repeated a peer: %s %s %s", p1.Addr, p2.Addr, p3.Addr)
	}
	if p4.Addr != p1.Addr {
		t.Fatalf("with every peer tried, want the hashed peer %s again, got %s", p1.Addr, p4.Addr)
	}

	cb := mustNew(t, hashUp(map[string]any{"hash_on": "cookie", "hash_on_cookie": "sticky", "hash_on_cookie_path": "/app"}),
		loopTargets(1, 1, 1), Options{})
	in = &HashInput{Cookie: func(string) (string, bool) { return "", false }}
	c1, err := cb.Pick(in, nil)
	if err != nil || c1.HashCookie == nil {
		t.Fatalf("want a generated cookie, got %+v %v", c1, err)
	}
	if c1.HashCookie.Name != "sticky" || len(c1.HashCookie.Value) != 36 {
		t.Fatalf("cookie %+v", c1.HashCookie)
	}
	want := "sticky=" + c1.HashCookie.Value + "; Path=/app; Same-Site=Lax; HttpOnly"
	if c1.HashCookie.String() != want {
		t.Fatalf("Set-Cookie %q, want %q", c1.HashCookie.String(), want)
	}
	c2, _ := cb.Pick(in, nil) // a retry of the same request keeps the cookie and the hash
	if c2.HashCookie != c1.HashCookie || c2.Addr != c1.Addr {
		t.Fatal("retry changed the cookie or the peer")
	}
	// the next request carries the cookie: same peer, nothing to set
	val := c1.HashCookie.Value
	c3, _ := cb.Pick(&HashInput{Cookie: func(n string) (string, bool) { return val, n == "sticky" }}, nil)
	if c3.Addr != c1.Addr || c3.HashCookie != nil {
		t.Fatalf("request with the cookie went to %s (cookie %v), want %s", c3.Addr, c3.HashCookie, c1.Addr)
	}
}

func TestHashValue(t *testing.T) {
	hdr := func(vals map[string][]string) func(string) []string {
		return func(n string) []string { return vals[n] }
	}
	cookie := func(vals map[string]string) func(string) (string, bool) {
		return func(n string) (string, bool) { v, ok := vals[n]; return v, ok }
	}
	cases := []struct {
		name   string
		up     map[string]any
		in     *HashInput
		want   string
		cookie bool
	}{
		{"none", map[string]any{}, &HashInput{ClientIP: "1.2.3.4"}, "", false},
		{"nil input", map[string]any{"hash_on": "ip"}, nil, "", false},
		{"consumer", map[string]any{"hash_on": "consumer"}, &HashInput{ConsumerID: "c1", CredentialID: "k1"}, "c1", false},
		{"consumer falls to credential", map[string]any{"hash_on": "consumer"}, &HashInput{CredentialID: "k1"}, "k1", false},
		{"consumer falls back to ip", map[string]any{"hash_on": "consumer", "hash_fallback": "ip"}, &HashInput{ClientIP: "10.0.0.9"}, "10.0.0.9", false},
		{"ip", map[string]any{"hash_on": "ip"}, &HashInput{ClientIP: "10.0.0.1"}, "10.0.0.1", false},
		{"ip missing no fallback", map[string]any{"hash_on": "ip"}, &HashInput{}, "", false},
		{"header", map[string]any{"hash_on": "header", "hash_on_header": "X-A"},
			&HashInput{Header: hdr(map[string][]string{"X-A": {"v"}})}, "v", false},
		{"header values joined", map[string]any{"hash_on": "header", "hash_on_header": "X-A"},
			&HashInput{Header: hdr(map[string][]string{"X-A": {"v1", "v2"}})}, "v1, v2", false},
		{"empty header is a value", map[string]any{"hash_on": "header", "hash_on_header": "X-A", "hash_fallback": "ip"},
			&HashInput{ClientIP: "1.1.1.1", Header: hdr(map[string][]string{"X-A": {""}})}, "", false},
		{"header falls back to header", map[string]any{"hash_on": "header", "hash_on_header": "X-A", "hash_fallback": "header", "hash_fallback_header": "X-B"},
			&HashInput{Header: hdr(map[string][]string{"X-B": {"b"}})}, "b", false},
		{"header falls back to cookie", map[string]any{"hash_on": "header", "hash_on_header": "X-A", "hash_fallback": "cookie", "hash_on_cookie": "c"},
			&HashInput{Header: hdr(nil), Cookie: cookie(map[string]string{"c": "cv"})}, "cv", false},
		{"cookie present", map[string]any{"hash_on": "cookie", "hash_on_cookie": "c"},
			&HashInput{Cookie: cookie(map[string]string{"c": "cv"})}, "cv", false},
		{"cookie generated", map[string]any{"hash_on": "cookie", "hash_on_cookie": "c"}, &HashInput{}, "<uuid>", true},
		{"path", map[string]any{"hash_on": "path"}, &HashInput{Path: "/a/b"}, "/a/b", false},
		{"query arg sorted", map[string]any{"hash_on": "query_arg", "hash_on_query_arg": "q"},
			&HashInput{Query: hdr(map[string][]string{"q": {"b", "c", "a"}})}, "a,b,c", false},
		{"query arg falls back", map[string]any{"hash_on": "query_arg", "hash_on_query_arg": "q", "hash_fallback": "query_arg", "hash_fallback_query_arg": "r"},
			&HashInput{Query: hdr(map[string][]string{"r": {"x"}})}, "x", false},
		{"uri capture", map[string]any{"hash_on": "uri_capture", "hash_on_uri_capture": "id"},
			&HashInput{URICapture: cookie(map[string]string{"id": "42"})}, "42", false},
		{"uri capture falls back", map[string]any{"hash_on": "uri_capture", "hash_on_uri_capture": "id", "hash_fallback": "uri_capture", "hash_fallback_uri_capture": "1"},
			&HashInput{URICapture: cookie(map[string]string{"1": "first"})}, "first", false},
		{"nothing found", map[string]any{"hash_on": "header", "hash_on_header": "X-A", "hash_fallback": "path"},
			&HashInput{Header: hdr(nil)}, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, err := parseUpstream(c.up)
			if err != nil {
				t.Fatal(err)
			}
			got, ck := u.hashValue(c.in)
			if c.cookie {
				if ck == nil || got != ck.Value || ck.Path != "/" {
					t.Fatalf("want generated cookie, got %q %+v", got, ck)
				}
				return
			}
			if got != c.want || ck != nil {
				t.Fatalf("hash value %q (cookie %v), want %q", got, ck, c.want)
			}
			if c.in != nil {
				c.in.ClientIP, c.in.Path = "changed", "changed"
				if again, _ := u.hashValue(c.in); again != got {
					t.Fatalf("value not cached for the request: %q then %q", got, again)
				}
			}
		})
	}
}

func TestRetriesAvoidTried(t *testing.T) {
	for _, alg := range []string{"round-robin", "least-connections", "latency"} {
		t.Run(alg, func(t *testing.T) {
			b := mustNew(t, map[string]any{"name": "u", "algorithm": alg}, loopTargets(100, 100, 100), Options{})
			var tried []string
			for range 3 {
				p, err := b.Pick(nil, tried)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range tried {
					if a == p.Addr {
						t.Fatalf("picked tried peer %s (tried %v)", p.Addr, tried)
					}
				}
				tried = append(tried, p.Addr)
				b.Report(p, Result{TCPError: true})
			}
			if _, err := b.Pick(nil, tried); err != nil {
				t.Fatalf("all tried: want a peer anyway, got %v", err)
			}
		})
	}
}

func TestTargetsDNSAndDuplicates(t *testing.T) {
	resolver := func(host string) ([]netip.Addr, error) {
		switch host {
		case "svc.test":
			return []netip.Addr{netip.MustParseAddr("127.0.0.3"), netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")}, nil
		case "v6.test":
			return []netip.Addr{netip.MustParseAddr("::1")}, nil
		}
		return nil, errors.New("dns server error: 3 name error")
	}
	targets := []map[string]any{
		tgt("a", "svc.test:8080", 10),
		tgt("b", "127.0.0.1:9000", 10),
		tgt("c", "nowhere.test:80", 10),
		tgt("d", "127.0.0.1:9001", 50),
		tgt("d2", "127.0.0.1:9001", 0), // later record for the same target wins: disabled
		tgt("e", "v6.test:81", 0),
	}
	b := mustNew(t, map[string]any{"name": "u", "host_header": ""}, targets, Options{Resolver: resolver})
	got := countPicks(t, b, 4000, false, nil)
	// 3 addresses x 10 for svc.test, 10 for the IP target
	if got["svc.test:8080"] != 3000 || got["127.0.0.1:9000"] != 1000 || len(got) != 2 {
		t.Fatalf("picks %v", got)
	}
	p, _ := b.Pick(nil, nil)
	if p.Target == "svc.test:8080" && p.Hostname != "svc.test" {
		t.Fatalf("peer hostname %q", p.Hostname)
	}

	h := b.Health()
	if len(h) != 5 {
		t.Fatalf("health has %d targets, want 5 (duplicates merged)", len(h))
	}
	byTarget := map[string]TargetHealth{}
	for _, th := range h {
		byTarget[th.Target] = th
	}
	svc := byTarget["svc.test:8080"]
	if svc.Health != HealthchecksOff || svc.Data.DNS != "A" || len(svc.Data.Addresses) != 3 ||
		svc.Data.Addresses[0].IP != "127.0.0.1" || svc.Data.Addresses[2].IP != "127.0.0.3" ||
		svc.Data.Addresses[1].Weight != 10 || svc.Data.Weight.Total != 30 {
		t.Fatalf("svc health %+v", svc)
	}
	if bad := byTarget["nowhere.test:80"]; bad.Health != DNSError || len(bad.Data.Addresses) != 0 {
		t.Fatalf("unresolved target %+v", bad)
	}
	if d := byTarget["127.0.0.1:9001"]; d.ID != "d2" || d.Weight != 0 {
		t.Fatalf("duplicate: want last record, got %+v", d)
	}
	if e := byTarget["v6.test:81"]; e.Data.DNS != "AAAA" || e.Data.Addresses[0].IP != "::1" {
		t.Fatalf("v6 target %+v", e)
	}
}

func TestNoPeer(t *testing.T) {
	b := mustNew(t, map[string]any{"name": "u"}, nil, Options{})
	if _, err := b.Pick(nil, nil); !errors.Is(err, ErrNoPeer) || err.Error() != "failure to get a peer from the ring-balancer" {
		t.Fatalf("empty upstream: %v", err)
	}
	b = mustNew(t, map[string]any{"name": "u"}, loopTargets(0, 0), Options{})
	if _, err := b.Pick(nil, nil); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("weight-0 targets: %v", err)
	}
	if _, err := New(map[string]any{"name": "u", "algorithm": "random"}, nil, Options{}); err == nil {
		t.Fatal("unknown algorithm accepted")
	}
	if _, err := New(map[string]any{"name": "u"}, []map[string]any{tgt("x", "h:notaport", 1)}, Options{}); err == nil {
		t.Fatal("bad target accepted")
	}
}
