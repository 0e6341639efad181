// Package oauth2 holds what Gatehouse knows of Kong's oauth2 plugin so far:
// the oauth2_credentials entity it owns (Kong's daos.lua, the client
// applications), registered on its own so that the Admin API and kong.yml
// serve them while the plugin's handler is not written yet.
package oauth2

import (
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Owner is the name of the plugin that owns the entities.
const Owner = "oauth2"

// CredentialEntity is the name of the plugin's client applications, as
// Kong names them.
const CredentialEntity = "oauth2_credentials"

func init() { plugin.RegisterEntities(Owner, Credentials()) }

// Credentials declares the plugin's client applications, served at /oauth2
// and /consumers/{consumer}/oauth2; client id and secret are generated
// when left out.
func Credentials() *store.Entity {
	return &store.Entity{
		Name: CredentialEntity, Path: "oauth2", EndpointKey: "client_id",
		KongCacheKey: []string{"client_id"},
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				store.IDField(), store.CreatedAtField(),
				store.ConsumerField(),
				{Name: "name", Type: schema.String, Required: true},
				{Name: "client_id", Type: schema.String, Unique: true, Auto: true},
				{Name: "client_secret", Type: schema.String, Auto: true},
				{Name: "hash_secret", Type: schema.Boolean, Required: true, Default: false},
				{Name: "redirect_uris", Type: schema.Array, Elements: store.URLField("")},
				{Name: "client_type", Type: schema.String, Required: true, Default: "confidential", OneOf: store.OneOf("confidential", "public")},
				store.TagsField(),
			},
		},
		Generate: func(rec map[string]any) {
			if rec["client_id"] == nil {
				rec["client_id"] = store.RandomToken()
			}
			if rec["client_secret"] == nil {
				rec["client_secret"] = store.RandomToken()
			}
		},
	}
}
