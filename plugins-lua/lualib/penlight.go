package lualib

import (
	"fmt"
	"math"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// The commonly used parts of Penlight's pl.tablex, pl.stringx and
// pl.utils. Where Penlight accepts operator strings ('+', '==') in place
// of functions, only functions are accepted here.

func sortFloats(f []float64) { sort.Float64s(f) }

// callFn calls fn with args and returns its first result.
func callFn(L *lua.LState, fn lua.LValue, args ...lua.LValue) lua.LValue {
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	L.Call(len(args), 1)
	v := L.Get(-1)
	L.Pop(1)
	return v
}

func (c *call) fn(n int) lua.LValue {
	switch v := c.L.Get(n).(type) {
	case *lua.LFunction:
		return v
	case *lua.LTable, *lua.LUserData:
		if c.L.GetMetaField(v, "__call") != lua.LNil {
			return v
		}
	}
	c.typeError(n, "function")
	return nil
}

// deepCopy copies tables recursively (metatables kept, cycles preserved).
func deepCopy(L *lua.LState, v lua.LValue, seen map[*lua.LTable]*lua.LTable) lua.LValue {
	t, ok := v.(*lua.LTable)
	if !ok {
		return v
	}
	if c, ok := seen[t]; ok {
		return c
	}
	out := L.NewTable()
	seen[t] = out
	t.ForEach(func(k, val lua.LValue) {
		out.RawSet(deepCopy(L, k, seen), deepCopy(L, val, seen))
	})
	if mt, ok := L.GetMetatable(t).(*lua.LTable); ok {
		L.SetMetatable(out, mt)
	}
	return out
}

func shallowCopy(L *lua.LState, t *lua.LTable) *lua.LTable {
	out := L.NewTable()
	t.ForEach(func(k, v lua.LValue) { out.RawSet(k, v) })
	return out
}

// deepCompare compares as tablex.deepcompare does.
func deepCompare(L *lua.LState, a, b lua.LValue, ignoreMT bool, eps float64, depth int) bool {
	if depth > 200 {
		return false
	}
	if a.Type() != b.Type() {
		return false
	}
	if na, ok := a.(lua.LNumber); ok {
		nb := b.(lua.LNumber)
		if eps > 0 {
			return math.Abs(float64(na-nb)) < eps
		}
		return na == nb
	}
	ta, ok := a.(*lua.LTable)
	if !ok {
		return a == b
	}
	tb := b.(*lua.LTable)
	if ta == tb {
		return true
	}
	if !ignoreMT {
		if eq := L.GetMetaField(ta, "__eq"); eq != lua.LNil {
			return lua.LVAsBool(callFn(L, eq, ta, tb))
		}
	}
	equal := true
	count := 0
	ta.ForEach(func(k, v lua.LValue) {
		count++
		if equal && !deepCompare(L, v, tb.RawGet(k), ignoreMT, eps, depth+1) {
			equal = false
		}
	})
	if !equal {
		return false
	}
	countB := 0
	tb.ForEach(func(_, _ lua.LValue) { countB++ })
	return count == countB
}

func tablexLoader(L *lua.LState) int {
	return moduleFuncs(map[string]lfunc{
		"readonly": func(c *call) int {
			t := c.table(1)
			proxy := c.L.NewTable()
			mt := c.L.NewTable()
			mt.RawSetString("__index", t)
			mt.RawSetString("__newindex", c.L.NewFunction(func(L *lua.LState) int {
				L.RaiseError("Attempt to modify read-only table")
				return 0
			}))
			mt.RawSetString("__len", c.L.NewFunction(func(L *lua.LState) int {
				L.Push(lua.LNumber(t.Len()))
				return 1
			}))
			mt.RawSetString("__pairs", c.L.NewFunction(func(L *lua.LState) int {
				L.Push(L.GetGlobal("next"))
				L.Push(t)
				L.Push(lua.LNil)
				return 3
			}))
			mt.RawSetString("__metatable", lua.LFalse)
			c.L.SetMetatable(proxy, mt)
			return c.push(proxy)
		},
		"copy":     func(c *call) int { return c.push(shallowCopy(c.L, c.table(1))) },
		"deepcopy": func(c *call) int { return c.push(deepCopy(c.L, c.L.Get(1), map[*lua.LTable]*lua.LTable{})) },
		"deepcompare": func(c *call) int {
			return c.push(lua.LBool(deepCompare(c.L, c.L.Get(1), c.L.Get(2), lua.LVAsBool(c.L.Get(3)), c.optNum(4, 0), 0)))
		},
		"merge": func(c *call) int { return c.push(tmerge(c.L, c.table(1), c.table(2), lua.LVAsBool(c.L.Get(3)))) },
		"union": func(c *call) int { return c.push(tmerge(c.L, c.table(1), c.table(2), true)) },
		"intersection": func(c *call) int {
			return c.push(tmerge(c.L, c.table(1), c.table(2), false))
		},
		"update": func(c *call) int {
			t1, t2 := c.table(1), c.table(2)
			t2.ForEach(func(k, v lua.LValue) { t1.RawSet(k, v) })
			return c.push(t1)
		},
		"keys": func(c *call) int {
			out := c.L.NewTable()
			c.table(1).ForEach(func(k, _ lua.LValue) { out.Append(k) })
			return c.push(out)
		},
		"values": func(c *call) int {
			out := c.L.NewTable()
			c.table(1).ForEach(func(_, v lua.LValue) { out.Append(v) })
			return c.push(out)
		},
		"size": func(c *call) int {
			n := 0
			c.table(1).ForEach(func(_, _ lua.LValue) { n++ })
			return c.push(lua.LNumber(n))
		},
		"find": func(c *call) int {
			t := c.table(1)
			val := c.L.Get(2)
			start := int(c.optInt(3, 1))
			n := t.Len()
			if start < 0 {
				start = n + start + 1
			}
			for i := max(start, 1); i <= n; i++ {
				if t.RawGetInt(i) == val {
					return c.push(lua.LNumber(i))
				}
			}
			return c.push(lua.LNil)
		},
		"index_by": func(c *call) int {
			t, idx := c.table(1), c.table(2)
			out := c.L.NewTable()
			for i := 1; i <= idx.Len(); i++ {
				out.Append(t.RawGet(idx.RawGetInt(i)))
			}
			return c.push(out)
		},
		"makeset": func(c *call) int {
			t := c.table(1)
			out := c.L.NewTable()
			for i := 1; i <= t.Len(); i++ {
				out.RawSet(t.RawGetInt(i), lua.LTrue)
			}
			return c.push(out)
		},
		"map": func(c *call) int {
			fn, t := c.fn(1), c.table(2)
			extra := extraArgs(c, 3)
			out := c.L.NewTable()
			t.ForEach(func(k, v lua.LValue) {
				out.RawSet(k, callFn(c.L, fn, append([]lua.LValue{v}, extra...)...))
			})
			return c.push(out)
		},
		"imap": func(c *call) int {
			fn, t := c.fn(1), c.table(2)
			extra := extraArgs(c, 3)
			out := c.L.NewTable()
			for i := 1; i <= t.Len(); i++ {
				r := callFn(c.L, fn, append([]lua.LValue{t.RawGetInt(i)}, extra...)...)
				if r == lua.LNil {
					r = lua.LFalse
				}
				out.RawSetInt(i, r)
			}
			return c.push(out)
		},
		"filter": func(c *call) int {
			t, fn := c.table(1), c.fn(2)
			arg := c.L.Get(3)
			out := c.L.NewTable()
			for i := 1; i <= t.Len(); i++ {
				v := t.RawGetInt(i)
				if lua.LVAsBool(callFn(c.L, fn, v, arg)) {
					out.Append(v)
				}
			}
			return c.push(out)
		},
		"foreach": func(c *call) int {
			t, fn := c.table(1), c.fn(2)
			extra := extraArgs(c, 3)
			t.ForEach(func(k, v lua.LValue) {
				callFn(c.L, fn, append([]lua.LValue{v, k}, extra...)...)
			})
			return 0
		},
		"foreachi": func(c *call) int {
			t, fn := c.table(1), c.fn(2)
			extra := extraArgs(c, 3)
			for i := 1; i <= t.Len(); i++ {
				callFn(c.L, fn, append([]lua.LValue{t.RawGetInt(i), lua.LNumber(i)}, extra...)...)
			}
			return 0
		},
		"reduce": func(c *call) int {
			fn, t := c.fn(1), c.table(2)
			n := t.Len()
			var acc lua.LValue = lua.LNil
			start := 1
			if c.L.GetTop() >= 3 {
				acc = c.L.Get(3)
			} else if n > 0 {
				acc, start = t.RawGetInt(1), 2
			}
			for i := start; i <= n; i++ {
				acc = callFn(c.L, fn, acc, t.RawGetInt(i))
			}
			return c.push(acc)
		},
		"count_map": func(c *call) int {
			t := c.table(1)
			out := c.L.NewTable()
			for i := 1; i <= t.Len(); i++ {
				v := t.RawGetInt(i)
				n, _ := out.RawGet(v).(lua.LNumber)
				out.RawSet(v, n+1)
			}
			return c.push(out)
		},
		"difference": func(c *call) int {
			s1, s2 := c.table(1), c.table(2)
			symm := lua.LVAsBool(c.L.Get(3))
			out := c.L.NewTable()
			s1.ForEach(func(k, v lua.LValue) {
				if s2.RawGet(k) == lua.LNil {
					out.RawSet(k, v)
				}
			})
			if symm {
				s2.ForEach(func(k, v lua.LValue) {
					if s1.RawGet(k) == lua.LNil {
						out.RawSet(k, v)
					}
				})
			}
			return c.push(out)
		},
		"clear": func(c *call) int {
			t := c.table(1)
			start := int(c.optInt(2, 1))
			for i := t.Len(); i >= start; i-- {
				t.RawSetInt(i, lua.LNil)
			}
			return 0
		},
		"sort":  func(c *call) int { return tsortIter(c, false) },
		"sortv": func(c *call) int { return tsortIter(c, true) },
		"pairmap": func(c *call) int {
			fn, t := c.fn(1), c.table(2)
			out := c.L.NewTable()
			t.ForEach(func(k, v lua.LValue) {
				c.L.Push(fn)
				c.L.Push(k)
				c.L.Push(v)
				c.L.Call(2, 2)
				r1, r2 := c.L.Get(-2), c.L.Get(-1)
				c.L.Pop(2)
				if r2 == lua.LNil {
					out.Append(r1)
				} else {
					out.RawSet(r2, r1)
				}
			})
			return c.push(out)
		},
	})(L)
}

func extraArgs(c *call, from int) []lua.LValue {
	var out []lua.LValue
	for i := from; i <= c.L.GetTop(); i++ {
		out = append(out, c.L.Get(i))
	}
	return out
}

func tmerge(L *lua.LState, t1, t2 *lua.LTable, dup bool) *lua.LTable {
	out := L.NewTable()
	t1.ForEach(func(k, v lua.LValue) {
		if dup || t2.RawGet(k) != lua.LNil {
			out.RawSet(k, v)
		}
	})
	if dup {
		t2.ForEach(func(k, v lua.LValue) { out.RawSet(k, v) })
	}
	return out
}

// lessThan compares with Lua's < (numbers and strings), or a comparator.
func lessThan(L *lua.LState, cmp lua.LValue, a, b lua.LValue) bool {
	if cmp != lua.LNil {
		return lua.LVAsBool(callFn(L, cmp, a, b))
	}
	return L.LessThan(a, b)
}

// tsortIter returns an iterator over t's pairs ordered by key (sortv: by
// value).
func tsortIter(c *call, byValue bool) int {
	t := c.table(1)
	cmp := c.L.Get(2)
	type kv struct{ k, v lua.LValue }
	var pairs []kv
	t.ForEach(func(k, v lua.LValue) { pairs = append(pairs, kv{k, v}) })
	sort.SliceStable(pairs, func(i, j int) bool {
		if byValue {
			return lessThan(c.L, cmp, pairs[i].v, pairs[j].v)
		}
		return lessThan(c.L, cmp, pairs[i].k, pairs[j].k)
	})
	i := 0
	return c.push(c.L.NewFunction(func(L *lua.LState) int {
		if i >= len(pairs) {
			return 0
		}
		p := pairs[i]
		i++
		L.Push(p.k)
		L.Push(p.v)
		return 2
	}))
}

func listOf(L *lua.LState, parts []string) *lua.LTable {
	t := L.CreateTable(len(parts), 0)
	for _, p := range parts {
		t.Append(lua.LString(p))
	}
	return t
}

// finder locates the next separator at or after byte offset from,
// returning its [start, end) offsets.
type finder func(from int) (int, int, bool)

// penlightSplit is pl.utils.split over a separator finder: inner empty
// fields are kept, a trailing empty one dropped, a lone empty result is
// {}; with n > 0 the n-th field holds the rest of the string. An empty
// match ends the split (Penlight would loop forever).
func penlightSplit(s string, find finder, n int) []string {
	out := []string{}
	pos := 0
	for {
		a, b, ok := find(pos)
		if !ok || b <= a {
			if last := s[pos:]; last != "" {
				out = append(out, last)
			}
			if len(out) == 1 && out[0] == "" {
				return []string{}
			}
			return out
		}
		out = append(out, s[pos:a])
		if n > 0 && len(out) == n {
			out[len(out)-1] = s[pos:]
			return out
		}
		pos = b
	}
}

func plainFinder(s, sep string) finder {
	return func(from int) (int, int, bool) {
		if from > len(s) {
			return 0, 0, false
		}
		i := strings.Index(s[from:], sep)
		if i < 0 {
			return 0, 0, false
		}
		return from + i, from + i + len(sep), true
	}
}

// luaFinder finds a Lua pattern (or plain string) with L's string.find.
func luaFinder(L *lua.LState, s, pattern string, plain bool) finder {
	return func(from int) (int, int, bool) {
		if from >= len(s) {
			return 0, 0, false
		}
		a, b, ok := luaPatternFind(L, s, pattern, from+1, plain)
		if !ok {
			return 0, 0, false
		}
		return a - 1, b, true
	}
}

// utilsSplit is pl.utils.split(s, re, plain, n); re "" or nil as
// Penlight: nil means the pattern "%s+", "" gives {s}.
func utilsSplit(L *lua.LState, s string, re *string, plain bool, n int) []string {
	if re == nil {
		return penlightSplit(s, luaFinder(L, s, "%s+", false), n)
	}
	if *re == "" {
		return []string{s}
	}
	if plain {
		return penlightSplit(s, plainFinder(s, *re), n)
	}
	return penlightSplit(s, luaFinder(L, s, *re, false), n)
}

// stringxSplit is pl.stringx.split(s, re, n): without re, s is stripped
// and split on whitespace; with re (a plain string) a trailing separator
// gives a trailing empty field.
func stringxSplit(L *lua.LState, s string, re *string, n int) []string {
	if re == nil {
		return utilsSplit(L, strings.Trim(s, " \t\n\r\f\v"), nil, false, n)
	}
	res := utilsSplit(L, s, re, true, n)
	if *re != "" && strings.HasSuffix(s, *re) && (n <= 0 || n > len(res)) {
		res = append(res, "")
	}
	return res
}

func (c *call) optStrPtr(n int) *string {
	if c.L.Get(n) == lua.LNil {
		return nil
	}
	s := c.str(n)
	return &s
}

func stripSet(c *call, n int) string {
	if c.L.Get(n) == lua.LNil {
		return " \t\n\r\f\v"
	}
	return c.str(n)
}

func stringxLoader(L *lua.LState) int {
	return moduleFuncs(map[string]lfunc{
		"split": func(c *call) int {
			return c.push(listOf(c.L, stringxSplit(c.L, c.str(1), c.optStrPtr(2), int(c.optInt(3, 0)))))
		},
		"strip":  func(c *call) int { return c.push(lua.LString(strings.Trim(c.str(1), stripSet(c, 2)))) },
		"lstrip": func(c *call) int { return c.push(lua.LString(strings.TrimLeft(c.str(1), stripSet(c, 2)))) },
		"rstrip": func(c *call) int { return c.push(lua.LString(strings.TrimRight(c.str(1), stripSet(c, 2)))) },
		"startswith": func(c *call) int {
			return c.push(lua.LBool(anyAffix(c, strings.HasPrefix)))
		},
		"endswith": func(c *call) int {
			return c.push(lua.LBool(anyAffix(c, strings.HasSuffix)))
		},
		"replace": func(c *call) int {
			n := int(c.optInt(4, -1))
			return c.push(lua.LString(strings.Replace(c.str(1), c.str(2), c.str(3), n)))
		},
		"join": func(c *call) int {
			sep, t := c.str(1), c.table(2)
			parts := make([]string, 0, t.Len())
			for i := 1; i <= t.Len(); i++ {
				parts = append(parts, lua.LVAsString(t.RawGetInt(i)))
			}
			return c.push(lua.LString(strings.Join(parts, sep)))
		},
		"splitlines": func(c *call) int {
			s := c.str(1)
			keep := lua.LVAsBool(c.L.Get(2))
			var out []string
			for s != "" {
				i := strings.IndexAny(s, "\r\n")
				if i < 0 {
					out = append(out, s)
					break
				}
				end := i + 1
				if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
					end = i + 2
				}
				if keep {
					out = append(out, s[:end])
				} else {
					out = append(out, s[:i])
				}
				s = s[end:]
			}
			return c.push(listOf(c.L, out))
		},
		"count": func(c *call) int {
			s, sub := c.str(1), c.str(2)
			if sub == "" {
				return c.push(lua.LNumber(0))
			}
			if lua.LVAsBool(c.L.Get(3)) {
				n := 0
				for i := 0; i+len(sub) <= len(s); i++ {
					if s[i:i+len(sub)] == sub {
						n++
					}
				}
				return c.push(lua.LNumber(n))
			}
			return c.push(lua.LNumber(strings.Count(s, sub)))
		},
		"partition": func(c *call) int {
			s, sep := c.str(1), c.str(2)
			if sep == "" {
				c.argError(2, "empty separator")
			}
			before, after, found := strings.Cut(s, sep)
			if !found {
				return c.push(lua.LString(s), lua.LString(""), lua.LString(""))
			}
			return c.push(lua.LString(before), lua.LString(sep), lua.LString(after))
		},
		"rpartition": func(c *call) int {
			s, sep := c.str(1), c.str(2)
			if sep == "" {
				c.argError(2, "empty separator")
			}
			i := strings.LastIndex(s, sep)
			if i < 0 {
				return c.push(lua.LString(""), lua.LString(""), lua.LString(s))
			}
			return c.push(lua.LString(s[:i]), lua.LString(sep), lua.LString(s[i+len(sep):]))
		},
		"lfind": func(c *call) int { return findResult(c, strings.Index(c.str(1), c.str(2))) },
		"rfind": func(c *call) int { return findResult(c, strings.LastIndex(c.str(1), c.str(2))) },
		"at": func(c *call) int {
			s, i := c.str(1), int(c.integer(2))
			if i < 1 || i > len(s) {
				return c.push(lua.LString(""))
			}
			return c.push(lua.LString(s[i-1 : i]))
		},
		"isdigit": classFn(func(r byte) bool { return r >= '0' && r <= '9' }),
		"isalpha": classFn(func(r byte) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }),
		"isalnum": classFn(func(r byte) bool { return isAlnumByte(r) }),
		"isspace": classFn(func(r byte) bool { return strings.IndexByte(" \t\n\r\f\v", r) >= 0 }),
		"islower": classFn(func(r byte) bool { return r >= 'a' && r <= 'z' }),
		"isupper": classFn(func(r byte) bool { return r >= 'A' && r <= 'Z' }),
		"title": func(c *call) int {
			s := []byte(c.str(1))
			start := true
			for i, ch := range s {
				isLetter := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z'
				switch {
				case isLetter && start:
					s[i] = byte(strings.ToUpper(string(ch))[0])
					start = false
				case isLetter:
					s[i] = byte(strings.ToLower(string(ch))[0])
				default:
					start = true
				}
			}
			return c.push(lua.LString(s))
		},
	})(L)
}

func isAlnumByte(r byte) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func classFn(ok func(byte) bool) lfunc {
	return func(c *call) int {
		s := c.str(1)
		if s == "" {
			return c.push(lua.LFalse)
		}
		for i := 0; i < len(s); i++ {
			if !ok(s[i]) {
				return c.push(lua.LFalse)
			}
		}
		return c.push(lua.LTrue)
	}
}

func findResult(c *call, i int) int {
	if i < 0 {
		return c.push(lua.LNil)
	}
	return c.push(lua.LNumber(i + 1))
}

// anyAffix tests s against one affix or any of a table of them.
func anyAffix(c *call, test func(s, affix string) bool) bool {
	s := c.str(1)
	if t, ok := c.L.Get(2).(*lua.LTable); ok {
		for i := 1; i <= t.Len(); i++ {
			if test(s, lua.LVAsString(t.RawGetInt(i))) {
				return true
			}
		}
		return false
	}
	return test(s, c.str(2))
}

// luaPatternFind calls string.find(s, pattern, init, plain) of L.
func luaPatternFind(L *lua.LState, s, pattern string, init int, plain bool) (int, int, bool) {
	strTbl, ok := L.GetGlobal("string").(*lua.LTable)
	if !ok {
		L.RaiseError("string library not loaded")
	}
	L.Push(strTbl.RawGetString("find"))
	L.Push(lua.LString(s))
	L.Push(lua.LString(pattern))
	L.Push(lua.LNumber(init))
	L.Push(lua.LBool(plain))
	L.Call(4, 2)
	a, b := L.Get(-2), L.Get(-1)
	L.Pop(2)
	na, ok1 := a.(lua.LNumber)
	nb, ok2 := b.(lua.LNumber)
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	return int(na), int(nb), true
}

func plUtilsLoader(L *lua.LState) int {
	return moduleFuncs(map[string]lfunc{
		"split": func(c *call) int {
			s := c.str(1)
			return c.push(listOf(c.L, utilsSplit(c.L, s, c.optStrPtr(2), lua.LVAsBool(c.L.Get(3)), int(c.optInt(4, 0)))))
		},
		"escape": func(c *call) int {
			s := c.str(1)
			var b strings.Builder
			for i := 0; i < len(s); i++ {
				if strings.IndexByte("-.+[]()$^%?*", s[i]) >= 0 {
					b.WriteByte('%')
				}
				b.WriteByte(s[i])
			}
			return c.push(lua.LString(b.String()))
		},
		"assert_arg": func(c *call) int {
			n := c.integer(1)
			val := c.L.Get(2)
			tp := c.str(3)
			if val.Type().String() != tp {
				raise(c.L, fmt.Sprintf("argument %d expected a '%s', got a '%s'", n, tp, val.Type().String()))
			}
			if verify := c.L.Get(4); verify != lua.LNil {
				if !lua.LVAsBool(callFn(c.L, verify, val)) {
					raise(c.L, fmt.Sprintf("argument %d: '%s' %s", n, lua.LVAsString(val), c.optStr(5, "")))
				}
			}
			return c.push(val)
		},
		"assert_string": func(c *call) int {
			n := c.integer(1)
			val := c.L.Get(2)
			if _, ok := val.(lua.LString); !ok {
				raise(c.L, fmt.Sprintf("argument %d expected a 'string', got a '%s'", n, val.Type().String()))
			}
			return c.push(val)
		},
		"printf": func(c *call) int {
			s := luaFormat(c, 1)
			fmt.Print(s)
			return 0
		},
		"unpack": func(c *call) int {
			t := c.table(1)
			i := int(c.optInt(2, 1))
			j := t.Len()
			if n, ok := t.RawGetString("n").(lua.LNumber); ok {
				j = int(n)
			}
			j = int(c.optInt(3, int64(j)))
			if j-i > 10000 {
				c.L.RaiseError("too many results to unpack")
			}
			for k := i; k <= j; k++ {
				c.L.Push(t.RawGetInt(k))
			}
			return max(j-i+1, 0)
		},
		"pack": func(c *call) int {
			n := c.L.GetTop()
			t := c.L.CreateTable(n, 1)
			for i := 1; i <= n; i++ {
				t.RawSetInt(i, c.L.Get(i))
			}
			t.RawSetString("n", lua.LNumber(n))
			return c.push(t)
		},
		"choose": func(c *call) int {
			if lua.LVAsBool(c.L.Get(1)) {
				return c.push(c.L.Get(2))
			}
			return c.push(c.L.Get(3))
		},
		"is_type": func(c *call) int {
			v := c.L.Get(1)
			if s, ok := c.L.Get(2).(lua.LString); ok {
				return c.push(lua.LBool(v.Type().String() == string(s)))
			}
			return c.push(lua.LBool(c.L.GetMetatable(v) == c.L.Get(2)))
		},
	})(L)
}

// luaFormat calls string.format with the arguments from n on.
func luaFormat(c *call, n int) string {
	strTbl := c.L.GetGlobal("string").(*lua.LTable)
	c.L.Push(strTbl.RawGetString("format"))
	args := extraArgs(c, n)
	for _, a := range args {
		c.L.Push(a)
	}
	c.L.Call(len(args), 1)
	s := lua.LVAsString(c.L.Get(-1))
	c.L.Pop(1)
	return s
}
