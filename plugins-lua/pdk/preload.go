package pdk

import (
	_ "embed"
	"fmt"

	lua "github.com/yuin/gopher-lua"
)

//go:embed lua/acl_groups.lua
var aclGroupsSource string

// constantHeaders are kong.constants.HEADERS.
var constantHeaders = map[string]string{
	"HOST_OVERRIDE": "X-Host-Override", "PROXY_LATENCY": "X-Kong-Proxy-Latency",
	"RESPONSE_LATENCY": "X-Kong-Response-Latency", "ADMIN_LATENCY": "X-Kong-Admin-Latency",
	"UPSTREAM_LATENCY": "X-Kong-Upstream-Latency", "UPSTREAM_STATUS": "X-Kong-Upstream-Status",
	"CONSUMER_ID": "X-Consumer-ID", "CONSUMER_CUSTOM_ID": "X-Consumer-Custom-ID",
	"CONSUMER_USERNAME": "X-Consumer-Username", "CREDENTIAL_USERNAME": "X-Credential-Username",
	"CREDENTIAL_IDENTIFIER": "X-Credential-Identifier", "RATELIMIT_LIMIT": "X-RateLimit-Limit",
	"RATELIMIT_REMAINING": "X-RateLimit-Remaining", "CONSUMER_GROUPS": "X-Consumer-Groups",
	"AUTHENTICATED_GROUPS": "X-Authenticated-Groups", "FORWARDED_HOST": "X-Forwarded-Host",
	"FORWARDED_PREFIX": "X-Forwarded-Prefix", "ANONYMOUS": "X-Anonymous-Consumer", "VIA": "Via",
	"SERVER": "Server", "REQUEST_ID": "X-Kong-Request-Id",
}

// installPreload registers the request-bound modules in package.preload
// (a module already registered is kept).
func (b *Binding) installPreload() error {
	L := b.L
	pkg, ok := L.GetGlobal("package").(*lua.LTable)
	if !ok {
		return nil // no package library: nothing can be required
	}
	preload, ok := pkg.RawGetString("preload").(*lua.LTable)
	if !ok {
		preload = L.NewTable()
		pkg.RawSetString("preload", preload)
	}
	add := func(name string, open lua.LGFunction) {
		if preload.RawGetString(name) == lua.LNil {
			preload.RawSetString(name, L.NewFunction(open))
		}
	}
	var responses *lua.LTable
	add("kong.tools.responses", func(L *lua.LState) int {
		if responses == nil {
			responses = b.responsesModule(L)
		}
		L.Push(responses)
		return 1
	})
	add("kong.singletons", func(L *lua.LState) int {
		L.Push(L.GetField(L.GetGlobal("kong"), "singletons"))
		return 1
	})
	add("kong.constants", func(L *lua.LState) int {
		t := L.NewTable()
		h := L.NewTable()
		for k, v := range constantHeaders {
			h.RawSetString(k, lua.LString(v))
		}
		t.RawSetString("HEADERS", h)
		L.Push(t)
		return 1
	})
	fn, err := L.LoadString(aclGroupsSource)
	if err != nil {
		return fmt.Errorf("pdk: kong.plugins.acl.groups: %w", err)
	}
	fn.Env = L.Get(lua.GlobalsIndex).(*lua.LTable)
	if preload.RawGetString("kong.plugins.acl.groups") == lua.LNil {
		preload.RawSetString("kong.plugins.acl.groups", fn)
	}
	return nil
}

// readOnly returns a proxy of t that raises an error on writes, and whose
// nested tables are read-only too.
func readOnly(L *lua.LState, v lua.LValue, name string) lua.LValue {
	t, ok := v.(*lua.LTable)
	if !ok {
		return v
	}
	// nested tables first
	t.ForEach(func(k, val lua.LValue) {
		if nt, ok := val.(*lua.LTable); ok {
			t.RawSet(k, readOnly(L, nt, name))
		}
	})
	proxy := L.NewTable()
	mt := L.NewTable()
	mt.RawSetString("__index", t)
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("cannot modify %s: it is read-only", name)
		return 0
	}))
	mt.RawSetString("__len", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(t.Len()))
		return 1
	}))
	mt.RawSetString("__metatable", lua.LFalse)
	L.SetMetatable(proxy, mt)
	return proxy
}

// pcallWrapper keeps exits (IsExit) from being caught by pcall / xpcall.
const pcallWrapper = `
local raw_pcall, raw_xpcall, is_exit, raise = ...
local function pass(ok, ...)
  if not ok and is_exit((...)) then
    raise((...))
  end
  return ok, ...
end
pcall = function(f, ...)
  return pass(raw_pcall(f, ...))
end
xpcall = function(f, handler)
  return pass(raw_xpcall(f, function(e)
    if is_exit(e) then
      return e
    end
    return handler(e)
  end))
end
`

func (b *Binding) wrapPcall() error {
	L := b.L
	rawP, rawX := L.GetGlobal("pcall"), L.GetGlobal("xpcall")
	if rawP == lua.LNil || rawX == lua.LNil {
		return nil
	}
	fn, err := L.LoadString(pcallWrapper)
	if err != nil {
		return fmt.Errorf("pdk: pcall wrapper: %w", err)
	}
	L.Push(fn)
	L.Push(rawP)
	L.Push(rawX)
	L.Push(L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LBool(IsExitValue(L.Get(1))))
		return 1
	}))
	L.Push(L.NewFunction(func(L *lua.LState) int {
		L.Error(L.Get(1), 0)
		return 0
	}))
	if err := L.PCall(4, 0, nil); err != nil {
		return fmt.Errorf("pdk: pcall wrapper: %w", err)
	}
	return nil
}
