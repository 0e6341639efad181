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
		{Name: "rules", Type: schema.Array, Required: true, Default: []any{}, Elements: ruleField(),
			Description: "Request rules, in order; deny rules are evaluated before alert rules. The first deny rule a request violates ends it (403, 413 for max_body_size); alert rules record an event and let it through."},
	}}
	return &store.PluginSchema{
		Name:          Name,
		OnlyProtocols: store.HTTPProtocols,
		NoConsumer:    true,
		Config:        cfg,
	}
}

// filterLimit is a rule filter's limit: -1, 0 or absent is unlimited.
func filterLimit(name, desc string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Integer,
		Between: &[2]float64{-1, 1 << 40}, Description: desc + " -1, 0 or absent: unlimited."}
}

// ruleField is one element of rules.
func ruleField() *schema.Field {
	jsonFields := []*schema.Field{
		filterLimit("max_container_depth", "Nesting of objects and arrays (the outermost is depth 1)."),
		filterLimit("max_object_entries", "Members of one object."),
		filterLimit("max_entry_name_length", "Characters of a member name."),
		filterLimit("max_array_elements", "Elements of one array."),
		filterLimit("max_string_length", "Characters of a string value."),
	}
	xmlFields := []*schema.Field{
		filterLimit("max_namespace_prefix_length", "Characters of a namespace prefix."),
		filterLimit("max_namespace_uri_length", "Characters of a namespace URI."),
		filterLimit("max_namespaces_per_element", "Namespace declarations on one element."),
		filterLimit("max_child_count", "Child elements of one element."),
		filterLimit("max_element_name_length", "Characters of an element name."),
		filterLimit("max_node_depth", "Element nesting (the root is depth 1)."),
		filterLimit("max_attribute_name_length", "Characters of an attribute name."),
		filterLimit("max_attribute_value_length", "Characters of an attribute value."),
		filterLimit("max_attributes_per_element", "Attributes of one element."),
		filterLimit("max_text_length", "Characters of a text node."),
		filterLimit("max_comment_length", "Characters of a comment."),
		filterLimit("max_pi_target_length", "Characters of a processing instruction's target."),
		filterLimit("max_pi_data_length", "Characters of a processing instruction's data."),
	}
	return &schema.Field{Type: schema.Record, Fields: []*schema.Field{
		{Name: "name", Type: schema.String, Required: true, LenMin: 1, LenMax: 128, Description: "The rule's name, in its events."},
		{Name: "action", Type: schema.String, OneOf: []any{"deny", "alert"},
			Description: "`deny` (absent: deny) ends a violating request; `alert` records the event and lets it through."},
		{Name: "message", Type: schema.String, LenMin: 1,
			Description: "The message of a denial (and of the event); absent: `Request blocked by threat protection`."},
		{Name: "paths", Type: schema.Array, Elements: &schema.Field{Type: schema.String, LenMin: 1},
			Description: "Request paths the rule applies to, `*` matching any characters; empty: every path."},
		{Name: "filters", Type: schema.Record, Required: true, Fields: []*schema.Field{
			{Name: "max_body_size", Type: schema.Integer, Between: &[2]float64{-1, 1 << 50},
				Description: "Bytes of the request body; a larger one is denied with 413. -1, 0 or absent: unlimited."},
			{Name: "json", Type: schema.Record, Fields: jsonFields,
				Description: "Limits of a JSON body (application/json or +json), checked as it streams; malformed JSON violates."},
			{Name: "xml", Type: schema.Record, Fields: xmlFields,
				Description: "Limits of an XML body (application/xml, text/xml or +xml), checked as it streams; malformed XML and DTDs violate."},
			{Name: "sql_injection", Type: schema.Record, Fields: []*schema.Field{
				{Name: "parameters", Type: schema.Array, Elements: &schema.Field{Type: schema.String},
					Description: "Parameter names checked; empty: every query, form and JSON parameter."},
			}, Description: "Denies SQL injection in request parameters."},
			{Name: "require_credential", Type: schema.Boolean,
				Description: "The request must carry a credential (an Authorization header, or an apikey header or query argument)."},
		}},
	}}
}
