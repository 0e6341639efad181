// Package memreturn gives memory back to the operating system when a node
// goes quiet after a burst of traffic.
//
// Go's collector runs when the heap grows, not when it stops growing, so a
// node that falls idle after a burst keeps the burst's garbage and its freed
// pages until the runtime's forced collection (every two minutes) and the
// background scavenger (paced to a small share of one CPU) catch up. A
// Watcher notices the quiet — its activity counter stops moving for a while
// after it moved — and then collects and releases the free pages at once,
// once per quiet period, so an idle node's resident size comes back close to
// what it was before the burst.
package memreturn

import (
	"context"
	"runtime/debug"
	"time"
)

// Watcher returns memory after activity stops.
type Watcher struct {
	// Activity reports a counter that moves while the node is busy (requests
	// served, for example).
	Activity func() int64
	// Quiet is how long the counter must stand still before memory is
	// returned; zero means 5 seconds.
	Quiet time.Duration
	// Tick is how often the counter is read; zero means one second.
	Tick time.Duration
	// Release returns the memory; nil means debug.FreeOSMemory (a full
	// collection, then every free page back to the system).
	Release func()
}

// Run watches until ctx ends. Memory is released once each time the
// counter, after moving, stands still for Quiet; an idle node costs a
// counter read per Tick and nothing more.
func (w *Watcher) Run(ctx context.Context) {
	quiet, tick, release := w.Quiet, w.Tick, w.Release
	if quiet <= 0 {
		quiet = 5 * time.Second
	}
	if tick <= 0 {
		tick = time.Second
	}
	if release == nil {
		release = debug.FreeOSMemory
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	last := w.Activity()
	busy := false
	var still time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n := w.Activity()
			if n != last {
				last, busy, still = n, true, now
				continue
			}
			if busy && now.Sub(still) >= quiet {
				busy = false
				release()
			}
		}
	}
}
