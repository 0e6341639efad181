package proxycache

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/proxy-cache/schema.lua. Its custom entity check refuses a
// memory dictionary_name that is not one of the node's shared
// dictionaries, with Kong's message.
func Schema() *store.PluginSchema {
	flag := func(name string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Boolean, Default: true}
	}
	cfg := &schema.Schema{Fields: []*schema.Field{
		{Name: "response_code", Type: schema.Array, Required: true, Default: []any{int64(200), int64(301), int64(404)}, LenMin: 1,
			Description: "Upstream response status code considered cacheable.",
			Elements:    &schema.Field{Type: schema.Integer, Between: schema.Range(100, 900)}},
		{Name: "request_method", Type: schema.Array, Required: true, Default: []any{"GET", "HEAD"},
			Description: "Downstream request methods considered cacheable.",
			Elements:    &schema.Field{Type: schema.String, OneOf: []any{"HEAD", "GET", "POST", "PATCH", "PUT"}}},
		{Name: "content_type", Type: schema.Array, Required: true, Default: []any{"text/plain", "application/json"},
			Description: "Upstream response content types considered cacheable. The plugin performs an **exact match** against each specified value.",
			Elements:    &schema.Field{Type: schema.String}},
		{Name: "cache_ttl", Type: schema.Integer, Default: int64(300), Gt: schema.Float(0),
			Description: "TTL, in seconds, of cache entities."},
		{Name: "strategy", Type: schema.String, Required: true, OneOf: []any{"memory"},
			Description: "The backing data store in which to hold cache entities."},
		{Name: "cache_control", Type: schema.Boolean, Required: true, Default: false,
			Description: "When enabled, respect the Cache-Control behaviors defined in RFC7234."},
		{Name: "ignore_uri_case", Type: schema.Boolean, Default: false},
		{Name: "storage_ttl", Type: schema.Integer,
			Description: "Number of seconds to keep resources in the storage backend. This value is independent of `cache_ttl` or resource TTLs defined by Cache-Control behaviors."},
		{Name: "memory", Type: schema.Record, Fields: []*schema.Field{
			{Name: "dictionary_name", Type: schema.String, Required: true, Default: "kong_db_cache",
				Description: "The name of the shared dictionary in which to hold cache entities when the memory strategy is selected. Note that this dictionary currently must be defined manually in the Kong Nginx template."},
		}},
		{Name: "vary_query_params", Type: schema.Array, Elements: &schema.Field{Type: schema.String},
			Description: "Relevant query parameters considered for the cache key. If undefined, all params are taken into consideration."},
		{Name: "vary_headers", Type: schema.Array, Elements: &schema.Field{Type: schema.String},
			Description: "Relevant headers considered for the cache key. If undefined, none of the headers are taken into consideration."},
		{Name: "response_headers", Type: schema.Record, Description: "Caching related diagnostic headers that should be included in cached responses",
			Fields: []*schema.Field{flag("age"), flag("X-Cache-Status"), flag("X-Cache-Key")}},
	}}
	cfg.AddEntityChecks("config", schema.EntityCheck{Validator: Name})
	return &store.PluginSchema{Name: Name, Config: cfg} // typedefs.protocols: every protocol
}

func init() { schema.RegisterRecordValidator(Name, checkConfig) }

// checkConfig is the schema's custom_entity_check: with the memory
// strategy, the dictionary must exist.
func checkConfig(c map[string]any) []string {
	if c["strategy"] != "memory" {
		return nil
	}
	mem, _ := c["memory"].(map[string]any)
	name, _ := mem["dictionary_name"].(string)
	if !IsDictionary(name) {
		return []string{"missing shared dict '" + name + "'"}
	}
	return nil
}
