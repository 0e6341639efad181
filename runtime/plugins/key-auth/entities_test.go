package keyauth_test

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/plugin/catalogtest"
	keyauth "github.com/gatehouse/gatehouse/runtime/plugins/key-auth"
)

func TestCredentialsDeclaredByThePlugin(t *testing.T) {
	e := catalogtest.CheckOwnedEntity(t, keyauth.Name, keyauth.CredentialEntity, false)
	if e.Path != "key-auths" || e.NestedSegment() != "key-auth" || !e.TTL {
		t.Errorf("paths %q %q ttl %v", e.Path, e.NestedSegment(), e.TTL)
	}
}

func TestCredentialKeyGenerated(t *testing.T) {
	ctx := context.Background()
	s, _ := catalogtest.OpenStore(t, keyauth.Name)
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
