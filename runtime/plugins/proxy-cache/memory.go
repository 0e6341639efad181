package proxycache

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// Entry is one cached response, in the shape Kong's strategies store it
// and its Admin API shows it (`GET /proxy-cache/{key}`).
type Entry struct {
	Status int `json:"status"`
	// Headers are the response headers the entry replays, as the header
	// filter saw them.
	Headers   StoredHeaders `json:"headers"`
	Body      string        `json:"body"`
	BodyLen   int           `json:"body_len"`
	Timestamp int64         `json:"timestamp"`
	TTL       int64         `json:"ttl"`
	Version   int           `json:"version"`
	ReqBody   string        `json:"req_body"`
}

// StoredHeaders are a cached response's headers. They render as Kong's
// do: a header with one value as a string, with several as an array.
type StoredHeaders map[string][]string

// MarshalJSON implements json.Marshaler.
func (h StoredHeaders) MarshalJSON() ([]byte, error) {
	out := make(map[string]any, len(h))
	for k, vs := range h {
		if len(vs) == 1 {
			out[k] = vs[0]
		} else {
			out[k] = vs
		}
	}
	return json.Marshal(out)
}

// cacheVersion is Kong's CACHE_VERSION: entries of another version are
// purged when met.
const cacheVersion = 1

// dictionaries are the shared dictionaries Kong's nginx template declares,
// the names a memory strategy may use (Kong refuses any other).
var dictionaries = []string{"kong", "kong_locks", "kong_healthchecks", "kong_cluster_events",
	"kong_rate_limiting_counters", "kong_core_db_cache", "kong_core_db_cache_miss",
	"kong_db_cache", "kong_db_cache_miss", "kong_secrets"}

// IsDictionary reports whether name is one of the node's shared
// dictionaries.
func IsDictionary(name string) bool {
	for _, d := range dictionaries {
		if d == name {
			return true
		}
	}
	return false
}

// DictionaryBudget is the byte budget of each dictionary's cache: Kong's
// mem_cache_size default, the size of kong_db_cache.
const DictionaryBudget = 128 << 20

// Memory is the memory strategy: one ristretto cache per dictionary,
// shared by every plugin instance that names it, each bounded by
// DictionaryBudget bytes (the least used entries are evicted first).
type Memory struct {
	mu    sync.Mutex
	dicts map[string]*ristretto.Cache[string, *Entry]
}

// memory is the node's strategy: plugin instances come and go with
// configuration changes, the cached responses stay.
var memory = &Memory{dicts: map[string]*ristretto.Cache[string, *Entry]{}}

func (m *Memory) dict(name string) (*ristretto.Cache[string, *Entry], error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.dicts[name]; c != nil {
		return c, nil
	}
	c, err := ristretto.NewCache(&ristretto.Config[string, *Entry]{
		NumCounters: 1 << 17, MaxCost: DictionaryBudget, BufferItems: 64,
	})
	if err != nil {
		return nil, err
	}
	m.dicts[name] = c
	return c, nil
}

// Fetch returns the entry under key, or nil.
func (m *Memory) Fetch(dict, key string) *Entry {
	c, err := m.dict(dict)
	if err != nil {
		return nil
	}
	e, _ := c.Get(key)
	return e
}

// Store keeps e under key for ttl; it is visible to the next Fetch. It
// reports false when the cache refused the entry (larger than the budget,
// or not admitted).
func (m *Memory) Store(dict, key string, e *Entry, ttl time.Duration) bool {
	c, err := m.dict(dict)
	if err != nil {
		return false
	}
	cost := int64(len(e.Body)+len(e.ReqBody)) + 256
	for k, vs := range e.Headers {
		cost += int64(len(k))
		for _, v := range vs {
			cost += int64(len(v))
		}
	}
	ok := c.SetWithTTL(key, e, cost, ttl)
	c.Wait()
	return ok
}

// Purge removes the entry under key.
func (m *Memory) Purge(dict, key string) {
	if c, err := m.dict(dict); err == nil {
		c.Del(key)
	}
}

// Flush removes every entry of the dictionary.
func (m *Memory) Flush(dict string) {
	if c, err := m.dict(dict); err == nil {
		c.Clear()
	}
}
