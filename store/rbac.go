package store

import "github.com/gatehouse/gatehouse/store/schema"

// The rbac_users entity: the Admin API's administrators (Kong Enterprise's
// RBAC users). user_token holds the SHA-256 digest (hex) of the user's
// token, never the token itself; roles names the roles granted through
// /rbac/users/{u}/roles. It has no generic Admin API route: runtime/admin
// serves /rbac/users and never shows user_token.

// RBACUsers declares the rbac_users entity.
func RBACUsers() *Entity {
	return &Entity{
		Name: "rbac_users", Path: "rbac/users", EndpointKey: "name",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				{Name: "name", Type: schema.String, Required: true, Unique: true, LenMax: 256,
					Description: "The administrator's unique name."},
				{Name: "user_token", Type: schema.String, Required: true, Unique: true, LenMax: 128,
					Description: "The SHA-256 digest (hex) of the administrator's token."},
				{Name: "enabled", Type: schema.Boolean, Required: true, Default: true},
				{Name: "comment", Type: schema.String, LenMax: 1024},
				{Name: "roles", Type: schema.Array, Elements: &schema.Field{Type: schema.String},
					Description: "The roles granted to the administrator."},
				createdAtField(),
			},
		},
	}
}

// NotDeclarative reports whether the entity stays out of declarative
// configuration: kong.yml files, POST /config and db_import refuse it,
// db_export and GET /config leave it out (administrators and their token
// digests, roles and their permissions, as in Kong).
func NotDeclarative(name string) bool {
	switch name {
	case "rbac_users", "rbac_roles", "rbac_role_endpoints":
		return true
	}
	return teamEntities[name] || portalEntities[name] || adminEntities[name]
}

// The rbac_roles entity: Kong Enterprise's RBAC roles. A role grants the
// endpoint permissions of its rbac_role_endpoints and of the privilege
// bundles privileges names (runtime/admin knows the bundles).
// predefined marks the roles Gatehouse seeds (super-admin, admin,
// read-only, api-provider): runtime/admin refuses to delete or rename
// them or to change their permissions, and ignores the field on client
// writes. Served by runtime/admin at /rbac/roles, never by the generic
// entity routes.

// RBACRoles declares the rbac_roles entity.
func RBACRoles() *Entity {
	return &Entity{
		Name: "rbac_roles", Path: "rbac/roles", EndpointKey: "name",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				{Name: "name", Type: schema.String, Required: true, Unique: true, LenMax: 256,
					Description: "The role's unique name."},
				{Name: "comment", Type: schema.String, LenMax: 1024},
				{Name: "predefined", Type: schema.Boolean, Required: true, Default: false,
					Description: "Set on the roles Gatehouse seeds; read-only to clients."},
				{Name: "privileges", Type: schema.Array, Elements: &schema.Field{Type: schema.String, LenMax: 128},
					Description: "The privilege bundles whose endpoint permissions the role adds."},
				createdAtField(),
			},
		},
	}
}

// RBACRoleEndpoints declares the rbac_role_endpoints entity: one endpoint
// permission of a role (Kong Enterprise's shape). endpoint is a path
// pattern ("*", "/services/*", "/rbac/users"), actions a subset of read,
// create, update, delete; a negative permission denies those actions.
// One permission per role, workspace and endpoint.
func RBACRoleEndpoints() *Entity {
	return &Entity{
		Name: "rbac_role_endpoints", Path: "rbac/role_endpoints", NestedPath: "endpoints",
		CacheKey: []string{"role", "workspace", "endpoint"},
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				idField(),
				foreignField("role", "rbac_roles", true, "cascade"),
				{Name: "workspace", Type: schema.String, Required: true, Default: "default", LenMax: 256},
				{Name: "endpoint", Type: schema.String, Required: true, LenMin: 1, LenMax: 1024},
				{Name: "actions", Type: schema.Array, Required: true,
					Elements: &schema.Field{Type: schema.String, OneOf: oneOf("read", "create", "update", "delete")}},
				{Name: "negative", Type: schema.Boolean, Required: true, Default: false},
				{Name: "comment", Type: schema.String, LenMax: 1024},
				createdAtField(),
			},
		},
	}
}
