package reqbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// decodeJSON decodes a JSON body that must hold exactly one object.
func decodeJSON(body []byte) (map[string]any, error) {
	if err := checkJSONDepth(body); err != nil {
		return nil, jsonError(err)
	}
	if err := checkSurrogates(body); err != nil {
		return nil, jsonError(err)
	}
	// encoding/json turns invalid UTF-8 in strings into U+FFFD, which would
	// store something other than what was sent. Carry such bytes through
	// the decoder as stand-in runes and put them back afterwards, so the
	// schema refuses them as it does in form bodies.
	rawBytes := !utf8.Valid(body)
	if rawBytes {
		var err error
		if body, err = standInRawBytes(body); err != nil {
			return nil, jsonError(err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errors.New("unexpected data after the JSON value")
		}
		return nil, jsonError(err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, jsonError(fmt.Errorf("JSON body must be an object, not %s", jsonKind(v)))
	}
	if rawBytes {
		m = restoreRawBytes(m).(map[string]any)
	}
	return m, nil
}

// standInBase + b is the rune that stands for the invalid byte b (0x80 to
// 0xFF) while a body goes through encoding/json: U+10FF80 to U+10FFFF, the
// end of a private use plane.
const standInBase = 0x10FF00

func isStandIn(r rune) bool { return r >= standInBase+0x80 && r <= standInBase+0xFF }

// standInRawBytes replaces each byte of body that is not part of valid
// UTF-8 with its stand-in rune. A body that already holds stand-in runes
// (raw, or escaped as \udbff\udf80 and up) cannot be told apart and is
// refused.
func standInRawBytes(body []byte) ([]byte, error) {
	if bytes.Contains(bytes.ToLower(body), []byte(`\udbff`)) {
		return nil, errors.New("invalid UTF-8 with escaped U+10FC00 to U+10FFFF")
	}
	out := make([]byte, 0, len(body)+len(body)/4)
	for i := 0; i < len(body); {
		r, n := utf8.DecodeRune(body[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			out = utf8.AppendRune(out, standInBase+rune(body[i]))
		case isStandIn(r):
			return nil, errors.New("invalid UTF-8 with characters U+10FF80 to U+10FFFF")
		default:
			out = append(out, body[i:i+n]...)
		}
		i += n
	}
	return out, nil
}

// restoreRawBytes puts the invalid bytes standInRawBytes replaced back
// into the strings and object keys of a decoded tree.
func restoreRawBytes(v any) any {
	switch t := v.(type) {
	case string:
		return restoreString(t)
	case []any:
		for i, e := range t {
			t[i] = restoreRawBytes(e)
		}
		return t
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[restoreString(k)] = restoreRawBytes(e)
		}
		return out
	}
	return v
}

func restoreString(s string) string {
	if !strings.ContainsFunc(s, isStandIn) {
		return s
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if isStandIn(r) {
			b = append(b, byte(r-standInBase))
		} else {
			b = utf8.AppendRune(b, r)
		}
	}
	return string(b)
}

// checkSurrogates refuses \u escapes that are UTF-16 surrogates without
// their pair, as lua-cjson does ("invalid unicode escape code"), where
// encoding/json would silently decode them to U+FFFD. Escape syntax itself
// is left to the decoder.
func checkSurrogates(body []byte) error {
	inString := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !inString {
			if c == '"' {
				inString = true
			}
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 < len(body) && body[i+1] == 'u' {
				r, ok := hex4(body, i+2)
				switch {
				case !ok:
					// malformed: the decoder reports it
				case r >= 0xDC00 && r <= 0xDFFF:
					return fmt.Errorf("lone UTF-16 low surrogate \\u%04x", r)
				case r >= 0xD800 && r <= 0xDBFF:
					lo, ok := -1, false
					if i+7 < len(body) && body[i+6] == '\\' && body[i+7] == 'u' {
						lo, ok = hex4(body, i+8)
					}
					if !ok || lo < 0xDC00 || lo > 0xDFFF {
						return fmt.Errorf("UTF-16 high surrogate \\u%04x without its low surrogate", r)
					}
					i += 6 // the low surrogate's escape
				}
				i += 5
			} else {
				i++ // the escaped character
			}
		}
	}
	return nil
}

// hex4 reads four hex digits at body[at:].
func hex4(body []byte, at int) (int, bool) {
	if at+4 > len(body) {
		return 0, false
	}
	v := 0
	for _, c := range body[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | int(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | int(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | int(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

func jsonError(err error) error {
	return &BodyError{Message: CannotParseJSONMessage, Err: err}
}

// jsonKind names the JSON type of a decoded value for error messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "an object"
}

// checkJSONDepth rejects bodies whose arrays and objects nest deeper than
// MaxJSONDepth, before any allocation happens. It only counts brackets
// outside strings; syntax is checked by the decoder afterwards.
func checkJSONDepth(body []byte) error {
	depth := 0
	inString, escaped := false, false
	for _, c := range body {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > MaxJSONDepth {
				return fmt.Errorf("JSON nesting deeper than %d levels", MaxJSONDepth)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}
