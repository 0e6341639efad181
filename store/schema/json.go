package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// maxDepth bounds the nesting of fields a loaded schema may have.
const maxDepth = 32

// FromJSON loads a schema from the JSON Render writes for a record:
// {"fields": [{"<name>": {<attributes>}}, ...], "entity_checks": [...]}.
// The attributes are Kong's (type, required, default, one_of, not_one_of,
// eq, between, gt, len_min, len_max, starts_with, match, uuid, unique,
// elements, keys, values, fields, entity_checks, ...), plus the Gatehouse
// extensions "x_gatehouse_validator" (a validator registered with
// RegisterValidator or RegisterRecordValidator) and
// "x_gatehouse_match_message". "match" holds a Lua pattern, as in Kong
// (see Field.Pattern and LuaPatternToRE2). Unknown
// attributes, unknown validator names and ill-typed values are errors
// naming the field's path. The schema loaded validates and renders exactly
// as the schema that was rendered.
func FromJSON(data []byte) (*Schema, error) {
	root, err := decodeObject(data)
	if err != nil {
		return nil, err
	}
	return SchemaFromMap(root, "")
}

// SchemaFromMap loads a schema from a decoded record body, as FromJSON does.
// Numbers must be json.Number (decode with UseNumber). root is the prefix
// the entity checks' paths carry ("config" for a plugin's config checks
// written from the plugin entity, as Kong writes them).
func SchemaFromMap(body map[string]any, root string) (*Schema, error) {
	for k := range body {
		if k != "fields" && k != "entity_checks" {
			return nil, fmt.Errorf("schema: unknown key %q (want fields, entity_checks)", k)
		}
	}
	l := &loader{}
	fields, err := l.fields(body["fields"], "", 0)
	if err != nil {
		return nil, err
	}
	s := &Schema{Fields: fields}
	if raw, ok := body["entity_checks"]; ok {
		checks, err := l.entityChecks(raw, "entity_checks")
		if err != nil {
			return nil, err
		}
		s.AddEntityChecks(root, checks...)
	}
	return s, nil
}

// DecodeJSON decodes a JSON object keeping numbers as json.Number, as
// SchemaFromMap wants them, and refuses trailing data.
func DecodeJSON(data []byte) (map[string]any, error) { return decodeObject(data) }

func decodeObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("schema: invalid JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("schema: invalid JSON: trailing data after the object")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("schema: expected a JSON object")
	}
	return m, nil
}

type loader struct{}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func (l *loader) fields(raw any, path string, depth int) ([]*Field, error) {
	where := "fields"
	if path != "" {
		where = path + ".fields"
	}
	if raw == nil {
		return nil, fmt.Errorf("schema: %s: missing", where)
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("schema: %s: expected an array", where)
	}
	out := make([]*Field, 0, len(list))
	seen := map[string]bool{}
	for i, item := range list {
		obj, ok := item.(map[string]any)
		if !ok || len(obj) != 1 {
			return nil, fmt.Errorf("schema: %s[%d]: expected an object with one key, the field's name", where, i)
		}
		for name, attrs := range obj {
			if name == "" || strings.Contains(name, ".") {
				return nil, fmt.Errorf("schema: %s[%d]: invalid field name %q", where, i, name)
			}
			if seen[name] {
				return nil, fmt.Errorf("schema: %s: field %q declared twice", join(path, name), name)
			}
			seen[name] = true
			f, err := l.field(attrs, join(path, name), depth+1, true)
			if err != nil {
				return nil, err
			}
			f.Name = name
			out = append(out, f)
		}
	}
	return out, nil
}

// field loads one field's attributes. typed is false for the
// constraint-only fields of conditional checks.
func (l *loader) field(raw any, path string, depth int, typed bool) (*Field, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("schema: %s: nested deeper than %d levels", path, maxDepth)
	}
	attrs, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema: %s: expected an object of attributes", path)
	}
	bad := func(key, want string) error {
		return fmt.Errorf("schema: %s: attribute %q: expected %s", path, key, want)
	}
	f := &Field{}
	if t, ok := attrs["type"]; ok {
		s, ok := t.(string)
		if !ok {
			return nil, bad("type", "a string")
		}
		switch Type(s) {
		case String, Integer, Number, Boolean, Array, Set, Map, Record, Foreign, JSON:
			f.Type = Type(s)
		default:
			return nil, fmt.Errorf("schema: %s: unknown type %q", path, s)
		}
	} else if typed {
		return nil, fmt.Errorf("schema: %s: attribute \"type\" missing", path)
	}
	// Sub-fields first: default, one_of and eq are typed by them.
	for _, key := range []string{"elements", "keys", "values"} {
		v, ok := attrs[key]
		if !ok {
			continue
		}
		sub, err := l.field(v, path+"."+key, depth+1, true)
		if err != nil {
			return nil, err
		}
		switch key {
		case "elements":
			if f.Type != Array && f.Type != Set {
				return nil, fmt.Errorf("schema: %s: \"elements\" on a %s field", path, f.Type)
			}
			f.Elements = sub
		case "keys":
			if f.Type != Map {
				return nil, fmt.Errorf("schema: %s: \"keys\" on a %s field", path, f.Type)
			}
			f.Keys = sub
		case "values":
			if f.Type != Map {
				return nil, fmt.Errorf("schema: %s: \"values\" on a %s field", path, f.Type)
			}
			f.Values = sub
		}
	}
	if v, ok := attrs["fields"]; ok {
		if f.Type != Record {
			return nil, fmt.Errorf("schema: %s: \"fields\" on a %s field", path, f.Type)
		}
		fields, err := l.fields(v, path, depth)
		if err != nil {
			return nil, err
		}
		f.Fields = fields
	} else if f.Type == Record {
		return nil, fmt.Errorf("schema: %s: record without \"fields\"", path)
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		v := attrs[key]
		var err error
		switch key {
		case "type", "elements", "keys", "values", "fields":
		case "required":
			b, ok := v.(bool)
			if !ok {
				return nil, bad(key, "a boolean")
			}
			f.Required, f.Optional = b, !b
		case "unique", "auto", "uuid", "timestamp", "immutable", "referenceable", "encrypted", "sensitive", "is_regex":
			b, ok := v.(bool)
			if !ok {
				return nil, bad(key, "a boolean")
			}
			if !b {
				return nil, bad(key, "true (false is the default and is not rendered)")
			}
			switch key {
			case "unique":
				f.Unique = true
			case "auto":
				f.Auto = true
			case "uuid":
				f.UUID = true
			case "timestamp":
				f.Timestamp = true
			case "immutable":
				f.Immutable = true
			case "referenceable":
				f.Referenceable = true
			case "encrypted":
				f.Encrypted = true
			case "sensitive":
				f.Sensitive = true
			case "is_regex":
				f.IsRegex = true
			}
		case "deprecation":
			dm, ok := v.(map[string]any)
			if !ok {
				return nil, bad(key, "an object")
			}
			d := &Deprecation{OldDefault: dm["old_default"]}
			d.Message, _ = dm["message"].(string)
			d.RemovalInVersion, _ = dm["removal_in_version"].(string)
			f.Deprecation = d
		case "default":
			if v == nil {
				continue
			}
			if f.Default, err = typedValue(f, v, path+".default", 0); err != nil {
				return nil, err
			}
		case "eq":
			if v == nil {
				f.Null = true
				continue
			}
			if f.Eq, err = scalarValue(f, v, path+".eq"); err != nil {
				return nil, err
			}
		case "contains":
			switch v.(type) {
			case string, float64, bool:
				f.Contains = v
			default:
				return nil, bad(key, "a scalar")
			}
		case "one_of", "not_one_of":
			list, ok := v.([]any)
			if !ok || len(list) == 0 {
				return nil, bad(key, "a non-empty array")
			}
			out := make([]any, len(list))
			for i, e := range list {
				if out[i], err = scalarValue(f, e, fmt.Sprintf("%s.%s[%d]", path, key, i)); err != nil {
					return nil, err
				}
			}
			if key == "one_of" {
				f.OneOf = out
			} else {
				f.NotOneOf = out
			}
		case "between":
			list, ok := v.([]any)
			if !ok || len(list) != 2 {
				return nil, bad(key, "an array of two numbers")
			}
			lo, ok1 := finite(list[0])
			hi, ok2 := finite(list[1])
			if !ok1 || !ok2 || lo > hi {
				return nil, bad(key, "an array of two numbers, low first")
			}
			f.Between = Range(lo, hi)
		case "gt":
			n, ok := finite(v)
			if !ok {
				return nil, bad(key, "a number")
			}
			f.Gt = Float(n)
		case "len_min", "len_max":
			n, ok := finite(v)
			if !ok || n < 1 || n != math.Trunc(n) || n > math.MaxInt32 {
				return nil, bad(key, "a positive integer")
			}
			if key == "len_min" {
				f.LenMin = int(n)
			} else {
				f.LenMax = int(n)
			}
		case "starts_with", "match", MatchMessageKey, ValidatorKey, "reference", "on_delete", "description":
			s, ok := v.(string)
			if !ok || s == "" {
				return nil, bad(key, "a non-empty string")
			}
			switch key {
			case "starts_with":
				f.StartsWith = s
			case "match":
				if _, err := compilePattern(s); err != nil {
					return nil, fmt.Errorf("schema: %s: attribute \"match\": %v", path, err)
				}
				f.Pattern = s
			case MatchMessageKey:
				f.MatchMessage = s
			case ValidatorKey:
				if _, ok := LookupValidator(s); !ok {
					return nil, fmt.Errorf("schema: %s: unknown validator %q", path, s)
				}
				f.Validator = s
			case "reference":
				if f.Type != Foreign {
					return nil, fmt.Errorf("schema: %s: \"reference\" on a %s field", path, f.Type)
				}
				f.Reference = s
			case "on_delete":
				f.OnDelete = s
			case "description":
				f.Description = s
			}
		case "not_match":
			p, ok := v.(string)
			if !ok {
				return nil, bad(key, "a Lua pattern")
			}
			if _, err := compilePattern(p); err != nil {
				return nil, fmt.Errorf("schema: %s: attribute %q: %v", path, key, err)
			}
			f.NotMatch = p
		case "match_none", "match_all":
			rules, err := patternRules(v, path+"."+key)
			if err != nil {
				return nil, err
			}
			if key == "match_none" {
				f.MatchNone = rules
			} else {
				f.MatchAll = rules
			}
		case "match_any":
			ma, err := matchAny(v, path+"."+key)
			if err != nil {
				return nil, err
			}
			f.MatchAny = ma
		case "entity_checks":
			if f.Type != Record {
				return nil, fmt.Errorf("schema: %s: \"entity_checks\" on a %s field", path, f.Type)
			}
			if f.EntityChecks, err = (&loader{}).entityChecks(v, path+".entity_checks"); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("schema: %s: unknown attribute %q", path, key)
		}
	}
	if f.Type == Foreign && f.Reference == "" {
		return nil, fmt.Errorf("schema: %s: foreign field without \"reference\"", path)
	}
	return f, nil
}

func finite(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	x, err := n.Float64()
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false
	}
	return x, true
}

// scalarValue converts a one_of/eq value to the field's type.
func scalarValue(f *Field, v any, path string) (any, error) {
	switch v.(type) {
	case string, bool, json.Number:
		return typedValue(f, v, path, 0)
	}
	return nil, fmt.Errorf("schema: %s: expected a string, number or boolean", path)
}

// typedValue converts a decoded JSON value to the Go value f's type holds:
// int64 for integers, float64 for numbers, and so on down records, arrays
// and maps; values of untyped places keep integers as int64.
func typedValue(f *Field, v any, path string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("schema: %s: nested deeper than %d levels", path, maxDepth)
	}
	if v == nil {
		return nil, nil
	}
	t := Type("")
	if f != nil {
		t = f.Type
	}
	wrong := func(want string) error { return fmt.Errorf("schema: %s: expected %s", path, want) }
	switch t {
	case String:
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, wrong("a string")
	case Boolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, wrong("a boolean")
	case Integer:
		n, ok := v.(json.Number)
		if !ok {
			return nil, wrong("an integer")
		}
		i, err := n.Int64()
		if err != nil {
			return nil, wrong("an integer")
		}
		return i, nil
	case Number:
		x, ok := finite(v)
		if !ok {
			return nil, wrong("a number")
		}
		return x, nil
	case Array, Set:
		list, ok := v.([]any)
		if !ok {
			return nil, wrong("an array")
		}
		out := make([]any, len(list))
		for i, e := range list {
			var err error
			if out[i], err = typedValue(f.Elements, e, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case Record, Map, Foreign:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, wrong("an object")
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			var sub *Field
			switch t {
			case Record:
				sub = (&Schema{Fields: f.Fields}).Field(k)
			case Map:
				sub = f.Values
			}
			var err error
			if out[k], err = typedValue(sub, e, path+"."+k, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	// Untyped (json fields, constraint-only fields).
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		n, ok := finite(x)
		if !ok {
			return nil, wrong("a finite number")
		}
		return n, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = typedValue(nil, e, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			var err error
			if out[k], err = typedValue(nil, e, path+"."+k, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return v, nil
}

func (l *loader) entityChecks(raw any, path string) ([]EntityCheck, error) {
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("schema: %s: expected an array", path)
	}
	out := make([]EntityCheck, 0, len(list))
	for i, item := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		obj, ok := item.(map[string]any)
		if !ok || len(obj) != 1 {
			return nil, fmt.Errorf("schema: %s: expected an object with one key, the check's name", p)
		}
		for kind, body := range obj {
			c, err := l.entityCheck(kind, body, p+"."+kind)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func stringList(v any, path string) ([]string, error) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("schema: %s: expected a non-empty array of field names", path)
	}
	out := make([]string, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok || s == "" {
			return nil, fmt.Errorf("schema: %s[%d]: expected a field name", path, i)
		}
		out[i] = s
	}
	return out, nil
}

func (l *loader) entityCheck(kind string, body any, path string) (EntityCheck, error) {
	var c EntityCheck
	var err error
	switch kind {
	case "at_least_one_of":
		c.AtLeastOneOf, err = stringList(body, path)
	case "only_one_of":
		c.OnlyOneOf, err = stringList(body, path)
	case "mutually_exclusive":
		c.MutuallyExclusive, err = stringList(body, path)
	case "mutually_required":
		c.MutuallyRequired, err = stringList(body, path)
	case "distinct":
		c.Distinct, err = stringList(body, path)
	case ValidatorKey:
		name, ok := body.(string)
		if !ok || name == "" {
			return c, fmt.Errorf("schema: %s: expected a validator name", path)
		}
		if _, ok := LookupRecordValidator(name); !ok {
			return c, fmt.Errorf("schema: %s: unknown record validator %q", path, name)
		}
		c.Validator = name
	case "conditional", "conditional_at_least_one_of":
		m, ok := body.(map[string]any)
		if !ok {
			return c, fmt.Errorf("schema: %s: expected an object", path)
		}
		str := func(key string) (string, error) {
			s, ok := m[key].(string)
			if !ok || s == "" {
				return "", fmt.Errorf("schema: %s.%s: expected a field name", path, key)
			}
			return s, nil
		}
		match := func(key string, must bool) (*Field, error) {
			v, ok := m[key]
			if !ok {
				if must {
					return nil, fmt.Errorf("schema: %s.%s: missing", path, key)
				}
				return nil, nil
			}
			return l.field(v, path+"."+key, 1, false)
		}
		allowed := map[string]bool{"if_field": true, "if_match": true, "then_err": true}
		if kind == "conditional" {
			allowed["then_field"], allowed["then_match"] = true, true
		} else {
			allowed["then_at_least_one_of"], allowed["else_match"], allowed["else_then_at_least_one_of"], allowed["else_then_err"] = true, true, true, true
		}
		errText := func(key string) (string, error) {
			v, ok := m[key]
			if !ok {
				return "", nil
			}
			s, ok := v.(string)
			if !ok || s == "" || strings.Count(s, "%") != strings.Count(s, "%s") || strings.Count(s, "%s") > 1 {
				return "", fmt.Errorf("schema: %s.%s: expected a message with at most one %%s", path, key)
			}
			return s, nil
		}
		thenErr, err := errText("then_err")
		if err != nil {
			return c, err
		}
		for k := range m {
			if !allowed[k] {
				return c, fmt.Errorf("schema: %s: unknown key %q", path, k)
			}
		}
		ifField, err := str("if_field")
		if err != nil {
			return c, err
		}
		ifMatch, err := match("if_match", true)
		if err != nil {
			return c, err
		}
		if kind == "conditional" {
			k := &ConditionalCheck{IfField: ifField, IfMatch: ifMatch, ThenErr: thenErr}
			if k.ThenField, err = str("then_field"); err != nil {
				return c, err
			}
			if k.ThenMatch, err = match("then_match", true); err != nil {
				return c, err
			}
			c.Conditional = k
			return c, nil
		}
		k := &ConditionalAtLeastOneOf{IfField: ifField, IfMatch: ifMatch, ThenErr: thenErr}
		if k.ElseThenErr, err = errText("else_then_err"); err != nil {
			return c, err
		}
		if v, ok := m["then_at_least_one_of"]; ok {
			if k.ThenAtLeastOneOf, err = stringList(v, path+".then_at_least_one_of"); err != nil {
				return c, err
			}
		}
		if k.ElseMatch, err = match("else_match", false); err != nil {
			return c, err
		}
		if v, ok := m["else_then_at_least_one_of"]; ok {
			if k.ElseThenAtLeastOneOf, err = stringList(v, path+".else_then_at_least_one_of"); err != nil {
				return c, err
			}
		}
		c.ConditionalAtLeastOneOf = k
	default:
		return c, fmt.Errorf("schema: %s: unknown entity check %q", path, kind)
	}
	return c, err
}

func patternRules(v any, path string) ([]PatternRule, error) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("schema: %s: expected a non-empty array of {pattern, err}", path)
	}
	out := make([]PatternRule, len(list))
	for i, e := range list {
		m, ok := e.(map[string]any)
		p, _ := m["pattern"].(string)
		if !ok || p == "" {
			return nil, fmt.Errorf("schema: %s[%d]: expected {\"pattern\": <Lua pattern>, \"err\": <message>}", path, i)
		}
		for k := range m {
			if k != "pattern" && k != "err" {
				return nil, fmt.Errorf("schema: %s[%d]: unknown key %q", path, i, k)
			}
		}
		if _, err := compilePattern(p); err != nil {
			return nil, fmt.Errorf("schema: %s[%d]: %v", path, i, err)
		}
		out[i].Pattern = p
		if e, has := m["err"]; has {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("schema: %s[%d].err: expected a string", path, i)
			}
			out[i].Err = s
		}
	}
	return out, nil
}

func matchAny(v any, path string) (*MatchAny, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema: %s: expected {\"patterns\": [...], \"err\": <message>}", path)
	}
	out := &MatchAny{}
	for k, e := range m {
		switch k {
		case "patterns":
			list, ok := e.([]any)
			if !ok || len(list) == 0 {
				return nil, fmt.Errorf("schema: %s.patterns: expected a non-empty array of Lua patterns", path)
			}
			for i, x := range list {
				p, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("schema: %s.patterns[%d]: expected a Lua pattern", path, i)
				}
				if _, err := compilePattern(p); err != nil {
					return nil, fmt.Errorf("schema: %s.patterns[%d]: %v", path, i, err)
				}
				out.Patterns = append(out.Patterns, p)
			}
		case "err":
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("schema: %s.err: expected a string", path)
			}
			out.Err = s
		default:
			return nil, fmt.Errorf("schema: %s: unknown key %q", path, k)
		}
	}
	if out.Patterns == nil {
		return nil, fmt.Errorf("schema: %s.patterns: missing", path)
	}
	return out, nil
}
