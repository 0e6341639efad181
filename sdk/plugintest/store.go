package plugintest

import (
	"context"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/store"
)

// WithStore returns k with a node's store behind its credentials facet, as
// the node gives it: credentials are looked up in st, and plugins that
// need the database itself (oauth2's tokens, rate-limiting's cluster
// counters) find it through the facet's Store method.
func WithStore(k hostabi.Kong, st *store.Store) hostabi.Kong {
	return storeKong{Kong: k, creds: storeCreds{st: st}}
}

type storeKong struct {
	hostabi.Kong
	creds storeCreds
}

func (k storeKong) Credentials() hostabi.Credentials { return k.creds }

// storeCreds serves hostabi.Credentials from a store.
type storeCreds struct{ st *store.Store }

// Store returns the node's store.
func (c storeCreds) Store() *store.Store { return c.st }

func (c storeCreds) Credential(ctx context.Context, entity, field, value string) (hostabi.Entity, error) {
	rec, err := c.st.FindUnique(ctx, entity, field, value)
	if store.IsNotFound(err) {
		return nil, nil
	}
	return rec, err
}

func (c storeCreds) ConsumerCredentials(ctx context.Context, entity, consumerID string) ([]hostabi.Entity, error) {
	var out []hostabi.Entity
	q := store.ListQuery{Size: store.MaxPageSize, ForeignField: "consumer", ForeignKey: consumerID}
	for {
		page, err := c.st.List(ctx, entity, q)
		if err != nil {
			return nil, err
		}
		for _, e := range page.Data {
			out = append(out, e)
		}
		if page.Offset == "" {
			return out, nil
		}
		q.Offset = page.Offset
	}
}

// OnStore runs Plugin's phases with WithStore(k, Store): a plugin under
// test that needs a node's database. Phases Plugin does not implement do
// nothing.
type OnStore struct {
	Plugin any
	Store  *store.Store
}

// Rewrite implements hostabi.Rewriter.
func (o OnStore) Rewrite(k hostabi.Kong) error {
	if p, ok := o.Plugin.(hostabi.Rewriter); ok {
		return p.Rewrite(WithStore(k, o.Store))
	}
	return nil
}

// Access implements hostabi.Accessor.
func (o OnStore) Access(k hostabi.Kong) error {
	if p, ok := o.Plugin.(hostabi.Accessor); ok {
		return p.Access(WithStore(k, o.Store))
	}
	return nil
}

// HeaderFilter implements hostabi.HeaderFilterer.
func (o OnStore) HeaderFilter(k hostabi.Kong) error {
	if p, ok := o.Plugin.(hostabi.HeaderFilterer); ok {
		return p.HeaderFilter(WithStore(k, o.Store))
	}
	return nil
}

// Log implements hostabi.LogPhaser.
func (o OnStore) Log(k hostabi.Kong) error {
	if p, ok := o.Plugin.(hostabi.LogPhaser); ok {
		return p.Log(WithStore(k, o.Store))
	}
	return nil
}
