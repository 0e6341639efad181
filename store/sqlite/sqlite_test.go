package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
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
