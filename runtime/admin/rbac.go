package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/runtime/policy"
	"github.com/gatehouse/gatehouse/store"
)

// RBAC is the Admin API's role-based access control when enforce_rbac is
// on: it identifies callers by their Kong-Admin-Token and lets the shipped
// `admin` Rego policy decide each call from the caller's roles, their
// endpoint permissions and the entity the call names; user policies under
// package `admin` may then refuse it (see rbac_policy.go).
type RBAC struct {
	// Store holds the rbac_users, rbac_roles and rbac_role_endpoints.
	Store *store.Store
	// Teams scopes calls and lists by team when enable_teams is on; nil
	// when it is off.
	Teams Teams
	// Policies returns the policy set of the current configuration
	// snapshot (the shipped `admin` policy and the users' admin rules);
	// nil, or a nil answer, uses the shipped policies alone.
	Policies func() *policy.Set
	// Timeout bounds each evaluation; 0 is DefaultAdminPolicyTimeout.
	Timeout time.Duration
	// Admins, when set with a session manager (admin_gui_auth), identifies
	// the calls that carry no Kong-Admin-Token by Kong Manager's session
	// cookie and Kong-Admin-User (Admins.IdentifySession).
	Admins *Admins

	fallback    sync.Once
	fallbackSet *policy.Set
	fallbackErr error
}

// ResourceRBAC is the resource of the /rbac endpoints.
const ResourceRBAC = "/rbac"

// TokenHeader is the header an administrator's token comes in.
const TokenHeader = "Kong-Admin-Token"

// HashToken returns the digest of a token as rbac_users stores it.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewToken returns a new random token (256 bits, URL-safe base64).
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("rbac: generating a token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Identify finds the enabled RBAC user whose token the call carries; a
// missing, unknown or disabled token is refused with Kong's 401. Without
// a token and with Admins set (admin_gui_auth), the call is identified by
// its Kong Manager session instead. The open paths (/auth,
// /admins/register, /admins/password_resets) need no caller: a valid
// token still names one, anything else is anonymous.
func (r *RBAC) Identify(ctx context.Context, req RequestInfo) (store.Actor, error) {
	token := req.Header(TokenHeader)
	if IsOpenPath(req.Path) {
		if token != "" {
			if actor, err := r.identifyToken(ctx, token); err == nil {
				return actor, nil
			}
		}
		return store.Anonymous, nil
	}
	if token == "" && r.Admins != nil && r.Admins.Sessions != nil {
		return r.Admins.IdentifySession(ctx, req)
	}
	return r.identifyToken(ctx, token)
}

// identifyToken is the token path of Identify.
func (r *RBAC) identifyToken(ctx context.Context, token string) (store.Actor, error) {
	if token == "" {
		return store.Anonymous, Unauthorized("")
	}
	digest := HashToken(token)
	rec, err := r.Store.FindUnique(ctx, "rbac_users", "user_token", digest)
	if store.IsNotFound(err) {
		return store.Anonymous, Unauthorized("")
	}
	if err != nil {
		return store.Anonymous, fmt.Errorf("rbac: finding the token's user: %w", err)
	}
	stored, _ := rec["user_token"].(string)
	if subtle.ConstantTimeCompare([]byte(stored), []byte(digest)) != 1 || rec["enabled"] != true {
		return store.Anonymous, Unauthorized("")
	}
	id, _ := rec["id"].(string)
	name, _ := rec["name"].(string)
	return store.Actor{ID: id, Name: name}, nil
}

// Authorize identifies the caller's roles (their own and, with teams, their
// teams'), asks Teams to scope the call, and lets the policies decide
// (decide, in rbac_policy.go): a refusal of the roles is Kong Enterprise's
// 403, a user rule's refusal a 403 with its message, an evaluation error
// or timeout an error (500).
func (r *RBAC) Authorize(ctx context.Context, call Call) error {
	if IsOpenPath(call.Path) {
		return nil // the handlers check their own credentials
	}
	if call.Actor.IsAnonymous() {
		return Unauthorized("")
	}
	if IsSelfPath(call.Path) {
		return nil // any identified caller may describe or manage itself
	}
	rec, err := r.Store.Get(ctx, "rbac_users", call.Actor.ID)
	if store.IsNotFound(err) {
		return Unauthorized("")
	}
	if err != nil {
		return fmt.Errorf("rbac: reading the caller: %w", err)
	}
	roles := stringList(rec["roles"])
	var member []TeamMembership
	var owners []string
	if r.Teams != nil {
		member, err = r.Teams.Memberships(ctx, call.Actor)
		if err != nil {
			return fmt.Errorf("rbac: reading the caller's teams: %w", err)
		}
		if owners, err = r.Teams.Scope(ctx, call, member); err != nil {
			return err
		}
		for _, m := range member {
			for _, role := range m.Roles {
				if !slices.Contains(roles, role) {
					roles = append(roles, role)
				}
			}
		}
	}
	return r.decide(ctx, call, roles, member, owners)
}

// Visible shows every entity when teams are off; with teams on, Teams
// decides.
func (r *RBAC) Visible(ctx context.Context, call Call, entity string, rec map[string]any) bool {
	if r.Teams == nil {
		return true
	}
	return r.Teams.Visible(ctx, call, entity, rec)
}

func stringList(v any) []string {
	var out []string
	switch l := v.(type) {
	case []any:
		for _, e := range l {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = l
	}
	return out
}

// CreateUser stores a new RBAC user with the given roles and returns it
// with its clear token, which is not stored and cannot be read again.
func CreateUser(ctx context.Context, st *store.Store, input map[string]any, roles []string) (map[string]any, error) {
	token, _ := input["user_token"].(string)
	if token == "" {
		var err error
		if token, err = NewToken(); err != nil {
			return nil, err
		}
	}
	for _, role := range roles {
		ok, err := RoleExists(ctx, st, role)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("rbac: no role named %q", role)
		}
	}
	in := map[string]any{}
	for k, v := range input {
		in[k] = v
	}
	in["user_token"] = HashToken(token)
	if len(roles) > 0 {
		in["roles"] = roles
	}
	rec, err := st.Insert(ctx, "rbac_users", in)
	if err != nil {
		return nil, err
	}
	rec["user_token"] = token
	return rec, nil
}

// RBACEndpoints are the /rbac endpoints: /rbac/users (GET, POST),
// /rbac/users/{u} (GET, PATCH, DELETE), /rbac/users/{u}/roles (GET, POST,
// DELETE), /rbac/users/{u}/permissions (GET), /rbac/roles (GET, POST),
// /rbac/roles/{r} (GET, PATCH, PUT, DELETE), /rbac/roles/{r}/endpoints
// (GET, POST), /rbac/roles/{r}/endpoints/{workspace}/{endpoint...} (GET,
// PATCH, DELETE) and /rbac/privileges (GET).
func RBACEndpoints(st *store.Store) []Endpoint {
	h := &rbacHandler{st: st}
	return []Endpoint{
		{Method: http.MethodGet, Path: "/rbac/users", Resource: ResourceRBAC, Handler: http.HandlerFunc(h.list)},
		{Method: http.MethodPost, Path: "/rbac/users", Resource: ResourceRBAC, Handler: http.HandlerFunc(h.create)},
		{Method: http.MethodGet, Path: "/rbac/users/:user", Resource: ResourceRBAC, Handler: http.HandlerFunc(h.get)},
		{Method: http.MethodPatch, Path: "/rbac/users/:user", Resource: ResourceRBAC, Handler: http.HandlerFunc(h.patch)},
		{Method: http.MethodDelete, Path: "/rbac/users/:user", Resource: ResourceRBAC, Handler: http.HandlerFunc(h.delete)},
		{Method: http.MethodGet, Path: "/rbac/users/:user/roles", Resource: ResourceRBAC, Handler: http.HandlerFunc(h.roles)},
		{Method: http.MethodPost, Path: "/rbac/users/:user/roles", Resource: ResourceRBAC, Handler: http.HandlerFunc(h.grant)},
		{Method: http.MethodDelete, Path: "/rbac/users/:user/roles", Resource: ResourceRBAC, Handler: http.HandlerFunc(h.revoke)},
		{Method: http.MethodGet, Path: "/rbac/users/:user/permissions", Resource: ResourceRBAC, Handler: http.HandlerFunc(h.permissions)},
		{Method: http.MethodGet, Path: "/rbac/roles", Resource: ResourceRBAC, Handler: http.HandlerFunc(h.listRoles)},
		{Method: http.MethodPost, Path: "/rbac/roles", Resource: ResourceRBAC, Handler: http.HandlerFunc(h.createRole)},
		{Method: http.MethodGet, Path: "/rbac/roles/:role", Resource: ResourceRBAC, Handler: http.HandlerFunc(h.getRole)},
		{Method: http.MethodPatch, Path: "/rbac/roles/:role", Resource: ResourceRBAC, Handler: http.HandlerFunc(h.patchRole)},
		{Method: http.MethodPut, Path: "/rbac/roles/:role", Resource: ResourceRBAC, Handler: http.HandlerFunc(h.patchRole)},
		{Method: http.MethodDelete, Path: "/rbac/roles/:role", Resource: ResourceRBAC, Handler: http.HandlerFunc(h.deleteRole)},
		{Method: http.MethodGet, Path: "/rbac/roles/:role/endpoints", Resource: ResourceRBAC, Handler: http.HandlerFunc(h.listEndpoints)},
		{Method: http.MethodPost, Path: "/rbac/roles/:role/endpoints", Resource: ResourceRBAC, Handler: http.HandlerFunc(h.createEndpoint)},
		{Method: http.MethodGet, Path: "/rbac/roles/:role/endpoints/:workspace/*", Resource: ResourceRBAC, Handler: http.HandlerFunc(h.getEndpoint)},
		{Method: http.MethodPatch, Path: "/rbac/roles/:role/endpoints/:workspace/*", Resource: ResourceRBAC, Handler: http.HandlerFunc(h.patchEndpoint)},
		{Method: http.MethodDelete, Path: "/rbac/roles/:role/endpoints/:workspace/*", Resource: ResourceRBAC, Handler: http.HandlerFunc(h.deleteEndpoint)},
		{Method: http.MethodGet, Path: "/rbac/privileges", Resource: ResourceRBAC, Handler: http.HandlerFunc(h.privileges)},
	}
}

type rbacHandler struct{ st *store.Store }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (h *rbacHandler) fail(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	if e, ok := store.AsError(err); ok {
		status = StatusFor(e.Code)
	}
	writeJSON(w, status, map[string]any{"message": err.Error()})
}

// public drops the token digest from a user record.
func public(rec map[string]any) map[string]any {
	delete(rec, "user_token")
	return rec
}

// readInput reads a JSON or form body.
func readInput(r *http.Request) (map[string]any, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	in := map[string]any{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if len(body) > 0 {
			if err := json.Unmarshal(body, &in); err != nil {
				return nil, fmt.Errorf("cannot parse JSON body")
			}
		}
		return in, nil
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("cannot parse form body")
	}
	for k, v := range vals {
		if len(v) > 0 {
			in[k] = v[0]
		}
	}
	if e, ok := in["enabled"].(string); ok {
		in["enabled"] = e == "true"
	}
	return in, nil
}

func splitRoles(v any) []string {
	var out []string
	switch l := v.(type) {
	case string:
		for _, r := range strings.Split(l, ",") {
			if r = strings.TrimSpace(r); r != "" {
				out = append(out, r)
			}
		}
	default:
		out = stringList(v)
	}
	return out
}

func (h *rbacHandler) list(w http.ResponseWriter, r *http.Request) {
	page, err := h.st.List(r.Context(), "rbac_users", store.ListQuery{Size: 1000})
	if err != nil {
		h.fail(w, err)
		return
	}
	data := make([]any, 0, len(page.Data))
	for _, rec := range page.Data {
		data = append(data, public(rec))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "next": nil})
}

func (h *rbacHandler) create(w http.ResponseWriter, r *http.Request) {
	in, err := readInput(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": err.Error()})
		return
	}
	roles := splitRoles(in["roles"])
	delete(in, "roles")
	rec, err := CreateUser(r.Context(), h.st, in, roles)
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, rec)
}

func (h *rbacHandler) get(w http.ResponseWriter, r *http.Request) {
	rec, err := h.st.Get(r.Context(), "rbac_users", r.PathValue("user"))
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, public(rec))
}

// patch updates a user's name, enabled and comment; a new user_token is
// stored hashed and answered once.
func (h *rbacHandler) patch(w http.ResponseWriter, r *http.Request) {
	in, err := readInput(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": err.Error()})
		return
	}
	delete(in, "roles")
	token, _ := in["user_token"].(string)
	if token != "" {
		in["user_token"] = HashToken(token)
	}
	rec, err := h.st.Update(r.Context(), "rbac_users", r.PathValue("user"), in)
	if err != nil {
		h.fail(w, err)
		return
	}
	public(rec)
	if token != "" {
		rec["user_token"] = token
	}
	writeJSON(w, http.StatusOK, rec)
}

func (h *rbacHandler) delete(w http.ResponseWriter, r *http.Request) {
	if _, err := h.st.Delete(r.Context(), "rbac_users", r.PathValue("user")); err != nil {
		h.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *rbacHandler) roles(w http.ResponseWriter, r *http.Request) {
	rec, err := h.st.Get(r.Context(), "rbac_users", r.PathValue("user"))
	if err != nil {
		h.fail(w, err)
		return
	}
	roles := []any{}
	for _, name := range stringList(rec["roles"]) {
		roles = append(roles, map[string]any{"name": name})
	}
	writeJSON(w, http.StatusOK, map[string]any{"roles": roles, "user": public(rec)})
}

func (h *rbacHandler) grant(w http.ResponseWriter, r *http.Request) {
	in, err := readInput(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": err.Error()})
		return
	}
	add := splitRoles(in["roles"])
	if len(add) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "must provide >= 1 role"})
		return
	}
	for _, role := range add {
		ok, err := RoleExists(r.Context(), h.st, role)
		if err != nil {
			h.fail(w, err)
			return
		}
		if !ok {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": "role not found with name '" + role + "'"})
			return
		}
	}
	rec, err := h.st.Get(r.Context(), "rbac_users", r.PathValue("user"))
	if err != nil {
		h.fail(w, err)
		return
	}
	roles := stringList(rec["roles"])
	for _, role := range add {
		dup := false
		for _, have := range roles {
			dup = dup || have == role
		}
		if !dup {
			roles = append(roles, role)
		}
	}
	id, _ := rec["id"].(string)
	rec, err = h.st.Update(r.Context(), "rbac_users", id, map[string]any{"roles": roles})
	if err != nil {
		h.fail(w, err)
		return
	}
	out := []any{}
	for _, name := range roles {
		out = append(out, map[string]any{"name": name})
	}
	writeJSON(w, http.StatusCreated, map[string]any{"roles": out, "user": public(rec)})
}
