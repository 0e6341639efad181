package keyauth

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/key-auth/schema.lua. The plugin cannot be scoped to a
// consumer (typedefs.no_consumer); protocols default to Kong's
// protocols_http: grpc, grpcs, http and https, the default and the only
// protocols accepted.
func Schema() *store.PluginSchema {
	return &store.PluginSchema{
		Name:          Name,
		OnlyProtocols: store.HTTPProtocols, // typedefs.protocols_http
		NoConsumer:    true,
		Config: &schema.Schema{Fields: []*schema.Field{
			{Name: "key_names", Type: schema.Array, Required: true, Default: []any{"apikey"},
				Elements:    store.HeaderNameField(""), // typedefs.header_name
				Description: "Describes an array of parameter names where the plugin will look for a key. The key names may only contain [a-z], [A-Z], [0-9], [_] underscore, and [-] hyphen."},
			{Name: "hide_credentials", Type: schema.Boolean, Required: true, Default: false,
				Description: "An optional boolean value telling the plugin to show or hide the credential from the upstream service. If `true`, the plugin strips the credential from the request."},
			{Name: "anonymous", Type: schema.String,
				Description: "An optional string (consumer UUID or username) value to use as an “anonymous” consumer if authentication fails. If empty (default null), the request will fail with an authentication failure `4xx`."},
			{Name: "key_in_header", Type: schema.Boolean, Required: true, Default: true,
				Description: "If enabled (default), the plugin reads the request header and tries to find the key in it."},
			{Name: "key_in_query", Type: schema.Boolean, Required: true, Default: true,
				Description: "If enabled (default), the plugin reads the query parameter in the request and tries to find the key in it."},
			{Name: "key_in_body", Type: schema.Boolean, Required: true, Default: false,
				Description: "If enabled, the plugin reads the request body. Supported MIME types: `application/www-form-urlencoded`, `application/json`, and `multipart/form-data`."},
			{Name: "run_on_preflight", Type: schema.Boolean, Required: true, Default: true,
				Description: "A boolean value that indicates whether the plugin should run (and try to authenticate) on `OPTIONS` preflight requests. If set to `false`, then `OPTIONS` requests are always allowed."},
			{Name: "realm", Type: schema.String,
				Description: "When authentication fails the plugin sends `WWW-Authenticate` header with `realm` attribute value."},
		}},
	}
}
