package pluginkit

import "strings"

// ParseMediaType reads `type "/" subtype *(";" attribute "=" value)` as
// Kong's kong.tools.mime_type.parse_mime_type does (RFC 2045 tokens,
// quoted-string values, "*" alone for "*/*"): type, subtype and parameter
// names come lower-cased; ok is false when s is not a media type.
func ParseMediaType(s string) (typ, sub string, params map[string]string, ok bool) {
	if s == "*" {
		return "*", "*", nil, true
	}
	i := tokenEnd(s, 0)
	if i == 0 || i >= len(s) || s[i] != '/' {
		return "", "", nil, false
	}
	j := tokenEnd(s, i+1)
	if j == i+1 {
		return "", "", nil, false
	}
	typ, sub = strings.ToLower(s[:i]), strings.ToLower(s[i+1:j])
	for p := j; p < len(s); {
		p = skipSpace(s, p)
		if p >= len(s) || s[p] != ';' {
			return "", "", nil, false
		}
		p = skipSpace(s, p+1)
		a := tokenEnd(s, p)
		if a == p || a >= len(s) || s[a] != '=' {
			return "", "", nil, false
		}
		attr := strings.ToLower(s[p:a])
		p = a + 1
		var value string
		if p < len(s) && s[p] == '"' {
			p++
			start := p
			for p < len(s) && s[p] != '"' {
				if s[p] == '\\' && p+1 < len(s) {
					p++ // a quoted pair, kept as sent (Kong captures it raw)
				} else if s[p] < 0x20 || s[p] == 0x7f {
					return "", "", nil, false
				}
				p++
			}
			if p >= len(s) {
				return "", "", nil, false
			}
			value = s[start:p]
			p++
		} else {
			v := tokenEnd(s, p)
			if v == p {
				return "", "", nil, false
			}
			value, p = s[p:v], v
		}
		if params == nil {
			params = map[string]string{}
		}
		params[attr] = value
	}
	return typ, sub, params, true
}

func tokenEnd(s string, i int) int {
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	return i
}

func isTokenChar(c byte) bool {
	return c > 0x20 && c < 0x7f && !strings.ContainsRune(`()<>@,;:\"/[]?={}`, rune(c))
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}
