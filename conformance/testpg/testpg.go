// Package testpg gives conformance tests a fresh, bootstrapped database on
// the Postgres server `make test` starts (.ci/services).
package testpg

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/config"
	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver
)

var seq atomic.Int64

// Settings creates a fresh database, runs `migrations bootstrap` on it and
// returns the node settings that use it. Outside CI a missing server skips
// with the reason; in CI it fails.
func Settings(t *testing.T) map[string]string {
	t.Helper()
	dsn := os.Getenv("GATEHOUSE_TEST_PG_DSN")
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("GATEHOUSE_TEST_PG_DSN is not set in CI: make test starts Postgres through .ci/services")
		}
		t.Skip("no Postgres: set GATEHOUSE_TEST_PG_DSN (make test does, via .ci/services)")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	name := fmt.Sprintf("gh_conf_%d_%d", time.Now().UnixNano(), seq.Add(1))
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", dsn); err == nil {
			db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			db.Close()
		}
	})
	u.Path = "/" + name
	return bootstrap(t, u)
}

// bootstrap runs `migrations bootstrap` on the database at u and returns the
// node settings that use it.
func bootstrap(t testing.TB, u *url.URL) map[string]string {
	t.Helper()
	settings := map[string]string{
		"database": "postgres", "pg_host": u.Hostname(), "pg_port": u.Port(),
		"pg_user": u.User.Username(), "pg_database": strings.TrimPrefix(u.Path, "/"),
	}
	cfg, err := config.Load(config.LoadOptions{Flags: settings})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Migrations(context.Background(), cfg, "bootstrap", false, io.Discard); err != nil {
		t.Fatal(err)
	}
	return settings
}
