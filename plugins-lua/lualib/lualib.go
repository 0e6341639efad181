// Package lualib implements, in Go, the Lua libraries Kong plugins import
// (cjson, resty.jwt, resty.openssl.*, resty.string, resty.sha*, resty.md5,
// resty.random, resty.http, kong.plugins.jwt.jwt_parser, pl.tablex,
// pl.stringx, pl.utils, kong.tools.utils...) and the request-independent
// part of OpenResty's ngx API (time, base64, digests, URI escaping, ngx.re,
// ngx.shared dictionaries, constants, ngx.config, ngx.worker).
//
// Preload registers the modules in package.preload, so they load lazily on
// require; OpenNgx fills an ngx table. Both take the same Options. Nothing
// here depends on a request: the request-bound ngx functions belong to the
// PDK package.
//
// Every Go function exposed to Lua checks its arguments with the message
// shape of Lua's auxiliary library ("bad argument #1 to 'md5' (string
// expected, got table)") and turns a Go panic into a Lua error.
package lualib

import (
	"context"
	"fmt"
	"net/http"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/hostabi"
)

// Options configure Preload and OpenNgx. The zero value is usable.
type Options struct {
	// Dicts are the ngx.shared dictionaries, created once per node with
	// NewDicts and shared by every state. Nil means ngx.shared is empty.
	Dicts *Dicts
	// Now is the clock behind ngx.time/now/today/..., shared dict expiry
	// and resty.jwt's exp/nbf checks. Nil means time.Now.
	Now func() time.Time
	// HTTPContext returns the context that bounds a resty.http request made
	// from L. Nil means L.Context(), or context.Background() when the
	// state has none.
	HTTPContext func(L *lua.LState) context.Context
	// HTTPClient performs resty.http requests. Nil means a client with a
	// 60 s overall timeout; per-request timeouts set from Lua
	// (set_timeout, set_timeouts) apply on top.
	HTTPClient *http.Client
	// Outbound, when set, is asked before each resty.http request: when
	// it returns an HTTP (the bound request's hostabi.HTTP, Kong's
	// cosockets), the request goes through it with ctx, so the ABI's
	// phase table ("kong.http.do") and the request's deadline apply;
	// when it returns nil (no request bound: init_worker, a timer), the
	// request goes out through HTTPClient.
	Outbound func(L *lua.LState) (ctx context.Context, h hostabi.HTTP)
	// Prefix is what ngx.config.prefix() returns. Empty means "/".
	Prefix string
	// PID is what ngx.worker.pid() returns. Zero means os.Getpid().
	PID int
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// context returns the context bounding blocking work done for L.
func stateContext(L *lua.LState) context.Context {
	if ctx := L.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// lfunc is a Go function exposed to Lua under a name used in error messages.
type lfunc func(c *call) int

// call carries the state and the Lua-visible name of the running function,
// so argument errors read "bad argument #n to 'name' (...)".
type call struct {
	L    *lua.LState
	name string
}

// wrap turns an lfunc into a gopher-lua function that reports argument
// errors under name and converts Go panics (other than Lua errors) into
// Lua errors.
func wrap(name string, f lfunc) lua.LGFunction {
	return func(L *lua.LState) (n int) {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(*lua.ApiError); ok {
					panic(r)
				}
				if pe, ok := r.(*hostabi.PhaseError); ok {
					// An operation out of its phases: the ABI's message,
					// as the PDK raises it.
					L.RaiseError("%s", pe.Error())
				}
				L.RaiseError("%s: internal error: %v", name, r)
			}
		}()
		return f(&call{L: L, name: name})
	}
}

// setFuncs sets each function of fns on t under its key.
func setFuncs(L *lua.LState, t *lua.LTable, fns map[string]lfunc) {
	for k, f := range fns {
		t.RawSetString(k, L.NewFunction(wrap(k, f)))
	}
}

func typeName(L *lua.LState, n int) string {
	if n > L.GetTop() {
		return "no value"
	}
	return L.Get(n).Type().String()
}

// argError raises luaL_argerror's message.
func (c *call) argError(n int, msg string) {
	raise(c.L, fmt.Sprintf("bad argument #%d to '%s' (%s)", n, c.name, msg))
}

// raise raises msg as luaL_error does from a C function: prefixed with
// the caller's "chunk:line: " when the caller is a Lua function, bare
// when it is a Go function such as pcall.
func raise(L *lua.LState, msg string) {
	if dbg, ok := L.GetStack(1); ok {
		if _, err := L.GetInfo("Sl", dbg, lua.LNil); err == nil && dbg.CurrentLine > 0 {
			msg = fmt.Sprintf("%s:%d: %s", dbg.Source, dbg.CurrentLine, msg)
		}
	}
	L.Error(lua.LString(msg), 0)
}

func (c *call) typeError(n int, want string) {
	c.argError(n, fmt.Sprintf("%s expected, got %s", want, typeName(c.L, n)))
}

// str is luaL_checkstring: a string or a number (converted).
func (c *call) str(n int) string {
	switch v := c.L.Get(n).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return v.String()
	}
	c.typeError(n, "string")
	return ""
}

// optStr is luaL_optstring.
func (c *call) optStr(n int, d string) string {
	if c.L.Get(n) == lua.LNil {
		return d
	}
	return c.str(n)
}

// num is luaL_checknumber: a number or a numeric string.
func (c *call) num(n int) float64 {
	switch v := c.L.Get(n).(type) {
	case lua.LNumber:
		return float64(v)
	case lua.LString:
		if f, err := parseLuaNumber(string(v)); err == nil {
			return f
		}
	}
	c.typeError(n, "number")
	return 0
}

func (c *call) optNum(n int, d float64) float64 {
	if c.L.Get(n) == lua.LNil {
		return d
	}
	return c.num(n)
}

func (c *call) integer(n int) int64 { return int64(c.num(n)) }

func (c *call) optInt(n int, d int64) int64 {
	if c.L.Get(n) == lua.LNil {
		return d
	}
	return c.integer(n)
}

func (c *call) table(n int) *lua.LTable {
	if t, ok := c.L.Get(n).(*lua.LTable); ok {
		return t
	}
	c.typeError(n, "table")
	return nil
}

func (c *call) optTable(n int) *lua.LTable {
	if c.L.Get(n) == lua.LNil {
		return nil
	}
	return c.table(n)
}

// pushNilErr pushes nil and an error message: the (nil, err) convention.
func (c *call) nilErr(format string, args ...any) int {
	c.L.Push(lua.LNil)
	c.L.Push(lua.LString(fmt.Sprintf(format, args...)))
	return 2
}

func (c *call) push(vs ...lua.LValue) int {
	for _, v := range vs {
		c.L.Push(v)
	}
	return len(vs)
}

// Preload registers every module of this package in package.preload.
// Modules are built on the first require.
func Preload(L *lua.LState, opts Options) {
	o := &opts
	for name, loader := range modules(o) {
		L.PreloadModule(name, loader)
	}
}

// ModuleNames lists the module names Preload registers, sorted.
func ModuleNames() []string {
	m := modules(&Options{})
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sortStrings(names)
	return names
}

// moduleFuncs builds a loader returning a table of functions.
func moduleFuncs(fns map[string]lfunc) lua.LGFunction {
	return func(L *lua.LState) int {
		t := L.NewTable()
		setFuncs(L, t, fns)
		L.Push(t)
		return 1
	}
}

func modules(o *Options) map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"cjson":                         cjsonLoader(false),
		"cjson.safe":                    cjsonLoader(true),
		"resty.jwt":                     jwtLoader(o),
		"resty.jwt-validators":          jwtValidatorsLoader(o),
		"resty.openssl.hmac":            hmacLoader,
		"resty.openssl.digest":          digestLoader,
		"resty.openssl.pkey":            pkeyLoader,
		"resty.openssl.mac":             macLoader,
		"ngx.base64":                    ngxBase64Loader,
		"resty.openssl.rand":            opensslRandLoader,
		"resty.string":                  restyStringLoader,
		"resty.sha1":                    hashObjectLoader("sha1"),
		"resty.sha224":                  hashObjectLoader("sha224"),
		"resty.sha256":                  hashObjectLoader("sha256"),
		"resty.sha384":                  hashObjectLoader("sha384"),
		"resty.sha512":                  hashObjectLoader("sha512"),
		"resty.md5":                     hashObjectLoader("md5"),
		"resty.random":                  restyRandomLoader,
		"resty.http":                    httpLoader(o),
		"kong.plugins.jwt.jwt_parser":   jwtParserLoader(o),
		"kong.plugins.jwt.asn_sequence": asnSequenceLoader,
		"pl.tablex":                     tablexLoader,
		"pl.stringx":                    stringxLoader,
		"pl.utils":                      plUtilsLoader,
		"kong.tools.utils":              kongUtilsLoader,
		"kong.tools.uuid":               kongUUIDLoader,
		"kong.tools.string":             kongStringLoader,
		"kong.tools.rand":               kongRandLoader,
	}
}
