// Package pdk is the request-bound part of the Lua plugin host: the `kong`
// global (Kong's PDK: kong.request, kong.response, kong.service,
// kong.client, kong.ctx, kong.log, kong.cache, kong.db, ...), the legacy
// APIs 0.x-2.x plugins use (kong.singletons, kong.tools.responses,
// ngx.ctx.authenticated_consumer) and the request-bound ngx.* functions
// (ngx.ctx, ngx.var, ngx.req, ngx.header, ngx.status, ngx.say, ngx.exit,
// ngx.log, ngx.arg, ngx.get_phase).
//
// A Lua state is prepared once, at load time, with Install; the returned
// Binding then ties the state to one plugin call at a time:
//
//	b, err := pdk.Install(L, pdk.Env{Configuration: conf})
//	...
//	b.Enter(k, pdk.Call{Plugin: "my-plugin"})
//	err := L.PCall(...)            // run the handler's phase method
//	if err != nil && !pdk.IsExit(err) { b.Failed() }
//	err = b.Leave()                // flush kong.ctx / ngx.ctx writes
//
// Every PDK function goes through the bound hostabi.Kong, so hostabi's
// phase checks apply: an out-of-phase call raises a Lua error carrying the
// *hostabi.PhaseError's message. No Go panic escapes a function this
// package registers: each becomes a Lua error.
//
// README.md has the compatibility table.
package pdk

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-lua/luavalue"
)

// Env is what is fixed per node and handed to every state at load time.
type Env struct {
	// Configuration is the node's configuration (kong.configuration and
	// kong.singletons.configuration), exposed as a read-only table. It
	// must be JSON-shaped (luavalue.FromGo).
	Configuration map[string]any
	// CacheTTL is the default TTL of kong.cache:get entries loaded by a
	// callback (Kong's db_cache_ttl); 0 keeps them until invalidated.
	CacheTTL time.Duration
	// CacheNegTTL is the default TTL of negative entries (a callback
	// returning nil; Kong's db_cache_neg_ttl); 0 means CacheTTL.
	CacheNegTTL time.Duration
	// Logger receives kong.log and ngx.log lines written while no request
	// is bound (module top level, init_worker); nil drops them. level is
	// Kong's name of the level ("err", "warn", ...).
	Logger func(level, msg string)
}

// Call describes one plugin call Enter binds the state to.
type Call struct {
	// Plugin is the plugin's name (kong.log prefixes are the host's; the
	// name is used in messages of this package).
	Plugin string
	// StartTime is when the request started (kong.request.get_start_time,
	// ngx.req.start_time); zero uses the time of Enter.
	StartTime time.Time
	// Chunk and EOF are the body_filter phase's chunk and last-chunk flag,
	// seen by Lua as ngx.arg[1] and ngx.arg[2]; Lua may replace both
	// (ngx.arg[1] = "..."): read the outcome with Binding.Chunk.
	Chunk []byte
	EOF   bool
}

// Binding ties one Lua state prepared by Install to the plugin call in
// progress. Enter and Leave bracket each call; between them the state is
// used by one goroutine only.
type Binding struct {
	L    *lua.LState
	env  Env
	k    hostabi.Kong
	call Call

	exitUD     *lua.LUserData
	headerMeta *lua.LTable
	ctxs       [3]*ctxSpace
	failed     bool
	chunkSet   bool

	// output of ngx.say / ngx.print, sent by ngx.exit or at Leave.
	out []byte
	// status set by ngx.status in rewrite/access (0: none).
	status int
	// headers set through ngx.header in rewrite/access, lower-cased names.
	hdr map[string][]string
	// ngx.var.upstream_* writes of this call.
	vars map[string]string
	// ngx.ctx.authenticated_consumer / _credential assignments pending.
	authSet              bool
	authConsumer         lua.LValue
	authCredential       lua.LValue
	legacyGetPhase       lua.LValue
	cacheTable, dbTable  *lua.LTable
	inspectOn            bool
	daos                 map[string]*lua.LTable
	singletonDaos        map[string]*lua.LTable
	configurationPayload lua.LValue
}

// exitSignal is the Value of the per-state userdata raised by ngx.exit,
// kong.response.exit and kong.tools.responses.send_*.
type exitSignal struct{}

var theExit = &exitSignal{}

// IsExit reports whether err (from L.PCall or L.CallByParam) is the end of
// a handler by ngx.exit(status), kong.response.exit / error or
// kong.tools.responses.send_*: the host treats it as a normal return. The
// host must run handlers without a message handler, or with one that
// passes the exit value through (IsExitValue), so the value survives.
func IsExit(err error) bool {
	var ae *lua.ApiError
	if errors.As(err, &ae) {
		return IsExitValue(ae.Object)
	}
	return false
}

// IsExitValue reports whether v is the value a handler's end by exit is
// raised with (for a host's message handler, which must return it as is).
func IsExitValue(v lua.LValue) bool {
	ud, ok := v.(*lua.LUserData)
	return ok && ud.Value == theExit
}

// Install prepares L for the PDK: it creates the `kong` global (fields of
// an existing `kong` table are kept), adds the request-bound fields of
// `ngx` (creating it when absent; fields already there are never
// replaced, except ngx.get_phase, which is wrapped: a request's phase while
// a call is bound, the previous function's answer otherwise), registers
// kong.tools.responses, kong.plugins.acl.groups, kong.constants and
// kong.singletons in package.preload (unless already there), and wraps
// pcall and xpcall so that an exit (see IsExit) is not caught by them, as
// ngx.exit's yield is not in OpenResty. Call it once per state, at load
// time, after the request-independent libraries are in place.
func Install(L *lua.LState, env Env) (*Binding, error) {
	b := &Binding{L: L, env: env, daos: map[string]*lua.LTable{}, singletonDaos: map[string]*lua.LTable{}}
	b.exitUD = L.NewUserData()
	b.exitUD.Value = theExit
	b.headerMeta = b.newHeaderMeta()
	for i := range b.ctxs {
		b.ctxs[i] = &ctxSpace{b: b, kind: ctxKind(i), touched: map[string]struct{}{}}
	}

	kong, ok := L.GetGlobal("kong").(*lua.LTable)
	if !ok {
		kong = L.NewTable()
		L.SetGlobal("kong", kong)
	}
	ngx, ok := L.GetGlobal("ngx").(*lua.LTable)
	if !ok {
		ngx = L.NewTable()
		L.SetGlobal("ngx", ngx)
	}
	conf, err := luavalue.FromGo(L, env.Configuration, luavalue.Options{MarkArrays: true})
	if err != nil {
		return nil, fmt.Errorf("pdk: kong.configuration: %w", err)
	}
	if conf == lua.LNil {
		conf = L.NewTable()
	}
	b.configurationPayload = readOnly(L, conf, "kong.configuration")

	setAbsent(kong, "configuration", b.configurationPayload)
	setAbsent(kong, "request", b.requestTable())
	setAbsent(kong, "client", b.clientTable())
	setAbsent(kong, "service", b.serviceTable())
	setAbsent(kong, "response", b.responseTable())
	setAbsent(kong, "ctx", b.kongCtxTable())
	setAbsent(kong, "log", b.logTable())
	setAbsent(kong, "node", b.nodeTable())
	setAbsent(kong, "ip", b.ipTable())
	setAbsent(kong, "table", b.tableTable())
	setAbsent(kong, "router", b.routerTable())
	setAbsent(kong, "plugin", b.pluginTable())
	b.cacheTable = b.newCacheTable()
	setAbsent(kong, "cache", b.cacheTable)
	b.dbTable = b.newDBTable()
	setAbsent(kong, "db", b.dbTable)
	setAbsent(kong, "singletons", b.singletonsTable())

	b.installNgx(ngx)
	if err := b.installPreload(); err != nil {
		return nil, err
	}
	if err := b.wrapPcall(); err != nil {
		return nil, err
	}
	return b, nil
}

// setAbsent sets t[name] = v unless t already has a non-nil field name.
func setAbsent(t *lua.LTable, name string, v lua.LValue) {
	if t.RawGetString(name) == lua.LNil {
		t.RawSetString(name, v)
	}
}

// Enter binds the state to one plugin call of the request k. Every PDK
// function called until Leave acts on k.
func (b *Binding) Enter(k hostabi.Kong, call Call) {
	b.k = k
	b.call = call
	if b.call.StartTime.IsZero() {
		b.call.StartTime = time.Now()
	}
	b.failed = false
	b.chunkSet = false
	b.out = b.out[:0]
	b.status = 0
}

// Kong returns the request the state is bound to, or nil between calls:
// for the libraries of the state that act for the request (resty.http
// goes through its HTTP).
func (b *Binding) Kong() hostabi.Kong { return b.k }

// Failed tells the binding that the handler ended with an error (not an
// exit): Leave then drops the output ngx.say / ngx.print buffered in
// rewrite or access instead of sending it, so the host's 500 stands.
func (b *Binding) Failed() { b.failed = true }

// Chunk returns the body_filter chunk after the Lua call: the Call's, or
// what Lua assigned to ngx.arg[1] (nil assigned gives an empty chunk), and
// the eof flag (ngx.arg[2]). Valid until the next Enter.
func (b *Binding) Chunk() ([]byte, bool) { return b.call.Chunk, b.call.EOF }

// Leave ends the call: it writes every kong.ctx.shared, kong.ctx.plugin and
// ngx.ctx key the call read or wrote back to the request's hostabi Values
// (converted with luavalue), applies ngx.ctx.authenticated_consumer /
// _credential assignments through kong.client.authenticate, and, in
// rewrite and access, sends the output of ngx.say / ngx.print not yet sent
// by ngx.exit as the response (OpenResty's behaviour: output in those
// phases is the response), unless Failed was called or the request already
// exited. The state is unbound even when an error is returned; the error
// lists every value that could not be converted.
func (b *Binding) Leave() (err error) {
	k := b.k
	if k == nil {
		return errors.New("pdk: Leave without Enter")
	}
	defer func() {
		if r := recover(); r != nil {
			err = errors.Join(err, fmt.Errorf("pdk: leaving %s: %v", b.call.Plugin, r))
		}
		b.k = nil
		b.out = b.out[:0]
		b.authSet, b.authConsumer, b.authCredential = false, lua.LNil, lua.LNil
		clear(b.hdr)
		clear(b.vars)
	}()
	var errs []error
	for _, c := range b.ctxs {
		errs = append(errs, c.flush(k)...)
	}
	if b.authSet {
		if e := b.flushAuth(k); e != nil {
			errs = append(errs, e)
		}
	}
	if len(b.out) > 0 && !b.failed {
		ph := k.Phase()
		if (ph == hostabi.PhaseRewrite || ph == hostabi.PhaseAccess) && !k.Response().Exited() {
			st := b.status
			if st == 0 {
				st = 200
			}
			k.Response().Exit(st, append([]byte(nil), b.out...), nil)
		}
	}
	return errors.Join(errs...)
}

// kongFn is a Go function of the PDK that needs the bound request.
type kongFn func(L *lua.LState, k hostabi.Kong) int

// bound wraps f: it raises a Lua error when no call is bound and turns
// every Go panic of f (a *hostabi.PhaseError among them) into a Lua error
// carrying its message.
func (b *Binding) bound(name string, f kongFn) *lua.LFunction {
	return b.L.NewFunction(func(L *lua.LState) int {
		k := b.k
		if k == nil {
			L.RaiseError("%s cannot be called outside of a request (no plugin call is bound)", name)
		}
		defer recoverLua(L)
		return f(L, k)
	})
}

// free wraps a function that needs no request, with the same panic
// conversion.
func (b *Binding) free(f lua.LGFunction) *lua.LFunction {
	return b.L.NewFunction(func(L *lua.LState) int {
		defer recoverLua(L)
		return f(L)
	})
}

// recoverLua turns a Go panic into a Lua error; Lua errors (ApiError) and
// exits pass through unchanged.
func recoverLua(L *lua.LState) {
	r := recover()
	if r == nil {
		return
	}
	switch e := r.(type) {
	case *lua.ApiError:
		panic(e)
	case *hostabi.PhaseError:
		L.RaiseError("%s", e.Error())
	case runtime.Error:
		L.RaiseError("internal error: %s", e.Error())
	case error:
		L.RaiseError("%s", e.Error())
	default:
		L.RaiseError("%v", r)
	}
}

// exit ends the Lua handler with the exit sentinel.
func (b *Binding) exit(L *lua.LState) {
	L.Error(b.exitUD, 0)
}

// optInt reads an optional integer argument.
func optNumber(L *lua.LState, n int, what string) (float64, bool) {
	v := L.Get(n)
	switch x := v.(type) {
	case *lua.LNilType:
		return 0, false
	case lua.LNumber:
		return float64(x), true
	}
	L.RaiseError("%s must be a number", what)
	return 0, false
}

// checkMax reads Kong's optional max_headers / max_args argument.
func checkMax(L *lua.LState, n int, what string) int {
	f, ok := optNumber(L, n, what)
	if !ok {
		return 100
	}
	if f < 1 {
		L.RaiseError("%s must be >= 1", what)
	}
	if f > 1000 {
		L.RaiseError("%s must be <= 1000", what)
	}
	return int(f)
}

// typeName is Lua's type name of v.
func typeName(v lua.LValue) string { return v.Type().String() }

// checkString raises Kong's "<what> must be a string" unless arg n is one.
func checkString(L *lua.LState, n int, what string) string {
	if s, ok := L.Get(n).(lua.LString); ok {
		return string(s)
	}
	L.RaiseError("%s must be a string", what)
	return ""
}

// toGo converts with luavalue, raising a Lua error naming what.
func toGo(L *lua.LState, v lua.LValue, what string) any {
	g, err := luavalue.ToGo(L, v)
	if err != nil {
		L.RaiseError("%s: %s", what, err.Error())
	}
	return g
}

// fromGo converts with luavalue, raising a Lua error on failure.
func fromGo(L *lua.LState, v any, opts luavalue.Options) lua.LValue {
	lv, err := luavalue.FromGo(L, v, opts)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	return lv
}

// tostring renders v as Lua's tostring does (with __tostring).
func tostring(L *lua.LState, v lua.LValue) string {
	if _, ok := v.(*lua.LTable); ok || v.Type() == lua.LTUserData {
		if luavalue.IsNull(v) {
			return "null"
		}
		if fn := L.GetMetaField(v, "__tostring"); fn != lua.LNil {
			L.Push(fn)
			L.Push(v)
			L.Call(1, 1)
			r := L.Get(-1)
			L.Pop(1)
			return lua.LVAsString(r)
		}
	}
	return v.String()
}

// lowerDash normalizes a header name as ngx.req.get_headers' metatable
// does: lower case, underscores as hyphens.
func lowerDash(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), "_", "-")
}
