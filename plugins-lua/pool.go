package luahost

import (
	"context"
	"fmt"
	"sync/atomic"
)

// pool holds the idle Lua states of one plugin, at most size of them
// alive. A state is used by one call at a time.
type pool struct {
	idle chan *state
	// live holds one token per state alive (idle or in use).
	live chan struct{}
	make func() (*state, error)
	// forget is called for each state closed.
	forget func(*state)

	created, discarded atomic.Uint64
}

func newPool(size int, mk func() (*state, error), forget func(*state)) *pool {
	return &pool{idle: make(chan *state, size), live: make(chan struct{}, size), make: mk, forget: forget}
}

// tryGet returns an idle state without waiting, or nil.
func (p *pool) tryGet() *state {
	select {
	case st := <-p.idle:
		return st
	default:
		return nil
	}
}

// get returns an idle state, creates one when fewer than size exist, or
// waits for one until ctx ends.
func (p *pool) get(ctx context.Context) (*state, error) {
	select {
	case st := <-p.idle:
		return st, nil
	default:
	}
	select {
	case st := <-p.idle:
		return st, nil
	case p.live <- struct{}{}:
		st, err := p.make()
		if err != nil {
			<-p.live
			return nil, err
		}
		p.created.Add(1)
		return st, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("no Lua state free before the deadline: %w", ctx.Err())
	}
}

// put returns a state for reuse.
func (p *pool) put(st *state) { p.idle <- st }

// discard closes a state that must not be reused and frees its place.
func (p *pool) discard(st *state) {
	p.forget(st)
	st.L.Close()
	p.discarded.Add(1)
	<-p.live
}

// close closes the idle states; states in use are closed when returned
// (put after close panics is avoided by the provider's closed flag).
func (p *pool) close() {
	for {
		select {
		case st := <-p.idle:
			p.forget(st)
			st.L.Close()
			<-p.live
		default:
			return
		}
	}
}

// PoolStats describes the Lua states of one plugin.
type PoolStats struct {
	// Live counts the states alive, Idle those waiting for a call.
	Live, Idle int
	// Created and Discarded count the states created and the states
	// thrown away after a timeout or a panic since the provider started.
	Created, Discarded uint64
}

// Stats returns the pool statistics of a plugin the provider serves.
func (h *Provider) Stats(name string) (PoolStats, bool) {
	for _, p := range h.plugins {
		if p.spec.Name == name {
			return PoolStats{Live: len(p.pool.live), Idle: len(p.pool.idle),
				Created: p.pool.created.Load(), Discarded: p.pool.discarded.Load()}, true
		}
	}
	return PoolStats{}, false
}
