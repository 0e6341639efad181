// Package pluginkit holds the small pieces Gatehouse's native plugins
// share around their own logic: reading a configuration map into a Config
// struct, and the schema validators of Kong's typedefs several plugins'
// schemas use.
package pluginkit

import (
	"errors"
	"fmt"
)

// Conf reads a plugin's configuration map as the store delivers it
// (validated, defaults filled) into Go values. An absent or null field
// leaves its destination as it is; a value of the wrong type is recorded
// as an error naming the plugin and the field ("key-auth: key_names:
// expected an array, got string"), which Err returns.
type Conf struct {
	plugin, prefix string
	m              map[string]any
	errs           *[]error
}

// NewConf returns a reader of m for the named plugin.
func NewConf(plugin string, m map[string]any) *Conf {
	return &Conf{plugin: plugin, m: m, errs: new([]error)}
}

// Err returns the errors recorded so far, by this reader and the readers
// of its records, joined; nil when there are none.
func (c *Conf) Err() error { return errors.Join(*c.errs...) }

// Fail records an error about a field.
func (c *Conf) Fail(name, format string, args ...any) {
	*c.errs = append(*c.errs, fmt.Errorf("%s: %s%s: %s", c.plugin, c.prefix, name, fmt.Sprintf(format, args...)))
}

// get returns a field's value, or false when it is absent or null.
func (c *Conf) get(name string) (any, bool) {
	v, ok := c.m[name]
	return v, ok && v != nil
}

// String reads a string field.
func (c *Conf) String(name string, dst *string) {
	if v, ok := c.get(name); ok {
		if s, ok := v.(string); ok {
			*dst = s
		} else {
			c.Fail(name, "expected a string, got %T", v)
		}
	}
}

// Bool reads a boolean field.
func (c *Conf) Bool(name string, dst *bool) {
	if v, ok := c.get(name); ok {
		if b, ok := v.(bool); ok {
			*dst = b
		} else {
			c.Fail(name, "expected a boolean, got %T", v)
		}
	}
}

// Number reads a number field (float64, or an integer type the store may
// deliver) and reports whether it set dst.
func (c *Conf) Number(name string, dst *float64) bool {
	v, ok := c.get(name)
	if !ok {
		return false
	}
	switch t := v.(type) {
	case float64:
		*dst = t
	case int64:
		*dst = float64(t)
	case int:
		*dst = float64(t)
	default:
		c.Fail(name, "expected a number, got %T", v)
		return false
	}
	return true
}

// Strings reads an array of strings; a present array always gives a
// non-nil slice.
func (c *Conf) Strings(name string, dst *[]string) {
	v, ok := c.get(name)
	if !ok {
		return
	}
	list, ok := v.([]any)
	if !ok {
		c.Fail(name, "expected an array, got %T", v)
		return
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			c.Fail(name, "expected strings, got %T", e)
			return
		}
		out = append(out, s)
	}
	*dst = out
}

// Record returns a reader of a record field, whose errors name the field
// as "record.field" and are part of c's Err. It reports false when the
// record is absent, null or not a record.
func (c *Conf) Record(name string) (*Conf, bool) {
	v, ok := c.get(name)
	if !ok {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		c.Fail(name, "expected a record, got %T", v)
		return nil, false
	}
	return &Conf{plugin: c.plugin, prefix: c.prefix + name + ".", m: m, errs: c.errs}, true
}

// IsHeaderName reports whether s is a valid header name by
// kong.tools.http.validate_header_name: not empty, and only A-Z, a-z,
// 0-9, '_' and '-'.
func IsHeaderName(s string) bool {
	return s != "" && headerChars(s)
}

// CheckHeaderName is Kong's typedefs.header_name as a schema.Field check:
// the error message for a string with other characters than IsHeaderName
// allows, "" otherwise. An empty string is left to the field's length
// check.
func CheckHeaderName(v any) string {
	s, _ := v.(string)
	if !headerChars(s) {
		return "bad header name '" + s + "', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
	}
	return ""
}

func headerChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
