// Package acl is Gatehouse's native acl plugin, compatible with Kong's:
// it restricts a service or route to consumers in (or not in) groups, the
// acls entity it owns (Kong's daos.lua, a consumer's group memberships)
// or the groups an authentication plugin authenticated. Its decision is
// made by a Rego policy evaluated by runtime/policy: the shipped acl rule,
// or the stored policy config.policy names. See README.md.
package acl

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Owner is the name of the plugin that owns the entities.
const Owner = Name

// GroupEntity is the name of the plugin's entity, as Kong names it.
const GroupEntity = "acls"

// Groups declares a consumer's group memberships, served at /acls and
// /consumers/{consumer}/acls, where a group name stands in for the id.
func Groups() *store.Entity {
	return &store.Entity{
		Name: GroupEntity, Path: "acls",
		CacheKey:     []string{"consumer", "group"},
		KongCacheKey: []string{"consumer", "group"},
		ParentKey:    "group",
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				store.IDField(), store.CreatedAtField(),
				store.ConsumerField(),
				{Name: "group", Type: schema.String, Required: true},
				store.TagsField(),
			},
		},
	}
}
