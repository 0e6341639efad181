// Package hmacauth is Gatehouse's native hmac-auth plugin, compatible with
// Kong 3.9's: clients sign chosen request headers with an HMAC (SHA-1,
// SHA-256, SHA-384 or SHA-512) of a secret from the hmacauth_credentials
// (Kong's daos.lua, declared here) and send the signature in an
// Authorization or Proxy-Authorization header; the request is identified
// as the credential's consumer. See README.md.
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
