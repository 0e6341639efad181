package admin

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/gatehouse/gatehouse/store"
)

// Actions are Kong Enterprise's RBAC actions, in its order.
var Actions = []string{"read", "create", "update", "delete"}

// DefaultWorkspace is the only workspace Gatehouse has; permissions name
// it or "*".
const DefaultWorkspace = "default"

// Permission is one endpoint permission (a row of rbac_role_endpoints, or
// a line of a privilege bundle): the actions allowed, or denied when
// Negative, on the paths Endpoint matches in Workspace. Endpoint is "*"
// (every path) or a path whose segments are literal or "*" (exactly one
// segment). The shipped `admin` Rego policy decides with them.
type Permission struct {
	Role      string   `json:"role,omitempty"`
	Workspace string   `json:"workspace"`
	Endpoint  string   `json:"endpoint"`
	Actions   []string `json:"actions"`
	Negative  bool     `json:"negative"`
}

// Privilege is a named bundle of endpoint permissions: webMethods API
// Gateway's functional privileges, which a role adds to its own
// endpoints by naming them in its `privileges`.
type Privilege struct {
	// Name is how roles name the bundle ("manage-apis").
	Name string `json:"name"`
	// Title is webMethods' name for the privilege.
	Title string `json:"title"`
	// Permissions are what the bundle grants.
	Permissions []Permission `json:"endpoints"`
	// ConsumerEntities adds every action on the collections of the
	// entities that belong to consumers (the credentials and groups the
	// enabled plugins declare; see Expand).
	ConsumerEntities bool `json:"-"`
}

// Expand returns the bundle's permissions with, when ConsumerEntities is
// set, those on every collection reg declares with a foreign key to
// consumers (plugins aside: a plugin is configuration, not an
// application's credential).
func (p Privilege) Expand(reg *store.Registry) []Permission {
	out := append([]Permission(nil), p.Permissions...)
	if !p.ConsumerEntities || reg == nil {
		return out
	}
	for _, ref := range reg.Referencing("consumers") {
		if ref.Entity.Name == "plugins" || ref.Entity.Path == "" {
			continue
		}
		out = append(out, grant(false, allRW, "/"+ref.Entity.Path)...)
	}
	return out
}

// maxDepth is how many segments below a collection the Admin API's
// deepest paths reach (/upstreams/{u}/targets/{t}/healthy).
const maxDepth = 4

// tree returns the endpoints of a collection and everything below it:
// /x, /x/*, /x/*/*, ... (a "*" segment matches exactly one segment).
func tree(base string) []string {
	out := []string{base}
	p := base
	for i := 0; i < maxDepth; i++ {
		p += "/*"
		out = append(out, p)
	}
	return out
}

// grant returns permissions for the actions on every endpoint of the
// collections' trees (and of the exact paths, given with a leading "=").
func grant(negative bool, actions []string, paths ...string) []Permission {
	var out []Permission
	for _, p := range paths {
		eps := tree(p)
		if strings.HasPrefix(p, "=") {
			eps = []string{strings.TrimPrefix(p, "=")}
		}
		for _, ep := range eps {
			out = append(out, Permission{Workspace: "*", Endpoint: ep, Actions: actions, Negative: negative})
		}
	}
	return out
}

var (
	readOnly = []string{"read"}
	allRW    = Actions
)

// The collections each bundle covers.
var (
	apiPaths = []string{"/services", "/routes", "/upstreams", "/targets", "/filter-chains"}
	appPaths = []string{"/consumers"}
	secPaths = []string{"/certificates", "/ca_certificates", "/snis", "/keys", "/key-sets", "/vaults"}
	usrPaths = []string{"/rbac", "/teams"}
)

// Privileges are the privilege bundles, webMethods' functional
// privileges mapped onto Admin API endpoints (see README.md, "Privilege
// bundles").
var Privileges = []Privilege{
	{Name: "manage-apis", Title: "Manage APIs",
		Permissions: grant(false, allRW, apiPaths...)},
	{Name: "manage-applications", Title: "Manage applications",
		Permissions: grant(false, allRW, appPaths...), ConsumerEntities: true},
	{Name: "manage-global-policies", Title: "Manage global policies",
		Permissions: grant(false, allRW, "/plugins", "/policies")},
	{Name: "manage-threat-protection", Title: "Manage threat protection configurations",
		Permissions: grant(false, allRW, "/denied-ips", "/threat-events")},
	{Name: "manage-user-administration", Title: "Manage user administration",
		Permissions: grant(false, allRW, usrPaths...)},
	{Name: "view-administration-configurations", Title: "View administration configurations",
		Permissions: grant(false, readOnly, "=/", "=/status", "=/endpoints", "/schemas", "=/plugins/enabled", "/tags")},
	{Name: "import-export", Title: "Import/Export assets",
		Permissions: grant(false, []string{"read", "create"}, "=/config")},
	{Name: "manage-security-configurations", Title: "Manage security configurations",
		Permissions: grant(false, allRW, secPaths...)},
	{Name: "manage-system-settings", Title: "Manage system settings",
		Permissions: grant(false, readOnly, "/audit", "=/status", "=/endpoints")},
}

// PrivilegeByName returns the named bundle.
func PrivilegeByName(name string) (Privilege, bool) {
	for _, p := range Privileges {
		if p.Name == name {
			return p, true
		}
	}
	return Privilege{}, false
}

// PredefinedRole is a role Gatehouse seeds: it cannot be deleted, renamed
// or given other permissions.
type PredefinedRole struct {
	Name, Comment string
	// Permissions are the role's own endpoints.
	Permissions []Permission
	// Privileges are the bundles it adds.
	Privileges []string
}

// PredefinedRoles are super-admin (everything), admin (everything but
// /rbac and /teams, as Kong Enterprise's admin: "*" and negative /rbac
// endpoints), read-only (reads everything, /rbac included, as Kong
// Enterprise's: tokens are never readable) and api-provider
// (webMethods' API Provider: APIs, applications, import/export, reads of
// the node's configuration and of plugins).
var PredefinedRoles = []PredefinedRole{
	{Name: "super-admin", Comment: "Full access to all endpoints, across all workspaces",
		Permissions: grant(false, allRW, "=*")},
	{Name: "admin", Comment: "Full access to all endpoints, but /rbac and /teams",
		Permissions: append(grant(false, allRW, "=*"), grant(true, allRW, usrPaths...)...)},
	{Name: "read-only", Comment: "Read access to all endpoints, across all workspaces",
		Permissions: grant(false, readOnly, "=*")},
	{Name: "api-provider", Comment: "webMethods API Provider: APIs, applications, import/export",
		Permissions: grant(false, readOnly, "=/plugins", "=/plugins/*"),
		Privileges:  []string{"manage-apis", "manage-applications", "import-export", "view-administration-configurations"}},
}

// Predefined returns the named predefined role.
func Predefined(name string) (PredefinedRole, bool) {
	for _, r := range PredefinedRoles {
		if r.Name == name {
			return r, true
		}
	}
	return PredefinedRole{}, false
}

// SeedRoles stores the predefined roles and their endpoints unless they
// are there: idempotent, and safe when several nodes seed one database
// at once (a write that loses the race is read back). A read-only store
// (DB-less) is left alone: decisions read predefined roles from
// PredefinedRoles, never from the store.
func SeedRoles(ctx context.Context, st *store.Store) error {
	if st.ReadOnly() {
		return nil
	}
	for _, pr := range PredefinedRoles {
		role, err := st.Get(ctx, "rbac_roles", pr.Name)
		if store.IsNotFound(err) {
			role, err = st.Insert(ctx, "rbac_roles", map[string]any{"name": pr.Name, "comment": pr.Comment,
				"predefined": true, "privileges": toAny(pr.Privileges)})
			if isUniqueViolation(err) {
				role, err = st.Get(ctx, "rbac_roles", pr.Name)
			}
		}
		if err != nil {
			return fmt.Errorf("rbac: seeding role %s: %w", pr.Name, err)
		}
		id, _ := role["id"].(string)
		if role["predefined"] != true || !slices.Equal(stringList(role["privileges"]), pr.Privileges) {
			if _, err := st.Update(ctx, "rbac_roles", id, map[string]any{"predefined": true,
				"privileges": toAny(pr.Privileges)}); err != nil {
				return fmt.Errorf("rbac: seeding role %s: %w", pr.Name, err)
			}
		}
		have, err := roleEndpoints(ctx, st, id)
		if err != nil {
			return fmt.Errorf("rbac: seeding role %s: %w", pr.Name, err)
		}
		for _, p := range pr.Permissions {
			if findEndpoint(have, p.Workspace, p.Endpoint) != nil {
				continue
			}
			_, err := st.Insert(ctx, "rbac_role_endpoints", map[string]any{"role": map[string]any{"id": id},
				"workspace": p.Workspace, "endpoint": p.Endpoint, "actions": toAny(p.Actions), "negative": p.Negative})
			if err != nil && !isUniqueViolation(err) {
				return fmt.Errorf("rbac: seeding role %s endpoint %s: %w", pr.Name, p.Endpoint, err)
			}
		}
		// Endpoints an earlier version seeded and this one does not grant.
		for _, rec := range have {
			ws, _ := rec["workspace"].(string)
			ep, _ := rec["endpoint"].(string)
			if slices.ContainsFunc(pr.Permissions, func(p Permission) bool { return p.Workspace == ws && p.Endpoint == ep }) {
				continue
			}
			epID, _ := rec["id"].(string)
			if _, err := st.Delete(ctx, "rbac_role_endpoints", epID); err != nil && !store.IsNotFound(err) {
				return fmt.Errorf("rbac: seeding role %s: dropping endpoint %s: %w", pr.Name, ep, err)
			}
		}
	}
	return nil
}

func isUniqueViolation(err error) bool {
	e, ok := store.AsError(err)
	return ok && (e.Code == store.CodeUniqueViolation || e.Code == store.CodePrimaryKeyViolation)
}

func toAny(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

// roleEndpoints lists every endpoint permission of a role (all pages).
func roleEndpoints(ctx context.Context, st *store.Store, roleID string) ([]map[string]any, error) {
	var out []map[string]any
	q := store.ListQuery{Size: store.MaxPageSize, ForeignField: "role", ForeignKey: roleID}
	for {
		page, err := st.List(ctx, "rbac_role_endpoints", q)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Data...)
		if page.Offset == "" {
			return out, nil
		}
		q.Offset = page.Offset
	}
}

// findEndpoint returns the permission of recs on workspace and endpoint.
func findEndpoint(recs []map[string]any, workspace, endpoint string) map[string]any {
	for _, r := range recs {
		if r["workspace"] == workspace && r["endpoint"] == endpoint {
			return r
		}
	}
	return nil
}

// RoleExists reports whether a role of that name (or id) is defined:
// predefined, or stored in rbac_roles.
func RoleExists(ctx context.Context, st *store.Store, name string) (bool, error) {
	if _, ok := Predefined(name); ok {
		return true, nil
	}
	_, err := st.Get(ctx, "rbac_roles", name)
	if store.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("rbac: reading role %q: %w", name, err)
	}
	return true, nil
}

// RolePermissions returns the endpoint permissions of the named roles:
// their own endpoints and their privilege bundles' (predefined roles from
// PredefinedRoles, the others from the store). A role that does not exist
// (deleted since it was granted) grants nothing.
func RolePermissions(ctx context.Context, st *store.Store, roles []string) ([]Permission, error) {
	var out []Permission
	seen := map[string]bool{}
	for _, name := range roles {
		if seen[name] {
			continue
		}
		seen[name] = true
		var privileges []string
		if pr, ok := Predefined(name); ok {
			for _, p := range pr.Permissions {
				p.Role = name
				out = append(out, p)
			}
			privileges = pr.Privileges
		} else {
			rec, err := st.Get(ctx, "rbac_roles", name)
			if store.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("rbac: reading role %q: %w", name, err)
			}
			id, _ := rec["id"].(string)
			eps, err := roleEndpoints(ctx, st, id)
			if err != nil {
				return nil, fmt.Errorf("rbac: reading the endpoints of role %q: %w", name, err)
			}
			for _, ep := range eps {
				out = append(out, permissionOf(name, ep))
			}
			privileges = stringList(rec["privileges"])
		}
		for _, pn := range privileges {
			if b, ok := PrivilegeByName(pn); ok {
				for _, p := range b.Expand(st.Registry()) {
					p.Role = name
					out = append(out, p)
				}
			}
		}
	}
	return out, nil
}

// permissionOf converts an rbac_role_endpoints record.
func permissionOf(role string, rec map[string]any) Permission {
	p := Permission{Role: role, Actions: stringList(rec["actions"])}
	p.Workspace, _ = rec["workspace"].(string)
	p.Endpoint, _ = rec["endpoint"].(string)
	p.Negative, _ = rec["negative"].(bool)
	return p
}

// ParseActions reads a permission's actions: a comma-separated string or
// an array of strings; "*" stands for all four. The result is in
// Kong's order, without duplicates.
func ParseActions(v any) ([]string, error) {
	var raw []string
	switch l := v.(type) {
	case nil:
		return nil, fmt.Errorf("actions: required field missing")
	case string:
		raw = strings.Split(l, ",")
	case []any:
		for _, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("actions: expected strings")
			}
			raw = append(raw, s)
		}
	case []string:
		raw = l
	default:
		return nil, fmt.Errorf("actions: expected a string or an array")
	}
	set := map[string]bool{}
	for _, a := range raw {
		a = strings.ToLower(strings.TrimSpace(a))
		switch {
		case a == "":
		case a == "*":
			for _, x := range Actions {
				set[x] = true
			}
		case slices.Contains(Actions, a):
			set[a] = true
		default:
			return nil, fmt.Errorf("actions: unknown action '%s' (read, create, update, delete or *)", a)
		}
	}
	var out []string
	for _, a := range Actions {
		if set[a] {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("actions: must provide >= 1 action")
	}
	return out, nil
}

// NormalizeEndpoint checks and normalizes a permission's endpoint: "*",
// or a path ("services/*" becomes "/services/*"; a trailing slash is
// dropped) whose segments are non-empty and either literal (no "*") or
// exactly "*".
func NormalizeEndpoint(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "*" {
		return s, nil
	}
	if s == "" {
		return "", fmt.Errorf("endpoint: required field missing")
	}
	if len(s) > 1024 {
		return "", fmt.Errorf("endpoint: longer than 1024 characters")
	}
	segs := strings.Split(strings.Trim(s, "/"), "/")
	if len(segs) == 1 && segs[0] == "" {
		return "/", nil
	}
	for _, seg := range segs {
		switch {
		case seg == "":
			return "", fmt.Errorf("endpoint: empty segment in '%s'", s)
		case seg != "*" && strings.Contains(seg, "*"):
			return "", fmt.Errorf("endpoint: a wildcard must be a whole segment in '%s'", s)
		case strings.ContainsFunc(seg, func(r rune) bool { return r == '?' || r == '#' || unicode.IsSpace(r) || unicode.IsControl(r) }):
			return "", fmt.Errorf("endpoint: invalid character in '%s'", s)
		}
	}
	return "/" + strings.Join(segs, "/"), nil
}
