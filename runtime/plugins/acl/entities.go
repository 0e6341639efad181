// Package acl holds what Gatehouse knows of Kong's acl plugin so far: the
// acls entity it owns (Kong's daos.lua, a consumer's group memberships),
// registered on its own so that the Admin API and kong.yml serve it while
// the plugin's handler is not written yet.
package acl

import (
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Owner is the name of the plugin that owns the entities.
const Owner = "acl"

// GroupEntity is the name of the plugin's entity, as Kong names it.
const GroupEntity = "acls"

func init() { plugin.RegisterEntities(Owner, Groups()) }

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
