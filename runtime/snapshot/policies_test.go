package snapshot_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/balancer"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/policy"
	"github.com/gatehouse/gatehouse/runtime/snapshot"
	"github.com/gatehouse/gatehouse/store"
)

// binder records the policy sets the builder binds it to.
type binder struct{ bound *atomic.Pointer[policy.Set] }

func (b binder) Access(hostabi.Kong) error { return nil }
func (b binder) BindPolicies(s *policy.Set) {
	b.bound.Store(s)
}

var lastBound atomic.Pointer[policy.Set]

func init() {
	plugin.Register(&plugin.Definition{Name: "test-binder", Version: "1", Priority: 1,
		Schema: &store.PluginSchema{Name: "test-binder"},
		New:    func(map[string]any) (any, error) { return binder{bound: &lastBound}, nil }})
}

// TestPoliciesCompiledPerSnapshot: the policies entities are compiled
// into the snapshot's set with the builder's policy timeout; an unchanged
// policy is reused by the next snapshot, a changed one compiled again;
// instances that decide with policies, carried over or new, are bound to
// each snapshot's set.
func TestPoliciesCompiledPerSnapshot(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	catalog, _ := plugin.NewCatalog([]string{"test-binder"})
	st.SetPlugins(catalog)
	mustInsert(t, st, "plugins", map[string]any{"name": "test-binder"})
	mustInsert(t, st, "policies", map[string]any{"name": "a", "rego": "package a\nallow := true\n"})
	p := mustInsert(t, st, "policies", map[string]any{"name": "b", "rego": "package b\nallow := false\n"})
	b, err := snapshot.NewBuilder(ctx, st, catalog, nil, balancer.Options{}, snapshot.WithPolicyTimeout(7*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s1 := b.Current()
	a1, err := s1.Policies.Policy("a")
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := s1.Policies.Policy("b")
	if a1.Timeout() != 7*time.Millisecond {
		t.Errorf("policy timeout %v, want 7ms", a1.Timeout())
	}
	if lastBound.Load() != s1.Policies {
		t.Error("the instance is not bound to the first snapshot's policies")
	}
	if _, err := st.Update(ctx, "policies", p["id"].(string), map[string]any{"rego": "package b\nallow := true\n"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	s2 := b.Current()
	a2, _ := s2.Policies.Policy("a")
	b2, _ := s2.Policies.Policy("b")
	if a2 != a1 {
		t.Error("an unchanged policy was compiled again")
	}
	if b2 == b1 || b2 == nil {
		t.Error("a changed policy was not compiled again")
	}
	if lastBound.Load() != s2.Policies || s2.Policies == s1.Policies {
		t.Error("the carried-over instance is not bound to the new snapshot's policies")
	}
	ok, err := policy.NewDecider(b2, nil).Allow(ctx, &policy.Facts{})
	if err != nil || !ok {
		t.Errorf("the new version decides %v, %v", ok, err)
	}
	if _, err := st.Delete(ctx, "policies", "a"); err != nil {
		t.Fatal(err)
	}
	if err := b.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Current().Policies.Policy("a"); err == nil {
		t.Error("a deleted policy is still in the set")
	}
	if acl, err := b.Current().Policies.Shipped("acl"); err != nil || acl.Timeout() != 7*time.Millisecond {
		t.Errorf("shipped acl: %v, %v", acl, err)
	}
}
