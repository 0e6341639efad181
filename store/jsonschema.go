package store

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode/utf8"
)

// ValidateJSONSchema validates v (a decoded JSON value: nil, bool,
// float64/int64/json numbers, string, []any, map[string]any) against a
// draft-4 JSON schema document, the way Kong validates a proxy-wasm
// filter's configuration, and returns the first failure in the wording of
// Kong's validator (lua-resty-ljsonschema), or "" when v is valid.
//
// The keywords supported are type, enum, properties, required,
// additionalProperties (false or a schema), items (one schema),
// minItems, maxItems, minLength, maxLength, minimum, maximum, allOf,
// anyOf and oneOf; other keywords are ignored.
func ValidateJSONSchema(sch map[string]any, v any) string {
	return validateJS(sch, v, 0)
}

const maxJSONSchemaDepth = 64

func validateJS(sch map[string]any, v any, depth int) string {
	if depth > maxJSONSchemaDepth {
		return "schema too deeply nested"
	}
	if t, ok := sch["type"]; ok {
		var names []string
		switch tt := t.(type) {
		case string:
			names = []string{tt}
		case []any:
			for _, x := range tt {
				if s, ok := x.(string); ok {
					names = append(names, s)
				}
			}
		}
		if len(names) > 0 && !matchesAnyType(names, v) {
			if len(names) == 1 {
				return fmt.Sprintf("wrong type: expected %s, got %s", names[0], jsonTypeName(v))
			}
			return fmt.Sprintf("wrong type: expected one of %s, got %s", strings.Join(names, ", "), jsonTypeName(v))
		}
	}
	if enum, ok := sch["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if jsonEqual(e, v) {
				found = true
				break
			}
		}
		if !found {
			return "matches none of the enum values"
		}
	}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		subs, ok := sch[key].([]any)
		if !ok {
			continue
		}
		passed := 0
		var first string
		for _, s := range subs {
			m, _ := s.(map[string]any)
			if m == nil {
				continue
			}
			if msg := validateJS(m, v, depth+1); msg == "" {
				passed++
			} else if first == "" {
				first = msg
			}
		}
		switch {
		case key == "allOf" && first != "":
			return first
		case key == "anyOf" && passed == 0 && len(subs) > 0:
			return "object matches none of the required schemas"
		case key == "oneOf" && passed != 1 && len(subs) > 0:
			if passed == 0 {
				return "object matches none of the alternatives"
			}
			return "value should match only one schema, but matches multiple"
		}
	}
	switch x := v.(type) {
	case string:
		n := utf8.RuneCountInString(x)
		if lo, ok := jsonNumber(sch["minLength"]); ok && float64(n) < lo {
			return fmt.Sprintf("string too short, expected at least %s, got %d", fmtJSNum(lo), n)
		}
		if hi, ok := jsonNumber(sch["maxLength"]); ok && float64(n) > hi {
			return fmt.Sprintf("string too long, expected at most %s, got %d", fmtJSNum(hi), n)
		}
	case []any:
		if lo, ok := jsonNumber(sch["minItems"]); ok && float64(len(x)) < lo {
			return fmt.Sprintf("expect array to have at least %s items", fmtJSNum(lo))
		}
		if hi, ok := jsonNumber(sch["maxItems"]); ok && float64(len(x)) > hi {
			return fmt.Sprintf("expect array to have at most %s items", fmtJSNum(hi))
		}
		if items, ok := sch["items"].(map[string]any); ok {
			for i, e := range x {
				if msg := validateJS(items, e, depth+1); msg != "" {
					return fmt.Sprintf("failed to validate item %d: %s", i+1, msg)
				}
			}
		}
	case map[string]any:
		if req, ok := sch["required"].([]any); ok {
			for _, r := range req {
				if name, ok := r.(string); ok {
					if _, present := x[name]; !present {
						return "property " + name + " is required"
					}
				}
			}
		}
		props, _ := sch["properties"].(map[string]any)
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k].(map[string]any); ok {
				if msg := validateJS(ps, x[k], depth+1); msg != "" {
					return "property " + k + " validation failed: " + msg
				}
				continue
			}
			switch ap := sch["additionalProperties"].(type) {
			case bool:
				if !ap {
					return "additional properties forbidden, found " + k
				}
			case map[string]any:
				if msg := validateJS(ap, x[k], depth+1); msg != "" {
					return "property " + k + " validation failed: " + msg
				}
			}
		}
	default:
		if n, ok := jsonNumber(v); ok {
			if lo, ok := jsonNumber(sch["minimum"]); ok && n < lo {
				return fmt.Sprintf("expected %s to be at least %s", fmtJSNum(n), fmtJSNum(lo))
			}
			if hi, ok := jsonNumber(sch["maximum"]); ok && n > hi {
				return fmt.Sprintf("expected %s to be at most %s", fmtJSNum(n), fmtJSNum(hi))
			}
		}
	}
	return ""
}

// matchesAnyType reports whether v is of one of the JSON schema types.
func matchesAnyType(names []string, v any) bool {
	for _, n := range names {
		switch n {
		case "null":
			if v == nil {
				return true
			}
		case "boolean":
			if _, ok := v.(bool); ok {
				return true
			}
		case "string":
			if _, ok := v.(string); ok {
				return true
			}
		case "array":
			if _, ok := v.([]any); ok {
				return true
			}
		case "object":
			if _, ok := v.(map[string]any); ok {
				return true
			}
		case "number":
			if _, ok := jsonNumber(v); ok {
				return true
			}
		case "integer":
			if f, ok := jsonNumber(v); ok && f == math.Trunc(f) {
				return true
			}
		}
	}
	return false
}

// jsonTypeName names v's JSON type as Kong's validator reports it.
func jsonTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	if _, ok := jsonNumber(v); ok {
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

// jsonNumber returns v as a float64 when it is a JSON number.
func jsonNumber(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case interface{ Float64() (float64, error) }:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func fmtJSNum(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return fmt.Sprintf("%d", int64(f))
	}
	return fmt.Sprintf("%g", f)
}

// jsonEqual compares two decoded JSON values.
func jsonEqual(a, b any) bool {
	if x, ok := jsonNumber(a); ok {
		y, ok := jsonNumber(b)
		return ok && x == y
	}
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	}
	return a == b
}
