package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/store"
)

// Developers (Kong Enterprise's /developers) and developer roles
// (/developers/roles). A developer registers with email, password and
// meta (a JSON object, kept as a string as Kong does); the password is
// stored as a PBKDF2 hash and never shown. status is Kong's integer (0
// approved, 1 pending, 2 rejected, 3 revoked, 4 invited); writes accept
// the integer or its name. A new developer is pending unless the
// workspace's config.portal_auto_approve is on; its meta must give the
// required fields of config.portal_developer_meta_fields (Kong's default:
// full_name). roles (names of developer roles) is granted with PATCH.

// publicDeveloper is a developer as the Admin API shows it: no password.
func publicDeveloper(rec map[string]any) map[string]any {
	out := make(map[string]any, len(rec))
	for k, v := range rec {
		if k != "password" {
			out[k] = v
		}
	}
	if out["roles"] == nil {
		out["roles"] = []any{}
	}
	return out
}

// developerStatus reads a status given as an integer (or its decimal
// string, from a form) or as a name.
func developerStatus(v any) (int, error) {
	bad := fmt.Errorf("expected one of: 0 (approved), 1 (pending), 2 (rejected), 3 (revoked), 4 (invited)")
	var n int
	switch s := v.(type) {
	case float64:
		if s != float64(int(s)) {
			return 0, bad
		}
		n = int(s)
	case int:
		n = s
	case int64:
		n = int(s)
	case json.Number:
		i, err := s.Int64()
		if err != nil {
			return 0, bad
		}
		n = int(i)
	case string:
		if i, err := strconv.Atoi(s); err == nil {
			n = i
			break
		}
		name := strings.ToLower(strings.TrimSpace(s))
		if name == "requested" {
			name = "pending"
		}
		i := slices.Index(store.DeveloperStatusNames, name)
		if i < 0 {
			return 0, bad
		}
		n = i
	default:
		return 0, bad
	}
	if n < 0 || n >= len(store.DeveloperStatusNames) {
		return 0, bad
	}
	return n, nil
}

// developerMeta normalizes meta to Kong's JSON string of an object.
func developerMeta(v any) (string, error) {
	switch m := v.(type) {
	case map[string]any:
		b, err := json.Marshal(m)
		return string(b), err
	case string:
		var obj map[string]any
		if err := json.Unmarshal([]byte(m), &obj); err != nil || obj == nil {
			return "", fmt.Errorf("expected a JSON object")
		}
		return m, nil
	}
	return "", fmt.Errorf("expected a JSON object")
}

// developerInput checks and normalizes the writable fields of a
// developer: email, password, meta, status, custom_id, roles.
func (h *portalHandler) developerInput(ctx context.Context, in map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range in {
		switch k {
		case "email", "custom_id":
			out[k] = v
		case "password":
			s, ok := v.(string)
			if !ok || s == "" {
				return nil, violation("password", "expected a non-empty string")
			}
			out[k] = s
		case "meta":
			if v == nil {
				out[k] = nil
				continue
			}
			m, err := developerMeta(v)
			if err != nil {
				return nil, violation("meta", err.Error())
			}
			out[k] = m
		case "status":
			n, err := developerStatus(v)
			if err != nil {
				return nil, violation("status", err.Error())
			}
			out[k] = n
		case "roles":
			if !isRoleList(v) {
				return nil, violation("roles", "expected a list of role names")
			}
			roles := splitRoles(v)
			if roles == nil {
				roles = []string{}
			}
			for _, role := range roles {
				if _, err := h.st.Get(ctx, "developer_roles", role); err != nil {
					if store.IsNotFound(err) {
						return nil, violation("roles", "role not found with name '"+role+"'")
					}
					return nil, err
				}
			}
			out[k] = anyList(roles)
		case "id", "created_at", "updated_at":
			return nil, violation(k, "cannot be set")
		default:
			return nil, violation(k, "unknown field")
		}
	}
	return out, nil
}

func (h *portalHandler) listDevelopers(w http.ResponseWriter, r *http.Request) {
	var keep func(map[string]any) bool
	if v := r.URL.Query().Get("status"); v != "" {
		want, err := developerStatus(v)
		if err != nil {
			portalFail(w, violation("status", err.Error()))
			return
		}
		keep = func(rec map[string]any) bool {
			n, err := developerStatus(rec["status"])
			return err == nil && n == want
		}
	}
	h.listPage(w, r, "developers", "/developers", keep, publicDeveloper)
}

func (h *portalHandler) createDeveloper(w http.ResponseWriter, r *http.Request) {
	raw, ctx, err := h.input(r)
	if err != nil {
		portalFail(w, err)
		return
	}
	in, err := h.developerInput(ctx, raw)
	if err != nil {
		portalFail(w, err)
		return
	}
	if _, ok := in["password"]; !ok {
		portalFail(w, violation("password", "required field missing"))
		return
	}
	cfg, err := DefaultWorkspaceConfig(ctx, h.st)
	if err != nil {
		portalFail(w, err)
		return
	}
	fields, _ := cfg["portal_developer_meta_fields"].(string)
	meta, _ := in["meta"].(string)
	if err := store.CheckDeveloperMeta(meta, fields); err != nil {
		portalFail(w, violation("meta", err.Error()))
		return
	}
	if _, ok := in["status"]; !ok {
		in["status"] = store.DeveloperPending
		if cfg["portal_auto_approve"] == true {
			in["status"] = store.DeveloperApproved
		}
	}
	rec, err := h.st.Insert(ctx, "developers", in)
	if err != nil {
		portalFail(w, err)
		return
	}
	writeKong(w, http.StatusCreated, publicDeveloper(rec))
}

func (h *portalHandler) getDeveloper(w http.ResponseWriter, r *http.Request) {
	rec, err := h.st.Get(r.Context(), "developers", pathParam(r, "developer"))
	if err != nil {
		portalFail(w, err)
		return
	}
	writeKong(w, http.StatusOK, publicDeveloper(rec))
}

// patchDeveloper changes a developer: approve (status), grant roles,
// change email, meta or password. The body is flat, or Kong Manager's
// {"developer": {...}} (UnwrapDeveloper). The answer is Kong's:
// 200 {"developer": {...}} (PORTALSPEC §5.1; Kong's Admin API reference,
// "Update a developer"), without the "email" result of the approval
// mail, which Gatehouse does not send.
func (h *portalHandler) patchDeveloper(w http.ResponseWriter, r *http.Request) {
	old, err := h.st.Get(r.Context(), "developers", pathParam(r, "developer"))
	if err != nil {
		portalFail(w, err)
		return
	}
	raw, ctx, err := h.input(r)
	if err != nil {
		portalFail(w, err)
		return
	}
	in, err := h.developerInput(ctx, UnwrapDeveloper(raw))
	if err != nil {
		portalFail(w, err)
		return
	}
	rec, err := h.st.Update(ctx, "developers", old["id"].(string), in)
	if err == nil {
		err = h.syncSuspended(ctx, rec) // portal_apps.go
	}
	if err != nil {
		portalFail(w, err)
		return
	}
	writeKong(w, http.StatusOK, map[string]any{"developer": publicDeveloper(rec)})
}

// deleteDeveloper deletes a developer with their applications and
// consumers (portalapi.Applications.DeleteDeveloper): none of their
// consumers outlives them as a visible proxy consumer. 204, known or not.
func (h *portalHandler) deleteDeveloper(w http.ResponseWriter, r *http.Request) {
	dev, err := h.st.Get(r.Context(), "developers", pathParam(r, "developer"))
	if store.IsNotFound(err) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err == nil {
		err = h.apps().DeleteDeveloper(r.Context(), dev["id"].(string))
	}
	if err != nil {
		portalFail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// UnwrapDeveloper returns the developer fields of a PATCH /developers/{d}
// body: the object under "developer" when the body is exactly
// {"developer": {...}} (the wrapper Kong answers with, which clients
// send back), else the body itself.
func UnwrapDeveloper(in map[string]any) map[string]any {
	if len(in) != 1 {
		return in
	}
	if inner, ok := in["developer"].(map[string]any); ok {
		return inner
	}
	return in
}

// Kong's message for an invitation without emails [I].
const msgEmailsRequired = "emails param required"

// InviteEmails reads the emails of a POST /developers/invite body: a
// JSON array of strings, a form's repeated emails[] (decoded as an
// array), or one comma-separated string. Entries are trimmed; empty ones
// are dropped and duplicates kept once. ok is false when the value is of
// another type or holds a non-string.
func InviteEmails(v any) (emails []string, ok bool) {
	var raw []string
	switch l := v.(type) {
	case nil:
		return nil, true
	case string:
		raw = strings.Split(l, ",")
	case []any:
		for _, e := range l {
			s, isString := e.(string)
			if !isString {
				return nil, false
			}
			raw = append(raw, s)
		}
	case []string:
		raw = l
	default:
		return nil, false
	}
	seen := map[string]bool{}
	for _, e := range raw {
		e = strings.TrimSpace(e)
		if e == "" || seen[e] {
			continue
		}
		seen[e] = true
		emails = append(emails, e)
	}
	return emails, true
}

// inviteDevelopers is POST /developers/invite: Kong mails each address
// the portal's registration link. Gatehouse has no SMTP: the answer is
// Kong's with smtp_mock true, every well-formed address counted as sent
// and each other one under error with its reason; nothing is stored.
func (h *portalHandler) inviteDevelopers(w http.ResponseWriter, r *http.Request) {
	raw, _, err := h.input(r)
	if err != nil {
		portalFail(w, err)
		return
	}
	v, found := raw["emails"]
	if !found {
		v = raw["emails[]"]
	}
	emails, ok := InviteEmails(v)
	if !ok {
		portalFail(w, violation("emails", "expected an array of strings"))
		return
	}
	if len(emails) == 0 {
		writeKong(w, http.StatusBadRequest, map[string]any{"message": msgEmailsRequired})
		return
	}
	sent, failed := map[string]any{}, map[string]any{}
	for _, e := range emails {
		if reason := checkEmailAddress(e); reason != "" {
			failed[e] = "Invalid email: " + reason
			continue
		}
		sent[e] = true
	}
	writeKong(w, http.StatusOK, map[string]any{
		"error":     map[string]any{"count": len(failed), "emails": failed},
		"sent":      map[string]any{"count": len(sent), "emails": sent},
		"smtp_mock": true,
	})
}

// developerRoleInput keeps a developer role's writable fields: name, comment.
func developerRoleInput(in map[string]any) (map[string]any, error) {
	return writableFields(in, []string{"name", "comment"}, []string{"id", "created_at"})
}

func (h *portalHandler) listRoles(w http.ResponseWriter, r *http.Request) {
	h.listPage(w, r, "developer_roles", "/developers/roles", nil, nil)
}

func (h *portalHandler) createRole(w http.ResponseWriter, r *http.Request) {
	in, ctx, ok := h.decode(w, r, developerRoleInput)
	if !ok {
		return
	}
	rec, err := h.st.Insert(ctx, "developer_roles", in)
	if err != nil {
		portalFail(w, err)
		return
	}
	writeKong(w, http.StatusCreated, rec)
}

func (h *portalHandler) getRole(w http.ResponseWriter, r *http.Request) {
	rec, err := h.st.Get(r.Context(), "developer_roles", pathParam(r, "role"))
	if err != nil {
		portalFail(w, err)
		return
	}
	writeKong(w, http.StatusOK, rec)
}

// patchRole changes a role's comment or name; a new name follows into the
// developers' grants.
func (h *portalHandler) patchRole(w http.ResponseWriter, r *http.Request) {
	old, err := h.st.Get(r.Context(), "developer_roles", pathParam(r, "role"))
	if err != nil {
		portalFail(w, err)
		return
	}
	in, ctx, ok := h.decode(w, r, developerRoleInput)
	if !ok {
		return
	}
	rec, err := h.st.Update(ctx, "developer_roles", old["id"].(string), in)
	if err != nil {
		portalFail(w, err)
		return
	}
	if oldName, newName := old["name"].(string), rec["name"].(string); oldName != newName {
		if err := h.regrant(ctx, oldName, newName); err != nil {
			portalFail(w, err)
			return
		}
	}
	writeKong(w, http.StatusOK, rec)
}

func (h *portalHandler) deleteRole(w http.ResponseWriter, r *http.Request) {
	rec, err := h.st.Get(r.Context(), "developer_roles", pathParam(r, "role"))
	if store.IsNotFound(err) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err != nil {
		portalFail(w, err)
		return
	}
	if _, err := h.st.Delete(r.Context(), "developer_roles", rec["id"].(string)); err != nil {
		portalFail(w, err)
		return
	}
	if err := h.regrant(r.Context(), rec["name"].(string), ""); err != nil {
		portalFail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// regrant replaces role from with to ("" removes it) in every developer's
// roles.
func (h *portalHandler) regrant(ctx context.Context, from, to string) error {
	var ids []string
	var grants [][]string
	err := listAll(ctx, h.st, "developers", func(rec map[string]any) {
		roles := stringList(rec["roles"])
		if !slices.Contains(roles, from) {
			return
		}
		var next []string
		for _, role := range roles {
			switch {
			case role != from:
				next = append(next, role)
			case to != "" && !slices.Contains(roles, to):
				next = append(next, to)
			}
		}
		if next == nil {
			next = []string{}
		}
		ids, grants = append(ids, rec["id"].(string)), append(grants, next)
	})
	if err != nil {
		return err
	}
	for i, id := range ids {
		if _, err := h.st.Update(store.WithTypedInput(ctx), "developers", id, map[string]any{"roles": anyList(grants[i])}); err != nil && !store.IsNotFound(err) {
			return fmt.Errorf("developer roles: regranting %s: %w", id, err)
		}
	}
	return nil
}

// anyList converts a list of strings to the []any a store write takes.
func anyList(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

// isRoleList reports whether v is a role list a client may send: a
// comma-separated string or an array of strings.
func isRoleList(v any) bool {
	switch l := v.(type) {
	case string:
		return true
	case []any:
		for _, e := range l {
			if _, ok := e.(string); !ok {
				return false
			}
		}
		return true
	}
	return false
}
