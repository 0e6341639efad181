package ratelimiting

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/store"
)

// clusterTimeout bounds one round trip to the database.
const clusterTimeout = 2 * time.Second

// purgeEvery is how often a cluster policy instance deletes the counters
// of ended windows.
const purgeEvery = 60 * time.Second

// storeServer keeps the counters in the node's database (the cluster
// policy), shared by every node using it: store.Counters on SQLite or
// Postgres. The database comes with the node, through the request's
// credentials facet; DB-less nodes have none, and the policy fails.
type storeServer struct {
	counters  atomic.Pointer[store.Counters]
	nextPurge atomic.Int64
	purging   sync.WaitGroup
	now       func() time.Time
}

func newClusterPolicy(p *Plugin, syncRate float64) *sharedPolicy {
	return newSharedPolicy(p, &storeServer{now: p.now}, clusterTimeout, syncRate)
}

type storeHolder interface{ Store() *store.Store }

// errNoDatabase is returned where the node offers no database.
var errNoDatabase = errors.New("rate-limiting: the cluster policy needs a database; this node offers none")

func (s *storeServer) bind(k hostabi.Kong) error {
	if s.counters.Load() == nil {
		h, ok := k.Credentials().(storeHolder)
		if !ok || h.Store() == nil {
			return errNoDatabase
		}
		c, err := h.Store().Counters()
		if err != nil {
			return fmt.Errorf("rate-limiting: cluster policy: %w", err)
		}
		s.counters.CompareAndSwap(nil, &c)
	}
	return nil
}

func (s *storeServer) get() (store.Counters, error) {
	c := s.counters.Load()
	if c == nil {
		return nil, errNoDatabase
	}
	s.maybePurge(*c)
	return *c, nil
}

// maybePurge deletes expired counters in the background, at most once
// per purgeEvery per instance.
func (s *storeServer) maybePurge(c store.Counters) {
	now := s.now()
	next := s.nextPurge.Load()
	if now.Unix() < next || !s.nextPurge.CompareAndSwap(next, now.Add(purgeEvery).Unix()) {
		return
	}
	s.purging.Add(1)
	go func() {
		defer s.purging.Done()
		ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
		defer cancel()
		_, _ = c.PurgeCounters(ctx, now.Unix()) // a failed purge is retried later
	}()
}

func storeCounters(ws []window) []store.Counter {
	cs := make([]store.Counter, len(ws))
	for i, w := range ws {
		cs[i] = store.Counter{Key: w.key, ExpiresAt: w.start + w.length}
	}
	return cs
}

func (s *storeServer) take(ctx context.Context, ws []window) ([]int64, int, error) {
	c, err := s.get()
	if err != nil {
		return nil, -1, err
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
	c, err := s.get()
	if err != nil {
		return nil, err
	}
	values, err := c.AddCounters(ctx, storeCounters(ws), deltas)
	if err != nil {
		return nil, fmt.Errorf("rate-limiting: cluster policy: %w", err)
	}
	return values, nil
}

func (s *storeServer) close() error {
	s.purging.Wait()
	return nil
}
