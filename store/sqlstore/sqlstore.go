// Package sqlstore implements store.Backend on database/sql, shared by the
// SQLite and Postgres backends. Every entity lives in one table as a JSON
// document; unique values, foreign keys and tags live in index tables the
// store derives from each entity's declaration, so adding an entity needs no
// new table. Dialect differences (placeholders, error codes, catalog queries)
// come from a Dialect.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/store"
)

// Dialect captures what differs between SQL databases.
type Dialect struct {
	// Name is the database name reported by the backend ("sqlite", "postgres").
	Name string
	// Dollar numbers placeholders $1, $2 … instead of ?.
	Dollar bool
	// IsUniqueViolation reports whether err is a unique-constraint failure.
	IsUniqueViolation func(err error) bool
	// TableExists is a query with one placeholder (the table name) returning
	// a row when the table exists.
	TableExists string
	// IsConnLost reports whether err means the pooled connection was dead
	// (the server restarted or cut it); nil means never.
	IsConnLost func(err error) bool
	// WriteLock, when set, runs first in every write transaction and must
	// take a lock held until the transaction ends. Nodes sharing a
	// database serialise their writes with it, so that the checks a write
	// makes (a foreign key's entity exists, nothing references what is
	// deleted) see every write committed before it; writeMu only orders
	// one node's writes.
	WriteLock string
}

// maxBeginAttempts bounds how many dead pooled connections a transaction
// start skips (each is discarded) before giving up.
const maxBeginAttempts = 10

// begin starts a transaction on db. A connection the server closed while it
// sat in the pool (a database restart) fails at BEGIN; nothing has run yet,
// so the transaction starts again on another (or a new) connection.
func (b *Backend) begin(ctx context.Context, db *sql.DB, opts *sql.TxOptions) (*sql.Tx, error) {
	for attempt := 1; ; attempt++ {
		tx, err := db.BeginTx(ctx, opts)
		if err == nil || b.dialect.IsConnLost == nil || !b.dialect.IsConnLost(err) || ctx.Err() != nil || attempt == maxBeginAttempts {
			return tx, err
		}
	}
}

// Backend is a store.Backend over database/sql.
type Backend struct {
	dialect Dialect
	writer  *sql.DB
	reader  *sql.DB
	// writeMu serialises write transactions (SQLite has one writer; on
	// Postgres it keeps cascades and uniqueness checks simple).
	writeMu sync.Mutex
	closers []func() error
	// beforeCommit runs last in every write transaction that changed rows.
	beforeCommit func(ctx context.Context, tx *sql.Tx, entities []string) error
	// writeStmts and readStmts are the prepared statements of each pool
	// (PrepareStatements), empty until then.
	writeStmts, readStmts atomic.Pointer[stmtSet]
}

// stmtSet is one pool's prepared statements, by query text.
type stmtSet struct{ m map[string]*sql.Stmt }

// PrepareStatements prepares the statements every read and write uses,
// once per pool, so that a write does not parse its SQL again each time
// (with SQLite, parsing was a third of an insert's CPU). Call it once the
// schema is in place and before the backend is in use; until then, and
// for backends that never call it, statements are sent as text. A
// Postgres driver caches its statements itself.
func (b *Backend) PrepareStatements(ctx context.Context) error {
	w, err := prepareAll(ctx, b.writer)
	if err != nil {
		return err
	}
	r := w
	if b.reader != b.writer {
		if r, err = prepareAll(ctx, b.reader); err != nil {
			w.close()
			return err
		}
	}
	if old := b.writeStmts.Swap(w); old != nil {
		old.close()
	}
	if old := b.readStmts.Swap(r); old != nil && old != w {
		old.close()
	}
	return nil
}

func prepareAll(ctx context.Context, db *sql.DB) (*stmtSet, error) {
	set := &stmtSet{m: make(map[string]*sql.Stmt, len(cachedQueries))}
	for _, q := range cachedQueries {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			set.close()
			return nil, fmt.Errorf("preparing %q: %w", q, err)
		}
		set.m[q] = st
	}
	return set, nil
}

// byQuery returns the statements by query; nil for no set.
func (s *stmtSet) byQuery() map[string]*sql.Stmt {
	if s == nil {
		return nil
	}
	return s.m
}

func (s *stmtSet) close() {
	if s == nil {
		return
	}
	for _, st := range s.m {
		st.Close()
	}
}

// BeforeCommit registers fn to run last in every write transaction that
// changed rows, with the names of the entities it changed; an error rolls
// the write back. A cluster uses it to log each change in the same
// transaction as the change. Call it before the backend is in use.
func (b *Backend) BeforeCommit(fn func(ctx context.Context, tx *sql.Tx, entities []string) error) {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	b.beforeCommit = fn
}

// New returns a backend that reads through reader and writes through writer
// (they may be the same pool).
func New(d Dialect, writer, reader *sql.DB) *Backend {
	return &Backend{dialect: d, writer: writer, reader: reader}
}

// Name implements store.Backend.
func (b *Backend) Name() string { return b.dialect.Name }

// DB returns the writer pool, for migrations.
func (b *Backend) DB() *sql.DB { return b.writer }

// Dialect returns the backend's dialect.
func (b *Backend) Dialect() Dialect { return b.dialect }

// View implements store.Backend.
func (b *Backend) View(ctx context.Context, fn func(store.Tx) error) error {
	tx, err := b.begin(ctx, b.reader, &sql.TxOptions{ReadOnly: b.dialect.Name != "sqlite"})
	if err != nil {
		return fmt.Errorf("%s: begin read: %w", b.dialect.Name, err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	return fn(&sqlTx{b: b, tx: tx, ctx: ctx, stmts: b.readStmts.Load().byQuery()})
}

// Update implements store.Backend.
func (b *Backend) Update(ctx context.Context, fn func(store.Tx) error) error {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	tx, err := b.begin(ctx, b.writer, nil)
	if err != nil {
		return fmt.Errorf("%s: begin write: %w", b.dialect.Name, err)
	}
	if b.dialect.WriteLock != "" {
		if _, err := tx.ExecContext(ctx, b.dialect.WriteLock); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("%s: write lock: %w", b.dialect.Name, err)
		}
	}
	stx := &sqlTx{b: b, tx: tx, ctx: ctx, stmts: b.writeStmts.Load().byQuery()}
	if err := fn(stx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if b.beforeCommit != nil && len(stx.changed) > 0 {
		if err := b.beforeCommit(ctx, tx, stx.changedEntities()); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("%s: logging the change: %w", b.dialect.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		if b.dialect.IsUniqueViolation(err) {
			return store.ErrUniqueConflict
		}
		return fmt.Errorf("%s: commit: %w", b.dialect.Name, err)
	}
	return nil
}

// Ping implements store.Backend.
func (b *Backend) Ping(ctx context.Context) error { return b.writer.PingContext(ctx) }

// OnClose registers a function Close calls.
func (b *Backend) OnClose(fn func() error) { b.closers = append(b.closers, fn) }

// Close implements store.Backend.
func (b *Backend) Close() error {
	w, r := b.writeStmts.Swap(nil), b.readStmts.Swap(nil)
	w.close()
	if r != w {
		r.close()
	}
	var errs []error
	errs = append(errs, b.writer.Close())
	if b.reader != b.writer {
		errs = append(errs, b.reader.Close())
	}
	for _, c := range b.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// Rebind rewrites ? placeholders for the dialect.
func (d Dialect) Rebind(q string) string {
	if !d.Dollar {
		return q
	}
	var sb strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			sb.WriteString("$" + strconv.Itoa(n))
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

type sqlTx struct {
	b   *Backend
	tx  *sql.Tx
	ctx context.Context
	// stmts are the pool's prepared statements by query (nil: none).
	stmts map[string]*sql.Stmt
	// changed holds the entities the transaction wrote.
	changed map[string]bool
}

func (t *sqlTx) touch(entity string) {
	if t.changed == nil {
		t.changed = map[string]bool{}
	}
	t.changed[entity] = true
}

func (t *sqlTx) changedEntities() []string {
	out := make([]string, 0, len(t.changed))
	for e := range t.changed {
		out = append(out, e)
	}
	slices.Sort(out)
	return out
}

// stmt returns the transaction's form of q's prepared statement, or nil
// when q is not prepared on this pool.
func (t *sqlTx) stmt(q string) *sql.Stmt {
	if s := t.stmts[q]; s != nil {
		return t.tx.StmtContext(t.ctx, s)
	}
	return nil
}

func (t *sqlTx) execResult(q string, args ...any) (sql.Result, error) {
	if s := t.stmt(q); s != nil {
		return s.ExecContext(t.ctx, args...)
	}
	return t.tx.ExecContext(t.ctx, t.b.dialect.Rebind(q), args...)
}

func (t *sqlTx) exec(q string, args ...any) error {
	_, err := t.execResult(q, args...)
	if err != nil && t.b.dialect.IsUniqueViolation(err) {
		return store.ErrUniqueConflict
	}
	return err
}

func (t *sqlTx) rows(q string, args ...any) (*sql.Rows, error) {
	if s := t.stmt(q); s != nil {
		return s.QueryContext(t.ctx, args...)
	}
	return t.tx.QueryContext(t.ctx, t.b.dialect.Rebind(q), args...)
}

func (t *sqlTx) row(q string, args ...any) *sql.Row {
	if s := t.stmt(q); s != nil {
		return s.QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, t.b.dialect.Rebind(q), args...)
}

func (t *sqlTx) one(entity, q string, args ...any) (*store.Row, error) {
	var id, data string
	err := t.row(q, args...).Scan(&id, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: reading %s: %w", t.b.dialect.Name, entity, err)
	}
	return &store.Row{Entity: entity, ID: id, Data: []byte(data)}, nil
}

// The statements every write and read uses, prepared once per pool where
// the dialect caches statements (see PrepareStatements).
const (
	qGet       = `SELECT id, data FROM entities WHERE entity = ? AND id = ?`
	qGetUnique = `SELECT e.id, e.data FROM entity_uniques u JOIN entities e ON e.entity = u.entity AND e.id = u.id
		WHERE u.entity = ? AND u.field = ? AND u.value = ?`
	qInsertUnique = `INSERT INTO entity_uniques (entity, field, value, id) VALUES (?, ?, ?, ?)`
	qInsertRef    = `INSERT INTO entity_refs (entity, id, field, ref_entity, ref_id) VALUES (?, ?, ?, ?, ?)`
	qInsertTag    = `INSERT INTO entity_tags (entity, id, tag) VALUES (?, ?, ?)`
	qDeleteUnique = `DELETE FROM entity_uniques WHERE entity = ? AND id = ?`
	qDeleteRefs   = `DELETE FROM entity_refs WHERE entity = ? AND id = ?`
	qDeleteTags   = `DELETE FROM entity_tags WHERE entity = ? AND id = ?`
	qInsert       = `INSERT INTO entities (entity, id, data) VALUES (?, ?, ?)`
	qReplace      = `UPDATE entities SET data = ? WHERE entity = ? AND id = ?`
	qDelete       = `DELETE FROM entities WHERE entity = ? AND id = ?`
	qList         = `SELECT e.id, e.data FROM entities e WHERE e.entity = ? AND e.id > ? ORDER BY e.id LIMIT ?`
	qListRef      = `SELECT e.id, e.data FROM entities e WHERE e.entity = ? AND e.id > ? AND e.id IN (SELECT r.id FROM entity_refs r WHERE r.entity = ? AND r.field = ? AND r.ref_id = ?) ORDER BY e.id LIMIT ?`
	qReferrers    = `SELECT entity, id, field FROM entity_refs WHERE ref_entity = ? AND ref_id = ? ORDER BY entity, id`
	qCount        = `SELECT COUNT(*) FROM entities WHERE entity = ?`
)

// cachedQueries are the statements PrepareStatements prepares.
var cachedQueries = []string{qGet, qGetUnique, qInsertUnique, qInsertRef, qInsertTag, qDeleteUnique, qDeleteRefs,
	qDeleteTags, qInsert, qReplace, qDelete, qList, qListRef, qReferrers, qCount}

func (t *sqlTx) Get(entity, id string) (*store.Row, error) {
	return t.one(entity, qGet, entity, id)
}

func (t *sqlTx) GetUnique(entity, field, value string) (*store.Row, error) {
	return t.one(entity, qGetUnique, entity, field, value)
}

func (t *sqlTx) insertIndexes(row *store.Row) error {
	for field, value := range row.Uniques {
		if err := t.exec(qInsertUnique, row.Entity, field, value, row.ID); err != nil {
			return err
		}
	}
	for field, ref := range row.Refs {
		if err := t.exec(qInsertRef, row.Entity, row.ID, field, ref.Entity, ref.ID); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for _, tag := range row.Tags {
		if seen[tag] {
			continue
		}
		seen[tag] = true
		if err := t.exec(qInsertTag, row.Entity, row.ID, tag); err != nil {
			return err
		}
	}
	return nil
}

func (t *sqlTx) deleteIndexes(entity, id string) error {
	for _, q := range []string{qDeleteUnique, qDeleteRefs, qDeleteTags} {
		if err := t.exec(q, entity, id); err != nil {
			return err
		}
	}
	return nil
}

func (t *sqlTx) Insert(row *store.Row) error {
	t.touch(row.Entity)
	if err := t.exec(qInsert, row.Entity, row.ID, string(row.Data)); err != nil {
		return err
	}
	return t.insertIndexes(row)
}

func (t *sqlTx) Replace(row *store.Row) error {
	t.touch(row.Entity)
	res, err := t.execResult(qReplace, string(row.Data), row.Entity, row.ID)
	if err != nil {
		return err
	}
	// Nothing replaced (the row went away since it was read, or the id is
	// not the stored one): writing its index rows would leave entries for
	// an entity that does not exist, holding its unique values forever.
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return store.ErrNotFound
	}
	if err := t.deleteIndexes(row.Entity, row.ID); err != nil {
		return err
	}
	return t.insertIndexes(row)
}

func (t *sqlTx) Delete(entity, id string) error {
	t.touch(entity)
	if err := t.deleteIndexes(entity, id); err != nil {
		return err
	}
	return t.exec(qDelete, entity, id)
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func (t *sqlTx) List(entity string, q store.RowQuery) ([]*store.Row, error) {
	var query string
	var args []any
	switch {
	case len(q.Tags) > 0:
		var sb strings.Builder
		args = []any{entity, q.AfterID}
		sb.WriteString(`SELECT e.id, e.data FROM entities e WHERE e.entity = ? AND e.id > ?`)
		if q.RefField != "" {
			sb.WriteString(` AND e.id IN (SELECT r.id FROM entity_refs r WHERE r.entity = ? AND r.field = ? AND r.ref_id = ?)`)
			args = append(args, entity, q.RefField, q.RefID)
		}
		sb.WriteString(` AND e.id IN (SELECT g.id FROM entity_tags g WHERE g.entity = ? AND g.tag IN (` + placeholders(len(q.Tags)) + `)`)
		args = append(args, entity)
		for _, tag := range q.Tags {
			args = append(args, tag)
		}
		if !q.TagsAny {
			sb.WriteString(` GROUP BY g.id HAVING COUNT(DISTINCT g.tag) = ?`)
			args = append(args, len(q.Tags))
		}
		sb.WriteString(`) ORDER BY e.id LIMIT ?`)
		args = append(args, q.Limit)
		query = sb.String()
	case q.RefField != "":
		query, args = qListRef, []any{entity, q.AfterID, entity, q.RefField, q.RefID, q.Limit}
	default:
		query, args = qList, []any{entity, q.AfterID, q.Limit}
	}
	rows, err := t.rows(query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: listing %s: %w", t.b.dialect.Name, entity, err)
	}
	defer rows.Close()
	var out []*store.Row
	for rows.Next() {
		var id, data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, fmt.Errorf("%s: listing %s: %w", t.b.dialect.Name, entity, err)
		}
		out = append(out, &store.Row{Entity: entity, ID: id, Data: []byte(data)})
	}
	return out, rows.Err()
}

func (t *sqlTx) Referrers(entity, id string) ([]store.Referrer, error) {
	rows, err := t.rows(qReferrers, entity, id)
	if err != nil {
		return nil, fmt.Errorf("%s: referrers of %s: %w", t.b.dialect.Name, entity, err)
	}
	defer rows.Close()
	var out []store.Referrer
	for rows.Next() {
		var r store.Referrer
		if err := rows.Scan(&r.Entity, &r.ID, &r.Field); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (t *sqlTx) Tags(tag string, after *store.TagRow, limit int) ([]store.TagRow, error) {
	var sb strings.Builder
	var args []any
	sb.WriteString(`SELECT entity, id, tag FROM entity_tags WHERE 1 = 1`)
	if tag != "" {
		sb.WriteString(` AND tag = ?`)
		args = append(args, tag)
	}
	if after != nil {
		sb.WriteString(` AND (tag > ? OR (tag = ? AND (entity > ? OR (entity = ? AND id > ?))))`)
		args = append(args, after.Tag, after.Tag, after.Entity, after.Entity, after.ID)
	}
	sb.WriteString(` ORDER BY tag, entity, id LIMIT ?`)
	args = append(args, limit)
	rows, err := t.rows(sb.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("%s: listing tags: %w", t.b.dialect.Name, err)
	}
	defer rows.Close()
	out := []store.TagRow{}
	for rows.Next() {
		var r store.TagRow
		if err := rows.Scan(&r.Entity, &r.ID, &r.Tag); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (t *sqlTx) Count(entity string) (int, error) {
	var n int
	err := t.row(qCount, entity).Scan(&n)
	return n, err
}

var _ store.Backend = (*Backend)(nil)
