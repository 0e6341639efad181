package httplog

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

func between(lo, hi float64) *[2]float64 { return &[2]float64{lo, hi} }

// QueueField is Kong 3.9's typedefs.queue (kong/tools/queue_schema.lua),
// the queue record the log plugins share.
func QueueField() *schema.Field {
	return &schema.Field{Name: "queue", Type: schema.Record, Fields: []*schema.Field{
		{Name: "max_batch_size", Type: schema.Integer, Default: int64(1), Between: between(1, 1000000),
			Description: "Maximum number of entries that can be processed at a time."},
		{Name: "max_coalescing_delay", Type: schema.Number, Default: float64(1), Between: between(0, 3600),
			Description: "Maximum number of (fractional) seconds to elapse after the first entry was queued before the queue starts calling the handler."},
		{Name: "max_entries", Type: schema.Integer, Default: int64(10000), Between: between(1, 1000000),
			Description: "Maximum number of entries that can be waiting on the queue."},
		{Name: "max_bytes", Type: schema.Integer,
			Description: "Maximum number of bytes that can be waiting on a queue, requires string content."},
		{Name: "max_retry_time", Type: schema.Number, Default: float64(60),
			Description: "Time in seconds before the queue gives up calling a failed handler for a batch."},
		{Name: "initial_retry_delay", Type: schema.Number, Default: 0.01, Between: between(0.001, 1000000),
			Description: "Time in seconds before the initial retry is made for a failing batch."},
		{Name: "max_retry_delay", Type: schema.Number, Default: float64(60), Between: between(0.001, 1000000),
			Description: "Maximum time in seconds between retries, caps exponential backoff."},
		{Name: "concurrency_limit", Type: schema.Integer, Default: int64(1), OneOf: []any{int64(-1), int64(1)},
			Description: "The number of of queue delivery timers. -1 indicates unlimited."},
	}}
}

// ValidatorLuaExpression names typedefs.lua_code's value validator (Kong's
// validate_lua_expression). Gatehouse's native log plugins run no Lua, so
// it refuses every expression with ErrLuaFields' message: a configuration
// asking for Lua fields is refused when written, never silently ignored.
const ValidatorLuaExpression = "lua_expression"

func init() {
	schema.RegisterValidator(ValidatorLuaExpression, func(any) string { return ErrLuaFields.Error() })
	schema.RegisterRecordValidator(Name, checkConfig)
}

// LuaCodeField is typedefs.lua_code named custom_fields_by_lua: a map of
// log field names to Lua expressions (desc "" keeps the typedef's).
func LuaCodeField(desc string) *schema.Field {
	if desc == "" {
		desc = "Lua code as a key-value map"
	}
	return &schema.Field{Name: "custom_fields_by_lua", Type: schema.Map, Description: desc,
		Keys:   &schema.Field{Type: schema.String, LenMin: 1},
		Values: &schema.Field{Type: schema.String, LenMin: 1, Validator: ValidatorLuaExpression}}
}

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/http-log/schema.lua. Protocols are typedefs.protocols.
func Schema() *store.PluginSchema {
	endpoint := store.URLField("http_endpoint")
	endpoint.Required, endpoint.Encrypted, endpoint.Referenceable = true, true, true
	endpoint.Description = "A string representing a URL, such as https://example.com/path/to/resource?q=search."
	headerName := store.HeaderNameField("")
	headerName.Description = "A string representing an HTTP header name."
	headerName.MatchNone = []schema.PatternRule{
		{Pattern: "^[Hh][Oo][Ss][Tt]$", Err: "cannot contain 'Host' header"},
		{Pattern: "^[Cc][Oo][Nn][Tt][Ee][Nn][Tt]%-[Ll][Ee][nn][Gg][Tt][Hh]$", Err: "cannot contain 'Content-Length' header"},
		{Pattern: "^[Cc][Oo][Nn][Tt][Ee][Nn][Tt]%-[Tt][Yy][Pp][Ee]$", Err: "cannot contain 'Content-Type' header"},
	}
	cfg := &schema.Schema{Fields: []*schema.Field{
		endpoint,
		{Name: "method", Type: schema.String, Default: "POST", OneOf: []any{"POST", "PUT", "PATCH"},
			Description: "An optional method used to send data to the HTTP server. Supported values are `POST` (default), `PUT`, and `PATCH`."},
		{Name: "content_type", Type: schema.String, Default: "application/json",
			OneOf:       []any{"application/json", "application/json; charset=utf-8"},
			Description: "Indicates the type of data sent. The only available option is `application/json`."},
		{Name: "timeout", Type: schema.Number, Default: float64(10000),
			Description: "An optional timeout in milliseconds when sending data to the upstream server."},
		{Name: "keepalive", Type: schema.Number, Default: float64(60000),
			Description: "An optional value in milliseconds that defines how long an idle connection will live before being closed."},
		{Name: "retry_count", Type: schema.Integer,
			Deprecation: &schema.Deprecation{Message: "http-log: config.retry_count no longer works, please use config.queue.max_retry_time instead", RemovalInVersion: "4.0", OldDefault: int64(10)},
			Description: "Number of times to retry when sending data to the upstream server."},
		{Name: "queue_size", Type: schema.Integer,
			Deprecation: &schema.Deprecation{Message: "http-log: config.queue_size is deprecated, please use config.queue.max_batch_size instead", RemovalInVersion: "4.0", OldDefault: int64(1)},
			Description: "Maximum number of log entries to be sent on each message to the upstream server."},
		{Name: "flush_timeout", Type: schema.Number,
			Deprecation: &schema.Deprecation{Message: "http-log: config.flush_timeout is deprecated, please use config.queue.max_coalescing_delay instead", RemovalInVersion: "4.0", OldDefault: float64(2)},
			Description: "Optional time in seconds. If `queue_size` > 1, this is the max idle time before sending a log with less than `queue_size` records."},
		{Name: "headers", Type: schema.Map, Keys: headerName,
			Values:      &schema.Field{Type: schema.String, Referenceable: true},
			Description: "An optional table of headers included in the HTTP message to the upstream server. Values are indexed by header name, and each header name accepts a single string."},
		QueueField(),
		LuaCodeField(""),
	}}
	// Kong's custom_validator: no Authorization header with user info.
	cfg.AddEntityChecks("config", schema.EntityCheck{Validator: Name})
	return &store.PluginSchema{Name: Name, Config: cfg}
}
