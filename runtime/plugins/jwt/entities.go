// Package jwt holds what Gatehouse knows of Kong's jwt plugin so far: the
// jwt_secrets entity it owns (Kong's daos.lua), registered on its own so
// that the Admin API and kong.yml serve the credentials while the plugin's
// handler is not written yet.
package jwt

import (
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Owner is the name of the plugin that owns the entities.
const Owner = "jwt"

// SecretEntity is the name of the plugin's credentials, as Kong names them.
const SecretEntity = "jwt_secrets"

func init() { plugin.RegisterEntities(Owner, Secrets()) }

// Algorithms are the signing algorithms a secret may name.
var Algorithms = store.OneOf("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA")

// Secrets declares the plugin's credentials, served at /jwts and
// /consumers/{consumer}/jwt: a key (the token's issuer claim) and a secret
// or RSA public key, generated when left out.
func Secrets() *store.Entity {
	return &store.Entity{
		Name: SecretEntity, Path: "jwts", NestedPath: "jwt", EndpointKey: "key",
		KongCacheKey: []string{"key"},
		Schema: (&schema.Schema{
			Fields: []*schema.Field{
				store.IDField(), store.CreatedAtField(),
				store.ConsumerField(),
				{Name: "key", Type: schema.String, Unique: true, Auto: true},
				{Name: "secret", Type: schema.String, Auto: true},
				{Name: "rsa_public_key", Type: schema.String},
				{Name: "algorithm", Type: schema.String, Default: "HS256", OneOf: Algorithms},
				store.TagsField(),
			},
		}).AddEntityChecks("", schema.EntityCheck{Conditional: &schema.ConditionalCheck{
			IfField: "algorithm", IfMatch: &schema.Field{OneOf: store.OneOf("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA")},
			ThenField: "rsa_public_key", ThenMatch: &schema.Field{Required: true},
		}}),
		Generate: func(rec map[string]any) {
			if rec["key"] == nil {
				rec["key"] = store.RandomToken()
			}
			if rec["secret"] == nil {
				rec["secret"] = store.RandomToken()
			}
		},
	}
}
