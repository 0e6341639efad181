package wasmhost

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
)

// Pool holds the instances of one plugin configuration. Setup runs on
// every new instance (the flavour's configure); a pool keeps as many idle
// instances as were busy at once, closing those beyond one once they were
// idle Options.IdleTimeout, and at most Options.MaxInstances are checked
// out at a time: Get waits for one to come back, up to its context's
// end.
type Pool struct {
	module *Module
	setup  func(ctx context.Context, in *Instance) error
	tokens chan struct{}

	mu     sync.Mutex
	idle   []*Instance
	busy   int
	closed bool
	// returned is closed whenever an instance comes back, and Take's
	// waiters look again; nil while none waits (a Put then allocates
	// nothing).
	returned chan struct{}
	// trim is armed while more than one instance is idle: it closes the
	// idle instances beyond one that were idle for IdleTimeout.
	trim *time.Timer

	// parked holds the leases waiting for their request's next phase;
	// sweep, armed (sweepArmed) while any is parked, checks every
	// sweepPeriod whether their requests' contexts ended and reclaims
	// those whose grace period passed (sweepParked). One timer per pool
	// instead of a context.AfterFunc per request (which, on a request
	// context that is not a context package type, is a goroutine).
	parked      map[*Lease]struct{}
	sweep       *time.Timer
	sweepArmed  bool
	sweepPeriod time.Duration
	sweepBuf    []*Lease
}

// NewPool returns an empty pool of module's instances; setup (may be nil)
// prepares each new instance and may refuse it.
func NewPool(m *Module, setup func(ctx context.Context, in *Instance) error) *Pool {
	return &Pool{module: m, setup: setup, tokens: make(chan struct{}, m.rt.opts.MaxInstances)}
}

// Module returns the pool's module.
func (p *Pool) Module() *Module { return p.module }

// ErrPoolClosed is Get on a pool whose configuration retired.
var ErrPoolClosed = errors.New("wasm: the plugin configuration was retired")

// Warm creates one idle instance, so that a configuration the guest
// refuses is refused now.
func (p *Pool) Warm(ctx context.Context) error {
	in, err := p.Get(ctx)
	if err != nil {
		return err
	}
	p.Put(in)
	return nil
}

// Get checks an instance out: an idle one, or a new one; when
// MaxInstances are out, it waits for one until ctx ends.
func (p *Pool) Get(ctx context.Context) (*Instance, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	select {
	case p.tokens <- struct{}{}:
	default:
		select {
		case p.tokens <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("wasm plugin %s: all %d instances busy until the request's end: %w", p.module.Name, cap(p.tokens), ctx.Err())
		}
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.tokens
		return nil, ErrPoolClosed
	}
	p.busy++
	if n := len(p.idle); n > 0 {
		in := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return in, nil
	}
	p.mu.Unlock()
	in, err := p.module.Instantiate(ctx)
	if err == nil && p.setup != nil {
		if err = p.setup(ctx, in); err != nil {
			in.Close(context.Background())
		}
	}
	if err != nil {
		p.mu.Lock()
		p.busy--
		p.mu.Unlock()
		<-p.tokens
		return nil, err
	}
	return in, nil
}

// Put returns an instance; a broken one, or any once the pool is closed,
// is closed instead.
func (p *Pool) Put(in *Instance) {
	broken := in.broken // the holder's, read before the instance is shared
	p.mu.Lock()
	p.busy--
	if broken || p.closed {
		in.gone = true
		p.signal()
		p.mu.Unlock()
		<-p.tokens
		in.Close(context.Background())
		return
	}
	in.idleSince = time.Now()
	p.idle = append(p.idle, in)
	if len(p.idle) > 1 && p.trim == nil {
		p.trim = time.AfterFunc(p.module.rt.opts.IdleTimeout, p.trimIdle)
	}
	p.signal()
	p.mu.Unlock()
	<-p.tokens
}

// trimIdle closes the idle instances beyond one that were idle for the
// idle timeout and are not held, and arms the timer again for the next
// that may be. The last instance of p.idle (the last to come back; Get
// takes from the end) is the warm one kept.
func (p *Pool) trimIdle() {
	timeout := p.module.rt.opts.IdleTimeout
	p.mu.Lock()
	p.trim = nil
	if p.closed {
		p.mu.Unlock()
		return
	}
	now := time.Now()
	cutoff := now.Add(-timeout)
	last := len(p.idle) - 1
	var old []*Instance
	var next time.Time // the soonest idleSince of those that may go later
	kept := p.idle[:0]
	for i, in := range p.idle {
		if i < last && in.holds == 0 {
			if !in.idleSince.After(cutoff) {
				in.gone = true
				old = append(old, in)
				continue
			}
			if next.IsZero() || in.idleSince.Before(next) {
				next = in.idleSince
			}
		}
		kept = append(kept, in)
	}
	clear(p.idle[len(kept):])
	p.idle = kept
	if !next.IsZero() {
		p.trim = time.AfterFunc(next.Add(timeout).Sub(now), p.trimIdle)
	}
	if len(old) > 0 {
		p.signal() // Take's waiters for a closed instance learn it is gone
	}
	p.mu.Unlock()
	for _, in := range old {
		in.Close(context.Background())
	}
}

// Hold keeps an instance from idle trimming until Release: a timer
// registered on it will Take it later. Holds count; each Hold needs its
// Release.
func (p *Pool) Hold(in *Instance) {
	p.mu.Lock()
	in.holds++
	p.mu.Unlock()
}

// Release ends a Hold.
func (p *Pool) Release(in *Instance) {
	p.mu.Lock()
	if in.holds > 0 {
		in.holds--
	}
	if in.holds == 0 && len(p.idle) > 1 && p.trim == nil && !p.closed {
		p.trim = time.AfterFunc(p.module.rt.opts.IdleTimeout, p.trimIdle)
	}
	p.mu.Unlock()
}

// signal wakes Take's waiters; p.mu is held.
func (p *Pool) signal() {
	if p.returned != nil {
		close(p.returned)
		p.returned = nil
	}
}

// ErrInstanceGone is Take of an instance that was discarded or closed.
var ErrInstanceGone = errors.New("wasm: the instance is gone")

// Take checks out one particular instance (the one whose guest holds some
// state, as a timer callback): at once when it is idle, else when it
// comes back, until ctx ends. An instance discarded or closed meanwhile
// is ErrInstanceGone.
func (p *Pool) Take(ctx context.Context, in *Instance) (*Instance, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, ErrPoolClosed
		}
		if in.gone {
			p.mu.Unlock()
			return nil, ErrInstanceGone
		}
		if p.returned == nil {
			p.returned = make(chan struct{})
		}
		wait := p.returned
		idx := -1
		for i, idle := range p.idle {
			if idle == in {
				idx = i
				break
			}
		}
		if idx >= 0 {
			select {
			case p.tokens <- struct{}{}:
				p.idle = append(p.idle[:idx], p.idle[idx+1:]...)
				p.busy++
				p.mu.Unlock()
				return in, nil
			default: // every token is out: wait for a return
			}
		}
		p.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Discard closes a checked-out instance instead of returning it.
func (p *Pool) Discard(in *Instance) {
	in.broken = true
	p.Put(in)
}

// Stats reports the idle and checked-out instances.
func (p *Pool) Stats() (idle, busy int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle), p.busy
}

// Close closes the idle instances; those checked out are closed when they
// come back. Close is idempotent.
func (p *Pool) Close() error {
	p.mu.Lock()
	idle := p.idle
	for _, in := range idle {
		in.gone = true
	}
	p.idle = nil
	p.closed = true
	if p.trim != nil {
		p.trim.Stop()
		p.trim = nil
	}
	p.signal()
	p.mu.Unlock()
	for _, in := range idle {
		in.Close(context.Background())
	}
	return nil
}

// leaseKey is the kong.ctx.plugin key the pinned instance is kept under;
// flavours refuse it to guests (ReservedKey).
const leaseKey = "\x00gatehouse.wasm.instance"

// ReservedKey reports whether a kong.ctx.plugin key is the host's own,
// which guests may neither read nor write.
func ReservedKey(key string) bool { return key == leaseKey }

// Lease is a request's hold on one instance of a pool, from the first
// phase of the plugin that runs for the request to its last.
type Lease struct {
	pool *Pool
	in   *Instance

	mu       sync.Mutex
	uses     uint64
	inUse    bool
	released bool
	// Between phases (parked): the request's context, the grace period
	// after its end and when the pool's sweep first saw it ended.
	ctx     context.Context
	grace   time.Duration
	endedAt time.Time
}

// Instance returns the leased instance.
func (l *Lease) Instance() *Instance { return l.in }

// How long a lease whose request context ended waits for a later phase
// before the instance is reclaimed. A context ends when the request is
// routed (after rewrite) and when it is over (before the log phase): the
// access phase follows routing at once, the log phase waits in the log
// queue. The pool's sweep sees an ended context within a quarter of the
// grace period, so the instance comes back between the grace period and
// 1.25 times it after the end.
var (
	leaseGrace     = time.Second
	leaseSlowGrace = time.Minute
)

// Pin returns the instance that runs phase for request k: the one pinned
// to the request by an earlier phase, or one checked out now. final says
// that no later phase of the plugin will run for the request (the caller
// knows the plugin's phases): Done then returns the instance. A pinned
// instance is kept in the request's kong.ctx.plugin; should the request end
// without its last phase (an early exit, a log queue that dropped the
// request), the lease returns it once the request's context ended and no
// phase used it for a grace period.
func (p *Pool) Pin(k hostabi.Kong, phase hostabi.Phase, final bool) (*Lease, error) {
	vals := k.Ctx().Plugin()
	if v, ok := vals.Get(leaseKey); ok {
		if l, ok := v.(*Lease); ok && l.pool == p {
			l.mu.Lock()
			if !l.released && !l.inUse {
				l.inUse = true
				l.uses++
				l.ctx = nil
				l.mu.Unlock()
				p.unpark(l)
				return l, nil
			}
			l.mu.Unlock()
		}
		vals.Delete(leaseKey)
	}
	in, err := p.Get(k.Context())
	if err != nil {
		return nil, err
	}
	if final {
		// a lease of one phase is never shared: the instance's own
		in.lease = Lease{pool: p, in: in, inUse: true, uses: 1}
		return &in.lease, nil
	}
	l := &Lease{pool: p, in: in, inUse: true, uses: 1}
	vals.Set(leaseKey, l)
	return l, nil
}

// Done ends a phase's use of the lease. The instance goes back to the
// pool when final, and is discarded when it broke; otherwise it stays
// pinned for the request's next phase. slowNext says that the next phase
// may come long after the context the phase ran with ends (the log
// phase, from the log queue; after rewrite, a phase after the upstream
// answered when the plugin has no access phase): the safety net then
// waits a minute instead of a second.
func (l *Lease) Done(k hostabi.Kong, final, slowNext bool) {
	l.mu.Lock()
	l.inUse = false
	if l.released {
		l.mu.Unlock()
		return
	}
	if final || l.in.broken {
		l.released = true
		l.mu.Unlock()
		if final {
			// a lease stored earlier leaves the request's values
			if v, ok := k.Ctx().Plugin().Get(leaseKey); ok && v == l {
				k.Ctx().Plugin().Delete(leaseKey)
			}
		}
		l.pool.Put(l.in)
		return
	}
	l.ctx = k.Context()
	l.grace = leaseGrace
	if slowNext {
		l.grace = leaseSlowGrace
	}
	l.endedAt = time.Time{}
	grace := l.grace
	l.mu.Unlock()
	l.pool.park(l, grace)
}

// park adds a lease to those the sweep watches, and arms the sweep.
func (p *Pool) park(l *Lease, grace time.Duration) {
	period := max(grace/4, time.Millisecond)
	p.mu.Lock()
	if p.parked == nil {
		p.parked = map[*Lease]struct{}{}
	}
	p.parked[l] = struct{}{}
	switch {
	case p.sweep == nil:
		p.sweepPeriod, p.sweepArmed = period, true
		p.sweep = time.AfterFunc(period, p.sweepParked)
	case !p.sweepArmed || period < p.sweepPeriod:
		// idle, or armed for longer graces than this one's
		p.sweepPeriod, p.sweepArmed = period, true
		p.sweep.Reset(period)
	}
	p.mu.Unlock()
}

// unpark removes a lease from those the sweep watches.
func (p *Pool) unpark(l *Lease) {
	p.mu.Lock()
	delete(p.parked, l)
	p.mu.Unlock()
}

// sweepParked reclaims the parked leases whose request context ended at
// least their grace period ago (unless a phase took them meanwhile), and
// arms the sweep again while leases stay parked.
func (p *Pool) sweepParked() {
	p.mu.Lock()
	p.sweepArmed = false
	buf := p.sweepBuf[:0]
	for l := range p.parked {
		buf = append(buf, l)
	}
	p.sweepBuf = nil // this sweep's own while it runs
	p.mu.Unlock()
	now := time.Now()
	for i, l := range buf {
		buf[i] = nil
		l.mu.Lock()
		if l.released || l.inUse || l.ctx == nil {
			l.mu.Unlock()
			continue // Pin or Done took it off
		}
		if l.ctx.Err() == nil {
			l.mu.Unlock()
			continue
		}
		if l.endedAt.IsZero() {
			l.endedAt = now
		}
		if now.Sub(l.endedAt) < l.grace {
			l.mu.Unlock()
			continue
		}
		l.released = true
		l.ctx = nil
		l.mu.Unlock()
		p.unpark(l)
		p.Put(l.in)
	}
	p.mu.Lock()
	p.sweepBuf = buf[:0]
	if len(p.parked) > 0 && !p.sweepArmed {
		p.sweepArmed = true
		p.sweep.Reset(p.sweepPeriod)
	}
	p.mu.Unlock()
}
