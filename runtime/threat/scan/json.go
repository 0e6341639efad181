package scan

import (
	"fmt"
	"io"
)

// JSONLimits are the `json` filter's limits; a value <= 0 (or -1) is
// unlimited.
type JSONLimits struct {
	// MaxContainerDepth bounds the nesting of objects and arrays (the
	// outermost container is depth 1).
	MaxContainerDepth int
	// MaxObjectEntries bounds the number of members of one object.
	MaxObjectEntries int
	// MaxEntryNameLength bounds an object member name, in characters.
	MaxEntryNameLength int
	// MaxArrayElements bounds the number of elements of one array.
	MaxArrayElements int
	// MaxStringLength bounds a string value, in characters.
	MaxStringLength int
}

// jsonFrame is one open container.
type jsonFrame struct {
	obj bool
	n   int // entries or elements so far
}

// jsonScanner is the streaming JSON checker. Its memory is the read buffer
// plus one jsonFrame per open container (at most HardMaxDepth).
type jsonScanner struct {
	br    byteReader
	l     JSONLimits
	stack []jsonFrame
	depth int
	v     *Violation
}

// ScanJSON reads r as a stream and stops at the first violation (nil when
// none). It never buffers the body: memory is a 4 KiB read buffer plus a few
// bytes per open container, whatever the input size; strings are counted, not
// kept. Malformed JSON is a Violation{Filter:"json", Limit:"syntax"}; an
// empty (or whitespace-only) body is not a violation. The error is the
// reader's, other than io.EOF.
func ScanJSON(r io.Reader, l JSONLimits) (*Violation, error) {
	s := &jsonScanner{l: l}
	s.br.r = r
	s.run()
	if s.v != nil {
		if err := s.br.ioErr(); err != nil && s.v.Limit == "syntax" {
			return nil, fmt.Errorf("scan json: reading body: %w", err)
		}
		return s.v, nil
	}
	if err := s.br.ioErr(); err != nil {
		return nil, fmt.Errorf("scan json: reading body: %w", err)
	}
	return nil, nil
}

func (s *jsonScanner) fail(limit, format string, args ...any) {
	s.v = &Violation{Filter: "json", Limit: limit, Message: fmt.Sprintf(format, args...), Offset: s.br.offset()}
}

func (s *jsonScanner) syntax(format string, args ...any) {
	s.fail("syntax", "malformed JSON: "+format, args...)
}

// skipWS consumes whitespace and returns the next byte, unconsumed.
func (s *jsonScanner) skipWS() (byte, bool) {
	br := &s.br
	for {
		for br.pos < br.end {
			c := br.buf[br.pos]
			if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
				return c, true
			}
			br.pos++
		}
		if !br.fill() {
			return 0, false
		}
	}
}

// run scans one JSON document.
func (s *jsonScanner) run() {
	if _, ok := s.skipWS(); !ok {
		return // empty body
	}
	if !s.value() {
		return
	}
	for {
		if s.depth == 0 {
			if c, ok := s.skipWS(); ok {
				s.syntax("unexpected %q after the top-level value", c)
			}
			return
		}
		if !s.afterValue() {
			return
		}
	}
}

// afterValue handles what follows a value inside a container: a comma and
// the next member/element, or the container's end. It returns false once a
// violation is recorded.
func (s *jsonScanner) afterValue() bool {
	c, ok := s.skipWS()
	if !ok {
		s.syntax("unexpected end of input")
		return false
	}
	f := &s.stack[s.depth-1]
	s.br.pos++
	switch {
	case c == ',':
		f.n++
		if f.obj {
			if limited(s.l.MaxObjectEntries, f.n) {
				s.fail("max_object_entries", "JSON object entries %d exceed %d", f.n, s.l.MaxObjectEntries)
				return false
			}
			if !s.member() {
				return false
			}
			return s.value()
		}
		if limited(s.l.MaxArrayElements, f.n) {
			s.fail("max_array_elements", "JSON array elements %d exceed %d", f.n, s.l.MaxArrayElements)
			return false
		}
		return s.value()
	case c == '}' && f.obj, c == ']' && !f.obj:
		s.depth--
		return true
	}
	s.syntax("unexpected %q in a container", c)
	return false
}

// member scans an object member name and its colon.
func (s *jsonScanner) member() bool {
	c, ok := s.skipWS()
	if !ok {
		s.syntax("unexpected end of input")
		return false
	}
	if c != '"' {
		s.syntax("expected a member name, got %q", c)
		return false
	}
	s.br.pos++
	n, ok := s.str(s.l.MaxEntryNameLength)
	if !ok {
		return false
	}
	if limited(s.l.MaxEntryNameLength, n) {
		s.fail("max_entry_name_length", "JSON entry name length exceeds %d", s.l.MaxEntryNameLength)
		return false
	}
	c, ok = s.skipWS()
	if !ok || c != ':' {
		if !ok {
			s.syntax("unexpected end of input")
		} else {
			s.syntax("expected ':', got %q", c)
		}
		return false
	}
	s.br.pos++
	return true
}

// open pushes a container.
func (s *jsonScanner) open(obj bool) bool {
	s.depth++
	if limited(depthCap(s.l.MaxContainerDepth), s.depth) {
		limit := depthCap(s.l.MaxContainerDepth)
		s.fail("max_container_depth", "JSON container depth %d exceeds %d", s.depth, limit)
		return false
	}
	if s.depth > len(s.stack) {
		s.stack = append(s.stack, jsonFrame{})
	}
	s.stack[s.depth-1] = jsonFrame{obj: obj}
	return true
}

// value scans one value; for a container it scans only its opening and
// first member or element (the rest is driven by afterValue).
func (s *jsonScanner) value() bool {
	for {
		more, ok := s.value1()
		if !more {
			return ok
		}
	}
}

// value1 scans one value; more is true when it opened a non-empty container
// whose first member or element is to be scanned next (value loops instead
// of recursing, so nesting costs no Go stack).
func (s *jsonScanner) value1() (more, ok bool) {
	c, ok := s.skipWS()
	if !ok {
		s.syntax("unexpected end of input")
		return false, false
	}
	s.br.pos++
	switch c {
	case '{', '[':
		obj := c == '{'
		if !s.open(obj) {
			return false, false
		}
		d, dok := s.skipWS()
		if !dok {
			s.syntax("unexpected end of input")
			return false, false
		}
		if (obj && d == '}') || (!obj && d == ']') {
			s.br.pos++
			s.depth--
			return false, true
		}
		f := &s.stack[s.depth-1]
		f.n = 1
		if obj {
			if limited(s.l.MaxObjectEntries, 1) {
				s.fail("max_object_entries", "JSON object entries 1 exceed %d", s.l.MaxObjectEntries)
				return false, false
			}
			if !s.member() {
				return false, false
			}
		} else if limited(s.l.MaxArrayElements, 1) {
			s.fail("max_array_elements", "JSON array elements 1 exceed %d", s.l.MaxArrayElements)
			return false, false
		}
		return true, true
	case '"':
		n, sok := s.str(s.l.MaxStringLength)
		if !sok {
			return false, false
		}
		if limited(s.l.MaxStringLength, n) {
			s.fail("max_string_length", "JSON string length exceeds %d", s.l.MaxStringLength)
			return false, false
		}
		return false, true
	case 't':
		return false, s.literal("rue")
	case 'f':
		return false, s.literal("alse")
	case 'n':
		return false, s.literal("ull")
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return false, s.number(c)
	}
	s.syntax("unexpected %q", c)
	return false, false
}

func (s *jsonScanner) literal(rest string) bool {
	for i := 0; i < len(rest); i++ {
		c, ok := s.br.next()
		if !ok || c != rest[i] {
			s.syntax("bad literal")
			return false
		}
	}
	return true
}

// number scans a number after its first byte c.
func (s *jsonScanner) number(c byte) bool {
	digit := func(b byte) bool { return b >= '0' && b <= '9' }
	digits := func() int {
		n := 0
		for {
			b, ok := s.br.peek()
			if !ok || !digit(b) {
				return n
			}
			s.br.pos++
			n++
		}
	}
	if c == '-' {
		b, ok := s.br.next()
		if !ok || !digit(b) {
			s.syntax("bad number")
			return false
		}
		c = b
	}
	if c != '0' {
		digits()
	}
	if b, ok := s.br.peek(); ok && b == '.' {
		s.br.pos++
		if digits() == 0 {
			s.syntax("bad number")
			return false
		}
	}
	if b, ok := s.br.peek(); ok && (b == 'e' || b == 'E') {
		s.br.pos++
		if b, ok := s.br.peek(); ok && (b == '+' || b == '-') {
			s.br.pos++
		}
		if digits() == 0 {
			s.syntax("bad number")
			return false
		}
	}
	return true
}

// str scans a string body after its opening quote and returns its length in
// characters (code points; an escape is one character, a surrogate pair
// written as two \u escapes is two). It stops counting, and returns early,
// once the length exceeds limit (> 0): nothing of the string is kept.
func (s *jsonScanner) str(limit int) (int, bool) {
	br := &s.br
	n := 0
	for {
		buf := br.buf[br.pos:br.end]
		i := 0
		for ; i < len(buf); i++ {
			switch strClass[buf[i]] {
			case strPlain:
				n++
				continue
			case strCont:
				continue
			}
			break
		}
		br.pos += i
		if limit > 0 && n > limit {
			return n, true
		}
		if i < len(buf) {
			c := buf[i]
			br.pos++
			switch {
			case c == '"':
				return n, true
			case c == '\\':
				if !s.escape() {
					return n, false
				}
				n++
				continue
			default:
				s.syntax("control character in a string")
				return n, false
			}
		}
		if !br.fill() {
			s.syntax("unterminated string")
			return n, false
		}
	}
}

// Byte classes inside a JSON string.
const (
	strPlain   = iota // starts a character
	strCont           // a UTF-8 continuation byte
	strSpecial        // '"', '\\' or a control character
)

var strClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c == '"' || c == '\\' || c < 0x20:
			t[c] = strSpecial
		case c&0xC0 == 0x80:
			t[c] = strCont
		}
	}
	return t
}()

func (s *jsonScanner) escape() bool {
	c, ok := s.br.next()
	if !ok {
		s.syntax("unterminated string")
		return false
	}
	switch c {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return true
	case 'u':
		for i := 0; i < 4; i++ {
			h, ok := s.br.next()
			if !ok || !isHex(h) {
				s.syntax("bad \\u escape")
				return false
			}
		}
		return true
	}
	s.syntax("bad escape \\%c", c)
	return false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
