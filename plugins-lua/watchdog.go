package luahost

import (
	"context"
	"sync"
	"time"
)

// callCtx is a state's context for request calls: the request's context
// bounded by lua_timeout. It is armed for each call and reused, so a call
// costs no timer and no goroutine; the provider's watchdog closes done
// when the deadline passes or the request's context ends, and a state
// whose done was closed is discarded.
type callCtx struct {
	mu       sync.Mutex
	parent   context.Context
	deadline time.Time
	active   bool
	expired  bool
	err      error
	done     chan struct{}
	// after holds the AfterFunc callbacks: the contexts gopher-lua
	// derives for coroutines register here instead of starting a
	// goroutine each.
	after  map[uint64]func()
	nextID uint64
}

func newCallCtx() *callCtx {
	return &callCtx{done: make(chan struct{}), after: map[uint64]func(){}}
}

// AfterFunc registers f to run when the call expires or ends (the
// context package's afterFuncer, used by context.WithCancel): gopher-lua
// gives each coroutine a context derived from the state's, and with this
// deriving costs no goroutine. A coroutine's context is cancelled when the
// call that created it ends, so a coroutine never outlives the call's
// deadline.
func (c *callCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expired {
		go f()
		return func() bool { return false }
	}
	id := c.nextID
	c.nextID++
	c.after[id] = f
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.after[id]
		delete(c.after, id)
		return ok
	}
}

// takeAfter removes and returns the AfterFunc callbacks; c.mu is held.
func (c *callCtx) takeAfter() []func() {
	if len(c.after) == 0 {
		return nil
	}
	fs := make([]func(), 0, len(c.after))
	for id, f := range c.after {
		fs = append(fs, f)
		delete(c.after, id)
	}
	return fs
}

// Deadline implements context.Context.
func (c *callCtx) Deadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deadline, true
}

// Done implements context.Context.
func (c *callCtx) Done() <-chan struct{} { return c.done }

// Err implements context.Context.
func (c *callCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Value implements context.Context.
func (c *callCtx) Value(key any) any {
	c.mu.Lock()
	p := c.parent
	c.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.Value(key)
}

// arm starts a call under parent with the given budget.
func (c *callCtx) arm(parent context.Context, budget time.Duration) {
	d := time.Now().Add(budget)
	if pd, ok := parent.Deadline(); ok && pd.Before(d) {
		d = pd
	}
	c.mu.Lock()
	c.parent, c.deadline, c.active = parent, d, true
	c.mu.Unlock()
}

// disarm ends the call and reports whether the context expired during it
// (the state must then be discarded: its done channel is closed).
func (c *callCtx) disarm() bool {
	c.mu.Lock()
	c.active, c.parent = false, nil
	expired := c.expired
	fs := c.takeAfter()
	if len(fs) > 0 && !expired {
		// The derived contexts read the cause while cancelling.
		c.err = context.Canceled
	}
	c.mu.Unlock()
	for _, f := range fs {
		f()
	}
	if len(fs) > 0 && !expired {
		c.mu.Lock()
		c.err = nil
		c.mu.Unlock()
	}
	return expired
}

// check expires the context if its call is over time or its request
// ended.
func (c *callCtx) check(now time.Time) {
	c.mu.Lock()
	if !c.active || c.expired {
		c.mu.Unlock()
		return
	}
	var err error
	if c.parent != nil {
		select {
		case <-c.parent.Done():
			err = c.parent.Err()
		default:
		}
	}
	if err == nil && !now.Before(c.deadline) {
		err = context.DeadlineExceeded
	}
	var fs []func()
	if err != nil {
		c.expired, c.err = true, err
		close(c.done)
		fs = c.takeAfter()
	}
	c.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// watchdog expires the contexts of calls over time, every tick.
type watchdog struct {
	mu     sync.Mutex
	ctxs   map[*callCtx]struct{}
	stop   chan struct{}
	stopMu sync.Once
}

func newWatchdog(tick time.Duration) *watchdog {
	w := &watchdog{ctxs: map[*callCtx]struct{}{}, stop: make(chan struct{})}
	go w.run(tick)
	return w
}

func (w *watchdog) run(tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case now := <-t.C:
			w.mu.Lock()
			for c := range w.ctxs {
				c.check(now)
			}
			w.mu.Unlock()
		}
	}
}

func (w *watchdog) add(c *callCtx) {
	w.mu.Lock()
	w.ctxs[c] = struct{}{}
	w.mu.Unlock()
}

func (w *watchdog) remove(c *callCtx) {
	w.mu.Lock()
	delete(w.ctxs, c)
	w.mu.Unlock()
}

func (w *watchdog) close() { w.stopMu.Do(func() { close(w.stop) }) }

// watchdogTick is the watchdog's period for a timeout: a tenth of it,
// within 1 ms and 10 ms.
func watchdogTick(timeout time.Duration) time.Duration {
	t := timeout / 10
	if t < time.Millisecond {
		t = time.Millisecond
	}
	if t > 10*time.Millisecond {
		t = 10 * time.Millisecond
	}
	return t
}
