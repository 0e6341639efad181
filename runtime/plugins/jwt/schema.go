package jwt

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/jwt/schema.lua. The plugin cannot be scoped to a consumer
// (typedefs.no_consumer) and runs on Kong's protocols_http; a
// maximum_expiration above 0 requires "exp" among claims_to_verify.
func Schema() *store.PluginSchema {
	stringSet := func(name string, def []any, desc string) *schema.Field {
		f := &schema.Field{Name: name, Type: schema.Set, Elements: &schema.Field{Type: schema.String}, Description: desc}
		if def != nil {
			f.Default = def
		}
		return f
	}
	cfg := &schema.Schema{Fields: []*schema.Field{
		stringSet("uri_param_names", []any{"jwt"}, "A list of querystring parameters that Kong will inspect to retrieve JWTs."),
		stringSet("cookie_names", []any{}, "A list of cookie names that Kong will inspect to retrieve JWTs."),
		{Name: "key_claim_name", Type: schema.String, Default: "iss",
			Description: "The name of the claim in which the key identifying the secret must be passed. The plugin will attempt to read this claim from the JWT payload and the header, in that order."},
		{Name: "secret_is_base64", Type: schema.Boolean, Required: true, Default: false,
			Description: "If true, the plugin assumes the credential’s secret to be base64 encoded. You will need to create a base64-encoded secret for your Consumer, and sign your JWT with the original secret."},
		{Name: "claims_to_verify", Type: schema.Set, Elements: &schema.Field{Type: schema.String, OneOf: []any{"exp", "nbf"}},
			Description: "A list of registered claims (according to RFC 7519) that Kong can verify as well. Accepted values: one of exp or nbf."},
		{Name: "anonymous", Type: schema.String,
			Description: "An optional string (consumer UUID or username) value to use as an “anonymous” consumer if authentication fails."},
		{Name: "run_on_preflight", Type: schema.Boolean, Required: true, Default: true,
			Description: "A boolean value that indicates whether the plugin should run (and try to authenticate) on OPTIONS preflight requests. If set to false, then OPTIONS requests will always be allowed."},
		{Name: "maximum_expiration", Type: schema.Number, Default: float64(0), Between: schema.Range(0, 31536000),
			Description: "A value between 0 and 31536000 (365 days) limiting the lifetime of the JWT to maximum_expiration seconds in the future."},
		stringSet("header_names", []any{"authorization"}, "A list of HTTP header names that Kong will inspect to retrieve JWTs."),
		{Name: "realm", Type: schema.String,
			Description: "When authentication fails the plugin sends `WWW-Authenticate` header with `realm` attribute value."},
	}}
	cfg.AddEntityChecks("config", schema.EntityCheck{Conditional: &schema.ConditionalCheck{
		IfField: "config.maximum_expiration", IfMatch: &schema.Field{Gt: schema.Float(0)},
		ThenField: "config.claims_to_verify", ThenMatch: &schema.Field{Contains: "exp"},
	}})
	return &store.PluginSchema{
		Name:          Name,
		OnlyProtocols: store.HTTPProtocols, // typedefs.protocols_http
		NoConsumer:    true,
		Config:        cfg,
	}
}
