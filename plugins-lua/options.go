package luahost

import (
	"github.com/gatehouse/gatehouse/hostabi"
	"log/slog"
	"runtime"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// DefaultTimeout is lua_timeout's default: the longest one phase call of
// a Lua plugin may run.
const DefaultTimeout = 100 * time.Millisecond

// Default limits of a Lua state (lua.Options).
const (
	DefaultCallStackSize   = 256
	DefaultRegistrySize    = 1024 * 4
	DefaultRegistryMaxSize = 1024 * 256
)

// Options configure a Provider.
type Options struct {
	// PluginsDir is Kong's lua_plugins_dir: a folder of plugin projects
	// (see README.md for the layouts).
	PluginsDir string
	// PackagePath is Kong's lua_package_path: ';'-separated templates
	// where '?' stands for the module name with dots turned into
	// slashes; ";;" inserts the default templates
	// (PluginsDir/?.lua and PluginsDir/?/init.lua). Relative templates
	// are relative to the process's working directory, as in Kong.
	PackagePath string
	// Names lists the plugins to serve; empty serves every plugin found.
	// Names that are not found are ignored (the node reports plugins
	// nobody provides).
	Names []string
	// Timeout bounds one phase call (lua_timeout); 0 is DefaultTimeout.
	Timeout time.Duration
	// PoolSize bounds the Lua states of one plugin; 0 is twice
	// GOMAXPROCS. A call that finds every state busy waits for one, up to
	// its deadline.
	PoolSize int
	// CallStackSize, RegistrySize and RegistryMaxSize are the limits of
	// each state (lua.Options); 0 takes the Default* constants.
	CallStackSize, RegistrySize, RegistryMaxSize int
	// Prefix is the only folder Lua code may open files for writing in
	// (Kong's prefix); empty refuses every write.
	Prefix string
	// Install, when set, prepares every new state once: it puts the kong
	// global, ngx, package.preload entries and the like into L, and
	// returns the Binder that points them at each call's request. It runs
	// before the plugin's modules are loaded.
	Install func(L *lua.LState) (Binder, error)
	// IsExit reports whether an error that ended a call is a normal end
	// of the request (ngx.exit, kong.response.exit unwinding the Lua
	// stack) rather than a failure. It gets the *lua.ApiError the call
	// ended with.
	IsExit func(err error) bool
	// ConfigPhases, when set, narrows the phases an instance runs in to
	// those its configuration needs (the serverless plugins run only the
	// phases they have code for): an instance implements the handler's
	// phases that are also in ConfigPhases(plugin, config). A phase an
	// instance does not implement costs its requests nothing (no call, no
	// buffered body for body_filter).
	ConfigPhases func(plugin string, config map[string]any) hostabi.PhaseSet
	// Logger receives the host's log lines (state faults, discarded
	// states); nil is slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.PoolSize <= 0 {
		o.PoolSize = 2 * runtime.GOMAXPROCS(0)
	}
	if o.CallStackSize <= 0 {
		o.CallStackSize = DefaultCallStackSize
	}
	if o.RegistrySize <= 0 {
		o.RegistrySize = DefaultRegistrySize
	}
	if o.RegistryMaxSize <= 0 {
		o.RegistryMaxSize = DefaultRegistryMaxSize
	}
	if o.RegistryMaxSize < o.RegistrySize {
		o.RegistryMaxSize = o.RegistrySize
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
