package requesttransformer

import (
	"regexp"
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
			{Name: "http_method", Type: schema.String, Match: httpMethod,
				Description: "A string representing an HTTP method, such as GET, POST, PUT, or DELETE. The string must contain only uppercase letters."},
			record("remove", false,
				stringsArray("body", nil),
				stringsArray("headers", checkHeaderPair),
				stringsArray("querystring", nil)),
			record("rename", false,
				stringsArray("body", checkForValue),
				colonHeaders("headers", checkRenameHeader),
				stringsArray("querystring", checkForValue)),
			record("replace", true,
				stringsArray("body", checkForValue),
				colonHeaders("headers", checkHeaderValuePair),
				stringsArray("querystring", checkForValue)),
			record("add", false,
				stringsArray("body", checkForValue),
				colonHeaders("headers", checkHeaderValuePair),
				stringsArray("querystring", checkForValue)),
			record("append", false,
				stringsArray("body", checkForValue),
				colonHeaders("headers", checkHeaderValuePair),
				stringsArray("querystring", checkForValue)),
		}},
	}
}

// httpMethod is typedefs.http_method's pattern ("^%u+$").
var httpMethod = regexp.MustCompile(`^[A-Z]+$`)

// colonPair is the pattern of "name:value" header entries ("^[^:]+:.*$").
var colonPair = regexp.MustCompile(`(?s)^[^:]+:.*$`)

func record(name string, withURI bool, fields ...*schema.Field) *schema.Field {
	if withURI {
		fields = append(fields, &schema.Field{Name: "uri", Type: schema.String})
	}
	return &schema.Field{Name: name, Type: schema.Record, Fields: fields}
}

// stringsArray is Kong's strings_array (check nil), headers_array or
// colon_strings_array: a required array defaulting to {}.
func stringsArray(name string, check func(any) string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Array, Required: true, Default: []any{},
		Elements: &schema.Field{Type: schema.String, Check: check}}
}

// colonHeaders is colon_header_value_array or colon_headers_array.
func colonHeaders(name string, check func(any) string) *schema.Field {
	f := stringsArray(name, check)
	f.Elements.Match = colonPair
	return f
}

// splitPair splits "name:value" the way Kong's pattern "^([^:]+):*(.-)$"
// does: the name runs to the first colon, every colon after it is
// skipped, and the value is the rest. ok is false when the entry starts
// with a colon (the pattern does not match).
func splitPair(s string) (name, value string, ok bool) {
	i := strings.IndexByte(s, ':')
	if i == 0 || s == "" {
		return "", "", false
	}
	if i < 0 {
		return s, "", true
	}
	name, value = s[:i], s[i:]
	value = strings.TrimLeft(value, ":")
	return name, value, true
}

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

// checkRenameHeader is validate_colon_headers: the new name must be a
// valid header name too.
func checkRenameHeader(v any) string {
	if msg := checkHeaderPair(v); msg != "" {
		return msg
	}
	s, _ := v.(string)
	_, value, _ := splitPair(s)
	if !pluginkit.IsHeaderName(value) {
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
