package botdetection

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/bot-detection/schema.lua (no consumer scope, HTTP only).
func Schema() *store.PluginSchema {
	list := func(name, desc string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Array, Default: []any{}, Description: desc,
			Elements: &schema.Field{Type: schema.String, IsRegex: true}}
	}
	return &store.PluginSchema{
		Name:          Name,
		NoConsumer:    true,
		OnlyProtocols: store.HTTPProtocols,
		Config: &schema.Schema{Fields: []*schema.Field{
			list("allow", "An array of regular expressions that should be allowed. The regular expressions will be checked against the `User-Agent` header."),
			list("deny", "An array of regular expressions that should be denied. The regular expressions will be checked against the `User-Agent` header."),
		}},
	}
}
