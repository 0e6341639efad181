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
}

func newCallCtx() *callCtx { return &callCtx{done: make(chan struct{})} }

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
	defer c.mu.Unlock()
	c.active, c.parent = false, nil
	return c.expired
}

// check expires the context if its call is over time or its request
// ended.
func (c *callCtx) check(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.active || c.expired {
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
	if err != nil {
		c.expired, c.err = true, err
		close(c.done)
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
