package hmacauth_test

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/plugin"
	hmacauth "github.com/gatehouse/gatehouse/runtime/plugins/hmac-auth"
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
		{[]string{hmacauth.Owner}, true},
		{[]string{"off"}, false},
	} {
		_, ok := openStore(t, c.plugins...).Registry().Entity(hmacauth.CredentialEntity)
		if ok != c.want {
			t.Errorf("plugins %v: %s declared = %v, want %v", c.plugins, hmacauth.CredentialEntity, ok, c.want)
		}
	}
	for _, name := range plugin.Bundled() {
		if name == hmacauth.Owner {
			t.Errorf("%s is registered as a plugin; it owns entities only", name)
		}
	}
}

func TestCredentials(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, hmacauth.Owner)
	c, err := s.Insert(ctx, "consumers", map[string]any{"username": "alice"})
	if err != nil {
		t.Fatal(err)
	}
	ref := map[string]any{"id": c["id"]}
	cred, err := s.Insert(ctx, hmacauth.CredentialEntity, map[string]any{"consumer": ref, "username": "alice-hmac"})
	if err != nil {
		t.Fatal(err)
	}
	if sec, _ := cred["secret"].(string); len(sec) != 32 {
		t.Errorf("generated secret %q", cred["secret"])
	}
	kept, err := s.Insert(ctx, hmacauth.CredentialEntity, map[string]any{"consumer": ref, "username": "given", "secret": "s3"})
	if err != nil || kept["secret"] != "s3" {
		t.Errorf("given secret: %v, %v", kept, err)
	}
	_, err = s.Insert(ctx, hmacauth.CredentialEntity, map[string]any{"consumer": ref, "username": "alice-hmac"})
	if e, ok := store.AsError(err); !ok || e.Code != store.CodeUniqueViolation {
		t.Errorf("duplicate username: %v", err)
	}
	if got, err := s.Get(ctx, hmacauth.CredentialEntity, "alice-hmac"); err != nil || got["id"] != cred["id"] {
		t.Errorf("Get by username = %v, %v", got, err)
	}
}
