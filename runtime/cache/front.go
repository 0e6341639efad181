package cache

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// The front cache: a fixed-size, set-associative table of immutable
// entries in front of ristretto, read without locks or allocation. Every
// entity the cache serves has its own state (its generation and its
// table); an entry records the generation it was loaded under and is dead
// as soon as a change event bumps it, exactly as the ristretto keys that
// embed the generation are. Entries also die after DefaultTTL, read on a
// coarse clock, as ristretto's do.

// frontSets and frontWays size each entity's table: 4,096 sets of 4 ways,
// 16,384 entries (128 KiB of pointers); 10,000 hot keys fit with little
// eviction.
const (
	frontSets = 1 << 12
	frontWays = 4
)

// entityState is one entity's generation and front table.
type entityState struct {
	gen   atomic.Uint64
	front front
}

// front is one entity's table; slots[set*frontWays+way].
type front struct {
	slots [frontSets * frontWays]atomic.Pointer[frontEntry]
	// victim rotates the way replaced when a set is full.
	victim atomic.Uint32
}

// frontEntry is one cached answer; never modified once published.
type frontEntry struct {
	field, value string
	gen          uint64
	// val is a hostabi.Entity, a []hostabi.Entity, or nil (a cached miss).
	val any
	// at is when a credential with a ttl stops being valid (zero: never);
	// checked on the real clock.
	at time.Time
	// dies is the coarse-clock time (Unix nanoseconds) after which the
	// entry is not used (DefaultTTL after it was stored).
	dies int64
}

var frontSeed = maphash.MakeSeed()

// frontHash hashes a field and value; the field is short and mixed in by
// its length and first byte to keep one hash call per lookup.
func frontHash(field, value string) uint64 {
	h := maphash.String(frontSeed, value)
	if len(field) > 0 {
		h ^= (uint64(field[0]) | uint64(len(field))<<8) * 0x9e3779b97f4a7c15
	}
	return h
}

// get returns the live entry for field and value at generation gen, or nil.
func (f *front) get(field, value string, gen uint64, now int64) *frontEntry {
	set := f.slots[(frontHash(field, value)&(frontSets-1))*frontWays:][:frontWays]
	for i := range set {
		e := set[i].Load()
		if e != nil && e.gen == gen && e.value == value && e.field == field && now < e.dies {
			return e
		}
	}
	return nil
}

// put publishes e, replacing the entry of the same key, an empty or dead
// slot, or else a rotating victim.
func (f *front) put(e *frontEntry, now int64) {
	set := f.slots[(frontHash(e.field, e.value)&(frontSets-1))*frontWays:][:frontWays]
	way := -1
	for i := range set {
		o := set[i].Load()
		if o == nil || o.gen != e.gen || now >= o.dies || (o.value == e.value && o.field == e.field) {
			way = i
			break
		}
	}
	if way < 0 {
		way = int(f.victim.Add(1) % frontWays)
	}
	set[way].Store(e)
}

// states is the copy-on-write map from entity name to its state: read
// with one atomic load, written (a new entity) under mu.
type states struct {
	mu sync.Mutex
	m  atomic.Pointer[map[string]*entityState]
}

func (s *states) get(entity string) *entityState {
	if m := s.m.Load(); m != nil {
		if es := (*m)[entity]; es != nil {
			return es
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.m.Load()
	if old != nil {
		if es := (*old)[entity]; es != nil {
			return es
		}
	}
	next := make(map[string]*entityState, 1+lenOf(old))
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	es := new(entityState)
	next[entity] = es
	s.m.Store(&next)
	return es
}

func lenOf(m *map[string]*entityState) int {
	if m == nil {
		return 0
	}
	return len(*m)
}

// bump advances an entity's generation if the entity has a state. One
// without is never created for it: a state made after this call began
// was made after the change the event reports committed, so what it
// loads is current, and a state made before is bumped; the atomic map
// orders the two.
func (s *states) bump(entity string) {
	if m := s.m.Load(); m != nil {
		if es := (*m)[entity]; es != nil {
			es.gen.Add(1)
		}
	}
}

// bumpAll advances every entity's generation. It holds mu so that an
// entity created concurrently is either bumped or created after the
// change it follows.
func (s *states) bumpAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.m.Load(); m != nil {
		for _, es := range *m {
			es.gen.Add(1)
		}
	}
}

// coarseClock is a Unix-nanosecond clock advanced every coarseTick by a
// goroutine, so that a front hit does not read the system clock; it is
// read only to expire entries after DefaultTTL, which a tick's lag does
// not matter to.
type coarseClock struct {
	now  atomic.Int64
	stop chan struct{}
	done chan struct{}
}

const coarseTick = 250 * time.Millisecond

func newCoarseClock() *coarseClock {
	c := &coarseClock{stop: make(chan struct{}), done: make(chan struct{})}
	c.now.Store(time.Now().UnixNano())
	go func() {
		defer close(c.done)
		t := time.NewTicker(coarseTick)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case now := <-t.C:
				c.now.Store(now.UnixNano())
			}
		}
	}()
	return c
}

func (c *coarseClock) close() {
	close(c.stop)
	<-c.done
}
