package luaschema

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/hostabi"
)

// ConvertDaos converts the value a plugin's daos.lua returned: entity
// schemas keyed by name (1.x/2.x: `return { jwt_secrets = {...} }`) or
// listed (3.x: `return { jwt_secrets }`), each with Kong's DAO attributes
// (name, primary_key, cache_key, endpoint_key, admin_api_name,
// admin_api_nested_name, ttl, fields, entity_checks), or 0.x DAO schemas
// (convertLegacyEntity). The entities come out sorted by name. Functions
// (custom validators, transformations) cannot be rendered and are dropped.
func ConvertDaos(L *lua.LState, v lua.LValue) ([]hostabi.EntityDefinition, error) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("the module returned a %s, want a table", v.Type())
	}
	var out []hostabi.EntityDefinition
	var err error
	t.ForEach(func(k, ev lua.LValue) {
		if err != nil {
			return
		}
		et, ok := ev.(*lua.LTable)
		if !ok {
			err = fmt.Errorf("entity %s: expected a table", k.String())
			return
		}
		var ed hostabi.EntityDefinition
		ed, err = convertEntity(L, et)
		if err == nil {
			out = append(out, ed)
		}
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func convertEntity(L *lua.LState, t *lua.LTable) (hostabi.EntityDefinition, error) {
	if _, legacy := t.RawGetString("table").(lua.LString); legacy && t.RawGetString("name") == lua.LNil {
		return convertLegacyEntity(L, t)
	}
	var ed hostabi.EntityDefinition
	name, ok := t.RawGetString("name").(lua.LString)
	if !ok || name == "" {
		return ed, errors.New("entity without a name")
	}
	ed.Name = string(name)
	str := func(key string) string {
		s, _ := t.RawGetString(key).(lua.LString)
		return string(s)
	}
	ed.AdminAPIName = str("admin_api_name")
	ed.AdminAPINestedName = str("admin_api_nested_name")
	ed.EndpointKey = str("endpoint_key")
	ed.TTL = lua.LVAsBool(t.RawGetString("ttl"))
	if pk, ok := t.RawGetString("primary_key").(*lua.LTable); ok {
		if pk.Len() != 1 || pk.RawGetInt(1) != lua.LString("id") {
			return ed, fmt.Errorf("entity %s: primary_key must be { \"id\" }", ed.Name)
		}
	}
	if ck, ok := t.RawGetString("cache_key").(*lua.LTable); ok {
		for i := 1; i <= ck.Len(); i++ {
			s, ok := ck.RawGetInt(i).(lua.LString)
			if !ok {
				return ed, fmt.Errorf("entity %s: cache_key: expected field names", ed.Name)
			}
			ed.CacheKey = append(ed.CacheKey, string(s))
		}
	}
	list, ok := t.RawGetString("fields").(*lua.LTable)
	if !ok {
		return ed, fmt.Errorf("entity %s: fields: expected a table", ed.Name)
	}
	c := &converter{L: L, s: &Schema{Name: ed.Name}, entity: true}
	fields := []any{}
	var err error
	forEachField(list, func(i int, fname string, fv lua.LValue) {
		if err != nil {
			return
		}
		ft, ok := fv.(*lua.LTable)
		if !ok {
			err = fmt.Errorf("entity %s: fields[%d]: expected { name = { ... } }", ed.Name, i)
			return
		}
		var attrs map[string]any
		if attrs, err = c.field(ft, []string{fname}, nil, 1, true); err != nil {
			err = fmt.Errorf("entity %s: %w", ed.Name, err)
			return
		}
		fields = append(fields, map[string]any{fname: attrs})
	})
	if err != nil {
		return ed, err
	}
	ed.Schema = map[string]any{"fields": fields}
	if ec, ok := t.RawGetString("entity_checks").(*lua.LTable); ok {
		checks, err := c.entityChecks(ec, nil, nil, false)
		if err != nil {
			return ed, fmt.Errorf("entity %s: %w", ed.Name, err)
		}
		if len(checks) > 0 {
			ed.Schema["entity_checks"] = checks
		}
	}
	return ed, nil
}

// convertLegacyEntity converts a 0.x DAO schema ({ table = "jwt_secrets",
// primary_key = { "id" }, fields = { id = { type = "id", ... }, ... } })
// the way Kong 1.x's migration of such entities shaped them: the entity is
// named after its table; an id column with dao_insert_value is the
// generated UUID; a "<entity>_id" column with foreign = "<entities>:id" is
// the foreign key <entity> (required as declared, deleted with its
// parent); timestamp columns are auto timestamps; a function default
// becomes a generated value; enum becomes one_of. Fields come out id
// first, then created_at, then by name. Functions (func, self_check) are
// dropped.
func convertLegacyEntity(L *lua.LState, t *lua.LTable) (hostabi.EntityDefinition, error) {
	var ed hostabi.EntityDefinition
	ed.Name = string(t.RawGetString("table").(lua.LString))
	ft, ok := t.RawGetString("fields").(*lua.LTable)
	if !ok {
		return ed, fmt.Errorf("entity %s: fields: expected a table", ed.Name)
	}
	if pk, ok := t.RawGetString("primary_key").(*lua.LTable); ok {
		if pk.Len() != 1 || pk.RawGetInt(1) != lua.LString("id") {
			return ed, fmt.Errorf("entity %s: primary_key must be { \"id\" }", ed.Name)
		}
	}
	renamed := map[string]string{}
	names := sortedKeys(ft)
	sort.SliceStable(names, func(i, j int) bool { return legacyRank(names[i]) < legacyRank(names[j]) })
	c := &converter{L: L, s: &Schema{Name: ed.Name}, entity: true}
	fields := []any{}
	for _, col := range names {
		def, ok := ft.RawGetString(col).(*lua.LTable)
		if !ok {
			return ed, fmt.Errorf("entity %s: %s: expected a table", ed.Name, col)
		}
		name, attrs, err := c.legacyColumn(col, def)
		if err != nil {
			return ed, fmt.Errorf("entity %s: %w", ed.Name, err)
		}
		renamed[col] = name
		fields = append(fields, map[string]any{name: attrs})
	}
	if ck, ok := t.RawGetString("cache_key").(*lua.LTable); ok {
		for i := 1; i <= ck.Len(); i++ {
			s, ok := ck.RawGetInt(i).(lua.LString)
			if !ok {
				return ed, fmt.Errorf("entity %s: cache_key: expected field names", ed.Name)
			}
			n := string(s)
			if r, ok := renamed[n]; ok {
				n = r
			}
			ed.CacheKey = append(ed.CacheKey, n)
		}
	}
	ed.Schema = map[string]any{"fields": fields}
	return ed, nil
}

func legacyRank(col string) int {
	switch col {
	case "id":
		return 0
	case "created_at":
		return 1
	}
	return 2
}

// legacyColumn converts one 0.x DAO column; it returns the field's name
// (a foreign key column loses its _id).
func (c *converter) legacyColumn(col string, def *lua.LTable) (string, map[string]any, error) {
	typ, _ := def.RawGetString("type").(lua.LString)
	out := map[string]any{}
	name := col
	if f, ok := def.RawGetString("foreign").(lua.LString); ok {
		ref, _, _ := strings.Cut(string(f), ":")
		if ref == "" || !strings.HasSuffix(col, "_id") {
			return "", nil, fmt.Errorf("%s: foreign %q: expected <entities>:id on a <entity>_id column", col, string(f))
		}
		name = strings.TrimSuffix(col, "_id")
		out["type"], out["reference"], out["on_delete"] = "foreign", ref, "cascade"
		if lua.LVAsBool(def.RawGetString("required")) {
			out["required"] = true
		}
		return name, out, nil
	}
	switch string(typ) {
	case "id":
		out["type"], out["uuid"] = "string", true
	case "timestamp":
		out["type"], out["timestamp"] = "integer", true
	case "string", "number", "boolean":
		out["type"] = string(typ)
	case "url":
		out["type"], out["x_gatehouse_validator"] = "string", "url"
	case "array":
		out["type"], out["elements"] = "array", map[string]any{"type": "string"}
	case "table":
		out["type"], out["keys"], out["values"] = "map", map[string]any{"type": "string"}, map[string]any{"type": "string"}
	case "":
		out["type"] = "string"
	default:
		return "", nil, fmt.Errorf("%s: unknown legacy column type %q", col, string(typ))
	}
	if lua.LVAsBool(def.RawGetString("dao_insert_value")) {
		out["auto"] = true
	}
	for _, key := range sortedKeys(def) {
		v := def.RawGetString(key)
		switch key {
		case "type", "dao_insert_value", "foreign":
		case "required", "unique":
			if lua.LVAsBool(v) {
				out[key] = true
			}
		case "default":
			if _, ok := v.(*lua.LFunction); ok {
				out["auto"] = true
				continue
			}
			d, err := c.value(v, out["type"].(string))
			if err != nil {
				return "", nil, fmt.Errorf("%s: default: %w", col, err)
			}
			if d != nil {
				out["default"] = d
			}
		case "enum":
			x, err := c.value(v, "")
			if err != nil {
				return "", nil, fmt.Errorf("%s: enum: %w", col, err)
			}
			if list, ok := x.([]any); ok && len(list) > 0 {
				if e, ok := out["elements"].(map[string]any); ok {
					e["one_of"] = list
				} else {
					out["one_of"] = list
				}
			}
		case "func", "immutable", "queryable", "regex":
			c.ignore([]string{col}, key)
		default:
			return "", nil, fmt.Errorf("%s: unknown legacy column attribute %q", col, key)
		}
	}
	return name, out, nil
}
