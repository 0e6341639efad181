package wasmhost

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
)

// Pool holds the instances of one plugin configuration. Setup runs on
// every new instance (the flavour's configure); a pool keeps as many idle
// instances as were busy at once.
type Pool struct {
	module *Module
	setup  func(ctx context.Context, in *Instance) error

	mu     sync.Mutex
	idle   []*Instance
	busy   int
	closed bool
}

// NewPool returns an empty pool of module's instances; setup (may be nil)
// prepares each new instance and may refuse it.
func NewPool(m *Module, setup func(ctx context.Context, in *Instance) error) *Pool {
	return &Pool{module: m, setup: setup}
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

// Get checks an instance out: an idle one, or a new one.
func (p *Pool) Get(ctx context.Context) (*Instance, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
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
		return nil, err
	}
	return in, nil
}

// Put returns an instance; a broken one, or any once the pool is closed,
// is closed instead.
func (p *Pool) Put(in *Instance) {
	p.mu.Lock()
	p.busy--
	if in.broken || p.closed {
		p.mu.Unlock()
		in.Close(context.Background())
		return
	}
	p.idle = append(p.idle, in)
	p.mu.Unlock()
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
	p.idle = nil
	p.closed = true
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
	stop     func() bool
	log      bool // the plugin has a log phase still to come
}

// Instance returns the leased instance.
func (l *Lease) Instance() *Instance { return l.in }

// How long a lease whose request context ended waits for a later phase
// before the instance is reclaimed: a request's phases follow each other
// at once, except the log phase, which waits in the log queue.
var (
	leaseGrace    = time.Second
	leaseLogGrace = time.Minute
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
				if l.stop != nil {
					l.stop()
					l.stop = nil
				}
				l.mu.Unlock()
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
	l := &Lease{pool: p, in: in, inUse: true, uses: 1}
	if !final {
		vals.Set(leaseKey, l)
	}
	return l, nil
}

// Done ends a phase's use of the lease. The instance goes back to the
// pool when final, and is discarded when it broke; otherwise it stays
// pinned for the request's next phase (logNext: the log phase may come
// later, from the log queue).
func (l *Lease) Done(k hostabi.Kong, final, logNext bool) {
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
	l.log = logNext
	uses := l.uses
	l.stop = context.AfterFunc(k.Context(), func() { l.expire(uses) })
	l.mu.Unlock()
}

// expire reclaims a lease whose request context ended, unless a phase uses
// it within the grace period.
func (l *Lease) expire(uses uint64) {
	grace := leaseGrace
	l.mu.Lock()
	if l.log {
		grace = leaseLogGrace
	}
	l.mu.Unlock()
	time.AfterFunc(grace, func() {
		l.mu.Lock()
		if l.released || l.inUse || l.uses != uses {
			l.mu.Unlock()
			return
		}
		l.released = true
		l.mu.Unlock()
		l.pool.Put(l.in)
	})
}
