// Package postgres opens Gatehouse's clustered store on PostgreSQL through
// jackc/pgx/v5. Unlike SQLite, a Postgres database must be bootstrapped
// (`gatehouse migrations bootstrap`) before the gateway starts on it, as with
// Kong.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/store/sqlstore"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// Dialect is Postgres's sqlstore dialect.
var Dialect = sqlstore.Dialect{
	Name:        "postgres",
	Dollar:      true,
	TableExists: `SELECT 1 WHERE to_regclass(?) IS NOT NULL`,
	IsUniqueViolation: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23505"
	},
	IsConnLost: connLost,
	// The change log's lock, taken at the start of every write instead of
	// only before its commit: writes from all nodes run one at a time
	// (LogChanges takes it again before commit; advisory locks stack).
	WriteLock: fmt.Sprintf(`SELECT pg_advisory_xact_lock(%d)`, int64(changeLogLock)),
}

// connLost reports errors of a connection the server closed: the shutdown
// and restart codes of class 57P (admin_shutdown, crash_shutdown,
// cannot_connect_now), or a failure pgconn knows happened before anything
// was sent.
func connLost(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return false // a new connection failed: the server is away, retrying now will not help
	}
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return strings.HasPrefix(e.Code, "57P")
	}
	return pgconn.SafeToRetry(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// Settings are the connection settings, named after Kong's pg_* settings.
type Settings struct {
	Host, User, Password, Database string
	Port                           int
	SSL                            bool
	// TimeoutMS is the connect timeout in milliseconds.
	TimeoutMS int
}

// DSN renders the settings as a connection URL.
func (s Settings) DSN() string {
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), Path: "/" + s.Database}
	if s.Password != "" {
		u.User = url.UserPassword(s.User, s.Password)
	} else {
		u.User = url.User(s.User)
	}
	q := url.Values{}
	if s.SSL {
		q.Set("sslmode", "require")
	} else {
		q.Set("sslmode", "disable")
	}
	if s.TimeoutMS > 0 {
		secs := (s.TimeoutMS + 999) / 1000
		q.Set("connect_timeout", strconv.Itoa(secs))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// ErrNotBootstrapped is returned by Open when the database has no schema.
var ErrNotBootstrapped = errors.New("database needs bootstrapping; run 'gatehouse migrations bootstrap'")

// ErrPending is returned by Open when migrations are pending.
var ErrPending = errors.New("new migrations available; run 'gatehouse migrations up'")

// Connect opens a pool on dsn without checking the schema (for migrations).
func Connect(ctx context.Context, dsn string) (*sqlstore.Backend, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db.SetMaxOpenConns(8)
	b := sqlstore.New(Dialect, db, db)
	if err := b.Ping(ctx); err != nil {
		b.Close()
		return nil, fmt.Errorf("postgres: connecting: %w", err)
	}
	return b, nil
}

// Open connects and requires a bootstrapped, up-to-date schema.
func Open(ctx context.Context, dsn string) (*sqlstore.Backend, error) {
	b, err := Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	m := sqlstore.NewMigrator(b)
	ok, err := m.Bootstrapped(ctx)
	if err == nil && !ok {
		err = ErrNotBootstrapped
	}
	if err == nil {
		var pending []string
		if _, pending, err = m.List(ctx); err == nil && len(pending) > 0 {
			err = ErrPending
		}
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	// Every write is logged for the nodes sharing the database, including
	// those of CLI commands (db_import); a node names itself in JoinCluster.
	LogChanges(b, "writer-"+uuid.NewString())
	return b, nil
}
