// Package pluginkit holds the small pieces Gatehouse's native plugins
// share around their own logic: the schema validators of Kong's typedefs
// several plugins' schemas use. Configurations are decoded into each
// plugin's Config struct by plugin.Decode (runtime/plugin), with every
// default taken from the schema.
package pluginkit

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
