// Package ngxargs reads and writes query strings and form-urlencoded
// bodies the way nginx's Lua API does (ngx.req.get_uri_args,
// ngx.req.get_post_args, ngx.escape_uri), which is what Kong's plugins and
// kong.request see. Plugins and the plugin test harness share it so that a
// query argument means the same thing everywhere.
//
// The rules: "&" separates arguments and empty ones ("a=1&&b=2") are
// skipped; the key runs to the first "="; "+" is a space and "%XX" escapes
// are decoded, malformed escapes kept as they are; a key without "=" is a
// flag (a Lua true); arguments whose key decodes to "" are dropped.
package ngxargs

import (
	"iter"
	"strings"
)

// Arg is one decoded argument.
type Arg struct {
	Key, Value string
	// Flag is true for a key given without "=" ("?debug"); Value is "".
	Flag bool
}

// All iterates over the arguments of raw in order, each with its part as
// sent ("a%20b=c"), for callers that rewrite the raw string. Unlike Parse
// it also yields arguments whose key is empty.
func All(raw string) iter.Seq2[string, Arg] {
	return func(yield func(string, Arg) bool) {
		for raw != "" {
			var part string
			part, raw, _ = strings.Cut(raw, "&")
			if part == "" {
				continue
			}
			k, v, hasValue := strings.Cut(part, "=")
			if !yield(part, Arg{Key: Unescape(k), Value: Unescape(v), Flag: !hasValue}) {
				return
			}
		}
	}
}

// Parse returns the arguments of a query string or form body, in order,
// without those whose key is empty.
func Parse(raw string) []Arg {
	var out []Arg
	for _, a := range All(raw) {
		if a.Key != "" {
			out = append(out, a)
		}
	}
	return out
}

// Unescape decodes "+" as a space and "%XX" escapes, keeping malformed
// escapes. It returns s itself when there is nothing to decode.
func Unescape(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Escape percent-encodes everything but RFC 3986 unreserved characters,
// as ngx.escape_uri does for arguments (a space is %20). It returns s
// itself when there is nothing to encode.
func Escape(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// Without drops every occurrence of the argument name from a raw query,
// keeping the other arguments exactly as they were sent, and reports
// whether there was one (what plugins hiding a credential do).
func Without(raw, name string) (string, bool) {
	var b strings.Builder
	removed := false
	for part, a := range All(raw) {
		if a.Key == name {
			removed = true
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(part)
	}
	if !removed {
		return raw, false
	}
	return b.String(), true
}
