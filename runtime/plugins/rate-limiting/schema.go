package ratelimiting

import (
	"fmt"
	"github.com/gatehouse/gatehouse/runtime/plugins/ratecounter"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/rate-limiting/schema.lua, with the shared redis record of
// kong/tools/redis/schema.lua, declared with Kong's public typedefs. Kong's
// custom validator is the record validator "rate-limiting" (it runs first
// and, failing, ends the checks), followed by Kong's entity checks as data.
// The deprecated redis_* shorthand fields are not accepted.
func Schema() *store.PluginSchema {
	limit := func(name, what string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Number, Gt: schema.Float(0),
			Description: "The number of HTTP requests that can be made per " + what + "."}
	}
	cfg := &schema.Schema{
		Fields: []*schema.Field{
			limit("second", "second"),
			limit("minute", "minute"),
			limit("hour", "hour"),
			limit("day", "day"),
			limit("month", "month"),
			limit("year", "year"),
			{Name: "limit_by", Type: schema.String, Default: "consumer",
				OneOf:       []any{"consumer", "credential", "ip", "service", "header", "path"},
				Description: "The entity that is used when aggregating the limits."},
			describe(store.HeaderNameField("header_name"), "A string representing an HTTP header name."),
			describe(store.PathField("path"), "A string representing a URL path, such as /path/to/resource. Must start with a forward slash (/) and must not contain empty segments (i.e., two consecutive forward slashes)."),
			{Name: "policy", Type: schema.String, Default: "local", OneOf: []any{"local", "cluster", "redis"},
				Description: "The rate-limiting policies to use for retrieving and incrementing the limits."},
			{Name: "fault_tolerant", Type: schema.Boolean, Required: true, Default: true,
				Description: "A boolean value that determines if the requests should be proxied even if Kong has troubles connecting a third-party data store. If `true`, requests will be proxied anyway, effectively disabling the rate-limiting function until the data store is working again. If `false`, then the clients will see `500` errors."},
			ratecounter.RedisRecord(),
			{Name: "hide_client_headers", Type: schema.Boolean, Required: true, Default: false,
				Description: "Optionally hide informative response headers."},
			{Name: "error_code", Type: schema.Number, Default: float64(429), Gt: schema.Float(0),
				Description: "Set a custom error code to return when the rate limit is exceeded."},
			{Name: "error_message", Type: schema.String, Default: "API rate limit exceeded",
				Description: "Set a custom error message to return when the rate limit is exceeded."},
			{Name: "sync_rate", Type: schema.Number, Required: true, Default: float64(-1),
				Description: "How often to sync counter data to the central data store. A value of -1 results in synchronous behavior."},
		},
	}
	required := &schema.Field{Required: true}
	when := func(ifField, value, thenField string) schema.EntityCheck {
		return schema.EntityCheck{Conditional: &schema.ConditionalCheck{
			IfField: ifField, IfMatch: &schema.Field{Eq: value}, ThenField: thenField, ThenMatch: required}}
	}
	cfg.AddEntityChecks("config",
		schema.EntityCheck{Validator: Name},
		schema.EntityCheck{AtLeastOneOf: []string{"config.second", "config.minute", "config.hour", "config.day", "config.month", "config.year"}},
		when("config.policy", "redis", "config.redis.host"),
		when("config.policy", "redis", "config.redis.port"),
		when("config.policy", "redis", "config.redis.timeout"),
		when("config.limit_by", "header", "config.header_name"),
		when("config.limit_by", "path", "config.path"),
	)
	return &store.PluginSchema{
		Name:          Name,
		OnlyProtocols: store.HTTPProtocols, // typedefs.protocols_http
		Config:        cfg,
	}
}

func init() { schema.RegisterRecordValidator(Name, checkConfig) }

func describe(f *schema.Field, d string) *schema.Field {
	f.Description = d
	return f
}

var periodOrder = []string{"second", "minute", "hour", "day", "month", "year"}

// checkConfig is Kong's validate_periods_order custom validator, with the
// sync_rate rules of the schema's custom validation.
func checkConfig(c map[string]any) []string {
	// validate_periods_order
	for i, lower := range periodOrder {
		v1, ok := c[lower].(float64)
		if !ok {
			continue
		}
		for _, upper := range periodOrder[i+1:] {
			if v2, ok := c[upper].(float64); ok && v2 < v1 {
				return []string{fmt.Sprintf("The limit for %s(%.1f) cannot be lower than the limit for %s(%.1f)", upper, v2, lower, v1)}
			}
		}
	}
	policy, _ := c["policy"].(string)
	syncRate, ok := c["sync_rate"].(float64)
	// Kong batches only the redis policy; Gatehouse batches the cluster
	// policy too (its counters live in the database), so sync_rate is
	// refused with the local policy alone, with Kong's message.
	if ok && policy != "redis" && policy != "cluster" && syncRate != -1 {
		return []string{"sync_rate can only be used with the redis policy"}
	}
	if ok && policy != "local" && syncRate != -1 && syncRate < 0.02 {
		return []string{"sync_rate must be greater than 0.02, or -1 to disable"}
	}
	return nil
}
