package pdk

import (
	"errors"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-lua/luavalue"
)

// selfBase returns the index of the first argument after an optional self
// (colon call on t).
func selfBase(L *lua.LState, t *lua.LTable) int {
	if L.Get(1) == t {
		return 2
	}
	return 1
}

func seconds(v lua.LValue) (time.Duration, bool) {
	n, ok := v.(lua.LNumber)
	if !ok || n < 0 {
		return 0, false
	}
	return time.Duration(float64(n) * float64(time.Second)), true
}

// cacheErrPrefix starts the errors kong.cache:get returns, as Kong's.
const cacheErrPrefix = "failed to get from node cache: "

// newCacheTable is kong.cache: get, probe, invalidate, invalidate_local.
func (b *Binding) newCacheTable() *lua.LTable {
	L := b.L
	t := L.NewTable()
	t.RawSetString("get", b.bound("kong.cache.get", b.cacheGet))
	t.RawSetString("probe", b.bound("kong.cache.probe", func(L *lua.LState, k hostabi.Kong) int {
		i := selfBase(L, t)
		key := checkString(L, i, "key")
		v, found := k.Cache().Get(key)
		if !found {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(lua.LNumber(0)) // remaining TTL: not known to the ABI
		L.Push(lua.LNil)
		L.Push(fromGo(L, v, luavalue.Options{NullInTables: true, MarkArrays: true}))
		return 3
	}))
	inv := b.bound("kong.cache.invalidate", func(L *lua.LState, k hostabi.Kong) int {
		key := checkString(L, selfBase(L, t), "key")
		k.Cache().Invalidate(key)
		return 0
	})
	t.RawSetString("invalidate", inv)
	t.RawSetString("invalidate_local", inv)
	return t
}

// cacheGet is kong.cache:get(key, opts, cb, ...): the cached value, or the
// callback's, loaded once for all concurrent callers of the node
// (hostabi.Cache Lookup / Fill / Abandon). Returns value, err, hit_level
// (1 for a hit, 3 for a value this call loaded).
func (b *Binding) cacheGet(L *lua.LState, k hostabi.Kong) int {
	i := selfBase(L, b.cacheTable)
	key := checkString(L, i, "key")
	opts := L.Get(i + 1)
	if opts != lua.LNil && opts.Type() != lua.LTTable {
		L.RaiseError("opts must be a table")
	}
	cb := L.Get(i + 2)
	if cb != lua.LNil && cb.Type() != lua.LTFunction {
		L.RaiseError("callback must be a function")
	}
	c := k.Cache()
	v, found, load, err := c.Lookup(k.Context(), key)
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(cacheErrPrefix + err.Error()))
		return 2
	}
	if found || !load {
		L.Push(fromGo(L, v, luavalue.Options{NullInTables: true, MarkArrays: true}))
		L.Push(lua.LNil)
		L.Push(lua.LNumber(1))
		return 3
	}
	if cb == lua.LNil {
		c.Abandon(key, errors.New("no callback"))
		L.Push(lua.LNil)
		return 1
	}
	filled := false
	defer func() {
		if !filled {
			c.Abandon(key, errors.New("callback did not complete"))
		}
	}()
	top := L.GetTop()
	L.Push(cb)
	for a := i + 3; a <= top; a++ {
		L.Push(L.Get(a))
	}
	if perr := L.PCall(top-(i+2), 3, nil); perr != nil {
		filled = true
		msg := perr.Error()
		var ae *lua.ApiError
		if errors.As(perr, &ae) {
			if IsExitValue(ae.Object) {
				c.Abandon(key, errors.New("callback exited the request"))
				b.exit(L)
			}
			msg = tostring(L, ae.Object)
		}
		c.Abandon(key, errors.New(msg))
		L.Push(lua.LNil)
		L.Push(lua.LString(cacheErrPrefix + "callback threw an error: " + msg))
		return 2
	}
	val, cerr, ttlv := L.Get(-3), L.Get(-2), L.Get(-1)
	L.Pop(3)
	if cerr != lua.LNil {
		filled = true
		c.Abandon(key, errors.New(tostring(L, cerr)))
		L.Push(lua.LNil)
		L.Push(lua.LString(cacheErrPrefix + tostring(L, cerr)))
		return 2
	}
	g, gerr := luavalue.ToGo(L, val)
	if gerr != nil {
		filled = true
		msg := "could not cache the callback's value: " + gerr.Error()
		c.Abandon(key, errors.New(msg))
		L.Push(lua.LNil)
		L.Push(lua.LString(cacheErrPrefix + msg))
		return 2
	}
	ttl, ok := seconds(ttlv)
	if !ok {
		ttl = b.env.CacheTTL
		if ot, isT := opts.(*lua.LTable); isT {
			if d, ok := seconds(ot.RawGetString("ttl")); ok {
				ttl = d
			}
			if g == nil {
				if d, ok := seconds(ot.RawGetString("neg_ttl")); ok {
					ttl = d
				} else if b.env.CacheNegTTL > 0 {
					ttl = b.env.CacheNegTTL
				}
			}
		} else if g == nil && b.env.CacheNegTTL > 0 {
			ttl = b.env.CacheNegTTL
		}
	}
	filled = true
	c.Fill(key, g, ttl)
	L.Push(val)
	L.Push(lua.LNil)
	L.Push(lua.LNumber(3))
	return 3
}
