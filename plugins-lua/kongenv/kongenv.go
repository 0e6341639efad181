// Package kongenv assembles the environment Kong's Lua plugins run in and
// the provider that serves them: every Lua state of the host (package
// luahost) gets lualib's modules and request-independent ngx functions,
// Kong's shared dictionaries, and the kong PDK with the request-bound
// ngx functions (package pdk), bound to each call through luahost's
// Binder. cmd/gatehouse builds the provider from the node's settings.
package kongenv

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
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
	// Configuration is kong.configuration: the node's settings (any Go
	// values encoding/json takes; Lua sees their JSON form).
	Configuration map[string]any
	// CacheTTL and CacheNegTTL are db_cache_ttl and db_cache_neg_ttl.
	CacheTTL, CacheNegTTL time.Duration
	// Logger receives the host's lines and the plugins' kong.log lines
	// written outside a request; nil is slog.Default().
	Logger *slog.Logger
	// Serverless serves Kong's pre-function and post-function plugins
	// (builtin/, written to Prefix/lua/builtin at start).
	Serverless bool
	// Extra, when set, runs last on every new state, after lualib and the
	// PDK are installed: a test or an embedder adds its own globals or
	// package.preload entries there. An error fails the state's creation.
	Extra func(L *lua.LState) error
}

// Serverless are the names of Kong's serverless plugins, which the Lua
// host serves from its built-in plugins.
var Serverless = []string{"pre-function", "post-function"}

//go:embed all:builtin
var builtin embed.FS

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

// NewProvider returns the Lua plugin provider: luahost providers whose
// states carry Kong's environment, one for the plugins of PluginsDir and
// one for the built-in serverless plugins when asked for. One set of
// shared dictionaries serves every plugin of the node.
func NewProvider(o Options) (hostabi.Provider, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	lib := lualib.Options{Dicts: lualib.NewDicts(SharedDicts), Prefix: o.Prefix}
	env := pdk.Env{Configuration: jsonShaped(o.Configuration), CacheTTL: o.CacheTTL, CacheNegTTL: o.CacheNegTTL,
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
	build := func() (providers, error) {
		opts := luahost.Options{PluginsDir: o.PluginsDir, PackagePath: o.PackagePath, Names: o.Names,
			Timeout: o.Timeout, Prefix: o.Prefix, Install: install, IsExit: pdk.IsExit, Logger: log}
		var ps providers
		if o.PluginsDir != "" || len(o.Names) > 0 {
			p, err := luahost.New(opts)
			if err != nil {
				return nil, fmt.Errorf("lua plugins: %w", err)
			}
			ps = append(ps, p)
		}
		if o.Serverless {
			dir, err := writeBuiltin(o.Prefix)
			if err != nil {
				ps.Close()
				return nil, err
			}
			opts.PluginsDir, opts.PackagePath, opts.Names = dir, filepath.Join(dir, "?.lua"), Serverless
			opts.ConfigPhases = serverlessPhases
			p, err := luahost.New(opts)
			if err != nil {
				ps.Close()
				return nil, fmt.Errorf("lua serverless plugins: %w", err)
			}
			ps = append(ps, p)
		}
		return ps, nil
	}
	ps, err := build()
	if err != nil {
		return nil, err
	}
	return &reloading{build: build, cur: &generation{ps: ps}}, nil
}

// jsonShaped turns settings into JSON values, what Lua tables hold.
func jsonShaped(v map[string]any) map[string]any {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out map[string]any
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return out
}

// serverlessPhases are the phases a serverless configuration has code
// for: the others are not run at all (Kong calls them and they do
// nothing; here they would cost a call, and body_filter a buffered body).
func serverlessPhases(_ string, config map[string]any) hostabi.PhaseSet {
	var set hostabi.PhaseSet
	for _, ph := range []hostabi.Phase{hostabi.PhaseRewrite, hostabi.PhaseAccess, hostabi.PhaseHeaderFilter,
		hostabi.PhaseBodyFilter, hostabi.PhaseLog} {
		if codes, _ := config[ph.String()].([]any); len(codes) > 0 {
			set |= hostabi.Phases(ph)
		}
	}
	return set
}

// writeBuiltin writes the built-in plugins under prefix (a fresh
// temporary folder without one) and returns their folder.
func writeBuiltin(prefix string) (string, error) {
	var dir string
	if prefix == "" {
		d, err := os.MkdirTemp("", "gatehouse-lua-builtin-")
		if err != nil {
			return "", fmt.Errorf("lua built-in plugins: %w", err)
		}
		dir = d
	} else {
		dir = filepath.Join(prefix, "lua", "builtin")
		if err := os.RemoveAll(dir); err != nil {
			return "", fmt.Errorf("lua built-in plugins: %w", err)
		}
	}
	sub, _ := fs.Sub(builtin, "builtin")
	if err := os.CopyFS(dir, sub); err != nil {
		return "", fmt.Errorf("lua built-in plugins: writing %s: %w", dir, err)
	}
	return dir, nil
}

// providers serves the plugins of several luahost providers as one.
type providers []hostabi.Provider

// Plugins implements hostabi.Provider.
func (ps providers) Plugins() ([]hostabi.ProvidedPlugin, error) {
	var out []hostabi.ProvidedPlugin
	for _, p := range ps {
		list, err := p.Plugins()
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
	}
	return out, nil
}

// Close implements hostabi.Provider.
func (ps providers) Close() error {
	var errs []error
	for _, p := range ps {
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
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

// Migrations returns the migrations the Lua plugins of a provider
// NewProvider made ship (migrations/init.lua and the modules it lists),
// by plugin name; other providers have none. Gatehouse does not run
// them: `gatehouse migrations` lists and records them (see
// plugins-lua/README.md, "Migrations").
func Migrations(ctx context.Context, p hostabi.Provider) ([]luahost.PluginMigrations, error) {
	r, ok := p.(*reloading)
	if !ok {
		return nil, nil
	}
	r.mu.Lock()
	ps := r.cur.ps
	r.mu.Unlock()
	var out []luahost.PluginMigrations
	for _, lp := range ps {
		h, ok := lp.(*luahost.Provider)
		if !ok {
			continue
		}
		list, err := h.Migrations(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Plugin < out[j].Plugin })
	return out, nil
}
