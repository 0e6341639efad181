package store

import "context"

// Actor is who asks for a read or a write: the Admin API's identified caller
// (an RBAC user, say), carried through a request's context into the store's
// write paths. The zero Actor is the anonymous one.
type Actor struct {
	// ID identifies the actor (an RBAC user's id); "" for the anonymous actor.
	ID string
	// Name is the actor's display name, used in messages and logs.
	Name string
}

// Anonymous is the actor of a call nobody identified: every call when no
// identifier is configured.
var Anonymous = Actor{Name: "anonymous"}

// IsAnonymous reports whether a is the anonymous actor.
func (a Actor) IsAnonymous() bool { return a.ID == "" }

// actorKey holds the Actor in a context.
type actorKey struct{}

// WithActor returns ctx carrying the actor, for the store calls made on its
// behalf.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor ctx carries, or Anonymous when it carries none.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return Anonymous
}

// publish stamps the actor of ctx on events and delivers them.
func (s *Store) publish(ctx context.Context, events []Event) {
	actor, reqID := ActorFrom(ctx), RequestIDFrom(ctx)
	for i := range events {
		events[i].Actor = actor
		events[i].RequestID = reqID
	}
	s.bus.Publish(events...)
}
