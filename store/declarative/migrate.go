package declarative

import (
	"regexp"
	"strconv"
	"strings"
)

// Kong 3.0 changed route paths: a regex path must start with "~" and paths
// are no longer percent-decoded when matched. Kong migrates the routes of a
// 1.1 or 2.1 file on the fly (kong/db/declarative/migrations/route_path.lua
// with kong/db/migrations/migrate_path_280_300.lua); so does Parse.

var plainPath = regexp.MustCompile(`^[a-zA-Z0-9.\-_~/%]*$`)

// migrateRoutePaths rewrites the paths of a route read from a pre-3.0 file.
func migrateRoutePaths(route map[string]any) {
	paths, ok := route["paths"].([]any)
	if !ok {
		return
	}
	out := make([]any, len(paths))
	for i, p := range paths {
		if s, ok := p.(string); ok {
			out[i] = migratePath(s)
		} else {
			out[i] = p
		}
	}
	route["paths"] = out
}

func migratePath(path string) string {
	if plainPath.MatchString(path) {
		return normalizePath(path)
	}
	return "~" + normalizeRegex(path)
}

// reserved are the characters RFC 3986 reserves, kept percent-encoded.
var reserved = map[byte]bool{
	'!': true, '#': true, '$': true, '%': true, '&': true, '\'': true, '(': true, ')': true,
	'*': true, '+': true, ',': true, '/': true, ':': true, ';': true, '=': true, '?': true,
	'@': true, '[': true, ']': true,
}

// regexMeta are the characters that must be escaped once decoded in a regex.
var regexMeta = map[byte]bool{
	'.': true, '^': true, '-': true, '{': true, '}': true, '\\': true, '|': true,
}

var percentTriplet = regexp.MustCompile(`(?i)%([0-9a-f]{2})`)

// normalizeRegex percent-decodes a regex path: reserved characters stay
// encoded (in upper case), regex metacharacters are decoded and escaped.
func normalizeRegex(re string) string {
	if !strings.Contains(re, "%") {
		return re
	}
	return percentTriplet.ReplaceAllStringFunc(re, func(m string) string {
		n, _ := strconv.ParseUint(m[1:], 16, 8)
		c := byte(n)
		switch {
		case reserved[c]:
			return strings.ToUpper(m)
		case regexMeta[c]:
			return `\` + string(c)
		}
		return string(c)
	})
}

func unreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// normalizePath normalizes a plain path as Kong's kong.tools.uri normalize
// does with merged slashes: percent-encoded unreserved characters are
// decoded, other triplets upper-cased, repeated slashes merged and dot
// segments removed.
func normalizePath(path string) string {
	path = percentTriplet.ReplaceAllStringFunc(path, func(m string) string {
		n, _ := strconv.ParseUint(m[1:], 16, 8)
		if c := byte(n); unreserved(c) {
			return string(c)
		}
		return strings.ToUpper(m)
	})
	for strings.Contains(path, "//") {
		path = strings.ReplaceAll(path, "//", "/")
	}
	segs := strings.Split(path, "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		switch s {
		case ".":
			if i == len(segs)-1 {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if i == len(segs)-1 {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return strings.Join(out, "/")
}
