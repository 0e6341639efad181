package store

import (
	"strings"

	"github.com/gatehouse/gatehouse/store/schema"
)

// Kong Manager's administrators (Kong Enterprise's admins) and the
// sign-in state around them (issue 16, PORTALSPEC §1, §2, §7):
//
//   - admins: an administrator invited by e-mail; each is linked to the
//     rbac_users row that carries its roles (and its Kong-Admin-Token);
//   - admin_credentials: an admin's sign-in password (PBKDF2), never
//     reachable through /basic-auths;
//   - reset_secrets: the per-invitation (or per-reset) secrets that sign
//     the register and reset tokens (Kong's consumer_reset_secrets);
//   - sessions: server-side sessions (the session plugin's storage
//     "kong"), one row per signed-in browser, living as long as the
//     session (a TTL entity);
//   - login_attempts: failed sign-ins per admin, for
//     admin_gui_auth_login_attempts.
//
// All stay out of declarative configuration and have paths holding a
// slash, so the generic entity routes never serve them: runtime/admin
// serves /admins, /auth and /userinfo with its own handlers.

// The admin (and developer, application instance) statuses of Kong
// Enterprise's enum.
const (
	AdminApproved   = 0
	AdminPending    = 1
	AdminRejected   = 2
	AdminRevoked    = 3
	AdminInvited    = 4
	AdminUnverified = 5
)

// AdminStatusLabels are the enum's names, by value.
var AdminStatusLabels = []string{"APPROVED", "PENDING", "REJECTED", "REVOKED", "INVITED", "UNVERIFIED"}

// The reset secret statuses (Kong's consumer_reset_secrets).
const (
	ResetSecretPending     = 1
	ResetSecretConsumed    = 2
	ResetSecretInvalidated = 3
)

// Admins declares the admins entity.
func Admins() *Entity {
	return &Entity{
		Name: "admins", Path: "admins/admins", EndpointKey: "username",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				{Name: "username", Type: schema.String, Required: true, Unique: true, LenMin: 1, LenMax: 256,
					Check: checkUTF8Name, Description: "The admin's unique name; it signs in with it."},
				{Name: "username_lower", Type: schema.String, Unique: true, LenMax: 256,
					Description: "username in lower case, for case-insensitive look-ups; set on every write."},
				{Name: "custom_id", Type: schema.String, Unique: true, LenMax: 256},
				{Name: "email", Type: schema.String, Unique: true, LenMin: 3, LenMax: 320, Check: checkEmail,
					Description: "The admin's e-mail address, stored in lower case."},
				{Name: "status", Type: schema.Integer, Required: true, Default: int64(AdminInvited),
					Between: &[2]float64{0, float64(len(AdminStatusLabels) - 1)}},
				{Name: "rbac_token_enabled", Type: schema.Boolean, Required: true, Default: true},
				foreignField("rbac_user", "rbac_users", true, "cascade"),
				createdAtField(),
				updatedAtField(),
			},
		},
		BeforeWrite: func(_, rec map[string]any) error {
			if u, ok := rec["username"].(string); ok {
				rec["username_lower"] = strings.ToLower(u)
			}
			if e, ok := rec["email"].(string); ok {
				rec["email"] = strings.ToLower(e)
			}
			return nil
		},
	}
}

// AdminCredentials declares admin_credentials: an admin's password hash
// (HashAdminPassword); runtime/admin keeps one per admin.
func AdminCredentials() *Entity {
	return &Entity{
		Name: "admin_credentials", Path: "admins/credentials",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				foreignField("admin", "admins", true, "cascade"),
				{Name: "password_hash", Type: schema.String, Required: true, LenMax: 512},
				createdAtField(),
				updatedAtField(),
			},
		},
	}
}

// ResetSecrets declares reset_secrets: the secret signing the register or
// password-reset token of an admin or a developer. There is one row per
// subject ("admin:<id>", "developer:<id>"): a new token replaces the
// secret, which invalidates every earlier token of the subject, and using
// a token marks it consumed.
func ResetSecrets() *Entity {
	return &Entity{
		Name: "reset_secrets", Path: "admins/reset_secrets", EndpointKey: "subject",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				{Name: "subject", Type: schema.String, Required: true, Unique: true, LenMin: 1, LenMax: 300},
				{Name: "secret", Type: schema.String, Required: true, LenMin: 32, LenMax: 128},
				{Name: "status", Type: schema.Integer, Required: true, Default: int64(ResetSecretPending),
					Between: &[2]float64{1, 3}},
				{Name: "client_addr", Type: schema.String, LenMax: 128},
				createdAtField(),
			},
		},
		TTL: true,
	}
}

// Sessions declares sessions: one server-side session (runtime/session).
// session_id is the SHA-256 digest (hex) of the id the cookie carries, so
// reading the table does not give a usable cookie. The times are Unix
// milliseconds; 0 is "no limit". Rows are written with a ttl, so an ended
// session disappears from reads.
func Sessions() *Entity {
	ms := func(name string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Integer, Required: true, Default: int64(0),
			Between: &[2]float64{0, 1 << 53}}
	}
	return &Entity{
		Name: "sessions", Path: "sessions/sessions", EndpointKey: "session_id",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				{Name: "session_id", Type: schema.String, Required: true, Unique: true, LenMin: 64, LenMax: 64},
				{Name: "audience", Type: schema.String, Required: true, LenMin: 1, LenMax: 64},
				{Name: "subject", Type: schema.String, Required: true, LenMin: 1, LenMax: 256},
				ms("created"),
				ms("last_seen"),
				ms("rolling_expires"),
				ms("absolute_expires"),
				createdAtField(),
			},
		},
		TTL: true,
	}
}

// LoginAttempts declares login_attempts: the failed sign-ins of a subject
// ("admin:<id>", "developer:<id>") since its last successful one.
func LoginAttempts() *Entity {
	return &Entity{
		Name: "login_attempts", Path: "admins/login_attempts", EndpointKey: "subject",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				{Name: "subject", Type: schema.String, Required: true, Unique: true, LenMin: 1, LenMax: 300},
				{Name: "attempts", Type: schema.Integer, Required: true, Default: int64(0), Between: &[2]float64{0, 1 << 31}},
				createdAtField(),
			},
		},
		TTL: true,
	}
}

// AdminEntities returns the declarations of the admin and session
// entities, for KongEntities (after rbac_users, which admins reference).
func AdminEntities() []*Entity {
	return []*Entity{Admins(), AdminCredentials(), ResetSecrets(), Sessions(), LoginAttempts()}
}

// adminEntities are the entities AdminEntities declares.
var adminEntities = map[string]bool{"admins": true, "admin_credentials": true, "reset_secrets": true,
	"sessions": true, "login_attempts": true}

// HashAdminPassword hashes an admin's sign-in password, with the
// developers' hasher (PBKDF2).
func HashAdminPassword(password string) (string, error) { return HashDeveloperPassword(password) }

// CheckAdminPassword reports whether password matches a HashAdminPassword
// hash.
func CheckAdminPassword(hash, password string) bool { return CheckDeveloperPassword(hash, password) }
