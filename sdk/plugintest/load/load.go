// Package load loads plugins of the other runtimes for sdk/plugintest: a
// compiled Wasm module (through the gateway's Wasm host, plugins-wasm), a
// Go plugin folder compiled to Wasm first, or a Lua plugin folder
// (through the Lua host, plugins-lua/kongenv). Each returns the
// hostabi.ProvidedPlugin the node would get from the runtime's provider;
// plugintest.NewProvided configures it through its schema and
// plugintest.Run runs its phases against a fake request, in a normal
// `go test`, with no gateway and no network:
//
//	pp := load.WasmSource(t, "../examples/api-key")
//	inst := plugintest.NewProvided(t, pp, map[string]any{"keys": []any{"k1"}})
//	res := plugintest.Run(t, inst, hostabi.PhaseAccess,
//		plugintest.NewRequest("GET", "/").WithHeader("X-Api-Key", "k1"))
//
// It is a package of its own so that plugintest itself stays free of the
// runtimes (whose tests use plugintest).
package load

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-lua/kongenv"
	wasmplugins "github.com/gatehouse/gatehouse/plugins-wasm"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmbuild"
)

// Options tune the runtimes; the zero value is the node's defaults.
type Options struct {
	// WasmMemoryLimit and WasmTimeout are wasm_memory_limit and
	// wasm_timeout (0: the defaults, 64 MiB and 100 ms).
	WasmMemoryLimit uint64
	WasmTimeout     time.Duration
	// LuaTimeout is lua_timeout (0: the default).
	LuaTimeout time.Duration
	// Logger receives the runtime's lines (nil: discarded).
	Logger *slog.Logger
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// Wasm loads a compiled Wasm plugin through the Wasm host's provider
// (plugins-wasm.Open), with the compilation cache of
// plugins-wasm/wasmbuild; its name is the file's name without .wasm, as
// in wasm_plugins_dir. A module the host refuses
// (not a Gatehouse plugin, another ABI version, a failing describe) fails
// the test. The runtime closes when the test ends.
func Wasm(t testing.TB, path string) hostabi.ProvidedPlugin {
	t.Helper()
	pp, err := TryWasm(t, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return pp
}

// TryWasm is Wasm with options, returning the host's refusal instead of
// failing the test.
func TryWasm(t testing.TB, path string, opts Options) (hostabi.ProvidedPlugin, error) {
	t.Helper()
	cache, err := wasmbuild.CompilationCacheDir()
	if err != nil {
		return hostabi.ProvidedPlugin{}, fmt.Errorf("load: %w", err)
	}
	p, pp, err := wasmplugins.Open(path, wasmplugins.Options{CacheDir: cache,
		MemoryLimit: opts.WasmMemoryLimit, Timeout: opts.WasmTimeout, Logger: opts.logger()})
	if err != nil {
		return hostabi.ProvidedPlugin{}, fmt.Errorf("load: %w", err)
	}
	t.Cleanup(func() { p.Close() })
	return pp, nil
}

// WasmSource compiles the Go plugin in dir (a package main using sdk)
// with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared, cached by content,
// and loads it as Wasm does; the plugin is named after the folder.
func WasmSource(t testing.TB, dir string) hostabi.ProvidedPlugin {
	t.Helper()
	path := Build(t, dir)
	pp := Wasm(t, path)
	abs, _ := filepath.Abs(dir)
	pp.Definition.Name = filepath.Base(abs)
	return pp
}

// Build compiles the Go plugin in dir to Wasm (cached by content) and
// returns the module's path; a build error fails the test.
func Build(t testing.TB, dir string) string {
	t.Helper()
	path, err := wasmbuild.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// Lua loads the Lua plugin name from a plugins folder laid out as Kong's
// (dir/kong/plugins/NAME/handler.lua and schema.lua), as lua_plugins_dir.
// The host closes when the test ends.
func Lua(t testing.TB, dir, name string) hostabi.ProvidedPlugin {
	t.Helper()
	pp, err := TryLua(t, dir, name, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return pp
}

// TryLua is Lua with options, returning the host's refusal instead of
// failing the test.
func TryLua(t testing.TB, dir, name string, opts Options) (hostabi.ProvidedPlugin, error) {
	t.Helper()
	p, err := kongenv.NewProvider(kongenv.Options{PluginsDir: dir, Names: []string{name}, Prefix: t.TempDir(),
		Timeout: opts.LuaTimeout, Logger: opts.logger()})
	if err != nil {
		return hostabi.ProvidedPlugin{}, fmt.Errorf("load: %w", err)
	}
	t.Cleanup(func() { p.Close() })
	pps, err := p.Plugins()
	if err != nil {
		return hostabi.ProvidedPlugin{}, fmt.Errorf("load: %w", err)
	}
	for _, pp := range pps {
		if pp.Definition.Name == name {
			return pp, nil
		}
	}
	return hostabi.ProvidedPlugin{}, fmt.Errorf("load: no Lua plugin %s in %s", name, dir)
}
