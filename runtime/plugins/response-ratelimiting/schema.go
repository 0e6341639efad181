package responseratelimiting

import (
	"fmt"
	"github.com/gatehouse/gatehouse/runtime/plugins/ratecounter"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

var orderedPeriods = []string{"second", "minute", "hour", "day", "month", "year"}

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/response-ratelimiting/schema.lua (database mode, so the
// policy may be cluster), with the shared redis record of
// kong/tools/redis/schema.lua. The limits' custom validator is the record
// validator "response-ratelimiting". The deprecated redis_* shorthand
// fields are not accepted.
func Schema() *store.PluginSchema {
	period := func(name string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Number, Gt: schema.Float(0)}
	}
	cfg := &schema.Schema{
		Fields: []*schema.Field{
			{Name: "header_name", Type: schema.String, Default: "x-kong-limit",
				Description: "The name of the response header used to increment the counters."},
			{Name: "limit_by", Type: schema.String, Default: "consumer", OneOf: []any{"consumer", "credential", "ip"},
				Description: "The entity that will be used when aggregating the limits: `consumer`, `credential`, `ip`. If the `consumer` or the `credential` cannot be determined, the system will always fallback to `ip`."},
			{Name: "policy", Type: schema.String, Default: "local", OneOf: []any{"local", "cluster", "redis"},
				Description: "The rate-limiting policies to use for retrieving and incrementing the limits."},
			{Name: "fault_tolerant", Type: schema.Boolean, Required: true, Default: true,
				Description: "A boolean value that determines if the requests should be proxied even if Kong has troubles connecting a third-party datastore. If `true`, requests will be proxied anyway, effectively disabling the rate-limiting function until the datastore is working again. If `false`, then the clients will see `500` errors."},
			ratecounter.RedisRecord(),
			{Name: "block_on_first_violation", Type: schema.Boolean, Required: true, Default: false,
				Description: "A boolean value that determines if the requests should be blocked as soon as one limit is being exceeded. This will block requests that are supposed to consume other limits too."},
			{Name: "hide_client_headers", Type: schema.Boolean, Required: true, Default: false,
				Description: "Optionally hide informative response headers."},
			{Name: "limits", Type: schema.Map, Required: true, LenMin: 1,
				Description: "A map that defines rate limits for the plugin.",
				Keys:        &schema.Field{Type: schema.String},
				Values: &schema.Field{Type: schema.Record, Required: true, Fields: []*schema.Field{
					period("second"), period("minute"), period("hour"), period("day"), period("month"), period("year"),
				}, EntityChecks: []schema.EntityCheck{
					{Validator: Name},
					{AtLeastOneOf: orderedPeriods},
				}},
			},
		},
	}
	required := &schema.Field{Required: true}
	when := func(thenField string) schema.EntityCheck {
		return schema.EntityCheck{Conditional: &schema.ConditionalCheck{
			IfField: "config.policy", IfMatch: &schema.Field{Eq: "redis"}, ThenField: thenField, ThenMatch: required}}
	}
	cfg.AddEntityChecks("config", when("config.redis.host"), when("config.redis.port"), when("config.redis.timeout"))
	return &store.PluginSchema{
		Name:          Name,
		OnlyProtocols: store.HTTPProtocols, // typedefs.protocols_http
		Config:        cfg,
	}
}

func init() { schema.RegisterRecordValidator(Name, checkPeriodsOrder) }

// checkPeriodsOrder is Kong's validate_periods_order for one limit.
func checkPeriodsOrder(c map[string]any) []string {
	for i, lower := range orderedPeriods {
		v1, ok := c[lower].(float64)
		if !ok {
			continue
		}
		for _, upper := range orderedPeriods[i+1:] {
			if v2, ok := c[upper].(float64); ok && v2 < v1 {
				return []string{fmt.Sprintf("the limit for %s(%.1f) cannot be lower than the limit for %s(%.1f)", upper, v2, lower, v1)}
			}
		}
	}
	return nil
}
