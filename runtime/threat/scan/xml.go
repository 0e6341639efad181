package scan

import (
	"fmt"
	"io"
)

// XMLLimits are the `xml` filter's limits; a value <= 0 (or -1) is
// unlimited. Lengths are in characters (code points) as written in the
// document, an entity or character reference counting as one.
type XMLLimits struct {
	// MaxNamespacePrefixLength bounds p in a declaration xmlns:p="...".
	MaxNamespacePrefixLength int
	// MaxNamespaceURILength bounds the URI of a namespace declaration.
	MaxNamespaceURILength int
	// MaxNamespacesPerElement bounds the namespace declarations (xmlns and
	// xmlns:p attributes) on one element.
	MaxNamespacesPerElement int
	// MaxChildCount bounds the child elements of one element.
	MaxChildCount int
	// MaxElementNameLength bounds an element's qualified name (prefix:local).
	MaxElementNameLength int
	// MaxNodeDepth bounds element nesting (the root element is depth 1).
	MaxNodeDepth int
	// MaxAttributeNameLength bounds an attribute's qualified name.
	MaxAttributeNameLength int
	// MaxAttributeValueLength bounds an attribute's value.
	MaxAttributeValueLength int
	// MaxAttributesPerElement bounds the attributes of one element
	// (namespace declarations excluded).
	MaxAttributesPerElement int
	// MaxTextLength bounds a text node: adjacent character data and CDATA
	// sections count together.
	MaxTextLength int
	// MaxCommentLength bounds a comment's content.
	MaxCommentLength int
	// MaxPITargetLength bounds a processing instruction's target.
	MaxPITargetLength int
	// MaxPIDataLength bounds a processing instruction's data.
	MaxPIDataLength int
}

// xmlFrame is one open element: the FNV-1a hash of its name (to match its
// end tag without keeping the name) and its child element count.
type xmlFrame struct {
	name     uint64
	children int
}

// xmlScanner is the streaming XML checker; its memory is the read buffer
// plus one xmlFrame per open element (at most HardMaxDepth).
type xmlScanner struct {
	br         byteReader
	l          XMLLimits
	stack      []xmlFrame
	depth      int
	textLen    int
	rootSeen   bool
	rootClosed bool
	markup     bool  // any markup seen
	docStart   int64 // offset after a byte order mark
	v          *Violation
}

// ScanXML reads r as a stream with its own tokenizer and stops at the first
// violation (nil when none). Nothing of the document is buffered: names,
// values, text, comments and processing instructions are counted as they
// stream by (and a count stops at its limit), an open element costs 16
// bytes (its name's hash and child count), nesting is capped at
// HardMaxDepth. A DOCTYPE is refused (Violation{Limit:"dtd"}), so no entity
// is ever declared or expanded (no billion laughs, no external entities);
// references other than the five predefined entities and character
// references are malformed. Malformed XML is a Violation{Filter:"xml",
// Limit:"syntax"}; an empty (or whitespace-only) body is not a violation.
// Duplicate attributes, namespace prefix binding and character validity are
// not checked. The error is the reader's, other than io.EOF.
func ScanXML(r io.Reader, l XMLLimits) (*Violation, error) {
	s := &xmlScanner{l: l}
	s.br.r = r
	s.run()
	if err := s.br.ioErr(); err != nil && (s.v == nil || s.v.Limit == "syntax") {
		return nil, fmt.Errorf("scan xml: reading body: %w", err)
	}
	return s.v, nil
}

func (s *xmlScanner) fail(limit, format string, args ...any) bool {
	s.v = &Violation{Filter: "xml", Limit: limit, Message: fmt.Sprintf(format, args...), Offset: s.br.offset()}
	return false
}

func (s *xmlScanner) syntax(format string, args ...any) bool {
	return s.fail("syntax", "malformed XML: "+format, args...)
}

func (s *xmlScanner) eof() bool { return s.syntax("unexpected end of input") }

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// countable reports whether c starts a character (is not a UTF-8
// continuation byte).
func countable(c byte) bool { return c&0xC0 != 0x80 }

func (s *xmlScanner) run() {
	br := &s.br
	// A UTF-8 byte order mark.
	if c, ok := br.peek(); ok && c == 0xEF {
		for _, want := range []byte{0xEF, 0xBB, 0xBF} {
			if c, ok := br.next(); !ok || c != want {
				s.syntax("bad byte order mark")
				return
			}
		}
	}
	s.docStart = br.offset()
	for {
		c, ok := br.peek()
		if !ok {
			if s.depth > 0 {
				s.eof()
			} else if s.markup && !s.rootSeen {
				s.syntax("no root element")
			}
			return
		}
		if c == '<' {
			br.pos++
			s.markup = true
			if !s.tag() {
				return
			}
			continue
		}
		if !s.text() {
			return
		}
	}
}

// text scans character data up to the next '<'.
func (s *xmlScanner) text() bool {
	br := &s.br
	for {
		for br.pos < br.end {
			c := br.buf[br.pos]
			if c == '<' {
				return true
			}
			br.pos++
			if s.depth == 0 {
				if !isSpace(c) {
					return s.syntax("text outside the root element")
				}
				continue
			}
			if c == '&' {
				if !s.reference() {
					return false
				}
				s.textLen++
			} else if countable(c) {
				s.textLen++
			}
			if limited(s.l.MaxTextLength, s.textLen) {
				return s.fail("max_text_length", "XML text length exceeds %d", s.l.MaxTextLength)
			}
		}
		if !br.fill() {
			return true
		}
	}
}

// reference checks an entity or character reference after its '&'. Only the
// predefined entities and character references exist: no DTD is accepted.
func (s *xmlScanner) reference() bool {
	var name [12]byte
	n := 0
	for {
		c, ok := s.br.next()
		if !ok {
			return s.eof()
		}
		if c == ';' {
			break
		}
		if n == len(name) {
			return s.syntax("reference too long")
		}
		name[n] = c
		n++
	}
	switch string(name[:n]) {
	case "lt", "gt", "amp", "apos", "quot":
		return true
	}
	if n >= 2 && name[0] == '#' {
		digits := name[1:n]
		hex := false
		if digits[0] == 'x' {
			hex, digits = true, digits[1:]
		}
		if len(digits) == 0 {
			return s.syntax("bad character reference")
		}
		for _, d := range digits {
			if !(d >= '0' && d <= '9') && !(hex && isHex(d)) {
				return s.syntax("bad character reference")
			}
		}
		return true
	}
	return s.syntax("undefined entity &%s;", string(name[:n]))
}

// name scans a name; it returns its FNV-1a hash, its length in characters
// and, when it starts with "xmlns", where the prefix starts (6 for xmlns:p,
// 5 for xmlns, 0 otherwise). It stops early once the length exceeds limit.
func (s *xmlScanner) name(limit int, what, limitName string) (h uint64, n, nsAt int, ok bool) {
	const prime = 1099511628211
	h = 14695981039346656037
	br := &s.br
	nb := 0 // bytes
	xmlns := true
	for {
		c, ok := br.peek()
		if !ok {
			return h, n, 0, s.eof()
		}
		if isSpace(c) || c == '/' || c == '>' || c == '=' || c == '<' || c == '?' || c == '"' || c == '\'' || c == '&' || c == '!' {
			break
		}
		if nb == 0 && (c == '-' || c == '.' || (c >= '0' && c <= '9')) {
			return h, n, 0, s.syntax("bad %s name", what)
		}
		br.pos++
		if nb < 6 {
			xmlns = xmlns && c == "xmlns:"[nb]
		}
		nb++
		h = (h ^ uint64(c)) * prime
		if countable(c) {
			n++
			if limited(limit, n) {
				return h, n, 0, s.fail(limitName, "XML %s name length exceeds %d", what, limit)
			}
		}
	}
	if nb == 0 {
		return h, 0, 0, s.syntax("missing %s name", what)
	}
	if xmlns && nb >= 6 {
		nsAt = 6
	} else if xmlns && nb == 5 {
		nsAt = 5
	}
	return h, n, nsAt, true
}

func (s *xmlScanner) skipSpace() (byte, bool) {
	for {
		c, ok := s.br.peek()
		if !ok || !isSpace(c) {
			return c, ok
		}
		s.br.pos++
	}
}

// tag scans what follows a '<'.
func (s *xmlScanner) tag() bool {
	c, ok := s.br.peek()
	if !ok {
		return s.eof()
	}
	switch c {
	case '/':
		s.br.pos++
		s.textLen = 0
		return s.endTag()
	case '?':
		s.br.pos++
		s.textLen = 0
		return s.pi()
	case '!':
		s.br.pos++
		return s.bang()
	}
	s.textLen = 0
	return s.startTag()
}

func (s *xmlScanner) endTag() bool {
	h, _, _, ok := s.name(0, "element", "max_element_name_length")
	if !ok {
		return false
	}
	if s.depth == 0 || s.stack[s.depth-1].name != h {
		return s.syntax("unexpected end tag")
	}
	c, ok := s.skipSpace()
	if !ok {
		return s.eof()
	}
	if c != '>' {
		return s.syntax("expected '>' in an end tag")
	}
	s.br.pos++
	s.depth--
	if s.depth == 0 {
		s.rootClosed = true
	}
	return true
}

func (s *xmlScanner) startTag() bool {
	l := &s.l
	if s.depth == 0 && s.rootSeen {
		return s.syntax("more than one root element")
	}
	h, _, _, ok := s.name(l.MaxElementNameLength, "element", "max_element_name_length")
	if !ok {
		return false
	}
	if s.depth > 0 {
		p := &s.stack[s.depth-1]
		p.children++
		if limited(l.MaxChildCount, p.children) {
			return s.fail("max_child_count", "XML child count %d exceeds %d", p.children, l.MaxChildCount)
		}
	}
	s.rootSeen = true
	s.depth++
	if limit := depthCap(l.MaxNodeDepth); s.depth > limit {
		return s.fail("max_node_depth", "XML node depth %d exceeds %d", s.depth, limit)
	}
	if s.depth > len(s.stack) {
		s.stack = append(s.stack, xmlFrame{})
	}
	s.stack[s.depth-1] = xmlFrame{name: h}
	attrs, nss := 0, 0
	for {
		c, ok := s.skipSpace()
		if !ok {
			return s.eof()
		}
		switch c {
		case '>':
			s.br.pos++
			return true
		case '/':
			s.br.pos++
			if c, ok := s.br.next(); !ok || c != '>' {
				return s.syntax("expected '>' after '/'")
			}
			s.depth--
			if s.depth == 0 {
				s.rootClosed = true
			}
			return true
		}
		_, n, nsAt, ok := s.name(0, "attribute", "max_attribute_name_length")
		if !ok {
			return false
		}
		valueLimit, valueName := l.MaxAttributeValueLength, "max_attribute_value_length"
		if nsAt > 0 {
			nss++
			if limited(l.MaxNamespacesPerElement, nss) {
				return s.fail("max_namespaces_per_element", "XML namespaces per element %d exceed %d", nss, l.MaxNamespacesPerElement)
			}
			if prefix := n - nsAt; limited(l.MaxNamespacePrefixLength, prefix) {
				return s.fail("max_namespace_prefix_length", "XML namespace prefix length %d exceeds %d", prefix, l.MaxNamespacePrefixLength)
			}
			valueLimit, valueName = l.MaxNamespaceURILength, "max_namespace_uri_length"
		} else {
			attrs++
			if limited(l.MaxAttributesPerElement, attrs) {
				return s.fail("max_attributes_per_element", "XML attributes per element %d exceed %d", attrs, l.MaxAttributesPerElement)
			}
			if limited(l.MaxAttributeNameLength, n) {
				return s.fail("max_attribute_name_length", "XML attribute name length %d exceeds %d", n, l.MaxAttributeNameLength)
			}
		}
		if c, ok := s.skipSpace(); !ok || c != '=' {
			if !ok {
				return s.eof()
			}
			return s.syntax("expected '=' after an attribute name")
		}
		s.br.pos++
		q, ok := s.skipSpace()
		if !ok {
			return s.eof()
		}
		if q != '"' && q != '\'' {
			return s.syntax("unquoted attribute value")
		}
		s.br.pos++
		if !s.attrValue(q, valueLimit, valueName) {
			return false
		}
	}
}

func (s *xmlScanner) attrValue(q byte, limit int, limitName string) bool {
	br := &s.br
	n := 0
	for {
		for br.pos < br.end {
			c := br.buf[br.pos]
			br.pos++
			switch {
			case c == q:
				return true
			case c == '<':
				return s.syntax("'<' in an attribute value")
			case c == '&':
				if !s.reference() {
					return false
				}
				n++
			case countable(c):
				n++
			}
			if limited(limit, n) {
				what := "attribute value"
				if limitName == "max_namespace_uri_length" {
					what = "namespace URI"
				}
				return s.fail(limitName, "XML %s length exceeds %d", what, limit)
			}
		}
		if !br.fill() {
			return s.eof()
		}
	}
}

// until counts the characters up to the terminator term (consumed),
// failing with limitName once base plus the count exceeds limit. term is
// "-->", "?>" or "]]>".
func (s *xmlScanner) until(term string, base, limit int, limitName, what string) (int, bool) {
	n, matched := 0, 0
	for {
		c, ok := s.br.next()
		if !ok {
			return n, s.eof()
		}
		if c == term[matched] {
			matched++
			if matched == len(term) {
				return n, true
			}
			continue
		}
		switch {
		case matched == 2 && c == term[0] && term[0] == term[1]:
			// "]]]" or "---": the first byte was content, the last two
			// still start the terminator.
			n++
		case matched > 0:
			// The partial terminator was content; c may restart it.
			n += matched
			matched = 0
			if c == term[0] {
				matched = 1
			} else if countable(c) {
				n++
			}
		case countable(c):
			n++
		}
		if limited(limit, base+n) {
			return n, s.fail(limitName, "XML %s length exceeds %d", what, limit)
		}
	}
}

// pi scans a processing instruction after "<?".
func (s *xmlScanner) pi() bool {
	l := &s.l
	start := s.br.offset()
	_, n, _, ok := s.name(l.MaxPITargetLength, "processing instruction target", "max_pi_target_length")
	if !ok {
		return false
	}
	decl := start == s.docStart+2 && n == 3 // <?xml ...?> at the very start
	if decl {
		if _, ok := s.until("?>", 0, 1024, "syntax", "XML declaration"); !ok {
			return false
		}
		return true
	}
	c, ok := s.br.peek()
	if !ok {
		return s.eof()
	}
	if c == '?' {
		s.br.pos++
		if c, ok := s.br.next(); !ok || c != '>' {
			return s.syntax("bad processing instruction")
		}
		return true
	}
	if !isSpace(c) {
		return s.syntax("bad processing instruction target")
	}
	if _, ok := s.skipSpace(); !ok {
		return s.eof()
	}
	_, ok = s.until("?>", 0, l.MaxPIDataLength, "max_pi_data_length", "processing instruction data")
	return ok
}

// bang scans what follows "<!": a comment, a CDATA section or a (refused)
// DOCTYPE.
func (s *xmlScanner) bang() bool {
	c, ok := s.br.next()
	if !ok {
		return s.eof()
	}
	switch c {
	case '-':
		if c, ok := s.br.next(); !ok || c != '-' {
			return s.syntax("bad comment")
		}
		s.textLen = 0
		_, ok := s.until("-->", 0, s.l.MaxCommentLength, "max_comment_length", "comment")
		return ok
	case '[':
		for _, want := range []byte("CDATA[") {
			if c, ok := s.br.next(); !ok || c != want {
				return s.syntax("bad CDATA section")
			}
		}
		if s.depth == 0 {
			return s.syntax("CDATA outside the root element")
		}
		n, ok := s.until("]]>", s.textLen, s.l.MaxTextLength, "max_text_length", "text")
		if !ok {
			return false
		}
		s.textLen += n
		return true
	case 'D':
		return s.fail("dtd", "XML document type declarations (DTD) are not accepted")
	}
	return s.syntax("unexpected <!%c", c)
}
