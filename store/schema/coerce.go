package schema

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Errors is a tree of field errors shaped like Kong's "fields" object: a field
// name maps to a message (string), to an Errors of a nested record or map,
// or to a []any of per-element messages (nil where an element is fine).
// Entity-level messages sit under "@entity" as a []any of strings.
type Errors map[string]any

// EntityKey is the key under which record-level check messages are reported.
const EntityKey = "@entity"

// Add records msg for field, keeping an earlier message for the same field.
func (e Errors) Add(field, msg string) {
	if _, ok := e[field]; !ok {
		e[field] = msg
	}
}

// AddEntity records a record-level message.
func (e Errors) AddEntity(msg string) {
	list, _ := e[EntityKey].([]any)
	e[EntityKey] = append(list, msg)
}

// Empty reports whether no error was recorded.
func (e Errors) Empty() bool { return len(e) == 0 }

// Flatten lists every message as "path: message" the way Kong orders them
// inside "schema violation (...)": record-level messages first, then fields
// sorted by path.
func (e Errors) Flatten() []string {
	var out []string
	if list, ok := e[EntityKey].([]any); ok {
		for _, m := range list {
			if s, ok := m.(string); ok {
				out = append(out, s)
			}
		}
	}
	var fields []string
	for k, v := range e {
		if k != EntityKey {
			flattenInto(&fields, k, v)
		}
	}
	sortStrings(fields)
	return append(out, fields...)
}

func flattenInto(out *[]string, prefix string, v any) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch t := v.(type) {
	case string:
		if prefix == "" {
			*out = append(*out, t)
		} else {
			*out = append(*out, prefix+": "+t)
		}
	case Errors:
		for k, sub := range t {
			if k == EntityKey {
				if list, ok := sub.([]any); ok {
					for _, m := range list {
						flattenInto(out, prefix, m)
					}
				}
				continue
			}
			flattenInto(out, join(k), sub)
		}
	case map[string]any:
		flattenInto(out, prefix, Errors(t))
	case []any:
		for i, sub := range t {
			if sub != nil {
				flattenInto(out, join(strconv.Itoa(i+1)), sub)
			}
		}
	}
}

// Coerce converts loosely typed input (strings from form bodies, json.Number
// from JSON, a scalar where an array is expected) into the types rec declares.
// Unknown fields and values that cannot be converted are reported in the
// returned Errors; the returned map holds every field that converted. Fields
// absent from the input stay absent; explicit nulls stay nil.
func Coerce(rec *Schema, input map[string]any) (map[string]any, Errors) {
	errs := Errors{}
	out := (coercer{loose: true}).record(rec, input, errs)
	return out, errs
}

// CoerceTyped converts input that already carries JSON types (a JSON body):
// numbers become int64 or float64 as declared, but a string is never taken
// for a number, boolean or array, as Kong's Admin API does for JSON.
func CoerceTyped(rec *Schema, input map[string]any) (map[string]any, Errors) {
	errs := Errors{}
	out := (coercer{}).record(rec, input, errs)
	return out, errs
}

// coercer converts values; loose accepts strings for every scalar type and a
// scalar for a one-element array, as form bodies need.
type coercer struct{ loose bool }

func (c coercer) record(rec *Schema, input map[string]any, errs Errors) map[string]any {
	out := make(map[string]any, len(input))
	for k, v := range input {
		f := rec.Field(k)
		if f == nil {
			errs.Add(k, "unknown field")
			continue
		}
		cv, fe := c.value(f, v)
		if fe != nil {
			errs[k] = fe
			continue
		}
		out[k] = cv
	}
	return out
}

// coerceValue returns the converted value or an error tree (string, Errors or
// []any).
func (c coercer) value(f *Field, v any) (any, any) {
	if v == nil {
		return nil, nil
	}
	switch f.Type {
	case String:
		switch t := v.(type) {
		case string:
			return t, nil
		}
		return nil, "expected a string"
	case Integer:
		switch t := v.(type) {
		case int64:
			return t, nil
		case int:
			return int64(t), nil
		case float64:
			if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
				return int64(t), nil
			}
		case json.Number:
			if n, err := strconv.ParseInt(string(t), 10, 64); err == nil {
				return n, nil
			}
			if fl, err := t.Float64(); err == nil && fl == math.Trunc(fl) && math.Abs(fl) < 1<<53 {
				return int64(fl), nil
			}
		case string:
			if n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64); err == nil && c.loose {
				return n, nil
			}
		}
		return nil, "expected an integer"
	case Number:
		switch t := v.(type) {
		case float64:
			if !math.IsNaN(t) && !math.IsInf(t, 0) {
				return t, nil
			}
		case int64:
			return float64(t), nil
		case int:
			return float64(t), nil
		case json.Number:
			if fl, err := t.Float64(); err == nil && !math.IsInf(fl, 0) {
				return fl, nil
			}
		case string:
			if fl, err := strconv.ParseFloat(strings.TrimSpace(t), 64); err == nil && c.loose && !math.IsNaN(fl) && !math.IsInf(fl, 0) {
				return fl, nil
			}
		}
		return nil, "expected a number"
	case Boolean:
		switch t := v.(type) {
		case bool:
			return t, nil
		case string:
			if !c.loose {
				break
			}
			switch strings.ToLower(strings.TrimSpace(t)) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
		}
		return nil, "expected a boolean"
	case Array, Set:
		var list []any
		switch t := v.(type) {
		case []any:
			list = t
		case map[string]any:
			if len(t) != 0 {
				return nil, "expected " + article(f.Type)
			}
			list = []any{}
		default:
			// A scalar where an array is expected: form bodies send one value
			// for a one-element array.
			if !c.loose {
				return nil, "expected " + article(f.Type)
			}
			list = []any{t}
		}
		if f.Elements == nil {
			return list, nil
		}
		out := make([]any, 0, len(list))
		var elemErrs []any
		for i, e := range list {
			cv, fe := c.value(f.Elements, e)
			if fe != nil {
				if elemErrs == nil {
					elemErrs = make([]any, len(list))
				}
				elemErrs[i] = fe
				continue
			}
			out = append(out, cv)
		}
		if elemErrs != nil {
			return nil, elemErrs
		}
		return out, nil
	case Map:
		m, ok := v.(map[string]any)
		if !ok {
			if s, isStr := v.(string); isStr && s == "" {
				return nil, nil
			}
			return nil, "expected a map"
		}
		out := make(map[string]any, len(m))
		errs := Errors{}
		for k, e := range m {
			if f.Values == nil {
				out[k] = e
				continue
			}
			cv, fe := c.value(f.Values, e)
			if fe != nil {
				errs[k] = fe
				continue
			}
			out[k] = cv
		}
		if !errs.Empty() {
			return nil, errs
		}
		return out, nil
	case Record:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, "expected a record"
		}
		errs := Errors{}
		out := c.record(&Schema{Fields: f.Fields}, m, errs)
		if !errs.Empty() {
			return nil, errs
		}
		return out, nil
	case Foreign:
		switch t := v.(type) {
		case string:
			return map[string]any{"id": t}, nil
		case map[string]any:
			// The whole referenced entity may be given (as Kong's Go
			// client sends what it read back): as in Kong, its primary
			// key is used and the other fields are ignored, even an
			// endpoint key naming another entity.
			if id, given := t["id"]; given && id != nil {
				s, ok := id.(string)
				if !ok {
					return nil, Errors{"id": "expected a string"}
				}
				return map[string]any{"id": s}, nil
			}
			out := map[string]any{}
			for k, e := range t {
				s, ok := e.(string)
				if !ok && e != nil {
					return nil, Errors{k: "expected a string"}
				}
				if k != "id" && k != "name" && k != "username" {
					return nil, Errors{k: "unknown field"}
				}
				out[k] = s
			}
			return out, nil
		}
		return nil, "expected a record"
	case JSON:
		return normalizeJSON(v), nil
	}
	return nil, fmt.Sprintf("unsupported field type %q", f.Type)
}

// normalizeJSON turns json.Number values into int64 or float64.
func normalizeJSON(v any) any {
	switch t := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return n
		}
		f, _ := t.Float64()
		return f
	case []any:
		for i := range t {
			t[i] = normalizeJSON(t[i])
		}
	case map[string]any:
		for k := range t {
			t[k] = normalizeJSON(t[k])
		}
	}
	return v
}

func article(t Type) string {
	switch t {
	case Array, Integer:
		return "an " + string(t)
	}
	return "a " + string(t)
}
