// Package kongenv assembles the environment Kong's Lua plugins run in and
// the provider that serves them: every Lua state of the host (package
// luahost) gets lualib's modules and request-independent ngx functions,
// Kong's shared dictionaries, and the kong PDK with the request-bound
// ngx functions (package pdk), bound to each call through luahost's
// Binder. cmd/gatehouse builds the provider from the node's settings.
package kongenv

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/hostabi"
	luahost "github.com/gatehouse/gatehouse/plugins-lua"
	"github.com/gatehouse/gatehouse/plugins-lua/lualib"
	"github.com/gatehouse/gatehouse/plugins-lua/pdk"
)

// Options configure the provider; the names are Kong's settings.
type Options struct {
	// PluginsDir (lua_plugins_dir), PackagePath (lua_package_path),
	// Names (the plugins to serve), Timeout (lua_timeout) and Prefix
	// (prefix) are luahost's.
	PluginsDir, PackagePath string
	Names                   []string
	Timeout                 time.Duration
	Prefix                  string
	// Configuration is kong.configuration: the node's settings.
	Configuration map[string]any
	// CacheTTL and CacheNegTTL are db_cache_ttl and db_cache_neg_ttl.
	CacheTTL, CacheNegTTL time.Duration
	// Logger receives the host's lines and the plugins' kong.log lines
	// written outside a request; nil is slog.Default().
	Logger *slog.Logger
	// Extra, when set, runs last on every new state, after lualib and the
	// PDK are installed: a test or an embedder adds its own globals or
	// package.preload entries there. An error fails the state's creation.
	Extra func(L *lua.LState) error
}

// SharedDicts are Kong's lua_shared_dict declarations (nginx_kong.lua)
// with their default sizes: what ngx.shared offers every plugin.
var SharedDicts = map[string]int64{
	"kong":                        5 << 20,
	"kong_locks":                  8 << 20,
	"kong_healthchecks":           5 << 20,
	"kong_cluster_events":         5 << 20,
	"kong_rate_limiting_counters": 12 << 20,
	"kong_core_db_cache":          128 << 20,
	"kong_core_db_cache_miss":     12 << 20,
	"kong_db_cache":               128 << 20,
	"kong_db_cache_miss":          12 << 20,
	"kong_secrets":                5 << 20,
}

// NewProvider returns the Lua plugin provider: a luahost.Provider whose
// states carry Kong's environment. One set of shared dictionaries serves
// every plugin of the node.
func NewProvider(o Options) (*luahost.Provider, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	lib := lualib.Options{Dicts: lualib.NewDicts(SharedDicts), Prefix: o.Prefix}
	env := pdk.Env{Configuration: o.Configuration, CacheTTL: o.CacheTTL, CacheNegTTL: o.CacheNegTTL,
		Logger: func(level, msg string) { log.Info(msg, "source", "lua", "level", level) }}
	install := func(L *lua.LState) (luahost.Binder, error) {
		// resty.http goes through the bound request's hostabi.HTTP (the
		// phase table, the request's deadline), directly otherwise.
		var b *pdk.Binding
		stateLib := lib
		stateLib.Outbound = func(*lua.LState) (context.Context, hostabi.HTTP) {
			if b == nil {
				return nil, nil
			}
			if k := b.Kong(); k != nil {
				return k.Context(), k.HTTP()
			}
			return nil, nil
		}
		lualib.Preload(L, stateLib)
		ngx, ok := L.GetGlobal("ngx").(*lua.LTable)
		if !ok {
			ngx = L.NewTable()
			L.SetGlobal("ngx", ngx)
		}
		lualib.OpenNgx(L, ngx, stateLib)
		b, err := pdk.Install(L, env)
		if err != nil {
			return nil, fmt.Errorf("installing the kong PDK: %w", err)
		}
		if o.Extra != nil {
			if err := o.Extra(L); err != nil {
				return nil, fmt.Errorf("kongenv: Options.Extra: %w", err)
			}
		}
		return &binder{b: b, log: log}, nil
	}
	p, err := luahost.New(luahost.Options{PluginsDir: o.PluginsDir, PackagePath: o.PackagePath, Names: o.Names,
		Timeout: o.Timeout, Prefix: o.Prefix, Install: install, IsExit: pdk.IsExit, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("lua plugins: %w", err)
	}
	return p, nil
}

// binder binds the PDK of one state to luahost's calls.
type binder struct {
	b     *pdk.Binding
	log   *slog.Logger
	bound bool
}

// Enter implements luahost.Binder; calls without a request (init_worker,
// configure, schema checks) leave the PDK unbound, so its request
// functions say so.
func (a *binder) Enter(k hostabi.Kong, c *luahost.Call) {
	a.bound = k != nil
	if a.bound {
		a.b.Enter(k, pdk.Call{Plugin: c.Plugin, Chunk: c.Chunk, EOF: c.EOF})
	}
}

// Leave implements luahost.Binder: a failed call's buffered output is
// dropped (the host answers 500), a body_filter's chunk is handed back.
func (a *binder) Leave(c *luahost.Call) {
	if !a.bound {
		return
	}
	a.bound = false
	if c.Failed() {
		a.b.Failed()
	} else if c.Phase == hostabi.PhaseBodyFilter {
		chunk, _ := a.b.Chunk()
		c.SetChunk(chunk)
	}
	if err := a.b.Leave(); err != nil {
		a.log.Error("lua plugin: ending the call", "plugin", c.Plugin, "phase", c.Phase.String(), "error", err)
	}
}
