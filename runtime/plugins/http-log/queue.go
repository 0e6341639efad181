package httplog

import (
	"sync"
	"time"
)

// QueueConfig is Kong 3.9's queue record (typedefs.queue), in Go units.
type QueueConfig struct {
	MaxBatchSize       int64   `config:"max_batch_size"`
	MaxCoalescingDelay float64 `config:"max_coalescing_delay"`
	MaxEntries         int64   `config:"max_entries"`
	MaxBytes           *int64  `config:"max_bytes"`
	MaxRetryTime       float64 `config:"max_retry_time"`
	InitialRetryDelay  float64 `config:"initial_retry_delay"`
	MaxRetryDelay      float64 `config:"max_retry_delay"`
	ConcurrencyLimit   int64   `config:"concurrency_limit"`
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Queue batches entries for a handler, as Kong's kong.tools.queue does:
// Add never blocks; entries wait (at most MaxEntries of them, and
// MaxBytes bytes when set) until MaxBatchSize are queued or
// MaxCoalescingDelay passed since the first; a failing batch is retried
// with exponential backoff (InitialRetryDelay doubling up to
// MaxRetryDelay) until MaxRetryTime, then dropped. Entries refused when
// full and batches given up are reported to onDrop. One goroutine drains
// the queue while it has entries and exits when it is empty; with
// ConcurrencyLimit -1 it hands each batch to a goroutine of its own, else
// batches are delivered one at a time.
type Queue struct {
	conf    QueueConfig
	handler func(batch [][]byte) error
	onDrop  func(n int, reason string)

	mu      sync.Mutex
	entries [][]byte
	bytes   int64
	first   time.Time
	running bool
	wake    chan struct{}
}

// NewQueue creates a queue sending batches to handler; onDrop (may be
// nil) is told of every drop.
func NewQueue(conf QueueConfig, handler func(batch [][]byte) error, onDrop func(n int, reason string)) *Queue {
	if conf.MaxBatchSize < 1 {
		conf.MaxBatchSize = 1
	}
	if conf.MaxEntries < 1 {
		conf.MaxEntries = 1
	}
	return &Queue{conf: conf, handler: handler, onDrop: onDrop, wake: make(chan struct{}, 1)}
}

// Add queues an entry; it reports false (and counts a drop) when the
// queue is full.
func (q *Queue) Add(entry []byte) bool {
	q.mu.Lock()
	full := int64(len(q.entries)) >= q.conf.MaxEntries ||
		(q.conf.MaxBytes != nil && q.bytes+int64(len(entry)) > *q.conf.MaxBytes)
	if full {
		q.mu.Unlock()
		q.drop(1, "queue_full")
		return false
	}
	if len(q.entries) == 0 {
		q.first = time.Now()
	}
	q.entries = append(q.entries, entry)
	q.bytes += int64(len(entry))
	start := !q.running
	q.running = true
	q.mu.Unlock()
	if start {
		go q.run()
	} else {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// Len is the number of entries waiting.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.entries)
}

func (q *Queue) drop(n int, reason string) {
	if q.onDrop != nil {
		q.onDrop(n, reason)
	}
}

// run drains the queue, one batch at a time.
func (q *Queue) run() {
	for {
		batch := q.next()
		if batch == nil {
			return
		}
		if q.conf.ConcurrencyLimit == -1 {
			// Kong's unlimited concurrency: each batch is delivered on
			// its own, without waiting for the previous one.
			go q.deliver(batch)
			continue
		}
		q.deliver(batch)
	}
}

// next waits for a full batch or the coalescing delay and takes the
// batch; nil (and the goroutine's end) when the queue is empty.
func (q *Queue) next() [][]byte {
	delay := seconds(q.conf.MaxCoalescingDelay)
	for {
		q.mu.Lock()
		n := int64(len(q.entries))
		if n == 0 {
			q.running = false
			q.mu.Unlock()
			return nil
		}
		wait := time.Until(q.first.Add(delay))
		if n >= q.conf.MaxBatchSize || wait <= 0 || q.conf.MaxBatchSize == 1 {
			take := min(n, q.conf.MaxBatchSize)
			batch := q.entries[:take:take]
			q.entries = append([][]byte(nil), q.entries[take:]...)
			for _, e := range batch {
				q.bytes -= int64(len(e))
			}
			if len(q.entries) > 0 {
				q.first = time.Now()
			}
			q.mu.Unlock()
			return batch
		}
		q.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-q.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// deliver calls the handler with retries; a batch that still fails after
// MaxRetryTime is dropped.
func (q *Queue) deliver(batch [][]byte) {
	start := time.Now()
	delay := seconds(q.conf.InitialRetryDelay)
	maxDelay := seconds(q.conf.MaxRetryDelay)
	for {
		if q.handler(batch) == nil {
			return
		}
		if time.Since(start)+delay > seconds(q.conf.MaxRetryTime) {
			q.drop(len(batch), "retries_exhausted")
			return
		}
		time.Sleep(delay)
		delay = min(delay*2, maxDelay)
	}
}
