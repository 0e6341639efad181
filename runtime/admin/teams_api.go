package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/store"
)

// roleExists reports whether a role of that name exists (predefined or
// stored), for the roles a team grants.
func roleExists(ctx context.Context, st *store.Store, name string) (bool, error) {
	return RoleExists(ctx, st, name)
}

// TeamEndpoints are the /teams endpoints (authorized as resource
// /teams): the teams, their members, roles, assets and assignment rules.
// runtime/app adds them when enable_teams is on.
func TeamEndpoints(t *TeamService) []Endpoint {
	h := &teamHandler{t: t, st: t.st}
	ep := func(method, path string, fn http.HandlerFunc) Endpoint {
		return Endpoint{Method: method, Path: path, Resource: ResourceTeams, Handler: fn}
	}
	return []Endpoint{
		ep(http.MethodGet, "/teams", h.list),
		ep(http.MethodPost, "/teams", h.create),
		ep(http.MethodGet, "/teams/:team", h.get),
		ep(http.MethodPatch, "/teams/:team", h.patch),
		ep(http.MethodDelete, "/teams/:team", h.delete),
		ep(http.MethodGet, "/teams/:team/members", h.members),
		ep(http.MethodPost, "/teams/:team/members", h.addMember),
		ep(http.MethodDelete, "/teams/:team/members/:user", h.removeMember),
		ep(http.MethodGet, "/teams/:team/roles", h.roles),
		ep(http.MethodPost, "/teams/:team/roles", h.addRoles),
		ep(http.MethodDelete, "/teams/:team/roles", h.removeRoles),
		ep(http.MethodGet, "/teams/:team/assets", h.assets),
		ep(http.MethodPost, "/teams/:team/assets", h.assignAsset),
		ep(http.MethodDelete, "/teams/:team/assets/:entity/:id", h.unassignAsset),
		ep(http.MethodGet, "/teams/:team/rules", h.rules),
		ep(http.MethodPost, "/teams/:team/rules", h.addRule),
		ep(http.MethodDelete, "/teams/:team/rules/:rule", h.removeRule),
	}
}

type teamHandler struct {
	t  *TeamService
	st *store.Store
}

// teamJSON answers with v as compact JSON, as the Admin API's own routes.
func teamJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"An unexpected error occurred"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func message(w http.ResponseWriter, status int, msg string) {
	teamJSON(w, status, map[string]any{"message": msg})
}

func (h *teamHandler) fail(w http.ResponseWriter, err error) {
	if store.IsNotFound(err) {
		message(w, http.StatusNotFound, "Not found")
		return
	}
	status := http.StatusBadRequest
	if e, ok := store.AsError(err); ok {
		status = StatusFor(e.Code)
	}
	if status >= 500 {
		message(w, status, "An unexpected error occurred")
		return
	}
	message(w, status, err.Error())
}

// team reads the team the path names; it answers 404 when there is none.
func (h *teamHandler) team(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	rec, err := h.st.Get(r.Context(), "teams", r.PathValue("team"))
	if err != nil {
		h.fail(w, err)
		return nil, false
	}
	return rec, true
}

func predefined(team map[string]any) bool {
	name, _ := team["name"].(string)
	return name == DefaultTeam || name == AdministratorsTeam
}

func (h *teamHandler) list(w http.ResponseWriter, r *http.Request) {
	data := []any{}
	if err := listAll(r.Context(), h.st, "teams", func(rec map[string]any) { data = append(data, rec) }); err != nil {
		h.fail(w, err)
		return
	}
	teamJSON(w, http.StatusOK, map[string]any{"data": data, "next": nil})
}

// checkRoles refuses unknown role names with Kong's message.
func (h *teamHandler) checkRoles(w http.ResponseWriter, r *http.Request, roles []string) bool {
	for _, role := range roles {
		ok, err := roleExists(r.Context(), h.st, role)
		if err != nil {
			h.fail(w, err)
			return false
		}
		if !ok {
			message(w, http.StatusBadRequest, "role not found with name '"+role+"'")
			return false
		}
	}
	return true
}

// teamInput keeps a team's writable fields: name, description, roles.
func (h *teamHandler) teamInput(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	in, err := readInput(r)
	if err != nil {
		message(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	out := map[string]any{}
	for _, k := range []string{"name", "description"} {
		if v, ok := in[k]; ok {
			out[k] = v
		}
	}
	if v, ok := in["roles"]; ok {
		roles := splitRoles(v)
		if !h.checkRoles(w, r, roles) {
			return nil, false
		}
		out["roles"] = roles
	}
	return out, true
}

func (h *teamHandler) create(w http.ResponseWriter, r *http.Request) {
	in, ok := h.teamInput(w, r)
	if !ok {
		return
	}
	rec, err := h.st.Insert(r.Context(), "teams", in)
	if err != nil {
		h.fail(w, err)
		return
	}
	teamJSON(w, http.StatusCreated, rec)
}

func (h *teamHandler) get(w http.ResponseWriter, r *http.Request) {
	if rec, ok := h.team(w, r); ok {
		teamJSON(w, http.StatusOK, rec)
	}
}

func (h *teamHandler) patch(w http.ResponseWriter, r *http.Request) {
	team, ok := h.team(w, r)
	if !ok {
		return
	}
	in, ok := h.teamInput(w, r)
	if !ok {
		return
	}
	if name, renamed := in["name"]; renamed && predefined(team) && name != team["name"] {
		message(w, http.StatusBadRequest, "the "+team["name"].(string)+" team cannot be renamed")
		return
	}
	rec, err := h.st.Update(r.Context(), "teams", team["id"].(string), in)
	if err != nil {
		h.fail(w, err)
		return
	}
	teamJSON(w, http.StatusOK, rec)
}

// delete deletes a team (not Default nor Administrators); the entities
// only it owned go to Default.
func (h *teamHandler) delete(w http.ResponseWriter, r *http.Request) {
	team, ok := h.team(w, r)
	if !ok {
		return
	}
	if predefined(team) {
		message(w, http.StatusBadRequest, "the "+team["name"].(string)+" team cannot be deleted")
		return
	}
	if err := h.t.orphansToDefault(r.Context(), team["id"].(string)); err != nil {
		h.fail(w, err)
		return
	}
	if _, err := h.st.Delete(r.Context(), "teams", team["id"].(string)); err != nil {
		h.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// userRef is how members show their user: id and name.
func (h *teamHandler) userRef(r *http.Request, id string) map[string]any {
	out := map[string]any{"id": id}
	if rec, err := h.st.Get(r.Context(), "rbac_users", id); err == nil {
		out["name"] = rec["name"]
	}
	return out
}

func teamRef(team map[string]any) map[string]any {
	return map[string]any{"id": team["id"], "name": team["name"]}
}

// listOfTeam answers the list of the entity's records that belong to the
// team the path names (by their "team" foreign key), each shown by show.
func (h *teamHandler) listOfTeam(w http.ResponseWriter, r *http.Request, entity string, show func(rec map[string]any) any) {
	team, ok := h.team(w, r)
	if !ok {
		return
	}
	data := []any{}
	byTeam := store.ListQuery{ForeignField: "team", ForeignKey: team["id"].(string)}
	err := listWhere(r.Context(), h.st, entity, byTeam, func(rec map[string]any) {
		if foreignKey(rec["team"]) == team["id"] {
			data = append(data, show(rec))
		}
	})
	if err != nil {
		h.fail(w, err)
		return
	}
	teamJSON(w, http.StatusOK, map[string]any{"data": data, "next": nil})
}

func (h *teamHandler) members(w http.ResponseWriter, r *http.Request) {
	h.listOfTeam(w, r, "team_members", func(rec map[string]any) any {
		return map[string]any{"user": h.userRef(r, foreignKey(rec["user"])),
			"admin": rec["admin"], "created_at": rec["created_at"]}
	})
}

func (h *teamHandler) addMember(w http.ResponseWriter, r *http.Request) {
	team, ok := h.team(w, r)
	if !ok {
		return
	}
	in, err := readInput(r)
	if err != nil {
		message(w, http.StatusBadRequest, err.Error())
		return
	}
	if team["name"] == DefaultTeam {
		message(w, http.StatusBadRequest, "every administrator belongs to the Default team")
		return
	}
	name, _ := in["user"].(string)
	if name == "" {
		message(w, http.StatusBadRequest, "user: required field missing")
		return
	}
	user, err := h.st.Get(r.Context(), "rbac_users", name)
	if store.IsNotFound(err) {
		message(w, http.StatusBadRequest, "user not found with name '"+name+"'")
		return
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	admin := false
	switch a := in["admin"].(type) {
	case bool:
		admin = a
	case string:
		admin = a == "true"
	}
	rec, err := h.st.Insert(r.Context(), "team_members", map[string]any{"team": map[string]any{"id": team["id"]},
		"user": map[string]any{"id": user["id"]}, "admin": admin})
	if err != nil {
		h.fail(w, err)
		return
	}
	teamJSON(w, http.StatusCreated, map[string]any{"team": teamRef(team),
		"user": map[string]any{"id": user["id"], "name": user["name"]}, "admin": rec["admin"], "created_at": rec["created_at"]})
}

func (h *teamHandler) removeMember(w http.ResponseWriter, r *http.Request) {
	team, ok := h.team(w, r)
	if !ok {
		return
	}
	user, err := h.st.Get(r.Context(), "rbac_users", r.PathValue("user"))
	if err != nil {
		h.fail(w, err)
		return
	}
	h.t.mu.RLock()
	row, member := h.t.idx.members[user["id"].(string)][team["id"].(string)]
	h.t.mu.RUnlock()
	if !member {
		message(w, http.StatusNotFound, "Not found")
		return
	}
	if _, err := h.st.Delete(r.Context(), "team_members", row.ID); err != nil {
		h.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func rolesBody(team map[string]any) map[string]any {
	roles := []any{}
	for _, name := range stringList(team["roles"]) {
		roles = append(roles, map[string]any{"name": name})
	}
	return map[string]any{"roles": roles, "team": team}
}

func (h *teamHandler) roles(w http.ResponseWriter, r *http.Request) {
	if team, ok := h.team(w, r); ok {
		teamJSON(w, http.StatusOK, rolesBody(team))
	}
}

// changeRoles adds (or removes) the body's roles to the team's.
func (h *teamHandler) changeRoles(w http.ResponseWriter, r *http.Request, add bool) {
	team, ok := h.team(w, r)
	if !ok {
		return
	}
	in, err := readInput(r)
	if err != nil {
		message(w, http.StatusBadRequest, err.Error())
		return
	}
	change := splitRoles(in["roles"])
	if len(change) == 0 {
		message(w, http.StatusBadRequest, "must provide >= 1 role")
		return
	}
	if add && !h.checkRoles(w, r, change) {
		return
	}
	roles := stringList(team["roles"])
	for _, role := range change {
		if add && !slices.Contains(roles, role) {
			roles = append(roles, role)
		}
		if !add {
			roles = slices.DeleteFunc(roles, func(have string) bool { return have == role })
		}
	}
	if roles == nil {
		roles = []string{}
	}
	team, err = h.st.Update(r.Context(), "teams", team["id"].(string), map[string]any{"roles": roles})
	if err != nil {
		h.fail(w, err)
		return
	}
	if !add {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	teamJSON(w, http.StatusCreated, rolesBody(team))
}

func (h *teamHandler) addRoles(w http.ResponseWriter, r *http.Request)    { h.changeRoles(w, r, true) }
func (h *teamHandler) removeRoles(w http.ResponseWriter, r *http.Request) { h.changeRoles(w, r, false) }

// assets lists the entities the team owns that still exist: for
// Administrators every entity of a team-owned type.
func (h *teamHandler) assets(w http.ResponseWriter, r *http.Request) {
	team, ok := h.team(w, r)
	if !ok {
		return
	}
	id, name := team["id"].(string), team["name"].(string)
	only := r.URL.Query().Get("entity")
	data := []any{}
	for _, entity := range store.TeamOwnedEntities {
		if only != "" && entity != only {
			continue
		}
		err := listAll(r.Context(), h.st, entity, func(rec map[string]any) {
			eid, _ := rec["id"].(string)
			h.t.mu.RLock()
			owners := h.t.idx.owners[store.RowRef{Entity: entity, ID: eid}]
			row, owns := owners[id]
			h.t.mu.RUnlock()
			owns = owns || name == AdministratorsTeam
			if !owns {
				return
			}
			item := map[string]any{"entity": entity, "id": eid, "via_rule": row.ViaRule}
			if n := entityName(entity, rec); n != "" {
				item["name"] = n
			}
			data = append(data, item)
		})
		if err != nil {
			h.fail(w, err)
			return
		}
	}
	teamJSON(w, http.StatusOK, map[string]any{"data": data, "next": nil})
}

// entityName is the name an asset listing shows.
func entityName(entity string, rec map[string]any) string {
	if entity == "consumers" {
		n, _ := rec["username"].(string)
		return n
	}
	n, _ := rec["name"].(string)
	return n
}

// assignAsset gives the team an entity: {"entity": "services", "id": id
// or endpoint key}. The caller must see the entity and belong to the
// team, unless they are a super-admin or in Administrators.
func (h *teamHandler) assignAsset(w http.ResponseWriter, r *http.Request) {
	team, ok := h.team(w, r)
	if !ok {
		return
	}
	in, err := readInput(r)
	if err != nil {
		message(w, http.StatusBadRequest, err.Error())
		return
	}
	entity, _ := in["entity"].(string)
	key, _ := in["id"].(string)
	if !slices.Contains(store.TeamOwnedEntities, entity) {
		message(w, http.StatusBadRequest, "entity: expected one of: "+strings.Join(store.TeamOwnedEntities, ", "))
		return
	}
	if key == "" {
		message(w, http.StatusBadRequest, "id: required field missing")
		return
	}
	if team["name"] == AdministratorsTeam {
		message(w, http.StatusBadRequest, "the Administrators team owns every entity")
		return
	}
	actor := store.ActorFrom(r.Context())
	teamID := team["id"].(string)
	h.t.mu.RLock()
	v := h.t.viewerLocked(actor.ID)
	h.t.mu.RUnlock()
	if !v.all && !v.teams[teamID] {
		teamJSON(w, http.StatusForbidden, map[string]any{"message": Forbidden(actor, OpCreate).Message})
		return
	}
	rec, err := h.st.Get(r.Context(), entity, key)
	if err == nil && !h.t.visible(actor, entity, rec) {
		err = store.ErrNotFound
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	ref := store.RowRef{Entity: entity, ID: rec["id"].(string)}
	wrote, err := h.t.assign(r.Context(), teamID, ref, false)
	if err != nil {
		h.fail(w, err)
		return
	}
	status := http.StatusCreated
	if !wrote {
		status = http.StatusOK
	}
	teamJSON(w, status, map[string]any{"team": teamRef(team), "entity": entity, "id": ref.ID})
}

// unassignAsset removes the team from an entity. The Administrators
// team cannot be removed, nor a team one of its rules still gives the
// entity, nor the entity's last team (it would be no one's); the caller
// must belong to the team unless they see everything.
func (h *teamHandler) unassignAsset(w http.ResponseWriter, r *http.Request) {
	team, ok := h.team(w, r)
	if !ok {
		return
	}
	if team["name"] == AdministratorsTeam {
		message(w, http.StatusBadRequest, "the Administrators team cannot be removed from an entity")
		return
	}
	entity := r.PathValue("entity")
	if !slices.Contains(store.TeamOwnedEntities, entity) {
		message(w, http.StatusNotFound, "Not found")
		return
	}
	actor := store.ActorFrom(r.Context())
	teamID := team["id"].(string)
	rec, err := h.st.Get(r.Context(), entity, r.PathValue("id"))
	if err == nil && !h.t.visible(actor, entity, rec) {
		err = store.ErrNotFound
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	id, _ := rec["id"].(string)
	h.t.mu.RLock()
	v := h.t.viewerLocked(actor.ID)
	owners := h.t.idx.owners[store.RowRef{Entity: entity, ID: id}]
	row, owns := owners[teamID]
	last := len(owners) == 1
	ruled := false
	for _, rule := range h.t.idx.rules {
		ruled = ruled || (rule.TeamID == teamID && rule.Matches(entity, rec))
	}
	h.t.mu.RUnlock()
	switch {
	case !v.all && !v.teams[teamID]:
		teamJSON(w, http.StatusForbidden, map[string]any{"message": Forbidden(actor, OpDelete).Message})
	case !owns:
		message(w, http.StatusNotFound, "Not found")
	case ruled:
		message(w, http.StatusBadRequest, "an assignment rule of the team gives it the entity: it cannot be removed")
	case last:
		message(w, http.StatusBadRequest, "the entity's last team cannot be removed: assign another one first")
	default:
		if _, err := h.st.Delete(r.Context(), "team_assets", row.ID); err != nil {
			h.fail(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (h *teamHandler) rules(w http.ResponseWriter, r *http.Request) {
	h.listOfTeam(w, r, "team_rules", func(rec map[string]any) any { return rec })
}

// addRule stores an assignment rule and applies it to the existing
// entities of its type; the answer counts them ("assigned").
func (h *teamHandler) addRule(w http.ResponseWriter, r *http.Request) {
	team, ok := h.team(w, r)
	if !ok {
		return
	}
	in, err := readInput(r)
	if err != nil {
		message(w, http.StatusBadRequest, err.Error())
		return
	}
	rule, err := ParseTeamRule(in)
	if err != nil {
		message(w, http.StatusBadRequest, "schema violation ("+err.Error()+")")
		return
	}
	if team["name"] == AdministratorsTeam {
		message(w, http.StatusBadRequest, "the Administrators team owns every entity")
		return
	}
	input := rule.Record()
	input["team"] = map[string]any{"id": team["id"]}
	rec, err := h.st.Insert(r.Context(), "team_rules", input)
	if err != nil {
		h.fail(w, err)
		return
	}
	rule.ID, rule.TeamID = rec["id"].(string), team["id"].(string)
	n, err := h.t.applyRule(r.Context(), rule)
	if err != nil {
		h.fail(w, err)
		return
	}
	rec["assigned"] = n
	teamJSON(w, http.StatusCreated, rec)
}

func (h *teamHandler) removeRule(w http.ResponseWriter, r *http.Request) {
	team, ok := h.team(w, r)
	if !ok {
		return
	}
	rec, err := h.st.Get(r.Context(), "team_rules", r.PathValue("rule"))
	if err == nil && foreignKey(rec["team"]) != team["id"] {
		err = store.ErrNotFound
	}
	if err == nil {
		_, err = h.st.Delete(r.Context(), "team_rules", rec["id"].(string))
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
