package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
)

// TestAdminEntities: the admin entities' write-time rules: username_lower
// and a lower-cased e-mail on every write, unique usernames, e-mails and
// custom ids, the status range, cascades from the RBAC user, and their
// absence from declarative configuration.
func TestAdminEntities(t *testing.T) {
	ctx := context.Background()
	bk, err := sqlite.Open(ctx, sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bk.Close() })
	st := store.New(bk, store.Options{})
	user := func(name string) map[string]any {
		rec, err := st.Insert(ctx, "rbac_users", map[string]any{"name": name, "user_token": strings.Repeat(name[:1], 64)})
		if err != nil {
			t.Fatal(err)
		}
		return map[string]any{"id": rec["id"]}
	}
	a, err := st.Insert(ctx, "admins", map[string]any{"username": "Alice", "email": "Alice@Example.TEST", "rbac_user": user("a")})
	if err != nil {
		t.Fatal(err)
	}
	if a["username_lower"] != "alice" || a["email"] != "alice@example.test" || a["status"] != int64(store.AdminInvited) ||
		a["rbac_token_enabled"] != true {
		t.Errorf("admin = %v", a)
	}
	for _, tc := range []struct {
		name string
		in   map[string]any
		want store.Code
	}{
		{"same username", map[string]any{"username": "Alice", "rbac_user": user("b")}, store.CodeUniqueViolation},
		{"same e-mail", map[string]any{"username": "bob", "email": "alice@example.test", "rbac_user": user("c")}, store.CodeUniqueViolation},
		{"bad status", map[string]any{"username": "carl", "status": 9, "rbac_user": user("d")}, store.CodeSchemaViolation},
		{"bad e-mail", map[string]any{"username": "dora", "email": "no at", "rbac_user": user("e")}, store.CodeSchemaViolation},
		{"no rbac user", map[string]any{"username": "eve"}, store.CodeSchemaViolation},
	} {
		_, err := st.Insert(ctx, "admins", tc.in)
		if e, ok := store.AsError(err); !ok || e.Code != tc.want {
			t.Errorf("%s: %v, want code %d", tc.name, err, tc.want)
		}
	}
	if _, err := st.Insert(ctx, "admin_credentials", map[string]any{"admin": map[string]any{"id": a["id"]}, "password_hash": "h"}); err != nil {
		t.Fatal(err)
	}
	// Deleting the RBAC user deletes the admin and its credential.
	if _, err := st.Delete(ctx, "rbac_users", store.ForeignID(a["rbac_user"])); err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{"admins", "admin_credentials"} {
		if n, _ := st.Count(ctx, e); n != 0 {
			t.Errorf("%d %s left after the RBAC user's deletion", n, e)
		}
	}
	for _, e := range store.AdminEntities() {
		if !store.NotDeclarative(e.Name) {
			t.Errorf("%s is declarative", e.Name)
		}
	}
	// A password long enough that the random salt and hash cannot spell it
	// by chance (a two-letter one did, once in about forty runs).
	const pw = "correct-horse-battery"
	h, err := store.HashAdminPassword(pw)
	if err != nil || !store.CheckAdminPassword(h, pw) || store.CheckAdminPassword(h, pw+"x") || strings.Contains(h, pw) {
		t.Errorf("admin password hash %q, %v", h, err)
	}
}
