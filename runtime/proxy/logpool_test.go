package proxy

import (
	"sync"
	"testing"
	"time"
)

// TestLogPoolBoundsAndDrops: with one worker busy and the queue full, the
// next request's log work is dropped and counted; the queued work still
// runs, and the workers exit once the queue is empty.
func TestLogPoolBoundsAndDrops(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var ran []*state
	p := newLogPool(1, 2, func(st *state) {
		<-release
		mu.Lock()
		ran = append(ran, st)
		mu.Unlock()
	})
	states := []*state{{}, {}, {}, {}}
	if !p.submit(states[0]) {
		t.Fatal("first submit refused")
	}
	// Wait until the single worker holds the first request, so the queue
	// has room for exactly two.
	for deadline := time.Now().Add(5 * time.Second); len(p.queue) != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the worker never took the first request")
		}
	}
	for i, st := range states[1:3] {
		if !p.submit(st) {
			t.Fatalf("submit %d refused with room in the queue", i+1)
		}
	}
	if p.submit(states[3]) {
		t.Fatal("a submit to a full queue was accepted")
	}
	if got := p.dropped.Load(); got != 1 {
		t.Fatalf("dropped = %d, want 1", got)
	}
	if w := p.workers.Load(); w != 1 {
		t.Fatalf("workers = %d, want the bound 1", w)
	}
	close(release)
	for deadline := time.Now().Add(5 * time.Second); p.done.Load() != 3 || p.workers.Load() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("done = %d, workers = %d; want 3 and 0", p.done.Load(), p.workers.Load())
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ran) != 3 || ran[0] != states[0] || ran[1] != states[1] || ran[2] != states[2] {
		t.Fatalf("ran %v, want the three accepted requests in order", ran)
	}
}
