package oauth2_test

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/plugin/catalogtest"
	"github.com/gatehouse/gatehouse/runtime/plugins/oauth2"
	"github.com/gatehouse/gatehouse/store"
)

func TestEntitiesEnabledWithOwnerOrBundled(t *testing.T) {
	for _, e := range []string{oauth2.CredentialEntity, oauth2.CodeEntity, oauth2.TokenEntity} {
		catalogtest.CheckOwnedEntity(t, oauth2.Owner, e, false)
	}
}

func TestCredentials(t *testing.T) {
	ctx := context.Background()
	s, _ := catalogtest.OpenStore(t, oauth2.Owner)
	c, err := s.Insert(ctx, "consumers", map[string]any{"username": "alice"})
	if err != nil {
		t.Fatal(err)
	}
	ref := map[string]any{"id": c["id"]}
	app, err := s.Insert(ctx, oauth2.CredentialEntity, map[string]any{"consumer": ref, "name": "app",
		"redirect_uris": []any{"https://example.com/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := app["client_id"].(string); len(id) != 32 {
		t.Errorf("generated client_id %q", app["client_id"])
	}
	if app["client_type"] != "confidential" || app["hash_secret"] != false {
		t.Errorf("defaults: client_type %v hash_secret %v", app["client_type"], app["hash_secret"])
	}
	_, err = s.Insert(ctx, oauth2.CredentialEntity, map[string]any{"consumer": ref, "name": "bad", "redirect_uris": []any{"not a url"}})
	if e, ok := store.AsError(err); !ok || e.Code != store.CodeSchemaViolation {
		t.Errorf("relative redirect URI: %v", err)
	}
	if got, err := s.Get(ctx, oauth2.CredentialEntity, app["client_id"].(string)); err != nil || got["id"] != app["id"] {
		t.Errorf("Get by client_id = %v, %v", got, err)
	}
}

func TestHashSecretOnWrite(t *testing.T) {
	ctx := context.Background()
	s, _ := catalogtest.OpenStore(t, oauth2.Owner)
	c, err := s.Insert(ctx, "consumers", map[string]any{"username": "alice"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := s.Insert(ctx, oauth2.CredentialEntity, map[string]any{"consumer": map[string]any{"id": c["id"]}, "name": "app",
		"client_secret": "plain", "hash_secret": true})
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := app["client_secret"].(string)
	if !oauth2.VerifySecret("plain", hash) {
		t.Fatalf("stored secret %q", hash)
	}
	id := app["id"].(string)
	up, err := s.Update(ctx, oauth2.CredentialEntity, id, map[string]any{"name": "renamed"})
	if err != nil || up["client_secret"] != hash {
		t.Errorf("an update without a new secret rehashed it: %v, %v", up["client_secret"], err)
	}
	up, err = s.Update(ctx, oauth2.CredentialEntity, id, map[string]any{"client_secret": "new"})
	if got, _ := up["client_secret"].(string); err != nil || !oauth2.VerifySecret("new", got) {
		t.Errorf("new secret stored as %q, %v", got, err)
	}
	plain, err := s.Insert(ctx, oauth2.CredentialEntity, map[string]any{"consumer": map[string]any{"id": c["id"]}, "name": "p", "client_secret": "kept"})
	if err != nil || plain["client_secret"] != "kept" {
		t.Errorf("unhashed secret %v, %v", plain["client_secret"], err)
	}
	_, err = s.Insert(ctx, oauth2.CredentialEntity, map[string]any{"consumer": map[string]any{"id": c["id"]}, "name": "f",
		"redirect_uris": []any{"https://a.test/cb#frag"}})
	if e, ok := store.AsError(err); !ok || e.Code != store.CodeSchemaViolation {
		t.Errorf("fragment accepted: %v", err)
	}
}
