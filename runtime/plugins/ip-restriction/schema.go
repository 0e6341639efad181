package iprestriction

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/ip-restriction/schema.lua (typedefs.ip_or_cidr elements,
// at least one of allow and deny).
func Schema() *store.PluginSchema {
	list := func(name, desc string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Array, Description: desc,
			Elements: &schema.Field{Type: schema.String, Validator: "ip_or_cidr"}}
	}
	cfg := &schema.Schema{Fields: []*schema.Field{
		list("allow", "List of IPs or CIDR ranges to allow. One of `config.allow` or `config.deny` must be specified."),
		list("deny", "List of IPs or CIDR ranges to deny. One of `config.allow` or `config.deny` must be specified."),
		{Name: "status", Type: schema.Number, Description: "The HTTP status of the requests that will be rejected by the plugin."},
		{Name: "message", Type: schema.String, Description: "The message to send as a response body to rejected requests."},
	}}
	cfg.AddEntityChecks("config", schema.EntityCheck{AtLeastOneOf: []string{"config.allow", "config.deny"}})
	return &store.PluginSchema{
		Name:      Name,
		Config:    cfg,
		Protocols: []string{"http", "https", "tcp", "tls", "grpc", "grpcs"},
	}
}
