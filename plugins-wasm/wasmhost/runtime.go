// Package wasmhost is the runtime every Wasm guest flavour of Gatehouse
// shares: one wazero runtime per node with a persistent compilation cache,
// a memory limit per instance and a time limit per call, WASI without file
// system, environment or arguments (stdout and stderr go to the log), pools
// of instances per plugin configuration, one request pinned to one
// instance, and the mapping of traps, timeouts and limits to faults that
// fail the request closed.
//
// A flavour (the Gatehouse ABI in plugins-wasm/gatehouse, http-wasm in
// plugins-wasm/httpwasm, proxy-wasm later) adds only its import module
// (DefineHostModule), decides which modules are its own (Flavour.Claims)
// and runs its exports through Instance.Call; host functions find the
// call's state with State.
package wasmhost

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Defaults of the limits.
const (
	// DefaultMemoryLimit is wasm_memory_limit's default: 64 MiB per
	// instance.
	DefaultMemoryLimit = 64 << 20
	// DefaultTimeout is wasm_timeout's default: 100 ms per export call.
	DefaultTimeout = 100 * time.Millisecond
	// DefaultMaxInstances is Options.MaxInstances' default.
	DefaultMaxInstances = 128
	// DefaultIdleTimeout is Options.IdleTimeout's default: a pool closes
	// its idle instances beyond one once they were idle 30 s.
	DefaultIdleTimeout = 30 * time.Second
	// GrantMount is where Options.GrantDir appears in guests.
	GrantMount = "/data"
	// pageSize is the Wasm page size.
	pageSize = 65536
)

// Options configure a Runtime.
type Options struct {
	// CacheDir holds wazero's compilation cache ("<prefix>/wasm-cache");
	// "" keeps compiled code in memory only.
	CacheDir string
	// MemoryLimit bounds each instance's linear memory in bytes
	// (wasm_memory_limit; 0: DefaultMemoryLimit). It is rounded down to
	// whole 64 KiB pages.
	MemoryLimit uint64
	// Timeout bounds each export call (wasm_timeout; 0: DefaultTimeout).
	// The request's own deadline bounds it too.
	Timeout time.Duration
	// InitTimeout bounds instantiation and _initialize (0: ten times
	// Timeout, at least a second): a Go guest's runtime start-up is slower
	// than a phase call.
	InitTimeout time.Duration
	// MaxInstances bounds the instances of one configuration checked out
	// at once (0: DefaultMaxInstances); a request finding them all busy
	// waits for one. A Go guest's instance starts at about 3 MiB.
	MaxInstances int
	// IdleTimeout is how long an idle instance beyond a pool's one warm
	// instance is kept before it is closed (0: DefaultIdleTimeout), so
	// that a burst's instances do not hold their memory for ever.
	IdleTimeout time.Duration
	// GrantEnv names the node's environment variables every guest sees
	// (wasm_grant_env), with the values they have when the runtime
	// starts; a name the node's environment lacks is left out. nil grants
	// none.
	GrantEnv []string
	// GrantDir is a host directory every guest sees read-only at
	// GrantMount (wasm_grant_dir); "" grants no file system.
	GrantDir string
	// Logger receives guests' stdout (debug) and stderr (err) lines and
	// the faults (nil: slog.Default()).
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MemoryLimit == 0 {
		o.MemoryLimit = DefaultMemoryLimit
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.InitTimeout <= 0 {
		o.InitTimeout = 10 * o.Timeout
		if o.InitTimeout < time.Second {
			o.InitTimeout = time.Second
		}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxInstances <= 0 {
		o.MaxInstances = DefaultMaxInstances
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	return o
}

// Runtime is the node's Wasm engine: it compiles modules and hosts the
// import modules of every flavour.
type Runtime struct {
	opts  Options
	rt    wazero.Runtime
	cache wazero.CompilationCache
	env   [][2]string     // the granted environment variables
	fs    wazero.FSConfig // the granted directory; nil: none

	mu          sync.Mutex
	hostModules map[string]bool
	closed      bool

	// inflight counts instantiations and guest calls running now;
	// shut is set by Close, which then waits for inflight to reach zero
	// before closing the wazero runtime (closing it under a running call
	// races with the guest's WASI and host functions). A counter rather
	// than a lock, so that a host function may instantiate or call again
	// from inside a call.
	inflight atomic.Int64
	shut     atomic.Bool
}

// errRuntimeClosed is an instantiation or call after Close.
var errRuntimeClosed = errors.New("the Wasm runtime was closed")

// enter counts a call in; false once Close has begun (the caller must not
// touch wazero then). Every true enter is matched by leave.
func (r *Runtime) enter() bool {
	r.inflight.Add(1)
	if r.shut.Load() {
		r.inflight.Add(-1)
		return false
	}
	return true
}

func (r *Runtime) leave() { r.inflight.Add(-1) }

// NewRuntime starts a runtime with the options' limits and WASI
// (wasi_snapshot_preview1) instantiated.
func NewRuntime(ctx context.Context, opts Options) (*Runtime, error) {
	opts = opts.withDefaults()
	pages := opts.MemoryLimit / pageSize
	if pages < 1 {
		return nil, fmt.Errorf("wasm: memory limit %d bytes is less than one 64 KiB page", opts.MemoryLimit)
	}
	if pages > 65536 {
		pages = 65536
	}
	cfg := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(uint32(pages)).
		WithCloseOnContextDone(true)
	var cache wazero.CompilationCache
	if opts.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("wasm: compilation cache %s: %w", opts.CacheDir, err)
		}
		cache = c
		cfg = cfg.WithCompilationCache(c)
	}
	r := &Runtime{opts: opts, cache: cache, hostModules: map[string]bool{}}
	for _, name := range opts.GrantEnv {
		if v, ok := os.LookupEnv(name); ok {
			r.env = append(r.env, [2]string{name, v})
		}
	}
	if opts.GrantDir != "" {
		st, err := os.Stat(opts.GrantDir)
		if err == nil && !st.IsDir() {
			err = errors.New("not a directory")
		}
		if err != nil {
			if cache != nil {
				cache.Close(ctx)
			}
			return nil, fmt.Errorf("wasm: wasm_grant_dir %s: %w", opts.GrantDir, err)
		}
		r.fs = wazero.NewFSConfig().WithReadOnlyDirMount(opts.GrantDir, GrantMount)
	}
	r.rt = wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r.rt); err != nil {
		r.rt.Close(ctx)
		return nil, fmt.Errorf("wasm: WASI: %w", err)
	}
	return r, nil
}

// Options returns the runtime's options with defaults filled.
func (r *Runtime) Options() Options { return r.opts }

// Logger returns the runtime's logger.
func (r *Runtime) Logger() *slog.Logger { return r.opts.Logger }

// DefineHostModule instantiates a flavour's import module once per
// runtime: define adds its functions to the builder. Defining a name again
// does nothing, so every flavour may call it when it starts.
func (r *Runtime) DefineHostModule(ctx context.Context, name string, define func(wazero.HostModuleBuilder) wazero.HostModuleBuilder) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("wasm: runtime closed")
	}
	if r.hostModules[name] {
		return nil
	}
	if _, err := define(r.rt.NewHostModuleBuilder(name)).Instantiate(ctx); err != nil {
		return fmt.Errorf("wasm: host module %s: %w", name, err)
	}
	r.hostModules[name] = true
	return nil
}

// Compile compiles a module once (or loads it from the compilation
// cache). name is the plugin's name, used in errors and log lines.
func (r *Runtime) Compile(ctx context.Context, name string, wasm []byte) (*Module, error) {
	c, err := r.rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("%s.wasm: %w", name, err)
	}
	m := &Module{Name: name, rt: r, compiled: c, exports: c.ExportedFunctions(), imports: map[string]bool{}}
	for _, def := range c.ImportedFunctions() {
		mod, _, _ := def.Import()
		m.imports[mod] = true
	}
	return m, nil
}

// Close closes every module and instance of the runtime and the cache
// handle.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	// Calls and instantiations are bounded by their time limits: wait for
	// those running (no new one starts), then close. A ctx that ends first
	// cuts the wait; the time limits still end the calls left, and wazero
	// closes their modules as they return.
	r.shut.Store(true)
	for r.inflight.Load() > 0 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	err := r.rt.Close(ctx)
	if r.cache != nil {
		if cerr := r.cache.Close(ctx); err == nil {
			err = cerr
		}
	}
	return err
}

// Module is a compiled guest.
type Module struct {
	// Name is the plugin's name (the file's name without .wasm).
	Name     string
	rt       *Runtime
	compiled wazero.CompiledModule
	exports  map[string]api.FunctionDefinition
	imports  map[string]bool
}

// Runtime returns the runtime that compiled the module.
func (m *Module) Runtime() *Runtime { return m.rt }

// Exports reports whether the module exports a function of that name.
func (m *Module) Exports(name string) bool {
	_, ok := m.exports[name]
	return ok
}

// Export returns the definition of an exported function, or nil.
func (m *Module) Export(name string) api.FunctionDefinition { return m.exports[name] }

// Imports reports whether the module imports functions from the module
// named (a flavour's import module).
func (m *Module) Imports(module string) bool { return m.imports[module] }

// Close releases the compiled code (instances must be closed first).
func (m *Module) Close(ctx context.Context) error { return m.compiled.Close(ctx) }

// Instantiate creates an instance: WASI with no arguments, no environment
// and no preopened directory unless granted (Options.GrantEnv, GrantDir:
// read-only at GrantMount), real clocks and crypto randomness, stdout and
// stderr to the log with the plugin's name; then _initialize when the
// module exports it, under the init time limit.
func (m *Module) Instantiate(ctx context.Context) (*Instance, error) {
	if !m.rt.enter() {
		return nil, fmt.Errorf("%s.wasm: %w", m.Name, errRuntimeClosed)
	}
	defer m.rt.leave()
	in := &Instance{module: m}
	in.stdout = &lineLogger{log: m.rt.opts.Logger, plugin: m.Name, level: slog.LevelDebug, stream: "stdout"}
	in.stderr = &lineLogger{log: m.rt.opts.Logger, plugin: m.Name, level: slog.LevelError, stream: "stderr"}
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithStdout(in.stdout).
		WithStderr(in.stderr).
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(rand.Reader)
	for _, kv := range m.rt.env {
		cfg = cfg.WithEnv(kv[0], kv[1])
	}
	if m.rt.fs != nil {
		cfg = cfg.WithFSConfig(m.rt.fs)
	}
	ictx, cancel := context.WithTimeout(ctx, m.rt.opts.InitTimeout)
	defer cancel()
	mod, err := m.rt.rt.InstantiateModule(ictx, m.compiled, cfg)
	if err != nil {
		return nil, in.fault("instantiate", err, m.rt.opts.InitTimeout, false)
	}
	in.mod = mod
	in.mem = mod.Memory()
	if in.mem == nil {
		mod.Close(ctx)
		return nil, fmt.Errorf("%s.wasm: the module exports no memory", m.Name)
	}
	in.fns = map[string]api.Function{}
	in.closed = fastDeadline(mod)
	if m.Exports("_initialize") {
		// under the init time limit (and ctx's deadline), by the
		// instance's own timer like every call
		if _, err := in.CallWithin(ctx, m.rt.opts.InitTimeout, "_initialize", nil, "_initialize"); err != nil {
			return nil, err
		}
	}
	return in, nil
}
