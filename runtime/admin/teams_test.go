package admin

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
)

// teamFixture is a store with teams on: users alice (team A), bob (team
// B, its administrator), root (super-admin), nobody (no team); services
// a (A's), b (B's), d (Default's, created before teams were on).
type teamFixture struct {
	st                       *store.Store
	ts                       *TeamService
	alice, bob, root, nobody store.Actor
	a, b, d                  map[string]any
}

func newTeamFixture(tb testing.TB) *teamFixture {
	tb.Helper()
	ctx := context.Background()
	bk, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "kong.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { bk.Close() })
	st := store.New(bk, store.Options{})
	f := &teamFixture{st: st}
	insert := func(entity string, in map[string]any) map[string]any {
		rec, err := st.Insert(ctx, entity, in)
		if err != nil {
			tb.Fatalf("%s %v: %v", entity, in, err)
		}
		return rec
	}
	f.d = insert("services", map[string]any{"name": "d", "host": "d.test"})
	if err := EnsureTeams(ctx, st); err != nil {
		tb.Fatal(err)
	}
	if err := EnsureTeams(ctx, st); err != nil { // idempotent
		tb.Fatal(err)
	}
	f.ts, err = NewTeamService(ctx, st, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(f.ts.Close)
	user := func(name string, roles ...string) store.Actor {
		rec, err := CreateUser(ctx, st, map[string]any{"name": name}, roles)
		if err != nil {
			tb.Fatal(err)
		}
		return store.Actor{ID: rec["id"].(string), Name: name}
	}
	f.alice, f.bob, f.root, f.nobody = user("alice", "admin"), user("bob", "read-only"), user("root", "super-admin"), user("nobody")
	teamA := insert("teams", map[string]any{"name": "A", "roles": []any{"read-only"}})
	teamB := insert("teams", map[string]any{"name": "B"})
	insert("team_members", map[string]any{"team": map[string]any{"id": teamA["id"]}, "user": map[string]any{"id": f.alice.ID}})
	insert("team_members", map[string]any{"team": map[string]any{"id": teamB["id"]}, "user": map[string]any{"id": f.bob.ID}, "admin": true})
	f.a = insert("services", map[string]any{"name": "a", "host": "a.test"})
	f.b = insert("services", map[string]any{"name": "b", "host": "b.test"})
	for _, own := range []struct{ team, svc map[string]any }{{teamA, f.a}, {teamB, f.b}} {
		insert("team_assets", map[string]any{"team": map[string]any{"id": own.team["id"]}, "entity_type": "services", "entity_id": own.svc["id"]})
	}
	return f
}

func TestTeamServiceVisible(t *testing.T) {
	f := newTeamFixture(t)
	ctx := context.Background()
	unowned, err := f.st.Insert(ctx, "services", map[string]any{"name": "fresh", "host": "f.test"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		who  store.Actor
		rec  map[string]any
		want bool
	}{
		{f.alice, f.a, true}, {f.alice, f.b, false}, {f.alice, f.d, true}, {f.alice, unowned, false},
		{f.bob, f.a, false}, {f.bob, f.b, true}, {f.bob, f.d, true},
		{f.root, f.a, true}, {f.root, f.b, true}, {f.root, unowned, true},
		{f.nobody, f.a, false}, {f.nobody, f.d, true},
	}
	for _, tt := range tests {
		got := f.ts.Visible(ctx, Call{Actor: tt.who}, "services", tt.rec)
		if got != tt.want {
			t.Errorf("%s sees %s: %v, want %v", tt.who.Name, tt.rec["name"], got, tt.want)
		}
	}
	// Types teams do not own are always visible.
	if !f.ts.Visible(ctx, Call{Actor: f.nobody}, "targets", map[string]any{"id": f.b["id"]}) {
		t.Error("a target is hidden")
	}
}

func TestTeamServiceScope(t *testing.T) {
	f := newTeamFixture(t)
	ctx := context.Background()
	refusal := func(err error) int {
		var r *Refusal
		if errors.As(err, &r) {
			return r.Status
		}
		if err != nil {
			return -1
		}
		return 0
	}
	tests := []struct {
		name   string
		call   Call
		status int
		owners []string
	}{
		{"own by name", Call{Actor: f.alice, Entity: "services", Operation: OpRead, Key: "a"}, 0, []string{"A", "Administrators"}},
		{"other's by id", Call{Actor: f.alice, Entity: "services", Operation: OpUpdate, Key: f.b["id"].(string)}, 404, nil},
		{"other's as parent", Call{Actor: f.alice, Entity: "routes", Operation: OpList, Parent: "services", ParentKey: "b"}, 404, nil},
		{"missing entity", Call{Actor: f.alice, Entity: "services", Operation: OpRead, Key: "nope"}, 0, nil},
		{"Default's", Call{Actor: f.bob, Entity: "services", Operation: OpDelete, Key: "d"}, 0, []string{"Administrators", "Default"}},
		{"super-admin", Call{Actor: f.root, Entity: "services", Operation: OpRead, Key: "b"}, 0, []string{"Administrators", "B"}},
		{"create, one team", Call{Actor: f.alice, Entity: "services", Operation: OpCreate}, 0, nil},
		{"create, team not theirs", Call{Actor: f.alice, Entity: "services", Operation: OpCreate, Team: "B"}, 400, nil},
		{"create, unknown team", Call{Actor: f.alice, Entity: "services", Operation: OpCreate, Team: "Z"}, 400, nil},
		{"create, super-admin names any", Call{Actor: f.root, Entity: "services", Operation: OpCreate, Team: "B"}, 0, nil},
		{"not team-owned", Call{Actor: f.alice, Entity: "targets", Operation: OpRead, Key: "x"}, 0, nil},
		{"not an entity", Call{Actor: f.alice, Entity: ResourceTeams, Operation: OpCreate}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			owners, err := f.ts.Scope(ctx, tt.call, nil)
			if got := refusal(err); got != tt.status {
				t.Fatalf("status %d (%v), want %d", got, err, tt.status)
			}
			if !slices.Equal(owners, tt.owners) {
				t.Errorf("owners %v, want %v", owners, tt.owners)
			}
		})
	}
}

// TestTeamServiceIndexFollowsEvents: memberships, roles and the team
// administrator's grant follow the store's changes.
func TestTeamServiceIndexFollowsEvents(t *testing.T) {
	f := newTeamFixture(t)
	ctx := context.Background()
	names := func(actor store.Actor, c context.Context) []string {
		m, err := f.ts.Memberships(c, actor)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range m {
			out = append(out, fmt.Sprintf("%s%v", x.Name, x.Roles))
		}
		return out
	}
	if got := names(f.alice, ctx); !slices.Equal(got, []string{"Default[]", "A[read-only]"}) {
		t.Fatalf("alice: %v", got)
	}
	if _, err := f.st.Update(ctx, "teams", "A", map[string]any{"roles": []any{"admin"}}); err != nil {
		t.Fatal(err)
	}
	if got := names(f.alice, ctx); !slices.Equal(got, []string{"Default[]", "A[admin]"}) {
		t.Fatalf("alice after the roles change: %v", got)
	}
	// bob administers B: his membership says so (the admin policy reads it).
	m, err := f.ts.Memberships(ctx, f.bob)
	if err != nil || len(m) != 2 || m[1].Name != "B" || !m[1].Admin || m[0].Admin {
		t.Fatalf("bob's memberships: %+v, %v", m, err)
	}
	// A team granting super-admin lets its members see everything.
	if f.ts.Visible(ctx, Call{Actor: f.alice}, "services", f.b) {
		t.Fatal("alice sees B's service")
	}
	if _, err := f.st.Update(ctx, "teams", "A", map[string]any{"roles": []any{"super-admin"}}); err != nil {
		t.Fatal(err)
	}
	if !f.ts.Visible(ctx, Call{Actor: f.alice}, "services", f.b) {
		t.Fatal("alice, in a super-admin team, does not see B's service")
	}
	if _, err := f.st.Delete(ctx, "teams", "A"); err != nil {
		t.Fatal(err)
	}
	if got := names(f.alice, ctx); !slices.Equal(got, []string{"Default[]"}) {
		t.Fatalf("alice after A's deletion: %v", got)
	}
	// Deleting a service drops its ownership rows (in the background).
	if _, err := f.st.Delete(ctx, "services", "b"); err != nil {
		t.Fatal(err)
	}
	ref := store.RowRef{Entity: "services", ID: f.b["id"].(string)}
	for i := 0; ; i++ {
		f.ts.mu.RLock()
		n := len(f.ts.idx.owners[ref])
		f.ts.mu.RUnlock()
		if n == 0 {
			break
		}
		if i > 2000 {
			t.Fatal("the deleted service's ownership stays")
		}
		waitABit()
	}
}

// BenchmarkTeamsVisible measures Visible per listed item, with the
// request's cached viewer.
func BenchmarkTeamsVisible(b *testing.B) {
	f := newTeamFixture(b)
	ctx := context.WithValue(context.Background(), teamRequestKey{}, &teamRequest{method: "GET", segs: []string{"services"}})
	call := Call{Actor: f.alice}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if f.ts.Visible(ctx, call, "services", f.b) {
			b.Fatal("visible")
		}
	}
}

func waitABit() { <-time.After(5 * time.Millisecond) }
