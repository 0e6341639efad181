package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/postgres"
	"github.com/gatehouse/gatehouse/store/sqlstore"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// testDSN returns the server `.ci/services start` runs. Outside CI a missing
// server skips with the reason; in CI it fails.
func testDSN(t *testing.T) string {
	dsn := os.Getenv("GATEHOUSE_TEST_PG_DSN")
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("GATEHOUSE_TEST_PG_DSN is not set in CI: make test starts Postgres through .ci/services")
		}
		t.Skip("no Postgres: set GATEHOUSE_TEST_PG_DSN (make test does, via .ci/services)")
	}
	return dsn
}

var dbSeq atomic.Int64

// freshDatabase creates an empty database on the test server and returns its DSN.
func freshDatabase(t *testing.T) string {
	dsn := testDSN(t)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("gh_test_%d_%d", time.Now().UnixNano(), dbSeq.Add(1))
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", dsn)
		if err == nil {
			a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			a.Close()
		}
	})
	u, _ := url.Parse(dsn)
	u.Path = "/" + name
	return u.String()
}

func TestStore(t *testing.T) {
	dsns := map[string]string{}
	storetest.Run(t, func(t *testing.T, reopen bool) store.Backend {
		ctx := context.Background()
		dsn, ok := dsns[t.Name()]
		if !ok || !reopen {
			dsn = freshDatabase(t)
			dsns[t.Name()] = dsn
			b, err := postgres.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			if err := sqlstore.NewMigrator(b).Bootstrap(ctx); err != nil {
				t.Fatal(err)
			}
			b.Close()
		}
		b, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func TestOpenRequiresBootstrap(t *testing.T) {
	dsn := freshDatabase(t)
	_, err := postgres.Open(context.Background(), dsn)
	if err == nil || !strings.Contains(err.Error(), "migrations bootstrap") {
		t.Fatalf("open of an empty database: %v", err)
	}
	b, err := postgres.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m := sqlstore.NewMigrator(b)
	if err := m.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	done, pending, err := m.List(context.Background())
	if err != nil || len(done) != len(sqlstore.MigrationsFor("postgres")) || len(pending) != 0 {
		t.Fatalf("list: %v %v %v", done, pending, err)
	}
	if err := m.Bootstrap(context.Background()); err == nil {
		t.Fatal("second bootstrap accepted")
	}
	if err := m.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ok, _ := m.Bootstrapped(context.Background()); ok {
		t.Fatal("still bootstrapped after reset")
	}
}

// TestUpgradeAddsChangeLog: a database bootstrapped before the change log
// existed is refused until `migrations up`, which adds it.
func TestUpgradeAddsChangeLog(t *testing.T) {
	ctx := context.Background()
	dsn := freshDatabase(t)
	b, err := postgres.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m := sqlstore.NewMigrator(b)
	if err := m.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	// As an older release left it.
	if _, err := b.DB().Exec(`DROP TABLE cluster_events; DELETE FROM gatehouse_migrations WHERE name = '001_cluster_events'`); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Open(ctx, dsn); err == nil || !strings.Contains(err.Error(), "migrations up") {
		t.Fatalf("open of an old schema: %v", err)
	}
	applied, err := m.Up(ctx)
	if err != nil || len(applied) != 1 || applied[0] != "001_cluster_events" {
		t.Fatalf("up: %v %v", applied, err)
	}
	o, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	o.Close()
}
