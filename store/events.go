package store

import (
	"context"
	"sync"
)

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
	// RequestID is the audit request id of the Admin API call that made
	// the change (from the write's context, see WithRequestID); "" for
	// other changes.
	RequestID string
}

// Bus delivers change events to subscribers, in commit order. Sources other
// than this process's store (a Postgres LISTEN/NOTIFY listener in a cluster)
// publish onto the same bus.
type Bus struct {
	mu   sync.Mutex
	next int
	subs map[int]func(Event)
	msgs map[int]messageSub
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

// Messages carry notes between nodes sharing a database, on channels
// their users name (Kong's cluster_events: proxy-cache's purges). A node
// sends with Store.Broadcast; the others' listeners (a Postgres cluster)
// hand them to Bus.Deliver, which calls the channel's subscribers. A node
// does not receive its own messages: the sender acts locally itself.

// OnMessage registers fn for the messages other nodes send on channel and
// returns a function that cancels it. fn runs on the listener's goroutine
// and must not block.
func (b *Bus) OnMessage(channel string, fn func(data string)) (cancel func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.msgs == nil {
		b.msgs = map[int]messageSub{}
	}
	id := b.next
	b.next++
	b.msgs[id] = messageSub{channel: channel, fn: fn}
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.msgs, id)
	}
}

type messageSub struct {
	channel string
	fn      func(string)
}

// Deliver hands a message another node sent on channel to the channel's
// subscribers, in subscription order.
func (b *Bus) Deliver(channel, data string) {
	b.mu.Lock()
	var fns []func(string)
	for i := 0; i < b.next; i++ {
		if s, ok := b.msgs[i]; ok && s.channel == channel {
			fns = append(fns, s.fn)
		}
	}
	b.mu.Unlock()
	for _, fn := range fns {
		fn(data)
	}
}

// Broadcaster sends messages to the other nodes sharing the database.
type Broadcaster interface {
	Broadcast(ctx context.Context, channel, data string) error
}
