package jwt_test

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/plugins/jwt"
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

func TestSecretsEnabledWithOwnerOrBundled(t *testing.T) {
	for _, c := range []struct {
		plugins []string
		want    bool
	}{
		{[]string{"bundled"}, true},
		{[]string{jwt.Owner}, true},
		{[]string{"off"}, false},
	} {
		_, ok := openStore(t, c.plugins...).Registry().Entity(jwt.SecretEntity)
		if ok != c.want {
			t.Errorf("plugins %v: %s declared = %v, want %v", c.plugins, jwt.SecretEntity, ok, c.want)
		}
	}
	for _, owner := range plugin.Bundled() {
		if owner == jwt.Owner {
			t.Errorf("%s is registered as a plugin; it owns entities only", owner)
		}
	}
}

func TestSecrets(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, jwt.Owner)
	c, err := s.Insert(ctx, "consumers", map[string]any{"username": "alice"})
	if err != nil {
		t.Fatal(err)
	}
	ref := map[string]any{"id": c["id"]}
	gen, err := s.Insert(ctx, jwt.SecretEntity, map[string]any{"consumer": ref})
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := gen["key"].(string); len(k) != 32 {
		t.Errorf("generated key %q", gen["key"])
	}
	if sec, _ := gen["secret"].(string); len(sec) != 32 || sec == gen["key"] {
		t.Errorf("generated secret %q", gen["secret"])
	}
	if gen["algorithm"] != "HS256" {
		t.Errorf("algorithm default %v", gen["algorithm"])
	}
	_, err = s.Insert(ctx, jwt.SecretEntity, map[string]any{"consumer": ref, "algorithm": "RS256"})
	if e, ok := store.AsError(err); !ok || e.Fields["rsa_public_key"] != "required field missing" {
		t.Errorf("RS256 without a public key: %v", err)
	}
	_, err = s.Insert(ctx, jwt.SecretEntity, map[string]any{"consumer": ref, "algorithm": "none"})
	if e, ok := store.AsError(err); !ok || e.Code != store.CodeSchemaViolation {
		t.Errorf("unknown algorithm: %v", err)
	}
	if got, err := s.Get(ctx, jwt.SecretEntity, gen["key"].(string)); err != nil || got["id"] != gen["id"] {
		t.Errorf("Get by key = %v, %v", got, err)
	}
}
