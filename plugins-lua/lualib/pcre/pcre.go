// Package pcre translates the PCRE patterns OpenResty's ngx.re functions
// take into Go regexp (RE2) syntax. Constructs RE2 cannot express
// (lookaround, backreferences, atomic groups, possessive quantifiers,
// recursion, conditionals, branch reset, callouts) are rejected with an
// error that names the construct, its offset and the pattern.
//
// Capture group names are not passed to Go: every group becomes a plain
// numbered group and Result.Names records the PCRE name of each, so
// duplicate names (the D option) work and the caller builds the captures
// table itself.
package pcre

import (
	"fmt"
	"strings"
)

// Flags are the ngx.re options that change how a pattern is translated.
type Flags struct {
	CaseInsensitive bool // i
	Multiline       bool // m
	DotAll          bool // s
	Extended        bool // x: whitespace and #-comments are ignored
	Anchored        bool // a
	DupNames        bool // D
	Longest         bool // d (DFA mode: longest match)
}

// ParseOptions reads an ngx.re options string. The characters j, o, J, u
// and U are accepted and have no effect (Go compiles once, caches, and
// always matches UTF-8). An unknown character is an error as in
// OpenResty.
func ParseOptions(opts string) (Flags, error) {
	var f Flags
	for i := 0; i < len(opts); i++ {
		switch opts[i] {
		case 'i':
			f.CaseInsensitive = true
		case 'm':
			f.Multiline = true
		case 's':
			f.DotAll = true
		case 'x':
			f.Extended = true
		case 'a':
			f.Anchored = true
		case 'D':
			f.DupNames = true
		case 'd':
			f.Longest = true
		case 'j', 'o', 'J', 'u', 'U':
		default:
			return f, fmt.Errorf("unknown flag \"%c\" (flags \"%s\")", opts[i], opts)
		}
	}
	return f, nil
}

// Result is a translated pattern.
type Result struct {
	// Pattern is the Go regexp source, flags included.
	Pattern string
	// Names holds the PCRE name of capture group i+1 ("" when unnamed).
	Names []string
}

// UnsupportedError reports a PCRE construct RE2 cannot express.
type UnsupportedError struct {
	Pattern   string
	Offset    int
	Construct string
	What      string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("unsupported PCRE construct %q (%s) at offset %d in pattern %q", e.Construct, e.What, e.Offset, e.Pattern)
}

// SyntaxError reports a malformed pattern.
type SyntaxError struct {
	Pattern string
	Offset  int
	Msg     string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s at offset %d in pattern %q", e.Msg, e.Offset, e.Pattern)
}

type translator struct {
	src      string
	pos      int
	out      strings.Builder
	names    []string
	extended bool
}

// Translate converts a PCRE pattern to Go syntax under f.
func Translate(pattern string, f Flags) (Result, error) {
	t := &translator{src: pattern, extended: f.Extended}
	var prefix string
	if f.CaseInsensitive {
		prefix += "i"
	}
	if f.Multiline {
		prefix += "m"
	}
	if f.DotAll {
		prefix += "s"
	}
	if prefix != "" {
		t.out.WriteString("(?" + prefix + ")")
	}
	if f.Anchored {
		t.out.WriteString(`\A(?:`)
	}
	if err := t.run(); err != nil {
		return Result{}, err
	}
	if f.Anchored {
		t.out.WriteString(")")
	}
	if !f.DupNames {
		seen := map[string]bool{}
		for _, n := range t.names {
			if n != "" && seen[n] {
				return Result{}, &SyntaxError{pattern, 0, "two named subpatterns have the same name " + n}
			}
			seen[n] = true
		}
	}
	return Result{Pattern: t.out.String(), Names: t.names}, nil
}

func (t *translator) unsupported(construct, what string) error {
	return &UnsupportedError{Pattern: t.src, Offset: t.pos, Construct: construct, What: what}
}

func (t *translator) peek(i int) byte {
	if t.pos+i < len(t.src) {
		return t.src[t.pos+i]
	}
	return 0
}

func (t *translator) run() error {
	for t.pos < len(t.src) {
		ch := t.src[t.pos]
		switch {
		case t.extended && (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v'):
			t.pos++
		case t.extended && ch == '#':
			for t.pos < len(t.src) && t.src[t.pos] != '\n' {
				t.pos++
			}
		case ch == '\\':
			if err := t.escape(false); err != nil {
				return err
			}
		case ch == '[':
			if err := t.class(); err != nil {
				return err
			}
		case ch == '(':
			if err := t.group(); err != nil {
				return err
			}
		case ch == '*' || ch == '+' || ch == '?' || ch == '}':
			t.out.WriteByte(ch)
			t.pos++
			if t.peek(0) == '+' {
				return &UnsupportedError{Pattern: t.src, Offset: t.pos - 1, Construct: string(ch) + "+", What: "possessive quantifier"}
			}
		default:
			t.out.WriteByte(ch)
			t.pos++
		}
	}
	return nil
}

// escape translates a backslash sequence at pos (inClass: inside [...]).
func (t *translator) escape(inClass bool) error {
	c := t.peek(1)
	switch {
	case c == 0:
		return &SyntaxError{t.src, t.pos, `\ at end of pattern`}
	case c >= '1' && c <= '9' && !inClass:
		return t.unsupported(t.src[t.pos:t.pos+2], "backreference")
	case c == 'g' || c == 'k' && !inClass:
		return t.unsupported(t.src[t.pos:t.pos+2], "backreference")
	case c == 'K':
		return t.unsupported(`\K`, "match start reset")
	case c == 'G':
		return t.unsupported(`\G`, "start-of-match assertion")
	case c == 'R' || c == 'X' || c == 'C':
		return t.unsupported(t.src[t.pos:t.pos+2], "escape not supported by Go regexp")
	case c == 'c':
		if t.pos+2 >= len(t.src) {
			return &SyntaxError{t.src, t.pos, `\c at end of pattern`}
		}
		ctl := t.src[t.pos+2]
		if ctl >= 'a' && ctl <= 'z' {
			ctl -= 32
		}
		fmt.Fprintf(&t.out, `\x%02X`, ctl^0x40)
		t.pos += 3
		return nil
	case c == 'Z':
		// End of subject or before a final newline: Go has no such
		// assertion; \z is the closest without lookahead.
		return t.unsupported(`\Z`, "end-or-before-final-newline assertion")
	case c == 'e':
		t.out.WriteString(`\x1B`)
	case c == 'h':
		if inClass {
			t.out.WriteString(`\t \xA0`)
		} else {
			t.out.WriteString(`[\t \xA0]`)
		}
	case c == 'H' && !inClass:
		t.out.WriteString(`[^\t \xA0]`)
	case c == 'v' && !inClass:
		t.out.WriteString(`[\n\x0B\f\r\x85]`)
	case c == 'V' && !inClass:
		t.out.WriteString(`[^\n\x0B\f\r\x85]`)
	case c == '0':
		// Octal: \0, \0n, \0nn.
		j := t.pos + 2
		v := 0
		for k := 0; k < 2 && j < len(t.src) && t.src[j] >= '0' && t.src[j] <= '7'; k++ {
			v = v*8 + int(t.src[j]-'0')
			j++
		}
		fmt.Fprintf(&t.out, `\x%02X`, v)
		t.pos = j
		return nil
	case c == 'Q':
		end := strings.Index(t.src[t.pos+2:], `\E`)
		lit := t.src[t.pos+2:]
		next := len(t.src)
		if end >= 0 {
			lit = lit[:end]
			next = t.pos + 2 + end + 2
		}
		for i := 0; i < len(lit); i++ {
			quoteByte(&t.out, lit[i], inClass)
		}
		t.pos = next
		return nil
	case c == 'E':
		// A stray \E is ignored by PCRE.
	case c == 'x' && t.peek(2) == '{':
		end := strings.IndexByte(t.src[t.pos:], '}')
		if end < 0 {
			return &SyntaxError{t.src, t.pos, `missing } after \x{`}
		}
		t.out.WriteString(t.src[t.pos : t.pos+end+1])
		t.pos += end + 1
		return nil
	case c == 'p' || c == 'P':
		t.out.WriteString(t.src[t.pos : t.pos+2])
		t.pos += 2
		return nil
	case isAlnum(c) && strings.IndexByte(`dDwWsSbBAzxntrfa`, c) < 0:
		return t.unsupported(t.src[t.pos:t.pos+2], "unknown escape")
	default:
		t.out.WriteString(t.src[t.pos : t.pos+2])
	}
	t.pos += 2
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func quoteByte(b *strings.Builder, c byte, inClass bool) {
	if isAlnum(c) || c == '_' || c >= 0x80 {
		b.WriteByte(c)
		return
	}
	if c < 0x20 || c == 0x7f {
		fmt.Fprintf(b, `\x%02X`, c)
		return
	}
	b.WriteByte('\\')
	b.WriteByte(c)
}

// class copies a character class, translating escapes inside it.
func (t *translator) class() error {
	start := t.pos
	t.out.WriteByte('[')
	t.pos++
	if t.peek(0) == '^' {
		t.out.WriteByte('^')
		t.pos++
	}
	// A ']' first is a literal.
	if t.peek(0) == ']' {
		t.out.WriteString(`\]`)
		t.pos++
	}
	for t.pos < len(t.src) {
		ch := t.src[t.pos]
		switch {
		case ch == ']':
			t.out.WriteByte(']')
			t.pos++
			return nil
		case ch == '\\':
			if err := t.escape(true); err != nil {
				return err
			}
		case ch == '[' && t.peek(1) == ':':
			end := strings.Index(t.src[t.pos:], ":]")
			if end < 0 {
				t.out.WriteString(`\[`)
				t.pos++
				continue
			}
			t.out.WriteString(t.src[t.pos : t.pos+end+2])
			t.pos += end + 2
		case ch == '[':
			t.out.WriteString(`\[`)
			t.pos++
		default:
			t.out.WriteByte(ch)
			t.pos++
		}
	}
	return &SyntaxError{t.src, start, "missing terminating ] for character class"}
}

// group translates the opening of a group at pos.
func (t *translator) group() error {
	if t.peek(1) != '?' {
		if t.peek(1) == '*' {
			return t.unsupported("(*", "backtracking control verb")
		}
		t.names = append(t.names, "")
		t.out.WriteByte('(')
		t.pos++
		return nil
	}
	rest := t.src[t.pos+2:]
	switch {
	case strings.HasPrefix(rest, "<="):
		return t.unsupported("(?<=", "lookbehind")
	case strings.HasPrefix(rest, "<!"):
		return t.unsupported("(?<!", "negative lookbehind")
	case strings.HasPrefix(rest, "="):
		return t.unsupported("(?=", "lookahead")
	case strings.HasPrefix(rest, "!"):
		return t.unsupported("(?!", "negative lookahead")
	case strings.HasPrefix(rest, ">"):
		return t.unsupported("(?>", "atomic group")
	case strings.HasPrefix(rest, "|"):
		return t.unsupported("(?|", "branch reset")
	case strings.HasPrefix(rest, "("):
		return t.unsupported("(?(", "conditional")
	case strings.HasPrefix(rest, "R"), len(rest) > 0 && (rest[0] >= '0' && rest[0] <= '9' || rest[0] == '+' || rest[0] == '-' && len(rest) > 1 && rest[1] >= '0' && rest[1] <= '9'):
		return t.unsupported(t.src[t.pos:t.pos+3], "recursion")
	case strings.HasPrefix(rest, "&"), strings.HasPrefix(rest, "P>"), strings.HasPrefix(rest, "P="):
		return t.unsupported(t.src[t.pos:t.pos+4], "named recursion or backreference")
	case strings.HasPrefix(rest, "C"):
		return t.unsupported("(?C", "callout")
	case strings.HasPrefix(rest, "#"):
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return &SyntaxError{t.src, t.pos, "missing ) after comment"}
		}
		t.pos += 2 + end + 1
		return nil
	case strings.HasPrefix(rest, "<"), strings.HasPrefix(rest, "P<"), strings.HasPrefix(rest, "'"):
		skip, close := 1, byte('>')
		if rest[0] == 'P' {
			skip = 2
		} else if rest[0] == '\'' {
			close = '\''
		}
		end := strings.IndexByte(rest[skip:], close)
		if end < 0 {
			return &SyntaxError{t.src, t.pos, "syntax error in subpattern name (missing terminator)"}
		}
		name := rest[skip : skip+end]
		if !validName(name) {
			return &SyntaxError{t.src, t.pos, fmt.Sprintf("invalid subpattern name %q", name)}
		}
		t.names = append(t.names, name)
		t.out.WriteByte('(')
		t.pos += 2 + skip + end + 1
		return nil
	}
	// Inline flags: (?imsxU-imsxU) or (?flags:...).
	j := 0
	for j < len(rest) && strings.IndexByte("imsxUJ-", rest[j]) >= 0 {
		j++
	}
	if j < len(rest) && (rest[j] == ')' || rest[j] == ':') {
		flags := rest[:j]
		if strings.ContainsAny(flags, "xJ") {
			return t.unsupported("(?"+flags, "inline x or J flag")
		}
		if flags == "" || flags == "-" {
			t.out.WriteString("(?:")
			if rest[j] == ')' {
				t.out.Reset()
				return &SyntaxError{t.src, t.pos, "empty inline flag group"}
			}
		} else {
			t.out.WriteString("(?" + flags + string(rest[j]))
		}
		t.pos += 2 + j + 1
		return nil
	}
	return t.unsupported(t.src[t.pos:min(t.pos+3, len(t.src))], "unrecognized character after (?")
}

func validName(n string) bool {
	if n == "" || n[0] >= '0' && n[0] <= '9' {
		return false
	}
	for i := 0; i < len(n); i++ {
		if !isAlnum(n[i]) && n[i] != '_' {
			return false
		}
	}
	return true
}
