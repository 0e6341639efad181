package plugintest

import (
	"context"
	"errors"
	"time"
)

// Lookup implements hostabi.Cache: the live value, or load=true for
// exactly one caller of a missing key; the others wait for its Fill or
// Abandon, or for ctx.
func (c *Cache) Lookup(ctx context.Context, key string) (value any, found, load bool, err error) {
	c.mu.Lock()
	if it, ok := c.lookup(key); ok {
		c.mu.Unlock()
		return it.value, true, false, nil
	}
	if f, ok := c.flight[key]; ok {
		c.mu.Unlock()
		select {
		case <-f.done:
			if f.err != nil {
				return nil, false, false, f.err
			}
			return f.val, true, false, nil
		case <-ctx.Done():
			return nil, false, false, ctx.Err()
		}
	}
	c.flight[key] = &flightCall{done: make(chan struct{})}
	c.mu.Unlock()
	return nil, false, true, nil
}

// Fill implements hostabi.Cache: it stores value (nil: a negative entry)
// and wakes the key's waiters.
func (c *Cache) Fill(key string, value any, ttl time.Duration) {
	c.mu.Lock()
	c.setLocked(key, value, ttl)
	f := c.flight[key]
	delete(c.flight, key)
	c.mu.Unlock()
	if f != nil {
		f.val = value
		close(f.done)
	}
}

// errAbandoned is what waiters get from an Abandon without an error.
var errAbandoned = errors.New("plugintest: the load was abandoned")

// Abandon implements hostabi.Cache: the key's waiters get err and nothing
// is stored.
func (c *Cache) Abandon(key string, err error) {
	if err == nil {
		err = errAbandoned
	}
	c.mu.Lock()
	f := c.flight[key]
	delete(c.flight, key)
	c.mu.Unlock()
	if f != nil {
		f.err = err
		close(f.done)
	}
}
