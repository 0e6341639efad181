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
	"strings"

	"github.com/gatehouse/gatehouse/store"
)

// RBAC is the Admin API's role-based access control when enforce_rbac is
// on: it identifies callers by their Kong-Admin-Token and allows a call
// when one of the caller's roles does. Roles are, for now, the predefined
// bundles of Roles (decided in Go; the `admin` Rego policy is not yet
// shipped).
type RBAC struct {
	// Store holds the rbac_users.
	Store *store.Store
	// Teams scopes calls and lists by team when enable_teams is on; nil
	// when it is off.
	Teams Teams
}

// ResourceRBAC is the resource of the /rbac endpoints.
const ResourceRBAC = "/rbac"

// TokenHeader is the header an administrator's token comes in.
const TokenHeader = "Kong-Admin-Token"

// Roles are the predefined roles: super-admin may do everything, admin
// everything but /rbac, read-only only reads.
var Roles = map[string]func(Call) bool{
	"super-admin": func(Call) bool { return true },
	"admin":       func(c Call) bool { return c.Entity != ResourceRBAC && c.Entity != "rbac_users" },
	"read-only": func(c Call) bool {
		return (c.Operation == OpRead || c.Operation == OpList) && c.Entity != ResourceRBAC && c.Entity != "rbac_users"
	},
}

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
// missing, unknown or disabled token is refused with Kong's 401.
func (r *RBAC) Identify(ctx context.Context, req RequestInfo) (store.Actor, error) {
	token := req.Header(TokenHeader)
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

// Authorize allows the call when one of the actor's roles does, and
// refuses it with Kong Enterprise's 403 otherwise.
func (r *RBAC) Authorize(ctx context.Context, call Call) error {
	if call.Actor.IsAnonymous() {
		return Unauthorized("")
	}
	rec, err := r.Store.Get(ctx, "rbac_users", call.Actor.ID)
	if store.IsNotFound(err) {
		return Unauthorized("")
	}
	if err != nil {
		return fmt.Errorf("rbac: reading the caller: %w", err)
	}
	roles := stringList(rec["roles"])
	if r.Teams != nil {
		member, err := r.Teams.Memberships(ctx, call.Actor)
		if err != nil {
			return fmt.Errorf("rbac: reading the caller's teams: %w", err)
		}
		if _, err := r.Teams.Scope(ctx, call, member); err != nil {
			return err
		}
		for _, m := range member {
			roles = append(roles, m.Roles...)
		}
	}
	for _, role := range roles {
		if allow, ok := Roles[role]; ok && allow(call) {
			return nil
		}
	}
	return Forbidden(call.Actor, call.Operation)
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
		if _, ok := Roles[role]; !ok {
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
// /rbac/users/{u} (GET, PATCH, DELETE) and /rbac/users/{u}/roles (GET, POST).
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
		if _, ok := Roles[role]; !ok {
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
