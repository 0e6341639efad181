// Package httpwasm runs http-wasm guests (https://http-wasm.io/http-handler-abi/,
// import module http_handler, exports handle_request and handle_response)
// as Gatehouse plugins on the shared Wasm runtime of plugins-wasm/wasmhost.
//
// handle_request runs in the access phase: the guest reads the request
// (its own changes visible to its later reads) and changes what is sent
// upstream through hostabi.ServiceRequest. A guest that does not ask for
// the next handler answers the request itself: its status, headers and
// body become a kong.response.exit and nothing is proxied. handle_response
// runs in the response phase when the guest enabled buffer_response while
// starting (the whole upstream body is then readable and writable), in
// header_filter otherwise. The plugin's configuration has one field,
// `config` (any JSON value): a string is handed to the guest's get_config
// as its bytes, any other value as its JSON encoding, null or absent as no
// bytes. README.md lists every http_handler function and how it maps.
package httpwasm

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
	"github.com/http-wasm/http-wasm-host-go/api/handler"
	"github.com/tetratelabs/wazero/api"
)

// Defaults of a loaded http-wasm plugin's definition.
const (
	// DefaultPriority is the plugin's priority (http-wasm guests declare
	// none): after the authentication plugins (1000 and more), before
	// the transformations of the request (801 and less).
	DefaultPriority = 900
	// Version is the version a loaded http-wasm plugin reports.
	Version = "1.0.0"
)

// Flavour is http-wasm (wasmhost.Flavour).
type Flavour struct{}

var _ wasmhost.Flavour = Flavour{}

// Name implements wasmhost.Flavour.
func (Flavour) Name() string { return "http-wasm" }

// Claims implements wasmhost.Flavour: a module exporting handle_request
// or importing the http_handler module.
func (Flavour) Claims(m *wasmhost.Module) bool {
	return m.Exports(handler.FuncHandleRequest) || m.Imports(handler.HostModule)
}

// Plugin implements wasmhost.Flavour.
func (Flavour) Plugin(ctx context.Context, m *wasmhost.Module) (hostabi.ProvidedPlugin, error) {
	p, err := Load(ctx, m)
	if err != nil {
		return hostabi.ProvidedPlugin{}, err
	}
	return hostabi.ProvidedPlugin{Definition: p.Definition(), Factory: p}, nil
}

// Plugin is a loaded http-wasm module: its definition and the factory of
// its configurations (hostabi.Factory).
type Plugin struct {
	module *wasmhost.Module
	// buffered: handle_response runs in the response phase with the whole
	// upstream body (the guest enabled buffer_response when it started).
	buffered bool
	def      hostabi.Definition
}

var _ hostabi.Factory = (*Plugin)(nil)

// Load checks a module's exports (handle_request () -> i64,
// handle_response (i32, i32) -> ()), starts one instance to learn the
// features the guest enables when it starts, and returns the plugin. The
// errors name the module's file.
func Load(ctx context.Context, m *wasmhost.Module) (*Plugin, error) {
	if err := checkExports(m); err != nil {
		return nil, err
	}
	if err := Define(ctx, m.Runtime()); err != nil {
		return nil, err
	}
	p := &Plugin{module: m}
	in, err := p.start(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("%s.wasm: %w", m.Name, err)
	}
	features := in.Data.(*guest).features
	in.Close(context.Background())
	p.buffered = features.IsEnabled(handler.FeatureBufferResponse)
	phases := []hostabi.Phase{hostabi.PhaseAccess, hostabi.PhaseHeaderFilter}
	if p.buffered {
		phases = []hostabi.Phase{hostabi.PhaseAccess, hostabi.PhaseResponse}
	}
	p.def = hostabi.Definition{
		Name:     m.Name,
		Version:  Version,
		Priority: DefaultPriority,
		Phases:   phases,
		Schema: map[string]any{"fields": []any{
			map[string]any{"consumer": map[string]any{"type": "foreign", "reference": "consumers"}},
			map[string]any{"route": map[string]any{"type": "foreign", "reference": "routes"}},
			map[string]any{"service": map[string]any{"type": "foreign", "reference": "services"}},
			map[string]any{"config": map[string]any{"type": "record", "required": true, "fields": []any{
				map[string]any{"config": map[string]any{"type": "json"}},
			}}},
		}},
	}
	return p, nil
}

func checkExports(m *wasmhost.Module) error {
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	req := m.Export(handler.FuncHandleRequest)
	if req == nil {
		return fmt.Errorf("%s.wasm: not an http-wasm guest (no %s export)", m.Name, handler.FuncHandleRequest)
	}
	if len(req.ParamTypes()) != 0 || !slices.Equal(req.ResultTypes(), []api.ValueType{i64}) {
		return fmt.Errorf("%s.wasm: %s must be () -> (i64)", m.Name, handler.FuncHandleRequest)
	}
	resp := m.Export(handler.FuncHandleResponse)
	if resp == nil {
		return fmt.Errorf("%s.wasm: an http-wasm guest must export %s", m.Name, handler.FuncHandleResponse)
	}
	if !slices.Equal(resp.ParamTypes(), []api.ValueType{i32, i32}) || len(resp.ResultTypes()) != 0 {
		return fmt.Errorf("%s.wasm: %s must be (i32, i32) -> ()", m.Name, handler.FuncHandleResponse)
	}
	return nil
}

// start instantiates the module and runs the guest's start: _initialize
// (run by Instantiate) or, for a command module such as TinyGo's, _start,
// where a guest registers its handlers and enables its features.
func (p *Plugin) start(ctx context.Context, config []byte) (*wasmhost.Instance, error) {
	in, err := p.module.Instantiate(ctx)
	if err != nil {
		return nil, err
	}
	g := &guest{}
	in.Data = g
	if err := p.setup(ctx, in, config); err != nil {
		in.Close(context.Background())
		return nil, err
	}
	return in, nil
}

// setup runs _start on a new instance (unless it was a reactor whose
// _initialize ran) with the configuration readable.
func (p *Plugin) setup(ctx context.Context, in *wasmhost.Instance, config []byte) error {
	g, _ := in.Data.(*guest)
	if g == nil {
		g = &guest{}
		in.Data = g
	}
	g.features |= takeStarting(in.Memory())
	if p.def.Name != "" {
		g.features &= p.supported()
	}
	if p.module.Exports("_start") && !p.module.Exports("_initialize") {
		c := &call{plugin: p, guest: g, config: config}
		if _, err := in.Call(ctx, "start", c, "_start"); err != nil {
			return err
		}
	}
	return nil
}

// Definition returns the plugin's definition.
func (p *Plugin) Definition() hostabi.Definition { return p.def }

// Buffered reports whether handle_response runs in the response phase
// (buffer_response enabled at start) rather than header_filter.
func (p *Plugin) Buffered() bool { return p.buffered }

// GuestConfig returns the bytes get_config hands the guest for a plugin
// configuration: config.config as is when a string, its JSON encoding
// when another value, nothing when null or absent.
func GuestConfig(config map[string]any) ([]byte, error) {
	v, ok := config["config"]
	if !ok || v == nil {
		return nil, nil
	}
	if s, ok := v.(string); ok {
		return []byte(s), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return b, nil
}

// New implements hostabi.Factory: a pool of instances for the
// configuration, one started at once so that a guest failing to start
// fails the configuration.
func (p *Plugin) New(config map[string]any) (any, error) {
	raw, err := GuestConfig(config)
	if err != nil {
		return nil, fmt.Errorf("wasm plugin %s: %w", p.module.Name, err)
	}
	c := &Config{plugin: p, raw: raw}
	c.pool = wasmhost.NewPool(p.module, func(ctx context.Context, in *wasmhost.Instance) error {
		in.Data = &guest{}
		return p.setup(ctx, in, raw)
	})
	if err := c.pool.Warm(context.Background()); err != nil {
		c.pool.Close()
		return nil, err
	}
	if p.buffered {
		return &bufferedInstance{c}, nil
	}
	return &streamingInstance{c}, nil
}

// Config is one plugin configuration: its pool of instances.
type Config struct {
	plugin *Plugin
	raw    []byte
	pool   *wasmhost.Pool
}

// Pool returns the configuration's pool.
func (c *Config) Pool() *wasmhost.Pool { return c.pool }

// Close implements hostabi.Closer.
func (c *Config) Close() error { return c.pool.Close() }

// bufferedInstance runs handle_response in the response phase.
type bufferedInstance struct{ c *Config }

// Access implements hostabi.Accessor.
func (i *bufferedInstance) Access(k hostabi.Kong) error { return i.c.handleRequest(k) }

// Response implements hostabi.Responder.
func (i *bufferedInstance) Response(k hostabi.Kong) error { return i.c.handleResponse(k) }

// Close implements hostabi.Closer.
func (i *bufferedInstance) Close() error { return i.c.Close() }

// streamingInstance runs handle_response in header_filter.
type streamingInstance struct{ c *Config }

// Access implements hostabi.Accessor.
func (i *streamingInstance) Access(k hostabi.Kong) error { return i.c.handleRequest(k) }

// HeaderFilter implements hostabi.HeaderFilterer.
func (i *streamingInstance) HeaderFilter(k hostabi.Kong) error { return i.c.handleResponse(k) }

// Close implements hostabi.Closer.
func (i *streamingInstance) Close() error { return i.c.Close() }

// stateKey is the kong.ctx.plugin key of a request's http-wasm state.
const stateKey = "\x00gatehouse.httpwasm.request"

// fault wraps a pool error as the runtime's fault.
func (c *Config) fault(phase string, err error) error {
	return wasmhost.AsFault(c.plugin.module.Name, phase, err)
}

// handleRequest runs handle_request on an instance pinned to the
// request; without next, the guest's response ends the request.
func (c *Config) handleRequest(k hostabi.Kong) error {
	lease, err := c.pool.Pin(k, hostabi.PhaseAccess, false)
	if err != nil {
		return c.fault("access", err)
	}
	in := lease.Instance()
	g := in.Data.(*guest)
	rs := &request{features: g.features & c.plugin.supported()}
	rs.in = in
	cl := &g.cl
	*cl = call{plugin: c.plugin, guest: g, config: c.raw, k: k, rs: rs, in: in}
	res, err := in.Call(k.Context(), "access", cl, handler.FuncHandleRequest)
	*cl = call{} // nothing of the request stays on the instance
	rs.in = nil
	if err == nil && len(res) != 1 {
		err = &wasmhost.Fault{Plugin: c.plugin.module.Name, Phase: "access", Kind: wasmhost.FaultTrap,
			Err: fmt.Errorf("%s returned %d values", handler.FuncHandleRequest, len(res))}
	}
	if err != nil {
		lease.Done(k, true, false)
		return err
	}
	ctxNext := res[0]
	rs.reqCtx = uint32(ctxNext >> 32)
	if uint32(ctxNext) == 0 {
		lease.Done(k, true, false)
		rs.respond(k)
		return nil
	}
	if err := rs.forward(k, c.plugin.buffered); err != nil {
		lease.Done(k, true, false)
		return &wasmhost.Fault{Plugin: c.plugin.module.Name, Phase: "access", Kind: wasmhost.FaultHost, Err: err}
	}
	rs.next = true
	k.Ctx().Plugin().Set(stateKey, rs)
	lease.Done(k, false, false)
	return nil
}

// handleResponse runs handle_response for a request whose handle_request
// called next, on the instance that ran it.
func (c *Config) handleResponse(k hostabi.Kong) error {
	phase := k.Phase().String()
	v, ok := k.Ctx().Plugin().Get(stateKey)
	if !ok {
		return nil // handle_request did not run, or answered itself
	}
	rs, _ := v.(*request)
	k.Ctx().Plugin().Delete(stateKey)
	if rs == nil || !rs.next {
		return nil
	}
	lease, err := c.pool.Pin(k, k.Phase(), true)
	if err != nil {
		return c.fault(phase, err)
	}
	in := lease.Instance()
	defer lease.Done(k, true, false)
	rs.afterNext = true
	rs.respHeaders = nil // the response's, read again
	if rs.status != 0 {
		k.Response().SetStatus(int(rs.status))
	}
	isError := uint64(0)
	if k.Response().Source() == "error" {
		isError = 1
	}
	g := in.Data.(*guest)
	rs.in = in
	cl := &g.cl
	*cl = call{plugin: c.plugin, guest: g, config: c.raw, k: k, rs: rs, in: in}
	_, err = in.Call(k.Context(), phase, cl, handler.FuncHandleResponse, uint64(rs.reqCtx), isError)
	*cl = call{}
	rs.in = nil
	if err != nil {
		return err
	}
	if rs.respBodyWritten {
		k.Response().SetRawBody(rs.respBodyOut)
	}
	return nil
}

// supported returns the features a request of the plugin may have:
// buffer_request always, buffer_response when handle_response runs in the
// response phase; never trailers.
func (p *Plugin) supported() handler.Features {
	f := handler.FeatureBufferRequest
	if p.buffered {
		f |= handler.FeatureBufferResponse
	}
	return f
}
