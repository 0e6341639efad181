package luahost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-lua/luaschema"
	lua "github.com/yuin/gopher-lua"
)

// loadTimeout bounds running a plugin's modules' main chunks into a new
// state, and a schema validation.
const loadTimeout = time.Second

// maxConfigs bounds the converted configurations a state keeps; past it
// the state forgets them all (instances of retired snapshots go with them).
const maxConfigs = 256

// state is one Lua state of a plugin's pool.
type state struct {
	L      *lua.LState
	binder Binder
	// handler is what methods are called on: the handler table, or the
	// instance of a BasePlugin class.
	handler *lua.LTable
	call    Call
	confs   map[*instance]*lua.LTable
	// cctx is the context of request calls, armed per call.
	cctx *callCtx
	// configGen is the generation of configure's configurations this
	// state has run configure with.
	configGen uint64
	// timers is the state's ngx.timer.
	timers *timers
	// admin is admin.lua's table (the Admin API endpoint dispatcher and
	// kong.api.endpoints), made on first use.
	admin *lua.LTable
}

// confFor returns in's configuration as a Lua table of this state,
// converting it on the state's first call for the instance.
func (st *state) confFor(in *instance) (*lua.LTable, error) {
	if t, ok := st.confs[in]; ok {
		return t, nil
	}
	if len(st.confs) >= maxConfigs {
		clear(st.confs)
	}
	t, err := configTable(st.L, in.config)
	if err != nil {
		return nil, err
	}
	st.confs[in] = t
	return t, nil
}

// noBinder is the Binder of states without an Install hook.
type noBinder struct{}

func (noBinder) Enter(hostabi.Kong, *Call) {}
func (noBinder) Leave(*Call)               {}

// newState creates a state for plugin p: sandboxed libraries, the built-in
// modules, the Install hook, then the plugin's handler loaded and, for a
// BasePlugin class, instantiated.
func (h *Provider) newState(p *plugin) (st *state, err error) {
	o := h.opts
	L := lua.NewState(lua.Options{SkipOpenLibs: true, CallStackSize: o.CallStackSize,
		RegistrySize: o.RegistrySize, RegistryMaxSize: o.RegistryMaxSize})
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("lua plugin %s: loading panicked: %v", p.spec.Name, r)
		}
		if err != nil {
			L.Close()
		}
	}()
	h.openLibs(L, p.spec)
	var binder Binder = noBinder{}
	if o.Install != nil {
		b, err := o.Install(L)
		if err != nil {
			return nil, fmt.Errorf("lua plugin %s: install: %w", p.spec.Name, err)
		}
		if b != nil {
			binder = b
		}
	}
	ts := &timers{}
	openTimer(L, ts)
	made := &state{L: L, binder: binder, confs: map[*instance]*lua.LTable{}, cctx: newCallCtx(), timers: ts}
	made.preloadAdmin(L)
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	L.SetContext(ctx)
	defer L.RemoveContext()
	mod, err := requireModule(L, "kong.plugins."+p.spec.Name+".handler")
	if err != nil {
		return nil, fmt.Errorf("lua plugin %s: handler: %w", p.spec.Name, err)
	}
	handler, ok := mod.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("lua plugin %s: handler: the module returned a %s, want a table", p.spec.Name, mod.Type())
	}
	if base, ok := loaded(L, "kong.plugins.base_plugin").(*lua.LTable); ok && isInstanceOf(L, handler, base) {
		// Kong's backwards compatibility: a BasePlugin class is
		// instantiated once (handler()), which runs its :new().
		L.Push(handler)
		if err := L.PCall(0, 1, nil); err != nil {
			return nil, fmt.Errorf("lua plugin %s: instantiating the BasePlugin handler: %s", p.spec.Name, luaTrace(err))
		}
		inst, ok := L.Get(-1).(*lua.LTable)
		L.Pop(1)
		if !ok {
			return nil, fmt.Errorf("lua plugin %s: instantiating the BasePlugin handler gave no table", p.spec.Name)
		}
		handler = inst
	}
	made.handler = handler
	h.watch.add(made.cctx)
	return made, nil
}

// isInstanceOf runs Kong's test `type(handler.is) == "function" and
// handler:is(BasePlugin)`.
func isInstanceOf(L *lua.LState, t, class *lua.LTable) bool {
	is, ok := L.GetField(t, "is").(*lua.LFunction)
	if !ok {
		return false
	}
	L.Push(is)
	L.Push(t)
	L.Push(class)
	if err := L.PCall(2, 1, nil); err != nil {
		return false
	}
	v := L.Get(-1)
	L.Pop(1)
	return lua.LVAsBool(v)
}

// phasesOf returns the phases a handler implements: methods that are
// functions and not BasePlugin's own, as Kong's plugin iterator decides.
func phasesOf(L *lua.LState, handler *lua.LTable) hostabi.PhaseSet {
	base, _ := loaded(L, "kong.plugins.base_plugin").(*lua.LTable)
	var set hostabi.PhaseSet
	for p := hostabi.PhaseRewrite; p <= hostabi.PhaseConfigure; p++ {
		fn, ok := L.GetField(handler, p.String()).(*lua.LFunction)
		if !ok {
			continue
		}
		if base != nil && L.GetField(base, p.String()) == fn {
			continue
		}
		set |= hostabi.Phases(p)
	}
	return set
}

// loaded returns package.loaded[name].
func loaded(L *lua.LState, name string) lua.LValue {
	t, ok := L.GetField(L.Get(lua.RegistryIndex), "_LOADED").(*lua.LTable)
	if !ok {
		return lua.LNil
	}
	return t.RawGetString(name)
}

// requireModule calls require(name) in L.
func requireModule(L *lua.LState, name string) (lua.LValue, error) {
	L.Push(L.GetGlobal("require"))
	L.Push(lua.LString(name))
	if err := L.PCall(1, 1, nil); err != nil {
		return lua.LNil, errors.New(luaTrace(err))
	}
	v := L.Get(-1)
	L.Pop(1)
	return v, nil
}

// luaTrace renders a Lua error with its traceback.
func luaTrace(err error) string {
	var ae *lua.ApiError
	if errors.As(err, &ae) {
		if ae.StackTrace != "" {
			return ae.Object.String() + "\n" + ae.StackTrace
		}
		return ae.Object.String()
	}
	return err.Error()
}

// openLibs opens the sandboxed standard libraries and the host's
// built-in modules.
func (h *Provider) openLibs(L *lua.LState, spec pluginSpec) {
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}, {lua.CoroutineLibName, lua.OpenCoroutine},
		{lua.OsLibName, lua.OpenOs}, {lua.IoLibName, lua.OpenIo}, {lua.DebugLibName, lua.OpenDebug},
	} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	// package: the host's loaders, no C loader, no loadlib.
	pkg := L.GetGlobal("package").(*lua.LTable)
	loaders := L.CreateTable(2, 0)
	loaders.Append(L.NewFunction(h.mods.loader))
	loaders.Append(L.NewFunction(loaderPreload))
	L.SetField(pkg, "loaders", loaders)
	L.SetField(L.Get(lua.RegistryIndex), "_LOADERS", loaders)
	L.SetField(pkg, "loadlib", lua.LNil)
	L.SetField(pkg, "path", lua.LString(h.mods.packagePath()))
	L.SetField(pkg, "cpath", lua.LString(""))
	preload := L.GetField(pkg, "preload").(*lua.LTable)
	for name, src := range map[string]string{"kong.vendor.classic": classicSource, "kong.plugins.base_plugin": basePluginSource} {
		proto := builtinProto(name, src)
		L.SetField(preload, name, L.NewFunctionFromProto(proto))
	}
	luaschema.Preload(L)

	// os: no processes, no file changes, no exit.
	os := L.GetGlobal("os").(*lua.LTable)
	for _, n := range []string{"execute", "exit", "remove", "rename", "tmpname", "setenv", "setlocale"} {
		L.SetField(os, n, lua.LNil)
	}
	// io: no processes, writes only under the prefix.
	io := L.GetGlobal("io").(*lua.LTable)
	for _, n := range []string{"popen", "tmpfile"} {
		L.SetField(io, n, lua.LNil)
	}
	open := L.GetField(io, "open").(*lua.LFunction)
	L.SetField(io, "open", L.NewFunction(func(L *lua.LState) int {
		name := L.CheckString(1)
		mode := L.OptString(2, "r")
		if strings.ContainsAny(mode, "wa+") && !h.writable(name) {
			L.Push(lua.LNil)
			L.Push(lua.LString(name + ": writing outside the prefix is not allowed"))
			return 2
		}
		return callThrough(L, open)
	}))
	output := L.GetField(io, "output").(*lua.LFunction)
	L.SetField(io, "output", L.NewFunction(func(L *lua.LState) int {
		if name, ok := L.Get(1).(lua.LString); ok && !h.writable(string(name)) {
			L.RaiseError("%s: writing outside the prefix is not allowed", string(name))
		}
		return callThrough(L, output)
	}))
	// debug: traceback only.
	dbg := L.GetGlobal("debug").(*lua.LTable)
	onlyTrace := L.CreateTable(0, 1)
	L.SetField(onlyTrace, "traceback", L.GetField(dbg, "traceback"))
	L.SetGlobal("debug", onlyTrace)
	// dofile and loadfile: inside the plugin's folder only.
	L.SetGlobal("loadfile", L.NewFunction(func(L *lua.LState) int {
		fn, err := h.loadPluginFile(L, spec, L.CheckString(1))
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString(err.Error()))
			return 2
		}
		L.Push(fn)
		return 1
	}))
	L.SetGlobal("dofile", L.NewFunction(func(L *lua.LState) int {
		fn, err := h.loadPluginFile(L, spec, L.CheckString(1))
		if err != nil {
			L.RaiseError("%s", err.Error())
		}
		top := L.GetTop()
		L.Push(fn)
		L.Call(0, lua.MultRet)
		return L.GetTop() - top
	}))
	// print goes to the log, as nginx's error log gets it in Kong.
	logger := h.opts.Logger
	name := spec.Name
	L.SetGlobal("print", L.NewFunction(func(L *lua.LState) int {
		parts := make([]string, L.GetTop())
		for i := range parts {
			parts[i] = L.ToStringMeta(L.Get(i + 1)).String()
		}
		logger.Info(strings.Join(parts, "\t"), "plugin", name, "source", "lua print")
		return 0
	}))
}

// callThrough calls fn with the current arguments and returns its results.
func callThrough(L *lua.LState, fn *lua.LFunction) int {
	n := L.GetTop()
	L.Insert(fn, 1)
	L.Call(n, lua.MultRet)
	return L.GetTop()
}

// loaderPreload is package.preload's loader, last in the search order.
func loaderPreload(L *lua.LState) int {
	name := L.CheckString(1)
	preload, ok := L.GetField(L.GetGlobal("package"), "preload").(*lua.LTable)
	if !ok {
		L.RaiseError("package.preload must be a table")
	}
	v := L.GetField(preload, name)
	if v == lua.LNil {
		L.Push(lua.LString(fmt.Sprintf("no field package.preload['%s']", name)))
		return 1
	}
	L.Push(v)
	return 1
}

// writable reports whether Lua code may write the file: inside the
// prefix only.
func (h *Provider) writable(name string) bool {
	if h.prefix == "" {
		return false
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return false
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(dir, filepath.Base(abs))
	}
	return within(h.prefix, abs)
}

// within reports whether p is dir or inside it (both absolute, cleaned).
func within(dir, p string) bool {
	r, err := filepath.Rel(dir, p)
	return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator))
}

// loadPluginFile compiles a file for dofile/loadfile: relative names are
// relative to the plugin's folder, and the file must be inside it.
func (h *Provider) loadPluginFile(L *lua.LState, spec pluginSpec, name string) (*lua.LFunction, error) {
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(spec.Dir, p)
	}
	p = filepath.Clean(p)
	if real, err := filepath.EvalSymlinks(p); err == nil {
		p = real
	}
	dir := spec.Dir
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	if !within(dir, p) {
		return nil, fmt.Errorf("cannot open %s: outside the plugin's folder", name)
	}
	proto, err := h.mods.proto(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("cannot open %s", name)
		}
		return nil, err
	}
	return L.NewFunctionFromProto(proto), nil
}
