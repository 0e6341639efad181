package chain

import (
	"context"
	"sync"
	"time"
)

// Context is a request's context.Context (hostabi.Kong.Context): a
// deadline, no values, cancelled by End when the request is over. Its
// timer starts only when Done is first asked for, so a request whose
// plugins never wait on it costs no timer. Safe for concurrent use.
type Context struct {
	deadline time.Time
	mu       sync.Mutex
	done     chan struct{}
	err      error
	timer    *time.Timer
}

// NewContext returns a context that expires at deadline.
func NewContext(deadline time.Time) *Context { return &Context{deadline: deadline} }

// Deadline implements context.Context.
func (c *Context) Deadline() (time.Time, bool) { return c.deadline, true }

// Done implements context.Context.
func (c *Context) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err == nil {
			if d := time.Until(c.deadline); d > 0 {
				c.timer = time.AfterFunc(d, func() { c.end(context.DeadlineExceeded) })
			} else {
				c.err = context.DeadlineExceeded
			}
		}
		if c.err != nil {
			close(c.done)
		}
	}
	return c.done
}

// Err implements context.Context.
func (c *Context) Err() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err == nil && !time.Now().Before(c.deadline) {
		c.end(context.DeadlineExceeded)
		return context.DeadlineExceeded
	}
	return err
}

// Value implements context.Context: a request context carries no values.
func (c *Context) Value(any) any { return nil }

// End cancels the context (context.Canceled) unless it already ended.
func (c *Context) End() { c.end(context.Canceled) }

func (c *Context) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
	if c.timer != nil {
		c.timer.Stop()
	}
}

// contextBlock is how many contexts Contexts allocates at once: 64 of
// 64 bytes, one 4 KiB allocation.
const contextBlock = 64

// Contexts hands out request contexts from blocks it allocates, one
// allocation per 64 contexts instead of one per request. Every context it
// returns is handed out once and never reused: a plugin may keep it, or
// a goroutine wait on it, after the request is over, and it must still
// answer for that request (ended, with its own deadline). The price is
// that a block stays in memory while any of its contexts is referenced.
// The zero value is ready to use; not safe for concurrent use (one per
// pooled request state).
type Contexts struct {
	block []Context
}

// New returns a fresh context that expires at deadline, as NewContext
// does.
func (a *Contexts) New(deadline time.Time) *Context {
	if len(a.block) == 0 {
		a.block = make([]Context, contextBlock)
	}
	c := &a.block[0]
	a.block = a.block[1:]
	c.deadline = deadline
	return c
}

var _ context.Context = (*Context)(nil)
