package store

import (
	"context"
	"errors"
)

// Row is one stored entity as a backend sees it: the JSON document plus the
// index entries the store derives from the entity's declaration.
type Row struct {
	// Entity is the entity name ("services").
	Entity string
	// ID is the entity's primary key.
	ID string
	// Data is the entity as a JSON object.
	Data []byte
	// Uniques maps each unique field (or "cache_key") to its value.
	Uniques map[string]string
	// Refs maps each foreign-key field to the entity it references.
	Refs map[string]RowRef
	// Tags lists the entity's tags.
	Tags []string
}

// RowRef is the target of one foreign key.
type RowRef struct {
	Entity, ID string
}

// RowQuery selects rows for a page.
type RowQuery struct {
	// AfterID returns rows with an id greater than this.
	AfterID string
	// Limit bounds the number of rows returned.
	Limit int
	// RefField and RefID keep rows whose foreign key RefField equals RefID.
	RefField, RefID string
	// Tags keeps rows carrying all (or, with TagsAny, any) of these tags.
	Tags    []string
	TagsAny bool
}

// TagRow is one (entity, id, tag) triple for `GET /tags`.
type TagRow struct {
	Entity string `json:"entity_name"`
	ID     string `json:"entity_id"`
	Tag    string `json:"tag"`
}

// Referrer names a row holding a foreign key.
type Referrer struct {
	Entity, ID, Field string
}

// ErrUniqueConflict is returned by Insert and Update when a unique index
// rejects the row (a concurrent writer won the race).
var ErrUniqueConflict = errors.New("store: unique constraint conflict")

// Backend is the storage beneath the store: SQLite, Postgres, or the
// in-memory store of DB-less mode. It knows rows and indexes, not schemas.
type Backend interface {
	// Name is the database name shown in `GET /` ("sqlite", "postgres", "off").
	Name() string
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction, committed when fn returns nil.
	Update(ctx context.Context, fn func(Tx) error) error
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Close releases the backend.
	Close() error
}

// Tx is one backend transaction.
type Tx interface {
	// Get returns the row or nil when there is none.
	Get(entity, id string) (*Row, error)
	// GetUnique returns the row whose unique field has the value, or nil.
	GetUnique(entity, field, value string) (*Row, error)
	// Insert adds a row.
	Insert(row *Row) error
	// Replace overwrites the row with the same entity and id.
	Replace(row *Row) error
	// Delete removes a row and its index entries.
	Delete(entity, id string) error
	// List returns rows ordered by id.
	List(entity string, q RowQuery) ([]*Row, error)
	// Referrers lists the rows whose foreign keys point at (entity, id).
	Referrers(entity, id string) ([]Referrer, error)
	// Tags lists tag triples ordered by (tag, entity, id), after the given
	// triple, optionally only one tag.
	Tags(tag string, after *TagRow, limit int) ([]TagRow, error)
	// Count returns the number of rows of an entity.
	Count(entity string) (int, error)
}

// Migrator manages a backend's schema versions.
type Migrator interface {
	// Bootstrap creates the schema in an empty database.
	Bootstrap(ctx context.Context) error
	// Up applies pending migrations; it returns the names applied.
	Up(ctx context.Context) ([]string, error)
	// List returns the executed and the pending migration names.
	List(ctx context.Context) (executed, pending []string, err error)
	// Reset drops everything the migrations created.
	Reset(ctx context.Context) error
	// Bootstrapped reports whether Bootstrap has run.
	Bootstrapped(ctx context.Context) (bool, error)
}
