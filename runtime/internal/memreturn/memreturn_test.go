package memreturn

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// run starts a watcher with a fast tick and returns the counter it watches
// and the number of releases so far.
func run(t *testing.T, quiet time.Duration) (*atomic.Int64, *atomic.Int64) {
	t.Helper()
	var activity, released atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w := &Watcher{Activity: activity.Load, Quiet: quiet, Tick: 5 * time.Millisecond, Release: func() { released.Add(1) }}
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &activity, &released
}

// waitFor polls until cond holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReleasesOnceAfterActivityStops(t *testing.T) {
	activity, released := run(t, 50*time.Millisecond)
	// Idle from the start: nothing to give back.
	time.Sleep(150 * time.Millisecond)
	if n := released.Load(); n != 0 {
		t.Fatalf("released %d times while nothing happened", n)
	}
	// A burst, then quiet: one release.
	for i := 0; i < 10; i++ {
		activity.Add(1)
		time.Sleep(10 * time.Millisecond)
	}
	waitFor(t, "a release after the burst", func() bool { return released.Load() == 1 })
	// Still quiet: no more releases.
	time.Sleep(200 * time.Millisecond)
	if n := released.Load(); n != 1 {
		t.Fatalf("released %d times for one quiet period, want 1", n)
	}
	// Another burst: another release.
	activity.Add(1)
	waitFor(t, "a release after the second burst", func() bool { return released.Load() == 2 })
}

func TestNoReleaseWhileBusy(t *testing.T) {
	activity, released := run(t, 300*time.Millisecond)
	stop := time.Now().Add(400 * time.Millisecond)
	for time.Now().Before(stop) {
		activity.Add(1)
		time.Sleep(2 * time.Millisecond)
	}
	// The counter moved at least every few ticks, well inside Quiet.
	if n := released.Load(); n != 0 {
		t.Fatalf("released %d times while busy", n)
	}
}
