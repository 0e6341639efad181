package store

import (
	"context"
	"fmt"
)

// Delete removes the entity named by key, cascading to entities whose
// foreign keys say so. Deleting an entity that does not exist succeeds, as
// Kong's DELETE does; found reports whether it existed.
func (s *Store) Delete(ctx context.Context, entity, key string) (found bool, err error) {
	e, err := s.entity(entity)
	if err != nil {
		return false, err
	}
	if s.readOnly {
		return false, OperationUnsupported(fmt.Sprintf("cannot remove '%s' entities when not using a database", e.Name))
	}
	var events []Event
	err = s.backend.Update(ctx, func(tx Tx) error {
		rec, err := s.lookup(tx, e, key)
		if err != nil || rec == nil {
			return err
		}
		found = true
		if e.BeforeDelete != nil {
			if err := e.BeforeDelete(tx, rec); err != nil {
				return err
			}
		}
		events, err = s.deleteCascade(tx, e, rec)
		return err
	})
	if err != nil {
		return false, err
	}
	s.publish(ctx, events)
	return found, nil
}

func (s *Store) deleteCascade(tx Tx, e *Entity, rec map[string]any) ([]Event, error) {
	id := rec["id"].(string)
	refs, err := tx.Referrers(e.Name, id)
	if err != nil {
		return nil, wrapDB(err)
	}
	var events []Event
	for _, r := range refs {
		re, ok := s.registry.Entity(r.Entity)
		if !ok {
			continue
		}
		f := re.Schema.Field(r.Field)
		if f == nil || f.OnDelete != "cascade" {
			return nil, RestrictedDelete(r.Entity, e.Name)
		}
	}
	for _, r := range refs {
		re, _ := s.registry.Entity(r.Entity)
		row, err := tx.Get(r.Entity, r.ID)
		if err != nil {
			return nil, wrapDB(err)
		}
		if row == nil {
			continue // already removed through another path
		}
		child, err := decodeRow(row)
		if err != nil {
			return nil, err
		}
		evs, err := s.deleteCascade(tx, re, child)
		if err != nil {
			return nil, err
		}
		events = append(events, evs...)
	}
	if err := tx.Delete(e.Name, id); err != nil {
		return nil, wrapDB(err)
	}
	return append(events, Event{Entity: e.Name, Op: OpDelete, Old: rec}), nil
}
