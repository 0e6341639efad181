package proxy

import (
	"testing"
	"time"
)

// TestLogStatsCountDrops: a server whose log queue is full drops the log
// work of the next request and counts it; the queued work still runs.
func TestLogStatsCountDrops(t *testing.T) {
	srv := New(Options{LogWorkers: 1, LogQueue: 1})
	release := make(chan struct{})
	ran := 0
	srv.logs = newLogs(1, 1, func(*state) { <-release; ran++ })
	srv.logs.Submit(&state{})
	for deadline := time.Now().Add(5 * time.Second); srv.LogStats().Queued != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the worker never took the first request")
		}
	}
	if !srv.logs.Submit(&state{}) || srv.logs.Submit(&state{}) {
		t.Fatal("the queue of one did not take exactly one more request")
	}
	if s := srv.LogStats(); s.Dropped != 1 || s.Queued != 1 {
		t.Fatalf("stats %+v", s)
	}
	close(release)
	for deadline := time.Now().Add(5 * time.Second); srv.LogStats().Done != 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", srv.LogStats())
		}
	}
	if ran != 2 {
		t.Fatalf("ran %d", ran)
	}
}
