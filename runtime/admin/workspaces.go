package admin

import (
	"context"
	"net/http"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gofiber/fiber/v2"
)

// Workspaces: Gatehouse has one workspace, `default`. Every Admin API
// route answers under /default/... too (workspacePrefix); /workspaces
// shows and configures `default`; creating, renaming or deleting a
// workspace is refused with 400.

// ErrOneWorkspace is the message of the refusal to create a workspace.
const ErrOneWorkspace = "Gatehouse has one workspace, 'default': creating workspaces is not supported"

// defaultWorkspaceID is the id of `default` on a DB-less node, which
// stores nothing.
const defaultWorkspaceID = "00000000-0000-4000-8000-000000000001"

// workspaceKey marks, in a request's locals, a request whose /default
// prefix was removed (once: /default/default/... stays unknown).
type workspaceKey struct{}

// workspacePrefix serves /default/... as /...: it strips the prefix and
// routes the request again, so that RBAC, teams, the audit log and every
// handler see the same call as without it. Other first segments are
// ordinary paths: /{other}/services names no route and is Kong's 404.
func (s *Server) workspacePrefix(c *fiber.Ctx) error {
	if c.Locals(workspaceKey{}) != nil {
		return c.Next()
	}
	rest, ok := stripWorkspace(c.Path())
	if !ok {
		return c.Next()
	}
	c.Locals(workspaceKey{}, store.DefaultWorkspace)
	c.Path(rest)
	return c.RestartRouting()
}

// stripWorkspace removes a leading /default segment from a path: "/default"
// and "/default/" become "/", "/default/services" "/services".
func stripWorkspace(p string) (string, bool) {
	const prefix = "/" + store.DefaultWorkspace
	if len(p) < len(prefix) || p[:len(prefix)] != prefix {
		return p, false
	}
	rest := p[len(prefix):]
	switch {
	case rest == "":
		return "/", true
	case rest[0] == '/':
		return rest, true
	}
	return p, false // "/defaults": another path
}

// defaultWorkspace reads `default`, storing it with its defaults the
// first time (nodes starting together: the loser of the insert reads the
// winner's).
func (h *portalHandler) defaultWorkspace(ctx context.Context) (map[string]any, error) {
	rec, err := h.st.Get(ctx, "workspaces", store.DefaultWorkspace)
	if err == nil || !store.IsNotFound(err) {
		return rec, err
	}
	if h.st.ReadOnly() {
		return map[string]any{"id": defaultWorkspaceID, "name": store.DefaultWorkspace, "comment": nil,
			"config": map[string]any{"portal": false, "portal_developer_meta_fields": store.DefaultDeveloperMetaFields},
			"meta":   map[string]any{"color": nil, "thumbnail": nil}}, nil
	}
	rec, err = h.st.Insert(ctx, "workspaces", map[string]any{"name": store.DefaultWorkspace, "config": map[string]any{}})
	if e, ok := store.AsError(err); ok && e.Code == store.CodeUniqueViolation {
		return h.st.Get(ctx, "workspaces", store.DefaultWorkspace)
	}
	return rec, err
}

// DefaultWorkspaceConfig returns the stored config of the `default`
// workspace (the portal settings), for the portal and Kong Manager.
func DefaultWorkspaceConfig(ctx context.Context, st *store.Store) (map[string]any, error) {
	h := &portalHandler{st: st}
	ws, err := h.defaultWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	cfg, _ := ws["config"].(map[string]any)
	if cfg == nil {
		cfg = map[string]any{}
	}
	return cfg, nil
}

// workspace reads the workspace a path names: `default` by name or id;
// any other is 404.
func (h *portalHandler) workspace(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	ws, err := h.defaultWorkspace(r.Context())
	if err != nil {
		portalFail(w, err)
		return nil, false
	}
	key := pathParam(r, "workspace")
	if key != store.DefaultWorkspace && key != ws["id"] {
		writeKong(w, http.StatusNotFound, map[string]any{"message": "Not found"})
		return nil, false
	}
	return ws, true
}

func (h *portalHandler) listWorkspaces(w http.ResponseWriter, r *http.Request) {
	ws, err := h.defaultWorkspace(r.Context())
	if err != nil {
		portalFail(w, err)
		return
	}
	writeKong(w, http.StatusOK, map[string]any{"data": []any{ws}, "next": nil})
}

func (h *portalHandler) createWorkspace(w http.ResponseWriter, _ *http.Request) {
	writeKong(w, http.StatusBadRequest, map[string]any{"message": ErrOneWorkspace})
}

func (h *portalHandler) getWorkspace(w http.ResponseWriter, r *http.Request) {
	if ws, ok := h.workspace(w, r); ok {
		writeKong(w, http.StatusOK, ws)
	}
}

// patchWorkspace updates comment, config and meta of `default` (PUT does
// the same: the workspace always exists); config and meta merge into the
// stored ones field by field.
func (h *portalHandler) patchWorkspace(w http.ResponseWriter, r *http.Request) {
	ws, ok := h.workspace(w, r)
	if !ok {
		return
	}
	in, ctx, err := h.input(r)
	if err != nil {
		portalFail(w, err)
		return
	}
	if name, ok := in["name"]; ok && name != store.DefaultWorkspace {
		writeKong(w, http.StatusBadRequest, map[string]any{"message": "the default workspace cannot be renamed"})
		return
	}
	delete(in, "name")
	for _, k := range []string{"id", "created_at", "updated_at"} {
		if _, ok := in[k]; ok {
			portalFail(w, violation(k, "cannot be changed"))
			return
		}
	}
	for _, k := range []string{"config", "meta"} {
		patch, ok := in[k].(map[string]any)
		if !ok {
			continue
		}
		merged := map[string]any{}
		if old, ok := ws[k].(map[string]any); ok {
			for f, v := range old {
				merged[f] = v
			}
		}
		for f, v := range patch {
			merged[f] = v
		}
		in[k] = merged
	}
	rec, err := h.st.Update(ctx, "workspaces", ws["id"].(string), in)
	if err != nil {
		portalFail(w, err)
		return
	}
	writeKong(w, http.StatusOK, rec)
}

func (h *portalHandler) deleteWorkspace(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.workspace(w, r); ok {
		writeKong(w, http.StatusBadRequest, map[string]any{"message": "the default workspace cannot be deleted"})
	}
}
