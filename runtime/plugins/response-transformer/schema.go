package responsetransformer

import (
	"github.com/gatehouse/gatehouse/runtime/plugins/pluginkit"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/response-transformer/schema.lua.
func Schema() *store.PluginSchema {
	return &store.PluginSchema{
		Name:          Name,
		OnlyProtocols: store.HTTPProtocols, // typedefs.protocols_http
		Config: &schema.Schema{Fields: []*schema.Field{
			{Name: "remove", Type: schema.Record, Fields: []*schema.Field{
				stringArray("json", "", ""), stringArray("headers", "", "")}},
			{Name: "rename", Type: schema.Record, Fields: []*schema.Field{
				stringArray("json", colonPair, ""), stringArray("headers", colonPair, validateColonHeaders)}},
			colonRecord("replace"),
			colonRecord("add"),
			colonRecord("append"),
		}},
	}
}

// colonPair is Kong's colon_string_array pattern (a Lua pattern):
// "name:value".
const colonPair = "^[^:]+:.*$"

// validateColonHeaders names Kong's validate_colon_headers: both sides of
// a rename are header names.
const validateColonHeaders = Name + ".validate_colon_headers"

func init() { schema.RegisterValidator(validateColonHeaders, pluginkit.CheckHeaderPairNames) }

// stringArray is Kong's string_array, colon_string_array or
// colon_headers_array: a required array of strings defaulting to {}.
func stringArray(name, pattern, validator string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Array, Required: true, Default: []any{},
		Elements: &schema.Field{Type: schema.String, Pattern: pattern, Validator: validator}}
}

// colonRecord is Kong's colon_string_record: json and headers entries
// "name:value", json_types typing the json values by position.
func colonRecord(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Record, Fields: []*schema.Field{
		stringArray("json", colonPair, ""),
		{Name: "json_types", Type: schema.Array, Required: true, Default: []any{},
			Description: "List of JSON type names. Specify the types of the JSON values returned when appending\nJSON properties. Each string element can be one of: boolean, number, or string.",
			Elements:    &schema.Field{Type: schema.String, OneOf: []any{"boolean", "number", "string"}}},
		stringArray("headers", colonPair, ""),
	}}
}
