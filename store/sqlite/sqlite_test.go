package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
	"github.com/gatehouse/gatehouse/store/sqlstore"
	"github.com/gatehouse/gatehouse/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, reopen bool) store.Backend {
		// Each subtest gets its own file; a reopen finds the same one.
		path := filepath.Join(dirFor(t, reopen), "gatehouse.db")
		b, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

var dirs = map[string]string{}

func dirFor(t *testing.T, reopen bool) string {
	if d, ok := dirs[t.Name()]; ok && reopen {
		return d
	}
	d := t.TempDir()
	dirs[t.Name()] = d
	return d
}

func TestMemory(t *testing.T) {
	b, err := sqlite.Open(context.Background(), sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s := store.New(b, store.Options{})
	if _, err := s.Insert(context.Background(), "consumers", map[string]any{"username": "a"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(context.Background(), "consumers"); n != 1 {
		t.Fatalf("count = %d", n)
	}
}

// openFile opens a SQLite file in a temporary folder.
func openFile(tb testing.TB) *store.Store {
	tb.Helper()
	b, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "gatehouse.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	return store.New(b, store.Options{Plugins: storetest.TestPlugins{}})
}

// cpuTime is the CPU time this process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU starts counting the process's CPU time and returns the
// function that reports it per operation: on a shared machine CPU per
// operation is steadier than the wall clock.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/op")
	}
}

// BenchmarkInsertRoute is one route create on a file database holding
// thousands of them, as the Admin API's POST /routes does it (validation,
// the service's existence, the name's uniqueness, the row and its index
// rows, the commit in WAL mode).
func BenchmarkInsertRoute(b *testing.B) {
	ctx := context.Background()
	s := openFile(b)
	svc, err := s.Insert(ctx, "services", map[string]any{"name": "s", "host": "example.com"})
	if err != nil {
		b.Fatal(err)
	}
	ref := map[string]any{"id": svc["id"]}
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for i := 0; i < b.N; i++ {
		if _, err := s.Insert(ctx, "routes", map[string]any{"name": fmt.Sprintf("r%d", i),
			"paths": []any{fmt.Sprintf("/r%d/", i)}, "service": ref}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInsertConsumer is one consumer create on a file database.
func BenchmarkInsertConsumer(b *testing.B) {
	ctx := context.Background()
	s := openFile(b)
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for i := 0; i < b.N; i++ {
		if _, err := s.Insert(ctx, "consumers", map[string]any{"username": fmt.Sprintf("c%d", i)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetRoute reads a route by name, as every Admin API read does.
func BenchmarkGetRoute(b *testing.B) {
	ctx := context.Background()
	s := openFile(b)
	if _, err := s.Insert(ctx, "routes", map[string]any{"name": "r", "paths": []any{"/r"}}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for i := 0; i < b.N; i++ {
		if _, err := s.Get(ctx, "routes", "r"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInsertCredential is one key-auth credential create under a
// consumer named by username, as the Admin API's POST
// /consumers/{username}/key-auth does it, among b.N consumers.
func BenchmarkInsertCredential(b *testing.B) {
	ctx := context.Background()
	s := openFile(b)
	for i := 0; i < b.N; i++ {
		if _, err := s.Insert(ctx, "consumers", map[string]any{"username": fmt.Sprintf("c%d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for i := 0; i < b.N; i++ {
		c, err := s.Get(ctx, "consumers", fmt.Sprintf("c%d", i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Insert(ctx, "keyauth_credentials", map[string]any{"key": fmt.Sprintf("key-%d", i),
			"consumer": map[string]any{"id": c["id"]}}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestIndexTablesMigration: a database made before 003_sqlite_index_tables
// (rowid index tables, two indexes on entity_refs) keeps every row,
// reference and tag through the migration, and the rebuilt tables serve
// the store's rules: uniqueness, foreign keys, nested listing, tags.
func TestIndexTablesMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	all := sqlstore.Migrations
	var before map[string][]map[string]any
	func() {
		sqlstore.Migrations = all[:3]
		defer func() { sqlstore.Migrations = all }()
		b, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if tableSQL(t, b, "entity_refs") == "" || strings.Contains(tableSQL(t, b, "entity_refs"), "WITHOUT ROWID") {
			t.Fatalf("the old layout is not what the test starts from: %s", tableSQL(t, b, "entity_refs"))
		}
		s := store.New(b, store.Options{Plugins: storetest.TestPlugins{}})
		svc, err := s.Insert(ctx, "services", map[string]any{"name": "svc", "host": "example.com", "tags": []any{"a", "b"}})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			if _, err := s.Insert(ctx, "routes", map[string]any{"name": fmt.Sprintf("r%d", i), "paths": []any{fmt.Sprintf("/r%d", i)},
				"service": map[string]any{"id": svc["id"]}, "tags": []any{"a"}}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.InsertUnder(ctx, "keyauth_credentials", store.Parent{Entity: "consumers", Key: fmt.Sprintf("c%d", i), Field: "consumer"},
				map[string]any{"key": fmt.Sprintf("k%d", i)}); !store.IsNotFound(err) {
				t.Fatalf("a key under a missing consumer: %v", err)
			}
			if _, err := s.Insert(ctx, "consumers", map[string]any{"username": fmt.Sprintf("c%d", i)}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.InsertUnder(ctx, "keyauth_credentials", store.Parent{Entity: "consumers", Key: fmt.Sprintf("c%d", i), Field: "consumer"},
				map[string]any{"key": fmt.Sprintf("k%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		if before, err = s.Export(ctx); err != nil {
			t.Fatal(err)
		}
	}()

	b, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, table := range []string{"entity_uniques", "entity_refs", "entity_tags"} {
		if !strings.Contains(tableSQL(t, b, table), "WITHOUT ROWID") {
			t.Errorf("%s after the migration: %s", table, tableSQL(t, b, table))
		}
	}
	s := store.New(b, store.Options{Plugins: storetest.TestPlugins{}})
	after, err := s.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("after the migration:\n%v\nbefore:\n%v", after, before)
	}
	checks := []struct {
		name string
		run  func() error
		code store.Code
	}{
		{"a taken route name", func() error {
			_, err := s.Insert(ctx, "routes", map[string]any{"name": "r1", "paths": []any{"/x"}})
			return err
		}, store.CodeUniqueViolation},
		{"a taken key", func() error {
			_, err := s.InsertUnder(ctx, "keyauth_credentials", store.Parent{Entity: "consumers", Key: "c0", Field: "consumer"}, map[string]any{"key": "k2"})
			return err
		}, store.CodeUniqueViolation},
		{"deleting a referenced service", func() error {
			_, err := s.Delete(ctx, "services", "svc")
			return err
		}, store.CodeForeignKeyViolation},
	}
	for _, c := range checks {
		e, ok := store.AsError(c.run())
		if !ok || e.Code != c.code {
			t.Errorf("%s: %v, want code %d", c.name, e, c.code)
		}
	}
	page, err := s.List(ctx, "routes", store.ListQuery{ForeignField: "service", ForeignKey: "svc"})
	if err != nil || len(page.Data) != 3 {
		t.Fatalf("routes of svc: %d %v", len(page.Data), err)
	}
	page, err = s.List(ctx, "keyauth_credentials", store.ListQuery{ForeignField: "consumer", ForeignKey: "c1"})
	if err != nil || len(page.Data) != 1 || page.Data[0]["key"] != "k1" {
		t.Fatalf("keys of c1: %v %v", page.Data, err)
	}
	page, err = s.List(ctx, "routes", store.ListQuery{Tags: []string{"a"}})
	if err != nil || len(page.Data) != 3 {
		t.Fatalf("routes tagged a: %d %v", len(page.Data), err)
	}
	// Deleting a consumer cascades to its key through the references.
	if _, err := s.Delete(ctx, "consumers", "c2"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx, "keyauth_credentials"); n != 2 {
		t.Errorf("%d keys after deleting c2, want 2", n)
	}
	// The lookups by reference use the new index, not a scan.
	for _, q := range []string{
		`SELECT entity, id, field FROM entity_refs WHERE ref_entity = 'services' AND ref_id = 'x' ORDER BY entity, id`,
		`SELECT r.id FROM entity_refs r WHERE r.entity = 'routes' AND r.field = 'service' AND r.ref_id = 'x'`,
	} {
		if plan := queryPlan(t, b, q); !strings.Contains(plan, "entity_refs_by_ref") {
			t.Errorf("plan of %s: %s", q, plan)
		}
	}
}

// tableSQL is a table's CREATE statement.
func tableSQL(t *testing.T, b *sqlstore.Backend, table string) string {
	t.Helper()
	var sql string
	if err := b.DB().QueryRow(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&sql); err != nil {
		t.Fatalf("%s: %v", table, err)
	}
	return sql
}

// queryPlan is EXPLAIN QUERY PLAN's details, one line each.
func queryPlan(t *testing.T, b *sqlstore.Backend, q string) string {
	t.Helper()
	rows, err := b.DB().Query(`EXPLAIN QUERY PLAN ` + q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, detail)
	}
	return strings.Join(out, "\n")
}

// TestWriterSettings: the writer connection runs in WAL mode with
// synchronous=NORMAL (1) and the checkpoint interval Open sets, and the
// default page cache (2,000 KiB: a larger one saved few reads for the
// memory it took).
func TestWriterSettings(t *testing.T) {
	b, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, c := range []struct{ pragma, want string }{
		{"journal_mode", "wal"}, {"synchronous", "1"}, {"wal_autocheckpoint", "4000"}, {"cache_size", "-2000"},
	} {
		var got string
		if err := b.DB().QueryRow("PRAGMA " + c.pragma).Scan(&got); err != nil || got != c.want {
			t.Errorf("PRAGMA %s = %q (%v), want %q", c.pragma, got, err, c.want)
		}
	}
}
