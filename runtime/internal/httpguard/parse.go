package httpguard

import "bytes"

// tchar marks the bytes of an RFC 9110 token.
var tchar [256]bool

// hostChar marks the bytes allowed in a Host value: an RFC 3986 reg-name,
// IP literal and port, without userinfo ('@').
var hostChar [256]bool

// targetChar marks the bytes allowed in a request target.
var targetChar [256]bool

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alnum := b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
		tchar[c] = alnum || bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), b) >= 0
		hostChar[c] = alnum || bytes.IndexByte([]byte("-._~!$&'()*+,;=:[]%"), b) >= 0
		targetChar[c] = c > 0x20 && c != 0x7f
	}
}

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tchar[c] {
			return false
		}
	}
	return true
}

// requestLine checks "METHOD SP target SP HTTP/1.x".
func (c *Conn) requestLine(line []byte) (int, string) {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || !isToken(line[:sp]) {
		return 400, MsgBadRequest
	}
	method := line[:sp]
	rest := line[sp+1:]
	sp = bytes.IndexByte(rest, ' ')
	if sp <= 0 {
		return 400, MsgBadRequest
	}
	target, version := rest[:sp], rest[sp+1:]
	switch string(version) {
	case "HTTP/1.1":
		c.http10 = false
	case "HTTP/1.0":
		c.http10 = true
	default:
		return 400, MsgBadRequest
	}
	for _, b := range target {
		if !targetChar[b] {
			return 400, MsgBadRequest
		}
	}
	switch {
	case target[0] == '/':
	case len(target) == 1 && target[0] == '*':
		if string(method) != "OPTIONS" {
			return 400, MsgBadRequest
		}
	default:
		// absolute-form: scheme "://" authority [path]; no userinfo.
		i := bytes.Index(target, []byte("://"))
		if i <= 0 || !isScheme(target[:i]) {
			return 400, MsgBadRequest
		}
		auth := target[i+3:]
		if j := bytes.IndexAny(auth, "/?#"); j >= 0 {
			auth = auth[:j]
		}
		if !validHost(auth) {
			return 400, MsgBadRequest
		}
	}
	return 0, ""
}

func isScheme(b []byte) bool {
	for i, c := range b {
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alpha && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

func validHost(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !hostChar[c] {
			return false
		}
	}
	return true
}

// trimOWS trims spaces and tabs around a field value.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// field splits and checks "name: value": a token name right before the
// colon (no obs-fold, no whitespace before the colon) and a value without
// NUL or CR.
func field(line []byte) (name, value []byte, ok bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || !isToken(line[:colon]) {
		return nil, nil, false
	}
	value = line[colon+1:]
	if bytes.IndexByte(value, 0) >= 0 || bytes.IndexByte(value, '\r') >= 0 {
		return nil, nil, false
	}
	return line[:colon], trimOWS(value), true
}

// equalFoldLower compares b with a lower-case ASCII string.
func equalFoldLower(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// headerLine checks one header line and records the framing headers.
func (c *Conn) headerLine(line []byte) (int, string) {
	name, value, ok := field(line)
	if !ok {
		return 400, MsgBadRequest
	}
	switch len(name) {
	case 4:
		if equalFoldLower(name, "host") {
			if c.hasHost || !validHost(value) {
				return 400, MsgBadRequest
			}
			c.hasHost = true
		}
	case 6:
		if equalFoldLower(name, "expect") && equalFoldLower(value, "100-continue") {
			c.expect = true
		}
	case 14:
		if equalFoldLower(name, "content-length") {
			if c.hasCL || len(value) == 0 || len(value) > 18 {
				return 400, MsgBadRequest
			}
			var n int64
			for _, d := range value {
				if d < '0' || d > '9' {
					return 400, MsgBadRequest
				}
				n = n*10 + int64(d-'0')
			}
			c.hasCL, c.cl = true, n
		}
	case 17:
		if equalFoldLower(name, "transfer-encoding") {
			if c.hasTE {
				return 400, MsgBadRequest
			}
			c.hasTE = true
			// An unknown coding is answered 501 once the whole head
			// parsed (a syntax error later in it is a 400).
			c.teUnknown = !equalFoldLower(value, "chunked")
		}
	}
	return 0, ""
}

// trailerLine checks one trailer field; the framing fields may not be
// trailers.
func (c *Conn) trailerLine(line []byte) (int, string) {
	name, _, ok := field(line)
	if !ok || equalFoldLower(name, "content-length") || equalFoldLower(name, "transfer-encoding") ||
		equalFoldLower(name, "host") || equalFoldLower(name, "trailer") {
		return 400, MsgBadRequest
	}
	return 0, ""
}

// chunkSize parses a chunk-size line: hex digits, optional spaces, and
// optional extensions (";" then anything but NUL, as the server skips
// them up to the CR).
func chunkSize(line []byte) (int64, bool) {
	var n int64
	i := 0
	for ; i < len(line); i++ {
		d := line[i]
		var v byte
		switch {
		case d >= '0' && d <= '9':
			v = d - '0'
		case d >= 'a' && d <= 'f':
			v = d - 'a' + 10
		case d >= 'A' && d <= 'F':
			v = d - 'A' + 10
		default:
			goto rest
		}
		if i >= 15 {
			return 0, false // over 2^60: no real body
		}
		n = n<<4 | int64(v)
	}
rest:
	if i == 0 {
		return 0, false
	}
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	if i < len(line) {
		if line[i] != ';' {
			return 0, false
		}
		for _, b := range line[i:] {
			if b == 0 || b == '\r' {
				return 0, false
			}
		}
	}
	return n, true
}
