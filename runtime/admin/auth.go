package admin

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/store"
)

// Kong Manager's sign-in (PORTALSPEC §2): GET /auth with Basic
// credentials and Kong-Admin-User starts a session (a cookie); later
// Admin API calls carry the cookie and Kong-Admin-User, which
// IdentifySession turns into the admin's RBAC user; DELETE /auth ends
// the session; GET /userinfo describes the signed-in admin.

// openPaths need no caller even when RBAC or admin_gui_auth is on: their
// handlers check their own credentials (Kong's auth_whitelisted_uris).
var openPaths = map[string]bool{"/auth": true, "/admins/register": true, "/admins/password_resets": true}

// selfPaths need a caller but no role: every signed-in admin may describe
// itself and change its own password and token.
var selfPaths = map[string]bool{"/userinfo": true, "/admins/self/password": true, "/admins/self/token": true}

func trimPath(p string) string {
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	return p
}

// IsOpenPath reports whether an Admin API path needs no caller (/auth,
// /admins/register, /admins/password_resets).
func IsOpenPath(path string) bool { return openPaths[trimPath(path)] }

// IsSelfPath reports whether an Admin API path is open to every
// identified caller whatever its roles (/userinfo, /admins/self/...).
func IsSelfPath(path string) bool { return selfPaths[trimPath(path)] }

// unauthorized is the plain 401 {"message":"Unauthorized"}.
func unauthorized() *Refusal { return Unauthorized("Unauthorized") }

// IdentifySession identifies a call without a Kong-Admin-Token by Kong
// Manager's session (PORTALSPEC §2.3): the admin Kong-Admin-User names
// must have a live session of audience "admin" in the call's cookie and
// be approved; the actor is its RBAC user, named by the admin's username.
func (a *Admins) IdentifySession(ctx context.Context, req RequestInfo) (store.Actor, error) {
	name := req.Header(a.userHeader())
	if name == "" {
		return store.Anonymous, Unauthorized("")
	}
	if a.Sessions == nil {
		return store.Anonymous, unauthorized()
	}
	rec, err := a.findAdmin(ctx, name)
	if store.IsNotFound(err) {
		return store.Anonymous, unauthorized()
	}
	if err != nil {
		return store.Anonymous, err
	}
	user, err := a.adminUser(ctx, rec)
	if store.IsNotFound(err) {
		return store.Anonymous, unauthorized()
	}
	if err != nil {
		return store.Anonymous, err
	}
	s, ok, err := a.Sessions.LoadHeader(ctx, req.Header("Cookie"))
	if err != nil {
		return store.Anonymous, err
	}
	if !ok || s.Subject != str(rec, "id") || adminStatus(rec) != store.AdminApproved {
		return store.Anonymous, unauthorized()
	}
	return store.Actor{ID: str(user, "id"), Name: str(rec, "username")}, nil
}

// basicCredentials parses an Authorization: Basic header.
func basicCredentials(h string) (user, password string, ok bool) {
	const prefix = "basic "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) || len(h) > 8192 {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[len(prefix):]))
	if err != nil {
		return "", "", false
	}
	user, password, ok = strings.Cut(string(raw), ":")
	return user, password, ok
}

// userName is the admin a request names: the Kong-Admin-User header, else
// a query argument of that name (Kong 3.x reads both).
func (a *Admins) userName(r *http.Request) string {
	if v := r.Header.Get(a.userHeader()); v != "" {
		return v
	}
	return r.URL.Query().Get(a.userHeader())
}

// signIn is GET (and POST) /auth (PORTALSPEC §2.2).
func (a *Admins) signIn(w http.ResponseWriter, r *http.Request) {
	if a.Auth == "" || a.Sessions == nil {
		message(w, http.StatusNotFound, "Not found")
		return
	}
	ctx := r.Context()
	name := a.userName(r)
	if name == "" {
		message(w, http.StatusUnauthorized, "Invalid credentials. Token or User credentials required")
		return
	}
	rec, err := a.findAdmin(ctx, name)
	if store.IsNotFound(err) {
		message(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	if err != nil {
		a.fail(w, err)
		return
	}
	id := str(rec, "id")
	// A live session of this admin: already signed in.
	if s, ok, err := a.Sessions.LoadHeader(ctx, r.Header.Get("Cookie")); err != nil {
		a.fail(w, err)
		return
	} else if ok && s.Subject == id && adminStatus(rec) == store.AdminApproved {
		if s.Cookie != nil {
			http.SetCookie(w, s.Cookie)
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	user, password, ok := basicCredentials(r.Header.Get("Authorization"))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="kong"`)
		message(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	if a.LoginAttempts > 0 {
		n, err := a.attempts(ctx, id)
		if err != nil {
			a.fail(w, err)
			return
		}
		if n >= int64(a.LoginAttempts) {
			message(w, http.StatusUnauthorized, "Invalid authentication credentials")
			return
		}
	}
	good := false
	if user == str(rec, "username") {
		if good, err = a.checkPassword(ctx, id, password); err != nil {
			a.fail(w, err)
			return
		}
	}
	if !good {
		if err := a.failedAttempt(ctx, id); err != nil {
			a.log().Error("admins: counting a failed sign-in", "admin", str(rec, "username"), "error", err)
		}
		message(w, http.StatusUnauthorized, "Invalid authentication credentials")
		return
	}
	switch adminStatus(rec) {
	case store.AdminApproved:
	case store.AdminInvited:
		if _, err := a.Store.Update(ctx, "admins", id, map[string]any{"status": int64(store.AdminApproved)}); err != nil {
			a.fail(w, err)
			return
		}
	default:
		message(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	if err := a.clearAttempts(ctx, id); err != nil {
		a.fail(w, err)
		return
	}
	cookie, err := a.Sessions.Start(ctx, id)
	if err != nil {
		a.fail(w, err)
		return
	}
	http.SetCookie(w, cookie)
	w.WriteHeader(http.StatusOK)
}

// signOut is DELETE /auth: the session ends (everywhere, with storage
// "kong") and the cookie is cleared; 200, empty body.
func (a *Admins) signOut(w http.ResponseWriter, r *http.Request) {
	if a.Auth == "" || a.Sessions == nil {
		message(w, http.StatusNotFound, "Not found")
		return
	}
	clear, err := a.Sessions.DestroyHeader(r.Context(), r.Header.Get("Cookie"))
	if err != nil {
		a.fail(w, err)
		return
	}
	http.SetCookie(w, clear)
	w.WriteHeader(http.StatusOK)
}

// allActions are the RBAC actions, as /userinfo lists them.
var allActions = []any{"delete", "create", "update", "read"}

// userinfo is GET /userinfo (PORTALSPEC §2.6).
func (a *Admins) userinfo(w http.ResponseWriter, r *http.Request) {
	if a.Auth == "" && !a.EnforceRBAC {
		message(w, http.StatusNotFound, "Not found")
		return
	}
	ctx := r.Context()
	rec, ok := a.self(w, r)
	if !ok {
		return
	}
	ws, err := a.defaultWorkspaceRecord(ctx)
	if err != nil {
		a.fail(w, err)
		return
	}
	admin := publicAdmin(rec)
	admin["workspaces"] = []any{ws}
	var perms map[string]any
	if a.EnforceRBAC {
		user, err := a.adminUser(ctx, rec)
		if err != nil {
			a.fail(w, err)
			return
		}
		list, err := RolePermissions(ctx, a.Store, stringList(user["roles"]))
		if err != nil {
			a.fail(w, err)
			return
		}
		perms = map[string]any{"endpoints": endpointMap(list), "entities": map[string]any{}}
	} else {
		all := map[string]any{"*": map[string]any{"*": map[string]any{"actions": allActions, "negative": false}}}
		perms = map[string]any{"endpoints": all, "entities": all}
	}
	var sess any
	if a.Sessions != nil {
		s, ok, err := a.Sessions.LoadHeader(ctx, r.Header.Get("Cookie"))
		if err != nil {
			a.fail(w, err)
			return
		}
		if ok && s.Subject == str(rec, "id") {
			sess = a.Sessions.Info(s)
		}
	}
	writeKong(w, http.StatusOK, map[string]any{
		"admin": admin, "groups": nil, "permissions": perms, "workspaces": []any{ws}, "session": sess,
	})
}
