package ratelimiting_test

import (
	"testing"
	"time"
	"unsafe"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/chain"
	ratelimiting "github.com/gatehouse/gatehouse/runtime/plugins/rate-limiting"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// direct runs a plugin's access phase on one Kong through chain.Call with
// a single chain.Instance, as the node runs a planned instance
// (plugintest.Call makes an Instance per call, which the node does not).
type direct struct {
	in *chain.Instance
	k  *plugintest.Kong
}

func newDirect(plugin any, k *plugintest.Kong) direct {
	in := &chain.Instance{Name: "rate-limiting", Plugin: plugin}
	in.Bind()
	return direct{in: in, k: k}
}

func (d direct) access() error {
	d.k.Reset()
	d.k.SetPhase(hostabi.PhaseAccess)
	if f := chain.Call(d.in, hostabi.PhaseAccess, d.k); f != nil {
		return f.Err
	}
	return nil
}

// TestAccessNoAlloc: an accepted request of the local policy allocates
// nothing (the counters exist; header numbers come from numText's blocks,
// one allocation per few hundred numbers, which AllocsPerRun's per-run
// integer average shows as 0), whatever it is limited by.
func TestAccessNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates; allocation counts are checked without -race")
	}
	consumer := hostabi.Entity{"id": "5f4e3d2c-1b0a-4988-8776-655443322110"}
	cases := []struct {
		name string
		cfg  map[string]any
		req  *plugintest.Request
	}{
		{"ip, second+minute+hour", map[string]any{"second": 1e9, "minute": 1e9, "hour": 1e9, "limit_by": "ip"}, get()},
		{"consumer, minute", map[string]any{"minute": 1e9}, get().WithIdentity(consumer, nil)},
		{"header, day+month+year", map[string]any{"day": 1e9, "month": 1e9, "year": 1e9, "limit_by": "header", "header_name": "x-tenant"},
			get().WithHeader("x-tenant", "acme")},
		{"hidden headers", map[string]any{"minute": 1e9, "hide_client_headers": true}, get()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock(at("2024-05-01T10:00:00Z"))
			p := newPlugin(t, tc.cfg, c)
			d := newDirect(p, plugintest.NewEnv().NewKong(tc.req))
			if err := d.access(); err != nil { // creates the counters
				t.Fatal(err)
			}
			var failed error
			n := testing.AllocsPerRun(2000, func() {
				if err := d.access(); err != nil || d.k.Response().Exited() {
					failed = err
				}
			})
			if n != 0 {
				t.Errorf("%v allocations per request, want 0", n)
			}
			if failed != nil || d.k.Response().Exited() {
				t.Fatalf("request failed: %v", failed)
			}
		})
	}
}

// TestHeaderNumbersStay: the numbers of many requests' headers, kept by
// their holders while later requests format theirs, keep their values
// (numText never rewrites digits it handed out).
func TestHeaderNumbersStay(t *testing.T) {
	c := newClock(at("2024-05-01T10:00:00Z"))
	const limit = 1_000_000
	p := newPlugin(t, map[string]any{"minute": limit, "hour": limit * 3}, c)
	env := plugintest.NewEnv()
	const n = 3000 // several numText blocks
	results := make([]*plugintest.Result, n)
	for i := range results {
		results[i] = env.Run(t, p, hostabi.PhaseAccess, get())
		if i%500 == 499 {
			c.advance(time.Second) // new RateLimit-Reset values too
		}
	}
	for i, res := range results {
		want := itoa(int64(limit - 1 - i))
		if got := res.RespHeader("X-RateLimit-Remaining-Minute"); got != want {
			t.Fatalf("request %d: X-RateLimit-Remaining-Minute = %q, want %q", i, got, want)
		}
		if got := res.RespHeader("RateLimit-Remaining"); got != want {
			t.Fatalf("request %d: RateLimit-Remaining = %q, want %q", i, got, want)
		}
		if got, want := res.RespHeader("X-RateLimit-Remaining-Hour"), itoa(int64(3*limit-1-i)); got != want {
			t.Fatalf("request %d: X-RateLimit-Remaining-Hour = %q, want %q", i, got, want)
		}
		if got, want := res.RespHeader("RateLimit-Reset"), itoa(int64(60-i/500)); got != want {
			t.Fatalf("request %d: RateLimit-Reset = %q, want %q", i, got, want)
		}
	}
}

// TestRolloverUnderConcurrency: concurrent requests fill a second's window
// exactly; in the next second the same identifier's counters start over
// and are filled exactly again, while the minute window keeps counting.
func TestRolloverUnderConcurrency(t *testing.T) {
	c := newClock(at("2024-05-01T10:00:10Z"))
	p := newPlugin(t, map[string]any{"second": 100, "minute": 250}, c)
	env := plugintest.NewEnv()
	for i, want := range []int64{100, 100, 50, 0} {
		passed, rejected := hammer(t, env, []hostabi.Accessor{p}, func() *plugintest.Request { return get() }, 16, 20)
		if passed != want || rejected != 320-want {
			t.Fatalf("second %d: passed %d rejected %d, want %d passed", i, passed, rejected, want)
		}
		c.advance(time.Second)
	}
	// A new minute: the minute window starts over too.
	c.set(at("2024-05-01T10:01:00Z"))
	if passed, _ := hammer(t, env, []hostabi.Accessor{p}, func() *plugintest.Request { return get() }, 16, 20); passed != 100 {
		t.Fatalf("next minute: passed %d, want 100", passed)
	}
}

// BenchmarkAccessDirect is BenchmarkAccess without the harness's
// per-call Instance: the plugin's own cost as the node pays it.
func BenchmarkAccessDirect(b *testing.B) {
	c := newClock(time.Now())
	p := newPlugin(b, map[string]any{"minute": 1e12, "hour": 1e12}, c)
	d := newDirect(p, plugintest.NewEnv().NewKong(get()))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.access(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBatchedNoAlloc: with the redis policy and a sync_rate, an accepted
// request whose windows this node counts already allocates nothing: its
// counters are found by identifier, period and window start, no key is
// built and Redis is not contacted (the sync, every 60 s, is not due
// during the test).
func TestBatchedNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates; allocation counts are checked without -race")
	}
	c := newClock(time.Now())
	p := redisNode(t, map[string]any{"minute": 1e9, "hour": 1e9, "sync_rate": 60}, c)
	d := newDirect(p, plugintest.NewEnv().NewKong(redisGet(uniqueID(t))))
	if err := d.access(); err != nil { // reads the counters from Redis
		t.Fatal(err)
	}
	var failed error
	n := testing.AllocsPerRun(1000, func() {
		if err := d.access(); err != nil {
			failed = err
		}
	})
	if failed != nil || d.k.Response().Exited() {
		t.Fatalf("request failed: %v", failed)
	}
	if n != 0 {
		t.Errorf("%v allocations per request, want 0", n)
	}
	if got, want := d.k.Result().RespHeader("X-RateLimit-Remaining-Minute"), itoa(1e9-1002); got != want {
		t.Errorf("X-RateLimit-Remaining-Minute = %q, want %q", got, want)
	}
}

// viewKong is a Kong whose request headers are views of a buffer, as a
// node that does not copy header values would hand them out.
type viewKong struct {
	*plugintest.Kong
	header string
}

func (k *viewKong) Request() hostabi.Request { return viewRequest{k.Kong.Request(), k.header} }

type viewRequest struct {
	hostabi.Request
	header string
}

func (r viewRequest) Header(string) string { return r.header }

// TestIdentifierCopied: an identifier that views a buffer the node reuses
// is copied when its counters are created, so rewriting the buffer does
// not lose them (which would let the identifier start over).
func TestIdentifierCopied(t *testing.T) {
	for _, policy := range []string{"local", "redis"} {
		t.Run(policy, func(t *testing.T) {
			c := newClock(at("2024-05-01T10:00:00Z"))
			cfg := map[string]any{"minute": 1, "limit_by": "header", "header_name": "x-tenant"}
			route := uniqueID(t)
			var p *ratelimiting.Plugin
			if policy == "redis" {
				cfg["sync_rate"] = 60
				p = redisNode(t, cfg, c)
			} else {
				p = newPlugin(t, cfg, c)
			}
			env := plugintest.NewEnv()
			access := func(tenant string) bool {
				k := &viewKong{Kong: env.NewKong(redisGet(route)), header: tenant}
				k.SetPhase(hostabi.PhaseAccess)
				if err := p.Access(k); err != nil {
					t.Fatal(err)
				}
				return !k.Response().Exited()
			}
			buf := []byte("tenant-a")
			if !access(unsafe.String(&buf[0], len(buf))) {
				t.Fatal("first request rejected")
			}
			copy(buf, "xxxxxxxx") // the node's next request
			if access("tenant-a") {
				t.Fatal("tenant-a's second request in the minute passed: its counters were lost")
			}
			if !access("xxxxxxxx") {
				t.Fatal("another tenant was counted as tenant-a")
			}
		})
	}
}
