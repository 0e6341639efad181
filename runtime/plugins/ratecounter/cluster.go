package ratecounter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/store"
)

// ErrNoDatabase is returned by the cluster policy on a node without a
// database (DB-less mode).
var ErrNoDatabase = errors.New("the cluster policy needs a database; this node offers none")

// storeHolder is implemented by the node's credentials facet: the node's
// store, where plugins keep their entities and shared counters.
type storeHolder interface{ Store() *store.Store }

// NodeCounters returns the shared counters of the node serving k: its
// database's store.Counters.
func NodeCounters(k hostabi.Kong) (store.Counters, error) {
	h, ok := k.Credentials().(storeHolder)
	if !ok || h.Store() == nil {
		return nil, ErrNoDatabase
	}
	c, err := h.Store().Counters()
	if err != nil {
		return nil, fmt.Errorf("cluster policy: %w", err)
	}
	return c, nil
}

// ClusterTimeout bounds one round trip to the database.
const ClusterTimeout = 2 * time.Second

// purgeEvery is how often a Cluster deletes the counters of ended windows.
const purgeEvery = 60 * time.Second

// Cluster is a Store in the node's database (the "cluster" policy),
// shared by every node using it. The database comes with the node: Bind
// finds it on the first request. Expired counters are purged in the
// background at most once a minute. Safe for concurrent use.
type Cluster struct {
	counters  atomic.Pointer[store.Counters]
	nextPurge atomic.Int64
	purging   sync.WaitGroup
	now       func() time.Time
}

// NewCluster returns a cluster store reading time from now (nil:
// time.Now).
func NewCluster(now func() time.Time) *Cluster {
	if now == nil {
		now = time.Now
	}
	return &Cluster{now: now}
}

// Bind finds the node's database through k; it is cheap once bound.
func (c *Cluster) Bind(k hostabi.Kong) error {
	if c.counters.Load() != nil {
		return nil
	}
	sc, err := NodeCounters(k)
	if err != nil {
		return err
	}
	c.counters.CompareAndSwap(nil, &sc)
	return nil
}

// Counters returns the bound database's counters (ErrNoDatabase before a
// Bind), purging expired ones now and then.
func (c *Cluster) Counters() (store.Counters, error) {
	p := c.counters.Load()
	if p == nil {
		return nil, ErrNoDatabase
	}
	c.maybePurge(*p)
	return *p, nil
}

func (c *Cluster) maybePurge(sc store.Counters) {
	now := c.now()
	next := c.nextPurge.Load()
	if now.Unix() < next || !c.nextPurge.CompareAndSwap(next, now.Add(purgeEvery).Unix()) {
		return
	}
	c.purging.Add(1)
	go func() {
		defer c.purging.Done()
		ctx, cancel := context.WithTimeout(context.Background(), ClusterTimeout)
		defer cancel()
		_, _ = sc.PurgeCounters(ctx, now.Unix()) // a failed purge is retried later
	}()
}

// Get implements Store.
func (c *Cluster) Get(ctx context.Context, keys []string) ([]int64, error) {
	sc, err := c.Counters()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, ClusterTimeout)
	defer cancel()
	return sc.ReadCounters(ctx, keys)
}

// Add implements Store: a counter created expires expirations[i] seconds
// from now.
func (c *Cluster) Add(ctx context.Context, keys []string, n int64, expirations []int64) error {
	sc, err := c.Counters()
	if err != nil {
		return err
	}
	now := c.now().Unix()
	cs := make([]store.Counter, len(keys))
	deltas := make([]int64, len(keys))
	for i, k := range keys {
		cs[i] = store.Counter{Key: k, ExpiresAt: now + expirations[i]}
		deltas[i] = n
	}
	ctx, cancel := context.WithTimeout(ctx, ClusterTimeout)
	defer cancel()
	_, err = sc.AddCounters(ctx, cs, deltas)
	return err
}

// Close implements Store: it waits for a purge under way.
func (c *Cluster) Close() error {
	c.purging.Wait()
	return nil
}

var _ Store = (*Cluster)(nil)
