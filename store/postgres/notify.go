package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlstore"
	"github.com/jackc/pgx/v5"
)

// Channel is the Postgres notification channel nodes share.
const Channel = "gatehouse_events"

// DefaultFrequency is Kong's default db_update_frequency.
const DefaultFrequency = 5 * time.Second

// Retention is how long change-log rows are kept. A node that was cut off
// for longer notices the gap and reloads everything.
const Retention = time.Hour

// changeLogLock is the advisory lock key (hash of "gatehouse cluster_events")
// that orders change-log inserts across nodes.
const changeLogLock = 0x6761746568736531

// notice is what a write tells the listening nodes; they read the change
// log for the details.
type notice struct {
	Node string `json:"node"`
	ID   int64  `json:"id"`
}

// LogChanges makes every write through b add a row to the cluster_events
// change log, in the write's own transaction, and NOTIFY the other nodes on
// commit. node names the writer, so that a node skips its own changes.
// postgres.Open calls it with a fresh id (so writes made by CLI commands
// reach running nodes too); JoinCluster calls it again with the node's id.
//
// Inserts take a transaction-scoped advisory lock first, held until commit,
// so change-log ids are allocated in commit order across all nodes: once a
// reader has seen id n, no row with a smaller id can commit later, and
// reading "after the last id seen" never skips a change.
func LogChanges(b *sqlstore.Backend, node string) {
	b.BeforeCommit(func(ctx context.Context, tx *sql.Tx, entities []string) error {
		// Audit records and sign-in sessions change no node's
		// configuration (sessions are read from the database on every
		// use): a write of nothing else reloads no node.
		entities = slices.DeleteFunc(slices.Clone(entities), func(e string) bool {
			return e == store.AuditRequests || e == store.AuditObjects || e == "sessions" || e == "login_attempts"
		})
		if len(entities) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(changeLogLock)); err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO cluster_events (node_id, channel, data) VALUES ($1, $2, $3) RETURNING id`,
			node, Channel, strings.Join(entities, ",")).Scan(&id); err != nil {
			return err
		}
		payload, _ := json.Marshal(notice{Node: node, ID: id})
		_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, Channel, string(payload))
		return err
	})
}

// ClusterOptions configures JoinCluster.
type ClusterOptions struct {
	// DSN is the database the nodes share.
	DSN string
	// NodeID identifies this node in the change log.
	NodeID string
	// Backend is this node's store backend on DSN; its writes are logged.
	Backend *sqlstore.Backend
	// Bus receives other nodes' changes as reload events (Remote set).
	Bus *store.Bus
	// Frequency is db_update_frequency: the change log is read at least
	// this often, besides on every NOTIFY and after every reconnect.
	// Zero means DefaultFrequency.
	Frequency time.Duration
	// Log receives connection problems; nil means slog.Default().
	Log *slog.Logger
}

// Cluster propagates changes between nodes sharing one Postgres database.
// Every write logs a row in cluster_events within its own transaction (see
// LogChanges) and notifies the others on commit. Each node remembers the
// last change-log id it has seen and reads the rows after it on every
// notification, after every reconnect and at least every Frequency; rows
// from other nodes arrive on the local bus as one reload event, so each
// node's snapshot and caches follow writes made anywhere. A lost
// notification (a restarted database, a broken connection) therefore delays
// a change by at most Frequency, and never loses it.
type Cluster struct {
	opts   ClusterOptions
	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	last      int64 // the last change-log id seen
	lastPurge time.Time
}

// JoinCluster starts logging local writes and following other nodes'. It
// returns once the listener is connected and knows where the change log
// stands; changes committed after it returns reach the bus.
func JoinCluster(ctx context.Context, opts ClusterOptions) (*Cluster, error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Frequency <= 0 {
		opts.Frequency = DefaultFrequency
	}
	c := &Cluster{opts: opts, log: opts.Log}
	conn, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM cluster_events`).Scan(&c.last); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	if opts.Backend != nil {
		LogChanges(opts.Backend, opts.NodeID)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.wg.Add(1)
	go c.run(runCtx, conn)
	return c, nil
}

// connect opens the listening connection.
func (c *Cluster) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, c.opts.DSN)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

// backoffCap bounds the wait between reconnection attempts, so a node
// reconnects (and reads the change log) well within Frequency of the
// database coming back.
func (c *Cluster) backoffCap() time.Duration {
	return min(max(c.opts.Frequency/2, 100*time.Millisecond), 5*time.Second)
}

// run reads the change log and waits for notifications, reconnecting with
// backoff after failures, until ctx ends.
func (c *Cluster) run(ctx context.Context, conn *pgx.Conn) {
	defer c.wg.Done()
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	backoff := 50 * time.Millisecond
	for {
		if conn == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, c.backoffCap())
			var err error
			if conn, err = c.connect(ctx); err != nil {
				conn = nil
				if ctx.Err() == nil {
					c.log.Debug("cluster: reconnecting to the database failed", "error", err)
				}
				continue
			}
			c.log.Info("cluster: reconnected to the database; reading the change log")
		}
		if err := c.poll(ctx, conn); err != nil {
			if ctx.Err() != nil {
				return
			}
			c.log.Warn("cluster: reading the change log failed; reconnecting", "error", err)
			conn.Close(context.Background())
			conn = nil
			continue
		}
		backoff = 50 * time.Millisecond
		if err := c.wait(ctx, conn); err != nil {
			if ctx.Err() != nil {
				return
			}
			c.log.Warn("cluster: listener lost its connection; reconnecting", "error", err)
			conn.Close(context.Background())
			conn = nil
		}
	}
}

// wait returns after a notification from another node, after Frequency,
// or with an error when the connection failed.
func (c *Cluster) wait(ctx context.Context, conn *pgx.Conn) error {
	deadline := time.Now().Add(c.opts.Frequency)
	for {
		wctx, cancel := context.WithDeadline(ctx, deadline)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// A timeout leaves the connection usable; anything else is fatal.
			if errors.Is(wctx.Err(), context.DeadlineExceeded) && !conn.IsClosed() {
				return nil
			}
			return err
		}
		var msg notice
		if json.Unmarshal([]byte(n.Payload), &msg) == nil && msg.Node == c.opts.NodeID {
			continue // our own change
		}
		return nil
	}
}

// poll reads the change log after the last id seen and publishes a reload
// event when another node changed something. It also purges old rows.
func (c *Cluster) poll(ctx context.Context, conn *pgx.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, max(c.opts.Frequency, 5*time.Second))
	defer cancel()
	c.mu.Lock()
	last := c.last
	c.mu.Unlock()
	rows, err := conn.Query(ctx, `SELECT id, node_id, channel, CASE WHEN channel = $2 THEN '' ELSE data END
		FROM cluster_events WHERE id >= $1 ORDER BY id`, last, Channel)
	if err != nil {
		return err
	}
	next, sawLast, remote := last, false, false
	var messages [][2]string
	for rows.Next() {
		var id int64
		var node, channel, data string
		if err := rows.Scan(&id, &node, &channel, &data); err != nil {
			rows.Close()
			return err
		}
		if id == last {
			sawLast = true
			continue
		}
		next = id
		switch {
		case node == c.opts.NodeID:
		case channel == Channel:
			remote = true
		default:
			messages = append(messages, [2]string{channel, data})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if last > 0 && !sawLast {
		// The row we saw last is gone: rows after it may have been purged
		// before we read them (we were cut off longer than Retention), or
		// the log was reset. Reload everything to be sure.
		remote = true
		if next == last {
			if err := conn.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM cluster_events`).Scan(&next); err != nil {
				return err
			}
		}
	}
	c.mu.Lock()
	c.last = next
	purge := time.Since(c.lastPurge) > time.Minute
	if purge {
		c.lastPurge = time.Now()
	}
	c.mu.Unlock()
	if remote {
		c.opts.Bus.Publish(store.Event{Op: store.OpReload, Remote: true})
	}
	for _, m := range messages {
		c.opts.Bus.Deliver(m[0], m[1])
	}
	if purge {
		// The newest row stays, so every node can tell its position is
		// still current.
		_, err := conn.Exec(ctx, `DELETE FROM cluster_events WHERE at < now() - make_interval(secs => $1)
			AND id < (SELECT max(id) FROM cluster_events)`, Retention.Seconds())
		if err != nil {
			c.log.Warn("cluster: purging old change-log rows failed", "error", err)
		}
	}
	return nil
}

// Broadcast implements store.Broadcaster: it logs a message on channel in
// cluster_events (in id order with the changes, under the change log's
// lock) and notifies the other nodes, whose listeners deliver it on their
// bus (store.Bus.OnMessage). Messages live as long as the change log
// (Retention); a node cut off longer misses them, as a Kong node misses
// old cluster events.
func (c *Cluster) Broadcast(ctx context.Context, channel, data string) error {
	if channel == Channel {
		return errors.New("cluster: the change log's channel is reserved")
	}
	if c.opts.Backend == nil {
		return errors.New("cluster: no database to broadcast through")
	}
	db := c.opts.Backend.DB()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("cluster: broadcast on %s: %w", channel, err)
	}
	defer tx.Rollback() //nolint:errcheck // committed below
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(changeLogLock)); err != nil {
		return fmt.Errorf("cluster: broadcast on %s: %w", channel, err)
	}
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO cluster_events (node_id, channel, data) VALUES ($1, $2, $3) RETURNING id`,
		c.opts.NodeID, channel, data).Scan(&id); err != nil {
		return fmt.Errorf("cluster: broadcast on %s: %w", channel, err)
	}
	payload, _ := json.Marshal(notice{Node: c.opts.NodeID, ID: id})
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, Channel, string(payload)); err != nil {
		return fmt.Errorf("cluster: broadcast on %s: %w", channel, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("cluster: broadcast on %s: %w", channel, err)
	}
	return nil
}

var _ store.Broadcaster = (*Cluster)(nil)

// Seen returns the last change-log id the node has read.
func (c *Cluster) Seen() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// Close stops following changes; it never waits on an unreachable
// database. Writes through the backend stay logged, so other nodes keep
// learning of them.
func (c *Cluster) Close() {
	c.cancel()
	c.wg.Wait()
}
