package keyauth_test

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/plugin"
	keyauth "github.com/gatehouse/gatehouse/runtime/plugins/key-auth"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
)

func TestCredentialsDeclaredByThePlugin(t *testing.T) {
	for _, c := range []struct {
		plugins []string
		want    bool
	}{
		{[]string{"bundled"}, true},
		{[]string{keyauth.Name}, true},
		{[]string{"off"}, false},
	} {
		catalog, err := plugin.NewCatalog(c.plugins)
		if err != nil {
			t.Fatal(err)
		}
		reg, err := catalog.Registry()
		if err != nil {
			t.Fatal(err)
		}
		e, ok := reg.Entity(keyauth.CredentialEntity)
		if ok != c.want {
			t.Fatalf("plugins %v: declared = %v, want %v", c.plugins, ok, c.want)
		}
		if ok && (e.Path != "key-auths" || e.NestedSegment() != "key-auth" || !e.TTL) {
			t.Errorf("paths %q %q ttl %v", e.Path, e.NestedSegment(), e.TTL)
		}
	}
}

func TestCredentialKeyGenerated(t *testing.T) {
	ctx := context.Background()
	catalog, err := plugin.NewCatalog([]string{keyauth.Name})
	if err != nil {
		t.Fatal(err)
	}
	b, err := sqlite.Open(ctx, sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s := store.New(b, store.Options{Plugins: catalog})
	c, err := s.Insert(ctx, "consumers", map[string]any{"username": "bob"})
	if err != nil {
		t.Fatal(err)
	}
	gen, err := s.Insert(ctx, keyauth.CredentialEntity, map[string]any{"consumer": map[string]any{"id": c["id"]}})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := gen["key"].(string)
	if len(key) != 32 {
		t.Fatalf("generated key %q", gen["key"])
	}
	if got, err := s.FindUnique(ctx, keyauth.CredentialEntity, "key", key); err != nil || got["id"] != gen["id"] {
		t.Errorf("FindUnique = %v, %v", got, err)
	}
}
