package requesttransformer

import (
	"strings"

	"github.com/gatehouse/gatehouse/runtime/plugins/pluginkit"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/request-transformer/schema.lua. Template values ("$(...)")
// are accepted but not rendered (see README.md).
func Schema() *store.PluginSchema {
	return &store.PluginSchema{
		Name: Name,
		Config: &schema.Schema{Fields: []*schema.Field{
			describe(store.HTTPMethodField("http_method"), // typedefs.http_method
				"A string representing an HTTP method, such as GET, POST, PUT, or DELETE. The string must contain only uppercase letters."),
			record("remove", false,
				stringsArray("body", ""),
				stringsArray("headers", validateHeaders),
				stringsArray("querystring", "")),
			record("rename", false,
				stringsArray("body", checkForValueName),
				colonHeaders("headers", validateColonHeaders),
				stringsArray("querystring", checkForValueName)),
			record("replace", true,
				stringsArray("body", checkForValueName),
				colonHeaders("headers", validateColonHeaderValues),
				stringsArray("querystring", checkForValueName)),
			record("add", false,
				stringsArray("body", checkForValueName),
				colonHeaders("headers", validateColonHeaderValues),
				stringsArray("querystring", checkForValueName)),
			record("append", false,
				stringsArray("body", checkForValueName),
				colonHeaders("headers", validateColonHeaderValues),
				stringsArray("querystring", checkForValueName)),
		}},
	}
}

// colonPair is Kong's pattern of "name:value" header entries.
const colonPair = "^[^:]+:.*$"

// The named validators of the schema (Kong's custom validators).
const (
	validateHeaders           = Name + ".validate_headers"
	validateColonHeaderValues = Name + ".validate_colon_header_values"
	validateColonHeaders      = Name + ".validate_colon_headers"
	checkForValueName         = Name + ".check_for_value"
)

func init() {
	schema.RegisterValidator(validateHeaders, checkHeaderPair)
	schema.RegisterValidator(validateColonHeaderValues, checkHeaderValuePair)
	schema.RegisterValidator(validateColonHeaders, pluginkit.CheckHeaderPairNames)
	schema.RegisterValidator(checkForValueName, checkForValue)
}

func describe(f *schema.Field, d string) *schema.Field {
	f.Description = d
	return f
}

func record(name string, withURI bool, fields ...*schema.Field) *schema.Field {
	if withURI {
		fields = append(fields, &schema.Field{Name: "uri", Type: schema.String})
	}
	return &schema.Field{Name: name, Type: schema.Record, Fields: fields}
}

// stringsArray is Kong's strings_array (validator ""), headers_array or
// colon_strings_array: a required array defaulting to {}.
func stringsArray(name, validator string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Array, Required: true, Default: []any{},
		Elements: &schema.Field{Type: schema.String, Validator: validator}}
}

// colonHeaders is colon_header_value_array or colon_headers_array.
func colonHeaders(name, validator string) *schema.Field {
	f := stringsArray(name, validator)
	f.Elements.Pattern = colonPair
	return f
}

// splitPair splits "name:value" the way Kong's pattern "^([^:]+):*(.-)$"
// does: the name runs to the first colon, every colon after it is
// skipped, and the value is the rest. ok is false when the entry starts
// with a colon (the pattern does not match).
func splitPair(s string) (name, value string, ok bool) { return pluginkit.SplitPair(s) }

// validHeaderValue rejects values that cannot be sent in a header line.
func validHeaderValue(s string) bool {
	return !strings.ContainsAny(s, "\r\n\x00")
}

func notAHeader(s string, ok bool) string {
	if !ok {
		s = "nil"
	}
	return "'" + s + "' is not a valid header"
}

// checkHeaderPair is validate_headers without a value check.
func checkHeaderPair(v any) string {
	s, _ := v.(string)
	name, _, ok := splitPair(s)
	if !ok || !pluginkit.IsHeaderName(name) {
		return notAHeader(name, ok)
	}
	return ""
}

// checkHeaderValuePair is validate_colon_header_values.
func checkHeaderValuePair(v any) string {
	if msg := checkHeaderPair(v); msg != "" {
		return msg
	}
	s, _ := v.(string)
	_, value, _ := splitPair(s)
	if !validHeaderValue(value) {
		return notAHeader(value, true)
	}
	return ""
}

// checkForValue is check_for_value: "name:value" with a non-empty value.
func checkForValue(v any) string {
	s, _ := v.(string)
	name, value, _ := splitPair(s)
	if value == "" {
		return "key '" + name + "' has no value"
	}
	return ""
}
