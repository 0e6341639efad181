// Package cache is the node's entity cache: consumers and credentials the
// proxy looks up per request are read through ristretto, with negative
// entries for misses, so the hot path does not query the database. Change
// events invalidate by entity type: every key embeds its entity's
// generation, and a change bumps the generation, so a lookup racing with a
// change can never store a stale value under a live key. In front of
// ristretto, a lock-free table per entity (front.go) answers repeated
// lookups without building a key or allocating; its entries carry the
// generation too and die with it. It also serves as kong.cache for
// plugins.
package cache

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/store"
)

// DefaultTTL bounds how long an entry lives without a change event (Kong's
// db_cache_ttl is 0, forever; a bound protects against a missed event from
// another node).
const DefaultTTL = 10 * time.Minute

type miss struct{}

// notFound is the negative entry.
var notFound = miss{}

// Cache is a ristretto cache bound to a store.
type Cache struct {
	rc     *ristretto.Cache[string, any]
	store  *store.Store
	states states // entity -> generation and front table
	clock  *coarseClock
	flight flightGroup
	cancel func()

	leaseMu sync.Mutex
	leases  map[string]*lease
}

// lease is a load in progress of a plugin's key (Lookup made the caller
// its loader); waiters block on done.
type lease struct {
	done chan struct{}
	val  any
	err  error
}

// errAbandoned is what waiters get when a loader abandons without an error.
var errAbandoned = errors.New("cache: the load was abandoned")

// New returns a cache over st, invalidated by st's change events.
func New(st *store.Store) (*Cache, error) {
	// Entries cost 1, ristretto's own per-item overhead left out of the
	// cost (IgnoreInternalCost; counted in, it let only a few hundred
	// entries fit): up to 131,072 consumers and credentials stay hot,
	// 10,000 consumers with a credential each among them; ristretto wants
	// about ten counters per entry.
	rc, err := ristretto.NewCache(&ristretto.Config[string, any]{
		NumCounters: 1 << 20, MaxCost: 1 << 17, BufferItems: 64, IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	c := &Cache{rc: rc, store: st, clock: newCoarseClock()}
	if st != nil {
		c.cancel = st.Bus().Subscribe(c.onEvent)
	}
	return c, nil
}

// Close stops following events and frees the cache.
func (c *Cache) Close() {
	if c.cancel != nil {
		c.cancel()
	}
	c.rc.Close()
	c.clock.close()
}

func (c *Cache) onEvent(ev store.Event) {
	if ev.Op == store.OpReload || ev.Entity == "" {
		c.states.bumpAll()
		return
	}
	// Only entities the cache serves have a state (and a 128 KiB front
	// table); changes to the others (routes, services...) cost nothing.
	c.states.bump(ev.Entity)
}

// key is the ristretto key of an entity's lookup at generation gen.
func keyOf(entity string, gen uint64, rest string) string {
	return entity + "\x00" + strconv.FormatUint(gen, 10) + "\x00" + rest
}

// fromFront returns the front table's answer for an entity lookup: the
// entry, or nil when it has none at gen.
func (c *Cache) fromFront(es *entityState, field, value string, gen uint64) *frontEntry {
	e := es.front.get(field, value, gen, c.clock.now.Load())
	if e == nil || (!e.at.IsZero() && !time.Now().Before(e.at)) {
		return nil
	}
	return e
}

// toFront stores an answer loaded at gen in the front table. The entry
// keeps copies of field and value: a caller's string may be a view of a
// buffer reused by the next request.
func (c *Cache) toFront(es *entityState, field, value string, gen uint64, val any, at time.Time) {
	now := c.clock.now.Load()
	es.front.put(&frontEntry{field: strings.Clone(field), value: strings.Clone(value), gen: gen, val: val, at: at,
		dies: now + int64(DefaultTTL)}, now)
}

// Get implements hostabi.Cache.
func (c *Cache) Get(key string) (any, bool) {
	v, ok := c.rc.Get("u\x00" + key)
	if !ok || v == notFound {
		return nil, ok
	}
	return v, true
}

// Set implements hostabi.Cache.
func (c *Cache) Set(key string, value any, ttl time.Duration) {
	if value == nil {
		value = notFound
	}
	c.rc.SetWithTTL("u\x00"+key, value, 1, ttl)
	c.rc.Wait()
}

// Invalidate implements hostabi.Cache.
func (c *Cache) Invalidate(key string) { c.rc.Del("u\x00" + key) }

// Lookup implements hostabi.Cache: the value, or load=true for exactly one
// caller of a missing key, whose Fill or Abandon the others wait for.
func (c *Cache) Lookup(ctx context.Context, key string) (value any, found, load bool, err error) {
	k := "u\x00" + key
	if v, ok := c.rc.Get(k); ok {
		return unwrap(v), true, false, nil
	}
	c.leaseMu.Lock()
	l := c.leases[k]
	if l == nil {
		// A Fill may have finished since the miss above.
		if v, ok := c.rc.Get(k); ok {
			c.leaseMu.Unlock()
			return unwrap(v), true, false, nil
		}
		if c.leases == nil {
			c.leases = map[string]*lease{}
		}
		c.leases[k] = &lease{done: make(chan struct{})}
		c.leaseMu.Unlock()
		return nil, false, true, nil
	}
	c.leaseMu.Unlock()
	select {
	case <-l.done:
		if l.err != nil {
			return nil, false, false, l.err
		}
		return l.val, true, false, nil
	case <-ctx.Done():
		return nil, false, false, ctx.Err()
	}
}

// Fill implements hostabi.Cache.
func (c *Cache) Fill(key string, value any, ttl time.Duration) {
	c.Set(key, value, ttl)
	c.release("u\x00"+key, value, nil)
}

// Abandon implements hostabi.Cache.
func (c *Cache) Abandon(key string, err error) {
	if err == nil {
		err = errAbandoned
	}
	c.release("u\x00"+key, nil, err)
}

func (c *Cache) release(k string, v any, err error) {
	c.leaseMu.Lock()
	l := c.leases[k]
	delete(c.leases, k)
	c.leaseMu.Unlock()
	if l != nil {
		l.val, l.err = v, err
		close(l.done)
	}
}

func unwrap(v any) any {
	if v == notFound {
		return nil
	}
	return v
}

// GetOrLoad is hostabi.GetOrLoad's behaviour for Go callers of the node
// cache.
func (c *Cache) GetOrLoad(key string, ttl time.Duration, load func() (any, error)) (any, error) {
	return c.getOrLoad("u\x00"+key, ttl, load)
}

func (c *Cache) getOrLoad(key string, ttl time.Duration, load func() (any, error)) (any, error) {
	if v, ok := c.rc.Get(key); ok {
		if v == notFound {
			return nil, nil
		}
		return v, nil
	}
	return c.flight.do(key, func() (any, error) {
		// A caller that missed just as the previous load finished leads a
		// new flight: the value is in the cache by now (stored and waited
		// for before that flight ended), so it is not loaded again.
		if v, ok := c.rc.Get(key); ok {
			if v == notFound {
				return nil, nil
			}
			return v, nil
		}
		v, err := load()
		if err != nil {
			return nil, err
		}
		stored := v
		if v == nil {
			stored = notFound
		}
		c.rc.SetWithTTL(key, stored, 1, ttl)
		c.rc.Wait()
		return v, nil
	})
}

// Credential implements hostabi.Credentials: the credential whose unique
// field has the value, or nil.
// A credential with a ttl (key-auth) is cached with its expiry and is not
// returned once that passes, as Kong caches it for its ttl.
func (c *Cache) Credential(ctx context.Context, entity, field, value string) (hostabi.Entity, error) {
	es := c.states.get(entity)
	gen := es.gen.Load()
	if e := c.fromFront(es, field, value, gen); e != nil {
		rec, _ := e.val.(hostabi.Entity)
		return rec, nil
	}
	// Past the front table value is kept (in a loader, a store query):
	// a copy, as the caller's may be a view of a request (hostabi.Credentials).
	value = strings.Clone(value)
	key := keyOf(entity, gen, field+"\x00"+value)
	v, err := c.getOrLoad(key, DefaultTTL, func() (any, error) {
		rec, err := c.store.FindUnique(ctx, entity, field, value)
		if store.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if left, ok := rec["ttl"].(int64); ok && left > 0 {
			// ttl is rounded up: keep the entry a second less and let the
			// store, which knows the exact expiry, answer the last second.
			return expiring{rec: rec, at: time.Now().Add(time.Duration(left-1) * time.Second)}, nil
		}
		return rec, nil
	})
	if err != nil {
		return nil, err
	}
	if v == nil {
		c.toFront(es, field, value, gen, nil, time.Time{})
		return nil, nil
	}
	if x, ok := v.(expiring); ok {
		if !time.Now().Before(x.at) {
			c.rc.Del(key)
			rec, err := c.store.FindUnique(ctx, entity, field, value)
			if store.IsNotFound(err) {
				return nil, nil
			}
			return rec, err
		}
		c.toFront(es, field, value, gen, x.rec, x.at)
		return x.rec, nil
	}
	rec := v.(map[string]any)
	c.toFront(es, field, value, gen, rec, time.Time{})
	return rec, nil
}

// expiring is a cached record that is gone after at.
type expiring struct {
	rec map[string]any
	at  time.Time
}

// ConsumerCredentials implements hostabi.Credentials.
func (c *Cache) ConsumerCredentials(ctx context.Context, entity, consumerID string) ([]hostabi.Entity, error) {
	es := c.states.get(entity)
	gen := es.gen.Load()
	if e := c.fromFront(es, fieldByConsumer, consumerID, gen); e != nil {
		return e.val.([]hostabi.Entity), nil
	}
	v, err := c.getOrLoad(keyOf(entity, gen, "consumer\x00"+consumerID), DefaultTTL, func() (any, error) {
		var out []hostabi.Entity
		offset := ""
		for {
			page, err := c.store.List(ctx, entity, store.ListQuery{Size: store.MaxPageSize, Offset: offset,
				ForeignField: "consumer", ForeignKey: consumerID})
			if store.IsNotFound(err) {
				return []hostabi.Entity{}, nil
			}
			if err != nil {
				return nil, err
			}
			out = append(out, page.Data...)
			if page.Offset == "" {
				break
			}
			offset = page.Offset
		}
		if out == nil {
			out = []hostabi.Entity{}
		}
		return out, nil
	})
	if err != nil || v == nil {
		return nil, err
	}
	list := v.([]hostabi.Entity)
	c.toFront(es, fieldByConsumer, consumerID, gen, list, time.Time{})
	return list, nil
}

// fieldByConsumer is the front table's field of ConsumerCredentials
// lists; no entity has a field of that name.
const fieldByConsumer = "\x00consumer"

// Consumer finds a consumer by id, or by username when byUsername; nil when
// there is none.
func (c *Cache) Consumer(ctx context.Context, key string, byUsername bool) (map[string]any, error) {
	field := "id"
	if byUsername {
		field = "username"
	}
	es := c.states.get("consumers")
	gen := es.gen.Load()
	if e := c.fromFront(es, field, key, gen); e != nil {
		rec, _ := e.val.(map[string]any)
		return rec, nil
	}
	v, err := c.getOrLoad(keyOf("consumers", gen, field+"\x00"+key), DefaultTTL, func() (any, error) {
		var rec map[string]any
		var err error
		if byUsername {
			rec, err = c.store.FindUnique(ctx, "consumers", "username", key)
		} else {
			if !store.IsUUID(key) {
				return nil, nil
			}
			rec, err = c.store.Get(ctx, "consumers", key)
		}
		if store.IsNotFound(err) {
			return nil, nil
		}
		return rec, err
	})
	if err != nil {
		return nil, err
	}
	rec, _ := v.(map[string]any)
	c.toFront(es, field, key, gen, rec, time.Time{})
	return rec, nil
}

// flightGroup runs one load per key at a time; concurrent callers share
// its result.
type flightGroup struct {
	mu    sync.Mutex
	calls map[string]*flightCall
}

type flightCall struct {
	wg  sync.WaitGroup
	val any
	err error
}

func (g *flightGroup) do(key string, fn func() (any, error)) (any, error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*flightCall{}
	}
	if c, ok := g.calls[key]; ok {
		g.mu.Unlock()
		c.wg.Wait()
		return c.val, c.err
	}
	c := &flightCall{}
	c.wg.Add(1)
	g.calls[key] = c
	g.mu.Unlock()
	c.val, c.err = fn()
	c.wg.Done()
	g.mu.Lock()
	delete(g.calls, key)
	g.mu.Unlock()
	return c.val, c.err
}

var (
	_ hostabi.Cache       = (*Cache)(nil)
	_ hostabi.Credentials = (*Cache)(nil)
)

// Store returns the store the cache reads, for native plugins that own
// entities they write at request time (tokens, codes).
func (c *Cache) Store() *store.Store { return c.store }
