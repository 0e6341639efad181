// Package pluginkit holds the small pieces Gatehouse's native plugins
// share around their own logic: the schema validators of Kong's typedefs
// several plugins' schemas use. Configurations are decoded into each
// plugin's Config struct by plugin.Decode (runtime/plugin), with every
// default taken from the schema.
package pluginkit

import "strings"

// SplitPair splits a "name:value" rule entry as Kong's pattern
// `^([^:]+):*(.-)$` does: the name runs to the first colon, the colons
// right after it are skipped, the value is the rest ("" when none). ok is
// false when the pattern does not match (an empty entry, or one starting
// with a colon).
func SplitPair(s string) (name, value string, ok bool) {
	i := strings.IndexByte(s, ':')
	if i == 0 || s == "" {
		return "", "", false
	}
	if i < 0 {
		return s, "", true
	}
	return s[:i], strings.TrimLeft(s[i:], ":"), true
}

// CheckHeaderPairNames is the validate_colon_headers custom validator of
// Kong's transformer plugins as a schema validator: in a "name:value"
// entry both the name and the value must be header names (a rename's old
// and new names). The message is Kong's: "'<x>' is not a valid header".
func CheckHeaderPairNames(v any) string {
	s, _ := v.(string)
	name, value, ok := SplitPair(s)
	switch {
	case !ok:
		return "'nil' is not a valid header"
	case !IsHeaderName(name):
		return "'" + name + "' is not a valid header"
	case !IsHeaderName(value):
		return "'" + value + "' is not a valid header"
	}
	return ""
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
