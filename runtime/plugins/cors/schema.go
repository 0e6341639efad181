package cors

import (
	"fmt"
	"regexp"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// methods are Kong's METHODS: the default and the accepted values of
// config.methods.
var methods = []string{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"}

// validateOrigin is the named validator of config.origins' elements
// (Kong's validate_asterisk_or_regex).
const validateOrigin = Name + ".validate_asterisk_or_regex"

func init() { schema.RegisterValidator(validateOrigin, checkOrigin) }

// checkOrigin accepts "*" or a string that compiles as a regex.
func checkOrigin(v any) string {
	s, _ := v.(string)
	if s == "*" {
		return ""
	}
	if _, err := regexp.Compile(s); err != nil {
		return fmt.Sprintf("'%s' is not a valid regex", s)
	}
	return ""
}

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/cors/schema.lua (no consumer scope, HTTP protocols only).
func Schema() *store.PluginSchema {
	anyMethods := make([]any, len(methods))
	for i, m := range methods {
		anyMethods[i] = m
	}
	strs := func(name, desc string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Array, Description: desc,
			Elements: &schema.Field{Type: schema.String}}
	}
	flag := func(name, desc string, def bool) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Boolean, Required: true, Default: def, Description: desc}
	}
	return &store.PluginSchema{
		Name:          Name,
		NoConsumer:    true,
		OnlyProtocols: store.HTTPProtocols,
		Config: &schema.Schema{Fields: []*schema.Field{
			{Name: "origins", Type: schema.Array,
				Description: "List of allowed domains for the `Access-Control-Allow-Origin` header. If you want to allow all origins, add `*` as a single value to this configuration field. The accepted values can either be flat strings or PCRE regexes. NOTE: If you don't specify any allowed domains, all origins are allowed.",
				Elements:    &schema.Field{Type: schema.String, Validator: validateOrigin}},
			strs("headers", "Value for the `Access-Control-Allow-Headers` header."),
			strs("exposed_headers", "Value for the `Access-Control-Expose-Headers` header. If not specified, no custom headers are exposed."),
			{Name: "methods", Type: schema.Array, Default: append([]any(nil), anyMethods...),
				Description: "'Value for the `Access-Control-Allow-Methods` header. Available options include `GET`, `HEAD`, `PUT`, `PATCH`, `POST`, `DELETE`, `OPTIONS`, `TRACE`, `CONNECT`. By default, all options are allowed.'",
				Elements:    &schema.Field{Type: schema.String, OneOf: anyMethods}},
			{Name: "max_age", Type: schema.Number,
				Description: "Indicates how long the results of the preflight request can be cached, in `seconds`."},
			flag("credentials", "Flag to determine whether the `Access-Control-Allow-Credentials` header should be sent with `true` as the value.", false),
			flag("private_network", "Flag to determine whether the `Access-Control-Allow-Private-Network` header should be sent with `true` as the value.", false),
			flag("preflight_continue", "A boolean value that instructs the plugin to proxy the `OPTIONS` preflight request to the Upstream service.", false),
			flag("allow_origin_absent", "A boolean value that skip cors response headers when origin header of request is empty", true),
		}},
	}
}
