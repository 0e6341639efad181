package proxy

import (
	"runtime"
	"sync/atomic"
)

// Log-phase work runs on a bounded pool: at most maxWorkers goroutines
// drain a queue of queueSize requests. A request whose log phase finds
// the queue full is not logged: its work is dropped and counted, so a
// slow log plugin can cost log lines but never unbounded goroutines or
// memory.

// DefaultLogQueue is the default number of requests waiting for their log
// phase (Options.LogQueue).
const DefaultLogQueue = 8192

// logPool runs log phases. Workers start on demand and exit when the
// queue is empty, so an idle server holds none.
type logPool struct {
	queue      chan *state
	maxWorkers int32
	workers    atomic.Int32
	done       atomic.Uint64
	dropped    atomic.Uint64
	run        func(*state)
}

func newLogPool(workers, queue int, run func(*state)) *logPool {
	if workers <= 0 {
		workers = max(4, 4*runtime.GOMAXPROCS(0))
	}
	if queue <= 0 {
		queue = DefaultLogQueue
	}
	return &logPool{queue: make(chan *state, queue), maxWorkers: int32(workers), run: run}
}

// submit queues a request's log phase; false when the queue is full (the
// caller drops the work).
func (p *logPool) submit(st *state) bool {
	select {
	case p.queue <- st:
	default:
		p.dropped.Add(1)
		return false
	}
	if p.workers.Load() < p.maxWorkers {
		if p.workers.Add(1) <= p.maxWorkers {
			go p.work()
		} else {
			p.workers.Add(-1)
		}
	}
	return true
}

func (p *logPool) work() {
	for {
		select {
		case st := <-p.queue:
			p.run(st)
			p.done.Add(1)
		default:
			p.workers.Add(-1)
			if len(p.queue) == 0 {
				return
			}
			// A request queued after the empty check, while the pool
			// looked full, started no worker: stay for it if there is
			// room (else the worker its submitter started takes it).
			if p.workers.Add(1) > p.maxWorkers {
				p.workers.Add(-1)
				return
			}
		}
	}
}

// LogStats counts log-phase work: requests whose log phase ran, and those
// dropped because the queue was full.
type LogStats struct {
	Done, Dropped uint64
	// Queued is the number of requests waiting now.
	Queued int
}

// LogStats reports the log phase's counters.
func (srv *Server) LogStats() LogStats {
	return LogStats{Done: srv.logs.done.Load(), Dropped: srv.logs.dropped.Load(), Queued: len(srv.logs.queue)}
}
