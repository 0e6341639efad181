// Package hmacauth holds what Gatehouse knows of Kong's hmac-auth plugin so
// far: the hmacauth_credentials entity it owns (Kong's daos.lua),
// registered on its own so that the Admin API and kong.yml serve the
// credentials while the plugin's handler is not written yet.
package hmacauth

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Owner is the name of the plugin that owns the entities.
const Owner = "hmac-auth"

// CredentialEntity is the name of the plugin's credentials, as Kong names
// them.
const CredentialEntity = "hmacauth_credentials"


// Credentials declares the plugin's credentials, served at /hmac-auths and
// /consumers/{consumer}/hmac-auth; the secret is generated when left out.
func Credentials() *store.Entity {
	return &store.Entity{
		Name: CredentialEntity, Path: "hmac-auths", NestedPath: "hmac-auth", EndpointKey: "username",
		KongCacheKey: []string{"username"},
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				store.IDField(), store.CreatedAtField(),
				store.ConsumerField(),
				{Name: "username", Type: schema.String, Required: true, Unique: true},
				{Name: "secret", Type: schema.String, Auto: true},
				store.TagsField(),
			},
		},
		Generate: func(rec map[string]any) {
			if rec["secret"] == nil {
				rec["secret"] = store.RandomToken()
			}
		},
	}
}
