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

// luaProvider returns the Lua plugin host when the node has Lua plugins to
// serve: `plugins` names plugins no native plugin provides, or
// lua_plugins_dir is set. It serves the names `plugins` lists beyond the
// bundled ones (every plugin found when there are none).
func luaProvider(cfg *config.Config, log *slog.Logger) (hostabi.Provider, error) {
	bundled := plugin.Bundled()
	var names []string
	for _, name := range cfg.Plugins {
		if name == "bundled" || name == "off" || slices.Contains(bundled, name) {
			continue
		}
		names = append(names, name)
	}
	if len(names) == 0 && cfg.LuaPluginsDir == "" {
		return nil, nil
	}
	return kongenv.NewProvider(kongenv.Options{
		PluginsDir: cfg.LuaPluginsDir, PackagePath: cfg.LuaPackagePath, Names: names,
		Timeout: time.Duration(cfg.LuaTimeout) * time.Millisecond, Prefix: cfg.Prefix,
		Configuration: cfg.Values(), Logger: log,
	})
}
