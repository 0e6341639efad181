package admin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/runtime/session"
	"github.com/gatehouse/gatehouse/store"
	"github.com/google/uuid"
)

// Kong Manager's administrators (Kong Enterprise's admins, PORTALSPEC §1,
// §2): an admin is an rbac_users row (its roles, its Kong-Admin-Token)
// plus a username, e-mail, custom_id, status and a sign-in password.
// admins.go holds the logic, admins_api.go the /admins endpoints, auth.go
// /auth, /userinfo and the session identification of RBAC.

// ResourceAdmins is the resource the /admins, /auth and /userinfo
// endpoints are authorized as (RBAC decides by path).
const ResourceAdmins = "admins"

// DefaultUserHeader is admin_gui_auth_header's default: the header Kong
// Manager names the signed-in admin in.
const DefaultUserHeader = "Kong-Admin-User"

// DefaultInvitationExpiry is admin_invitation_expiry's default, 72 hours.
const DefaultInvitationExpiry = 72 * time.Hour

// Admins configures the admin endpoints and Kong Manager's sign-in.
type Admins struct {
	// Store holds admins, their rbac_users and credentials.
	Store *store.Store
	// Auth is admin_gui_auth: "" (no sign-in) or "basic-auth".
	Auth string
	// EnforceRBAC is enforce_rbac: with neither it nor Auth, /auth and
	// /userinfo answer 404 as in Kong.
	EnforceRBAC bool
	// Sessions is Kong Manager's session manager (audience "admin"); nil
	// when Auth is "".
	Sessions *session.Manager
	// GUIURL is the first admin_gui_url; register URLs start with it ("":
	// relative URLs, /register?...).
	GUIURL string
	// GUIPath is admin_gui_path ("/": none), appended to GUIURL.
	GUIPath string
	// InvitationExpiry is admin_invitation_expiry (0: 72 h).
	InvitationExpiry time.Duration
	// UserHeader is admin_gui_auth_header ("": Kong-Admin-User).
	UserHeader string
	// LoginAttempts is admin_gui_auth_login_attempts: the failed sign-ins
	// that lock an admin out until a password reset (0: never).
	LoginAttempts int
	// Logger receives the password reset URLs (Gatehouse sends no
	// e-mail); nil is slog.Default().
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

func (a *Admins) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Admins) userHeader() string {
	if a.UserHeader != "" {
		return a.UserHeader
	}
	return DefaultUserHeader
}

func (a *Admins) expiry() time.Duration {
	if a.InvitationExpiry > 0 {
		return a.InvitationExpiry
	}
	return DefaultInvitationExpiry
}

func (a *Admins) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// storesCredentials reports whether admin_gui_auth keeps passwords: only
// then can admins register and reset passwords. The configuration accepts
// only basic-auth (Kong's other methods are refused), which does.
func (a *Admins) storesCredentials() bool { return a.Auth != "" }

// errAdminExists is Kong's 409 for a duplicate admin.
var errAdminExists = errors.New("user already exists with same username, email, or custom_id")

// publicAdmin is Kong's transmogrify: only the public keys, nil ones left
// out; never the rbac_user, consumer or any token.
func publicAdmin(rec map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range []string{"id", "username", "custom_id", "email", "status", "rbac_token_enabled", "created_at", "updated_at"} {
		if v, ok := rec[k]; ok && v != nil {
			out[k] = v
		}
	}
	return out
}

// str returns a record's string field.
func str(rec map[string]any, k string) string { s, _ := rec[k].(string); return s }

// adminStatus returns an admin's status.
func adminStatus(rec map[string]any) int {
	switch v := rec["status"].(type) {
	case int64:
		return int(v)
	case float64:
		return int(v)
	case int:
		return v
	}
	return -1
}

// findAdmin returns the admin a URL or header names: its id or username.
func (a *Admins) findAdmin(ctx context.Context, key string) (map[string]any, error) {
	if key == "" {
		return nil, store.ErrNotFound
	}
	return a.Store.Get(ctx, "admins", key)
}

// adminOfUser returns the admin whose rbac_user is userID; ErrNotFound
// when the RBAC user is no admin.
func (a *Admins) adminOfUser(ctx context.Context, userID string) (map[string]any, error) {
	return a.firstWith(ctx, "admins", "rbac_user", userID)
}

// firstWith returns the entity's row whose foreign field points at key;
// ErrNotFound when none does.
func (a *Admins) firstWith(ctx context.Context, entity, field, key string) (map[string]any, error) {
	page, err := a.Store.List(ctx, entity, store.ListQuery{Size: 1, ForeignField: field, ForeignKey: key})
	if err != nil {
		return nil, err
	}
	if len(page.Data) == 0 {
		return nil, store.ErrNotFound
	}
	return page.Data[0], nil
}

// checkEmailAddress is Kong's admin e-mail check; the reason follows
// "Invalid email: ".
func checkEmailAddress(s string) string {
	at := strings.LastIndexByte(s, '@')
	switch {
	case s == "":
		return "empty string"
	case at < 0:
		return "missing '@' symbol"
	case at == 0:
		return "missing local part"
	case at == len(s)-1:
		return "missing domain"
	case strings.Count(s, "@") > 1:
		return "too many '@' symbols"
	case strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || strings.ContainsRune("<>,;()[]\\\"", r) }):
		return "invalid characters"
	case len(s) > 320:
		return "too long"
	}
	if d := s[at+1:]; strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
		return "invalid domain"
	}
	return ""
}

// createAdmin creates an admin and its rbac_user (a random token no one
// knows). A duplicate username, e-mail or custom_id is errAdminExists.
func (a *Admins) createAdmin(ctx context.Context, in map[string]any) (map[string]any, error) {
	username := strings.TrimSpace(str(in, "username"))
	for _, k := range []string{"username", "email", "custom_id"} {
		v := str(in, k)
		if v == "" {
			continue
		}
		if k == "email" {
			v = strings.ToLower(v)
		}
		_, err := a.Store.FindUnique(ctx, "admins", k, v)
		if err == nil {
			return nil, errAdminExists
		}
		if !store.IsNotFound(err) {
			return nil, err
		}
	}
	if username != "" {
		if _, err := a.Store.FindUnique(ctx, "admins", "username_lower", strings.ToLower(username)); err == nil {
			return nil, errAdminExists
		}
	}
	enabled := true
	if v, ok := in["rbac_token_enabled"].(bool); ok {
		enabled = v
	}
	user, err := CreateUser(ctx, a.Store, map[string]any{
		"name": username + "-" + newUUID(), "enabled": enabled, "comment": "User generated on creation of Admin.",
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("admins: creating the RBAC user: %w", err)
	}
	rec := map[string]any{"rbac_user": map[string]any{"id": user["id"]}}
	for _, k := range []string{"username", "custom_id", "email", "status", "rbac_token_enabled"} {
		if v, ok := in[k]; ok {
			rec[k] = v
		}
	}
	out, err := a.Store.Insert(ctx, "admins", rec)
	if err != nil {
		_, _ = a.Store.Delete(ctx, "rbac_users", str(user, "id"))
		if e, ok := store.AsError(err); ok && e.Code == store.CodeUniqueViolation {
			return nil, errAdminExists
		}
		return nil, err
	}
	return out, nil
}

// newUUID returns a random UUID.
func newUUID() string { return uuid.NewString() }

// Register and reset tokens (PORTALSPEC §1.4): an HS256 JWT with claims
// {"id": <admin id>, "exp": <unix seconds>}, signed with a random secret
// kept in reset_secrets under "admin:<id>". A new token replaces the
// secret (earlier tokens stop working); a used one is consumed.

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// issueToken creates a new secret for the admin and returns a token
// signed with it.
func (a *Admins) issueToken(ctx context.Context, adminID, clientAddr string) (string, error) {
	secret := store.RandomToken() + store.RandomToken()
	subject := "admin:" + adminID
	exp := a.now().Add(a.expiry())
	in := map[string]any{"subject": subject, "secret": secret, "status": int64(store.ResetSecretPending),
		"ttl": int64(a.expiry()/time.Second) + 60}
	if clientAddr != "" {
		in["client_addr"] = clientAddr
	}
	if _, err := a.Store.Upsert(ctx, "reset_secrets", subject, in); err != nil {
		return "", fmt.Errorf("admins: storing the invitation secret: %w", err)
	}
	claims, err := json.Marshal(map[string]any{"id": adminID, "exp": exp.Unix()})
	if err != nil {
		return "", err
	}
	signing := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(claims)
	return signing + "." + jwtSign(secret, signing), nil
}

func jwtSign(secret, signing string) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(signing))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// errBadToken is any token that is not a live token of its admin.
var errBadToken = errors.New("admins: invalid or expired token")

// checkToken verifies a register or reset token and returns the admin id
// it was issued for; consume marks it used.
func (a *Admins) checkToken(ctx context.Context, token string) (adminID string, err error) {
	if len(token) > 4096 {
		return "", errBadToken
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errBadToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", errBadToken
	}
	var claims struct {
		ID  string  `json:"id"`
		Exp float64 `json:"exp"`
	}
	if json.Unmarshal(raw, &claims) != nil || claims.ID == "" || !store.IsUUID(claims.ID) {
		return "", errBadToken
	}
	if hdr, err := base64.RawURLEncoding.DecodeString(parts[0]); err != nil || !strings.Contains(string(hdr), `"HS256"`) {
		return "", errBadToken
	}
	rec, err := a.Store.Get(ctx, "reset_secrets", "admin:"+claims.ID)
	if store.IsNotFound(err) {
		return "", errBadToken
	}
	if err != nil {
		return "", err
	}
	if st, _ := rec["status"].(int64); st != store.ResetSecretPending {
		return "", errBadToken
	}
	want := jwtSign(str(rec, "secret"), parts[0]+"."+parts[1])
	if !hmac.Equal([]byte(want), []byte(parts[2])) {
		return "", errBadToken
	}
	if float64(a.now().Unix()) >= claims.Exp {
		return "", errBadToken
	}
	return claims.ID, nil
}

// consumeToken marks the admin's secret consumed.
func (a *Admins) consumeToken(ctx context.Context, adminID string) error {
	_, err := a.Store.Update(ctx, "reset_secrets", "admin:"+adminID,
		map[string]any{"status": int64(store.ResetSecretConsumed), "ttl": int64(a.expiry()/time.Second) + 60})
	return err
}

// registerURL is Kong's <admin_gui_url>/register?email=..&username=..&token=..
func (a *Admins) registerURL(rec map[string]any, token string) string {
	base := strings.TrimSuffix(a.GUIURL, "/")
	if p := strings.Trim(a.GUIPath, "/"); p != "" {
		base += "/" + p
	}
	u := base + "/register?email=" + url.QueryEscape(str(rec, "email")) + "&username=" + url.QueryEscape(str(rec, "username"))
	if token != "" {
		u += "&token=" + url.QueryEscape(token)
	}
	return u
}

// setPassword stores the admin's password hash (creating or replacing its
// credential) and clears its failed sign-ins.
func (a *Admins) setPassword(ctx context.Context, adminID, password string) error {
	hash, err := store.HashAdminPassword(password)
	if err != nil {
		return fmt.Errorf("admins: hashing the password: %w", err)
	}
	cred, err := a.credential(ctx, adminID)
	switch {
	case store.IsNotFound(err):
		_, err = a.Store.Insert(ctx, "admin_credentials", map[string]any{"admin": map[string]any{"id": adminID}, "password_hash": hash})
	case err == nil:
		_, err = a.Store.Update(ctx, "admin_credentials", str(cred, "id"), map[string]any{"password_hash": hash})
	}
	if err != nil {
		return fmt.Errorf("admins: storing the password: %w", err)
	}
	return a.clearAttempts(ctx, adminID)
}

// credential returns the admin's admin_credentials row.
func (a *Admins) credential(ctx context.Context, adminID string) (map[string]any, error) {
	return a.firstWith(ctx, "admin_credentials", "admin", adminID)
}

// checkPassword reports whether password is the admin's.
func (a *Admins) checkPassword(ctx context.Context, adminID, password string) (bool, error) {
	cred, err := a.credential(ctx, adminID)
	if store.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return store.CheckAdminPassword(str(cred, "password_hash"), password), nil
}

// attempts returns the admin's failed sign-ins.
func (a *Admins) attempts(ctx context.Context, adminID string) (int64, error) {
	rec, err := a.Store.Get(ctx, "login_attempts", "admin:"+adminID)
	if store.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, _ := rec["attempts"].(int64)
	return n, nil
}

// failedAttempt counts a failed sign-in (kept a week, as Kong does).
func (a *Admins) failedAttempt(ctx context.Context, adminID string) error {
	if a.LoginAttempts <= 0 {
		return nil
	}
	n, err := a.attempts(ctx, adminID)
	if err != nil {
		return err
	}
	_, err = a.Store.Upsert(ctx, "login_attempts", "admin:"+adminID,
		map[string]any{"subject": "admin:" + adminID, "attempts": n + 1, "ttl": int64(7 * 24 * 3600)})
	return err
}

// clearAttempts forgets the admin's failed sign-ins.
func (a *Admins) clearAttempts(ctx context.Context, adminID string) error {
	_, err := a.Store.Delete(ctx, "login_attempts", "admin:"+adminID)
	if store.IsNotFound(err) {
		return nil
	}
	return err
}

// defaultWorkspaceRecord returns the `default` workspace as /admins and
// /userinfo show it.
func (a *Admins) defaultWorkspaceRecord(ctx context.Context) (map[string]any, error) {
	h := &portalHandler{st: a.Store}
	return h.defaultWorkspace(ctx)
}

// EnsureBootstrapAdmin makes the RBAC user name (the bootstrapped
// super-admin, kong_admin) an approved admin who signs in to Kong
// Manager with password, as Kong's bootstrap with KONG_PASSWORD does. It
// does nothing when password is empty, the store is read-only, the admin
// exists, the RBAC user does not, or the user is already an admin's
// (nodes starting together: the loser of the insert does nothing).
func EnsureBootstrapAdmin(ctx context.Context, st *store.Store, name, password string) error {
	if password == "" || st.ReadOnly() {
		return nil
	}
	if _, err := st.Get(ctx, "admins", name); err == nil {
		return nil
	} else if !store.IsNotFound(err) {
		return fmt.Errorf("admins: reading %s: %w", name, err)
	}
	user, err := st.Get(ctx, "rbac_users", name)
	if store.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("admins: reading the RBAC user %s: %w", name, err)
	}
	a := &Admins{Store: st}
	if _, err := a.adminOfUser(ctx, str(user, "id")); err == nil {
		return nil
	}
	rec, err := st.Insert(ctx, "admins", map[string]any{"username": name, "status": int64(store.AdminApproved),
		"rbac_user": map[string]any{"id": user["id"]}})
	if e, ok := store.AsError(err); ok && e.Code == store.CodeUniqueViolation {
		return nil
	}
	if err != nil {
		return fmt.Errorf("admins: creating the admin %s: %w", name, err)
	}
	return a.setPassword(ctx, str(rec, "id"), password)
}
