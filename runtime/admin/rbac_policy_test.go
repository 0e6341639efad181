package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/runtime/policy"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
)

// fakeTeams is a Teams with fixed memberships and owners.
type fakeTeams struct {
	member        []TeamMembership
	owners        []string
	refuse        error
	calls, scoped atomic.Int32
	visibleEntity string
}

func (f *fakeTeams) Memberships(context.Context, store.Actor) ([]TeamMembership, error) {
	f.calls.Add(1)
	return f.member, nil
}

func (f *fakeTeams) Scope(context.Context, Call, []TeamMembership) ([]string, error) {
	f.scoped.Add(1)
	return f.owners, f.refuse
}

func (f *fakeTeams) Visible(_ context.Context, _ Call, entity string, _ map[string]any) bool {
	return entity == f.visibleEntity
}

func rbacStore(t *testing.T) *store.Store {
	t.Helper()
	bk, err := sqlite.Open(context.Background(), sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bk.Close() })
	st := store.New(bk, store.Options{})
	if err := SeedRoles(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if err := SeedRoles(context.Background(), st); err != nil {
		t.Fatalf("seeding twice: %v", err)
	}
	return st
}

func userActor(t *testing.T, st *store.Store, name string, roles ...string) store.Actor {
	t.Helper()
	rec, err := CreateUser(context.Background(), st, map[string]any{"name": name}, roles)
	if err != nil {
		t.Fatal(err)
	}
	return store.Actor{ID: rec["id"].(string), Name: name}
}

func setWith(t *testing.T, sources ...policy.Source) func() *policy.Set {
	t.Helper()
	set, err := policy.NewCompiler(policy.Options{}).Build(1, sources)
	if err != nil {
		t.Fatal(err)
	}
	return func() *policy.Set { return set }
}

func status(err error) int {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Status
	}
	if err != nil {
		return http.StatusInternalServerError
	}
	return http.StatusOK
}

// TestAuthorizeWithTeams: with Teams set, Authorize asks it for the
// caller's memberships and the call's scope; the teams' roles join the
// caller's, the owners reach the policies, a Scope refusal ends the call.
func TestAuthorizeWithTeams(t *testing.T) {
	ctx := context.Background()
	st := rbacStore(t)
	alice := userActor(t, st, "alice")
	teams := &fakeTeams{member: []TeamMembership{{ID: "t1", Name: "payments", Admin: true, Roles: []string{"read-only"}}},
		owners: []string{"payments"}, visibleEntity: "services"}
	guard := "package admin.owned\ndeny contains msg if {\n\tinput.action == \"update\"\n\t\"payments\" in input.entity.teams\n\tmsg := \"payments owns it\"\n}\n"
	r := &RBAC{Store: st, Teams: teams, Policies: setWith(t, policy.Source{Name: "owned", Rego: guard})}
	cases := []struct {
		name   string
		call   Call
		status int
	}{
		{"team role reads", Call{Entity: "services", Operation: OpList, Method: "GET", Path: "/services"}, 200},
		{"team role does not create", Call{Entity: "services", Operation: OpCreate, Method: "POST", Path: "/services"}, 403},
		{"team admin adds members", Call{Entity: "/teams", Operation: OpCreate, Method: "POST", Path: "/teams/payments/members"}, 200},
		{"not another team's", Call{Entity: "/teams", Operation: OpCreate, Method: "POST", Path: "/teams/billing/members"}, 403},
	}
	for _, c := range cases {
		c.call.Actor = alice
		if got := status(r.Authorize(ctx, c.call)); got != c.status {
			t.Errorf("%s: %d, want %d", c.name, got, c.status)
		}
	}
	if teams.calls.Load() != int32(len(cases)) || teams.scoped.Load() != int32(len(cases)) {
		t.Errorf("Memberships called %d times, Scope %d, want %d each", teams.calls.Load(), teams.scoped.Load(), len(cases))
	}
	// The owners reach input.entity.teams: the rule refuses an update.
	teams.member[0].Roles = []string{"admin"}
	err := r.Authorize(ctx, Call{Actor: alice, Entity: "services", Operation: OpUpdate, Key: "x", Method: "PATCH", Path: "/services/x"})
	var ref *Refusal
	if !errors.As(err, &ref) || ref.Status != 403 || ref.Message != "payments owns it" {
		t.Errorf("update of a payments entity: %v", err)
	}
	// A Scope refusal is the answer.
	teams.refuse = &Refusal{Status: 404, Message: "Not found"}
	if got := status(r.Authorize(ctx, Call{Actor: alice, Entity: "services", Operation: OpRead, Key: "x", Method: "GET", Path: "/services/x"})); got != 404 {
		t.Errorf("scope refusal: %d, want 404", got)
	}
	if !r.Visible(ctx, Call{Actor: alice}, "services", nil) || r.Visible(ctx, Call{Actor: alice}, "routes", nil) {
		t.Error("Visible does not delegate to Teams")
	}
}

// TestAuthorizeFailsClosed: an admin rule that runs out of time, or one
// that no longer compiles, fails the call with an error (500), never
// lets it through; a super-admin still reaches /policies to fix it.
func TestAuthorizeFailsClosed(t *testing.T) {
	ctx := context.Background()
	st := rbacStore(t)
	root := userActor(t, st, "root", "super-admin")
	slow := "package admin.slow\ndeny contains \"x\" if {\n\tr := numbers.range(1, 1000)\n\tsome i in r\n\tsome j in r\n\tsome k in r\n\ti + j + k < 0\n}\n"
	r := &RBAC{Store: st, Policies: setWith(t, policy.Source{Name: "slow", Rego: slow}), Timeout: 5 * time.Millisecond}
	call := Call{Actor: root, Entity: "services", Operation: OpList, Method: "GET", Path: "/services"}
	err := r.Authorize(ctx, call)
	if status(err) != 500 || !errors.Is(err, policy.ErrTimeout) {
		t.Errorf("slow rule: %v, want a timeout error", err)
	}
	broken := "package admin.broken\ndeny contains y if {\n\ty := no_such_function(1)\n}\n"
	r = &RBAC{Store: st, Policies: setWith(t, policy.Source{Name: "broken", Rego: broken})}
	if err := r.Authorize(ctx, call); status(err) != 500 || !strings.Contains(err.Error(), "does not compile") {
		t.Errorf("broken rule: %v, want a 500 error", err)
	}
	fix := Call{Actor: root, Entity: "policies", Operation: OpDelete, Key: "broken", Method: "DELETE", Path: "/policies/broken"}
	if err := r.Authorize(ctx, fix); err != nil {
		t.Errorf("super-admin fixing /policies: %v", err)
	}
	// Without a snapshot's set, the shipped policy alone decides.
	r = &RBAC{Store: st}
	if err := r.Authorize(ctx, call); err != nil {
		t.Errorf("shipped policy alone: %v", err)
	}
	nobody := userActor(t, st, "nobody")
	if got := status(r.Authorize(ctx, Call{Actor: nobody, Entity: "/", Operation: OpRead, Method: "GET", Path: "/"})); got != 403 {
		t.Errorf("a user without roles: %d, want 403 (deny by default)", got)
	}
}

// TestSeedRolesDropsStaleEndpoints: an endpoint stored for a predefined
// role that the role no longer grants (seeded by an earlier version) is
// removed by the next seeding; the granted ones stay.
func TestSeedRolesDropsStaleEndpoints(t *testing.T) {
	ctx := context.Background()
	st := rbacStore(t)
	role, err := st.Get(ctx, "rbac_roles", "read-only")
	if err != nil {
		t.Fatal(err)
	}
	id := role["id"].(string)
	if _, err := st.Insert(ctx, "rbac_role_endpoints", map[string]any{"role": map[string]any{"id": id},
		"workspace": "*", "endpoint": "/rbac", "actions": []any{"read"}, "negative": true}); err != nil {
		t.Fatal(err)
	}
	if err := SeedRoles(ctx, st); err != nil {
		t.Fatal(err)
	}
	eps, err := roleEndpoints(ctx, st, id)
	if err != nil {
		t.Fatal(err)
	}
	pr, _ := Predefined("read-only")
	if len(eps) != len(pr.Permissions) || findEndpoint(eps, "*", "/rbac") != nil {
		t.Fatalf("read-only's stored endpoints after seeding: %v, want exactly %v", eps, pr.Permissions)
	}
}
