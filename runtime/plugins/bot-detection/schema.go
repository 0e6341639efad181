package botdetection

import (
	"regexp"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// validateRegex is the named validator standing for Kong's is_regex
// attribute of the allow and deny elements.
const validateRegex = Name + ".is_regex"

func init() { schema.RegisterValidator(validateRegex, checkRegex) }

// checkRegex refuses a string that does not compile, with Kong's message.
func checkRegex(v any) string {
	s, _ := v.(string)
	if _, err := regexp.Compile(s); err != nil {
		return "not a valid regex: " + s
	}
	return ""
}

// Schema returns the plugin's configuration schema: Kong 3.9's
// kong/plugins/bot-detection/schema.lua (no consumer scope, HTTP only).
func Schema() *store.PluginSchema {
	list := func(name, desc string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Array, Default: []any{}, Description: desc,
			Elements: &schema.Field{Type: schema.String, Validator: validateRegex}}
	}
	return &store.PluginSchema{
		Name:          Name,
		NoConsumer:    true,
		OnlyProtocols: store.HTTPProtocols,
		Config: &schema.Schema{Fields: []*schema.Field{
			list("allow", "An array of regular expressions that should be allowed. The regular expressions will be checked against the `User-Agent` header."),
			list("deny", "An array of regular expressions that should be denied. The regular expressions will be checked against the `User-Agent` header."),
		}},
	}
}
