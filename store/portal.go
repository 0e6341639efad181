package store

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/gatehouse/gatehouse/store/schema"
)

// The workspace and Developer Portal entities of Kong Enterprise that the
// IAM training drives through the Admin API (issue 16): the workspace
// (one, `default`), the portal's files (specs and content), developers,
// developer roles and document objects (a service linked to a spec).
// They stay out of declarative configuration (NotDeclarative), as Kong
// keeps them out of kong.yml. All but document_objects have paths holding
// a slash: the generic entity routes never serve them, runtime/admin's own
// handlers do (workspaces.go, portal_files.go, developers.go).

// DefaultWorkspace is the name of the only workspace Gatehouse has.
const DefaultWorkspace = "default"

// WorkspaceConfigFields are the fields of a workspace's `config`, as Kong
// Enterprise's workspaces schema declares them.
var WorkspaceConfigFields = []string{
	"meta", "portal", "portal_access_request_email", "portal_application_request_email",
	"portal_application_status_email", "portal_approved_email", "portal_auth", "portal_auth_conf",
	"portal_auto_approve", "portal_cors_origins", "portal_developer_meta_fields", "portal_emails_from",
	"portal_emails_reply_to", "portal_invite_email", "portal_is_legacy", "portal_reset_email",
	"portal_reset_success_email", "portal_session_conf", "portal_smtp_admin_emails", "portal_token_exp",
}

// DefaultDeveloperMetaFields is Kong Enterprise's default of
// config.portal_developer_meta_fields: the one "Full Name" field.
const DefaultDeveloperMetaFields = `[{"label":"Full Name","title":"full_name","validator":{"required":true,"type":"string"}}]`

// Workspaces declares the workspaces entity: name, comment, config (the
// portal settings) and meta (color, thumbnail).
func Workspaces() *Entity {
	str := func(name string) *schema.Field { return &schema.Field{Name: name, Type: schema.String, LenMax: 65536} }
	boolean := func(name string) *schema.Field { return &schema.Field{Name: name, Type: schema.Boolean} }
	strings := func(name string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Array, Elements: &schema.Field{Type: schema.String, LenMax: 2048}}
	}
	return &Entity{
		Name: "workspaces", Path: "workspaces/workspaces", EndpointKey: "name",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				{Name: "name", Type: schema.String, Required: true, Unique: true, LenMin: 1, LenMax: 256,
					Description: "The workspace's unique name; Gatehouse has only `default`."},
				{Name: "comment", Type: schema.String, LenMax: 1024},
				{Name: "config", Type: schema.Record, Fields: []*schema.Field{
					{Name: "meta", Type: schema.Map, Keys: &schema.Field{Type: schema.String, LenMax: 256},
						Values: &schema.Field{Type: schema.String, LenMax: 4096}},
					{Name: "portal", Type: schema.Boolean, Required: true, Default: false},
					boolean("portal_access_request_email"),
					boolean("portal_application_request_email"),
					boolean("portal_application_status_email"),
					boolean("portal_approved_email"),
					// The name of the portal's authentication plugin; the
					// portal decides which it supports.
					{Name: "portal_auth", Type: schema.String, LenMax: 256},
					str("portal_auth_conf"),
					boolean("portal_auto_approve"),
					strings("portal_cors_origins"),
					{Name: "portal_developer_meta_fields", Type: schema.String, LenMax: 65536,
						Default: DefaultDeveloperMetaFields},
					str("portal_emails_from"),
					str("portal_emails_reply_to"),
					boolean("portal_invite_email"),
					boolean("portal_is_legacy"),
					boolean("portal_reset_email"),
					boolean("portal_reset_success_email"),
					str("portal_session_conf"),
					strings("portal_smtp_admin_emails"),
					{Name: "portal_token_exp", Type: schema.Integer, Between: &[2]float64{0, 1 << 31}},
				}},
				{Name: "meta", Type: schema.Record, Fields: []*schema.Field{
					{Name: "color", Type: schema.String, LenMax: 64},
					{Name: "thumbnail", Type: schema.String, LenMax: 65536},
				}},
				createdAtField(),
				updatedAtField(),
			},
		},
	}
}

// PortalFiles declares the files entity: the portal's specs and content,
// named by path ("specs/orders.yml"), with the SHA-256 checksum of their
// contents.
func PortalFiles() *Entity {
	return &Entity{
		Name: "files", Path: "files/files", EndpointKey: "path",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				{Name: "path", Type: schema.String, Required: true, Unique: true, LenMin: 1, LenMax: 1024,
					Check: checkFilePath, Description: "The file's path: specs/..., content/..., themes/..."},
				{Name: "contents", Type: schema.String, Required: true,
					Description: "The file's contents (a spec in YAML or JSON for specs/...)."},
				{Name: "checksum", Type: schema.String, LenMax: 64,
					Description: "The SHA-256 digest (hex) of contents, computed on every write."},
				createdAtField(),
				updatedAtField(),
			},
		},
		BeforeWrite: func(_, rec map[string]any) error {
			contents, _ := rec["contents"].(string)
			sum := sha256.Sum256([]byte(contents))
			rec["checksum"] = hex.EncodeToString(sum[:])
			return nil
		},
	}
}

// The developer statuses: Kong Enterprise stores a developer's status as
// an integer (its consumers' status enum).
const (
	DeveloperApproved = 0
	DeveloperPending  = 1
	DeveloperRejected = 2
	DeveloperRevoked  = 3
	DeveloperInvited  = 4
)

// DeveloperStatusNames are the names of the developer statuses, by value.
var DeveloperStatusNames = []string{"approved", "pending", "rejected", "revoked", "invited"}

// Developers declares the developers entity: email (unique), the password
// hash (PBKDF2, never shown by the Admin API), meta (a JSON string, as
// Kong keeps it), status, custom_id and the developer roles granted.
func Developers() *Entity {
	return &Entity{
		Name: "developers", Path: "developers/developers", EndpointKey: "email",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				{Name: "email", Type: schema.String, Required: true, Unique: true, LenMin: 3, LenMax: 320,
					Check: checkEmail},
				{Name: "password", Type: schema.String, LenMax: 512,
					Description: "The PBKDF2 hash of the developer's password."},
				{Name: "meta", Type: schema.String, LenMax: 65536},
				{Name: "status", Type: schema.Integer, Required: true, Default: DeveloperPending,
					Between: &[2]float64{0, float64(len(DeveloperStatusNames) - 1)}},
				{Name: "custom_id", Type: schema.String, Unique: true, LenMax: 256},
				{Name: "roles", Type: schema.Set, Elements: &schema.Field{Type: schema.String, LenMax: 256},
					Description: "The developer roles granted to the developer."},
				createdAtField(),
				updatedAtField(),
			},
		},
		BeforeWrite: func(old, rec map[string]any) error {
			pw, _ := rec["password"].(string)
			if pw == "" {
				delete(rec, "password")
				return nil
			}
			if old != nil && old["password"] == pw {
				return nil // unchanged: already the hash
			}
			h, err := HashDeveloperPassword(pw)
			if err != nil {
				return err
			}
			rec["password"] = h
			return nil
		},
	}
}

// DeveloperRoles declares the developer roles (Kong Enterprise's portal
// RBAC roles), named in a file's readable_by.
func DeveloperRoles() *Entity {
	return &Entity{
		Name: "developer_roles", Path: "developers/roles", EndpointKey: "name",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				{Name: "name", Type: schema.String, Required: true, Unique: true, LenMin: 1, LenMax: 256,
					Check: checkRoleName},
				{Name: "comment", Type: schema.String, LenMax: 1024},
				createdAtField(),
			},
		},
	}
}

// DocumentObjects declares document_objects: a service linked to the spec
// file at path. The generic entity routes serve it at /document_objects
// and /services/{s}/document_objects; deleting the service deletes it.
func DocumentObjects() *Entity {
	return &Entity{
		Name: "document_objects", Path: "document_objects",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				foreignField("service", "services", true, "cascade"),
				{Name: "path", Type: schema.String, Required: true, LenMin: 1, LenMax: 1024, Check: checkFilePath},
				createdAtField(),
				updatedAtField(),
			},
		},
	}
}

// PortalEntities returns the declarations of the workspace and portal
// entities, for KongEntities.
func PortalEntities() []*Entity {
	return []*Entity{Workspaces(), PortalFiles(), Developers(), DeveloperRoles(), DocumentObjects(),
		Applications(), ApplicationInstances()}
}

// portalOwnRoutes are the portal entities runtime/admin serves with its own
// handlers only.
var portalOwnRoutes = map[string]bool{"workspaces": true, "files": true, "developers": true, "developer_roles": true}

// portalEntities are the entities PortalEntities declares.
var portalEntities = map[string]bool{"workspaces": true, "files": true, "developers": true,
	"developer_roles": true, "document_objects": true}

// IsPortalEntity reports whether name is one of the workspace and portal
// entities that runtime/admin serves with its own handlers (not through
// the generic entity routes).
func IsPortalEntity(name string) bool { return portalOwnRoutes[name] }

// checkFilePath refuses paths a portal file cannot have: a leading slash,
// a backslash, empty, "." or ".." segments, control characters.
func checkFilePath(v any) string {
	s, _ := v.(string)
	if s == "" || s[0] == '/' {
		return "must be a relative path such as specs/orders.yml"
	}
	seg := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '/' {
			part := s[seg:i]
			if part == "" || part == "." || part == ".." {
				return "must not hold empty, '.' or '..' segments"
			}
			seg = i + 1
			continue
		}
		if c := s[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "must not hold control characters or backslashes"
		}
	}
	return ""
}

// checkEmail accepts local@domain with no spaces, one '@' and a dot-free
// or dotted domain.
func checkEmail(v any) string {
	s, _ := v.(string)
	at := -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';':
			return "invalid email address " + s
		case c == '@':
			if at >= 0 {
				return "invalid email address " + s
			}
			at = i
		}
	}
	if at <= 0 || at == len(s)-1 {
		return "invalid email address " + s
	}
	return ""
}

// checkRoleName refuses role names holding a comma (the lists of roles a
// form sends are comma-separated) or control characters.
func checkRoleName(v any) string {
	s, _ := v.(string)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == ',' {
			return "must not hold commas or control characters"
		}
	}
	return ""
}
