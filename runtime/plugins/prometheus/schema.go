package prometheus

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/prometheus/schema.lua. Protocols are typedefs.protocols
// (the plugin entity's default, every protocol accepted).
func Schema() *store.PluginSchema {
	flag := func(name, desc string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Boolean, Default: false, Description: desc}
	}
	return &store.PluginSchema{
		Name: Name,
		Config: &schema.Schema{Fields: []*schema.Field{
			flag("per_consumer", "A boolean value that determines if per-consumer metrics should be collected. If enabled, the `kong_http_requests_total` and `kong_bandwidth_bytes` metrics fill in the consumer label when available."),
			flag("status_code_metrics", "A boolean value that determines if status code metrics should be collected. If enabled, `http_requests_total`, `stream_sessions_total` metrics will be exported."),
			flag("ai_metrics", "A boolean value that determines if ai metrics should be collected. If enabled, the `ai_llm_requests_total`, `ai_llm_cost_total` and `ai_llm_tokens_total` metrics will be exported."),
			flag("latency_metrics", "A boolean value that determines if latency metrics should be collected. If enabled, `kong_latency_ms`, `upstream_latency_ms` and `request_latency_ms` metrics will be exported."),
			flag("bandwidth_metrics", "A boolean value that determines if bandwidth metrics should be collected. If enabled, `bandwidth_bytes` and `stream_sessions_total` metrics will be exported."),
			flag("upstream_health_metrics", "A boolean value that determines if upstream metrics should be collected. If enabled, `upstream_target_health` metric will be exported."),
			flag("wasm_metrics", "A boolean value that determines if Wasm metrics should be collected."),
		}},
	}
}
