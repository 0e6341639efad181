package redirect

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/redirect/schema.lua.
func Schema() *store.PluginSchema {
	location := store.URLField("location") // typedefs.url
	location.Required = true
	location.Description = "The URL to redirect to"
	return &store.PluginSchema{
		Name:          Name,
		OnlyProtocols: store.HTTPProtocols, // typedefs.protocols_http
		Config: &schema.Schema{Fields: []*schema.Field{
			{Name: "status_code", Type: schema.Integer, Required: true, Default: int64(301), Between: schema.Range(100, 599),
				Description: "The response code to send. Must be an integer between 100 and 599."},
			location,
			{Name: "keep_incoming_path", Type: schema.Boolean, Default: false,
				Description: "Use the incoming request's path and query string in the redirect URL"},
		}},
	}
}
