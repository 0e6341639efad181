package store

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/store/schema"
	"github.com/google/uuid"
)

// ImportOptions tune Import.
type ImportOptions struct {
	// Replace deletes every stored entity first (DB-less reload, `db_import`
	// into a fresh store keeps this false).
	Replace bool
	// Raw stores the records as given after validation, keeping their ids,
	// timestamps and already-hashed credentials (a `db_export` file).
	Raw bool
}

// Import validates and stores many entities in one transaction: all land or
// none. Groups are processed in dependency order. Errors name the entity and
// its position.
func (s *Store) Import(ctx context.Context, groups map[string][]map[string]any, opts ImportOptions) error {
	for name := range groups {
		if _, ok := s.registry.Entity(name); !ok {
			return &Error{Code: CodeDeclarativeConfig, Message: fmt.Sprintf("declarative config is invalid: {%s=\"unknown entity\"}", name)}
		}
	}
	err := s.backend.Update(ctx, func(tx Tx) error {
		if opts.Replace {
			all := s.registry.All()
			for i := len(all) - 1; i >= 0; i-- {
				for {
					rows, err := tx.List(all[i].Name, RowQuery{Limit: MaxPageSize})
					if err != nil {
						return wrapDB(err)
					}
					for _, r := range rows {
						if err := tx.Delete(all[i].Name, r.ID); err != nil {
							return wrapDB(err)
						}
					}
					if len(rows) < MaxPageSize {
						break
					}
				}
			}
		}
		for _, e := range s.registry.All() {
			for i, in := range groups[e.Name] {
				rec, err := s.importOne(tx, e, in, opts.Raw)
				if err != nil {
					return fmt.Errorf("%s[%d]: %w", e.Name, i+1, err)
				}
				row, err := s.toRow(e, rec)
				if err != nil {
					return err
				}
				if err := tx.Insert(row); err != nil {
					if err == ErrUniqueConflict {
						return fmt.Errorf("%s[%d]: %w", e.Name, i+1, UniqueViolation(map[string]any{"id": rec["id"]}))
					}
					return wrapDB(err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.publish(ctx, []Event{{Op: OpReload}})
	return nil
}

func (s *Store) importOne(tx Tx, e *Entity, in map[string]any, raw bool) (map[string]any, error) {
	in = schema.Clone(in).(map[string]any)
	if !raw {
		return s.prepare(tx, e, nil, in, modeInsert, false)
	}
	var ttl int64
	if e.TTL {
		var err error
		if ttl, err = takeTTL(in); err != nil {
			return nil, err
		}
	}
	// A raw record keeps its stored form: validate without re-deriving
	// hashed values, but apply shorthands and generate what is missing.
	if e.Shorthand != nil {
		if errs := e.Shorthand(in); len(errs) > 0 {
			return nil, SchemaViolation(errs)
		}
	}
	sch, ps, serrs := s.schemaFor(e, in)
	if serrs != nil {
		return nil, SchemaViolation(serrs)
	}
	rec, errs := schema.Coerce(sch, in)
	if !errs.Empty() {
		return nil, SchemaViolation(errs)
	}
	schema.FillDefaults(sch, rec)
	if rec["id"] == nil {
		rec["id"] = uuid.NewString()
	}
	now := s.now().Unix()
	for _, ts := range []string{"created_at", "updated_at"} {
		if e.HasField(ts) && rec[ts] == nil {
			rec[ts] = timestampFor(sch.Field(ts), now)
		}
	}
	schema.DedupeSets(sch, rec)
	if ps != nil && ps.Config != nil {
		fillAutoConfig(ps.Config, rec["config"])
	}
	if e.Generate != nil {
		e.Generate(rec)
	}
	errs = schema.Validate(sch, rec)
	s.checkPluginRecord(ps, rec, errs, false)
	if !errs.Empty() {
		return nil, SchemaViolation(errs)
	}
	if err := checkPluginScope(ps, rec); err != nil {
		return nil, err
	}
	if err := s.checkReferences(tx, e, rec); err != nil {
		return nil, err
	}
	if e.TTL {
		setExpiry(rec, ttl, s.now())
	}
	return rec, nil
}
