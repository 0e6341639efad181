package main

import (
	"encoding/json"
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
		Configuration: jsonShaped(cfg.Values()), Logger: log, Serverless: serverless,
	})
	if err != nil {
		return nil, nil, err
	}
	return p, kongenv.Serverless, nil
}

// jsonShaped turns the settings into JSON values (what Lua tables hold).
func jsonShaped(v map[string]any) map[string]any {
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
