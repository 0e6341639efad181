package sdk

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Field is one field of a plugin's configuration schema, in Kong's terms.
// SchemaOf builds them from a Go struct:
//
//   - the name is the field's json tag name (the Go name when there is
//     none; `json:"-"` and unexported fields are left out);
//   - the type follows the Go type: string "string", bool "boolean",
//     integers "integer", floats "number", structs "record" (nested),
//     slices and arrays "array" ("set" with `set:"true"`), maps with
//     string keys "map"; a pointer is its element's type;
//   - tags add Kong's rules: `required:"true"`, `default:"..."` (the
//     value as written for a string, JSON for any other type:
//     `default:"5"`, `default:"[\"a\",\"b\"]"`), `one_of:"a,b,c"`,
//     `between:"1,10"`, `len_min:"1"`, `len_max:"64"` (strings, arrays),
//     `match:"^[a-z]+$"` (a Go regular expression, checked by the SDK;
//     Kong's schema gets it as its `match` pattern) and
//     `description:"..."`.
type Field struct {
	Name        string
	Type        string
	Required    bool
	Default     any
	HasDefault  bool
	OneOf       []any
	Between     []float64
	LenMin      *int
	LenMax      *int
	Match       string
	Description string
	// Fields are a record's fields, in struct order.
	Fields []*Field
	// Elements is an array's or set's element.
	Elements *Field
	// Values is a map's value (keys are strings).
	Values *Field

	match *regexp.Regexp
}

// Kong renders the field as Kong's schema JSON shows it: {"type":
// "record", "fields": [{"name": {...}}, ...]} for a record.
func (f *Field) Kong() map[string]any {
	m := map[string]any{"type": f.Type}
	if f.Required {
		m["required"] = true
	}
	if f.HasDefault {
		m["default"] = f.Default
	}
	if f.OneOf != nil {
		m["one_of"] = f.OneOf
	}
	if f.Between != nil {
		m["between"] = f.Between
	}
	if f.LenMin != nil {
		m["len_min"] = *f.LenMin
	}
	if f.LenMax != nil {
		m["len_max"] = *f.LenMax
	}
	if f.Match != "" {
		m["match"] = f.Match
	}
	if f.Description != "" {
		m["description"] = f.Description
	}
	switch f.Type {
	case "record":
		fields := make([]any, 0, len(f.Fields))
		for _, sub := range f.Fields {
			fields = append(fields, map[string]any{sub.Name: sub.Kong()})
		}
		m["fields"] = fields
	case "array", "set":
		m["elements"] = f.Elements.Kong()
	case "map":
		m["keys"] = map[string]any{"type": "string"}
		m["values"] = f.Values.Kong()
	}
	return m
}

var schemas sync.Map // reflect.Type -> schemaEntry

type schemaEntry struct {
	f   *Field
	err error
}

// SchemaOf returns the configuration record described by the struct C (see
// Field for the rules). The result is cached per type; callers must not
// modify it.
func SchemaOf[C any]() (*Field, error) {
	t := reflect.TypeFor[C]()
	if e, ok := schemas.Load(t); ok {
		return e.(schemaEntry).f, e.(schemaEntry).err
	}
	if t.Kind() != reflect.Struct {
		err := fmt.Errorf("sdk: the configuration type %s is not a struct", t)
		schemas.Store(t, schemaEntry{err: err})
		return nil, err
	}
	f, err := fieldOf(t, "", reflect.StructTag(""), map[reflect.Type]bool{})
	if err != nil {
		err = fmt.Errorf("sdk: configuration %s: %w", t, err)
	}
	schemas.Store(t, schemaEntry{f, err})
	return f, err
}

func fieldOf(t reflect.Type, name string, tag reflect.StructTag, seen map[reflect.Type]bool) (*Field, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	f := &Field{Name: name}
	switch t.Kind() {
	case reflect.String:
		f.Type = "string"
	case reflect.Bool:
		f.Type = "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		f.Type = "integer"
	case reflect.Float32, reflect.Float64:
		f.Type = "number"
	case reflect.Slice, reflect.Array:
		f.Type = "array"
		if tag.Get("set") == "true" {
			f.Type = "set"
		}
		el, err := fieldOf(t.Elem(), "", "", seen)
		if err != nil {
			return nil, fmt.Errorf("%s: elements: %w", name, err)
		}
		f.Elements = el
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("%s: map keys must be strings, not %s", name, t.Key())
		}
		f.Type = "map"
		v, err := fieldOf(t.Elem(), "", "", seen)
		if err != nil {
			return nil, fmt.Errorf("%s: values: %w", name, err)
		}
		f.Values = v
	case reflect.Struct:
		if seen[t] {
			return nil, fmt.Errorf("%s: recursive type %s", name, t)
		}
		seen[t] = true
		defer delete(seen, t)
		f.Type = "record"
		f.Fields = []*Field{}
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			fname := sf.Name
			if j, ok := sf.Tag.Lookup("json"); ok {
				n, _, _ := strings.Cut(j, ",")
				if n == "-" {
					continue
				}
				if n != "" {
					fname = n
				}
			}
			sub, err := fieldOf(sf.Type, fname, sf.Tag, seen)
			if err != nil {
				if name != "" {
					return nil, fmt.Errorf("%s.%w", name, err)
				}
				return nil, err
			}
			f.Fields = append(f.Fields, sub)
		}
	default:
		return nil, fmt.Errorf("%s: unsupported type %s", name, t)
	}
	if err := f.tags(tag); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}

// tags reads the rule tags of a field.
func (f *Field) tags(tag reflect.StructTag) error {
	f.Required = tag.Get("required") == "true"
	f.Description = tag.Get("description")
	if d, ok := tag.Lookup("default"); ok {
		v, err := f.parse(d)
		if err != nil {
			return fmt.Errorf("default %q: %w", d, err)
		}
		f.Default, f.HasDefault = v, true
	}
	if o, ok := tag.Lookup("one_of"); ok {
		f.OneOf = []any{}
		for _, s := range strings.Split(o, ",") {
			v, err := f.parse(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("one_of %q: %w", s, err)
			}
			f.OneOf = append(f.OneOf, v)
		}
	}
	if b, ok := tag.Lookup("between"); ok {
		lo, hi, found := strings.Cut(b, ",")
		l, err1 := strconv.ParseFloat(strings.TrimSpace(lo), 64)
		h, err2 := strconv.ParseFloat(strings.TrimSpace(hi), 64)
		if !found || err1 != nil || err2 != nil || l > h || (f.Type != "integer" && f.Type != "number") {
			return fmt.Errorf("between %q: want \"min,max\" on a number", b)
		}
		f.Between = []float64{l, h}
	}
	for _, x := range []struct {
		key string
		dst **int
	}{{"len_min", &f.LenMin}, {"len_max", &f.LenMax}} {
		if s, ok := tag.Lookup(x.key); ok {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return fmt.Errorf("%s %q: want a length", x.key, s)
			}
			*x.dst = &n
		}
	}
	if m, ok := tag.Lookup("match"); ok {
		re, err := regexp.Compile(m)
		if err != nil {
			return fmt.Errorf("match %q: %w", m, err)
		}
		f.Match, f.match = m, re
	}
	return nil
}

// parse reads a tag value of the field's type: a string as written, any
// other type as JSON.
func (f *Field) parse(s string) (any, error) {
	if f.Type == "string" {
		return s, nil
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, err
	}
	if err := f.typeOK(v); err != nil {
		return nil, err
	}
	return v, nil
}

// typeOK checks that a decoded JSON value has the field's type.
func (f *Field) typeOK(v any) error {
	ok := true
	switch f.Type {
	case "string":
		_, ok = v.(string)
	case "boolean":
		_, ok = v.(bool)
	case "integer":
		n, isNum := number(v)
		ok = isNum && n == float64(int64(n))
	case "number":
		_, ok = number(v)
	case "array", "set":
		_, ok = v.([]any)
	case "map", "record":
		_, ok = v.(map[string]any)
	}
	if !ok {
		return fmt.Errorf("expected %s", article(f.Type))
	}
	return nil
}

func article(t string) string {
	switch t {
	case "integer", "array":
		return "an " + t
	}
	return "a " + t
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case json.Number:
		x, err := n.Float64()
		return x, err == nil
	}
	return 0, false
}

// check fills the record's missing defaults into m and returns the rule
// violations, each prefixed with the field's path.
func (f *Field) check(m map[string]any, path string) []string {
	var errs []string
	for _, sub := range f.Fields {
		p := sub.Name
		if path != "" {
			p = path + "." + sub.Name
		}
		v, present := m[sub.Name]
		if !present || v == nil {
			switch {
			case sub.HasDefault:
				m[sub.Name] = sub.Default
				continue
			case sub.Type == "record" && !sub.Required:
				// Kong fills a record's defaults even when it is absent.
				inner := map[string]any{}
				if e := sub.check(inner, p); len(e) > 0 {
					errs = append(errs, e...)
				}
				continue
			case sub.Required:
				errs = append(errs, p+": required field missing")
			}
			continue
		}
		errs = append(errs, sub.checkValue(v, p)...)
	}
	return errs
}

// checkValue checks one present value.
func (f *Field) checkValue(v any, p string) []string {
	if err := f.typeOK(v); err != nil {
		return []string{p + ": " + err.Error()}
	}
	var errs []string
	if f.OneOf != nil {
		found := false
		for _, o := range f.OneOf {
			if equalJSON(o, v) {
				found = true
				break
			}
		}
		if !found {
			var names []string
			for _, o := range f.OneOf {
				names = append(names, fmt.Sprint(o))
			}
			errs = append(errs, p+": expected one of: "+strings.Join(names, ", "))
		}
	}
	if f.Between != nil {
		if n, _ := number(v); n < f.Between[0] || n > f.Between[1] {
			errs = append(errs, fmt.Sprintf("%s: value should be between %v and %v", p, f.Between[0], f.Between[1]))
		}
	}
	length := -1
	switch x := v.(type) {
	case string:
		length = len([]rune(x))
	case []any:
		length = len(x)
	}
	if length >= 0 && f.LenMin != nil && length < *f.LenMin {
		errs = append(errs, fmt.Sprintf("%s: length must be at least %d", p, *f.LenMin))
	}
	if length >= 0 && f.LenMax != nil && length > *f.LenMax {
		errs = append(errs, fmt.Sprintf("%s: length must be at most %d", p, *f.LenMax))
	}
	if s, ok := v.(string); ok && f.match != nil && !f.match.MatchString(s) {
		errs = append(errs, fmt.Sprintf("%s: invalid value: %s", p, s))
	}
	switch f.Type {
	case "record":
		errs = append(errs, f.check(v.(map[string]any), p)...)
	case "array", "set":
		for i, e := range v.([]any) {
			if e == nil {
				errs = append(errs, fmt.Sprintf("%s[%d]: required field missing", p, i+1))
				continue
			}
			errs = append(errs, f.Elements.checkValue(e, fmt.Sprintf("%s[%d]", p, i+1))...)
		}
	case "map":
		for k, e := range v.(map[string]any) {
			if e != nil {
				errs = append(errs, f.Values.checkValue(e, p+"."+k)...)
			}
		}
	}
	return errs
}

func equalJSON(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}
