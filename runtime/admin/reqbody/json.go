package reqbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// decodeJSON decodes a JSON body that must hold exactly one object.
func decodeJSON(body []byte) (map[string]any, error) {
	if err := checkJSONDepth(body); err != nil {
		return nil, jsonError(err)
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
	return m, nil
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
