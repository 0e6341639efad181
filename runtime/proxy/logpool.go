package proxy

import (
	"context"

	"github.com/gatehouse/gatehouse/runtime/chain"
)

// Log-phase work runs on a bounded pool (chain.Pool): at most
// Options.LogWorkers goroutines drain a queue of Options.LogQueue
// requests. A request whose log phase finds the queue full is not logged:
// its work is dropped and counted, so a slow log plugin can cost log lines
// but never unbounded goroutines or memory.

// DefaultLogQueue is the default number of requests waiting for their log
// phase (Options.LogQueue).
const DefaultLogQueue = chain.DefaultQueue

// LogStats counts log-phase work: requests whose log phase ran, those
// dropped because the queue was full, and those waiting now.
type LogStats struct {
	Done, Dropped uint64
	Queued        int
}

// LogStats reports the log phase's counters.
func (srv *Server) LogStats() LogStats {
	s := srv.logs.Stats()
	return LogStats{Done: s.Done, Dropped: s.Dropped, Queued: s.Queued}
}

// TimerStats reports the plugin timers' counters (kong.timer.at).
func (srv *Server) TimerStats() chain.PoolStats { return srv.timers.Stats() }

// DrainLogs waits until every queued log phase has run, or ctx ends: a
// node shutting down calls it before it closes the plugin runtimes those
// phases use.
func (srv *Server) DrainLogs(ctx context.Context) error { return srv.logs.Wait(ctx) }
