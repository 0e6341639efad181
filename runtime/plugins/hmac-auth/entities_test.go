package hmacauth_test

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/plugin/catalogtest"
	hmacauth "github.com/gatehouse/gatehouse/runtime/plugins/hmac-auth"
	"github.com/gatehouse/gatehouse/store"
)

func TestEntitiesEnabledWithOwnerOrBundled(t *testing.T) {
	catalogtest.CheckOwnedEntity(t, hmacauth.Owner, hmacauth.CredentialEntity, false)
}

func TestCredentials(t *testing.T) {
	ctx := context.Background()
	s, _ := catalogtest.OpenStore(t, hmacauth.Owner)
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
