package luaschema

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/plugins-lua/luavalue"
)

// Validate runs the schema's Lua parts on a configuration the JSON part
// accepted, in L, where mod is the plugin's schema module as L loaded it:
// custom_validator functions on each value of their field (Kong's message
// when one returns nothing: "failed validating: <value>"), the 0.x field
// funcs, then — when no field failed, as Kong orders them —
// custom_entity_check functions and the 0.x self_check. The error lists
// the failures, each prefixed with its field's path in the config.
func (s *Schema) Validate(L *lua.LState, mod lua.LValue, config map[string]any) error {
	if !s.HasChecks() {
		return nil
	}
	ct, err := luavalue.FromGo(L, config, luavalue.Options{MarkArrays: true})
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	conf, _ := ct.(*lua.LTable)
	if conf == nil {
		conf = L.NewTable()
	}
	var msgs []string
	for _, pass := range []bool{false, true} {
		for _, c := range s.checks {
			entityLevel := c.kind == kindEntity || c.kind == kindSelfCheck
			if entityLevel != pass {
				continue
			}
			fn, err := locate(L, mod, c.loc)
			if err != nil {
				return err
			}
			msgs = append(msgs, s.run(L, c, fn, conf, mod)...)
		}
		if len(msgs) > 0 {
			break
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "; "))
}

// locate follows loc from v to a function.
func locate(L *lua.LState, v lua.LValue, loc []lua.LValue) (*lua.LFunction, error) {
	for _, k := range loc {
		t, ok := v.(*lua.LTable)
		if !ok {
			return nil, fmt.Errorf("schema: the function at %s is gone", locString(loc))
		}
		v = L.GetTable(t, k)
	}
	fn, ok := v.(*lua.LFunction)
	if !ok {
		return nil, fmt.Errorf("schema: the function at %s is gone", locString(loc))
	}
	return fn, nil
}

func locString(loc []lua.LValue) string {
	parts := make([]string, len(loc))
	for i, k := range loc {
		parts[i] = k.String()
	}
	return strings.Join(parts, ".")
}

func (s *Schema) run(L *lua.LState, c check, fn *lua.LFunction, conf *lua.LTable, mod lua.LValue) []string {
	switch c.kind {
	case kindField:
		var msgs []string
		walk(L, conf, c.path, nil, func(p []string, v lua.LValue) {
			if v == lua.LNil || luavalue.IsNull(v) {
				return
			}
			ok, msg := call(L, fn, v)
			if !ok {
				if msg == "" {
					msg = "failed validating: " + L.ToStringMeta(v).String()
				}
				msgs = append(msgs, joinPath(p)+": "+msg)
			}
		})
		return msgs
	case kindLegacyFunc:
		var msgs []string
		walk(L, conf, c.path[:len(c.path)-1], nil, func(p []string, parent lua.LValue) {
			pt, ok := parent.(*lua.LTable)
			if !ok {
				return
			}
			name := c.path[len(c.path)-1]
			ok, msg := call(L, fn, pt.RawGetString(name), pt, lua.LString(name))
			if !ok {
				if msg == "" {
					msg = "failed validating"
				}
				msgs = append(msgs, joinPath(append(p, name))+": "+msg)
			}
		})
		return msgs
	case kindSelfCheck:
		ok, msg := call(L, fn, mod, conf, lua.LNil, lua.LFalse)
		if !ok {
			if msg == "" {
				msg = "entity check failed"
			}
			return []string{msg}
		}
	case kindEntity:
		var msgs []string
		walk(L, conf, c.path, nil, func(p []string, rec lua.LValue) {
			rt, ok := rec.(*lua.LTable)
			if !ok {
				return
			}
			var base lua.LValue = rt
			if c.root {
				w := L.NewTable()
				w.RawSetString("config", rt)
				base = w
			}
			input := L.NewTable()
			var missing []string
			present := 0
			for _, src := range c.sources {
				v := getPath(L, base, src)
				if v == lua.LNil || luavalue.IsNull(v) {
					missing = append(missing, src)
					continue
				}
				present++
				setPath(L, input, src, v)
			}
			if present == 0 && len(c.sources) > 0 {
				return
			}
			if len(missing) > 0 {
				sort.Strings(missing)
				for _, m := range missing {
					msgs = append(msgs, m+": field required for entity check")
				}
				return
			}
			ok, msg := call(L, fn, input)
			if !ok {
				if msg == "" {
					msg = "failed entity check: custom_entity_check"
				}
				if len(p) > 0 {
					msg = joinPath(p) + ": " + msg
				}
				msgs = append(msgs, msg)
			}
		})
		return msgs
	}
	return nil
}

// call calls fn(args...) and reads Kong's ok, err convention; a Lua
// error counts as a failure with its message.
func call(L *lua.LState, fn *lua.LFunction, args ...lua.LValue) (bool, string) {
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	if err := L.PCall(len(args), 2, nil); err != nil {
		var ae *lua.ApiError
		if errors.As(err, &ae) {
			return false, ae.Object.String()
		}
		return false, err.Error()
	}
	ok, e := L.Get(-2), L.Get(-1)
	L.Pop(2)
	if lua.LVAsBool(ok) {
		return true, ""
	}
	switch x := e.(type) {
	case lua.LString:
		return false, string(x)
	case *lua.LTable:
		// 0.x DAO errors carry a message.
		if m, ok := x.RawGetString("message").(lua.LString); ok {
			return false, string(m)
		}
		var parts []string
		x.ForEach(func(k, v lua.LValue) {
			parts = append(parts, fmt.Sprintf("%s: %s", k.String(), v.String()))
		})
		sort.Strings(parts)
		return false, strings.Join(parts, ", ")
	case *lua.LNilType:
		return false, ""
	}
	return false, L.ToStringMeta(e).String()
}

// walk calls fn with every value at path under v; "*" is every element
// of an array or value of a map, "<key>" every key.
func walk(L *lua.LState, v lua.LValue, path []string, at []string, fn func(p []string, v lua.LValue)) {
	if len(path) == 0 {
		fn(at, v)
		return
	}
	t, ok := v.(*lua.LTable)
	if !ok {
		return
	}
	switch seg := path[0]; seg {
	case "*", "<key>":
		type kv struct {
			k lua.LValue
			v lua.LValue
		}
		var items []kv
		t.ForEach(func(k, val lua.LValue) { items = append(items, kv{k, val}) })
		sort.Slice(items, func(i, j int) bool { return items[i].k.String() < items[j].k.String() })
		for _, it := range items {
			next := it.v
			if seg == "<key>" {
				next = it.k
			}
			walk(L, next, path[1:], append(clonePath(at), it.k.String()), fn)
		}
	default:
		walk(L, t.RawGetString(seg), path[1:], append(clonePath(at), seg), fn)
	}
}

func getPath(L *lua.LState, v lua.LValue, dotted string) lua.LValue {
	for _, seg := range strings.Split(dotted, ".") {
		t, ok := v.(*lua.LTable)
		if !ok {
			return lua.LNil
		}
		v = t.RawGetString(seg)
	}
	return v
}

func setPath(L *lua.LState, t *lua.LTable, dotted string, v lua.LValue) {
	segs := strings.Split(dotted, ".")
	for _, seg := range segs[:len(segs)-1] {
		next, ok := t.RawGetString(seg).(*lua.LTable)
		if !ok {
			next = L.NewTable()
			t.RawSetString(seg, next)
		}
		t = next
	}
	t.RawSetString(segs[len(segs)-1], v)
}
