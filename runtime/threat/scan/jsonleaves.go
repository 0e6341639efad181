package scan

import (
	"unicode/utf16"
	"unicode/utf8"
)

// leafWalker walks an in-memory JSON document and emits its string leaves
// by dotted path. It allocates only the strings it emits (a path's name is
// reused while it does not change) and stops at malformed input, at nesting
// deeper than maxJSONNesting, or when emit returns false.
type leafWalker struct {
	b        []byte
	i        int
	path     []byte
	names    int // names in path (at most maxJSONPathDepth)
	lastName string
	emit     func(name, value string) bool
	scratch  []byte
	done     bool // the last next() met its closing byte
}

func jsonParams(body []byte, emit func(name, value string) bool) {
	w := &leafWalker{b: body, emit: emit}
	w.value(0)
}

func (w *leafWalker) ws() {
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

// value walks one value; false stops the walk.
func (w *leafWalker) value(depth int) bool {
	w.ws()
	if w.i >= len(w.b) {
		return false
	}
	switch w.b[w.i] {
	case '{':
		if depth == maxJSONNesting {
			return false
		}
		w.i++
		w.ws()
		if w.i < len(w.b) && w.b[w.i] == '}' {
			w.i++
			return true
		}
		for {
			w.ws()
			if w.i >= len(w.b) || w.b[w.i] != '"' {
				return false
			}
			key, ok := w.str()
			if !ok {
				return false
			}
			w.ws()
			if w.i >= len(w.b) || w.b[w.i] != ':' {
				return false
			}
			w.i++
			plen, pnames := len(w.path), w.names
			if w.names < maxJSONPathDepth {
				if w.names > 0 {
					w.path = append(w.path, '.')
				}
				w.path = append(w.path, key...)
				w.names++
			}
			if !w.value(depth + 1) {
				return false
			}
			w.path, w.names = w.path[:plen], pnames
			if !w.next('}') {
				return w.done
			}
		}
	case '[':
		if depth == maxJSONNesting {
			return false
		}
		w.i++
		w.ws()
		if w.i < len(w.b) && w.b[w.i] == ']' {
			w.i++
			return true
		}
		for {
			if !w.value(depth + 1) {
				return false
			}
			if !w.next(']') {
				return w.done
			}
		}
	case '"':
		v, ok := w.str()
		if !ok {
			return false
		}
		if string(w.path) != w.lastName {
			w.lastName = string(w.path)
		}
		return w.emit(w.lastName, string(v))
	}
	// A number or literal: skipped.
	start := w.i
	for w.i < len(w.b) {
		c := w.b[w.i]
		if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			break
		}
		w.i++
	}
	return w.i > start
}

// next consumes a ',' (true: another member/element follows) or the
// closing byte (false with w.done set); anything else ends the walk (false,
// w.done unset).
func (w *leafWalker) next(closing byte) bool {
	w.ws()
	w.done = false
	if w.i < len(w.b) {
		switch w.b[w.i] {
		case ',':
			w.i++
			return true
		case closing:
			w.i++
			w.done = true
		}
	}
	return false
}

// str reads a string at w.i (a '"') and returns its decoded bytes, valid
// until the next call.
func (w *leafWalker) str() ([]byte, bool) {
	w.i++
	start := w.i
	for w.i < len(w.b) {
		switch c := w.b[w.i]; {
		case c == '"':
			w.i++
			return w.b[start : w.i-1], true
		case c == '\\':
			return w.strEscaped(start)
		}
		w.i++
	}
	return nil, false
}

// strEscaped decodes a string with escapes into w.scratch.
func (w *leafWalker) strEscaped(start int) ([]byte, bool) {
	out := append(w.scratch[:0], w.b[start:w.i]...)
	for w.i < len(w.b) {
		c := w.b[w.i]
		switch {
		case c == '"':
			w.i++
			w.scratch = out
			return out, true
		case c != '\\':
			out = append(out, c)
			w.i++
			continue
		}
		if w.i+1 >= len(w.b) {
			return nil, false
		}
		e := w.b[w.i+1]
		w.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := w.hex4()
			if !ok {
				return nil, false
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if w.i+1 < len(w.b) && w.b[w.i] == '\\' && w.b[w.i+1] == 'u' {
					save := w.i
					w.i += 2
					if r2, ok = w.hex4(); !ok {
						return nil, false
					}
					if utf16.DecodeRune(r, r2) == utf8.RuneError {
						w.i, r2 = save, -1
					}
				}
				r = utf16.DecodeRune(r, r2)
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, false
		}
	}
	return nil, false
}

func (w *leafWalker) hex4() (rune, bool) {
	if w.i+4 > len(w.b) {
		return 0, false
	}
	var r rune
	for _, c := range w.b[w.i : w.i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	w.i += 4
	return r, true
}
