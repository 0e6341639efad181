package pdk

import (
	"sort"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-lua/luavalue"
)

// logLevels are kong.log's functions and the hostabi level each writes
// at: alert and emerg, which hostabi lacks, write at crit.
var logLevels = [...][2]string{{"debug", "debug"}, {"info", "info"}, {"notice", "notice"}, {"warn", "warn"},
	{"err", "err"}, {"crit", "crit"}, {"alert", "crit"}, {"emerg", "crit"}}

// logMessage concatenates the arguments from n on as kong.log does:
// each through tostring, no separator.
func logMessage(L *lua.LState, n int, sep string) string {
	var sb strings.Builder
	for i := n; i <= L.GetTop(); i++ {
		if i > n {
			sb.WriteString(sep)
		}
		sb.WriteString(tostring(L, L.Get(i)))
	}
	return sb.String()
}

func (b *Binding) logTable() *lua.LTable {
	L := b.L
	t := L.NewTable()
	for _, lv := range logLevels {
		level := lv[1]
		t.RawSetString(lv[0], b.free(func(L *lua.LState) int {
			b.writeLog(L, level, logMessage(L, 1, ""))
			return 0
		}))
	}
	mt := L.NewTable()
	mt.RawSetString("__call", b.free(func(L *lua.LState) int {
		b.writeLog(L, "notice", logMessage(L, 2, ""))
		return 0
	}))
	L.SetMetatable(t, mt)

	b.inspectOn = true
	insp := L.NewTable()
	insp.RawSetString("on", b.free(func(L *lua.LState) int { b.inspectOn = true; return 0 }))
	insp.RawSetString("off", b.free(func(L *lua.LState) int { b.inspectOn = false; return 0 }))
	imt := L.NewTable()
	imt.RawSetString("__call", b.free(func(L *lua.LState) int {
		if !b.inspectOn {
			return 0
		}
		parts := make([]string, 0, L.GetTop())
		for i := 2; i <= L.GetTop(); i++ {
			parts = append(parts, inspect(L, L.Get(i), 0))
		}
		b.writeLog(L, "notice", strings.Join(parts, " "))
		return 0
	}))
	L.SetMetatable(insp, imt)
	t.RawSetString("inspect", insp)

	t.RawSetString("serialize", b.bound("kong.log.serialize", func(L *lua.LState, k hostabi.Kong) int {
		L.Push(fromGo(L, k.Log().Serialize(), luavalue.Options{NullInTables: true, MarkArrays: true}))
		return 1
	}))
	t.RawSetString("set_serialize_value", b.bound("kong.log.set_serialize_value", func(L *lua.LState, k hostabi.Kong) int {
		key := checkString(L, 1, "key")
		mode := hostabi.SerializeSet
		if opts, ok := L.Get(3).(*lua.LTable); ok {
			switch m := opts.RawGetString("mode"); m {
			case lua.LNil:
			case lua.LString("set"), lua.LString("add"), lua.LString("replace"):
				mode = hostabi.SerializeMode(m.(lua.LString))
			default:
				L.RaiseError("mode must be 'set', 'add' or 'replace'")
			}
		}
		if err := k.Log().SetSerializeValueMode(key, toGo(L, L.Get(2), "value"), mode); err != nil {
			L.RaiseError("%s", err.Error())
		}
		return 0
	}))
	return t
}

// inspect renders v the way kikito's inspect.lua does, closely enough for
// logs: strings quoted, tables as { 1, 2, key = value }.
func inspect(L *lua.LState, v lua.LValue, depth int) string {
	switch x := v.(type) {
	case lua.LString:
		return strconv.Quote(string(x))
	case *lua.LTable:
		if depth > 8 {
			return "{...}"
		}
		var parts []string
		n := x.Len()
		for i := 1; i <= n; i++ {
			parts = append(parts, inspect(L, x.RawGetInt(i), depth+1))
		}
		var keyed []string
		x.ForEach(func(k, val lua.LValue) {
			if num, ok := k.(lua.LNumber); ok && float64(num) == float64(int(num)) && int(num) >= 1 && int(num) <= n {
				return
			}
			ks := "[" + inspect(L, k, depth+1) + "]"
			if s, ok := k.(lua.LString); ok && isIdent(string(s)) {
				ks = string(s)
			}
			keyed = append(keyed, ks+" = "+inspect(L, val, depth+1))
		})
		sort.Strings(keyed)
		parts = append(parts, keyed...)
		if len(parts) == 0 {
			return "{}"
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	if luavalue.IsNull(v) {
		return "userdata: NULL"
	}
	return v.String()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
