package plugintest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/entitydb"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/store"
)

// Env is the node-wide state plugins see across requests: the consumers and
// credentials of the store, the node's cache and its identity. The zero
// value is not usable; create one with NewEnv. An Env is safe for
// concurrent use by many requests, so plugins with shared state (counters)
// can be exercised from many goroutines.
type Env struct {
	// NodeID and Hostname are what kong.node reports.
	NodeID   string
	Hostname string

	// CredentialErr, when set, makes every Credentials lookup fail with it;
	// ConsumerErr does the same for Client.LoadConsumer. Set them before
	// running requests.
	CredentialErr error
	ConsumerErr   error

	// DB serves kong.db (Kong.DB); nil: every call fails with a database
	// error. UseStore sets it to a real store's.
	DB hostabi.DB

	mu        sync.RWMutex
	consumers []hostabi.Entity
	creds     map[string][]hostabi.Entity

	cache *Cache

	credLookups     atomic.Int64
	consumerLookups atomic.Int64
}

// NewEnv returns an empty environment with a fresh cache on the real clock.
func NewEnv() *Env {
	return &Env{
		NodeID:   "00000000-0000-4000-8000-000000000001",
		Hostname: "plugintest",
		creds:    map[string][]hostabi.Entity{},
		cache:    NewCache(nil),
	}
}

// Cache returns the node cache plugins get from kong.Cache().
func (e *Env) Cache() *Cache { return e.cache }

// SetClock makes the cache read time from now (nil: the real clock), so
// TTL expiry can be tested without sleeping.
func (e *Env) SetClock(now func() time.Time) { e.cache.setClock(now) }

// AddConsumer stores a consumer and returns the stored entity. An "id" is
// generated when c has none. c is copied.
func (e *Env) AddConsumer(c hostabi.Entity) hostabi.Entity {
	rec := copyEntity(c)
	if _, ok := rec["id"].(string); !ok {
		rec["id"] = uuid.NewString()
	}
	e.mu.Lock()
	e.consumers = append(e.consumers, rec)
	e.mu.Unlock()
	return rec
}

// AddCredential stores a credential of an entity (a plugin's credential
// entity, such as key-auth's) belonging to consumer (nil: none) and returns
// the stored entity. An "id" is generated when cred has none; "consumer" is
// set to {"id": ...} as the store returns foreign keys. When a linked
// plugin declares the entity (runtime/plugin's registry), its generated
// values and write hook apply as in the store: a missing key is generated,
// a basic-auth password is stored hashed. Other names are stored as given.
// cred is copied.
func (e *Env) AddCredential(entity string, consumer, cred hostabi.Entity) hostabi.Entity {
	rec := copyEntity(cred)
	if _, ok := rec["id"].(string); !ok {
		rec["id"] = uuid.NewString()
	}
	if consumer != nil {
		rec["consumer"] = map[string]any{"id": consumer["id"]}
	}
	if decl := declared(entity); decl != nil {
		if decl.Generate != nil {
			decl.Generate(rec)
		}
		if decl.BeforeWrite != nil {
			if err := decl.BeforeWrite(nil, rec); err != nil {
				panic(fmt.Sprintf("plugintest: AddCredential(%s): %v", entity, err))
			}
		}
	}
	e.mu.Lock()
	e.creds[entity] = append(e.creds[entity], rec)
	e.mu.Unlock()
	return rec
}

// declared returns the declaration of a plugin-owned entity the linked
// plugins register, or nil.
func declared(entity string) *store.Entity {
	for _, d := range plugin.LinkedEntities() {
		if d.Name == entity {
			return d
		}
	}
	return nil
}

// CredentialLookups returns how many Credentials lookups plugins made.
func (e *Env) CredentialLookups() int64 { return e.credLookups.Load() }

// ConsumerLookups returns how many Client.LoadConsumer calls plugins made.
func (e *Env) ConsumerLookups() int64 { return e.consumerLookups.Load() }

// credential implements hostabi.Credentials.Credential.
func (e *Env) credential(entity, field, value string) (hostabi.Entity, error) {
	e.credLookups.Add(1)
	if e.CredentialErr != nil {
		return nil, e.CredentialErr
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, c := range e.creds[entity] {
		if s, ok := c[field].(string); ok && s == value {
			return c, nil
		}
	}
	return nil, nil
}

// consumerCredentials implements hostabi.Credentials.ConsumerCredentials.
func (e *Env) consumerCredentials(entity, consumerID string) ([]hostabi.Entity, error) {
	e.credLookups.Add(1)
	if e.CredentialErr != nil {
		return nil, e.CredentialErr
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := []hostabi.Entity{}
	for _, c := range e.creds[entity] {
		if fk, ok := c["consumer"].(map[string]any); ok && fk["id"] == consumerID {
			out = append(out, c)
		}
	}
	return out, nil
}

// loadConsumer implements hostabi.Client.LoadConsumer as the node does: by
// id, or by username when byUsername.
func (e *Env) loadConsumer(key string, byUsername bool) (hostabi.Entity, error) {
	e.consumerLookups.Add(1)
	if e.ConsumerErr != nil {
		return nil, e.ConsumerErr
	}
	field := "id"
	if byUsername {
		field = "username"
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, c := range e.consumers {
		if s, ok := c[field].(string); ok && s == key {
			return c, nil
		}
	}
	return nil, nil
}

// credentials adapts Env to hostabi.Credentials.
type credentials struct{ e *Env }

func (c credentials) Credential(_ context.Context, entity, field, value string) (hostabi.Entity, error) {
	return c.e.credential(entity, field, value)
}

func (c credentials) ConsumerCredentials(_ context.Context, entity, consumerID string) ([]hostabi.Entity, error) {
	return c.e.consumerCredentials(entity, consumerID)
}

func copyEntity(m hostabi.Entity) hostabi.Entity {
	out := make(hostabi.Entity, len(m)+2)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Cache is an in-memory hostabi.Cache with TTLs, for tests. Values are kept
// as given (not copied). A nil value is a negative entry: Get reports it as
// present with a nil value, as the node's cache does for GetOrLoad misses.
type Cache struct {
	mu     sync.Mutex
	now    func() time.Time
	items  map[string]cacheItem
	flight map[string]*flightCall
}

type cacheItem struct {
	value   any
	expires time.Time // zero: never
}

type flightCall struct {
	done chan struct{}
	val  any
	err  error
}

// NewCache returns an empty cache reading time from now (nil: time.Now).
func NewCache(now func() time.Time) *Cache {
	c := &Cache{items: map[string]cacheItem{}, flight: map[string]*flightCall{}}
	c.setClock(now)
	return c
}

func (c *Cache) setClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	c.mu.Lock()
	c.now = now
	c.mu.Unlock()
}

// lookup returns a live entry; the caller holds mu.
func (c *Cache) lookup(key string) (cacheItem, bool) {
	it, ok := c.items[key]
	if !ok {
		return it, false
	}
	if !it.expires.IsZero() && !c.now().Before(it.expires) {
		delete(c.items, key)
		return it, false
	}
	return it, true
}

// Get implements hostabi.Cache.
func (c *Cache) Get(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.lookup(key)
	return it.value, ok
}

// Set implements hostabi.Cache. A ttl <= 0 never expires.
func (c *Cache) Set(key string, value any, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(key, value, ttl)
}

func (c *Cache) setLocked(key string, value any, ttl time.Duration) {
	it := cacheItem{value: value}
	if ttl > 0 {
		it.expires = c.now().Add(ttl)
	}
	c.items[key] = it
}

// GetOrLoad implements hostabi.Cache: concurrent callers of a missing key
// wait for one load. A load error is returned and nothing is cached.
func (c *Cache) GetOrLoad(key string, ttl time.Duration, load func() (any, error)) (any, error) {
	c.mu.Lock()
	if it, ok := c.lookup(key); ok {
		c.mu.Unlock()
		return it.value, nil
	}
	if f, ok := c.flight[key]; ok {
		c.mu.Unlock()
		<-f.done
		return f.val, f.err
	}
	f := &flightCall{done: make(chan struct{})}
	c.flight[key] = f
	c.mu.Unlock()

	func() {
		defer func() {
			if p := recover(); p != nil {
				f.err = panicError{p}
			}
		}()
		f.val, f.err = load()
	}()

	c.mu.Lock()
	delete(c.flight, key)
	if f.err == nil {
		c.setLocked(key, f.val, ttl)
	}
	c.mu.Unlock()
	close(f.done)
	if pe, ok := f.err.(panicError); ok {
		panic(pe.v)
	}
	return f.val, f.err
}

// Invalidate implements hostabi.Cache.
func (c *Cache) Invalidate(key string) {
	c.mu.Lock()
	delete(c.items, key)
	c.mu.Unlock()
}

// Len returns the number of live entries.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k := range c.items {
		if _, ok := c.lookup(k); ok {
			n++
		}
	}
	return n
}

type panicError struct{ v any }

func (p panicError) Error() string { return "panic in cache load" }

var (
	_ hostabi.Cache       = (*Cache)(nil)
	_ hostabi.Credentials = credentials{}
)

// UseStore makes kong.db read and write st, as a node's plugins do
// (runtime/entitydb): real validation, defaults and errors.
func (e *Env) UseStore(st *store.Store) { e.DB = entitydb.New(st) }
