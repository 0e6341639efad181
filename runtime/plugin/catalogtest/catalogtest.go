// Package catalogtest gives plugin tests a store whose entities come from
// the plugin catalog a `plugins` setting enables, and the checks every
// plugin that owns entities repeats: its entities exist when the owner (or
// "bundled") is enabled and not otherwise.
package catalogtest

import (
	"context"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
)

// OpenStore opens a store on a fresh in-memory SQLite database, validating
// plugin entities against, and serving the entities of, the catalog that
// the `plugins` setting names enables. The database closes with the test.
func OpenStore(t testing.TB, names ...string) (*store.Store, *plugin.Catalog) {
	t.Helper()
	catalog, err := plugin.NewCatalog(names)
	if err != nil {
		t.Fatalf("catalog for %v: %v", names, err)
	}
	b, err := sqlite.Open(context.Background(), sqlite.Memory)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	s, err := store.NewChecked(b, store.Options{Plugins: catalog})
	if err != nil {
		t.Fatalf("store for %v: %v", names, err)
	}
	return s, catalog
}

// CheckOwnedEntity asserts that entity is declared exactly when its owner
// is enabled, by name or through "bundled", and returns its declaration.
// When entitiesOnly is true the owner must not also be registered as a
// plugin (its handler is not written yet, so no fake plugin may exist).
func CheckOwnedEntity(t *testing.T, owner, entity string, entitiesOnly bool) *store.Entity {
	t.Helper()
	var decl *store.Entity
	for _, c := range []struct {
		plugins []string
		want    bool
	}{
		{[]string{"bundled"}, true},
		{[]string{owner}, true},
		{[]string{"off"}, false},
	} {
		s, _ := OpenStore(t, c.plugins...)
		e, ok := s.Registry().Entity(entity)
		if ok != c.want {
			t.Errorf("plugins %v: %s declared = %v, want %v", c.plugins, entity, ok, c.want)
		}
		if ok {
			decl = e
		}
	}
	if registered := slices.Contains(plugin.Bundled(), owner); entitiesOnly && registered {
		t.Errorf("%s is registered as a plugin; it owns entities only", owner)
	} else if !entitiesOnly && !registered {
		t.Errorf("%s is not registered as a plugin", owner)
	}
	if decl == nil {
		t.Fatalf("%s is never declared", entity)
	}
	return decl
}
