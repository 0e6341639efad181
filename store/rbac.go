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
// digests, as in Kong).
func NotDeclarative(name string) bool { return name == "rbac_users" || teamEntities[name] }
