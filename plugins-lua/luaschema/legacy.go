package luaschema

import (
	"errors"
	"fmt"

	lua "github.com/yuin/gopher-lua"
)

// legacy converts a 0.x schema ({ no_consumer = true, fields = { name =
// { type = ..., ... } }, self_check = fn }) the way Kong 1.x's plugin
// loader converted them (convert_legacy_schema): string, number, boolean,
// array (of strings; enum constrains the elements), table (a record, or a
// map of records when its schema is flexible), url (a string with the url
// check), timestamp; required, default, enum, unique. Fields are rendered
// in name order. Unlike Kong 1.x, which dropped them, each field's func
// and the schema's self_check still run, in Lua, as in Kong 0.x.
func (c *converter) legacy(t *lua.LTable) error {
	cfg, err := c.legacyFields(t, nil, nil, 0)
	if err != nil {
		return err
	}
	fields := []any{}
	for _, f := range []string{"consumer", "route", "service"} {
		if lua.LVAsBool(t.RawGetString("no_" + f)) {
			ref := map[string]string{"consumer": "consumers", "route": "routes", "service": "services"}[f]
			fields = append(fields, map[string]any{f: map[string]any{"type": "foreign", "reference": ref, "eq": nil}})
		}
	}
	fields = append(fields, map[string]any{"config": map[string]any{"type": "record", "fields": cfg}})
	c.s.Rendering = map[string]any{"fields": fields}
	if fn, ok := t.RawGetString("self_check").(*lua.LFunction); ok && fn != nil {
		c.s.checks = append(c.s.checks, check{kind: kindSelfCheck, loc: []lua.LValue{lua.LString("self_check")}})
	}
	return nil
}

// legacyFields converts a 0.x fields table (by name) at path.
func (c *converter) legacyFields(t *lua.LTable, path []string, loc []lua.LValue, depth int) ([]any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("schema: nested deeper than %d levels", maxDepth)
	}
	raw := t.RawGetString("fields")
	if raw == lua.LNil {
		return []any{}, nil
	}
	ft, ok := raw.(*lua.LTable)
	if !ok {
		return nil, errors.New("schema: fields: expected a table")
	}
	out := []any{}
	for _, name := range sortedKeys(ft) {
		def, ok := ft.RawGetString(name).(*lua.LTable)
		p := append(clonePath(path), name)
		where := joinPath(p)
		if !ok {
			return nil, fmt.Errorf("schema: %s: expected a table", where)
		}
		floc := appendLoc(loc, lua.LString("fields"), lua.LString(name))
		attrs, err := c.legacyField(def, p, floc, depth)
		if err != nil {
			return nil, err
		}
		out = append(out, map[string]any{name: attrs})
	}
	return out, nil
}

func joinPath(p []string) string {
	s := ""
	for i, e := range p {
		if i > 0 {
			s += "."
		}
		s += e
	}
	return s
}

func (c *converter) legacyField(def *lua.LTable, path []string, loc []lua.LValue, depth int) (map[string]any, error) {
	where := joinPath(path)
	typ := "string"
	if tv, ok := def.RawGetString("type").(lua.LString); ok {
		typ = string(tv)
	} else if def.RawGetString("type") != lua.LNil {
		return nil, fmt.Errorf("schema: %s: type: expected a string", where)
	}
	out := map[string]any{}
	var elements map[string]any
	switch typ {
	case "string", "number", "boolean":
		out["type"] = typ
	case "url":
		out["type"] = "string"
		out["x_gatehouse_validator"] = "url"
	case "timestamp":
		out["type"] = "integer"
		out["timestamp"] = true
		out["auto"] = true
	case "array":
		out["type"] = "array"
		elements = map[string]any{"type": "string"}
		out["elements"] = elements
	case "table":
		sub, _ := def.RawGetString("schema").(*lua.LTable)
		var fields []any
		if sub != nil {
			var err error
			if fields, err = c.legacyFields(sub, path, appendLoc(loc, lua.LString("schema")), depth+1); err != nil {
				return nil, err
			}
		}
		switch {
		case sub != nil && lua.LVAsBool(sub.RawGetString("flexible")):
			out["type"] = "map"
			out["keys"] = map[string]any{"type": "string"}
			out["values"] = map[string]any{"type": "record", "required": true, "fields": fields}
		case sub != nil:
			out["type"] = "record"
			out["required"] = true
			out["fields"] = fields
			// Kong 1.x: the record's default gathers its fields'.
			d := map[string]any{}
			for _, f := range fields {
				for n, a := range f.(map[string]any) {
					if v, ok := a.(map[string]any)["default"]; ok {
						d[n] = v
					}
				}
			}
			if len(d) > 0 {
				out["default"] = d
			}
		default:
			out["type"] = "map"
			out["keys"] = map[string]any{"type": "string"}
			out["values"] = map[string]any{"type": "string"}
		}
	default:
		return nil, fmt.Errorf("schema: %s: unknown legacy field type %q", where, typ)
	}
	for _, key := range sortedKeys(def) {
		v := def.RawGetString(key)
		switch key {
		case "type", "schema":
		case "required", "unique":
			if lua.LVAsBool(v) {
				out[key] = true
			}
		case "default":
			d, err := c.value(v, out["type"].(string))
			if err != nil {
				return nil, fmt.Errorf("schema: %s: default: %w", where, err)
			}
			if d != nil {
				out["default"] = d
			}
		case "enum":
			x, err := c.value(v, "")
			if err != nil {
				return nil, fmt.Errorf("schema: %s: enum: %w", where, err)
			}
			if list, ok := x.([]any); ok && len(list) > 0 {
				if elements != nil {
					elements["one_of"] = list
				} else {
					out["one_of"] = list
				}
			}
		case "func":
			if _, ok := v.(*lua.LFunction); !ok {
				return nil, fmt.Errorf("schema: %s: func: expected a function", where)
			}
			c.s.checks = append(c.s.checks, check{kind: kindLegacyFunc, path: clonePath(path), loc: appendLoc(loc, lua.LString(key))})
		case "immutable", "regex", "dao_insert_value", "queryable", "new_type":
			c.ignore(path, key)
		default:
			return nil, fmt.Errorf("schema: %s: unknown legacy field attribute %q", where, key)
		}
	}
	return out, nil
}
