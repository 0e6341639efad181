package threat_test

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/runtime/threat"
)

var t0 = time.Unix(1_700_000_000, 0)

func TestLimiterWindowAndBlock(t *testing.T) {
	l := threat.NewLimiter(0)
	lim := threat.Limits{MaxRequests: 2, Window: 10 * time.Second, MaxInProgress: -1, Block: 30 * time.Second}
	steps := []struct {
		at   time.Duration
		want threat.Verdict
	}{
		{0, threat.Admitted}, {time.Second, threat.Admitted}, {2 * time.Second, threat.OverRate},
		{3 * time.Second, threat.Blocked}, {31 * time.Second, threat.Blocked},
		{33 * time.Second, threat.Admitted}, // block over, a new window
		{34 * time.Second, threat.Admitted}, {35 * time.Second, threat.OverRate},
	}
	for i, s := range steps {
		v := l.Admit("k", lim, t0.Add(s.at))
		if v == threat.Admitted {
			l.Done("k")
		}
		if v != s.want {
			t.Errorf("step %d at %v: %v, want %v", i, s.at, v, s.want)
		}
	}
	// Without a block, the window's end lifts the limit.
	l2 := threat.NewLimiter(0)
	lim.Block = 0
	l2.Admit("k", lim, t0)
	l2.Admit("k", lim, t0)
	if v := l2.Admit("k", lim, t0.Add(time.Second)); v != threat.OverRate {
		t.Errorf("over: %v", v)
	}
	if v := l2.Admit("k", lim, t0.Add(11*time.Second)); v != threat.Admitted {
		t.Errorf("next window: %v", v)
	}
}

func TestLimiterInProgress(t *testing.T) {
	l := threat.NewLimiter(0)
	lim := threat.Limits{MaxRequests: -1, MaxInProgress: 3}
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l.Admit("k", lim, t0) == threat.Admitted {
				mu.Lock()
				admitted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if admitted != 3 || l.InProgress("k") != 3 {
		t.Fatalf("%d admitted, %d in progress; want 3", admitted, l.InProgress("k"))
	}
	l.Done("k")
	if v := l.Admit("k", lim, t0); v != threat.Admitted {
		t.Errorf("after Done: %v", v)
	}
	l.Done("nope") // unknown keys are ignored
}

func TestLimiterBoundsKeys(t *testing.T) {
	l := threat.NewLimiter(64) // one key per shard
	lim := threat.Limits{MaxRequests: 1, Window: time.Second, MaxInProgress: -1}
	untracked := 0
	for i := 0; i < 1000; i++ {
		if l.Admit(fmt.Sprint(i), lim, t0) == threat.Untracked {
			untracked++
		}
	}
	if l.Len() > 64 || untracked == 0 {
		t.Errorf("%d keys tracked, %d untracked", l.Len(), untracked)
	}
	// Idle keys are swept when their windows are over.
	for i := 0; i < 1000; i++ {
		l.Admit(fmt.Sprint("later", i), lim, t0.Add(time.Minute))
	}
	if l.Len() > 64 {
		t.Errorf("%d keys after the sweep", l.Len())
	}
}

func TestLimiterFail(t *testing.T) {
	l := threat.NewLimiter(0)
	for i := 1; i <= 3; i++ {
		locked := l.Fail("ip", 3, time.Minute, time.Hour, t0.Add(time.Duration(i)*time.Second))
		if locked != (i == 3) {
			t.Errorf("failure %d: locked %v", i, locked)
		}
	}
	if l.BlockedUntil("ip", t0.Add(time.Minute)).IsZero() {
		t.Error("not blocked")
	}
	if !l.BlockedUntil("ip", t0.Add(2*time.Hour)).IsZero() {
		t.Error("block did not expire")
	}
	// Failures in separate windows do not add up.
	l2 := threat.NewLimiter(0)
	l2.Fail("ip", 2, time.Second, time.Hour, t0)
	if l2.Fail("ip", 2, time.Second, time.Hour, t0.Add(5*time.Second)) {
		t.Error("failures of two windows locked out")
	}
	if l2.Fail("ip", -1, time.Second, time.Hour, t0) {
		t.Error("unlimited locked out")
	}
}

func TestIPSet(t *testing.T) {
	pfx := func(s string) netip.Prefix {
		p, err := threat.ParsePrefix(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	s := threat.NewIPSet([]threat.Denied{
		{ID: "a", Prefix: pfx("192.0.2.7")},
		{ID: "b", Prefix: pfx("10.0.0.0/8"), ExpiresAt: t0.Add(time.Minute)},
		{ID: "c", Prefix: pfx("2001:db8::/32")},
	})
	cases := []struct {
		ip   string
		at   time.Duration
		want string
	}{
		{"192.0.2.7", 0, "a"}, {"::ffff:192.0.2.7", 0, "a"}, {"192.0.2.8", 0, ""},
		{"10.9.9.9", 0, "b"}, {"10.9.9.9", time.Minute, ""}, {"2001:db8::1", 0, "c"},
		{"fe80::1%eth0", 0, ""}, {"garbage", 0, ""}, {"", 0, ""},
	}
	for _, c := range cases {
		d, ok := s.Lookup(c.ip, t0.Add(c.at))
		if got := map[bool]string{true: d.ID}[ok]; got != c.want {
			t.Errorf("%q at +%v: %q, want %q", c.ip, c.at, got, c.want)
		}
	}
	var empty *threat.IPSet
	if _, ok := empty.Lookup("192.0.2.7", t0); ok || empty.Len() != 0 {
		t.Error("nil set denies")
	}
}

func TestRing(t *testing.T) {
	r := threat.NewRing(3)
	for i := 1; i <= 5; i++ {
		r.Record(threat.Event{Rule: "r", Filter: "f", Path: fmt.Sprint(i)})
	}
	paths := func(evs []threat.Event) (out []string) {
		for _, e := range evs {
			out = append(out, e.Path)
		}
		return out
	}
	evs, next := r.List(0, 2)
	if fmt.Sprint(paths(evs)) != "[5 4]" || next == 0 {
		t.Fatalf("first page %v, next %d", paths(evs), next)
	}
	evs, next = r.List(next, 2)
	if fmt.Sprint(paths(evs)) != "[3]" || next != 0 {
		t.Errorf("second page %v, next %d", paths(evs), next)
	}
	if evs[0].Action != threat.ActionDeny || evs[0].Time == 0 || evs[0].ID != 3 {
		t.Errorf("event %+v", evs[0])
	}
	if evs, _ := r.List(1, 10); len(evs) != 0 {
		t.Errorf("before the oldest: %v", evs)
	}
}

func FuzzParsePrefix(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "1.2.3.4/24", "::1", "::ffff:1.2.3.4/120", "fe80::1%x", "1.2.3.4/-1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := threat.ParsePrefix(s)
		if err != nil {
			return
		}
		if p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			t.Fatalf("%q parsed as an unnormalized %v", s, p)
		}
		set := threat.NewIPSet([]threat.Denied{{Prefix: p}})
		if _, ok := set.LookupAddr(p.Addr(), t0); !ok {
			t.Fatalf("%v does not contain its own address", p)
		}
	})
}

func BenchmarkLookupMiss(b *testing.B) {
	var entries []threat.Denied
	for i := 0; i < 1000; i++ {
		p, _ := threat.ParsePrefix(fmt.Sprintf("10.%d.%d.1", i/256, i%256))
		entries = append(entries, threat.Denied{Prefix: p})
	}
	p, _ := threat.ParsePrefix("192.168.0.0/16")
	entries = append(entries, threat.Denied{Prefix: p})
	s := threat.NewIPSet(entries)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.Lookup("172.16.5.5", t0); ok {
			b.Fatal("denied")
		}
	}
}
