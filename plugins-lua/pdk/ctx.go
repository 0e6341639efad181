package pdk

import (
	"fmt"
	"sort"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-lua/luavalue"
)

// NgxCtxPrefix prefixes the kong.ctx.shared keys (hostabi Ctx().Shared())
// that hold ngx.ctx: ngx.ctx.foo is the shared value "ngx.ctx.foo", so
// ngx.ctx is request-wide like OpenResty's and apart from kong.ctx.shared.
const NgxCtxPrefix = "ngx.ctx."

type ctxKind int

const (
	ctxShared ctxKind = iota
	ctxPlugin
	ctxNgx
)

var ctxNames = [...]string{"kong.ctx.shared", "kong.ctx.plugin", "ngx.ctx"}

// ctxSpace backs one of kong.ctx.shared, kong.ctx.plugin and ngx.ctx: an
// empty proxy table whose __index / __newindex go to a per-call cache
// table, filled from the request's hostabi Values on first read and written
// back by Leave for every key read or written (so nested mutation of a
// table read in this call is kept).
type ctxSpace struct {
	b       *Binding
	kind    ctxKind
	cache   *lua.LTable
	touched map[string]struct{}
}

func (c *ctxSpace) values(k hostabi.Kong) hostabi.Values {
	if c.kind == ctxPlugin {
		return k.Ctx().Plugin()
	}
	return k.Ctx().Shared()
}

func (c *ctxSpace) storeKey(key string) string {
	if c.kind == ctxNgx {
		return NgxCtxPrefix + key
	}
	return key
}

// ctxKey turns a Lua key into the store's key: strings as is, numbers in
// decimal; other keys are an error.
func ctxKey(L *lua.LState, name string, v lua.LValue) string {
	switch x := v.(type) {
	case lua.LString:
		return string(x)
	case lua.LNumber:
		return x.String()
	}
	L.RaiseError("%s keys must be strings or numbers, got %s", name, typeName(v))
	return ""
}

func (c *ctxSpace) proxy() *lua.LTable {
	L := c.b.L
	name := ctxNames[c.kind]
	t := L.NewTable()
	mt := L.NewTable()
	mt.RawSetString("__index", c.b.bound(name, func(L *lua.LState, k hostabi.Kong) int {
		key := ctxKey(L, name, L.Get(2))
		if c.kind == ctxNgx {
			if v, ok := c.b.ngxCtxAuth(L, k, key); ok {
				L.Push(v)
				return 1
			}
		}
		L.Push(c.get(L, k, key))
		return 1
	}))
	mt.RawSetString("__newindex", c.b.bound(name, func(L *lua.LState, k hostabi.Kong) int {
		key := ctxKey(L, name, L.Get(2))
		v := L.Get(3)
		if c.kind == ctxNgx && c.b.setNgxCtxAuth(L, key, v) {
			return 0
		}
		if c.cache == nil {
			c.cache = L.NewTable()
		}
		c.cache.RawSetString(key, v)
		c.touched[key] = struct{}{}
		return 0
	}))
	L.SetMetatable(t, mt)
	return t
}

func (c *ctxSpace) get(L *lua.LState, k hostabi.Kong, key string) lua.LValue {
	if c.cache == nil {
		c.cache = L.NewTable()
	}
	if v := c.cache.RawGetString(key); v != lua.LNil {
		return v
	}
	if _, ok := c.touched[key]; ok {
		return lua.LNil // deleted in this call
	}
	g, ok := c.values(k).Get(c.storeKey(key))
	if !ok || g == nil {
		return lua.LNil
	}
	v, err := luavalue.FromGo(L, g, luavalue.Options{NullInTables: true, MarkArrays: true})
	if err != nil {
		L.RaiseError("%s.%s: %s", ctxNames[c.kind], key, err.Error())
	}
	c.cache.RawSetString(key, v)
	if _, ok := v.(*lua.LTable); ok {
		c.touched[key] = struct{}{} // may be mutated in place
	}
	return v
}

// flush writes the touched keys back and resets the space for the next
// call.
func (c *ctxSpace) flush(k hostabi.Kong) []error {
	if len(c.touched) == 0 {
		c.cache = nil
		return nil
	}
	keys := make([]string, 0, len(c.touched))
	for key := range c.touched {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	var errs []error
	vals := c.values(k)
	for _, key := range keys {
		v := c.cache.RawGetString(key)
		if v == lua.LNil {
			vals.Delete(c.storeKey(key))
			continue
		}
		g, err := luavalue.ToGo(c.b.L, v)
		if err != nil {
			errs = append(errs, fmt.Errorf("pdk: %s.%s: %w", ctxNames[c.kind], key, err))
			continue
		}
		vals.Set(c.storeKey(key), g)
	}
	clear(c.touched)
	c.cache = nil
	return errs
}

// kongCtxTable is kong.ctx: shared and plugin.
func (b *Binding) kongCtxTable() *lua.LTable {
	t := b.L.NewTable()
	t.RawSetString("shared", b.ctxs[ctxShared].proxy())
	t.RawSetString("plugin", b.ctxs[ctxPlugin].proxy())
	return t
}

// ngxCtxAuth answers ngx.ctx.authenticated_consumer / _credential: the
// pending assignment of this call, else the request's identity (nil where
// the identity cannot be read yet, in rewrite).
func (b *Binding) ngxCtxAuth(L *lua.LState, k hostabi.Kong, key string) (lua.LValue, bool) {
	switch key {
	case "authenticated_consumer":
		return b.currentConsumer(L, k), true
	case "authenticated_credential":
		return b.currentCredential(L, k), true
	}
	return nil, false
}

func (b *Binding) currentConsumer(L *lua.LState, k hostabi.Kong) lua.LValue {
	if b.authSet && b.authConsumer != nil {
		return b.authConsumer
	}
	if !hostabi.Allowed(hostabi.OpClientConsumer, k.Phase()) {
		return lua.LNil
	}
	return entityToLua(L, k.Client().Consumer())
}

func (b *Binding) currentCredential(L *lua.LState, k hostabi.Kong) lua.LValue {
	if b.authSet && b.authCredential != nil {
		return b.authCredential
	}
	if !hostabi.Allowed(hostabi.OpClientCredential, k.Phase()) {
		return lua.LNil
	}
	return entityToLua(L, k.Client().Credential())
}

// setNgxCtxAuth records an assignment to ngx.ctx.authenticated_consumer or
// _credential; Leave applies it with Client.Authenticate.
func (b *Binding) setNgxCtxAuth(L *lua.LState, key string, v lua.LValue) bool {
	switch key {
	case "authenticated_consumer", "authenticated_credential":
	default:
		return false
	}
	if v != lua.LNil {
		if _, ok := v.(*lua.LTable); !ok {
			L.RaiseError("ngx.ctx.%s must be a table or nil, got %s", key, typeName(v))
		}
	}
	b.setAuth(key == "authenticated_consumer", v)
	return true
}

func (b *Binding) setAuth(consumer bool, v lua.LValue) {
	if !b.authSet {
		b.authSet, b.authConsumer, b.authCredential = true, nil, nil
	}
	if consumer {
		b.authConsumer = v
	} else {
		b.authCredential = v
	}
}

// flushAuth authenticates with the pending ngx.ctx identity; a side not
// assigned keeps the request's current value.
func (b *Binding) flushAuth(k hostabi.Kong) error {
	L := b.L
	cl := k.Client()
	conv := func(v lua.LValue, cur func() hostabi.Entity) (hostabi.Entity, error) {
		if v == nil {
			return cur(), nil
		}
		if v == lua.LNil {
			return nil, nil
		}
		g, err := luavalue.ToGo(L, v)
		if err != nil {
			return nil, err
		}
		m, ok := g.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("not an object")
		}
		return m, nil
	}
	c, err := conv(b.authConsumer, cl.Consumer)
	if err != nil {
		return fmt.Errorf("pdk: ngx.ctx.authenticated_consumer: %w", err)
	}
	cr, err := conv(b.authCredential, cl.Credential)
	if err != nil {
		return fmt.Errorf("pdk: ngx.ctx.authenticated_credential: %w", err)
	}
	cl.Authenticate(c, cr)
	return nil
}

// entityToLua converts a row for Lua with the 0.x field names added
// (consumer_id beside consumer.id); nil gives nil.
func entityToLua(L *lua.LState, e hostabi.Entity) lua.LValue {
	if e == nil {
		return lua.LNil
	}
	return fromGo(L, legacyRow(e), luavalue.Options{NullInTables: true, MarkArrays: true})
}

// legacyRow returns e with the 0.x names of its foreign keys added:
// "<name>_id" for every "<name>": {"id": ...} field not already present.
func legacyRow(e hostabi.Entity) hostabi.Entity {
	var out hostabi.Entity
	for name, v := range e {
		ref, ok := v.(map[string]any)
		if !ok || len(ref) != 1 {
			continue
		}
		id, ok := ref["id"]
		if !ok {
			continue
		}
		if _, exists := e[name+"_id"]; exists {
			continue
		}
		if out == nil {
			out = make(hostabi.Entity, len(e)+1)
			for n, x := range e {
				out[n] = x
			}
		}
		out[name+"_id"] = id
	}
	if out == nil {
		return e
	}
	return out
}
