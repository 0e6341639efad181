package admin

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
	"github.com/open-policy-agent/opa/v1/ast"
)

func TestParseActions(t *testing.T) {
	cases := []struct {
		in   any
		want []string
		err  string
	}{
		{"read", []string{"read"}, ""},
		{"create, READ", []string{"read", "create"}, ""},
		{"*", Actions, ""},
		{[]any{"delete", "*"}, Actions, ""},
		{[]string{"update", "update"}, []string{"update"}, ""},
		{"read,,", []string{"read"}, ""},
		{"", nil, "must provide >= 1 action"},
		{[]any{}, nil, "must provide >= 1 action"},
		{nil, nil, "required"},
		{"fly", nil, "unknown action 'fly'"},
		{[]any{1}, nil, "expected strings"},
		{3.0, nil, "expected a string or an array"},
	}
	for _, c := range cases {
		got, err := ParseActions(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseActions(%v) = %v, %v; want an error with %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseActions(%v) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestNormalizeEndpoint(t *testing.T) {
	cases := []struct{ in, want, err string }{
		{"*", "*", ""},
		{" /services/* ", "/services/*", ""},
		{"services", "/services", ""},
		{"/services/", "/services", ""},
		{"/", "/", ""},
		{"//", "/", ""},
		{"/consumers/*/key-auth", "/consumers/*/key-auth", ""},
		{"", "", "required"},
		{"/a//b", "", "empty segment"},
		{"/serv*ces", "", "whole segment"},
		{"/services/**", "", "whole segment"},
		{"/x?y", "", "invalid character"},
		{"/" + strings.Repeat("a", 1100), "", "longer"},
	}
	for _, c := range cases {
		got, err := NormalizeEndpoint(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("NormalizeEndpoint(%q) = %q, %v; want an error with %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("NormalizeEndpoint(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func FuzzParseActions(f *testing.F) {
	for _, s := range []string{"read", "*", "create, update", ",,", "READ,fly"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseActions(s)
		if err != nil {
			return
		}
		if len(got) == 0 || len(got) > len(Actions) {
			t.Fatalf("ParseActions(%q) = %v", s, got)
		}
		for _, a := range got {
			if !strings.Contains("read create update delete", a) {
				t.Fatalf("ParseActions(%q) gave %q", s, a)
			}
		}
	})
}

func FuzzNormalizeEndpoint(f *testing.F) {
	for _, s := range []string{"*", "/services/*", "a/b/", "/x*", "//", "/a/*/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeEndpoint(s)
		if err != nil {
			return
		}
		again, err := NormalizeEndpoint(got)
		if err != nil || again != got {
			t.Fatalf("NormalizeEndpoint(%q) = %q, not a fixed point (%q, %v)", s, got, again, err)
		}
		if got != "*" && !strings.HasPrefix(got, "/") {
			t.Fatalf("NormalizeEndpoint(%q) = %q", s, got)
		}
	})
}

// TestBundlesAndPredefinedRoles: every bundle and predefined role is
// well formed: unique names, normalized endpoints, known actions and
// bundles; api-provider reaches none of /rbac, /teams, /policies.
func TestBundlesAndPredefinedRoles(t *testing.T) {
	check := func(owner string, perms []Permission) {
		for _, p := range perms {
			if ep, err := NormalizeEndpoint(p.Endpoint); err != nil || ep != p.Endpoint {
				t.Errorf("%s: endpoint %q normalizes to %q, %v", owner, p.Endpoint, ep, err)
			}
			if acts, err := ParseActions(p.Actions); err != nil || len(acts) != len(p.Actions) {
				t.Errorf("%s: actions %v: %v", owner, p.Actions, err)
			}
			if p.Workspace != "*" && p.Workspace != DefaultWorkspace {
				t.Errorf("%s: workspace %q", owner, p.Workspace)
			}
		}
	}
	seen := map[string]bool{}
	for _, b := range Privileges {
		if seen[b.Name] || b.Title == "" || len(b.Permissions) == 0 {
			t.Errorf("bundle %q: duplicate, untitled or empty", b.Name)
		}
		seen[b.Name] = true
		check(b.Name, b.Permissions)
	}
	for _, r := range PredefinedRoles {
		check(r.Name, r.Permissions)
		for _, b := range r.Privileges {
			if _, ok := PrivilegeByName(b); !ok {
				t.Errorf("%s: unknown bundle %q", r.Name, b)
			}
		}
	}
	provider, _ := Predefined("api-provider")
	all := provider.Permissions
	for _, b := range provider.Privileges {
		pb, _ := PrivilegeByName(b)
		all = append(all, pb.Permissions...)
	}
	for _, p := range all {
		for _, forbidden := range []string{"*", "/rbac", "/teams", "/policies", "/denied-ips"} {
			if p.Endpoint == forbidden || strings.HasPrefix(p.Endpoint, forbidden+"/") {
				t.Errorf("api-provider reaches %s through %v", forbidden, p)
			}
		}
		if (p.Endpoint == "/plugins" || p.Endpoint == "/plugins/*") && !reflect.DeepEqual(p.Actions, []string{"read"}) {
			t.Errorf("api-provider writes global plugins: %v", p)
		}
	}
}

// TestAdminInput: the input document the policies read.
func TestAdminInput(t *testing.T) {
	in := AdminInput{
		Call: Call{Actor: store.Actor{ID: "u1", Name: "alice"}, Entity: "services", Operation: OpList,
			Method: "GET", Path: "/services"},
		Roles:       []string{"read-only"},
		Permissions: []Permission{{Role: "read-only", Workspace: "*", Endpoint: "*", Actions: []string{"read"}}},
		Teams:       []TeamMembership{{ID: "t1", Name: "payments", Admin: true, Roles: []string{"admin"}}},
		Owners:      []string{"payments"},
		Entity:      map[string]any{"id": "s1", "name": "orders", "tags": []any{"prod"}},
	}
	v, err := in.Value()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"action": "read", "admin": {"id": "u1", "name": "alice"}, "entity": {"id": "s1", "key": "", "name": "orders", ` +
		`"parent": "", "parent_key": "", "tags": ["prod"], "teams": ["payments"], "type": "services"}, ` +
		`"permissions": [{"actions": ["read"], "endpoint": "*", "negative": false, "role": "read-only", "workspace": "*"}], ` +
		`"request": {"method": "GET", "path": "/services"}, "roles": ["read-only"], ` +
		`"teams": [{"admin": true, "id": "t1", "name": "payments", "roles": ["admin"]}], "workspace": "default"}`
	if got := v.(ast.Object).String(); got != want {
		t.Errorf("input\n%s\nwant\n%s", got, want)
	}
}
