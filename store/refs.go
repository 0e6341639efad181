package store

import (
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/store/schema"
)

// resolveForeignNames replaces foreign keys given by endpoint key
// ({"name": "crud"}) with the referenced id.
func (s *Store) resolveForeignNames(tx Tx, e *Entity, rec map[string]any) error {
	for _, f := range e.Foreigns() {
		m, ok := rec[f.Name].(map[string]any)
		if !ok || m["id"] != nil {
			continue
		}
		ref, _ := s.registry.Entity(f.Reference)
		for k, v := range m {
			name, _ := v.(string)
			if ref == nil || k != ref.EndpointKey {
				return SchemaViolation(schema.Errors{f.Name: schema.Errors{k: "unknown field"}})
			}
			row, err := tx.GetUnique(ref.Name, k, name)
			if err != nil {
				return wrapDB(err)
			}
			if row == nil {
				return ForeignKeysUnresolved(f.Name, k, name, ref.Name)
			}
			rec[f.Name] = map[string]any{"id": row.ID}
		}
	}
	return nil
}

// cacheKey renders the composite key of e's CacheKey fields.
func cacheKey(e *Entity, rec map[string]any) string {
	parts := make([]string, len(e.CacheKey))
	for i, k := range e.CacheKey {
		switch v := rec[k].(type) {
		case map[string]any:
			parts[i] = foreignID(v)
		case nil:
			parts[i] = ""
		default:
			parts[i] = fmt.Sprint(v)
		}
	}
	return strings.Join(parts, ":")
}

func cacheKeyValues(e *Entity, rec map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range e.CacheKey {
		out[k] = rec[k]
	}
	return out
}

// checkReferences is the one foreign-key and uniqueness check every stored
// record passes, on the write path (prepare) and the import path
// (importOne) alike: each foreign key names a stored entity, and no other
// entity holds the record's unique values or its cache key.
func (s *Store) checkReferences(tx Tx, e *Entity, rec map[string]any) error {
	for _, f := range e.Foreigns() {
		id := foreignID(rec[f.Name])
		if id == "" {
			continue
		}
		row, err := tx.Get(f.Reference, id)
		if err != nil {
			return wrapDB(err)
		}
		if row == nil {
			return ForeignKeyViolation(f.Name, map[string]any{"id": id}, f.Reference)
		}
	}
	return s.checkUnique(tx, e, rec)
}

// checkUnique refuses a record whose unique values or cache key another
// entity holds; an expired holder gives way.
func (s *Store) checkUnique(tx Tx, e *Entity, rec map[string]any) error {
	id, _ := rec["id"].(string)
	for _, name := range e.Uniques() {
		v, ok := rec[name].(string)
		if !ok {
			continue
		}
		row, err := tx.GetUnique(e.Name, name, v)
		if err != nil {
			return wrapDB(err)
		}
		if row != nil && row.ID != id && s.expiredRow(e, row) {
			// An expired entity is gone for every read; it gives way.
			if err := tx.Delete(e.Name, row.ID); err != nil {
				return wrapDB(err)
			}
			continue
		}
		if row != nil && row.ID != id {
			return UniqueViolation(map[string]any{name: v})
		}
	}
	if len(e.CacheKey) > 0 {
		row, err := tx.GetUnique(e.Name, "cache_key", cacheKey(e, rec))
		if err != nil {
			return wrapDB(err)
		}
		if row != nil && row.ID != id {
			return UniqueViolation(cacheKeyValues(e, rec))
		}
	}
	return nil
}
