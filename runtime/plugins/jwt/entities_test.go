package jwt_test

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/plugin/catalogtest"
	"github.com/gatehouse/gatehouse/runtime/plugins/jwt"
	"github.com/gatehouse/gatehouse/store"
)

func TestSecretsDeclaredByThePlugin(t *testing.T) {
	catalogtest.CheckOwnedEntity(t, jwt.Owner, jwt.SecretEntity, false)
}

func TestSecrets(t *testing.T) {
	ctx := context.Background()
	s, _ := catalogtest.OpenStore(t, jwt.Owner)
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

func TestSecretPublicKeyValidated(t *testing.T) {
	ctx := context.Background()
	s, _ := catalogtest.OpenStore(t, jwt.Owner)
	c, err := s.Insert(ctx, "consumers", map[string]any{"username": "bob"})
	if err != nil {
		t.Fatal(err)
	}
	ref := map[string]any{"id": c["id"]}
	_, err = s.Insert(ctx, jwt.SecretEntity, map[string]any{"consumer": ref, "algorithm": "RS256", "rsa_public_key": "not a key"})
	if e, ok := store.AsError(err); !ok || e.Fields["rsa_public_key"] != "invalid key" {
		t.Errorf("bad PEM: %v", err)
	}
	if _, err := s.Insert(ctx, jwt.SecretEntity, map[string]any{"consumer": ref, "algorithm": "RS256", "rsa_public_key": pemOf(&testKeys.rsa.PublicKey)}); err != nil {
		t.Errorf("good PEM: %v", err)
	}
	// Kong's conditional names RS*, PS* and EdDSA; ES* secrets may leave the
	// key out (their tokens then fail with "Invalid key/secret").
	for alg, needsKey := range map[string]bool{"EdDSA": true, "PS512": true, "ES256": false, "HS384": false} {
		_, err := s.Insert(ctx, jwt.SecretEntity, map[string]any{"consumer": ref, "algorithm": alg})
		if e, ok := store.AsError(err); needsKey != (ok && e.Fields["rsa_public_key"] == "required field missing") {
			t.Errorf("%s without a key: %v", alg, err)
		}
	}
}
