package luahost

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-lua/luaschema"
	"github.com/gatehouse/gatehouse/plugins-lua/luavalue"
	lua "github.com/yuin/gopher-lua"
)

// Provider serves the Lua plugins of a plugins folder (hostabi.Provider).
type Provider struct {
	opts    Options
	prefix  string
	mods    *modules
	plugins []*plugin
	closed  atomic.Bool
	watch   *watchdog
}

var _ hostabi.Provider = (*Provider)(nil)

// plugin is one loaded Lua plugin: its definition and its pool of states.
type plugin struct {
	h      *Provider
	spec   pluginSpec
	def    hostabi.Definition
	phases hostabi.PhaseSet
	schema *luaschema.Schema
	pool   *pool

	// configure's latest configurations, applied to each state before
	// its next call (configGen counts the changes).
	cfgMu     sync.Mutex
	configs   []map[string]any
	configGen atomic.Uint64
}

// New loads every plugin of opts.PluginsDir (those in opts.Names, when
// given): each plugin's first state is created, its handler, schema and
// daos read into a Definition. A plugin that fails to load is an error
// naming it, as Kong refuses to start with a broken plugin.
func New(opts Options) (*Provider, error) {
	opts = opts.withDefaults()
	h := &Provider{opts: opts, watch: newWatchdog(watchdogTick(opts.Timeout))}
	if opts.Prefix != "" {
		p, err := filepath.Abs(opts.Prefix)
		if err != nil {
			return nil, fmt.Errorf("lua prefix: %w", err)
		}
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		h.prefix = p
	}
	d, err := discover(opts.PluginsDir, opts.Logger)
	if err != nil {
		return nil, err
	}
	base := ""
	if opts.PluginsDir != "" {
		base, _ = filepath.Abs(opts.PluginsDir)
	}
	h.mods = newModules(base, d, opts.PackagePath)
	want := map[string]bool{}
	for _, n := range opts.Names {
		want[n] = true
	}
	for _, spec := range d.plugins {
		if len(want) > 0 && !want[spec.Name] {
			continue
		}
		p, err := h.load(spec)
		if err != nil {
			h.Close()
			return nil, err
		}
		h.plugins = append(h.plugins, p)
	}
	return h, nil
}

// load creates a plugin's first state and reads its definition there.
func (h *Provider) load(spec pluginSpec) (*plugin, error) {
	p := &plugin{h: h, spec: spec}
	p.pool = newPool(h.opts.PoolSize, func() (*state, error) { return h.newPluginState(p) },
		func(st *state) { h.watch.remove(st.cctx) })
	st, err := p.pool.get(context.Background())
	if err != nil {
		return nil, err
	}
	defer p.pool.put(st)
	L := st.L
	p.phases = phasesOf(L, st.handler)
	p.def = hostabi.Definition{Name: spec.Name, Version: lua.LVAsString(L.GetField(st.handler, "VERSION"))}
	if n, ok := L.GetField(st.handler, "PRIORITY").(lua.LNumber); ok {
		p.def.Priority = int(n)
	}
	for _, ph := range p.phases.List() {
		if !hostabi.PluginPhases.Has(ph) {
			p.def.Phases = append(p.def.Phases, ph)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	L.SetContext(ctx)
	defer L.RemoveContext()
	schemaMod := "kong.plugins." + spec.Name + ".schema"
	mod, err := requireModule(L, schemaMod)
	if err != nil {
		return nil, fmt.Errorf("lua plugin %s: schema: %w", spec.Name, err)
	}
	if p.schema, err = luaschema.Convert(L, spec.Name, mod); err != nil {
		return nil, fmt.Errorf("lua plugin %s: %w", spec.Name, err)
	}
	p.def.Schema = p.schema.Rendering
	for _, what := range p.schema.Ignored {
		h.opts.Logger.Info("lua plugin schema: accepted without effect", "plugin", spec.Name, "what", what)
	}
	daosMod := "kong.plugins." + spec.Name + ".daos"
	if h.mods.resolve(daosMod) != "" {
		mod, err := requireModule(L, daosMod)
		if err != nil {
			return nil, fmt.Errorf("lua plugin %s: daos: %w", spec.Name, err)
		}
		if p.def.Entities, err = luaschema.ConvertDaos(L, mod); err != nil {
			return nil, fmt.Errorf("lua plugin %s: daos: %w", spec.Name, err)
		}
	}
	h.loadEndpoints(p, L)
	return p, nil
}

// newPluginState creates a state and runs init_worker in it, as each
// nginx worker runs it in Kong.
func (h *Provider) newPluginState(p *plugin) (*state, error) {
	st, err := h.newState(p)
	if err != nil {
		return nil, err
	}
	if hasMethod(st, hostabi.PhaseInitWorker) {
		if err := h.plainCall(context.Background(), p, st, hostabi.PhaseInitWorker, func() error {
			return callMethod(st, hostabi.PhaseInitWorker)
		}); err != nil {
			h.watch.remove(st.cctx)
			st.L.Close()
			return nil, err
		}
	}
	return st, nil
}

func hasMethod(st *state, ph hostabi.Phase) bool {
	_, ok := st.L.GetField(st.handler, ph.String()).(*lua.LFunction)
	return ok
}

// callMethod calls handler:<phase>(args...) in st.
func callMethod(st *state, ph hostabi.Phase, args ...lua.LValue) error {
	L := st.L
	L.Push(L.GetField(st.handler, ph.String()))
	L.Push(st.handler)
	for _, a := range args {
		L.Push(a)
	}
	return L.PCall(1+len(args), 0, nil)
}

// plainCall runs fn in st for a call without a request (init_worker,
// configure, schema validation) under lua_timeout; the state is the
// caller's to put back or discard.
func (h *Provider) plainCall(parent context.Context, p *plugin, st *state, phase hostabi.Phase, fn func() error) error {
	ctx, cancel := context.WithTimeout(parent, h.opts.Timeout)
	defer cancel()
	c := &st.call
	c.reset(p.spec.Name, phase, st.L, ctx)
	err := h.protected(st, nil, c, ctx, fn)
	ce, _ := h.fault(c, err, ctx, parent)
	c.reset("", 0, nil, nil)
	if ce != nil {
		return ce
	}
	return nil
}

// withState runs fn on a pooled state of p, discarding the state when fn
// fails with a timeout or a panic.
func (h *Provider) withState(ctx context.Context, p *plugin, phase hostabi.Phase, fn func(st *state) error) error {
	if h.closed.Load() {
		return errors.New("lua host closed")
	}
	st, err := p.pool.get(ctx)
	if err != nil {
		return fmt.Errorf("lua plugin %s: %w", p.spec.Name, err)
	}
	err = h.plainCall(ctx, p, st, phase, func() error { return fn(st) })
	var ce *CallError
	if errors.As(err, &ce) && ce.Kind != FaultError {
		p.pool.discard(st)
	} else {
		p.pool.put(st)
	}
	return err
}

// Plugins implements hostabi.Provider.
func (h *Provider) Plugins() ([]hostabi.ProvidedPlugin, error) {
	out := make([]hostabi.ProvidedPlugin, 0, len(h.plugins))
	for _, p := range h.plugins {
		out = append(out, hostabi.ProvidedPlugin{Definition: p.def, Factory: &Factory{p: p}})
	}
	return out, nil
}

// Close implements hostabi.Provider: it closes the idle states; calls
// under way finish on theirs.
func (h *Provider) Close() error {
	h.closed.Store(true)
	for _, p := range h.plugins {
		p.pool.close()
	}
	h.watch.close()
	return nil
}

// Factory creates instances of one Lua plugin (hostabi.Factory). It also
// runs the schema's Lua checks (hostabi.Validator), init_worker
// (hostabi.WorkerIniter) and configure (hostabi.Configurer).
type Factory struct{ p *plugin }

var (
	_ hostabi.Factory      = (*Factory)(nil)
	_ hostabi.Validator    = (*Factory)(nil)
	_ hostabi.WorkerIniter = (*Factory)(nil)
	_ hostabi.Configurer   = (*Factory)(nil)
)

// New returns an instance for one configuration; its type implements
// exactly the hostabi phase interfaces of the handler's phases. The
// configuration is checked for conversion to Lua once here; each state
// converts it on its first call for the instance.
func (f *Factory) New(config map[string]any) (any, error) {
	L := lua.NewState(lua.Options{SkipOpenLibs: true, CallStackSize: 8, RegistrySize: 64, RegistryMaxSize: 64})
	defer L.Close()
	if _, err := configTable(L, config); err != nil {
		return nil, fmt.Errorf("lua plugin %s: configuration: %w", f.p.spec.Name, err)
	}
	in := &instance{p: f.p, config: config}
	phases := f.p.phases
	if narrow := f.p.h.opts.ConfigPhases; narrow != nil {
		phases &= narrow(f.p.spec.Name, config)
	}
	mask := 0
	for i, ph := range []hostabi.Phase{hostabi.PhaseRewrite, hostabi.PhaseAccess, hostabi.PhaseResponse,
		hostabi.PhaseHeaderFilter, hostabi.PhaseBodyFilter, hostabi.PhaseLog} {
		if phases.Has(ph) {
			mask |= 1 << i
		}
	}
	return typed(in, mask), nil
}

// Validate runs the schema's Lua parts on a configuration its JSON part
// accepted: custom_validator functions, custom_entity_check entity
// checks, the 0.x self_check and field func checks.
func (f *Factory) Validate(config map[string]any) error {
	if !f.p.schema.HasChecks() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	var verr error
	err := f.p.h.withState(ctx, f.p, 0, func(st *state) error {
		mod, err := requireModule(st.L, "kong.plugins."+f.p.spec.Name+".schema")
		if err != nil {
			return err
		}
		verr = f.p.schema.Validate(st.L, mod, config)
		return nil
	})
	if err != nil {
		return err
	}
	return verr
}

// InitWorker implements hostabi.WorkerIniter. Every state runs the
// handler's init_worker when it is created (each is a worker in Kong's
// sense); this checks that a state can be created and initialised.
func (f *Factory) InitWorker(ctx context.Context) error {
	if !f.p.phases.Has(hostabi.PhaseInitWorker) {
		return nil
	}
	return f.p.h.withState(ctx, f.p, hostabi.PhaseInitWorker, func(*state) error { return nil })
}

// Configure implements hostabi.Configurer: handler:configure(configs)
// runs now on one state, and on every other state before its next call.
func (f *Factory) Configure(ctx context.Context, configs []map[string]any) error {
	p := f.p
	if !p.phases.Has(hostabi.PhaseConfigure) {
		return nil
	}
	p.cfgMu.Lock()
	p.configs = configs
	gen := p.configGen.Add(1)
	p.cfgMu.Unlock()
	return p.h.withState(ctx, p, hostabi.PhaseConfigure, func(st *state) error {
		return p.configureState(st, gen)
	})
}

// configureState runs configure(configs) in st if st has not seen the
// configurations of generation gen.
func (p *plugin) configureState(st *state, gen uint64) error {
	if st.configGen == gen {
		return nil
	}
	// Once per generation, even when configure fails.
	st.configGen = gen
	p.cfgMu.Lock()
	configs := p.configs
	p.cfgMu.Unlock()
	var arg lua.LValue = lua.LNil
	if configs != nil {
		list := make([]any, len(configs))
		for i, c := range configs {
			list[i] = c
		}
		v, err := luavalue.FromGo(st.L, list, luavalue.Options{MarkArrays: true})
		if err != nil {
			return err
		}
		arg = v
	}
	return callMethod(st, hostabi.PhaseConfigure, arg)
}
