// Package jwt is Gatehouse's native jwt plugin, compatible with Kong 3.9's:
// clients authenticate with a JSON Web Token (HS*, RS*, PS*, ES* or EdDSA)
// sent in a query argument, a cookie or a header; the token's key claim
// names one of the jwt_secrets (Kong's daos.lua, declared here), whose
// secret or public key verifies the signature, and the request is
// identified as the secret's consumer. See README.md.
package jwt

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Owner is the name of the plugin that owns the entities.
const Owner = "jwt"

// SecretEntity is the name of the plugin's credentials, as Kong names them.
const SecretEntity = "jwt_secrets"

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
			IfField: "algorithm", IfMatch: &schema.Field{MatchAny: &schema.MatchAny{Patterns: []string{
				"^RS256$", "^RS384$", "^RS512$", "^PS256$", "^PS384$", "^PS512$", "^EdDSA$"}}},
			ThenField: "rsa_public_key", ThenMatch: &schema.Field{Required: true, Check: checkPublicKey},
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

// checkPublicKey is Kong's validate_ssl_key: the key must be one OpenSSL
// reads.
func checkPublicKey(v any) string {
	s, _ := v.(string)
	if _, err := ParsePublicKey(s); err != nil {
		return "invalid key"
	}
	return ""
}
