package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/store"
)

// Shared counters live in the counters table (migration 002_counters).
// Their transactions bypass Update: they take neither writeMu nor the
// dialect's WriteLock and log no change, so counting never waits for an
// entity write or wakes other nodes. Rows are touched in key order, so
// two transactions sharing keys lock them in the same order.

const upsertCounter = `INSERT INTO counters (name, value, expires_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value, expires_at = excluded.expires_at
RETURNING value`

// keyOrder returns the indexes of counters sorted by key.
func keyOrder(counters []store.Counter) []int {
	order := make([]int, len(counters))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return counters[order[a]].Key < counters[order[b]].Key })
	return order
}

// counterTx runs fn in a transaction on the writer pool.
func (b *Backend) counterTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := b.begin(ctx, b.writer, nil)
	if err != nil {
		return fmt.Errorf("%s: counters: begin: %w", b.dialect.Name, err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("%s: counters: %w", b.dialect.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: counters: commit: %w", b.dialect.Name, err)
	}
	return nil
}

// AddCounters implements store.Counters.
func (b *Backend) AddCounters(ctx context.Context, counters []store.Counter, deltas []int64) ([]int64, error) {
	if len(deltas) != len(counters) {
		return nil, fmt.Errorf("%s: counters: %d deltas for %d counters", b.dialect.Name, len(deltas), len(counters))
	}
	out := make([]int64, len(counters))
	q := b.dialect.Rebind(upsertCounter)
	err := b.counterTx(ctx, func(tx *sql.Tx) error {
		for _, i := range keyOrder(counters) {
			c := counters[i]
			if err := tx.QueryRowContext(ctx, q, c.Key, deltas[i], c.ExpiresAt).Scan(&out[i]); err != nil {
				return fmt.Errorf("adding to %q: %w", c.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// TakeCounters implements store.Counters. Each counter is first upserted
// with a zero delta, which creates it and locks its row until the
// transaction ends (Postgres; SQLite's writer is exclusive), so the check
// and the increment see no concurrent take in between.
func (b *Backend) TakeCounters(ctx context.Context, counters []store.Counter, limits []int64) ([]int64, int, error) {
	if len(limits) != len(counters) {
		return nil, -1, fmt.Errorf("%s: counters: %d limits for %d counters", b.dialect.Name, len(limits), len(counters))
	}
	before := make([]int64, len(counters))
	exhausted := -1
	upsert := b.dialect.Rebind(upsertCounter)
	incr := b.dialect.Rebind(`UPDATE counters SET value = value + 1 WHERE name = ?`)
	err := b.counterTx(ctx, func(tx *sql.Tx) error {
		order := keyOrder(counters)
		for _, i := range order {
			c := counters[i]
			if err := tx.QueryRowContext(ctx, upsert, c.Key, 0, c.ExpiresAt).Scan(&before[i]); err != nil {
				return fmt.Errorf("reading %q: %w", c.Key, err)
			}
		}
		for i := range counters {
			if limits[i]-before[i] <= 0 {
				exhausted = i
				return nil // commit: the rows exist, nothing counted
			}
		}
		for _, i := range order {
			if _, err := tx.ExecContext(ctx, incr, counters[i].Key); err != nil {
				return fmt.Errorf("incrementing %q: %w", counters[i].Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, -1, err
	}
	return before, exhausted, nil
}

// ReadCounters implements store.Counters.
func (b *Backend) ReadCounters(ctx context.Context, keys []string) ([]int64, error) {
	out := make([]int64, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	q := b.dialect.Rebind(`SELECT name, value FROM counters WHERE name IN (?` + strings.Repeat(", ?", len(keys)-1) + `)`)
	rows, err := b.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: counters: reading: %w", b.dialect.Name, err)
	}
	defer rows.Close()
	values := make(map[string]int64, len(keys))
	for rows.Next() {
		var name string
		var v int64
		if err := rows.Scan(&name, &v); err != nil {
			return nil, fmt.Errorf("%s: counters: reading: %w", b.dialect.Name, err)
		}
		values[name] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: counters: reading: %w", b.dialect.Name, err)
	}
	for i, k := range keys {
		out[i] = values[k]
	}
	return out, nil
}

// PurgeCounters implements store.Counters.
func (b *Backend) PurgeCounters(ctx context.Context, now int64) (int64, error) {
	var n int64
	err := b.counterTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, b.dialect.Rebind(`DELETE FROM counters WHERE expires_at < ?`), now)
		if err != nil {
			return fmt.Errorf("purging: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

var _ store.Counters = (*Backend)(nil)
