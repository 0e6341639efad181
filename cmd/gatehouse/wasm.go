package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
	"github.com/gatehouse/gatehouse/runtime/config"
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
