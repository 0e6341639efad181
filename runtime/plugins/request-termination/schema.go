package requesttermination

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/request-termination/schema.lua. Kong's custom validator of
// the config record is the record validator "request-termination".
func Schema() *store.PluginSchema {
	trigger := store.HeaderNameField("trigger")
	trigger.Description = "A string representing an HTTP header name."
	cfg := &schema.Schema{Fields: []*schema.Field{
		{Name: "status_code", Type: schema.Integer, Required: true, Default: int64(503), Between: schema.Range(100, 599),
			Description: "The response code to send. Must be an integer between 100 and 599."},
		{Name: "message", Type: schema.String, Description: "The message to send, if using the default response generator."},
		{Name: "content_type", Type: schema.String, Description: "Content type of the raw response configured with `config.body`."},
		{Name: "body", Type: schema.String, Description: "The raw response body to send. This is mutually exclusive with the `config.message` field."},
		{Name: "echo", Type: schema.Boolean, Required: true, Default: false,
			Description: "When set, the plugin will echo a copy of the request back to the client. The main usecase for this is debugging. It can be combined with `trigger` in order to debug requests on live systems without disturbing real traffic."},
		trigger,
	}}
	cfg.AddEntityChecks("config", schema.EntityCheck{Validator: Name})
	return &store.PluginSchema{
		Name:          Name,
		OnlyProtocols: store.HTTPProtocols, // typedefs.protocols_http
		Config:        cfg,
	}
}

func init() { schema.RegisterRecordValidator(Name, checkConfig) }

func present(v any) bool {
	s, ok := v.(string)
	return ok && s != ""
}

// checkConfig is Kong's custom validator: message excludes content_type
// and body, content_type needs a body, echo excludes both.
func checkConfig(c map[string]any) []string {
	switch {
	case present(c["message"]) && (present(c["content_type"]) || present(c["body"])):
		return []string{"message cannot be used with content_type or body"}
	case present(c["content_type"]) && !present(c["body"]):
		return []string{"content_type requires a body"}
	case c["echo"] == true && (present(c["content_type"]) || present(c["body"])):
		return []string{"echo cannot be used with content_type and body"}
	}
	return nil
}
