package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse/gatehouse/store/schema"
)

type typedKey struct{}

// WithTypedInput marks writes made with ctx as carrying JSON-typed input: a
// string is not accepted for a number, boolean or array (Kong's JSON bodies).
// Without it input is coerced loosely, as form bodies and YAML need.
func WithTypedInput(ctx context.Context) context.Context {
	return context.WithValue(ctx, typedKey{}, true)
}

func typedInput(ctx context.Context) bool {
	v, _ := ctx.Value(typedKey{}).(bool)
	return v
}

// Insert validates and stores a new entity and returns it as stored.
func (s *Store) Insert(ctx context.Context, entity string, input map[string]any) (map[string]any, error) {
	return s.write(ctx, entity, "", nil, input, modeInsert)
}

// Parent names the entity a nested create is made under, as the Admin
// API's POST /consumers/{consumer}/key-auth does: the parent entity, the
// key the URL names it by (its id or its endpoint key) and the foreign key
// of the created entity that points at it.
type Parent struct {
	Entity, Key, Field string
}

// InsertUnder is Insert under a parent: the parent is looked up by id or
// endpoint key in the write's own transaction, and the input's foreign key
// Field set to it. No parent (or an expired one) is ErrNotFound. Looking
// the parent up in a read transaction of its own before Insert costs a
// second transaction and, with SQLite, a read through a connection whose
// page cache the previous write invalidated.
func (s *Store) InsertUnder(ctx context.Context, entity string, parent Parent, input map[string]any) (map[string]any, error) {
	return s.write(ctx, entity, "", &parent, input, modeInsert)
}

// Update applies a partial update (PATCH) to the entity named by key.
func (s *Store) Update(ctx context.Context, entity, key string, input map[string]any) (map[string]any, error) {
	return s.write(ctx, entity, key, nil, input, modeUpdate)
}

// Upsert creates or fully replaces (PUT) the entity named by key.
func (s *Store) Upsert(ctx context.Context, entity, key string, input map[string]any) (map[string]any, error) {
	return s.write(ctx, entity, key, nil, input, modeUpsert)
}

// FollowUp stores, in a write's transaction and after the entity's row,
// what an Entity's TakeInput took from the input, for the entity whose id
// is given; it returns the change events of what it wrote.
type FollowUp func(s *Store, tx Tx, id string) ([]Event, error)

type writeMode int

const (
	modeInsert writeMode = iota
	modeUpdate
	modeUpsert
)

func (s *Store) write(ctx context.Context, entity, key string, parent *Parent, input map[string]any, mode writeMode) (map[string]any, error) {
	e, err := s.entity(entity)
	if err != nil {
		return nil, err
	}
	var pe *Entity
	if parent != nil {
		if pe, err = s.entity(parent.Entity); err != nil {
			return nil, err
		}
	}
	if s.readOnly && parent != nil {
		// The refusal below validates the input as the parent scopes it.
		prec, err := s.Get(ctx, parent.Entity, parent.Key)
		if err != nil {
			return nil, err
		}
		input = schema.Clone(input).(map[string]any)
		input[parent.Field] = map[string]any{"id": prec["id"]}
	}
	if s.readOnly {
		// Kong validates the input before refusing the write.
		if mode == modeInsert {
			if err := s.Validate(ctx, entity, input); err != nil {
				if se, ok := AsError(err); ok && se.Code == CodeSchemaViolation {
					return nil, err
				}
			}
		}
		verb := map[writeMode]string{modeInsert: "create", modeUpdate: "update", modeUpsert: "create or update"}[mode]
		return nil, OperationUnsupported(fmt.Sprintf("cannot %s '%s' entities when not using a database", verb, e.Name))
	}
	if mode == modeUpsert && !IsUUID(key) && e.EndpointKey == "" && !e.UpsertByAnyKey {
		// Named by its id only (Kong's /certificates/{name} is the
		// exception: an SNI name, or a new certificate).
		return nil, InvalidPrimaryKey(schema.Errors{"id": "expected a valid UUID"})
	}
	var events []Event
	var out map[string]any
	err = s.backend.Update(ctx, func(tx Tx) error {
		events = events[:0]
		var old map[string]any
		if mode != modeInsert {
			old, err = s.lookup(tx, e, key)
			if err != nil {
				return err
			}
			if old == nil && mode == modeUpdate {
				return ErrNotFound
			}
		}
		in := schema.Clone(input).(map[string]any)
		if parent != nil {
			prec, err := s.lookup(tx, pe, parent.Key)
			if err != nil {
				return err
			}
			if prec == nil {
				return ErrNotFound
			}
			in[parent.Field] = map[string]any{"id": prec["id"]}
		}
		var followUp FollowUp
		if e.TakeInput != nil {
			if followUp, err = e.TakeInput(in); err != nil {
				return err
			}
		}
		if mode == modeUpsert {
			if IsUUID(key) {
				in["id"] = key
			} else if e.EndpointKey != "" {
				in[e.EndpointKey] = key
			}
		}
		var rec map[string]any
		rec, err = s.prepare(tx, e, old, in, mode, typedInput(ctx))
		if err != nil {
			return err
		}
		row, err := s.toRow(e, rec)
		if err != nil {
			return err
		}
		if old == nil {
			err = tx.Insert(row)
		} else {
			err = tx.Replace(row)
		}
		if err == ErrUniqueConflict {
			return UniqueViolation(map[string]any{"id": rec["id"]})
		}
		if err != nil {
			return wrapDB(err)
		}
		out, _ = s.present(e, schema.Clone(rec).(map[string]any))
		// Subscribers get their own copy: the caller may change out.
		published, _ := s.present(e, schema.Clone(rec).(map[string]any))
		ev := Event{Entity: e.Name, Op: OpCreate, New: published}
		if old != nil {
			ev = Event{Entity: e.Name, Op: OpUpdate, Old: old, New: published}
		}
		events = append(events, ev)
		if followUp != nil {
			evs, err := followUp(s, tx, rec["id"].(string))
			if err != nil {
				return err
			}
			events = append(events, evs...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.publish(ctx, events)
	return out, nil
}

// ValidateSchema checks an entity against its schema only, as Kong's
// `POST /schemas/{entity}/validate` does: coercion, defaults, field and
// entity checks, but no foreign-key or uniqueness lookups, so an entity that
// would collide with, or refer to, stored ones still validates.
func (s *Store) ValidateSchema(ctx context.Context, entity string, input map[string]any) error {
	e, err := s.entity(entity)
	if err != nil {
		return err
	}
	_, err = s.prepare(nil, e, nil, schema.Clone(input).(map[string]any), modeInsert, typedInput(ctx))
	return err
}

// Validate checks an entity as an insert would, without storing it.
func (s *Store) Validate(ctx context.Context, entity string, input map[string]any) error {
	e, err := s.entity(entity)
	if err != nil {
		return err
	}
	return s.backend.View(ctx, func(tx Tx) error {
		_, err := s.prepare(tx, e, nil, schema.Clone(input).(map[string]any), modeInsert, typedInput(ctx))
		return err
	})
}

func (s *Store) toRow(e *Entity, rec map[string]any) (*Row, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("store: encoding %s: %w", e.Name, err)
	}
	row := &Row{Entity: e.Name, ID: rec["id"].(string), Data: data, Uniques: map[string]string{}, Refs: map[string]RowRef{}}
	for _, name := range e.Uniques() {
		if v, ok := rec[name].(string); ok {
			row.Uniques[name] = v
		}
	}
	if len(e.CacheKey) > 0 {
		row.Uniques["cache_key"] = cacheKey(e, rec)
	}
	for _, f := range e.Foreigns() {
		if id := foreignID(rec[f.Name]); id != "" {
			row.Refs[f.Name] = RowRef{Entity: f.Reference, ID: id}
		}
	}
	if tags, ok := rec["tags"].([]any); ok {
		for _, t := range tags {
			if s, ok := t.(string); ok {
				row.Tags = append(row.Tags, s)
			}
		}
	}
	return row, nil
}
