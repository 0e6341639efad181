package balancer

import (
	"testing"
	"time"
)

func TestIntervalFloor(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want time.Duration
	}{{0, 0}, {-1, 0}, {1e-6, minInterval}, {0.001, minInterval}, {0.05, 50 * time.Millisecond}, {0.1, 100 * time.Millisecond}, {2, 2 * time.Second}} {
		if got := interval(c.in); got != c.want {
			t.Errorf("interval(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
