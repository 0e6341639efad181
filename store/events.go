package store

import "sync"

// Op is the kind of change an event reports.
type Op string

// The operations a change event can report.
const (
	OpCreate Op = "create"
	OpUpdate Op = "update"
	OpDelete Op = "delete"
	// OpReload reports that the whole configuration was replaced (an import or
	// a DB-less config upload); Entity is empty and subscribers reload all.
	OpReload Op = "reload"
)

// Event reports one committed change. Old is nil on create, New is nil on
// delete. Subscribers must treat both maps as read-only.
type Event struct {
	Entity string
	Op     Op
	Old    map[string]any
	New    map[string]any
	// Remote marks an event another node made (it arrived through the
	// database), so it is not sent on again.
	Remote bool
	// Actor made the change (from the write's context, see WithActor);
	// the zero Actor for remote events.
	Actor Actor
}

// Bus delivers change events to subscribers, in commit order. Sources other
// than this process's store (a Postgres LISTEN/NOTIFY listener in a cluster)
// publish onto the same bus.
type Bus struct {
	mu   sync.Mutex
	next int
	subs map[int]func(Event)
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{subs: map[int]func(Event){}} }

// Subscribe registers fn for every later event and returns a function that
// cancels the subscription. fn runs on the publisher's goroutine and must not
// block; hand work to a goroutine of your own.
func (b *Bus) Subscribe(fn func(Event)) (cancel func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.next
	b.next++
	b.subs[id] = fn
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs, id)
	}
}

// Publish delivers events to every subscriber, in order.
func (b *Bus) Publish(events ...Event) {
	b.mu.Lock()
	subs := make([]func(Event), 0, len(b.subs))
	for i := 0; i < b.next; i++ {
		if fn, ok := b.subs[i]; ok {
			subs = append(subs, fn)
		}
	}
	b.mu.Unlock()
	for _, ev := range events {
		for _, fn := range subs {
			fn(ev)
		}
	}
}
