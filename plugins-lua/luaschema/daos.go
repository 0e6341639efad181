package luaschema

import (
	"errors"
	"fmt"
	"sort"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/hostabi"
)

// ConvertDaos converts the value a plugin's daos.lua returned: entity
// schemas keyed by name (1.x/2.x: `return { jwt_secrets = {...} }`) or
// listed (3.x: `return { jwt_secrets }`), each with Kong's DAO attributes
// (name, primary_key, cache_key, endpoint_key, admin_api_name,
// admin_api_nested_name, ttl, fields, entity_checks). The entities come
// out sorted by name. Functions (custom validators, transformations)
// cannot be rendered and are dropped.
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
