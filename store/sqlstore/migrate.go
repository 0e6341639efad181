package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// Migration is one named, ordered schema change.
type Migration struct {
	Name       string
	Statements []string
	// Dialect limits the migration to one database ("postgres"); empty
	// means every database.
	Dialect string
}

// Migrations are the schema versions, oldest first. Names never change once
// released; new ones are appended.
var Migrations = []Migration{
	{Name: "000_base", Statements: []string{
		`CREATE TABLE entities (entity TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (entity, id))`,
		`CREATE TABLE entity_uniques (entity TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (entity, field, value))`,
		`CREATE INDEX entity_uniques_by_id ON entity_uniques (entity, id)`,
		`CREATE TABLE entity_refs (entity TEXT NOT NULL, id TEXT NOT NULL, field TEXT NOT NULL, ref_entity TEXT NOT NULL, ref_id TEXT NOT NULL, PRIMARY KEY (entity, id, field))`,
		`CREATE INDEX entity_refs_by_target ON entity_refs (ref_entity, ref_id)`,
		`CREATE INDEX entity_refs_by_field ON entity_refs (entity, field, ref_id, id)`,
		`CREATE TABLE entity_tags (entity TEXT NOT NULL, id TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (entity, id, tag))`,
		`CREATE INDEX entity_tags_by_tag ON entity_tags (tag, entity, id)`,
	}},
	// The change log nodes sharing a Postgres database read each other's
	// changes from (as Kong's cluster_events): each committed write adds a
	// row in its own transaction; nodes read the rows after the last id
	// they saw, on NOTIFY, on reconnect and every db_update_frequency.
	{Name: "001_cluster_events", Dialect: "postgres", Statements: []string{
		`CREATE TABLE cluster_events (id BIGSERIAL PRIMARY KEY, node_id TEXT NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now(), channel TEXT NOT NULL, data TEXT NOT NULL DEFAULT '')`,
		`CREATE INDEX cluster_events_at ON cluster_events (at)`,
	}},
	// Shared counters (store.Counters): rate-limiting's cluster policy.
	{Name: "002_counters", Statements: []string{
		`CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL, expires_at BIGINT NOT NULL)`,
		`CREATE INDEX counters_expires_at ON counters (expires_at)`,
	}},
	// SQLite writes every B-tree page a commit changes to the WAL, and a
	// create touched nine B-trees: a rowid table and its primary key for
	// each of entities, entity_uniques and entity_refs, and three more
	// indexes. The index tables become WITHOUT ROWID (the primary key is
	// the table), and one index on the referenced id serves both the
	// referrers of an entity and the children listed under a parent: a
	// route or a credential create changes six B-trees, a consumer four.
	// The entities table keeps its rowid: its rows are large and appended
	// in rowid order, where a random id as the key would split pages.
	{Name: "003_sqlite_index_tables", Dialect: "sqlite", Statements: withoutRowid(
		[]string{"entity_uniques", "entity TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (entity, field, value)",
			"entity, field, value, id",
			`CREATE INDEX entity_uniques_by_id ON entity_uniques (entity, id)`},
		[]string{"entity_refs", "entity TEXT NOT NULL, id TEXT NOT NULL, field TEXT NOT NULL, ref_entity TEXT NOT NULL, ref_id TEXT NOT NULL, PRIMARY KEY (entity, id, field)",
			"entity, id, field, ref_entity, ref_id",
			`CREATE INDEX entity_refs_by_ref ON entity_refs (ref_id, entity, field, id)`},
		[]string{"entity_tags", "entity TEXT NOT NULL, id TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (entity, id, tag)",
			"entity, id, tag",
			`CREATE INDEX entity_tags_by_tag ON entity_tags (tag, entity, id)`},
	)},
}

// withoutRowid returns the statements that rebuild tables as WITHOUT ROWID
// tables with their rows; each table is {name, column definitions, column
// list, index statements...}. Dropping the old table drops its indexes.
func withoutRowid(tables ...[]string) []string {
	var out []string
	for _, t := range tables {
		name, cols, list := t[0], t[1], t[2]
		out = append(out,
			`CREATE TABLE `+name+`_new (`+cols+`) WITHOUT ROWID`,
			`INSERT INTO `+name+`_new (`+list+`) SELECT `+list+` FROM `+name,
			`DROP TABLE `+name,
			`ALTER TABLE `+name+`_new RENAME TO `+name)
		out = append(out, t[3:]...)
	}
	return out
}

// MigrationsFor returns the migrations that apply to a dialect, oldest first.
func MigrationsFor(dialect string) []Migration {
	var out []Migration
	for _, m := range Migrations {
		if m.Dialect == "" || m.Dialect == dialect {
			out = append(out, m)
		}
	}
	return out
}

const metaTable = "gatehouse_migrations"

// Migrator implements store.Migrator for a Backend.
type Migrator struct {
	b *Backend
}

// NewMigrator returns the migrator of b.
func NewMigrator(b *Backend) *Migrator { return &Migrator{b: b} }

// Bootstrapped implements store.Migrator.
func (m *Migrator) Bootstrapped(ctx context.Context) (bool, error) {
	rows, err := m.b.writer.QueryContext(ctx, m.b.dialect.Rebind(m.b.dialect.TableExists), metaTable)
	if err != nil {
		return false, fmt.Errorf("%s: checking migrations table: %w", m.b.dialect.Name, err)
	}
	defer rows.Close()
	return rows.Next(), rows.Err()
}

// Bootstrap implements store.Migrator.
func (m *Migrator) Bootstrap(ctx context.Context) error {
	ok, err := m.Bootstrapped(ctx)
	if err != nil {
		return err
	}
	if ok {
		return errors.New("database already bootstrapped")
	}
	if _, err := m.b.writer.ExecContext(ctx, `CREATE TABLE `+metaTable+` (name TEXT PRIMARY KEY, executed_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("%s: creating migrations table: %w", m.b.dialect.Name, err)
	}
	_, err = m.Up(ctx)
	return err
}

func (m *Migrator) executed(ctx context.Context) (map[string]bool, error) {
	rows, err := m.b.writer.QueryContext(ctx, `SELECT name FROM `+metaTable)
	if err != nil {
		return nil, fmt.Errorf("%s: reading migrations: %w", m.b.dialect.Name, err)
	}
	defer rows.Close()
	done := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		done[n] = true
	}
	return done, rows.Err()
}

// Up implements store.Migrator: each pending migration runs in its own
// transaction together with its bookkeeping row.
func (m *Migrator) Up(ctx context.Context) ([]string, error) {
	m.b.writeMu.Lock()
	defer m.b.writeMu.Unlock()
	done, err := m.executed(ctx)
	if err != nil {
		return nil, err
	}
	var applied []string
	for _, mig := range MigrationsFor(m.b.dialect.Name) {
		if done[mig.Name] {
			continue
		}
		tx, err := m.b.writer.BeginTx(ctx, nil)
		if err != nil {
			return applied, err
		}
		for _, st := range mig.Statements {
			if _, err := tx.ExecContext(ctx, st); err != nil {
				_ = tx.Rollback()
				return applied, fmt.Errorf("%s: migration %s: %w", m.b.dialect.Name, mig.Name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, m.b.dialect.Rebind(`INSERT INTO `+metaTable+` (name, executed_at) VALUES (?, ?)`), mig.Name, time.Now().Unix()); err != nil {
			_ = tx.Rollback()
			return applied, fmt.Errorf("%s: recording migration %s: %w", m.b.dialect.Name, mig.Name, err)
		}
		if err := tx.Commit(); err != nil {
			return applied, fmt.Errorf("%s: migration %s: %w", m.b.dialect.Name, mig.Name, err)
		}
		applied = append(applied, mig.Name)
	}
	return applied, nil
}

// List implements store.Migrator.
func (m *Migrator) List(ctx context.Context) (executed, pending []string, err error) {
	ok, err := m.Bootstrapped(ctx)
	if err != nil {
		return nil, nil, err
	}
	done := map[string]bool{}
	if ok {
		if done, err = m.executed(ctx); err != nil {
			return nil, nil, err
		}
	}
	for _, mig := range MigrationsFor(m.b.dialect.Name) {
		if done[mig.Name] {
			executed = append(executed, mig.Name)
		} else {
			pending = append(pending, mig.Name)
		}
	}
	return executed, pending, nil
}

// Reset implements store.Migrator: it drops every table the migrations made.
func (m *Migrator) Reset(ctx context.Context) error {
	m.b.writeMu.Lock()
	defer m.b.writeMu.Unlock()
	for _, t := range []string{"counters", "cluster_events", "entity_tags", "entity_refs", "entity_uniques", "entities", metaTable} {
		if _, err := m.b.writer.ExecContext(ctx, `DROP TABLE IF EXISTS `+t); err != nil {
			return fmt.Errorf("%s: dropping %s: %w", m.b.dialect.Name, t, err)
		}
	}
	return nil
}

var _ store.Migrator = (*Migrator)(nil)

// Executed returns the names recorded as executed: the core migrations
// run, and the names Record added.
func (m *Migrator) Executed(ctx context.Context) (map[string]bool, error) {
	return m.executed(ctx)
}

// Record marks names as executed without running anything, in one
// transaction, and returns those that were not recorded yet. Gatehouse
// records Lua plugins' migrations this way: their entities live in the
// tables the core migrations made.
func (m *Migrator) Record(ctx context.Context, names []string) ([]string, error) {
	m.b.writeMu.Lock()
	defer m.b.writeMu.Unlock()
	done, err := m.executed(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := m.b.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	var added []string
	now := time.Now().Unix()
	for _, n := range names {
		if done[n] {
			continue
		}
		done[n] = true
		if _, err := tx.ExecContext(ctx, m.b.dialect.Rebind(`INSERT INTO `+metaTable+` (name, executed_at) VALUES (?, ?)`), n, now); err != nil {
			_ = tx.Rollback()
			return nil, fmt.Errorf("%s: recording migration %s: %w", m.b.dialect.Name, n, err)
		}
		added = append(added, n)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("%s: recording migrations: %w", m.b.dialect.Name, err)
	}
	return added, nil
}
