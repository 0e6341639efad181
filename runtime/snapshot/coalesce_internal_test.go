package snapshot

import (
	"testing"
	"time"
)

// TestCoalesceWait: a cheap build keeps the 5 ms coalescing; a costly one
// makes the next wait until its cost has passed again since it ended,
// never more than coalesceMax.
func TestCoalesceWait(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		cost, since, want time.Duration
	}{
		{0, 0, coalesceMin},
		{ms, 0, coalesceMin},
		{20 * ms, 0, 20 * ms},
		{20 * ms, 12 * ms, 8 * ms},
		{20 * ms, 18 * ms, coalesceMin},
		{20 * ms, time.Second, coalesceMin},
		{time.Second, 0, coalesceMax},
	} {
		if got := coalesceWait(c.cost, c.since); got != c.want {
			t.Errorf("cost %v, %v since the last build: wait %v, want %v", c.cost, c.since, got, c.want)
		}
	}
}
