package main

import (
	"log/slog"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-lua/kongenv"
	"github.com/gatehouse/gatehouse/runtime/config"
	"github.com/gatehouse/gatehouse/runtime/plugin"
)

// luaProvider returns the Lua plugin host and the names `bundled` enables
// through it. The host serves Kong's serverless plugins (pre-function,
// post-function) when `plugins` has bundled or names them, and the
// plugins of lua_plugins_dir and lua_package_path that `plugins` names
// beyond the bundled ones.
func luaProvider(cfg *config.Config, log *slog.Logger) (hostabi.Provider, []string, error) {
	native := plugin.Bundled()
	serverless := slices.Contains(cfg.Plugins, "bundled")
	var names []string
	for _, name := range cfg.Plugins {
		switch {
		case name == "bundled" || name == "off" || slices.Contains(native, name):
		case slices.Contains(kongenv.Serverless, name):
			serverless = true
		case isWasmPlugin(cfg, name): // served by the Wasm provider
		default:
			names = append(names, name)
		}
	}
	if len(names) == 0 && cfg.LuaPluginsDir == "" && !serverless {
		return nil, nil, nil
	}
	p, err := kongenv.NewProvider(kongenv.Options{
		PluginsDir: cfg.LuaPluginsDir, PackagePath: cfg.LuaPackagePath, Names: names,
		Timeout: time.Duration(cfg.LuaTimeout) * time.Millisecond, Prefix: cfg.Prefix,
		Configuration: cfg.Values(), Logger: log, Serverless: serverless,
	})
	if err != nil {
		return nil, nil, err
	}
	return p, kongenv.Serverless, nil
}
