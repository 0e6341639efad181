// Package entitydb serves plugins' kong.db: hostabi.DB over the node's
// store, so a plugin reads and writes entities with the Admin API's
// validation, defaults, cascades and change events, and gets Kong's error
// objects back.
package entitydb

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/store"
)

// Actor is who plugin writes are made as, in change events and audit.
var Actor = store.Actor{Name: "plugin"}

// DB is hostabi.DB over a store. Safe for concurrent use.
type DB struct {
	st *store.Store
}

// New returns the DB of st.
func New(st *store.Store) *DB { return &DB{st: st} }

// Select implements hostabi.DB.
func (d *DB) Select(ctx context.Context, entity, key string) (hostabi.Entity, error) {
	rec, err := d.st.Get(ctx, entity, key)
	if store.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, dbError(err)
	}
	return rec, nil
}

// SelectBy implements hostabi.DB.
func (d *DB) SelectBy(ctx context.Context, entity, field, value string) (hostabi.Entity, error) {
	rec, err := d.st.FindUnique(ctx, entity, field, value)
	if store.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, dbError(err)
	}
	return rec, nil
}

// Page implements hostabi.DB.
func (d *DB) Page(ctx context.Context, entity string, q hostabi.PageQuery) ([]hostabi.Entity, string, error) {
	if q.Size < 0 || q.Size > store.MaxPageSize {
		return nil, "", &hostabi.DBError{Code: int(store.CodeInvalidSize), Name: store.CodeInvalidSize.Name(),
			Message: fmt.Sprintf("size must be an integer between 1 and %d", store.MaxPageSize)}
	}
	page, err := d.st.List(ctx, entity, store.ListQuery{Size: q.Size, Offset: q.Offset, Tags: q.Tags, TagsAny: q.TagsAny,
		ForeignField: q.ForeignField, ForeignKey: q.ForeignKey})
	if err != nil {
		return nil, "", dbError(err)
	}
	out := make([]hostabi.Entity, len(page.Data))
	for i, rec := range page.Data {
		out[i] = rec
	}
	return out, page.Offset, nil
}

// withTTL adds the write options to the fields.
func withTTL(fields hostabi.Entity, opts hostabi.WriteOptions) map[string]any {
	in := make(map[string]any, len(fields)+1)
	for k, v := range fields {
		in[k] = v
	}
	if opts.TTL > 0 {
		in["ttl"] = opts.TTL
	}
	return in
}

func actorCtx(ctx context.Context) context.Context {
	if store.ActorFrom(ctx) == store.Anonymous {
		return store.WithActor(ctx, Actor)
	}
	return ctx
}

// Insert implements hostabi.DB.
func (d *DB) Insert(ctx context.Context, entity string, fields hostabi.Entity, opts hostabi.WriteOptions) (hostabi.Entity, error) {
	rec, err := d.st.Insert(actorCtx(ctx), entity, withTTL(fields, opts))
	if err != nil {
		return nil, dbError(err)
	}
	return rec, nil
}

// Update implements hostabi.DB.
func (d *DB) Update(ctx context.Context, entity, key string, fields hostabi.Entity, opts hostabi.WriteOptions) (hostabi.Entity, error) {
	rec, err := d.st.Update(actorCtx(ctx), entity, key, withTTL(fields, opts))
	if err != nil {
		return nil, dbError(err)
	}
	return rec, nil
}

// Upsert implements hostabi.DB.
func (d *DB) Upsert(ctx context.Context, entity, key string, fields hostabi.Entity, opts hostabi.WriteOptions) (hostabi.Entity, error) {
	rec, err := d.st.Upsert(actorCtx(ctx), entity, key, withTTL(fields, opts))
	if err != nil {
		return nil, dbError(err)
	}
	return rec, nil
}

// Delete implements hostabi.DB.
func (d *DB) Delete(ctx context.Context, entity, key string) error {
	if _, err := d.st.Delete(actorCtx(ctx), entity, key); err != nil && !store.IsNotFound(err) {
		return dbError(err)
	}
	return nil
}

// dbError turns a store error into Kong's error object; others become a
// database error.
func dbError(err error) error {
	var de *hostabi.DBError
	if errors.As(err, &de) {
		return de
	}
	if e, ok := store.AsError(err); ok {
		out := &hostabi.DBError{Code: int(e.Code), Name: e.Code.Name(), Message: e.Message}
		if len(e.Fields) > 0 {
			out.Fields = map[string]any(e.Fields)
		}
		return out
	}
	return &hostabi.DBError{Code: int(store.CodeDatabaseError), Name: store.CodeDatabaseError.Name(), Message: err.Error()}
}

var _ hostabi.DB = (*DB)(nil)
