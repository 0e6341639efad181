package admin

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/store"
)

// AdminEndpoints are the /admins endpoints (PORTALSPEC §1.3), /auth and
// /userinfo (§2): installed by runtime/app beside RBACEndpoints, and
// authorized as resource "admins" (RBAC decides by path; /auth,
// /admins/register and /admins/password_resets need no caller, /userinfo
// and /admins/self/... any signed-in admin).
func AdminEndpoints(a *Admins) []Endpoint {
	ep := func(method, path string, fn http.HandlerFunc) Endpoint {
		return Endpoint{Method: method, Path: path, Resource: ResourceAdmins, Handler: fn}
	}
	return []Endpoint{
		ep(http.MethodGet, "/admins", a.list),
		ep(http.MethodPost, "/admins", a.create),
		ep(http.MethodPost, "/admins/register", a.register),
		ep(http.MethodPost, "/admins/password_resets", a.requestReset),
		ep(http.MethodPatch, "/admins/password_resets", a.reset),
		ep(http.MethodPatch, "/admins/self/password", a.selfPassword),
		ep(http.MethodPatch, "/admins/self/token", a.selfToken),
		ep(http.MethodGet, "/admins/:admin", a.get),
		ep(http.MethodPatch, "/admins/:admin", a.patch),
		ep(http.MethodDelete, "/admins/:admin", a.delete),
		ep(http.MethodGet, "/admins/:admin/roles", a.roles),
		ep(http.MethodPost, "/admins/:admin/roles", a.grant),
		ep(http.MethodDelete, "/admins/:admin/roles", a.revoke),
		ep(http.MethodGet, "/admins/:admin/workspaces", a.workspaces),
		ep(http.MethodGet, "/auth", a.signIn),
		ep(http.MethodPost, "/auth", a.signIn),
		ep(http.MethodDelete, "/auth", a.signOut),
		ep(http.MethodGet, "/userinfo", a.userinfo),
	}
}

// fail answers a store or body error the way the portal endpoints do.
func (a *Admins) fail(w http.ResponseWriter, err error) {
	if errors.Is(err, errAdminExists) {
		message(w, http.StatusConflict, errAdminExists.Error())
		return
	}
	if e, ok := store.AsError(err); ok && e.Code == store.CodeUniqueViolation {
		message(w, http.StatusConflict, errAdminExists.Error())
		return
	}
	portalFail(w, err)
}

// input decodes the request body (JSON, form, multipart).
func (a *Admins) input(r *http.Request) (map[string]any, context.Context, error) {
	return (&portalHandler{st: a.Store}).input(r)
}

// body decodes the request body; false when answered (a bad body).
func (a *Admins) body(w http.ResponseWriter, r *http.Request) (map[string]any, context.Context, bool) {
	in, ctx, err := a.input(r)
	if err != nil {
		a.fail(w, err)
		return nil, nil, false
	}
	return in, ctx, true
}

// found answers a lookup of one admin: 404 when not found, the store
// error otherwise; false when answered.
func (a *Admins) found(w http.ResponseWriter, rec map[string]any, err error) (map[string]any, bool) {
	if store.IsNotFound(err) {
		message(w, http.StatusNotFound, "Not found")
		return nil, false
	}
	if err != nil {
		a.fail(w, err)
		return nil, false
	}
	return rec, true
}

// checkAdminFields checks the e-mail address and turns rbac_token_enabled
// into a boolean, where the input has them; false when answered (400).
func (a *Admins) checkAdminFields(w http.ResponseWriter, in map[string]any) bool {
	if email, ok := in["email"].(string); ok && !validEmail(w, email) {
		return false
	}
	if v, ok := in["rbac_token_enabled"]; ok {
		b, ok := boolValue(v)
		if !ok {
			a.fail(w, violation("rbac_token_enabled", "expected a boolean"))
			return false
		}
		in["rbac_token_enabled"] = b
	}
	return true
}

// boolValue reads a boolean given as JSON or as a form string.
func boolValue(v any) (b, ok bool) {
	switch t := v.(type) {
	case bool:
		return t, true
	case string:
		switch strings.ToLower(t) {
		case "true", "1", "on", "yes":
			return true, true
		case "false", "0", "off", "no":
			return false, true
		}
	}
	return false, false
}

// adminParam reads the admin a path names; false (answered 404) when none.
func (a *Admins) adminParam(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	rec, err := a.findAdmin(r.Context(), pathParam(r, "admin"))
	return a.found(w, rec, err)
}

func (a *Admins) list(w http.ResponseWriter, r *http.Request) {
	(&portalHandler{st: a.Store}).listPage(w, r, "admins", "/admins", nil, publicAdmin)
}

// create is POST /admins: 200 {"admin": ...}, Kong's status (not 201).
func (a *Admins) create(w http.ResponseWriter, r *http.Request) {
	in, ctx, ok := a.body(w, r)
	if !ok {
		return
	}
	if _, ok := in["type"]; ok {
		message(w, http.StatusBadRequest, "Invalid parameter: 'type'")
		return
	}
	for _, k := range []string{"id", "rbac_user", "consumer", "username_lower", "created_at", "updated_at"} {
		delete(in, k)
	}
	if !a.checkAdminFields(w, in) {
		return
	}
	if err := a.Store.ValidateSchema(ctx, "admins", withPlaceholderUser(in)); err != nil {
		a.fail(w, err)
		return
	}
	rec, err := a.createAdmin(ctx, in)
	if err != nil {
		a.fail(w, err)
		return
	}
	out := map[string]any{"admin": publicAdmin(rec)}
	switch {
	case !a.storesCredentials():
		// Kong: the invitation e-mail step fails with "admin_gui_auth is
		// disabled"; the admin exists and a link can still be generated.
		out["message"] = "User created, but failed to send invitation email"
	case adminStatus(rec) == store.AdminInvited:
		if _, err := a.issueToken(ctx, str(rec, "id"), clientAddr(r)); err != nil {
			a.log().Error("admins: creating the invitation failed", "admin", str(rec, "username"), "error", err)
			out["message"] = "User created, but failed to create invitation"
		}
	}
	writeKong(w, http.StatusOK, out)
}

// withPlaceholderUser is the input with a stand-in rbac_user, for schema
// validation before the real one exists.
func withPlaceholderUser(in map[string]any) map[string]any {
	out := map[string]any{"rbac_user": map[string]any{"id": "00000000-0000-4000-8000-000000000000"}}
	for k, v := range in {
		out[k] = v
	}
	return out
}

// clientAddr is the request's client address.
func clientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// get is GET /admins/{a}: the admin with its workspaces; with
// ?generate_register_url=true an invited admin's register_url and token.
func (a *Admins) get(w http.ResponseWriter, r *http.Request) {
	rec, ok := a.adminParam(w, r)
	if !ok {
		return
	}
	out := publicAdmin(rec)
	ws, err := a.defaultWorkspaceRecord(r.Context())
	if err != nil {
		a.fail(w, err)
		return
	}
	out["workspaces"] = []any{ws}
	if g := r.URL.Query().Get("generate_register_url"); (g == "true" || g == "1") && adminStatus(rec) == store.AdminInvited {
		token, err := a.issueToken(r.Context(), str(rec, "id"), clientAddr(r))
		if err != nil {
			a.fail(w, err)
			return
		}
		out["token"] = token
		out["register_url"] = a.registerURL(rec, token)
	}
	writeKong(w, http.StatusOK, out)
}

// patch is PATCH /admins/{a}: email, username, custom_id,
// rbac_token_enabled (which also switches the rbac_user's token) and
// status.
func (a *Admins) patch(w http.ResponseWriter, r *http.Request) {
	rec, ok := a.adminParam(w, r)
	if !ok {
		return
	}
	in, ctx, ok := a.body(w, r)
	if !ok {
		return
	}
	if len(in) == 0 {
		message(w, http.StatusBadRequest, "empty body")
		return
	}
	upd := map[string]any{}
	for _, k := range []string{"email", "username", "custom_id", "rbac_token_enabled", "status"} {
		if v, ok := in[k]; ok {
			upd[k] = v
		}
	}
	if !a.checkAdminFields(w, upd) {
		return
	}
	if len(upd) == 0 {
		writeKong(w, http.StatusOK, publicAdmin(rec))
		return
	}
	for _, k := range []string{"username", "email", "custom_id"} {
		v, _ := upd[k].(string)
		if v == "" || v == str(rec, k) {
			continue
		}
		field, val := k, v
		switch k {
		case "email":
			val = strings.ToLower(v)
		case "username":
			field, val = "username_lower", strings.ToLower(v)
		}
		if other, err := a.Store.FindUnique(ctx, "admins", field, val); err == nil && str(other, "id") != str(rec, "id") {
			message(w, http.StatusConflict, errAdminExists.Error())
			return
		}
	}
	out, err := a.Store.Update(ctx, "admins", str(rec, "id"), upd)
	if err != nil {
		a.fail(w, err)
		return
	}
	if b, ok := upd["rbac_token_enabled"].(bool); ok {
		if _, err := a.Store.Update(ctx, "rbac_users", store.ForeignID(rec["rbac_user"]), map[string]any{"enabled": b}); err != nil {
			a.fail(w, err)
			return
		}
	}
	writeKong(w, http.StatusOK, publicAdmin(out))
}

// delete is DELETE /admins/{a}: the admin, its rbac_user, credential and
// secrets go.
func (a *Admins) delete(w http.ResponseWriter, r *http.Request) {
	rec, ok := a.adminParam(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	id := str(rec, "id")
	if _, err := a.Store.Delete(ctx, "admins", id); err != nil {
		a.fail(w, err)
		return
	}
	for _, del := range []struct{ entity, key string }{
		{"rbac_users", store.ForeignID(rec["rbac_user"])},
		{"reset_secrets", "admin:" + id},
		{"login_attempts", "admin:" + id},
	} {
		if _, err := a.Store.Delete(ctx, del.entity, del.key); err != nil && !store.IsNotFound(err) {
			a.fail(w, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// adminUser returns the admin's rbac_users row.
func (a *Admins) adminUser(ctx context.Context, rec map[string]any) (map[string]any, error) {
	return a.Store.Get(ctx, "rbac_users", store.ForeignID(rec["rbac_user"]))
}

// roleObjects returns Kong's role objects for role names: id, name,
// comment, created_at, is_default.
func (a *Admins) roleObjects(ctx context.Context, names []string) ([]any, error) {
	out := []any{}
	for _, name := range names {
		role, err := a.Store.Get(ctx, "rbac_roles", name)
		if store.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, map[string]any{"id": role["id"], "name": role["name"], "comment": role["comment"],
			"created_at": role["created_at"], "is_default": false})
	}
	return out, nil
}

func (a *Admins) roles(w http.ResponseWriter, r *http.Request) {
	rec, ok := a.adminParam(w, r)
	if !ok {
		return
	}
	user, err := a.adminUser(r.Context(), rec)
	if err != nil {
		a.fail(w, err)
		return
	}
	a.writeRoles(w, r, http.StatusOK, stringList(user["roles"]))
}

// writeRoles answers {"roles": [...]} with the role objects of names.
func (a *Admins) writeRoles(w http.ResponseWriter, r *http.Request, status int, names []string) {
	out, err := a.roleObjects(r.Context(), names)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeKong(w, status, map[string]any{"roles": out})
}

// roleInput reads and checks the roles of a POST or DELETE
// /admins/{a}/roles; false when answered.
func (a *Admins) roleInput(w http.ResponseWriter, r *http.Request) ([]string, bool) {
	in, _, err := a.input(r)
	if err != nil {
		a.fail(w, err)
		return nil, false
	}
	names := splitRoles(in["roles"])
	if len(names) == 0 {
		message(w, http.StatusBadRequest, "must provide >= 1 role")
		return nil, false
	}
	for _, role := range names {
		ok, err := RoleExists(r.Context(), a.Store, role)
		if err != nil {
			a.fail(w, err)
			return nil, false
		}
		if !ok {
			message(w, http.StatusBadRequest, "role not found with name '"+role+"'")
			return nil, false
		}
	}
	return names, true
}

// changeRoles is a POST or DELETE /admins/{a}/roles: the admin's
// rbac_user gets the roles change makes of its roles and the roles the
// body names; the new roles, false when answered.
func (a *Admins) changeRoles(w http.ResponseWriter, r *http.Request, change func(roles, named []string) []string) ([]string, bool) {
	rec, ok := a.adminParam(w, r)
	if !ok {
		return nil, false
	}
	named, ok := a.roleInput(w, r)
	if !ok {
		return nil, false
	}
	user, err := a.adminUser(r.Context(), rec)
	if err != nil {
		a.fail(w, err)
		return nil, false
	}
	roles := change(stringList(user["roles"]), named)
	if _, err := a.Store.Update(r.Context(), "rbac_users", str(user, "id"), map[string]any{"roles": toAny(roles)}); err != nil {
		a.fail(w, err)
		return nil, false
	}
	return roles, true
}

// grant is POST /admins/{a}/roles: 201 with all the admin's roles.
func (a *Admins) grant(w http.ResponseWriter, r *http.Request) {
	roles, ok := a.changeRoles(w, r, func(roles, add []string) []string {
		for _, role := range add {
			if !slices.Contains(roles, role) {
				roles = append(roles, role)
			}
		}
		return roles
	})
	if ok {
		a.writeRoles(w, r, http.StatusCreated, roles)
	}
}

// revoke is DELETE /admins/{a}/roles: 204.
func (a *Admins) revoke(w http.ResponseWriter, r *http.Request) {
	_, ok := a.changeRoles(w, r, func(roles, drop []string) []string {
		keep := []string{}
		for _, role := range roles {
			if !slices.Contains(drop, role) {
				keep = append(keep, role)
			}
		}
		return keep
	})
	if ok {
		w.WriteHeader(http.StatusNoContent)
	}
}

// workspaces is GET /admins/{a}/workspaces: a bare array.
func (a *Admins) workspaces(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.adminParam(w, r); !ok {
		return
	}
	ws, err := a.defaultWorkspaceRecord(r.Context())
	if err != nil {
		a.fail(w, err)
		return
	}
	writeKong(w, http.StatusOK, []any{ws})
}

// passwordInput checks a new password (PORTALSPEC §1.5.2); "" when
// answered.
func passwordInput(w http.ResponseWriter, in map[string]any) string {
	pw, _ := in["password"].(string)
	if pw == "" {
		message(w, http.StatusBadRequest, "password is required")
		return ""
	}
	if len(pw) > 1024 {
		message(w, http.StatusBadRequest, "Invalid password: too long")
		return ""
	}
	return pw
}

// tokenSubject checks the input's token (a register or reset link's) and
// returns the admin id it was issued for; otherwise it answers (400
// without a token, 401 for a bad one) and returns ok false.
func (a *Admins) tokenSubject(w http.ResponseWriter, ctx context.Context, in map[string]any) (string, bool) {
	token, _ := in["token"].(string)
	if token == "" {
		message(w, http.StatusBadRequest, "token is required")
		return "", false
	}
	id, err := a.checkToken(ctx, token)
	if errors.Is(err, errBadToken) {
		message(w, http.StatusUnauthorized, "Unauthorized")
		return "", false
	}
	if err != nil {
		a.fail(w, err)
		return "", false
	}
	return id, true
}

// validEmail checks an e-mail address; false when answered (400).
func validEmail(w http.ResponseWriter, email string) bool {
	if reason := checkEmailAddress(email); reason != "" {
		message(w, http.StatusBadRequest, "Invalid email: "+reason)
		return false
	}
	return true
}

// registerEmail is the e-mail address a register call confirms; false
// when answered (400 for a missing or bad address).
func registerEmail(w http.ResponseWriter, in map[string]any) (string, bool) {
	email, _ := in["email"].(string)
	return email, validEmail(w, email)
}

// registerInput is the body of a POST /admins/register; false when
// answered (400 as Kong when admin_gui_auth stores no credentials).
func (a *Admins) registerInput(w http.ResponseWriter, r *http.Request) (map[string]any, context.Context, bool) {
	if !a.storesCredentials() {
		name := a.Auth
		if name == "" {
			name = "nil"
		}
		message(w, http.StatusBadRequest, "cannot register with admin_gui_auth = "+name)
		return nil, nil, false
	}
	return a.body(w, r)
}

// redemption is a register or reset call's input: the body, the new
// password, the e-mail address and the admin id the token was issued for.
type redemption struct {
	in            map[string]any
	ctx           context.Context
	pw, email, id string
}

// redemptionInput reads a register or reset call: the body (by open), the
// new password, the e-mail address (by email) and the token's admin id,
// in that order of checks; false when answered.
func (a *Admins) redemptionInput(w http.ResponseWriter, r *http.Request,
	open func(http.ResponseWriter, *http.Request) (map[string]any, context.Context, bool),
	email func(http.ResponseWriter, map[string]any) (string, bool)) (redemption, bool) {
	var x redemption
	var ok bool
	if x.in, x.ctx, ok = open(w, r); !ok {
		return x, false
	}
	if x.pw = passwordInput(w, x.in); x.pw == "" {
		return x, false
	}
	if x.email, ok = email(w, x.in); !ok {
		return x, false
	}
	if x.id, ok = a.tokenSubject(w, x.ctx, x.in); !ok {
		return x, false
	}
	return x, true
}

// register is POST /admins/register: an invited admin sets its password
// with its token; 201, empty body.
func (a *Admins) register(w http.ResponseWriter, r *http.Request) {
	x, ok := a.redemptionInput(w, r, a.registerInput, registerEmail)
	if !ok {
		return
	}
	ctx, id := x.ctx, x.id
	rec, err := a.findAdmin(ctx, id)
	if store.IsNotFound(err) || err == nil && !strings.EqualFold(str(rec, "email"), x.email) {
		message(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	if u, _ := x.in["username"].(string); err == nil && u != "" && u != str(rec, "username") {
		message(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	if !a.redeem(w, x, err) {
		return
	}
	if adminStatus(rec) == store.AdminInvited {
		if _, err := a.Store.Update(ctx, "admins", id, map[string]any{"status": int64(store.AdminApproved)}); err != nil {
			a.fail(w, err)
			return
		}
	}
	w.WriteHeader(http.StatusCreated)
}

// resetInput is the body of a /admins/password_resets call; false when
// answered (404 as Kong when admin_gui_auth stores no credentials).
func (a *Admins) resetInput(w http.ResponseWriter, r *http.Request) (map[string]any, context.Context, bool) {
	if !a.storesCredentials() {
		message(w, http.StatusNotFound, "Not found")
		return nil, nil, false
	}
	return a.body(w, r)
}

// emailInput is the input's e-mail address; false when answered (400
// without one).
func emailInput(w http.ResponseWriter, in map[string]any) (string, bool) {
	email, _ := in["email"].(string)
	if email == "" {
		message(w, http.StatusBadRequest, "email is required")
		return "", false
	}
	return email, true
}

// adminByEmail finds the admin with the e-mail address (stored lower
// case).
func (a *Admins) adminByEmail(ctx context.Context, email string) (map[string]any, error) {
	return a.Store.FindUnique(ctx, "admins", "email", strings.ToLower(email))
}

// redeem answers lookupErr (the failed lookup of the admin) when not
// nil; otherwise it spends the admin's register or reset token and sets
// its new password. False when answered (an error).
func (a *Admins) redeem(w http.ResponseWriter, x redemption, lookupErr error) bool {
	if lookupErr != nil {
		a.fail(w, lookupErr)
		return false
	}
	if err := a.consumeToken(x.ctx, x.id); err != nil {
		a.fail(w, err)
		return false
	}
	if err := a.setPassword(x.ctx, x.id, x.pw); err != nil {
		a.fail(w, err)
		return false
	}
	return true
}

// requestReset is POST /admins/password_resets: a reset token for the
// admin with the e-mail, whose URL is logged (Gatehouse sends no e-mail);
// 200 whether or not the admin exists.
func (a *Admins) requestReset(w http.ResponseWriter, r *http.Request) {
	in, ctx, ok := a.resetInput(w, r)
	if !ok {
		return
	}
	email, ok := emailInput(w, in)
	if !ok {
		return
	}
	rec, err := a.adminByEmail(ctx, email)
	if store.IsNotFound(err) {
		w.WriteHeader(http.StatusOK)
		return
	}
	if err != nil {
		a.fail(w, err)
		return
	}
	token, err := a.issueToken(ctx, str(rec, "id"), clientAddr(r))
	if err != nil {
		a.fail(w, err)
		return
	}
	base := strings.TrimSuffix(a.GUIURL, "/")
	if p := strings.Trim(a.GUIPath, "/"); p != "" {
		base += "/" + p
	}
	a.log().Info("admin password reset requested (no e-mail is sent: give the admin this link)",
		"admin", str(rec, "username"), "url", base+"/account/reset-password?email="+
			url.QueryEscape(str(rec, "email"))+"&token="+url.QueryEscape(token))
	w.WriteHeader(http.StatusOK)
}

// reset is PATCH /admins/password_resets: a new password with a reset
// token; 200.
func (a *Admins) reset(w http.ResponseWriter, r *http.Request) {
	x, ok := a.redemptionInput(w, r, a.resetInput, emailInput)
	if !ok {
		return
	}
	rec, err := a.adminByEmail(x.ctx, x.email)
	if store.IsNotFound(err) || err == nil && str(rec, "id") != x.id {
		// Kong's quirk: a token of another account changes nothing, 200.
		w.WriteHeader(http.StatusOK)
		return
	}
	if !a.redeem(w, x, err) {
		return
	}
	w.WriteHeader(http.StatusOK)
}

// self returns the admin making the call (by its RBAC user); false when
// answered (404 as Kong when the caller is no admin).
func (a *Admins) self(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	actor := store.ActorFrom(r.Context())
	if actor.IsAnonymous() {
		message(w, http.StatusNotFound, "Not found")
		return nil, false
	}
	rec, err := a.adminOfUser(r.Context(), actor.ID)
	return a.found(w, rec, err)
}

// selfInput is the calling admin and the request body; false when
// answered.
func (a *Admins) selfInput(w http.ResponseWriter, r *http.Request) (rec, in map[string]any, ctx context.Context, ok bool) {
	if rec, ok = a.self(w, r); !ok {
		return nil, nil, nil, false
	}
	if in, ctx, ok = a.body(w, r); !ok {
		return nil, nil, nil, false
	}
	return rec, in, ctx, true
}

// selfPassword is PATCH /admins/self/password.
func (a *Admins) selfPassword(w http.ResponseWriter, r *http.Request) {
	rec, in, ctx, ok := a.selfInput(w, r)
	if !ok {
		return
	}
	old, _ := in["old_password"].(string)
	if old == "" {
		message(w, http.StatusBadRequest, "Must include old_password")
		return
	}
	pw := passwordInput(w, in)
	if pw == "" {
		return
	}
	if pw == old {
		message(w, http.StatusBadRequest, "Passwords cannot be the same")
		return
	}
	good, err := a.checkPassword(ctx, str(rec, "id"), old)
	if err != nil {
		a.fail(w, err)
		return
	}
	if !good {
		message(w, http.StatusBadRequest, "Old password is invalid")
		return
	}
	if err := a.setPassword(ctx, str(rec, "id"), pw); err != nil {
		a.fail(w, err)
		return
	}
	message(w, http.StatusOK, "Password reset successfully")
}

// selfToken is PATCH /admins/self/token: a new Kong-Admin-Token for the
// caller's RBAC user, answered once.
func (a *Admins) selfToken(w http.ResponseWriter, r *http.Request) {
	rec, in, ctx, ok := a.selfInput(w, r)
	if !ok {
		return
	}
	if _, ok := in["token"]; ok {
		message(w, http.StatusBadRequest, "Tokens cannot be set explicitly. Remove token parameter to receive an auto-generated token.")
		return
	}
	token, err := NewToken()
	if err != nil {
		a.fail(w, err)
		return
	}
	if _, err := a.Store.Update(ctx, "rbac_users", store.ForeignID(rec["rbac_user"]),
		map[string]any{"user_token": HashToken(token)}); err != nil {
		a.fail(w, err)
		return
	}
	writeKong(w, http.StatusOK, map[string]any{"token": token, "message": "Token reset successfully"})
}
