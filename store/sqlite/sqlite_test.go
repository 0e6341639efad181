package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

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
