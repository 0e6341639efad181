package chain

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"
)

// Pool runs work items on at most a bounded number of goroutines fed by a
// bounded queue: the node's log phases and plugin timers. Workers start on
// demand and exit when the queue is empty, so an idle pool holds none. An
// item that finds the queue full is dropped and counted. Safe for
// concurrent use.
type Pool[T any] struct {
	queue      chan T
	maxWorkers int32
	workers    atomic.Int32
	done       atomic.Uint64
	dropped    atomic.Uint64
	run        func(T)
}

// DefaultQueue is a pool's default queue length.
const DefaultQueue = 8192

// NewPool returns a pool running run on at most workers goroutines
// (<= 0: four per CPU) with a queue of queue items (<= 0: DefaultQueue).
func NewPool[T any](workers, queue int, run func(T)) *Pool[T] {
	if workers <= 0 {
		workers = max(4, 4*runtime.GOMAXPROCS(0))
	}
	if queue <= 0 {
		queue = DefaultQueue
	}
	return &Pool[T]{queue: make(chan T, queue), maxWorkers: int32(workers), run: run}
}

// Submit queues an item; false when the queue is full and the item was
// dropped.
func (p *Pool[T]) Submit(item T) bool {
	select {
	case p.queue <- item:
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

func (p *Pool[T]) work() {
	for {
		select {
		case item := <-p.queue:
			p.run(item)
			p.done.Add(1)
		default:
			p.workers.Add(-1)
			if len(p.queue) == 0 {
				return
			}
			// An item queued after the empty check, while the pool looked
			// full, started no worker: stay for it if there is room (else
			// the worker its submitter started takes it).
			if p.workers.Add(1) > p.maxWorkers {
				p.workers.Add(-1)
				return
			}
		}
	}
}

// Wait returns once the queue is empty and no worker runs (or when ctx
// ends, with its error): what was submitted before has run. Submissions
// during Wait make it wait for them too.
func (p *Pool[T]) Wait(ctx context.Context) error {
	for len(p.queue) > 0 || p.workers.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// PoolStats counts a pool's work.
type PoolStats struct {
	// Done items ran; Dropped found the queue full; Queued wait now;
	// Workers run now.
	Done, Dropped   uint64
	Queued, Workers int
}

// Stats reports the pool's counters.
func (p *Pool[T]) Stats() PoolStats {
	return PoolStats{Done: p.done.Load(), Dropped: p.dropped.Load(), Queued: len(p.queue), Workers: int(p.workers.Load())}
}
