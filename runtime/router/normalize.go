package router

// Request path normalization, as Kong's kong.tools.uri normalize(uri, true)
// does it before routing (kong.router.utils strip_uri_args):
//
//  1. Every percent-encoded triplet "%XY" (hex digits in either case) whose
//     byte is NOT a reserved character is decoded, whether the byte is an
//     unreserved character ("%41" -> "A") or any other byte ("%20" -> " ",
//     "%C3" -> the raw byte 0xC3). Triplets of reserved characters
//     (! * ' ( ) ; : @ & = + $ , / ? % # [ ]) stay encoded, upper-cased
//     ("%2f" -> "%2F"). Decoding is one pass, so "%2541" becomes "%2541".
//  2. When the result contains a "." or a "//", dot segments are removed
//     (RFC 3986 section 5.2.4, as Kong's loop does it) and runs of slashes
//     are merged into one.
//
// The result is what routes are matched against and what the upstream path
// is built from. Kong escapes the upstream path again (EscapePath) when it
// sets $upstream_uri.

const reservedChars = "!*'();:@&=+$,/?%#[]"

var isReserved [256]bool

func init() {
	for i := 0; i < len(reservedChars); i++ {
		isReserved[reservedChars[i]] = true
	}
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func upperHex(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

// NormalizePath returns p normalized as Kong normalizes a request path
// before routing. It allocates only when p changes.
func NormalizePath(p string) string {
	var buf []byte
	out, changed := normalizeInto(&buf, p)
	if !changed {
		return p
	}
	return string(out)
}

// normalizeInto normalizes p. When p needs no change it returns (nil,
// false); otherwise it returns the normalized bytes, written into *scratch
// (grown as needed) and valid until the next call with the same scratch.
func normalizeInto(scratch *[]byte, p string) ([]byte, bool) {
	if p == "" || p == "/" {
		return nil, false
	}
	hasPct, hasDot, hasDoubleSlash := false, false, false
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '%':
			hasPct = true
		case '.':
			hasDot = true
		case '/':
			if i+1 < len(p) && p[i+1] == '/' {
				hasDoubleSlash = true
			}
		}
	}
	if !hasPct && !hasDot && !hasDoubleSlash {
		return nil, false
	}
	buf := (*scratch)[:0]
	if cap(buf) < len(p) {
		buf = make([]byte, 0, len(p)+16)
	}
	if hasPct {
		for i := 0; i < len(p); i++ {
			c := p[i]
			if c == '%' && i+2 < len(p) {
				hi, ok1 := unhex(p[i+1])
				lo, ok2 := unhex(p[i+2])
				if ok1 && ok2 {
					b := hi<<4 | lo
					if isReserved[b] {
						buf = append(buf, '%', upperHex(p[i+1]), upperHex(p[i+2]))
					} else {
						buf = append(buf, b)
					}
					i += 2
					continue
				}
			}
			buf = append(buf, c)
		}
		// Kong checks for "." and "//" after decoding.
		hasDot, hasDoubleSlash = false, false
		for i := 0; i < len(buf); i++ {
			if buf[i] == '.' {
				hasDot = true
			} else if buf[i] == '/' && i+1 < len(buf) && buf[i+1] == '/' {
				hasDoubleSlash = true
			}
		}
	} else {
		buf = append(buf, p...)
	}
	if hasDot || hasDoubleSlash {
		buf = removeDotSegments(buf)
	}
	*scratch = buf
	return buf, true
}

// removeDotSegments runs Kong's dot-segment loop (with merge_slashes) in
// place: the output never grows past the input consumed so far. Every
// output segment starts with "/" (except a leading relative one) and holds
// no other "/", so dropping the last segment truncates at the last "/".
func removeDotSegments(b []byte) []byte {
	r := 0 // read position: the remaining input is b[r:end]
	end := len(b)
	w := 0 // output is b[:w]
	pop := func() {
		for w > 0 {
			w--
			if b[w] == '/' {
				return
			}
		}
	}
	for r < end {
		rest := b[r:end]
		n := len(rest)
		switch {
		case n == 2 && rest[0] == '/' && rest[1] == '.': // "/."
			r++ // leaves "/"
			b[r] = '/'
		case n == 3 && rest[0] == '/' && rest[1] == '.' && rest[2] == '.': // "/.."
			r += 2
			b[r] = '/'
			pop()
		case (n == 1 && rest[0] == '.') || (n == 2 && rest[0] == '.' && rest[1] == '.'):
			r = end
		case n >= 3 && rest[0] == '.' && rest[1] == '.' && rest[2] == '/': // "../"
			r += 3
		case n >= 2 && rest[0] == '.' && rest[1] == '/': // "./"
			r += 2
		case n >= 3 && rest[0] == '/' && rest[1] == '.' && rest[2] == '/': // "/./"
			r += 2
		case n >= 4 && rest[0] == '/' && rest[1] == '.' && rest[2] == '.' && rest[3] == '/': // "/../"
			r += 3
			pop()
		case n >= 2 && rest[0] == '/' && rest[1] == '/': // "//"
			r++
		default:
			i := 1
			for i < n && rest[i] != '/' {
				i++
			}
			copy(b[w:], rest[:i])
			w += i
			r += i
		}
	}
	return b[:w]
}

// EscapePath escapes p as Kong's kong.tools.uri escape does before it sets
// $upstream_uri from the router's upstream path: every byte that is not
// reserved, unreserved or "%" becomes "%XY" (upper-case hex). It returns p
// itself when nothing needs escaping.
func EscapePath(p string) string {
	n := 0
	for i := 0; i < len(p); i++ {
		if !keepUnescaped(p[i]) {
			n++
		}
	}
	if n == 0 {
		return p
	}
	const hexDigits = "0123456789ABCDEF"
	out := make([]byte, 0, len(p)+2*n)
	for i := 0; i < len(p); i++ {
		c := p[i]
		if keepUnescaped(c) {
			out = append(out, c)
			continue
		}
		out = append(out, '%', hexDigits[c>>4], hexDigits[c&15])
	}
	return string(out)
}

// keepUnescaped mirrors Kong's ESCAPE_PATTERN
// [^!#$&'()*+,/:;=?@[\]A-Z\d-_.~%] applied case-insensitively.
func keepUnescaped(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '&', '\'', '(', ')', '*', '+', ',', '/', ':', ';', '=', '?', '@', '[', ']', '-', '_', '.', '~', '%':
		return true
	}
	return false
}

// sanitizeURIPostfix is kong.router.utils sanitize_uri_postfix.
func sanitizeURIPostfix(s string) string {
	switch {
	case s == "":
		return s
	case s == "." || s == "..":
		return ""
	case len(s) >= 2 && s[:2] == "./":
		return s[2:]
	case len(s) >= 3 && s[:3] == "../":
		return s[3:]
	}
	return s
}
