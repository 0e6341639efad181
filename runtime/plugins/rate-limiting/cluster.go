package ratelimiting

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugins/ratecounter"
	"github.com/gatehouse/gatehouse/store"
)

// storeServer keeps the counters in the node's database (the cluster
// policy), shared by every node using it: store.Counters on SQLite or
// Postgres, reached through ratecounter.Cluster. DB-less nodes have no
// database, and the policy fails.
type storeServer struct {
	db *ratecounter.Cluster
}

func newClusterPolicy(p *Plugin, syncRate float64) *sharedPolicy {
	now := func() time.Time { return p.now() }
	return newSharedPolicy(p, &storeServer{db: ratecounter.NewCluster(now)}, ratecounter.ClusterTimeout, syncRate)
}

func (s *storeServer) bind(k hostabi.Kong) error {
	if err := s.db.Bind(k); err != nil {
		return fmt.Errorf("rate-limiting: %w", err)
	}
	return nil
}

func storeCounters(ws []window) []store.Counter {
	cs := make([]store.Counter, len(ws))
	for i, w := range ws {
		cs[i] = store.Counter{Key: w.key, ExpiresAt: w.start + w.length}
	}
	return cs
}

func (s *storeServer) take(ctx context.Context, ws []window) ([]int64, int, error) {
	c, err := s.db.Counters()
	if err != nil {
		return nil, -1, fmt.Errorf("rate-limiting: %w", err)
	}
	limits := make([]int64, len(ws))
	for i, w := range ws {
		// A request passes while limit - count > 0: for whole counts,
		// the same as count < ceil(limit).
		limits[i] = int64(math.Ceil(w.limit))
	}
	before, stop, err := c.TakeCounters(ctx, storeCounters(ws), limits)
	if err != nil {
		return nil, -1, fmt.Errorf("rate-limiting: cluster policy: %w", err)
	}
	return before, stop, nil
}

func (s *storeServer) add(ctx context.Context, ws []window, deltas []int64) ([]int64, error) {
	c, err := s.db.Counters()
	if err != nil {
		return nil, fmt.Errorf("rate-limiting: %w", err)
	}
	values, err := c.AddCounters(ctx, storeCounters(ws), deltas)
	if err != nil {
		return nil, fmt.Errorf("rate-limiting: cluster policy: %w", err)
	}
	return values, nil
}

func (s *storeServer) close() error { return s.db.Close() }
