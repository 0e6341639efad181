package hmacauth

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Algorithms are the HMAC digests the plugin knows, in Kong's order.
var algorithms = []any{"hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"}

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/hmac-auth/schema.lua. The plugin cannot be scoped to a
// consumer (typedefs.no_consumer) and runs on Kong's protocols_http.
func Schema() *store.PluginSchema {
	return &store.PluginSchema{
		Name:          Name,
		OnlyProtocols: store.HTTPProtocols, // typedefs.protocols_http
		NoConsumer:    true,
		Config: &schema.Schema{Fields: []*schema.Field{
			{Name: "hide_credentials", Type: schema.Boolean, Required: true, Default: false,
				Description: "An optional boolean value telling the plugin to show or hide the credential from the upstream service."},
			{Name: "clock_skew", Type: schema.Number, Default: float64(300), Gt: schema.Float(0),
				Description: "Clock skew in seconds to prevent replay attacks."},
			{Name: "anonymous", Type: schema.String,
				Description: "An optional string (Consumer UUID or username) value to use as an “anonymous” consumer if authentication fails."},
			{Name: "validate_request_body", Type: schema.Boolean, Required: true, Default: false,
				Description: "A boolean value telling the plugin to enable body validation."},
			{Name: "enforce_headers", Type: schema.Array, Elements: &schema.Field{Type: schema.String}, Default: []any{},
				Description: "A list of headers that the client should at least use for HTTP signature creation."},
			{Name: "algorithms", Type: schema.Array, Elements: &schema.Field{Type: schema.String, OneOf: algorithms}, Default: append([]any(nil), algorithms...),
				Description: "A list of HMAC digest algorithms that the user wants to support. Allowed values are `hmac-sha1`, `hmac-sha256`, `hmac-sha384`, and `hmac-sha512`"},
			{Name: "realm", Type: schema.String,
				Description: "When authentication fails the plugin sends `WWW-Authenticate` header with `realm` attribute value."},
		}},
	}
}
