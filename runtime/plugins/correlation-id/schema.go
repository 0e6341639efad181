package correlationid

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/correlation-id/schema.lua.
func Schema() *store.PluginSchema {
	return &store.PluginSchema{
		Name:          Name,
		OnlyProtocols: store.HTTPProtocols, // typedefs.protocols_http
		Config: &schema.Schema{Fields: []*schema.Field{
			{Name: "header_name", Type: schema.String, Default: "Kong-Request-ID",
				Description: "The HTTP header name to use for the correlation ID."},
			{Name: "generator", Type: schema.String, Required: true, Default: "uuid#counter",
				OneOf:       []any{"uuid", "uuid#counter", "tracker"},
				Description: "The generator to use for the correlation ID. Accepted values are `uuid`, `uuid#counter`, and `tracker`. See [Generators](#generators)."},
			{Name: "echo_downstream", Type: schema.Boolean, Required: true, Default: false,
				Description: "Whether to echo the header back to downstream (the client)."},
		}},
	}
}
