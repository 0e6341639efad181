package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
	"github.com/gatehouse/gatehouse/runtime/config"
	"github.com/gatehouse/gatehouse/runtime/plugin"
)

// isWasmPlugin reports whether a name in `plugins` is a Wasm plugin: a
// module NAME.wasm in wasm_plugins_dir. Such names go to the Wasm
// provider, not the Lua host.
func isWasmPlugin(cfg *config.Config, name string) bool {
	if cfg.WasmPluginsDir == "" || name == "" || filepath.Base(name) != name {
		return false
	}
	st, err := os.Stat(filepath.Join(cfg.WasmPluginsDir, name+".wasm"))
	return err == nil && !st.IsDir()
}

// wasmProvider returns the Wasm plugin host serving the names of
// `plugins` that are modules of wasm_plugins_dir, or nil when there are
// none. Its compilation cache is <prefix>/wasm-cache.
func wasmProvider(cfg *config.Config, log *slog.Logger) (hostabi.Provider, error) {
	var names []string
	for _, name := range cfg.Plugins {
		if isWasmPlugin(cfg, name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		for name := range cfg.WasmPriorities() {
			log.Warn("wasm_plugin_priorities names a plugin the Wasm host does not serve; ignored", "plugin", name)
		}
		return nil, nil
	}
	setProxyWasmNode(cfg)
	return wasmplugins.New(wasmplugins.Options{
		PluginsDir:  cfg.WasmPluginsDir,
		Names:       names,
		Prefix:      cfg.Prefix,
		MemoryLimit: uint64(cfg.WasmMemoryLimitBytes()),
		Timeout:     time.Duration(cfg.WasmTimeout) * time.Millisecond,
		Priorities:  cfg.WasmPriorities(),
		GrantEnv:    cfg.WasmGrantEnv,
		GrantDir:    cfg.WasmGrantDir,
		Logger:      log,
	})
}

// wasmFilterProvider returns, when `wasm` is on, the proxy-wasm filters of
// wasm_filters_path that wasm_filters enables, served as plugins named
// after them (Kong loads them so that filter chains, and plugins named
// after a filter, can run them), and their names, which the node enables
// whatever `plugins` says. A filter named like a bundled plugin is refused:
// a filter chain naming it would run the other plugin.
func wasmFilterProvider(cfg *config.Config, log *slog.Logger) (hostabi.Provider, []string, error) {
	if !cfg.Wasm || cfg.WasmFiltersPath == "" {
		return nil, nil, nil
	}
	for _, name := range plugin.Bundled() {
		if cfg.WasmFilterEnabled(name) && isFile(filepath.Join(cfg.WasmFiltersPath, name+".wasm")) {
			return nil, nil, fmt.Errorf("wasm filter %q (%s) has the name of a bundled plugin", name,
				filepath.Join(cfg.WasmFiltersPath, name+".wasm"))
		}
	}
	setProxyWasmNode(cfg)
	p, names, err := wasmplugins.Filters(cfg.WasmFiltersPath, cfg.WasmFilterEnabled, wasmplugins.Options{
		Prefix:      cfg.Prefix,
		MemoryLimit: uint64(cfg.WasmMemoryLimitBytes()),
		Timeout:     time.Duration(cfg.WasmTimeout) * time.Millisecond,
		GrantEnv:    cfg.WasmGrantEnv,
		GrantDir:    cfg.WasmGrantDir,
		Logger:      log,
	})
	if err != nil || p == nil {
		return nil, nil, err
	}
	return p, names, nil
}

// isFile reports whether path is a regular file.
func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
