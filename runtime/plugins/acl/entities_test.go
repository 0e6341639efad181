package acl_test

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/plugins/acl"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
)

// openStore opens an in-memory store with the entities the catalog for
// names enables.
func openStore(t *testing.T, names ...string) *store.Store {
	t.Helper()
	catalog, err := plugin.NewCatalog(names)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sqlite.Open(context.Background(), sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return store.New(b, store.Options{Plugins: catalog})
}

func TestEntitiesEnabledWithOwnerOrBundled(t *testing.T) {
	for _, c := range []struct {
		plugins []string
		want    bool
	}{
		{[]string{"bundled"}, true},
		{[]string{acl.Owner}, true},
		{[]string{"off"}, false},
	} {
		_, ok := openStore(t, c.plugins...).Registry().Entity(acl.GroupEntity)
		if ok != c.want {
			t.Errorf("plugins %v: %s declared = %v, want %v", c.plugins, acl.GroupEntity, ok, c.want)
		}
	}
	for _, name := range plugin.Bundled() {
		if name == acl.Owner {
			t.Errorf("%s is registered as a plugin; it owns entities only", name)
		}
	}
}

func TestGroups(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, acl.Owner)
	c, err := s.Insert(ctx, "consumers", map[string]any{"username": "alice"})
	if err != nil {
		t.Fatal(err)
	}
	ref := map[string]any{"id": c["id"]}
	if _, err := s.Insert(ctx, acl.GroupEntity, map[string]any{"consumer": ref, "group": "admins"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Insert(ctx, acl.GroupEntity, map[string]any{"consumer": ref, "group": "admins"})
	if e, ok := store.AsError(err); !ok || e.Code != store.CodeUniqueViolation {
		t.Errorf("second admins membership: %v", err)
	}
	_, err = s.Insert(ctx, acl.GroupEntity, map[string]any{"consumer": ref})
	if e, ok := store.AsError(err); !ok || e.Fields["group"] != "required field missing" {
		t.Errorf("membership without a group: %v", err)
	}
	e, _ := s.Registry().Entity(acl.GroupEntity)
	if e.ParentKey != "group" || e.EndpointKey != "" {
		t.Errorf("ParentKey %q EndpointKey %q: a group names a membership only under its consumer", e.ParentKey, e.EndpointKey)
	}
}
