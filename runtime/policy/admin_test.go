package policy

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// perm is one endpoint permission of the admin input.
func perm(role, endpoint string, negative bool, actions ...string) map[string]any {
	acts := make([]any, len(actions))
	for i, a := range actions {
		acts[i] = a
	}
	return map[string]any{"role": role, "workspace": "default", "endpoint": endpoint, "actions": acts, "negative": negative}
}

func adminInput(t *testing.T, roles []string, perms []map[string]any, teams []map[string]any, action, method, path string) ast.Value {
	t.Helper()
	rs := make([]any, len(roles))
	for i, r := range roles {
		rs[i] = r
	}
	ps := make([]any, len(perms))
	for i, p := range perms {
		ps[i] = p
	}
	ts := make([]any, len(teams))
	for i, tm := range teams {
		ts[i] = tm
	}
	v, err := ast.InterfaceToValue(map[string]any{
		"admin": map[string]any{"id": "u1", "name": "alice"}, "roles": rs, "permissions": ps, "teams": ts,
		"action": action, "workspace": "default", "request": map[string]any{"method": method, "path": path},
		"entity": map[string]any{"type": "services"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestShippedAdminPolicy: Kong Enterprise's endpoint matching, decided by
// rego/admin.rego.
func TestShippedAdminPolicy(t *testing.T) {
	p, err := newSet(t, 0).Shipped(AdminPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if p.Query.String() != "data.gatehouse.admin.allow" || !p.HasEntry {
		t.Fatalf("query %s, has entry %v", p.Query, p.HasEntry)
	}
	all := []string{"read", "create", "update", "delete"}
	adminPerms := []map[string]any{perm("admin", "*", false, all...), perm("admin", "/rbac/*", true, all...),
		perm("admin", "/rbac/*/*", true, all...)}
	cases := []struct {
		name   string
		roles  []string
		perms  []map[string]any
		teams  []map[string]any
		action string
		method string
		path   string
		want   bool
	}{
		{"no roles", nil, nil, nil, "read", "GET", "/services", false},
		{"super-admin", []string{"super-admin"}, nil, nil, "delete", "DELETE", "/rbac/users/x", true},
		{"star reads all", []string{"r"}, []map[string]any{perm("r", "*", false, "read")}, nil, "read", "GET", "/services/a/routes", true},
		{"star reads root", []string{"r"}, []map[string]any{perm("r", "*", false, "read")}, nil, "read", "GET", "/", true},
		{"read is not create", []string{"r"}, []map[string]any{perm("r", "*", false, "read")}, nil, "create", "POST", "/services", false},
		{"one segment", []string{"r"}, []map[string]any{perm("r", "/services/*", false, "read")}, nil, "read", "GET", "/services/a", true},
		{"one segment, not the collection", []string{"r"}, []map[string]any{perm("r", "/services/*", false, "read")}, nil, "read", "GET", "/services", false},
		{"one segment, not deeper", []string{"r"}, []map[string]any{perm("r", "/services/*", false, "read")}, nil, "read", "GET", "/services/a/routes", false},
		{"exact", []string{"r"}, []map[string]any{perm("r", "/services", false, "create")}, nil, "create", "POST", "/services", true},
		{"trailing slash", []string{"r"}, []map[string]any{perm("r", "/services/", false, "create")}, nil, "create", "POST", "/services/", true},
		{"other workspace", []string{"r"}, []map[string]any{{"role": "r", "workspace": "team-b", "endpoint": "*", "actions": []any{"read"}, "negative": false}}, nil, "read", "GET", "/", false},
		{"any workspace", []string{"r"}, []map[string]any{{"role": "r", "workspace": "*", "endpoint": "*", "actions": []any{"read"}, "negative": false}}, nil, "read", "GET", "/", true},
		{"admin manages services", []string{"admin"}, adminPerms, nil, "delete", "DELETE", "/services/a", true},
		{"admin not rbac users", []string{"admin"}, adminPerms, nil, "read", "GET", "/rbac/users", false},
		{"admin not a user", []string{"admin"}, adminPerms, nil, "update", "PATCH", "/rbac/users/bob", false},
		{"negative wins at its level", []string{"a", "b"}, []map[string]any{perm("a", "/services/*", false, all...), perm("b", "/services/*", true, "delete")},
			nil, "delete", "DELETE", "/services/x", false},
		{"negative leaves other actions", []string{"a", "b"}, []map[string]any{perm("a", "/services/*", false, all...), perm("b", "/services/*", true, "delete")},
			nil, "update", "PATCH", "/services/x", true},
		{"exact beats wildcard negative", []string{"a"}, []map[string]any{perm("a", "/services/*", true, "delete"), perm("a", "/services/keep", false, "delete")},
			nil, "delete", "DELETE", "/services/keep", true},
		{"exact negative beats star", []string{"a"}, []map[string]any{perm("a", "*", false, all...), perm("a", "/services/x", true, "delete")},
			nil, "delete", "DELETE", "/services/x", false},
		{"fewer wildcards win", []string{"a"}, []map[string]any{perm("a", "/*/*", true, "read"), perm("a", "/services/*", false, "read")},
			nil, "read", "GET", "/services/x", true},
		{"team admin manages members", nil, nil, []map[string]any{{"id": "t1", "name": "payments", "admin": true}}, "create", "POST", "/teams/payments/members", true},
		{"team admin by id", nil, nil, []map[string]any{{"id": "t1", "name": "payments", "admin": true}}, "delete", "DELETE", "/teams/t1/members/bob", true},
		{"team admin not another team", nil, nil, []map[string]any{{"id": "t1", "name": "payments", "admin": true}}, "create", "POST", "/teams/billing/members", false},
		{"team admin not a prefix", nil, nil, []map[string]any{{"id": "t1", "name": "pay", "admin": true}}, "create", "POST", "/teams/payments/members", false},
		{"team member is no admin", nil, nil, []map[string]any{{"id": "t1", "name": "payments", "admin": false}}, "create", "POST", "/teams/payments/members", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Eval(context.Background(), adminInput(t, tc.roles, tc.perms, tc.teams, tc.action, tc.method, tc.path))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("allow = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestAdminRules: a user policy under package admin joins Admin API
// decisions through its deny rule; other packages do not.
func TestAdminRules(t *testing.T) {
	guard, err := os.ReadFile("testdata/admin/prod_guard.rego")
	if err != nil {
		t.Fatal(err)
	}
	friday := "package admin.friday\n\ndeny contains \"no deletes on Fridays\" if {\n\tinput.action == \"delete\"\n\ttime.weekday(time.now_ns()) == \"Friday\"\n}\n"
	set := newSet(t, 0,
		Source{Name: "prod-guard", Rego: string(guard)},
		Source{Name: "friday", Rego: friday},
		Source{Name: "plain", Rego: "package readers\nallow if input.groups[_] == \"r\"\ndeny contains \"x\" if true\n"},
		Source{Name: "root", Rego: "package admin\ndeny contains \"always\" if input.request.path == \"/forbidden\"\n"},
	)
	var names []string
	for _, p := range set.AdminRules() {
		names = append(names, p.Name)
	}
	if want := []string{"friday", "prod-guard", "root"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("admin rules %v, want %v", names, want)
	}
	guardPolicy := set.AdminRules()[1]
	input := func(action string, tags ...any) ast.Value {
		v, err := ast.InterfaceToValue(map[string]any{"action": action, "request": map[string]any{"path": "/services/api"},
			"entity": map[string]any{"type": "services", "name": "api", "tags": tags}})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name  string
		input ast.Value
		want  []string
	}{
		{"prod delete", input("delete", "prod", "eu"), []string{"service api is tagged prod: it cannot be deleted"}},
		{"untagged delete", input("delete"), []string{}},
		{"prod update", input("update", "prod"), []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := guardPolicy.Deny(context.Background(), tc.input, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
				t.Errorf("deny = %q, want %q", got, tc.want)
			}
		})
	}
	// The Friday rule compiles and evaluates (its answer depends on the day).
	msgs, err := set.AdminRules()[0].Deny(context.Background(), input("delete"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	friday2 := time.Now().UTC().Weekday() == time.Friday
	if (len(msgs) == 1) != friday2 && time.Now().UTC().Hour() != 0 {
		t.Errorf("friday rule: %q on %s", msgs, time.Now().UTC().Weekday())
	}
}

// TestAdminRuleBroken: a broken admin rule is refused by Check (the
// store's validator) with line and column; a rule whose deny is not a set
// fails closed when evaluated.
func TestAdminRuleBroken(t *testing.T) {
	err := Check("guard", "package admin.guard\n\ndeny contains msg if {\n\tinput.action == \"delete\"\n\tmsg := concat(\",\", input.nope, 1)\n}\n")
	if err == nil || !strings.Contains(err.Error(), "line 5") {
		t.Fatalf("Check of a broken admin rule: %v, want a compile error at line 5", err)
	}
	if err := Check("guard", "package gatehouse.admin\ndeny contains \"x\" if true\n"); err == nil {
		t.Fatal("a user policy in the shipped package compiled")
	}
	set := newSet(t, 0, Source{Name: "odd", Rego: "package admin.odd\ndeny := 3\n"})
	if _, err := set.AdminRules()[0].Deny(context.Background(), ast.NewObject(), time.Second); err == nil {
		t.Fatal("a deny rule that is not a set was accepted")
	}
	set = newSet(t, 0, Source{Name: "bad", Rego: "package admin.bad\ndeny contains x if {\n"})
	if len(set.AdminRules()) != 0 {
		t.Fatal("a broken rule was prepared")
	}
}

// TestAdminRuleTimeout: an admin rule that runs past its bound fails.
func TestAdminRuleTimeout(t *testing.T) {
	slow := "package admin.slow\ndeny contains \"x\" if {\n\tr := numbers.range(1, 1000)\n\tsome i in r\n\tsome j in r\n\tsome k in r\n\ti + j + k < 0\n}\n"
	set := newSet(t, 0, Source{Name: "slow", Rego: slow})
	_, err := set.AdminRules()[0].Deny(context.Background(), ast.NewObject(), 5*time.Millisecond)
	if err == nil {
		t.Fatal("a slow rule finished within 5ms")
	}
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("error %v, want ErrTimeout", err)
	}
}
