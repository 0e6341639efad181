// Package routeregex is Kong's dialect of route regular expressions, shared
// by the store (which refuses a route whose regex would not compile) and the
// router (which compiles them).
//
// Kong's traditional_compatible router does not use PCRE: it hands paths to
// the ATC router, which uses Rust's regex crate. A path "~<re>" becomes the
// ATC predicate http.path ~ "^<re'>" where <re'> is <re> with every "?<"
// replaced by "?P<" (Kong's gsub, named groups for Rust). Header values
// "~*<re>" become any(lower(http.headers.<name>)) ~ "<re lower-cased>":
// the pattern itself is lower-cased, like the value, and it is not
// anchored.
//
// Go's regexp (RE2) accepts the same syntax as Rust's regex for everything
// Kong's conversion can produce except:
//   - \d and \D are Unicode-aware in Rust and ASCII in Go; they are
//     rewritten to \p{Nd} and \P{Nd}. \w, \s and \b stay ASCII here while
//     Rust's are Unicode-aware (paths are normalized bytes, mostly ASCII).
//   - Rust's (?x) verbose flag, class set operations ([a&&b], [a--b],
//     [a~~b]), \< and \> (word start/end) and counted repetitions above
//     1000 fail to compile in Go; such routes are skipped and reported.
//   - Look-around and backreferences fail in both, as in Kong 3.x.
package routeregex

import (
	"regexp"
	"strings"
)

// Translate turns a Rust-regex pattern into Go syntax.
func Translate(p string) string {
	if !strings.Contains(p, `\d`) && !strings.Contains(p, `\D`) {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '\\' || i+1 >= len(p) {
			b.WriteByte(c)
			continue
		}
		switch p[i+1] {
		case 'd':
			b.WriteString(`\p{Nd}`)
		case 'D':
			b.WriteString(`\P{Nd}`)
		default:
			b.WriteByte(c)
			b.WriteByte(p[i+1])
		}
		i++
	}
	return b.String()
}

// CompilePath compiles a route path "~..." as Kong anchors it.
func CompilePath(path string) (*regexp.Regexp, error) {
	p := strings.ReplaceAll(path[1:], "?<", "?P<")
	return regexp.Compile("^" + Translate(p))
}

// CompileHeader compiles a header value "~*..." (already without the
// "~*") as Kong does: lower-cased and unanchored.
func CompileHeader(v string) (*regexp.Regexp, error) {
	return regexp.Compile(Translate(ASCIILower(v)))
}

// ASCIILower lower-cases ASCII letters only, as Lua's string.lower does.
func ASCIILower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// CheckPath reports whether a route path "~<re>" compiles under the
// router's rules; the store refuses routes whose regex would be skipped.
func CheckPath(path string) error {
	_, err := CompilePath(path)
	return err
}

// CheckHeader reports whether a route header value "~*<re>" compiles under
// the router's rules.
func CheckHeader(value string) error {
	_, err := CompileHeader(strings.TrimPrefix(value, "~*"))
	return err
}
