// Package store holds Gatehouse's entities: their declarations (Kong's
// services, routes, consumers, plugins, …), the rules every write follows
// (coercion, defaults, validation, uniqueness, foreign keys, cascades) and the
// change events each committed write publishes. Storage itself is a Backend:
// store/sqlite, store/postgres, or memory for DB-less mode.
package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/store/schema"
	"github.com/google/uuid"
)

// PluginSchema is what a plugin registers about its configuration.
type PluginSchema struct {
	// Name is the plugin's name ("key-auth").
	Name string
	// Config declares the plugin's `config` record.
	Config *schema.Schema
	// Protocols is the default of the plugin entity's `protocols` field; nil
	// means Kong's default.
	Protocols []string
	// OnlyProtocols, when set, are the only protocols the plugin accepts
	// (Kong's typedefs.protocols_http gives HTTPProtocols); nil accepts
	// every protocol (typedefs.protocols).
	OnlyProtocols []string
	// NoConsumer, NoRoute and NoService forbid those scopes.
	NoConsumer, NoRoute, NoService bool
}

// HTTPProtocols are Kong's typedefs.protocols_http: the default and the only
// accepted protocols of plugins that run on HTTP requests only.
var HTTPProtocols = []string{"grpc", "grpcs", "http", "https"}

// PluginCatalog tells the store which plugins exist, so plugin entities can
// be validated against their configuration schema.
type PluginCatalog interface {
	// PluginSchema returns the named plugin's schema, if the plugin is enabled.
	PluginSchema(name string) (*PluginSchema, bool)
}

// Options configure a Store.
type Options struct {
	// Plugins validates plugin entities; nil accepts no plugin.
	Plugins PluginCatalog
	// Bus receives change events; nil creates one.
	Bus *Bus
	// ReadOnly, when true, refuses every write (DB-less mode).
	ReadOnly bool
	// Now returns the current time; nil uses time.Now.
	Now func() time.Time
	// Entities are declared by plugins (credentials, ACL groups); New adds
	// them after Kong's core entities, each after those it references. When
	// Plugins also implements EntityCatalog, its entities are added too.
	Entities []*Entity
}

// EntityCatalog is implemented by plugin catalogs that also declare the
// entities of their enabled plugins (Kong's daos.lua).
type EntityCatalog interface {
	// Entities returns the declarations, in any order.
	Entities() []*Entity
}

// Store validates and persists entities on a Backend.
type Store struct {
	backend  Backend
	registry *Registry
	plugins  PluginCatalog
	bus      *Bus
	readOnly bool
	now      func() time.Time
}

// New returns a store over backend holding Kong's entities and the
// plugins' ones opts declares. Conflicting declarations (a name declared
// twice, a reference to an unknown entity) are programming errors: New
// panics; NewChecked reports them.
func New(backend Backend, opts Options) *Store {
	s, err := NewChecked(backend, opts)
	if err != nil {
		panic(err)
	}
	return s
}

// NewChecked is New returning conflicting entity declarations as an error.
func NewChecked(backend Backend, opts Options) (*Store, error) {
	extra := append([]*Entity(nil), opts.Entities...)
	if ec, ok := opts.Plugins.(EntityCatalog); ok {
		extra = append(extra, ec.Entities()...)
	}
	reg, err := NewRegistry(MergeEntities(KongEntities(), extra)...)
	if err != nil {
		return nil, err
	}
	if opts.Bus == nil {
		opts.Bus = NewBus()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{backend: backend, registry: reg, plugins: opts.Plugins, bus: opts.Bus, readOnly: opts.ReadOnly, now: opts.Now}, nil
}

// Registry returns the entity declarations.
func (s *Store) Registry() *Registry { return s.registry }

// Bus returns the bus change events are published on.
func (s *Store) Bus() *Bus { return s.bus }

// Backend returns the storage beneath the store.
func (s *Store) Backend() Backend { return s.backend }

// ReadOnly reports whether writes are refused (DB-less mode).
func (s *Store) ReadOnly() bool { return s.readOnly }

// SetPlugins sets the catalog plugin entities are validated against.
func (s *Store) SetPlugins(p PluginCatalog) { s.plugins = p }

func (s *Store) entity(name string) (*Entity, error) {
	e, ok := s.registry.Entity(name)
	if !ok {
		return nil, fmt.Errorf("store: unknown entity %q", name)
	}
	return e, nil
}

// IsUUID reports whether s is a canonical UUID, the test Kong applies to
// decide whether a URL segment is an id or an endpoint key.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

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
	return s.write(ctx, entity, "", input, modeInsert)
}

// Update applies a partial update (PATCH) to the entity named by key.
func (s *Store) Update(ctx context.Context, entity, key string, input map[string]any) (map[string]any, error) {
	return s.write(ctx, entity, key, input, modeUpdate)
}

// Upsert creates or fully replaces (PUT) the entity named by key.
func (s *Store) Upsert(ctx context.Context, entity, key string, input map[string]any) (map[string]any, error) {
	return s.write(ctx, entity, key, input, modeUpsert)
}

type writeMode int

const (
	modeInsert writeMode = iota
	modeUpdate
	modeUpsert
)

func (s *Store) write(ctx context.Context, entity, key string, input map[string]any, mode writeMode) (map[string]any, error) {
	e, err := s.entity(entity)
	if err != nil {
		return nil, err
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
	if mode == modeUpsert && !IsUUID(key) && e.EndpointKey == "" && e.Name != "certificates" {
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
		snis, hasSNIs, err := takeSNIs(e, in)
		if err != nil {
			return err
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
		if hasSNIs {
			evs, err := s.setCertificateSNIs(tx, rec["id"].(string), snis)
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

// takeSNIs removes the certificates' `snis` shorthand from the input: a list
// of SNI names the certificate serves.
func takeSNIs(e *Entity, in map[string]any) ([]string, bool, error) {
	if e.Name != "certificates" {
		return nil, false, nil
	}
	raw, ok := in["snis"]
	if !ok {
		return nil, false, nil
	}
	delete(in, "snis")
	var list []any
	switch t := raw.(type) {
	case nil:
	case []any:
		list = t
	case string:
		list = []any{t}
	default:
		return nil, false, SchemaViolation(schema.Errors{"snis": "expected an array"})
	}
	seen := map[string]bool{}
	names := make([]string, 0, len(list))
	for _, v := range list {
		n, ok := v.(string)
		if !ok {
			return nil, false, SchemaViolation(schema.Errors{"snis": "expected an array of strings"})
		}
		if seen[n] {
			return nil, false, SchemaViolation(schema.Errors{"snis": n + " is duplicated"})
		}
		seen[n] = true
		names = append(names, n)
	}
	return names, true, nil
}

// setCertificateSNIs makes the certificate's SNIs exactly names.
func (s *Store) setCertificateSNIs(tx Tx, certID string, names []string) ([]Event, error) {
	sniEntity, _ := s.registry.Entity("snis")
	rows, err := tx.List("snis", RowQuery{RefField: "certificate", RefID: certID, Limit: MaxPageSize})
	if err != nil {
		return nil, wrapDB(err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var events []Event
	for _, row := range rows {
		rec, err := decodeRow(row)
		if err != nil {
			return nil, err
		}
		name, _ := rec["name"].(string)
		if want[name] {
			delete(want, name)
			continue
		}
		if err := tx.Delete("snis", row.ID); err != nil {
			return nil, wrapDB(err)
		}
		events = append(events, Event{Entity: "snis", Op: OpDelete, Old: rec})
	}
	for _, n := range names {
		if !want[n] {
			continue
		}
		if row, err := tx.GetUnique("snis", "name", n); err != nil {
			return nil, wrapDB(err)
		} else if row != nil {
			other, _ := decodeRow(row)
			return nil, SchemaViolation(schema.Errors{"snis": fmt.Sprintf("%s already associated with existing certificate '%s'", n, foreignID(other["certificate"]))})
		}
		rec, err := s.prepare(tx, sniEntity, nil, map[string]any{"name": n, "certificate": map[string]any{"id": certID}}, modeInsert, false)
		if err != nil {
			return nil, err
		}
		row, err := s.toRow(sniEntity, rec)
		if err != nil {
			return nil, err
		}
		if err := tx.Insert(row); err != nil {
			return nil, wrapDB(err)
		}
		events = append(events, Event{Entity: "snis", Op: OpCreate, New: rec})
	}
	return events, nil
}

// CertificateSNIs returns the sorted SNI names of a certificate, the `snis`
// Kong shows on every certificate it returns.
func (s *Store) CertificateSNIs(ctx context.Context, certID string) ([]string, error) {
	names := []string{}
	err := s.backend.View(ctx, func(tx Tx) error {
		rows, err := tx.List("snis", RowQuery{RefField: "certificate", RefID: certID, Limit: MaxPageSize})
		if err != nil {
			return wrapDB(err)
		}
		for _, row := range rows {
			rec, err := decodeRow(row)
			if err != nil {
				return err
			}
			if n, ok := rec["name"].(string); ok {
				names = append(names, n)
			}
		}
		return nil
	})
	sort.Strings(names)
	return names, err
}

// schemaFor returns the schema a record of e is validated against: for
// plugins, the plugin entity with the plugin's own config record.
func (s *Store) schemaFor(e *Entity, rec map[string]any) (*schema.Schema, *PluginSchema, schema.Errors) {
	if e.Name != "plugins" {
		return e.Schema, nil, nil
	}
	name, isString := rec["name"].(string)
	if v, given := rec["name"]; given && v != nil && !isString {
		return e.Schema, nil, schema.Errors{"name": "expected a string"}
	}
	if name == "" {
		return e.Schema, nil, schema.Errors{"name": "required field missing"}
	}
	var ps *PluginSchema
	if s.plugins != nil {
		ps, _ = s.plugins.PluginSchema(name)
	}
	if ps == nil {
		return e.Schema, nil, schema.Errors{"name": fmt.Sprintf("plugin '%s' not enabled; add it to the 'plugins' configuration property", name)}
	}
	fields := make([]*schema.Field, len(e.Schema.Fields))
	for i, f := range e.Schema.Fields {
		switch f.Name {
		case "config":
			cfg := *f
			cfg.Required = true
			if ps.Config != nil {
				requireConfigRecords(ps)
				cfg.Fields = ps.Config.Fields
				if len(ps.Config.Checks) > 0 {
					checks := ps.Config.Checks
					cfg.Check = func(v any) string {
						m, _ := v.(map[string]any)
						for _, c := range checks {
							if msgs := c(m); len(msgs) > 0 {
								return strings.Join(msgs, "; ")
							}
						}
						return ""
					}
				}
			}
			f = &cfg
		case "protocols":
			if ps.Protocols != nil || ps.OnlyProtocols != nil {
				p := *f
				if ps.Protocols != nil {
					p.Default = schema.Clone(ps.Protocols)
				}
				if ps.OnlyProtocols != nil {
					elems := *f.Elements
					elems.OneOf = schema.Clone(ps.OnlyProtocols).([]any)
					p.Elements = &elems
				}
				f = &p
			}
		}
		fields[i] = f
	}
	return &schema.Schema{Fields: fields, Checks: e.Schema.Checks}, ps, nil
}

// configsPrepared holds the plugin schemas whose config records were made
// required, once each.
var configsPrepared sync.Map // *PluginSchema -> *sync.Once

// requireConfigRecords makes the records of a plugin's config required, as
// Kong's plugin subschemas do.
func requireConfigRecords(ps *PluginSchema) {
	once, _ := configsPrepared.LoadOrStore(ps, new(sync.Once))
	once.(*sync.Once).Do(func() { schema.RequireRecords(ps.Config.Fields) })
}

// PreparePluginSchema readies a plugin schema for use, as Kong does when it
// loads a plugin: the records of its config become required. Plugin
// registries call it once, before the schema is shared; the store also
// calls it (idempotently) when it first validates against the schema.
func PreparePluginSchema(ps *PluginSchema) {
	if ps != nil && ps.Config != nil {
		requireConfigRecords(ps)
	}
}

// PluginEntitySchema returns the plugin entity's schema specialised for the
// named plugin, as `GET /schemas/plugins/{name}` shows it.
func (s *Store) PluginEntitySchema(name string) (*schema.Schema, bool) {
	e, _ := s.registry.Entity("plugins")
	sch, ps, errs := s.schemaFor(e, map[string]any{"name": name})
	if errs != nil || ps == nil {
		return nil, false
	}
	return sch, true
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
	for _, f := range e.Foreigns() {
		id := foreignID(rec[f.Name])
		if id == "" {
			continue
		}
		row, err := tx.Get(f.Reference, id)
		if err != nil {
			return nil, wrapDB(err)
		}
		if row == nil {
			return nil, ForeignKeyViolation(f.Name, map[string]any{"id": id}, f.Reference)
		}
	}
	if err := s.checkUnique(tx, e, rec); err != nil {
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
		if e.Name == "ca_certificates" {
			if err := caCertificateInUse(tx, rec["id"].(string)); err != nil {
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

// caCertificateInUse refuses the removal of a CA certificate that a
// service, or a plugin's config, still lists in its ca_certificates, as
// Kong's ca_certificates DAO does (the list is not a foreign key, so the
// reference index does not know it).
func caCertificateInUse(tx Tx, id string) error {
	for _, entity := range []string{"services", "plugins"} {
		after := ""
		for {
			rows, err := tx.List(entity, RowQuery{AfterID: after, Limit: MaxPageSize})
			if err != nil {
				return wrapDB(err)
			}
			for _, row := range rows {
				rec, err := decodeRow(row)
				if err != nil {
					return err
				}
				list := rec["ca_certificates"]
				if entity == "plugins" {
					cfg, _ := rec["config"].(map[string]any)
					list = cfg["ca_certificates"]
				}
				ids, _ := list.([]any)
				for _, v := range ids {
					if v == id {
						return &Error{Code: CodeReferencedByOthers,
							Message: fmt.Sprintf("ca certificate %s is still referenced by %s (id = %s)", id, entity, rec["id"])}
					}
				}
			}
			if len(rows) < MaxPageSize {
				break
			}
			after = rows[len(rows)-1].ID
		}
	}
	return nil
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

// TagPage is one page of `GET /tags`.
type TagPage struct {
	Data   []TagRow
	Offset string
}

// ListTags returns a page of (entity, id, tag) triples, optionally for one tag.
func (s *Store) ListTags(ctx context.Context, tag string, size int, offset string) (*TagPage, error) {
	if size == 0 {
		size = DefaultPageSize
	}
	if size < 1 || size > MaxPageSize {
		return nil, InvalidSize(fmt.Sprintf("size must be an integer between 1 and %d", MaxPageSize))
	}
	var after *TagRow
	if offset != "" {
		parts, err := DecodeOffset(offset)
		if err != nil || len(parts) != 3 {
			return nil, InvalidOffset(offset)
		}
		after = &TagRow{Tag: parts[0], Entity: parts[1], ID: parts[2]}
	}
	page := &TagPage{Data: []TagRow{}}
	if schema.CheckText(tag) != "" {
		return page, nil
	}
	err := s.backend.View(ctx, func(tx Tx) error {
		rows, err := tx.Tags(tag, after, size+1)
		if err != nil {
			return wrapDB(err)
		}
		if len(rows) > size {
			last := rows[size-1]
			page.Offset = EncodeOffset(last.Tag, last.Entity, last.ID)
			rows = rows[:size]
		}
		page.Data = rows
		return nil
	})
	return page, err
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
// id.
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
	return out, err
}

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
	if e.Generate != nil {
		e.Generate(rec)
	}
	if errs := schema.Validate(sch, rec); !errs.Empty() {
		return nil, SchemaViolation(errs)
	}
	if err := checkPluginScope(ps, rec); err != nil {
		return nil, err
	}
	for _, f := range e.Foreigns() {
		if id := foreignID(rec[f.Name]); id != "" {
			row, err := tx.Get(f.Reference, id)
			if err != nil {
				return nil, wrapDB(err)
			}
			if row == nil {
				return nil, ForeignKeyViolation(f.Name, map[string]any{"id": id}, f.Reference)
			}
		}
	}
	if err := s.checkUnique(tx, e, rec); err != nil {
		return nil, err
	}
	if e.TTL {
		setExpiry(rec, ttl, s.now())
	}
	return rec, nil
}

// Ping reports whether the backend answers.
func (s *Store) Ping(ctx context.Context) error { return s.backend.Ping(ctx) }

// randomToken returns 32 random hex characters, Kong's shape for generated
// keys and secrets.
func randomToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("store: reading random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}

// SortedKeys returns the keys of m in order; a helper for stable output.
func SortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
