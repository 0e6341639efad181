package basicauth

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/basic-auth/schema.lua. The plugin cannot be scoped to a
// consumer (typedefs.no_consumer); protocols default to Kong's
// protocols_http: grpc, grpcs, http and https, the default and the only
// protocols accepted.
func Schema() *store.PluginSchema {
	return &store.PluginSchema{
		Name:          Name,
		OnlyProtocols: store.HTTPProtocols, // typedefs.protocols_http
		NoConsumer:    true,
		Config: &schema.Schema{Fields: []*schema.Field{
			{Name: "anonymous", Type: schema.String,
				Description: "An optional string (Consumer UUID or username) value to use as an “anonymous” consumer if authentication fails. If empty (default null), the request will fail with an authentication failure `4xx`. Please note that this value must refer to the Consumer `id` or `username` attribute, and **not** its `custom_id`."},
			{Name: "hide_credentials", Type: schema.Boolean, Required: true, Default: false,
				Description: "An optional boolean value telling the plugin to show or hide the credential from the upstream service. If `true`, the plugin will strip the credential from the request (i.e. the `Authorization` header) before proxying it."},
			{Name: "realm", Type: schema.String, Required: true, Default: "service",
				Description: "When authentication fails the plugin sends `WWW-Authenticate` header with `realm` attribute value."},
		}},
	}
}
