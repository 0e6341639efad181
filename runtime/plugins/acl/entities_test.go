package acl_test

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/plugin/catalogtest"
	"github.com/gatehouse/gatehouse/runtime/plugins/acl"
	"github.com/gatehouse/gatehouse/store"
)

func TestEntitiesEnabledWithOwnerOrBundled(t *testing.T) {
	catalogtest.CheckOwnedEntity(t, acl.Owner, acl.GroupEntity, false)
}

func TestGroups(t *testing.T) {
	ctx := context.Background()
	s, _ := catalogtest.OpenStore(t, acl.Owner)
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
