package plugin

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"

	"github.com/gatehouse/gatehouse/store/schema"
)

// ConfigTag is the struct tag naming the schema field a config struct
// field is decoded from: `config:"key_names"`. A field without the tag is
// left alone, except an embedded struct without it, whose tagged fields
// are decoded from the same record.
const ConfigTag = "config"

// Decode fills dst, a pointer to a plugin's own configuration struct, from
// a configuration map, driven by dst's `config:"name"` tags, each naming a
// field of s. A field absent or null in config takes the schema field's
// Default, so a configuration the store did not process (a test's, a
// provider's) decodes exactly as a stored one; a field with neither a
// value nor a default is the Go zero value (nil for a pointer, a slice or
// a map). Records decode into structs (their absent fields get their own
// defaults), arrays and sets into slices, maps into maps with string keys,
// and any value into an `any` field. A value of the wrong type is an error
// naming the field ("key_names: expected an array, got string"); every
// such error is reported, joined. A tag naming a field s does not declare
// is an error too: it is a mistake in the plugin.
func Decode(s *schema.Schema, config map[string]any, dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("plugin: Decode needs a pointer to a struct, got %T", dst)
	}
	var fields []*schema.Field
	if s != nil {
		fields = s.Fields
	}
	d := &decoder{}
	d.record(fields, config, rv.Elem(), "")
	return errors.Join(d.errs...)
}

// decoder collects the errors of one Decode.
type decoder struct{ errs []error }

func (d *decoder) fail(path, format string, args ...any) {
	d.errs = append(d.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

// record decodes a record's map into the tagged fields of a struct.
func (d *decoder) record(fields []*schema.Field, m map[string]any, dst reflect.Value, prefix string) {
	t := dst.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, tagged := sf.Tag.Lookup(ConfigTag)
		if !tagged && sf.Type == scopeType {
			if prefix == "" {
				dst.Field(i).Set(reflect.ValueOf(ScopeOf(m)))
			}
			continue
		}
		if !tagged {
			if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
				d.record(fields, m, dst.Field(i), prefix)
			}
			continue
		}
		if name == "-" {
			continue
		}
		path := prefix + name
		if !sf.IsExported() {
			d.fail(path, "tagged field %s.%s is not exported", t.Name(), sf.Name)
			continue
		}
		f := fieldNamed(fields, name)
		if f == nil {
			d.fail(path, "%s.%s names no field of the schema", t.Name(), sf.Name)
			continue
		}
		v := m[name]
		if v == nil {
			v = f.Default
		}
		d.value(f, v, dst.Field(i), path)
	}
}

func fieldNamed(fields []*schema.Field, name string) *schema.Field {
	for _, f := range fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// value decodes v, a value of schema field f (nil for null), into dst.
func (d *decoder) value(f *schema.Field, v any, dst reflect.Value, path string) {
	if v == nil {
		switch dst.Kind() {
		case reflect.Struct:
			// A record left out still carries its fields' defaults.
			d.record(recordFields(f), nil, dst, path+".")
		default:
			dst.SetZero()
		}
		return
	}
	switch dst.Kind() {
	case reflect.Pointer:
		p := reflect.New(dst.Type().Elem())
		d.value(f, v, p.Elem(), path)
		dst.Set(p)
	case reflect.Interface:
		c := reflect.ValueOf(schema.Clone(v))
		if !c.Type().AssignableTo(dst.Type()) {
			d.fail(path, "cannot hold %T in %s", v, dst.Type())
			return
		}
		dst.Set(c)
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			d.fail(path, "expected a string, got %T", v)
			return
		}
		dst.SetString(s)
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			d.fail(path, "expected a boolean, got %T", v)
			return
		}
		dst.SetBool(b)
	case reflect.Float32, reflect.Float64:
		n, ok := number(v)
		if !ok {
			d.fail(path, "expected a number, got %T", v)
			return
		}
		dst.SetFloat(n)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := number(v)
		if !ok || n != math.Trunc(n) || dst.OverflowInt(int64(n)) {
			d.fail(path, "expected an integer, got %v", v)
			return
		}
		dst.SetInt(int64(n))
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			d.fail(path, "expected an array, got %T", v)
			return
		}
		out := reflect.MakeSlice(dst.Type(), len(list), len(list))
		before := len(d.errs)
		for i, e := range list {
			d.value(elementField(f), e, out.Index(i), fmt.Sprintf("%s[%d]", path, i+1))
		}
		if len(d.errs) == before {
			dst.Set(out)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok || dst.Type().Key().Kind() != reflect.String {
			d.fail(path, "expected a map, got %T", v)
			return
		}
		out := reflect.MakeMapWithSize(dst.Type(), len(m))
		for k, e := range m {
			ev := reflect.New(dst.Type().Elem()).Elem()
			d.value(valuesField(f), e, ev, path+"."+k)
			out.SetMapIndex(reflect.ValueOf(k).Convert(dst.Type().Key()), ev)
		}
		dst.Set(out)
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			d.fail(path, "expected a record, got %T", v)
			return
		}
		d.record(recordFields(f), m, dst, path+".")
	default:
		d.fail(path, "cannot decode into %s", dst.Type())
	}
}

// number reads a number as the store (float64, int64) or a Go literal
// (int) delivers it.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	}
	return 0, false
}

func recordFields(f *schema.Field) []*schema.Field {
	if f == nil {
		return nil
	}
	return f.Fields
}

func elementField(f *schema.Field) *schema.Field {
	if f == nil {
		return nil
	}
	return f.Elements
}

func valuesField(f *schema.Field) *schema.Field {
	if f == nil {
		return nil
	}
	return f.Values
}

// CheckDefaults reports, joined, every tagged field of cfg (a config
// struct or a pointer to one) whose value differs from what the schema's
// Default for it decodes to (the zero value when the field has no
// default), recursing into records. Applied to a configuration decoded
// from only its required fields, it proves the plugin takes its defaults
// from the schema and sets none in Go.
func CheckDefaults(s *schema.Schema, cfg any) error {
	rv := reflect.ValueOf(cfg)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return fmt.Errorf("plugin: CheckDefaults needs a struct, got %T", cfg)
	}
	var fields []*schema.Field
	if s != nil {
		fields = s.Fields
	}
	var errs []error
	checkDefaults(fields, rv, "", &errs)
	return errors.Join(errs...)
}

func checkDefaults(fields []*schema.Field, got reflect.Value, prefix string, errs *[]error) {
	t := got.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, tagged := sf.Tag.Lookup(ConfigTag)
		if !tagged && sf.Type == scopeType {
			continue // filled from the node's keys, not the schema
		}
		if !tagged {
			if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
				checkDefaults(fields, got.Field(i), prefix, errs)
			}
			continue
		}
		if name == "-" {
			continue
		}
		path := prefix + name
		f := fieldNamed(fields, name)
		if f == nil {
			*errs = append(*errs, fmt.Errorf("%s: %s.%s names no field of the schema", path, t.Name(), sf.Name))
			continue
		}
		gv := got.Field(i)
		if gv.Kind() == reflect.Struct && f.Default == nil {
			checkDefaults(f.Fields, gv, path+".", errs)
			continue
		}
		want := reflect.New(gv.Type()).Elem()
		d := &decoder{}
		d.value(f, f.Default, want, path)
		if len(d.errs) > 0 {
			*errs = append(*errs, fmt.Errorf("%s: the schema's default does not decode: %w", path, errors.Join(d.errs...)))
			continue
		}
		if !reflect.DeepEqual(gv.Interface(), want.Interface()) {
			*errs = append(*errs, fmt.Errorf("%s: decoded %s, the schema's default is %s",
				path, show(gv), show(want)))
		}
	}
}

func show(v reflect.Value) string {
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	s := fmt.Sprintf("%#v", v.Interface())
	return strings.ReplaceAll(s, "interface {}", "any")
}

// Typed makes d a plugin with its own configuration type C: d.New decodes
// the configuration with Decode against d.Schema.Config (so every default
// comes from the schema) and passes it to build, and DecodeConfig decodes
// into a new C. It returns d, for use in a Register call.
func Typed[C any](d *Definition, build func(C) (any, error)) *Definition {
	d.decode = func(config map[string]any) (any, error) { return DecodeAs[C](d, config) }
	d.New = func(config map[string]any) (any, error) {
		c, err := DecodeAs[C](d, config)
		if err != nil {
			return nil, err
		}
		return build(c)
	}
	return d
}

// DecodeAs decodes a configuration of the plugin d into a new C; errors
// name the plugin ("key-auth: key_names: expected an array, got string").
func DecodeAs[C any](d *Definition, config map[string]any) (C, error) {
	var c C
	var s *schema.Schema
	if d.Schema != nil {
		s = d.Schema.Config
	}
	if err := Decode(s, config, &c); err != nil {
		return c, prefixErrors(d.Name, err)
	}
	return c, nil
}

// prefixErrors puts the plugin name before each of a joined error's lines.
func prefixErrors(name string, err error) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			errs = append(errs, fmt.Errorf("%s: %w", name, e))
		}
		return errors.Join(errs...)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// DecodeConfig decodes a configuration into the plugin's own config type,
// as its instances get it; ok is false for a plugin not made with Typed.
func (d *Definition) DecodeConfig(config map[string]any) (cfg any, ok bool, err error) {
	if d.decode == nil {
		return nil, false, nil
	}
	cfg, err = d.decode(config)
	return cfg, true, err
}
