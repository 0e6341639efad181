package threatprotection

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// unlimited is the default of every limit: -1 (or absent) is unlimited.
const unlimited = int64(-1)

func limit(name, desc string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Integer, Required: true, Default: unlimited,
		Between: &[2]float64{-1, 1 << 40}, Description: desc + " -1: unlimited."}
}

func limitsFields(scope string, extra ...*schema.Field) []*schema.Field {
	fs := []*schema.Field{
		limit("max_requests", "Requests allowed "+scope+" per `window` seconds; the next one is denied with 429."),
		{Name: "window", Type: schema.Integer, Required: true, Default: int64(60), Between: &[2]float64{1, 86400},
			Description: "The window of `max_requests`, in seconds; a window starts at its first request."},
		limit("max_in_progress", "Requests "+scope+" in progress at once; one more is denied with 429."),
		{Name: "block_seconds", Type: schema.Integer, Required: true, Default: int64(0), Between: &[2]float64{0, 31536000},
			Description: "How long requests stay denied after `max_requests` was exceeded (0: for the rest of the window)."},
		{Name: "message", Type: schema.String, Required: true, Default: "Too many requests", LenMin: 1,
			Description: "The body message of a denied request."},
		{Name: "trusted_cidrs", Type: schema.Array, Required: true, Default: []any{},
			Elements:    &schema.Field{Type: schema.String, Validator: "ip_or_cidr"},
			Description: "Client addresses or CIDR ranges (IPv4 or IPv6) never counted nor blocked."},
	}
	return append(fs, extra...)
}

// Schema returns the plugin's configuration schema (issue 13's names are
// the contract).
func Schema() *store.PluginSchema {
	cfg := &schema.Schema{Fields: []*schema.Field{
		{Name: "dos", Type: schema.Record, Required: true, Fields: limitsFields("in all"),
			Description: "Denial of service limits over every request the instance sees."},
		{Name: "dos_by_ip", Type: schema.Record, Required: true, Fields: limitsFields("per client IP",
			&schema.Field{Name: "action", Type: schema.String, Required: true, Default: "block", OneOf: []any{"block", "deny_list"},
				Description: "`block`: deny the IP for `block_seconds`; `deny_list`: also add it to `/denied-ips` (expiring after `block_seconds` when set)."}),
			Description: "Denial of service limits per client IP (as `trusted_ips` and `real_ip_header` compute it)."},
		{Name: "auth_lockout", Type: schema.Record, Required: true, Fields: []*schema.Field{
			limit("max_failures", "Failed authentications (401 or 403 ended by a plugin) per `window` seconds per client IP that lock it out with 403."),
			{Name: "window", Type: schema.Integer, Required: true, Default: int64(60), Between: &[2]float64{1, 86400},
				Description: "The window of `max_failures`, in seconds."},
			{Name: "block_seconds", Type: schema.Integer, Required: true, Default: int64(300), Between: &[2]float64{1, 31536000},
				Description: "How long a locked-out IP is denied."},
			{Name: "message", Type: schema.String, Required: true, Default: "Too many failed authentication attempts", LenMin: 1,
				Description: "The body message of a locked-out request."},
		}, Description: "Locks out client IPs that fail authentication too often."},
	}}
	return &store.PluginSchema{
		Name:          Name,
		OnlyProtocols: store.HTTPProtocols,
		NoConsumer:    true,
		Config:        cfg,
	}
}
