//go:generate sh -c "python3 gen_phases.py && gofmt -w phases_gen.go"

// Package gatehouse is the Gatehouse ABI flavour of Wasm plugins
// (hostabi/ABI.md, "The Wasm mapping"): the `gatehouse` import module over
// hostabi.Kong, the guest's phase exports, describe and configure, and the
// plugin definition and factory a module becomes. It runs on the shared
// runtime of plugins-wasm/wasmhost.
package gatehouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
)

// Flavour is the Gatehouse ABI (wasmhost.Flavour).
type Flavour struct{}

var _ wasmhost.Flavour = Flavour{}

// Name implements wasmhost.Flavour.
func (Flavour) Name() string { return "gatehouse" }

// Claims implements wasmhost.Flavour: a module exporting
// gatehouse_abi_version, or importing the gatehouse module.
func (Flavour) Claims(m *wasmhost.Module) bool {
	return m.Exports(hostabi.WasmExportABIVersion) || m.Imports(hostabi.WasmImportModule)
}

// Plugin implements wasmhost.Flavour: it checks the ABI version, runs
// describe on a throw-away instance and returns the definition and the
// factory.
func (Flavour) Plugin(ctx context.Context, m *wasmhost.Module) (hostabi.ProvidedPlugin, error) {
	p, err := Load(ctx, m)
	if err != nil {
		return hostabi.ProvidedPlugin{}, err
	}
	return hostabi.ProvidedPlugin{Definition: p.Definition(), Factory: p}, nil
}

// Plugin is a loaded Gatehouse-ABI module: its definition, and the factory
// of its configurations (hostabi.Factory).
type Plugin struct {
	module *wasmhost.Module
	desc   hostabi.WasmDescription
	phases hostabi.PhaseSet
	last   hostabi.Phase
	def    hostabi.Definition
}

var (
	_ hostabi.Factory   = (*Plugin)(nil)
	_ hostabi.Validator = (*Plugin)(nil)
)

// Load checks a module's ABI version and describes it. The errors name
// the module's file: "NAME.wasm: not a Gatehouse plugin (no
// gatehouse_abi_version export)", "NAME.wasm: built for Gatehouse ABI
// 3.0.0; this host speaks 2.5.0".
func Load(ctx context.Context, m *wasmhost.Module) (*Plugin, error) {
	if !m.Exports(hostabi.WasmExportABIVersion) {
		return nil, fmt.Errorf("%s.wasm: not a Gatehouse plugin (no %s export)", m.Name, hostabi.WasmExportABIVersion)
	}
	if err := Define(ctx, m.Runtime()); err != nil {
		return nil, err
	}
	in, err := m.Instantiate(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s.wasm: %w", m.Name, err)
	}
	defer in.Close(context.Background())
	gi := &guest{}
	in.Data = gi
	// Loading calls run under instantiation's limit: they happen once,
	// off the request path, and pay the guest runtime's first-use costs.
	res, err := in.CallWithin(ctx, max(m.Runtime().Options().Timeout, m.Runtime().Options().InitTimeout), "load", nil, hostabi.WasmExportABIVersion)
	if err != nil {
		return nil, fmt.Errorf("%s.wasm: %w", m.Name, err)
	}
	if len(res) != 1 {
		return nil, fmt.Errorf("%s.wasm: %s must return one i64", m.Name, hostabi.WasmExportABIVersion)
	}
	if err := hostabi.CheckWasmVersion(res[0]); err != nil {
		return nil, fmt.Errorf("%s.wasm: %w", m.Name, err)
	}
	p := &Plugin{module: m, desc: hostabi.WasmDescription{Version: "0.1.0"}}
	if m.Exports(hostabi.WasmExportDescribe) {
		c := &call{plugin: p, guest: gi, export: hostabi.WasmExportDescribe}
		if err := p.run(ctx, in, c, "describe", hostabi.WasmExportDescribe); err != nil {
			return nil, fmt.Errorf("%s.wasm: describe: %w", m.Name, err)
		}
		if c.describe == nil {
			return nil, fmt.Errorf("%s.wasm: describe returned 0 without calling set_result", m.Name)
		}
		if err := json.Unmarshal(c.describe, &p.desc); err != nil {
			return nil, fmt.Errorf("%s.wasm: describe: %w", m.Name, err)
		}
	}
	if err := p.define(); err != nil {
		return nil, fmt.Errorf("%s.wasm: describe: %w", m.Name, err)
	}
	return p, nil
}

// define computes the phases and the definition from the description and
// the exports.
func (p *Plugin) define() error {
	declared := hostabi.PhaseSet(0)
	for _, name := range p.desc.Phases {
		ph, ok := hostabi.PhaseByName(name)
		if !ok || hostabi.WasmPhaseExport(ph) == "" {
			return fmt.Errorf("phases: %q is not a request phase", name)
		}
		declared |= hostabi.Phases(ph)
	}
	for ph := hostabi.PhaseRewrite; ph <= hostabi.PhaseLog; ph++ {
		if !p.module.Exports(hostabi.WasmPhaseExport(ph)) {
			continue
		}
		if len(p.desc.Phases) > 0 && !declared.Has(ph) {
			continue
		}
		p.phases |= hostabi.Phases(ph)
		p.last = ph
	}
	if len(p.desc.Phases) > 0 && declared&^p.phases != 0 {
		return fmt.Errorf("phases: %s declared but not exported", (declared &^ p.phases).String())
	}
	cfg := p.desc.Config
	if cfg == nil {
		cfg = map[string]any{"type": "record", "fields": []any{}}
	}
	consumer := map[string]any{"type": "foreign", "reference": "consumers"}
	if p.desc.NoConsumer {
		consumer["eq"] = nil
	}
	fields := []any{
		map[string]any{"consumer": consumer},
		map[string]any{"route": map[string]any{"type": "foreign", "reference": "routes"}},
		map[string]any{"service": map[string]any{"type": "foreign", "reference": "services"}},
	}
	if len(p.desc.Protocols) > 0 {
		protos := make([]any, len(p.desc.Protocols))
		for i, s := range p.desc.Protocols {
			protos[i] = s
		}
		fields = append(fields, map[string]any{"protocols": map[string]any{
			"type": "set", "required": true, "default": protos,
			"elements": map[string]any{"type": "string", "one_of": protos},
		}})
	}
	fields = append(fields, map[string]any{"config": cfg})
	p.def = hostabi.Definition{
		Name:     p.module.Name,
		Version:  p.desc.Version,
		Priority: p.desc.Priority,
		Phases:   p.phases.List(),
		Schema:   map[string]any{"fields": fields},
	}
	return nil
}

// slowNext reports whether the plugin's next phase after ph may come long
// after the context of ph ended: the log phase (from the log queue), or,
// after rewrite without an access phase, a phase after the upstream
// answered.
func (p *Plugin) slowNext(ph hostabi.Phase) bool {
	var later hostabi.PhaseSet
	for q := ph + 1; q <= hostabi.PhaseLog; q++ {
		if p.phases.Has(q) {
			later |= hostabi.Phases(q)
		}
	}
	return later.Has(hostabi.PhaseLog) || (ph == hostabi.PhaseRewrite && !p.phases.Has(hostabi.PhaseAccess) && later != 0)
}

// Definition returns the plugin's definition.
func (p *Plugin) Definition() hostabi.Definition { return p.def }

// Phases returns the phases the plugin runs in.
func (p *Plugin) Phases() hostabi.PhaseSet { return p.phases }

// Module returns the plugin's compiled module.
func (p *Plugin) Module() *wasmhost.Module { return p.module }

// New implements hostabi.Factory: a pool of instances for the
// configuration, with one warm instance whose configure must accept it.
func (p *Plugin) New(config map[string]any) (any, error) {
	raw, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("wasm plugin %s: configuration: %w", p.module.Name, err)
	}
	c := &Config{plugin: p, raw: raw}
	c.pool = wasmhost.NewPool(p.module, c.setup)
	if err := c.pool.Warm(context.Background()); err != nil {
		c.pool.Close()
		return nil, err
	}
	return newInstance(p.phases, c), nil
}

// Validate implements hostabi.Validator: the guest's configure runs on a
// throw-away instance, so that the Admin API refuses a configuration the
// guest refuses, with its message, before it is stored.
func (p *Plugin) Validate(config map[string]any) error {
	if !p.module.Exports(hostabi.WasmExportConfigure) {
		return nil
	}
	raw, err := json.Marshal(config)
	if err != nil {
		return fmt.Errorf("wasm plugin %s: configuration: %w", p.module.Name, err)
	}
	ctx := context.Background()
	in, err := p.module.Instantiate(ctx)
	if err != nil {
		return err
	}
	defer in.Close(ctx)
	return (&Config{plugin: p, raw: raw}).setup(ctx, in)
}

// run calls an export that returns i32 and maps a non-zero return to the
// guest's failure message.
func (p *Plugin) run(ctx context.Context, in *wasmhost.Instance, c *call, phase, export string, params ...uint64) error {
	opts := p.module.Runtime().Options()
	limit := opts.Timeout
	if c.timer != nil && limit < timerLimit {
		limit = timerLimit
	}
	// A new instance's configure may run on a request's path when the
	// pool grows: it pays the guest's first-use costs and must not fail
	// the request under a phase's limit, so instantiation's limit applies.
	// describe runs once when the module loads, also paying those costs.
	if (export == hostabi.WasmExportConfigure || export == hostabi.WasmExportDescribe) && limit < opts.InitTimeout {
		limit = opts.InitTimeout
	}
	res, err := in.CallWithin(ctx, limit, phase, c, export, params...)
	if err != nil {
		return err
	}
	if len(res) == 1 && uint32(res[0]) != 0 {
		msg := c.failMsg
		if msg == "" {
			msg = fmt.Sprintf("%s returned %d", export, int32(res[0]))
		}
		return &wasmhost.Fault{Plugin: p.module.Name, Phase: phase, Kind: wasmhost.FaultFailed, Err: errors.New(msg)}
	}
	return nil
}

// timerLimit is the least time limit of a timer export, which may wait on
// outbound requests (kong.http.do) where a phase should not: the longer of
// it and wasm_timeout applies.
const timerLimit = 10 * time.Second

// Config is one plugin configuration: its pool of instances. The
// instance the chain runs is a phase wrapper around it (newInstance) with
// exactly the plugin's phase methods.
type Config struct {
	plugin *Plugin
	raw    []byte
	pool   *wasmhost.Pool
}

// Pool returns the configuration's pool of instances.
func (c *Config) Pool() *wasmhost.Pool { return c.pool }

// Close implements hostabi.Closer: every instance is closed (those serving
// a request when it ends).
func (c *Config) Close() error { return c.pool.Close() }

// setup configures a new instance.
func (c *Config) setup(ctx context.Context, in *wasmhost.Instance) error {
	gi := &guest{}
	in.Data = gi
	if !c.plugin.module.Exports(hostabi.WasmExportConfigure) {
		return nil
	}
	cl := &call{plugin: c.plugin, guest: gi, export: hostabi.WasmExportConfigure, config: c.raw}
	if err := c.plugin.run(ctx, in, cl, "configure", hostabi.WasmExportConfigure); err != nil {
		var f *wasmhost.Fault
		if errors.As(err, &f) && f.Kind == wasmhost.FaultFailed {
			return f.Err // the guest refused the configuration: its message
		}
		return err
	}
	return nil
}

// phase runs one request phase export on the request's pinned instance.
func (c *Config) phase(k hostabi.Kong, ph hostabi.Phase, chunk []byte, eof bool) ([]byte, error) {
	final := ph == c.plugin.last && (ph != hostabi.PhaseBodyFilter || eof)
	lease, err := c.pool.Pin(k, ph, final)
	if err != nil {
		return chunk, &wasmhost.Fault{Plugin: c.plugin.module.Name, Phase: ph.String(), Kind: wasmhost.FaultTrap, Err: err}
	}
	in := lease.Instance()
	gi := in.Data.(*guest)
	cl := &gi.cl
	*cl = call{plugin: c.plugin, guest: gi, k: k, phase: ph, export: hostabi.WasmPhaseExport(ph), config: c.raw, pool: c.pool, inst: in}
	if ph == hostabi.PhaseBodyFilter {
		cl.chunk = chunk
		var flag uint64
		if eof {
			flag = 1
		}
		err = c.plugin.run(k.Context(), in, cl, ph.String(), cl.export, flag)
	} else {
		err = c.plugin.run(k.Context(), in, cl, ph.String(), cl.export)
	}
	cl.abandonLoads(k)
	newChunk, chunkSet := cl.newChunk, cl.chunkSet
	*cl = call{} // nothing of the request stays on the instance
	gi.result, gi.hasResult = nil, false
	lease.Done(k, final, c.plugin.slowNext(ph))
	if err != nil {
		return chunk, err
	}
	if ph == hostabi.PhaseBodyFilter && chunkSet {
		return newChunk, nil
	}
	return chunk, nil
}
