package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/gatehouse/gatehouse/store/schema"
)

// Get returns the entity whose id, or endpoint key value, is key.
func (s *Store) Get(ctx context.Context, entity, key string) (map[string]any, error) {
	e, err := s.entity(entity)
	if err != nil {
		return nil, err
	}
	var rec map[string]any
	err = s.backend.View(ctx, func(tx Tx) error {
		rec, err = s.lookup(tx, e, key)
		return err
	})
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, ErrNotFound
	}
	return rec, nil
}

// lookup finds by id or endpoint key; nil when absent.
func (s *Store) lookup(tx Tx, e *Entity, key string) (map[string]any, error) {
	var row *Row
	var err error
	if schema.CheckText(key) != "" {
		return nil, nil // no stored key holds NUL or invalid UTF-8; Postgres cannot even compare it
	}
	if IsUUID(key) {
		row, err = tx.Get(e.Name, key)
	} else if e.EndpointKey != "" {
		row, err = tx.GetUnique(e.Name, e.EndpointKey, key)
	}
	if err != nil || row == nil {
		return nil, wrapDB(err)
	}
	return s.presentRow(e, row)
}

func decodeRow(row *Row) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(row.Data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("store: decoding %s %s: %w", row.Entity, row.ID, err)
	}
	normalizeNumbers(m)
	return m, nil
}

// normalizeNumbers turns json.Number into int64 when whole, float64 otherwise.
func normalizeNumbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, e := range t {
			t[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = normalizeNumbers(e)
		}
	}
	return v
}

func wrapDB(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := AsError(err); ok {
		return err
	}
	return DatabaseError(err)
}

// FindUnique returns the entity whose unique field has the value.
func (s *Store) FindUnique(ctx context.Context, entity, field, value string) (map[string]any, error) {
	e, err := s.entity(entity)
	if err != nil {
		return nil, err
	}
	if schema.CheckText(value) != "" {
		return nil, ErrNotFound
	}
	var rec map[string]any
	err = s.backend.View(ctx, func(tx Tx) error {
		row, err := tx.GetUnique(e.Name, field, value)
		if err != nil || row == nil {
			return wrapDB(err)
		}
		rec, err = s.presentRow(e, row)
		return err
	})
	if err == nil && rec == nil {
		err = ErrNotFound
	}
	return rec, err
}

// ListQuery selects a page of entities.
type ListQuery struct {
	// Size is the page size; 0 means Kong's default of 100.
	Size int
	// Offset continues a previous page.
	Offset string
	// Tags filters by tags: all of them, or any with TagsAny.
	Tags    []string
	TagsAny bool
	// ForeignField and ForeignKey keep entities whose foreign key
	// ForeignField references the entity ForeignKey (id or endpoint key).
	ForeignField, ForeignKey string
}

// Page is one page of a listing. Offset is "" on the last page.
type Page struct {
	Data   []map[string]any
	Offset string
}

// Page sizes, as Kong bounds them.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// EncodeOffset makes the opaque offset for a page that ends at id.
func EncodeOffset(parts ...string) string {
	b, _ := json.Marshal(parts)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeOffset reverses EncodeOffset.
func DecodeOffset(offset string) ([]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(offset)
	var parts []string
	if err == nil {
		err = json.Unmarshal(b, &parts)
	}
	if err != nil || len(parts) == 0 {
		return nil, InvalidOffset(offset)
	}
	for _, p := range parts {
		if schema.CheckText(p) != "" {
			return nil, InvalidOffset(offset)
		}
	}
	return parts, nil
}

// List returns a page of entities ordered by id.
func (s *Store) List(ctx context.Context, entity string, q ListQuery) (*Page, error) {
	e, err := s.entity(entity)
	if err != nil {
		return nil, err
	}
	size := q.Size
	if size == 0 {
		size = DefaultPageSize
	}
	if size < 1 || size > MaxPageSize {
		return nil, InvalidSize(fmt.Sprintf("size must be an integer between 1 and %d", MaxPageSize))
	}
	rq := RowQuery{Limit: size + 1, Tags: q.Tags, TagsAny: q.TagsAny}
	if q.Offset != "" {
		parts, err := DecodeOffset(q.Offset)
		if err != nil {
			return nil, err
		}
		rq.AfterID = parts[0]
	}
	page := &Page{Data: []map[string]any{}}
	for _, t := range q.Tags {
		if schema.CheckText(t) != "" && !q.TagsAny {
			return page, nil // no entity carries such a tag
		}
	}
	rq.Tags = textOnly(q.Tags)
	if len(rq.Tags) == 0 && len(q.Tags) > 0 {
		return page, nil
	}
	err = s.backend.View(ctx, func(tx Tx) error {
		if q.ForeignField != "" {
			f := e.Schema.Field(q.ForeignField)
			if f == nil || f.Type != schema.Foreign {
				return fmt.Errorf("store: %s has no foreign key %q", e.Name, q.ForeignField)
			}
			ref, _ := s.registry.Entity(f.Reference)
			parent, err := s.lookup(tx, ref, q.ForeignKey)
			if err != nil {
				return err
			}
			if parent == nil {
				return ErrNotFound
			}
			rq.RefField, rq.RefID = q.ForeignField, parent["id"].(string)
		}
		rows, err := tx.List(e.Name, rq)
		if err != nil {
			return wrapDB(err)
		}
		for i, row := range rows {
			if i == size {
				page.Offset = EncodeOffset(rows[i-1].ID)
				break
			}
			rec, err := s.presentRow(e, row)
			if err != nil {
				return err
			}
			if rec != nil {
				page.Data = append(page.Data, rec)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// textOnly keeps the strings a backend can compare: valid UTF-8 without NUL.
func textOnly(list []string) []string {
	var out []string
	for _, s := range list {
		if schema.CheckText(s) == "" {
			out = append(out, s)
		}
	}
	return out
}

// Count returns the number of stored entities of a type.
func (s *Store) Count(ctx context.Context, entity string) (int, error) {
	var n int
	err := s.backend.View(ctx, func(tx Tx) error {
		var err error
		n, err = tx.Count(entity)
		return err
	})
	return n, wrapDB(err)
}

// Export returns every entity, grouped by entity name, each group ordered by
// id, less the Developer Portal's consumers (applications', developers') and what
// references them (HidePortalConsumers).
func (s *Store) Export(ctx context.Context) (map[string][]map[string]any, error) {
	out := map[string][]map[string]any{}
	err := s.backend.View(ctx, func(tx Tx) error {
		for _, e := range s.registry.All() {
			after := ""
			for {
				rows, err := tx.List(e.Name, RowQuery{AfterID: after, Limit: MaxPageSize})
				if err != nil {
					return wrapDB(err)
				}
				for _, row := range rows {
					rec, err := s.presentRow(e, row)
					if err != nil {
						return err
					}
					if rec != nil {
						if e.TTL && rec["ttl"] == nil {
							delete(rec, "ttl") // never expires: nothing to export
						}
						out[e.Name] = append(out[e.Name], rec)
					}
				}
				if len(rows) < MaxPageSize {
					break
				}
				after = rows[len(rows)-1].ID
			}
		}
		return nil
	})
	if err == nil {
		s.HidePortalConsumers(out) // PORTALSPEC §7.6, store/applications.go
	}
	return out, err
}
