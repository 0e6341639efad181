package keyauth

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// CredentialEntity is the name of the plugin's credentials, as Kong names
// them in its daos.lua, the Admin API and kong.yml.
const CredentialEntity = "keyauth_credentials"

// Credentials declares the plugin's credentials: an API key per consumer,
// served at /key-auths and /consumers/{consumer}/key-auth, generated when
// the input leaves it out, and able to expire (Kong's ttl).
func Credentials() *store.Entity {
	return &store.Entity{
		Name: CredentialEntity, Path: "key-auths", NestedPath: "key-auth", EndpointKey: "key", TTL: true,
		KongCacheKey: []string{"key"},
		Schema: &schema.Schema{
			Fields: []*schema.Field{
				store.IDField(), store.CreatedAtField(),
				store.ConsumerField(),
				{Name: "key", Type: schema.String, Unique: true, Auto: true, Referenceable: true},
				store.TagsField(),
			},
		},
		Generate: func(rec map[string]any) {
			if rec["key"] == nil {
				rec["key"] = store.RandomToken()
			}
		},
	}
}
