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
