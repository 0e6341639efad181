package admin

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/gatehouse/gatehouse/store"
)

// The /rbac/roles endpoints, Kong Enterprise's shapes: roles, their
// endpoint permissions, role revocation, a user's permissions and the
// privilege bundles.

// errPredefined is the refusal of a change to a predefined role.
func errPredefined(name, what string) map[string]any {
	return map[string]any{"message": fmt.Sprintf("'%s' is a predefined role: it cannot be %s", name, what)}
}

func roleNotFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not found"})
}

func badRequest(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"message": msg})
}

// role reads the role the path names, answering 404 itself.
func (h *rbacHandler) role(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	rec, err := h.st.Get(r.Context(), "rbac_roles", r.PathValue("role"))
	if store.IsNotFound(err) {
		roleNotFound(w)
		return nil, false
	}
	if err != nil {
		h.fail(w, err)
		return nil, false
	}
	return rec, true
}

func isPredefined(rec map[string]any) bool {
	name, _ := rec["name"].(string)
	_, ok := Predefined(name)
	return ok || rec["predefined"] == true
}

// page answers one page of a collection, Kong's shape: size and offset
// from the query string, next the following page's URL or null.
func (h *rbacHandler) page(w http.ResponseWriter, r *http.Request, entity string, q store.ListQuery, show func(map[string]any) any) {
	q.Size = store.DefaultPageSize
	if s := r.URL.Query().Get("size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > store.MaxPageSize {
			badRequest(w, "size must be an integer between 1 and "+strconv.Itoa(store.MaxPageSize))
			return
		}
		q.Size = n
	}
	q.Offset = r.URL.Query().Get("offset")
	pg, err := h.st.List(r.Context(), entity, q)
	if err != nil {
		h.fail(w, err)
		return
	}
	data := make([]any, 0, len(pg.Data))
	for _, rec := range pg.Data {
		data = append(data, show(rec))
	}
	var next any
	out := map[string]any{"data": data, "next": next}
	if pg.Offset != "" {
		out["offset"] = pg.Offset
		out["next"] = r.URL.Path + "?offset=" + pg.Offset + "&size=" + strconv.Itoa(q.Size)
	}
	writeJSON(w, http.StatusOK, out)
}

func same(rec map[string]any) any { return rec }

func (h *rbacHandler) listRoles(w http.ResponseWriter, r *http.Request) {
	h.page(w, r, "rbac_roles", store.ListQuery{}, same)
}

// roleInput reads a role's writable fields; predefined is read-only.
func roleInput(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	in, err := readInput(r)
	if err != nil {
		badRequest(w, err.Error())
		return nil, false
	}
	if p, ok := in["predefined"]; ok {
		if p == true || p == "true" {
			badRequest(w, "predefined: read-only field")
			return nil, false
		}
		delete(in, "predefined")
	}
	if v, ok := in["privileges"]; ok {
		names := splitRoles(v)
		for _, n := range names {
			if _, ok := PrivilegeByName(n); !ok {
				badRequest(w, "privileges: no privilege bundle named '"+n+"' (GET /rbac/privileges lists them)")
				return nil, false
			}
		}
		in["privileges"] = toAny(names)
	}
	return in, true
}

func (h *rbacHandler) createRole(w http.ResponseWriter, r *http.Request) {
	in, ok := roleInput(w, r)
	if !ok {
		return
	}
	if name, _ := in["name"].(string); name != "" {
		if _, ok := Predefined(name); ok {
			writeJSON(w, http.StatusConflict, map[string]any{"message": "UNIQUE violation detected on '{name=\"" + name + "\"}'"})
			return
		}
	}
	rec, err := h.st.Insert(r.Context(), "rbac_roles", in)
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, rec)
}

func (h *rbacHandler) getRole(w http.ResponseWriter, r *http.Request) {
	if rec, ok := h.role(w, r); ok {
		writeJSON(w, http.StatusOK, rec)
	}
}

// patchRole updates a custom role; a new name follows into the users'
// grants.
func (h *rbacHandler) patchRole(w http.ResponseWriter, r *http.Request) {
	rec, ok := h.role(w, r)
	if !ok {
		return
	}
	oldName, _ := rec["name"].(string)
	if isPredefined(rec) {
		writeJSON(w, http.StatusBadRequest, errPredefined(oldName, "changed"))
		return
	}
	in, ok := roleInput(w, r)
	if !ok {
		return
	}
	if name, _ := in["name"].(string); name != "" && name != oldName {
		if _, ok := Predefined(name); ok {
			writeJSON(w, http.StatusConflict, map[string]any{"message": "UNIQUE violation detected on '{name=\"" + name + "\"}'"})
			return
		}
	}
	id, _ := rec["id"].(string)
	out, err := h.st.Update(r.Context(), "rbac_roles", id, in)
	if err != nil {
		h.fail(w, err)
		return
	}
	if newName, _ := out["name"].(string); newName != oldName {
		if err := h.renameGrants(r.Context(), oldName, newName); err != nil {
			h.fail(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// renameGrants replaces a role's name in every user's roles ("" removes
// it).
func (h *rbacHandler) renameGrants(ctx context.Context, from, to string) error {
	q := store.ListQuery{Size: store.MaxPageSize}
	for {
		pg, err := h.st.List(ctx, "rbac_users", q)
		if err != nil {
			return err
		}
		for _, u := range pg.Data {
			roles := stringList(u["roles"])
			i := slices.Index(roles, from)
			if i < 0 {
				continue
			}
			var next []string
			for _, r := range roles {
				switch {
				case r != from:
					next = append(next, r)
				case to != "" && !slices.Contains(roles, to):
					next = append(next, to)
				}
			}
			id, _ := u["id"].(string)
			if _, err := h.st.Update(ctx, "rbac_users", id, map[string]any{"roles": toAny(next)}); err != nil {
				return fmt.Errorf("rbac: updating the roles of %v: %w", u["name"], err)
			}
		}
		if pg.Offset == "" {
			return nil
		}
		q.Offset = pg.Offset
	}
}

func (h *rbacHandler) deleteRole(w http.ResponseWriter, r *http.Request) {
	rec, err := h.st.Get(r.Context(), "rbac_roles", r.PathValue("role"))
	if store.IsNotFound(err) {
		w.WriteHeader(http.StatusNoContent) // Kong: deleting nothing is a 204
		return
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	name, _ := rec["name"].(string)
	if isPredefined(rec) {
		writeJSON(w, http.StatusBadRequest, errPredefined(name, "deleted"))
		return
	}
	id, _ := rec["id"].(string)
	if _, err := h.st.Delete(r.Context(), "rbac_roles", id); err != nil {
		h.fail(w, err)
		return
	}
	if err := h.renameGrants(r.Context(), name, ""); err != nil {
		h.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// showEndpoint is a permission as Kong Enterprise shows it: the role as a
// foreign key.
func showEndpoint(rec map[string]any) any { return rec }

func (h *rbacHandler) listEndpoints(w http.ResponseWriter, r *http.Request) {
	rec, ok := h.role(w, r)
	if !ok {
		return
	}
	id, _ := rec["id"].(string)
	h.page(w, r, "rbac_role_endpoints", store.ListQuery{ForeignField: "role", ForeignKey: id}, showEndpoint)
}

// endpointInput reads a permission's fields: endpoint, actions (a
// comma-separated string or an array, "*" for all), negative, workspace,
// comment.
func endpointInput(in map[string]any, creating bool) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range in {
		switch k {
		case "endpoint":
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("endpoint: expected a string")
			}
			ep, err := NormalizeEndpoint(s)
			if err != nil {
				return nil, err
			}
			out[k] = ep
		case "actions":
			acts, err := ParseActions(v)
			if err != nil {
				return nil, err
			}
			out[k] = toAny(acts)
		case "negative":
			switch b := v.(type) {
			case bool:
				out[k] = b
			case string:
				if b != "true" && b != "false" {
					return nil, fmt.Errorf("negative: expected a boolean")
				}
				out[k] = b == "true"
			default:
				return nil, fmt.Errorf("negative: expected a boolean")
			}
		case "workspace":
			s, ok := v.(string)
			if !ok || (s != DefaultWorkspace && s != "*") {
				return nil, fmt.Errorf("workspace: no workspace named '%v' (Gatehouse has '%s'; '*' is every workspace)", v, DefaultWorkspace)
			}
			out[k] = s
		case "comment":
			out[k] = v
		case "role", "id", "created_at":
			// set by the path, or generated
		default:
			return nil, fmt.Errorf("%s: unknown field", k)
		}
	}
	if creating {
		if _, ok := out["endpoint"]; !ok {
			return nil, fmt.Errorf("endpoint: required field missing")
		}
		if _, ok := out["actions"]; !ok {
			return nil, fmt.Errorf("actions: required field missing")
		}
	}
	return out, nil
}

// endpointBody reads the body of a permission's create or update for a
// role, answering errors itself: a predefined role's permissions are
// fixed (400).
func (h *rbacHandler) endpointBody(w http.ResponseWriter, r *http.Request, role map[string]any, creating bool) (map[string]any, bool) {
	if isPredefined(role) {
		name, _ := role["name"].(string)
		writeJSON(w, http.StatusBadRequest, errPredefined(name, "given other endpoints"))
		return nil, false
	}
	raw, err := readInput(r)
	if err != nil {
		badRequest(w, err.Error())
		return nil, false
	}
	in, err := endpointInput(raw, creating)
	if err != nil {
		badRequest(w, err.Error())
		return nil, false
	}
	return in, true
}

func (h *rbacHandler) createEndpoint(w http.ResponseWriter, r *http.Request) {
	rec, ok := h.role(w, r)
	if !ok {
		return
	}
	in, ok := h.endpointBody(w, r, rec, true)
	if !ok {
		return
	}
	id, _ := rec["id"].(string)
	in["role"] = map[string]any{"id": id}
	out, err := h.st.Insert(r.Context(), "rbac_role_endpoints", in)
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

// pathEndpoint is the permission a path names:
// /rbac/roles/{role}/endpoints/{workspace}/{endpoint...}.
func pathEndpoint(r *http.Request) (workspace, endpoint string, err error) {
	workspace = r.PathValue("workspace")
	rest := r.PathValue("*1") // Fiber names its first wildcard "*1"
	if rest == "" {
		rest = r.PathValue("*")
	}
	endpoint, err = NormalizeEndpoint(rest)
	return workspace, endpoint, err
}

// endpoint reads the role and the permission the path names, answering
// errors itself.
func (h *rbacHandler) endpoint(w http.ResponseWriter, r *http.Request) (role, ep map[string]any, ok bool) {
	role, ok = h.role(w, r)
	if !ok {
		return nil, nil, false
	}
	ws, endpoint, err := pathEndpoint(r)
	if err != nil {
		roleNotFound(w)
		return nil, nil, false
	}
	id, _ := role["id"].(string)
	eps, err := roleEndpoints(r.Context(), h.st, id)
	if err != nil {
		h.fail(w, err)
		return nil, nil, false
	}
	if ep = findEndpoint(eps, ws, endpoint); ep == nil {
		roleNotFound(w)
		return nil, nil, false
	}
	return role, ep, true
}

func (h *rbacHandler) getEndpoint(w http.ResponseWriter, r *http.Request) {
	if _, ep, ok := h.endpoint(w, r); ok {
		writeJSON(w, http.StatusOK, ep)
	}
}

func (h *rbacHandler) patchEndpoint(w http.ResponseWriter, r *http.Request) {
	role, ep, ok := h.endpoint(w, r)
	if !ok {
		return
	}
	in, ok := h.endpointBody(w, r, role, false)
	if !ok {
		return
	}
	delete(in, "endpoint")
	delete(in, "workspace")
	id, _ := ep["id"].(string)
	out, err := h.st.Update(r.Context(), "rbac_role_endpoints", id, in)
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *rbacHandler) deleteEndpoint(w http.ResponseWriter, r *http.Request) {
	role, ep, ok := h.endpoint(w, r)
	if !ok {
		return
	}
	name, _ := role["name"].(string)
	if isPredefined(role) {
		writeJSON(w, http.StatusBadRequest, errPredefined(name, "given other endpoints"))
		return
	}
	id, _ := ep["id"].(string)
	if _, err := h.st.Delete(r.Context(), "rbac_role_endpoints", id); err != nil {
		h.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// revoke is DELETE /rbac/users/{u}/roles: the body's roles are taken
// from the user.
func (h *rbacHandler) revoke(w http.ResponseWriter, r *http.Request) {
	in, err := readInput(r)
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	drop := splitRoles(in["roles"])
	if len(drop) == 0 {
		badRequest(w, "must provide >= 1 role")
		return
	}
	rec, err := h.st.Get(r.Context(), "rbac_users", r.PathValue("user"))
	if store.IsNotFound(err) {
		roleNotFound(w)
		return
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	var keep []string
	for _, role := range stringList(rec["roles"]) {
		if !slices.Contains(drop, role) {
			keep = append(keep, role)
		}
	}
	id, _ := rec["id"].(string)
	if _, err := h.st.Update(r.Context(), "rbac_users", id, map[string]any{"roles": toAny(keep)}); err != nil {
		h.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// permissions is GET /rbac/users/{u}/permissions, Kong Enterprise's
// shape: {"endpoints": {workspace: {endpoint: {"actions", "negative"}}},
// "entities": {}}. Permissions of several roles on one endpoint are
// merged: the union of their actions, negative when one is.
func (h *rbacHandler) permissions(w http.ResponseWriter, r *http.Request) {
	rec, err := h.st.Get(r.Context(), "rbac_users", r.PathValue("user"))
	if store.IsNotFound(err) {
		roleNotFound(w)
		return
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	perms, err := RolePermissions(r.Context(), h.st, stringList(rec["roles"]))
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"endpoints": endpointMap(perms), "entities": map[string]any{}})
}

// endpointMap groups permissions by workspace and endpoint.
func endpointMap(perms []Permission) map[string]any {
	type merged struct {
		actions  map[string]bool
		negative bool
	}
	by := map[string]map[string]*merged{}
	for _, p := range perms {
		ws := by[p.Workspace]
		if ws == nil {
			ws = map[string]*merged{}
			by[p.Workspace] = ws
		}
		m := ws[p.Endpoint]
		if m == nil {
			m = &merged{actions: map[string]bool{}}
			ws[p.Endpoint] = m
		}
		for _, a := range p.Actions {
			m.actions[a] = true
		}
		m.negative = m.negative || p.Negative
	}
	out := map[string]any{}
	for ws, eps := range by {
		o := map[string]any{}
		for ep, m := range eps {
			acts := []any{}
			for _, a := range Actions {
				if m.actions[a] {
					acts = append(acts, a)
				}
			}
			o[ep] = map[string]any{"actions": acts, "negative": m.negative}
		}
		out[ws] = o
	}
	return out
}

// privileges is GET /rbac/privileges: the bundles.
func (h *rbacHandler) privileges(w http.ResponseWriter, r *http.Request) {
	data := make([]any, 0, len(Privileges))
	for _, p := range Privileges {
		p.Permissions = p.Expand(h.st.Registry())
		data = append(data, p)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "next": nil})
}
