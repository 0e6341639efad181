package store

import (
	"net"
	"regexp"
	"strings"

	"github.com/gatehouse/gatehouse/store/schema"
)

// Field constructors shared by the entity declarations, named after Kong's
// typedefs.

func idField() *schema.Field {
	return &schema.Field{Name: "id", Type: schema.String, UUID: true, Auto: true}
}

func createdAtField() *schema.Field {
	return &schema.Field{Name: "created_at", Type: schema.Integer, Timestamp: true, Auto: true}
}

func updatedAtField() *schema.Field {
	return &schema.Field{Name: "updated_at", Type: schema.Integer, Timestamp: true, Auto: true}
}

func tagsField() *schema.Field {
	return &schema.Field{Name: "tags", Type: schema.Set, Elements: &schema.Field{Type: schema.String, Check: checkTag}}
}

var tagPattern = regexp.MustCompile(`^[\x21-\x7e]+$`)

func checkTag(v any) string {
	s, _ := v.(string)
	if !tagPattern.MatchString(s) || strings.ContainsAny(s, ",/") {
		return "invalid tag '" + s + "': expected printable ascii (except `,` and `/`) or valid utf-8 sequences"
	}
	return ""
}

var utf8NamePattern = regexp.MustCompile(`^[\p{L}\p{N}.\-_~]+$`)

func nameField(unique bool) *schema.Field {
	return &schema.Field{Name: "name", Type: schema.String, Unique: unique, Check: checkUTF8Name}
}

func checkUTF8Name(v any) string {
	s, _ := v.(string)
	if !utf8NamePattern.MatchString(s) {
		return "invalid value '" + s + "': the only accepted ascii characters are alphanumerics or ., -, _, and ~"
	}
	return ""
}

var hostnameLabel = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_\-]{0,61}[A-Za-z0-9_])?$`)

// validHostname reports whether s is a host name (labels of letters, digits,
// '-' and '_') or an IP address. wildcard allows one leading or trailing '*'
// label, as route hosts and SNIs do.
func validHostname(s string, wildcard bool) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	if net.ParseIP(strings.Trim(s, "[]")) != nil {
		return true
	}
	labels := strings.Split(s, ".")
	for i, l := range labels {
		if wildcard && l == "*" && (i == 0 || i == len(labels)-1) && len(labels) > 1 {
			continue
		}
		if !hostnameLabel.MatchString(l) {
			return false
		}
	}
	return true
}

func hostField(name string, required bool) *schema.Field {
	return &schema.Field{Name: name, Type: schema.String, Required: required, Check: func(v any) string {
		s, _ := v.(string)
		if h, p, err := net.SplitHostPort(s); err == nil && h != "" && p != "" {
			return "must not have a port"
		}
		if !validHostname(s, false) {
			return "invalid value: " + s
		}
		return ""
	}}
}

func portField(name string, def any) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Integer, Default: def, Between: schema.Range(0, 65535)}
}

func timeoutField(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Integer, Default: int64(60000), Between: schema.Range(1, 2147483646)}
}

func foreignField(name, ref string, required bool, onDelete string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.Foreign, Reference: ref, Required: required, OnDelete: onDelete}
}

func consumerField() *schema.Field {
	return foreignField("consumer", "consumers", true, "cascade")
}

func oneOf(values ...string) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

func intsOneOf(values ...int64) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

func ints(values ...int64) []any { return intsOneOf(values...) }

// pathField validates Kong's path typedef: starts with '/', no empty or dot
// segments are checked beyond what Kong checks at the Admin API.
func pathField(name string) *schema.Field {
	return &schema.Field{Name: name, Type: schema.String, StartsWith: "/", Check: func(v any) string {
		s, _ := v.(string)
		if strings.Contains(s, "//") {
			return "must not have empty segments"
		}
		if strings.ContainsAny(s, "?#") {
			return "invalid path: '" + s + "' (characters '?' and '#' are not allowed)"
		}
		return ""
	}}
}
