package requestsizelimiting

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/request-size-limiting/schema.lua.
func Schema() *store.PluginSchema {
	return &store.PluginSchema{
		Name:          Name,
		OnlyProtocols: store.HTTPProtocols, // typedefs.protocols_http
		Config: &schema.Schema{Fields: []*schema.Field{
			{Name: "allowed_payload_size", Type: schema.Integer, Default: int64(128),
				Description: "Allowed request payload size in megabytes. Default is `128` megabytes (128000000 bytes)."},
			{Name: "size_unit", Type: schema.String, Required: true, Default: "megabytes", OneOf: []any{"megabytes", "kilobytes", "bytes"},
				Description: "Size unit can be set either in `bytes`, `kilobytes`, or `megabytes` (default). This configuration is not available in versions prior to Kong Gateway 1.3 and Kong Gateway (OSS) 2.0."},
			{Name: "require_content_length", Type: schema.Boolean, Required: true, Default: false,
				Description: "Set to `true` to ensure a valid `Content-Length` header exists before reading the request body."},
		}},
	}
}
