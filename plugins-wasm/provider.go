// Package wasmplugins serves Wasm plugins to the node (hostabi.Provider):
// the modules NAME.wasm of a plugins folder, each claimed by a flavour
// (the Gatehouse ABI, http-wasm), compiled once through the node's
// compilation cache and run on the shared runtime of wasmhost.
package wasmplugins

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-wasm/gatehouse"
	"github.com/gatehouse/gatehouse/plugins-wasm/httpwasm"
	"github.com/gatehouse/gatehouse/plugins-wasm/proxywasm"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
)

// Options configure a Provider.
type Options struct {
	// PluginsDir is wasm_plugins_dir: the folder of NAME.wasm modules.
	PluginsDir string
	// Names lists the plugins to serve (NAME for NAME.wasm); nil serves
	// every module of the folder.
	Names []string
	// Prefix is the node's prefix; the compilation cache is
	// <Prefix>/wasm-cache unless CacheDir is set. Neither: in memory.
	Prefix   string
	CacheDir string
	// MemoryLimit (bytes) and Timeout are wasm_memory_limit and
	// wasm_timeout (0: 64 MiB and 100 ms).
	MemoryLimit uint64
	Timeout     time.Duration
	// MaxInstances bounds each configuration's instances in use at once
	// (0: wasmhost.DefaultMaxInstances).
	MaxInstances int
	// IdleTimeout is how long a configuration's idle instances beyond one
	// are kept (0: wasmhost.DefaultIdleTimeout, 30 s).
	IdleTimeout time.Duration
	// GrantEnv and GrantDir are wasm_grant_env and wasm_grant_dir: the
	// node's environment variables, and a directory mounted read-only at
	// /data, every guest sees (none by default).
	GrantEnv []string
	GrantDir string
	// Priorities override the priority a guest declares in describe, by
	// plugin name (wasm_plugin_priorities). A name the provider does not
	// serve is logged at New and otherwise ignored.
	Priorities map[string]int
	// Logger gets guest output and faults (nil: slog.Default()).
	Logger *slog.Logger
	// Flavours are the guest ABIs tried, in order, on each module (nil:
	// the Gatehouse ABI, then http-wasm, then proxy-wasm).
	Flavours []wasmhost.Flavour
}

// Provider serves the Wasm plugins of a folder.
type Provider struct {
	opts Options
	rt   *wasmhost.Runtime

	mu     sync.Mutex
	loaded map[string]loaded // by plugin name
	closed bool
}

// loaded is a plugin loaded from a module whose content hash is sum.
type loaded struct {
	sum    [32]byte
	plugin hostabi.ProvidedPlugin
	module *wasmhost.Module
}

var _ hostabi.Provider = (*Provider)(nil)

// CacheDirName is the compilation cache's directory in the node's prefix.
const CacheDirName = "wasm-cache"

// New starts the runtime and loads the plugins named (every module when
// Names is nil). A module that fails to load, or a name without its
// module, is an error naming it.
func New(opts Options) (*Provider, error) {
	if opts.CacheDir == "" && opts.Prefix != "" {
		opts.CacheDir = filepath.Join(opts.Prefix, CacheDirName)
	}
	if opts.CacheDir != "" {
		if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
			return nil, fmt.Errorf("wasm: compilation cache: %w", err)
		}
	}
	if len(opts.Flavours) == 0 {
		opts.Flavours = []wasmhost.Flavour{gatehouse.Flavour{}, httpwasm.Flavour{}, proxywasm.Flavour{}}
	}
	rt, err := wasmhost.NewRuntime(context.Background(), wasmhost.Options{
		CacheDir: opts.CacheDir, MemoryLimit: opts.MemoryLimit, Timeout: opts.Timeout, Logger: opts.Logger,
		MaxInstances: opts.MaxInstances, IdleTimeout: opts.IdleTimeout,
		GrantEnv: opts.GrantEnv, GrantDir: opts.GrantDir,
	})
	if err != nil {
		return nil, err
	}
	p := &Provider{opts: opts, rt: rt, loaded: map[string]loaded{}}
	pps, err := p.Plugins()
	if err != nil {
		rt.Close(context.Background())
		return nil, err
	}
	served := make(map[string]bool, len(pps))
	for _, pp := range pps {
		served[pp.Definition.Name] = true
	}
	unknown := make([]string, 0, len(opts.Priorities))
	for name := range opts.Priorities {
		if !served[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		rt.Logger().Warn("wasm_plugin_priorities names a plugin the Wasm host does not serve; ignored", "plugin", name)
	}
	return p, nil
}

// Open loads one module file (any path ending in NAME.wasm) as a
// provider of that one plugin, for tools and tests (sdk/plugintest): opts'
// PluginsDir and Names are set from path. Close the provider when done.
func Open(path string, opts Options) (*Provider, hostabi.ProvidedPlugin, error) {
	name, ok := strings.CutSuffix(filepath.Base(path), ".wasm")
	if !ok || name == "" {
		return nil, hostabi.ProvidedPlugin{}, fmt.Errorf("wasm: %s: want a NAME.wasm file", path)
	}
	opts.PluginsDir, opts.Names = filepath.Dir(path), []string{name}
	p, err := New(opts)
	if err != nil {
		return nil, hostabi.ProvidedPlugin{}, err
	}
	pps, err := p.Plugins()
	if err != nil {
		p.Close()
		return nil, hostabi.ProvidedPlugin{}, err
	}
	return p, pps[0], nil
}

// Runtime returns the provider's runtime.
func (p *Provider) Runtime() *wasmhost.Runtime { return p.rt }

// Discover lists the plugin names of a folder: NAME for each NAME.wasm.
func Discover(dir string) ([]string, error) {
	if dir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("wasm_plugins_dir: %w", err)
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".wasm"); ok && !e.IsDir() && n != "" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// Plugins implements hostabi.Provider: it reads the modules again (a
// plugin reload), loading only those whose content changed.
func (p *Provider) Plugins() ([]hostabi.ProvidedPlugin, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errors.New("wasm: provider closed")
	}
	names := p.opts.Names
	if names == nil {
		var err error
		if names, err = Discover(p.opts.PluginsDir); err != nil {
			return nil, err
		}
	}
	out := make([]hostabi.ProvidedPlugin, 0, len(names))
	for _, name := range names {
		path := filepath.Join(p.opts.PluginsDir, name+".wasm")
		wasm, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("wasm plugin %s: %w", name, err)
		}
		sum := sha256.Sum256(wasm)
		if l, ok := p.loaded[name]; ok && l.sum == sum {
			out = append(out, p.override(l.plugin))
			continue
		}
		pp, m, err := p.load(name, wasm)
		if err != nil {
			return nil, err
		}
		p.loaded[name] = loaded{sum: sum, plugin: pp, module: m}
		out = append(out, p.override(pp))
	}
	return out, nil
}

// override applies the operator's priority for the plugin, if any, to its
// definition (a copy: the loaded plugin keeps the guest's own).
func (p *Provider) override(pp hostabi.ProvidedPlugin) hostabi.ProvidedPlugin {
	if prio, ok := p.opts.Priorities[pp.Definition.Name]; ok {
		pp.Definition.Priority = prio
	}
	return pp
}

// load compiles a module and hands it to the first flavour that claims it.
func (p *Provider) load(name string, wasm []byte) (hostabi.ProvidedPlugin, *wasmhost.Module, error) {
	ctx := context.Background()
	m, err := p.rt.Compile(ctx, name, wasm)
	if err != nil {
		return hostabi.ProvidedPlugin{}, nil, err
	}
	for _, f := range p.opts.Flavours {
		if !f.Claims(m) {
			continue
		}
		pp, err := f.Plugin(ctx, m)
		if err != nil {
			return hostabi.ProvidedPlugin{}, nil, err
		}
		return pp, m, nil
	}
	return hostabi.ProvidedPlugin{}, nil, fmt.Errorf("%s.wasm: not a Gatehouse plugin (no %s export)", name, hostabi.WasmExportABIVersion)
}

// Close implements hostabi.Provider: the runtime and every instance close.
func (p *Provider) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	return p.rt.Close(context.Background())
}

// Filters serves the proxy-wasm filters of dir (Kong's wasm_filters_path)
// that enabled accepts (Kong's wasm_filters), each as a plugin named after
// its module, and returns their names: Kong loads them when `wasm` is on so
// that filter chains, and plugins named after a filter, can run them. Each
// plugin has Kong's filter plugin definition (proxywasm.Flavour with
// Filters: priority 0, version 0.1.0, config the filter's config). opts
// sets the limits; its PluginsDir, Names and Flavours are Filters' own (only
// proxy-wasm modules are filters). It returns a nil provider when no filter
// is enabled.
func Filters(dir string, enabled func(name string) bool, opts Options) (*Provider, []string, error) {
	found, err := Discover(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("wasm filters: %w", err)
	}
	var names []string
	for _, name := range found {
		if enabled == nil || enabled(name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, nil, nil
	}
	opts.PluginsDir, opts.Names = dir, names
	opts.Flavours = []wasmhost.Flavour{proxywasm.Flavour{Filters: true}}
	p, err := New(opts)
	if err != nil {
		return nil, nil, err
	}
	return p, names, nil
}
