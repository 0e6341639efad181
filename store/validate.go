package store

import (
	"fmt"

	"github.com/gatehouse/gatehouse/store/schema"
	"github.com/google/uuid"
)

// prepare turns input into the record to store, or returns Kong's error.
// A nil tx checks the schema only: no foreign-key or uniqueness lookups.
func (s *Store) prepare(tx Tx, e *Entity, old, in map[string]any, mode writeMode, typed bool) (map[string]any, error) {
	errs := schema.Errors{}
	if e.Shorthand != nil {
		for k, v := range e.Shorthand(in) {
			errs[k] = v
		}
	}
	var ttl int64
	if e.TTL {
		var err error
		if ttl, err = takeTTL(in); err != nil {
			return nil, err
		}
		if old != nil {
			delete(old, "ttl")
		}
	}
	probe := in
	if old != nil && mode == modeUpdate {
		probe = schema.Merge(e.Schema, old, map[string]any{})
		for k, v := range in {
			probe[k] = v
		}
		// An update keeps the schema of what exists: a changed plugin name
		// is reported as immutable, not validated as another plugin.
		if n, ok := in["name"].(string); ok && e.Name == "plugins" {
			if _, _, nerrs := s.schemaFor(e, map[string]any{"name": n}); nerrs != nil {
				return nil, SchemaViolation(nerrs)
			}
		}
		probe["name"] = old["name"]
	}
	sch, ps, serrs := s.schemaFor(e, probe)
	for k, v := range serrs {
		errs[k] = v
	}
	if !errs.Empty() {
		return nil, SchemaViolation(errs)
	}
	coerce := schema.Coerce
	if typed {
		coerce = schema.CoerceTyped
	}
	// Conversion errors are reported together with every other violation,
	// as Kong reports all of them at once.
	coerced, cerrs := coerce(sch, in)
	if old != nil {
		old = normalizeStored(sch, old)
	}
	if old != nil && mode == modeUpdate {
		for _, f := range sch.Fields {
			if v, ok := coerced[f.Name]; ok && f.Immutable && fmt.Sprint(v) != fmt.Sprint(old[f.Name]) {
				cerrs[f.Name] = "immutable field cannot be updated"
			}
		}
	}
	if tx != nil {
		if err := s.resolveForeignNames(tx, e, coerced); err != nil {
			return nil, err
		}
	}
	now := s.now().Unix()
	var rec map[string]any
	switch {
	case mode == modeUpdate:
		rec = schema.Merge(sch, old, coerced)
	default:
		rec = coerced
		schema.FillDefaults(sch, rec)
		if old != nil {
			rec["id"] = old["id"]
			if e.HasField("created_at") {
				rec["created_at"] = old["created_at"]
			}
		}
	}
	if rec["id"] == nil {
		rec["id"] = uuid.NewString()
	}
	if e.HasField("created_at") && rec["created_at"] == nil {
		rec["created_at"] = timestampFor(sch.Field("created_at"), now)
	}
	if e.HasField("updated_at") {
		rec["updated_at"] = timestampFor(sch.Field("updated_at"), now)
	}
	schema.DedupeSets(sch, rec)
	if ps != nil && ps.Config != nil && mode != modeUpdate {
		fillAutoConfig(ps.Config, rec["config"])
	}
	if e.Generate != nil {
		e.Generate(rec)
	}
	if e.BeforeWrite != nil {
		// Generated values (keys, secrets) must exist before validation
		// checks for required fields.
		if err := e.BeforeWrite(old, rec); err != nil {
			return nil, err
		}
	}
	verrs := schema.Validate(sch, rec)
	for k, v := range cerrs {
		verrs[k] = v
	}
	if e.Name == "filter_chains" {
		s.checkFilterChain(rec, verrs)
	}
	s.checkPluginRecord(ps, rec, verrs, mode == modeUpdate)
	if !verrs.Empty() {
		return nil, SchemaViolation(verrs)
	}
	if old != nil {
		// The entity keeps its primary key: Kong validates an id given in
		// the body but writes the row the URL named (its UPDATE leaves key
		// columns out), so a PATCH cannot move an entity to another id.
		rec["id"] = old["id"]
	}
	if err := checkPluginScope(ps, rec); err != nil {
		return nil, err
	}
	if tx == nil {
		return rec, nil
	}
	if err := s.checkReferences(tx, e, rec); err != nil {
		return nil, err
	}
	if e.TTL {
		// Kong sets the expiry from this write's ttl option alone: a write
		// without one leaves the entity without expiry.
		setExpiry(rec, ttl, s.now())
	}
	return rec, nil
}

// checkPluginScope enforces a plugin's no_consumer, no_route and
// no_service restrictions.
func checkPluginScope(ps *PluginSchema, rec map[string]any) error {
	if ps == nil {
		return nil
	}
	errs := schema.Errors{}
	if ps.NoConsumer && rec["consumer"] != nil {
		errs["consumer"] = "value must be null"
	}
	if ps.NoRoute && rec["route"] != nil {
		errs["route"] = "value must be null"
	}
	if ps.NoService && rec["service"] != nil {
		errs["service"] = "value must be null"
	}
	if !errs.Empty() {
		return SchemaViolation(errs)
	}
	return nil
}

// normalizeStored re-types a record read back from storage, where JSON
// cannot tell 1.0 from 1, so number fields hold float64 again.
func normalizeStored(sch *schema.Schema, rec map[string]any) map[string]any {
	out, _ := schema.Coerce(sch, rec)
	for k, v := range rec {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return out
}

func timestampFor(f *schema.Field, now int64) any {
	if f != nil && f.Type == schema.Number {
		return float64(now)
	}
	return now
}

// fillAutoConfig generates the auto string fields a plugin configuration
// leaves null (Kong's auto = true): 32 random hex
// characters, as Kong's DAO fills them on insert and upsert.
func fillAutoConfig(sch *schema.Schema, cfg any) {
	m, ok := cfg.(map[string]any)
	if !ok {
		return
	}
	for _, f := range sch.Fields {
		if f.Auto && f.Type == schema.String && !f.UUID && m[f.Name] == nil {
			m[f.Name] = randomToken()
		}
	}
}
