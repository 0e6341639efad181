package acl

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Schema returns the plugin's configuration schema: Kong's
// kong/plugins/acl/schema.lua (allow or deny, only one of them;
// typedefs.no_consumer; protocols_http), with Kong Enterprise's
// include_consumer_groups, plus Gatehouse's `policy`: the name of a stored
// policy whose `allow` rule replaces the shipped acl rule.
func Schema() *store.PluginSchema {
	list := func(name, desc string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Array, Description: desc,
			Elements: &schema.Field{Type: schema.String}}
	}
	cfg := &schema.Schema{Fields: []*schema.Field{
		list("allow", "Arbitrary group names that are allowed to consume the service or route. One of `config.allow` or `config.deny` must be specified."),
		list("deny", "Arbitrary group names that are not allowed to consume the service or route. One of `config.allow` or `config.deny` must be specified."),
		{Name: "hide_groups_header", Type: schema.Boolean, Required: true, Default: false,
			Description: "If enabled (`true`), prevents the `X-Consumer-Groups` header from being sent in the request to the upstream service."},
		{Name: "always_use_authenticated_groups", Type: schema.Boolean, Required: true, Default: false,
			Description: "If enabled (`true`), the authenticated groups will always be used even when an authenticated consumer already exists. If the authenticated groups don't exist, it will fallback to use the groups associated with the consumer. By default the authenticated groups will only be used when there is no consumer or the consumer is anonymous."},
		{Name: "include_consumer_groups", Type: schema.Boolean, Required: true, Default: false,
			Description: "If enabled (`true`), allows the consumer-groups to be used in the `allow|deny` fields"},
		{Name: "policy", Type: schema.String, LenMin: 1,
			Description: "The name of a stored policy (`/policies`) whose `allow` rule decides instead of the allow/deny rule. Its input holds the consumer, its groups, the request and this configuration."},
	}}
	cfg.AddEntityChecks("config",
		schema.EntityCheck{OnlyOneOf: []string{"config.allow", "config.deny"}},
		schema.EntityCheck{AtLeastOneOf: []string{"config.allow", "config.deny"}},
	)
	return &store.PluginSchema{
		Name:          Name,
		OnlyProtocols: store.HTTPProtocols,
		NoConsumer:    true,
		Config:        cfg,
	}
}
