package hostabi

import (
	"context"
	"fmt"
)

// DB reads and writes the node's entities, core (consumers, services,
// routes...) and plugin-owned (credentials, a Lua plugin's daos.lua
// entities), in Kong's JSON shapes: what Kong plugins do with kong.db.
// Writes are validated as Admin API writes are, defaults filled, and
// reach the node's caches and the other nodes as any change does. A
// failure is a *DBError carrying Kong's error object.
//
// Keys: Select, Update, Upsert and Delete name an entity by its id or by
// its endpoint key (a consumer's username, a key-auth credential's key),
// as the Admin API does.
type DB interface {
	// Select returns the entity, or nil, nil when there is none
	// (kong.db.<entity>:select).
	Select(ctx context.Context, entity, key string) (Entity, error)
	// SelectBy returns the entity whose unique field has the value, or
	// nil, nil (kong.db.<entity>:select_by_<field>).
	SelectBy(ctx context.Context, entity, field, value string) (Entity, error)
	// Page returns one page of entities and the offset of the next page
	// ("" on the last one) (kong.db.<entity>:page, :page_for_<foreign>).
	Page(ctx context.Context, entity string, q PageQuery) ([]Entity, string, error)
	// Insert creates an entity (kong.db.<entity>:insert).
	Insert(ctx context.Context, entity string, fields Entity, opts WriteOptions) (Entity, error)
	// Update changes the given fields of an existing entity
	// (kong.db.<entity>:update); a missing one is a DBError with code 6
	// (not found).
	Update(ctx context.Context, entity, key string, fields Entity, opts WriteOptions) (Entity, error)
	// Upsert creates or replaces the entity (kong.db.<entity>:upsert).
	Upsert(ctx context.Context, entity, key string, fields Entity, opts WriteOptions) (Entity, error)
	// Delete removes the entity; deleting one that does not exist is no
	// error (kong.db.<entity>:delete).
	Delete(ctx context.Context, entity, key string) error
}

// PageQuery selects a page of entities.
type PageQuery struct {
	// Size is the page size (0: Kong's default, 100; at most 1000).
	Size int
	// Offset continues a previous page.
	Offset string
	// Tags keep entities carrying all of them (any of them with TagsAny).
	Tags    []string
	TagsAny bool
	// ForeignField and ForeignKey keep the entities whose foreign key
	// ForeignField references ForeignKey (an id or endpoint key):
	// page_for_consumer is {ForeignField: "consumer", ForeignKey: id}.
	ForeignField, ForeignKey string
}

// WriteOptions are kong.db's write options.
type WriteOptions struct {
	// TTL gives the entity a time to live in seconds (entities that
	// support it); 0: none.
	TTL int64
}

// DBError is a kong.db failure as Kong reports it (its err_t): code and
// name (Kong's error codes: 2 schema violation, 5 unique violation, 6
// not found, 12 invalid offset, ...), message, and the fields at fault.
type DBError struct {
	Code    int
	Name    string
	Message string
	Fields  map[string]any
}

func (e *DBError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("%s (code %d)", e.Name, e.Code)
}

// CheckedDB returns db with every call checked first: check runs with
// the call's operation (a host passes its phase check, which panics with
// a *PhaseError out of phase), and a nil db answers every call with
// unavailable. The proxy and sdk/plugintest serve Kong.DB through it.
func CheckedDB(db DB, check func(Op), unavailable *DBError) DB {
	return checkedDB{db: db, check: check, unavailable: unavailable}
}

type checkedDB struct {
	db          DB
	check       func(Op)
	unavailable *DBError
}

func (d checkedDB) get(op Op) (DB, error) {
	d.check(op)
	if d.db == nil {
		return nil, d.unavailable
	}
	return d.db, nil
}

func (d checkedDB) Select(ctx context.Context, entity, key string) (Entity, error) {
	db, err := d.get(OpDBSelect)
	if err != nil {
		return nil, err
	}
	return db.Select(ctx, entity, key)
}

func (d checkedDB) SelectBy(ctx context.Context, entity, field, value string) (Entity, error) {
	db, err := d.get(OpDBSelectBy)
	if err != nil {
		return nil, err
	}
	return db.SelectBy(ctx, entity, field, value)
}

func (d checkedDB) Page(ctx context.Context, entity string, q PageQuery) ([]Entity, string, error) {
	db, err := d.get(OpDBPage)
	if err != nil {
		return nil, "", err
	}
	return db.Page(ctx, entity, q)
}

func (d checkedDB) Insert(ctx context.Context, entity string, fields Entity, opts WriteOptions) (Entity, error) {
	db, err := d.get(OpDBInsert)
	if err != nil {
		return nil, err
	}
	return db.Insert(ctx, entity, fields, opts)
}

func (d checkedDB) Update(ctx context.Context, entity, key string, fields Entity, opts WriteOptions) (Entity, error) {
	db, err := d.get(OpDBUpdate)
	if err != nil {
		return nil, err
	}
	return db.Update(ctx, entity, key, fields, opts)
}

func (d checkedDB) Upsert(ctx context.Context, entity, key string, fields Entity, opts WriteOptions) (Entity, error) {
	db, err := d.get(OpDBUpsert)
	if err != nil {
		return nil, err
	}
	return db.Upsert(ctx, entity, key, fields, opts)
}

func (d checkedDB) Delete(ctx context.Context, entity, key string) error {
	db, err := d.get(OpDBDelete)
	if err != nil {
		return err
	}
	return db.Delete(ctx, entity, key)
}
