package declarative

import (
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
	fuzzStores   [2]*store.Store
	fuzzBaseline *Config
)

// fuzzTargets returns two stores shared by the fuzz inputs of this process:
// the first holds the training configuration between inputs, the second
// receives round trips.
func fuzzTargets(t *testing.T) (*store.Store, *store.Store) {
	fuzzOnce.Do(func() {
		data, err := os.ReadFile(filepath.Join("testdata", "training.yml"))
		if err != nil {
			t.Fatal(err)
		}
		fuzzBaseline = mustParse(t, data)
		for i := range fuzzStores {
			// The stores live as long as the fuzzing process.
			b, err := sqlite.Open(context.Background(), sqlite.Memory)
			if err != nil {
				t.Fatal(err)
			}
			fuzzStores[i] = store.New(b, store.Options{Plugins: storetest.TestPlugins{}, Now: fixedNow})
		}
		if err := fuzzBaseline.Load(context.Background(), fuzzStores[0], true); err != nil {
			t.Fatal(err)
		}
	})
	if fuzzStores[1] == nil {
		t.Fatal("fuzz stores not opened")
	}
	return fuzzStores[0], fuzzStores[1]
}

func dump(t *testing.T, s *store.Store) map[string][]map[string]any {
	out, err := s.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzParse checks that Parse never panics, fails only with declarative
// configuration errors and is deterministic; that loading what it accepts
// either succeeds or leaves the store exactly as it was (all or nothing,
// with and without replace); and that a successful load survives a round
// trip through Export.
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
		cfg, err := Parse(data, testRegistry)
		if err != nil {
			if !IsInvalid(err) {
				t.Fatalf("Parse error %T %v is not a declarative configuration error", err, err)
			}
			return
		}
		again, err := Parse(data, testRegistry)
		if err != nil || !reflect.DeepEqual(cfg.Entities(), again.Entities()) {
			t.Fatalf("Parse is not deterministic: %v", err)
		}
		ctx := context.Background()
		s, other := fuzzTargets(t)
		before := dump(t, s)
		replace := len(data)%2 == 0
		if err := cfg.Load(ctx, s, replace); err != nil {
			if !IsInvalid(err) {
				t.Fatalf("Load error %T %v is not a declarative configuration error", err, err)
			}
			if after := dump(t, s); !reflect.DeepEqual(before, after) {
				t.Fatalf("failed Load (replace=%v) changed the store: %v", replace, err)
			}
			return
		}
		if replace {
			exported, err := Export(ctx, s)
			if err != nil {
				t.Fatalf("export: %v", err)
			}
			back, err := Parse(exported, testRegistry)
			if err != nil {
				t.Fatalf("parsing the export: %v\n%s", err, exported)
			}
			if err := back.Load(ctx, other, true); err != nil {
				t.Fatalf("loading the export: %v\n%s", err, exported)
			}
			if a, b := dump(t, s), dump(t, other); !reflect.DeepEqual(a, b) {
				t.Fatalf("round trip differs:\n%v\n%v", a, b)
			}
		}
		if err := fuzzBaseline.Load(ctx, s, true); err != nil {
			t.Fatalf("reloading the baseline: %v", err)
		}
	})
}
