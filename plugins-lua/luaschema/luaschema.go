// Package luaschema converts the schemas of Kong Lua plugins (schema.lua
// of every generation: the 0.x `fields = { name = {...} }` form and the
// 1.x–3.x form built with kong.db.schema.typedefs) and their daos.lua
// entities into Kong's JSON rendering, the form Gatehouse loads plugin
// and entity schemas from (hostabi.Definition.Schema,
// hostabi.EntityDefinition.Schema). What cannot be data — custom_validator
// functions, custom_entity_check, the 0.x self_check and field func — stays
// in Lua: Schema.Validate runs it in a state of the plugin.
package luaschema

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/plugins-lua/luavalue"
)

// maxDepth bounds the nesting of converted fields.
const maxDepth = 32

// Schema is a converted plugin schema.
type Schema struct {
	// Name is the plugin's name.
	Name string
	// Legacy reports a 0.x schema (no name, fields by name).
	Legacy bool
	// Rendering is Kong's `GET /schemas/plugins/{name}` body:
	// {"fields": [{"consumer": ...}, {"protocols": ...}, {"config": ...}]}
	// plus "entity_checks" when the schema has top-level ones.
	Rendering map[string]any
	// Ignored lists attributes the conversion accepted without effect
	// (shorthand_fields, 0.x regex, ...), as "path: attribute".
	Ignored []string

	checks []check
}

// check kinds.
const (
	kindField      = iota // custom_validator: fn(value) -> ok, err
	kindLegacyFunc        // 0.x func: fn(value, config, name) -> ok, err
	kindEntity            // custom_entity_check: fn(input) -> ok, err
	kindSelfCheck         // 0.x self_check(schema, config, dao, is_updating)
)

// check is one Lua function of the schema to run at validation.
type check struct {
	kind int
	// path is the field's path in the config; "*" stands for every
	// element of an array or set and every value of a map.
	path []string
	// loc leads from the schema module's value to the function.
	loc []lua.LValue
	// root is true for entity checks written from the plugin entity
	// (sources "config.x"), false for the config record's.
	root bool
	// sources are custom_entity_check's field_sources.
	sources []string
}

// HasChecks reports whether the schema has Lua parts to run at
// validation.
func (s *Schema) HasChecks() bool { return s != nil && len(s.checks) > 0 }

// Convert converts the value a plugin's schema module returned. L is
// the state that loaded it (typedefs' validators are recognised by
// identity there).
func Convert(L *lua.LState, name string, v lua.LValue) (*Schema, error) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("schema: the module returned a %s, want a table", v.Type())
	}
	c := &converter{L: L, s: &Schema{Name: name}}
	var err error
	if t.RawGetString("name") == lua.LNil {
		c.s.Legacy = true
		err = c.legacy(t)
	} else {
		err = c.modern(t, name)
	}
	if err != nil {
		return nil, err
	}
	return c.s, nil
}

type converter struct {
	L *lua.LState
	s *Schema
	// entity is set when converting a daos.lua entity: functions are
	// dropped (noted in Ignored) instead of becoming checks.
	entity bool
}

func (c *converter) ignore(path []string, attr string) {
	p := strings.Join(path, ".")
	if p == "" {
		p = "schema"
	}
	c.s.Ignored = append(c.s.Ignored, p+": "+attr)
}

// modern converts the 1.x–3.x form.
func (c *converter) modern(t *lua.LTable, name string) error {
	// Kong files a plugin's schema under the plugin's name whatever its
	// own name says; so does Gatehouse.
	if n, ok := t.RawGetString("name").(lua.LString); !ok || string(n) != name {
		c.ignore(nil, fmt.Sprintf("name %s (the plugin is %s)", t.RawGetString("name").String(), name))
	}
	list, ok := t.RawGetString("fields").(*lua.LTable)
	if !ok {
		return errors.New("schema: fields: expected a table")
	}
	var fields []any
	var err error
	forEachField(list, func(i int, fname string, ft lua.LValue) {
		if err != nil {
			return
		}
		fd, ok := ft.(*lua.LTable)
		if !ok {
			err = fmt.Errorf("schema: fields[%d] %s: expected a table", i, fname)
			return
		}
		loc := []lua.LValue{lua.LString("fields"), lua.LNumber(i), lua.LString(fname)}
		switch fname {
		case "consumer", "route", "service":
			ref := map[string]string{"consumer": "consumers", "route": "routes", "service": "services"}[fname]
			attrs := map[string]any{"type": "foreign", "reference": ref}
			eq := fd.RawGetString("eq")
			if luavalue.IsNull(eq) {
				attrs["eq"] = nil
			} else if eq != lua.LNil {
				err = fmt.Errorf("schema: %s: only eq = null (no_%s) is supported", fname, fname)
				return
			}
			fields = append(fields, map[string]any{fname: attrs})
		case "protocols":
			var attrs map[string]any
			attrs, err = c.field(fd, []string{"protocols"}, loc, 0, true)
			if err == nil {
				fields = append(fields, map[string]any{fname: attrs})
			}
		case "config":
			var attrs map[string]any
			attrs, err = c.field(fd, nil, loc, 0, true)
			if err == nil {
				if attrs["type"] != "record" {
					err = errors.New("schema: config: expected a record")
					return
				}
				delete(attrs, "required")
				fields = append(fields, map[string]any{fname: attrs})
			}
		default:
			// run_on, consumer_group, ...: fields of Kong's plugin
			// entity Gatehouse's does not have.
			c.ignore([]string{fname}, "field of the plugin entity")
		}
	})
	if err != nil {
		return err
	}
	c.s.Rendering = map[string]any{"fields": fields}
	if ec, ok := t.RawGetString("entity_checks").(*lua.LTable); ok {
		checks, err := c.entityChecks(ec, nil, []lua.LValue{lua.LString("entity_checks")}, true)
		if err != nil {
			return err
		}
		if len(checks) > 0 {
			c.s.Rendering["entity_checks"] = checks
		}
	}
	c.mergeEntityChecks()
	if t.RawGetString("shorthand_fields") != lua.LNil {
		c.ignore(nil, "shorthand_fields")
	}
	return nil
}

// forEachField walks a Kong field list ({ { name = {...} }, ... }) in
// order.
func forEachField(list *lua.LTable, fn func(i int, name string, def lua.LValue)) {
	for i := 1; i <= list.Len(); i++ {
		item, ok := list.RawGetInt(i).(*lua.LTable)
		if !ok {
			fn(i, fmt.Sprintf("#%d", i), list.RawGetInt(i))
			continue
		}
		k, v := item.Next(lua.LNil)
		name, ok := k.(lua.LString)
		if !ok {
			// { name = nil }: most often a typedef this host lacks.
			fn(i, fmt.Sprintf("#%d (empty: a typedef Gatehouse lacks?)", i), lua.LNil)
			continue
		}
		fn(i, string(name), v)
	}
}

// field converts one field's attributes. path is the field's path in the
// config (nil for config itself); typed is false for the constraint-only
// fields of conditional checks.
func (c *converter) field(t *lua.LTable, path []string, loc []lua.LValue, depth int, typed bool) (map[string]any, error) {
	where := strings.Join(path, ".")
	if where == "" {
		where = "config"
	}
	if depth > maxDepth {
		return nil, fmt.Errorf("schema: %s: nested deeper than %d levels", where, maxDepth)
	}
	out := map[string]any{}
	typ := ""
	if tv, ok := t.RawGetString("type").(lua.LString); ok {
		typ = string(tv)
		switch typ {
		case "string", "integer", "number", "boolean", "array", "set", "map", "record", "foreign", "json":
		default:
			return nil, fmt.Errorf("schema: %s: type %q is not supported", where, typ)
		}
		out["type"] = typ
	} else if typed {
		return nil, fmt.Errorf("schema: %s: type missing", where)
	}
	keys := sortedKeys(t)
	var err error
	for _, key := range keys {
		v := t.RawGetString(key)
		sub := func(k string) []lua.LValue { return appendLoc(loc, lua.LString(k)) }
		switch key {
		case "type":
		case "required", "unique", "auto", "uuid", "timestamp", "immutable", "referenceable", "encrypted", "sensitive":
			b, ok := v.(lua.LBool)
			if !ok {
				return nil, fmt.Errorf("schema: %s: %s: expected a boolean", where, key)
			}
			if key == "required" {
				if typ != "record" && !bool(b) {
					continue // required = false is the default
				}
				out[key] = bool(b)
			} else if b {
				out[key] = true
			}
		case "default":
			d, err := c.value(v, typ)
			if err != nil {
				return nil, fmt.Errorf("schema: %s: default: %w", where, err)
			}
			if d != nil {
				out[key] = d
			}
		case "eq":
			if luavalue.IsNull(v) {
				out[key] = nil
				continue
			}
			if out[key], err = c.value(v, ""); err != nil {
				return nil, fmt.Errorf("schema: %s: eq: %w", where, err)
			}
		case "one_of", "not_one_of", "between", "match_none", "match_all", "match_any":
			x, err := c.value(v, "")
			if err != nil {
				return nil, fmt.Errorf("schema: %s: %s: %w", where, key, err)
			}
			out[key] = x
		case "gt", "len_max", "len_eq", "contains":
			x, err := c.value(v, "")
			if err != nil {
				return nil, fmt.Errorf("schema: %s: %s: %w", where, key, err)
			}
			if key == "len_eq" {
				out["len_min"], out["len_max"] = x, x
				continue
			}
			out[key] = x
		case "len_min":
			n, ok := v.(lua.LNumber)
			if !ok {
				return nil, fmt.Errorf("schema: %s: len_min: expected a number", where)
			}
			if n < 1 {
				// Gatehouse's strings are never empty, as Kong's
				// default len_min = 1; len_min = 0 cannot be said.
				c.ignore(path, "len_min = 0")
				continue
			}
			out[key] = int64(n)
		case "starts_with", "match", "not_match", "reference", "on_delete", "description":
			s, ok := v.(lua.LString)
			if !ok {
				return nil, fmt.Errorf("schema: %s: %s: expected a string", where, key)
			}
			out[key] = string(s)
		case "elements", "keys", "values":
			st, ok := v.(*lua.LTable)
			if !ok {
				return nil, fmt.Errorf("schema: %s: %s: expected a table", where, key)
			}
			p := append(append([]string(nil), path...), "*")
			if key == "keys" {
				p = append(append([]string(nil), path...), "<key>")
			}
			if out[key], err = c.field(st, p, sub(key), depth+1, true); err != nil {
				return nil, err
			}
		case "fields":
			list, ok := v.(*lua.LTable)
			if !ok {
				return nil, fmt.Errorf("schema: %s: fields: expected a table", where)
			}
			var fields []any
			var ferr error
			forEachField(list, func(i int, fname string, fv lua.LValue) {
				if ferr != nil {
					return
				}
				ft, ok := fv.(*lua.LTable)
				if !ok {
					ferr = fmt.Errorf("schema: %s.fields[%d]: expected { name = { ... } }", where, i)
					return
				}
				attrs, err := c.field(ft, append(append([]string(nil), path...), fname), appendLoc(sub("fields"), lua.LNumber(i), lua.LString(fname)), depth+1, true)
				if err != nil {
					ferr = err
					return
				}
				fields = append(fields, map[string]any{fname: attrs})
			})
			if ferr != nil {
				return nil, ferr
			}
			if fields == nil {
				fields = []any{}
			}
			out[key] = fields
		case "entity_checks":
			ec, ok := v.(*lua.LTable)
			if !ok {
				return nil, fmt.Errorf("schema: %s: entity_checks: expected a table", where)
			}
			checks, err := c.entityChecks(ec, path, sub(key), false)
			if err != nil {
				return nil, err
			}
			if len(checks) > 0 {
				out[key] = checks
			}
		case "custom_validator":
			if _, ok := v.(*lua.LFunction); !ok {
				return nil, fmt.Errorf("schema: %s: custom_validator: expected a function", where)
			}
			if name := namedValidator(c.L, v); name != "" {
				out["x_gatehouse_validator"] = name
				continue
			}
			if c.entity {
				c.ignore(path, "custom_validator (entity fields)")
				continue
			}
			if !typed {
				return nil, fmt.Errorf("schema: %s: custom_validator in a conditional check is not supported", where)
			}
			c.s.checks = append(c.s.checks, check{kind: kindField, path: clonePath(path), loc: sub(key)})
		case "shorthand_fields", "deprecation", "translate_backwards", "legacy", "nilable", "err",
			"examples", "indexed", "is_regex", "mutually_exclusive_subsets", "abstract", "generate_admin_api", "json_schema", "func":
			c.ignore(path, key)
		default:
			return nil, fmt.Errorf("schema: %s: unknown attribute %q", where, key)
		}
	}
	if typ == "record" && out["fields"] == nil {
		out["fields"] = []any{}
	}
	return out, nil
}

func appendLoc(loc []lua.LValue, more ...lua.LValue) []lua.LValue {
	out := make([]lua.LValue, 0, len(loc)+len(more))
	return append(append(out, loc...), more...)
}

func clonePath(p []string) []string { return append([]string{}, p...) }

// sortedKeys returns a table's string keys, sorted.
func sortedKeys(t *lua.LTable) []string {
	var keys []string
	t.ForEach(func(k, _ lua.LValue) {
		if s, ok := k.(lua.LString); ok {
			keys = append(keys, string(s))
		}
	})
	sort.Strings(keys)
	return keys
}

// value converts an attribute value (default, one_of, ...) to JSON
// form; an empty table is an empty array for arrays and sets.
func (c *converter) value(v lua.LValue, typ string) (any, error) {
	if _, ok := v.(*lua.LFunction); ok {
		return nil, errors.New("functions cannot be rendered")
	}
	x, err := luavalue.ToGo(c.L, v)
	if err != nil {
		return nil, err
	}
	if m, ok := x.(map[string]any); ok && len(m) == 0 && (typ == "array" || typ == "set") {
		return []any{}, nil
	}
	if f, ok := x.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return nil, errors.New("not a finite number")
	}
	return x, nil
}

// entityChecks converts a list of entity checks; custom_entity_check
// becomes a Lua check. root tells checks written from the plugin entity.
func (c *converter) entityChecks(t *lua.LTable, path []string, loc []lua.LValue, root bool) ([]any, error) {
	var out []any
	var err error
	forEachField(t, func(i int, kind string, arg lua.LValue) {
		if err != nil {
			return
		}
		where := fmt.Sprintf("entity_checks[%d]", i)
		if len(path) > 0 {
			where = strings.Join(path, ".") + "." + where
		}
		switch kind {
		case "at_least_one_of", "only_one_of", "mutually_exclusive", "mutually_required", "distinct":
			x, e := c.value(arg, "")
			if e != nil {
				err = fmt.Errorf("schema: %s: %w", where, e)
				return
			}
			out = append(out, map[string]any{kind: x})
		case "conditional", "conditional_at_least_one_of":
			at, ok := arg.(*lua.LTable)
			if !ok {
				err = fmt.Errorf("schema: %s: %s: expected a table", where, kind)
				return
			}
			m := map[string]any{}
			for _, k := range sortedKeys(at) {
				v := at.RawGetString(k)
				switch k {
				case "if_match", "then_match", "else_match":
					ft, ok := v.(*lua.LTable)
					if !ok {
						err = fmt.Errorf("schema: %s: %s: expected a table", where, k)
						return
					}
					attrs, e := c.field(ft, []string{where, k}, nil, 1, false)
					if e != nil {
						err = e
						return
					}
					m[k] = attrs
				default:
					x, e := c.value(v, "")
					if e != nil {
						err = fmt.Errorf("schema: %s: %s: %w", where, k, e)
						return
					}
					m[k] = x
				}
			}
			out = append(out, map[string]any{kind: m})
		case "custom_entity_check":
			at, ok := arg.(*lua.LTable)
			if !ok {
				err = fmt.Errorf("schema: %s: custom_entity_check: expected a table", where)
				return
			}
			if _, ok := at.RawGetString("fn").(*lua.LFunction); !ok {
				err = fmt.Errorf("schema: %s: custom_entity_check: fn: expected a function", where)
				return
			}
			var sources []string
			if fs, ok := at.RawGetString("field_sources").(*lua.LTable); ok {
				for j := 1; j <= fs.Len(); j++ {
					if s, ok := fs.RawGetInt(j).(lua.LString); ok {
						sources = append(sources, string(s))
					}
				}
			}
			if c.entity {
				c.ignore(path, "custom_entity_check (entities)")
				return
			}
			c.s.checks = append(c.s.checks, check{kind: kindEntity, path: clonePath(path), root: root, sources: sources,
				loc: appendLoc(loc, lua.LNumber(i), lua.LString(kind), lua.LString("fn"))})
		default:
			err = fmt.Errorf("schema: %s: entity check %q is not supported", where, kind)
		}
	})
	return out, err
}

// mergeEntityChecks moves top-level entity checks ("config.x") into the
// config record ("x") when the config record has checks of its own:
// Gatehouse keeps a plugin's checks in one place. They validate the same.
func (c *converter) mergeEntityChecks() {
	top, ok := c.s.Rendering["entity_checks"].([]any)
	if !ok {
		return
	}
	var cfg map[string]any
	for _, f := range c.s.Rendering["fields"].([]any) {
		if m, ok := f.(map[string]any)["config"].(map[string]any); ok {
			cfg = m
		}
	}
	if cfg == nil {
		return
	}
	own, ok := cfg["entity_checks"].([]any)
	if !ok || len(own) == 0 {
		return
	}
	moved := make([]any, 0, len(top))
	for _, ch := range top {
		m, ok := stripConfig(ch).(map[string]any)
		if !ok {
			return
		}
		moved = append(moved, m)
	}
	cfg["entity_checks"] = append(own, moved...)
	delete(c.s.Rendering, "entity_checks")
}

// stripConfig removes the "config." prefix of the field names in an
// entity check.
func stripConfig(v any) any {
	switch x := v.(type) {
	case string:
		return strings.TrimPrefix(x, "config.")
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = stripConfig(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			switch k {
			case "if_match", "then_match", "else_match":
				out[k] = e
			default:
				out[k] = stripConfig(e)
			}
		}
		return out
	}
	return v
}
