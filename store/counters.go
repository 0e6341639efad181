package store

import (
	"context"
	"errors"
)

// Counter names one shared counter: a key chosen by its user (a
// rate-limiting window, say) and the time, in Unix seconds, after which
// the counter is no longer needed and may be purged.
type Counter struct {
	Key       string
	ExpiresAt int64
}

// Counters keeps integer counters in the database, shared by every node
// that uses it, for plugins whose state is cluster-wide (rate-limiting's
// "cluster" policy). Counters are created at zero on first use. Writes to
// counters are not entity changes: they take no entity write lock and
// send no change event.
type Counters interface {
	// AddCounters adds deltas[i] to counters[i], atomically per counter,
	// and returns the counters' new values.
	AddCounters(ctx context.Context, counters []Counter, deltas []int64) ([]int64, error)
	// TakeCounters adds 1 to every counter unless one of them has reached
	// its limit (counter i is exhausted when limits[i] - value <= 0), as
	// one atomic step: concurrent takes from any node never let more than
	// limits[i] through. It returns the values before the take and the
	// index of the first exhausted counter, or -1 when the take counted.
	TakeCounters(ctx context.Context, counters []Counter, limits []int64) (before []int64, exhausted int, err error)
	// ReadCounters returns the counters' values (0 for a missing one).
	ReadCounters(ctx context.Context, keys []string) ([]int64, error)
	// PurgeCounters deletes the counters that expired before now (Unix
	// seconds) and returns how many.
	PurgeCounters(ctx context.Context, now int64) (int64, error)
}

// ErrNoCounters is returned by Store.Counters when the backend keeps no
// shared counters (DB-less mode).
var ErrNoCounters = errors.New("the database in use keeps no shared counters (DB-less mode)")

// Counters returns the backend's shared counters, or ErrNoCounters.
func (s *Store) Counters() (Counters, error) {
	if c, ok := s.backend.(Counters); ok {
		return c, nil
	}
	return nil, ErrNoCounters
}
