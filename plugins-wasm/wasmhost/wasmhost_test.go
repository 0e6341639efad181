package wasmhost

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

func leb(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func section(id byte, body []byte) []byte {
	return append(append([]byte{id}, leb(nil, int64(len(body)))...), body...)
}

func name(s string) []byte { return append([]byte{byte(len(s))}, s...) }

// testModule has a memory and two exports: spin (an endless loop) and
// seven (returns 7).
func testModule() []byte {
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, section(1, []byte{2, 0x60, 0, 0, 0x60, 0, 1, 0x7f})...) // () and () -> i32
	m = append(m, section(3, []byte{2, 0, 1})...)
	m = append(m, section(5, []byte{1, 0, 1})...)
	ex := []byte{3}
	ex = append(append(ex, name("spin")...), 0, 0)
	ex = append(append(ex, name("seven")...), 0, 1)
	ex = append(append(ex, name("memory")...), 2, 0)
	m = append(m, section(7, ex)...)
	spin := []byte{0, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b} // loop br 0 end end
	seven := []byte{0, 0x41, 0x07, 0x0b}                  // i32.const 7 end
	code := []byte{2}
	code = append(leb(code, int64(len(spin))), spin...)
	code = append(leb(code, int64(len(seven))), seven...)
	return append(m, section(10, code)...)
}

func newModule(t *testing.T, opts Options) *Module {
	t.Helper()
	rt, err := NewRuntime(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	m, err := rt.Compile(context.Background(), "test", testModule())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTimeLimit: an endless loop ends at the time limit (or the parent's
// deadline, when sooner, or at once when the parent is over) as a timeout
// fault that breaks the instance; the pool closes it and makes another.
func TestTimeLimit(t *testing.T) {
	m := newModule(t, Options{Timeout: 50 * time.Millisecond})
	pool := NewPool(m, nil)
	defer pool.Close()
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	done := func() context.Context {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx
	}
	tests := []struct {
		name   string
		parent func() context.Context
		want   string
		most   time.Duration
	}{
		{"limit", context.Background, "wasm plugin test: access: timeout: time limit (50ms) exceeded", time.Second},
		{"request deadline", short, "wasm plugin test: access: timeout: the request's deadline passed", time.Second},
		{"request over", done, "wasm plugin test: access: timeout: the request's context ended: context canceled", 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := pool.Get(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = in.Call(tt.parent(), "access", nil, "spin")
			var f *Fault
			if !errors.As(err, &f) || f.Kind != FaultTimeout || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if d := time.Since(start); d > tt.most {
				t.Fatalf("the call took %v", d)
			}
			if tt.name != "request over" && !in.Broken() {
				t.Fatal("the instance is not broken")
			}
			pool.Discard(in)
			in2, err := pool.Get(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if in2 == in {
				t.Fatal("the pool handed out the discarded instance")
			}
			res, err := in2.Call(context.Background(), "access", nil, "seven")
			if err != nil || len(res) != 1 || res[0] != 7 {
				t.Fatalf("seven = %v, %v", res, err)
			}
			pool.Put(in2)
		})
	}
}

// TestMissingExport: calling an export the module lacks is a fault that
// leaves the instance usable.
func TestMissingExport(t *testing.T) {
	in, err := newModule(t, Options{}).Instantiate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(context.Background())
	_, err = in.Call(context.Background(), "access", nil, "nope")
	var f *Fault
	if !errors.As(err, &f) || f.Kind != FaultMissing || f.Breaks() || in.Broken() {
		t.Fatalf("err = %v", err)
	}
}

// TestPool: instances are reused; Close closes the idle ones at once and
// the checked-out ones when they come back; a closed pool hands out none.
func TestPool(t *testing.T) {
	setups := 0
	pool := NewPool(newModule(t, Options{}), func(ctx context.Context, in *Instance) error { setups++; return nil })
	a, _ := pool.Get(context.Background())
	b, _ := pool.Get(context.Background())
	if idle, busy := pool.Stats(); idle != 0 || busy != 2 || setups != 2 {
		t.Fatalf("idle %d busy %d setups %d", idle, busy, setups)
	}
	pool.Put(a)
	if again, _ := pool.Get(context.Background()); again != a || setups != 2 {
		t.Fatal("an idle instance was not reused")
	}
	pool.Put(a)
	pool.Close()
	if !a.Broken() {
		t.Fatal("Close left an idle instance open")
	}
	if b.Broken() {
		t.Fatal("Close closed an instance still in use")
	}
	pool.Put(b)
	if !b.Broken() {
		t.Fatal("an instance returned after Close was kept")
	}
	if _, err := pool.Get(context.Background()); !errors.Is(err, ErrPoolClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
}

// TestSetupRefusal: an instance whose setup fails is closed and the error
// returned.
func TestSetupRefusal(t *testing.T) {
	pool := NewPool(newModule(t, Options{}), func(ctx context.Context, in *Instance) error { return errors.New("no") })
	if err := pool.Warm(context.Background()); err == nil || err.Error() != "no" {
		t.Fatalf("Warm: %v", err)
	}
	if idle, busy := pool.Stats(); idle != 0 || busy != 0 {
		t.Fatalf("idle %d busy %d", idle, busy)
	}
}

// TestPin: a request keeps one instance across its phases; the final
// phase returns it; a request that ends without its final phase gives
// its instance back after the grace period.
func TestPin(t *testing.T) {
	pool := NewPool(newModule(t, Options{}), nil)
	defer pool.Close()
	env := plugintest.NewEnv()
	k := env.NewKong(plugintest.NewRequest("GET", "/"))
	k.SetPhase(hostabi.PhaseAccess)
	l1, err := pool.Pin(k, hostabi.PhaseAccess, false)
	if err != nil {
		t.Fatal(err)
	}
	l1.Done(k, false, false)
	if idle, busy := pool.Stats(); idle != 0 || busy != 1 {
		t.Fatalf("after access: idle %d busy %d", idle, busy)
	}
	k.SetPhase(hostabi.PhaseHeaderFilter)
	l2, err := pool.Pin(k, hostabi.PhaseHeaderFilter, true)
	if err != nil || l2.Instance() != l1.Instance() {
		t.Fatalf("header_filter got another instance (%v)", err)
	}
	// another request meanwhile gets another instance
	other := env.NewKong(plugintest.NewRequest("GET", "/"))
	other.SetPhase(hostabi.PhaseAccess)
	lo, _ := pool.Pin(other, hostabi.PhaseAccess, true)
	if lo.Instance() == l1.Instance() {
		t.Fatal("two requests share an instance")
	}
	lo.Done(other, true, false)
	l2.Done(k, true, false)
	if idle, busy := pool.Stats(); idle != 2 || busy != 0 {
		t.Fatalf("after the final phase: idle %d busy %d", idle, busy)
	}

	// A request whose context ends without its final phase.
	leaseGrace = 20 * time.Millisecond
	defer func() { leaseGrace = time.Second }()
	ctx, cancel := context.WithCancel(context.Background())
	req := plugintest.NewRequest("GET", "/")
	req.Context = ctx
	k3 := env.NewKong(req)
	k3.SetPhase(hostabi.PhaseAccess)
	l3, _ := pool.Pin(k3, hostabi.PhaseAccess, false)
	l3.Done(k3, false, false)
	cancel()
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if idle, busy := pool.Stats(); idle == 2 && busy == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the abandoned lease never came back")
		}
	}
}

// TestReservedKey: the pinning key is reserved; others are not.
func TestReservedKey(t *testing.T) {
	if !ReservedKey(leaseKey) || ReservedKey("k") || ReservedKey("") {
		t.Fatal("ReservedKey")
	}
}

// TestMaxInstances: with MaxInstances out, Get waits for one to come back,
// or fails when its context ends first.
func TestMaxInstances(t *testing.T) {
	pool := NewPool(newModule(t, Options{MaxInstances: 2}), nil)
	defer pool.Close()
	a, _ := pool.Get(context.Background())
	b, _ := pool.Get(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := pool.Get(ctx); err == nil || !strings.Contains(err.Error(), "all 2 instances busy") {
		t.Fatalf("a third Get: %v", err)
	}
	got := make(chan *Instance)
	go func() {
		in, _ := pool.Get(context.Background())
		got <- in
	}()
	time.Sleep(10 * time.Millisecond)
	pool.Put(a)
	if in := <-got; in != a {
		t.Fatal("the waiter did not get the returned instance")
	}
	pool.Discard(b)
	c, err := pool.Get(context.Background())
	if err != nil || c == b {
		t.Fatalf("after a discard: %v", err)
	}
}

// TestTake: Take gets one particular instance: at once when idle, when it
// comes back when busy, and ErrInstanceGone once it was discarded.
func TestTake(t *testing.T) {
	pool := NewPool(newModule(t, Options{}), nil)
	defer pool.Close()
	a, _ := pool.Get(context.Background())
	b, _ := pool.Get(context.Background())
	pool.Put(a)
	pool.Put(b)
	if got, err := pool.Take(context.Background(), a); err != nil || got != a {
		t.Fatalf("Take(idle a) = %v", err)
	}
	got := make(chan error)
	go func() {
		in, err := pool.Take(context.Background(), a)
		if err == nil && in != a {
			err = errors.New("another instance")
		}
		if err == nil {
			pool.Put(in)
		}
		got <- err
	}()
	time.Sleep(10 * time.Millisecond)
	pool.Put(a)
	if err := <-got; err != nil {
		t.Fatalf("Take(busy a): %v", err)
	}
	c, _ := pool.Take(context.Background(), b)
	go func() {
		_, err := pool.Take(context.Background(), b)
		got <- err
	}()
	time.Sleep(10 * time.Millisecond)
	pool.Discard(c)
	if err := <-got; !errors.Is(err, ErrInstanceGone) {
		t.Fatalf("Take(discarded b): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	held, _ := pool.Take(context.Background(), a)
	if _, err := pool.Take(ctx, a); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Take(held a) with a deadline: %v", err)
	}
	pool.Put(held)
}

// TestIdleTrim: after a burst, the idle instances beyond one close once
// they were idle for the idle timeout; the warm one kept is the last
// used, a later Get still works, instances checked out meanwhile are not
// touched, and a closed pool's timer does nothing.
func TestIdleTrim(t *testing.T) {
	const idleTimeout = 40 * time.Millisecond
	pool := NewPool(newModule(t, Options{IdleTimeout: idleTimeout}), nil)
	defer pool.Close()
	var burst []*Instance
	for range 6 {
		in, err := pool.Get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		burst = append(burst, in)
	}
	held := burst[0]
	for _, in := range burst[1:] {
		pool.Put(in)
	}
	last := burst[len(burst)-1]
	if idle, busy := pool.Stats(); idle != 5 || busy != 1 {
		t.Fatalf("after the burst: idle %d busy %d", idle, busy)
	}
	waitIdle := func(want int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			idle, _ := pool.Stats()
			if idle == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("idle %d, want %d", idle, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitIdle(1)
	for _, in := range burst[1 : len(burst)-1] {
		if !gone(pool, in) {
			t.Fatal("a trimmed instance was not closed")
		}
		if _, err := pool.Take(context.Background(), in); !errors.Is(err, ErrInstanceGone) {
			t.Fatalf("Take(trimmed) = %v", err)
		}
	}
	if gone(pool, last) || gone(pool, held) {
		t.Fatal("the warm instance or the one checked out was closed")
	}
	in, err := pool.Get(context.Background())
	if err != nil || in != last {
		t.Fatalf("Get after the trim: %v (the warm instance: %v)", err, in == last)
	}
	if got, err := in.Call(context.Background(), "test", nil, "seven"); err != nil || got[0] != 7 {
		t.Fatalf("the warm instance: %v %v", got, err)
	}
	pool.Put(held)
	pool.Put(in)
	// Two idle: the one back first goes, the one back last stays.
	waitIdle(1)
	if !gone(pool, held) || gone(pool, in) {
		t.Fatalf("second trim: held gone %v, warm gone %v", gone(pool, held), gone(pool, in))
	}
	// A trim armed when the pool closes does nothing after.
	a, _ := pool.Get(context.Background())
	b, _ := pool.Get(context.Background())
	pool.Put(a)
	pool.Put(b)
	pool.Close()
	time.Sleep(2 * idleTimeout)
	if idle, _ := pool.Stats(); idle != 0 || !gone(pool, a) || !gone(pool, b) {
		t.Fatalf("after Close: idle %d", idle)
	}
}

// gone reads an instance's closed-by-its-pool mark under the pool's lock.
func gone(p *Pool, in *Instance) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return in.gone
}

// TestIdleTrimConcurrent: the trim races with Get, Put and Take without
// losing or double-closing an instance (run with -race).
func TestIdleTrimConcurrent(t *testing.T) {
	pool := NewPool(newModule(t, Options{IdleTimeout: time.Millisecond, MaxInstances: 8}), nil)
	defer pool.Close()
	done := make(chan error)
	for w := range 8 {
		go func() {
			var err error
			for i := range 200 {
				in, gerr := pool.Get(context.Background())
				if gerr != nil {
					err = gerr
					break
				}
				if in.Broken() {
					err = errors.New("Get returned a closed instance")
				}
				if _, cerr := in.Call(context.Background(), "test", nil, "seven"); cerr != nil && err == nil {
					err = cerr
				}
				if (i+w)%7 == 0 {
					time.Sleep(2 * time.Millisecond)
				}
				pool.Put(in)
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		idle, busy := pool.Stats()
		if idle == 1 && busy == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("idle %d busy %d", idle, busy)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestIdleTrimHold: an instance held for a timer is not trimmed however
// long it is idle; once released it is, and Take then says it is gone.
func TestIdleTrimHold(t *testing.T) {
	pool := NewPool(newModule(t, Options{IdleTimeout: 20 * time.Millisecond}), nil)
	defer pool.Close()
	a, _ := pool.Get(context.Background())
	b, _ := pool.Get(context.Background())
	c, _ := pool.Get(context.Background())
	pool.Hold(a)
	pool.Put(a)
	pool.Put(b)
	pool.Put(c)
	waitFor := func(cond func() bool, what string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("never: %s", what)
			}
		}
	}
	waitFor(func() bool { return gone(pool, b) }, "b trimmed")
	time.Sleep(60 * time.Millisecond)
	if gone(pool, a) || gone(pool, c) {
		t.Fatalf("held a gone %v, warm c gone %v", gone(pool, a), gone(pool, c))
	}
	if idle, _ := pool.Stats(); idle != 2 {
		t.Fatalf("idle %d, want the held and the warm instance", idle)
	}
	pool.Release(a)
	waitFor(func() bool { return gone(pool, a) }, "a trimmed after Release")
	if _, err := pool.Take(context.Background(), a); !errors.Is(err, ErrInstanceGone) {
		t.Fatalf("Take(trimmed a) = %v", err)
	}
	if gone(pool, c) {
		t.Fatal("the warm instance was trimmed")
	}
}

// TestCloseWaitsForCalls: Close during a running call waits for it (the
// call ends at its time limit, not cut short by a closed runtime under
// it), and calls and instantiations after Close fail with a fault rather
// than touching the closed runtime.
func TestCloseWaitsForCalls(t *testing.T) {
	rt, err := NewRuntime(context.Background(), Options{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	m, err := rt.Compile(context.Background(), "test", testModule())
	if err != nil {
		t.Fatal(err)
	}
	in, err := m.Instantiate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	later, err := m.Instantiate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	called := make(chan error, 1)
	go func() {
		_, err := in.Call(context.Background(), "access", nil, "spin")
		called <- err
	}()
	for rt.inflight.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-called:
		var f *Fault
		if !errors.As(err, &f) || f.Kind != FaultTimeout {
			t.Fatalf("the running call ended with %v, want its time limit", err)
		}
	default:
		t.Fatal("Close returned while a call was running")
	}
	if _, err := later.Call(context.Background(), "access", nil, "seven"); err == nil || !strings.Contains(err.Error(), "the Wasm runtime was closed") {
		t.Fatalf("a call after Close: %v", err)
	}
	if _, err := m.Instantiate(context.Background()); err == nil || !strings.Contains(err.Error(), "the Wasm runtime was closed") {
		t.Fatalf("an instantiation after Close: %v", err)
	}
}

// TestFastDeadline: with wazero's internals as expected, an instance's
// calls run without wazero's watcher goroutine (a call allocates
// nothing), an endless loop still ends at the time limit, and the module
// a timeout broke is closed through wazero's own Close (its Closed word
// holds the resources-closed flag, which only Close sets, and Close also
// removes the module from wazero's store).
func TestFastDeadline(t *testing.T) {
	m := newModule(t, Options{Timeout: 50 * time.Millisecond})
	in, err := m.Instantiate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(context.Background())
	if in.closed == nil {
		t.Fatal("the fast time limit is off: wazero's internals changed (see deadline.go)")
	}
	ctx := context.Background()
	allocs := testing.AllocsPerRun(200, func() {
		res, err := in.Call(ctx, "access", nil, "seven")
		if err != nil || len(res) != 1 || res[0] != 7 {
			t.Fatalf("seven = %v, %v", res, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("a call allocates %v times, want 0", allocs)
	}
	start := time.Now()
	_, err = in.Call(ctx, "access", nil, "spin")
	var f *Fault
	if !errors.As(err, &f) || f.Kind != FaultTimeout {
		t.Fatalf("spin: err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("spin ended after %v", d)
	}
	if !in.Broken() || !in.mod.IsClosed() {
		t.Fatal("the timed-out instance is not closed")
	}
	if w := in.closed.Load(); w == deadlineClosed || w&0xff != 1 {
		t.Fatalf("Closed = %#x: the module was not closed by wazero's Close", w)
	}
	if _, err := in.Call(ctx, "access", nil, "seven"); err == nil {
		t.Fatal("a broken instance ran again")
	}
}

// TestNestedCall: a call from inside a running call (a host function
// calling the guest) gets its own stack and keeps the outer call's time
// limit armed: the outer results are intact and a spin in the nested
// call still ends.
func TestNestedCall(t *testing.T) {
	m := newModule(t, Options{Timeout: 50 * time.Millisecond})
	in, err := m.Instantiate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(context.Background())
	outer, err := in.Call(context.Background(), "access", nil, "seven")
	if err != nil || len(outer) != 1 || outer[0] != 7 {
		t.Fatalf("seven = %v, %v", outer, err)
	}
	in.depth = 1  // as inside a host function of a running call
	outer[0] = 42 // the outer call's results to come, in the instance's stack
	res, err := in.Call(context.Background(), "access", nil, "seven")
	in.depth = 0
	if err != nil || len(res) != 1 || res[0] != 7 {
		t.Fatalf("nested seven = %v, %v", res, err)
	}
	if outer[0] != 42 {
		t.Fatalf("the nested call wrote the outer call's stack: %d", outer[0])
	}
	if in.timer.Stop() {
		t.Fatal("the nested call armed the instance's timer")
	}
}

// TestIntern: Name copies the guest's bytes (the copy outlives a change of
// the memory) and returns the same string for the same bytes without
// allocating again; Lower lowers, and a mixed-case name's lower case is
// kept.
func TestIntern(t *testing.T) {
	in, err := newModule(t, Options{}).Instantiate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(context.Background())
	in.Memory().WriteString(16, "X-Trace")
	got := in.Name(16, 7)
	if got != "X-Trace" {
		t.Fatalf("Name = %q", got)
	}
	if n := testing.AllocsPerRun(50, func() { _ = in.Name(16, 7) }); n != 0 {
		t.Fatalf("Name of a known name allocates %v times", n)
	}
	if l := in.Lower(got); l != "x-trace" {
		t.Fatalf("Lower = %q", l)
	}
	if n := testing.AllocsPerRun(50, func() { _ = in.Lower(got) }); n != 0 {
		t.Fatalf("Lower of a known name allocates %v times", n)
	}
	in.Memory().WriteString(16, "y-other")
	if got != "X-Trace" {
		t.Fatalf("the interned name changed with the memory: %q", got)
	}
	if n := in.Name(16, 7); n != "y-other" {
		t.Fatalf("Name after a change = %q", n)
	}
	if in.Name(16, 0) != "" {
		t.Fatal("an empty name")
	}
}
