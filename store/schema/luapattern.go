package schema

import (
	"fmt"
	"strings"
)

// LuaPatternToRE2 translates a Lua pattern, as Kong schemas write `match`,
// into an equivalent RE2 regular expression: the classes %a %c %d %g %l %p
// %s %u %w %x (and their upper-case complements), %-escapes, sets [...],
// the anchors ^ and $, and the quantifiers *, +, ? and - (lazy *). Lua's
// %b, %f and back-references have no RE2 equivalent and are refused.
func LuaPatternToRE2(p string) (string, error) {
	var b strings.Builder
	i := 0
	if strings.HasPrefix(p, "^") {
		b.WriteString("^")
		i = 1
	}
	// (?s): Lua's '.' matches any byte, newlines included.
	out := "(?s)"
	for i < len(p) {
		c := p[i]
		var atom string
		switch {
		case c == '$' && i == len(p)-1:
			b.WriteString("$")
			i++
			continue
		case c == '%':
			if i+1 >= len(p) {
				return "", fmt.Errorf("malformed pattern (ends with '%%')")
			}
			cls, err := luaClass(p[i+1], false)
			if err != nil {
				return "", err
			}
			atom, i = cls, i+2
		case c == '[':
			set, n, err := luaSet(p[i:])
			if err != nil {
				return "", err
			}
			atom, i = set, i+n
		case c == '.':
			atom, i = ".", i+1
		case c == '(' || c == ')':
			// Lua captures group like RE2's; position captures "()" are not supported.
			if c == '(' && i+1 < len(p) && p[i+1] == ')' {
				return "", fmt.Errorf("position captures are not supported")
			}
			b.WriteByte(c)
			i++
			continue
		default:
			atom, i = quoteByte(c), i+1
		}
		if i < len(p) {
			switch p[i] {
			case '*', '+', '?':
				atom += string(p[i])
				i++
			case '-':
				atom += "*?"
				i++
			}
		}
		b.WriteString(atom)
	}
	return out + b.String(), nil
}

func quoteByte(c byte) string {
	if strings.IndexByte(`\.+*?()|[]{}^$`, c) >= 0 {
		return `\` + string(c)
	}
	if c < 0x20 || c >= 0x7f {
		return fmt.Sprintf(`\x%02x`, c)
	}
	return string(c)
}

// luaClass translates the class letter after '%'; inSet gives the form
// usable inside [...].
func luaClass(c byte, inSet bool) (string, error) {
	classes := map[byte]string{
		'a': `A-Za-z`, 'c': `\x00-\x1f\x7f`, 'd': `0-9`, 'g': `!-~`, 'l': `a-z`,
		'p': `!-/:-@\[-` + "`" + `{-~`, 's': `\t-\r `, 'u': `A-Z`, 'w': `A-Za-z0-9`, 'x': `0-9A-Fa-f`,
	}
	lower := c | 0x20
	if r, ok := classes[lower]; ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		neg := c != lower
		if inSet {
			if neg {
				return "", fmt.Errorf("complemented class %%%c inside a set is not supported", c)
			}
			return r, nil
		}
		if neg {
			return "[^" + r + "]", nil
		}
		return "[" + r + "]", nil
	}
	switch c {
	case 'b', 'f':
		return "", fmt.Errorf("%%%c is not supported", c)
	}
	if c >= '0' && c <= '9' {
		return "", fmt.Errorf("back-references (%%%c) are not supported", c)
	}
	if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' {
		return "", fmt.Errorf("unknown class %%%c", c)
	}
	if c > 0x20 && c < 0x7f {
		return `\` + string(c), nil // escaped punctuation: literal in and out of sets
	}
	return quoteByte(c), nil
}

// luaSet translates a set starting at p[0] == '[' and returns its length.
func luaSet(p string) (string, int, error) {
	var b strings.Builder
	b.WriteString("[")
	i := 1
	if i < len(p) && p[i] == '^' {
		b.WriteString("^")
		i++
	}
	first := true
	for i < len(p) {
		c := p[i]
		if c == ']' && !first {
			b.WriteString("]")
			return b.String(), i + 1, nil
		}
		first = false
		switch {
		case c == '%':
			if i+1 >= len(p) {
				return "", 0, fmt.Errorf("malformed pattern (ends with '%%')")
			}
			cls, err := luaClass(p[i+1], true)
			if err != nil {
				return "", 0, err
			}
			b.WriteString(cls)
			i += 2
		case c == '-' && i+1 < len(p) && p[i+1] != ']' && b.Len() > 1:
			b.WriteString("-")
			i++
		default:
			if strings.IndexByte(`\[]^-`, c) >= 0 {
				b.WriteString(`\` + string(c))
			} else if c < 0x20 || c >= 0x7f {
				fmt.Fprintf(&b, `\x%02x`, c)
			} else {
				b.WriteByte(c)
			}
			i++
		}
	}
	return "", 0, fmt.Errorf("malformed pattern (missing ']')")
}
