package declarative

import (
	"runtime"
	"time"
	"fmt"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
	"github.com/gatehouse/gatehouse/store/storetest"
)

var (
	fuzzOnce     sync.Once
	fuzzStore    *store.Store
	fuzzBaseline *Config
)

// fuzzTarget returns a store shared by the fuzz inputs of this process,
// holding the training configuration.
func fuzzTarget(t *testing.T) *store.Store {
	fuzzOnce.Do(func() {
		data, err := os.ReadFile(filepath.Join("testdata", "training.yml"))
		if err != nil {
			t.Fatal(err)
		}
		fuzzBaseline = mustParse(t, data)
		// The store lives as long as the fuzzing process.
		b, err := sqlite.Open(context.Background(), sqlite.Memory)
		if err != nil {
			t.Fatal(err)
		}
		fuzzStore = store.New(b, store.Options{Plugins: storetest.TestPlugins{}, Now: fixedNow})
		if err := fuzzBaseline.Load(context.Background(), fuzzStore, true); err != nil {
			t.Fatal(err)
		}
	})
	return fuzzStore
}

func counts(t *testing.T, s *store.Store) map[string]int {
	out := map[string]int{}
	for _, e := range s.Registry().All() {
		n, err := s.Count(context.Background(), e.Name)
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name] = n
	}
	return out
}

// FuzzParse checks that Parse never panics, that it fails only with
// declarative configuration errors, that it is deterministic, and that
// loading what it accepts either succeeds or leaves the store untouched.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.yml"))
	more, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	bad, _ := filepath.Glob(filepath.Join("testdata", "bad", "*.yml"))
	for _, path := range append(append(files, more...), bad...) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		os.WriteFile(fmt.Sprintf("/tmp/fuzzlast-%d", os.Getpid()), data, 0o644) // DEBUG
		wd := time.AfterFunc(5*time.Second, func() { // DEBUG
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			os.WriteFile(fmt.Sprintf("/tmp/fuzzstack-%d", os.Getpid()), buf[:n], 0o644)
		})
		defer wd.Stop()
		cfg, err := Parse(data)
		if err != nil {
			if !IsInvalid(err) {
				t.Fatalf("Parse error %T %v is not a declarative configuration error", err, err)
			}
			return
		}
		again, err := Parse(data)
		if err != nil || !reflect.DeepEqual(cfg.Entities(), again.Entities()) {
			t.Fatalf("Parse is not deterministic: %v", err)
		}
		ctx := context.Background()
		s := fuzzTarget(t)
		before := counts(t, s)
		if err := cfg.Load(ctx, s, true); err != nil {
			if !IsInvalid(err) {
				t.Fatalf("Load error %T %v is not a declarative configuration error", err, err)
			}
			if after := counts(t, s); !reflect.DeepEqual(before, after) {
				t.Fatalf("failed Load changed the store: %v -> %v (%v)", before, after, err)
			}
			return
		}
		if err := fuzzBaseline.Load(ctx, s, true); err != nil {
			t.Fatalf("reloading the baseline: %v", err)
		}
	})
}
