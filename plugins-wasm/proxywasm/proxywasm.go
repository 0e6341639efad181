// Package proxywasm runs proxy-wasm filters (ABI versions 0.2.1 and 0.2.0,
// https://github.com/proxy-wasm/spec) on the shared Wasm runtime of
// plugins-wasm/wasmhost: the filters written for Envoy and Kong's
// ngx_wasm_module, mapped onto hostabi.Kong.
//
// A module exporting proxy_abi_version_0_2_1 or proxy_abi_version_0_2_0
// is a filter. Each instance of a pool has one root context (id 1),
// started when the instance is made: proxy_on_context_create(1, 0),
// proxy_on_vm_start (no VM configuration) and proxy_on_configure with the
// filter's configuration; a guest answering false refuses the
// configuration. Each request gets an HTTP context on the instance pinned
// to it: in the access phase proxy_on_context_create,
// proxy_on_request_headers and, when the request has a body,
// proxy_on_request_body (the whole body, end_of_stream set); in the
// response phase (the whole upstream response buffered)
// proxy_on_response_headers and proxy_on_response_body; in the log phase
// proxy_on_log, proxy_on_done and proxy_on_delete.
//
// A filter is a plugin named after its module whose `config` is the
// filter's configuration itself, a JSON value (Kong's `type = "json"`
// field): a string is the filter's configuration bytes as is, any other
// JSON value its JSON encoding, null or absent no bytes. The node hands it
// to New as {"config": value}. Served by Flavour{Filters: true} (the
// filters of wasm_filters_path) the plugin has Kong 3.6+'s filter plugin
// schema (kong/runloop/wasm/plugins.lua): config validated against the
// filter's JSON schema, no consumer, a route or a service, priority 0 and
// version 0.1.0 — the node runs such plugins in the filter chain's slot,
// not as ordinary plugins. README.md lists every ABI function and how it
// maps.
package proxywasm

import (
	"context"
	"fmt"
	"sync"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-wasm/httpwasm"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
)

// The ABI version exports a filter declares.
const (
	ABIVersion021 = "proxy_abi_version_0_2_1"
	ABIVersion020 = "proxy_abi_version_0_2_0"
)

// Defaults of a loaded filter's plugin definition.
const (
	// DefaultPriority is the priority of a proxy-wasm module of
	// wasm_plugins_dir run as an ordinary plugin: after authentication
	// (1000 and more), before the request transformations.
	DefaultPriority = 900
	// Version is the version such a module reports.
	Version = "1.0.0"
	// FilterPriority and FilterVersion are Kong's handler of a filter
	// configured as a plugin (kong/runloop/wasm/plugins.lua), as GET /
	// shows them.
	FilterPriority = 0
	FilterVersion  = "0.1.0"
	// RootContextID is the id of every instance's root context.
	RootContextID = 1
)

// Flavour is proxy-wasm (wasmhost.Flavour).
type Flavour struct {
	// Filters serves Kong's filters (wasm_filters_path): their plugins
	// have Kong's filter plugin schema, priority and version. Otherwise a
	// module is an ordinary plugin whose config is any JSON value.
	Filters bool
}

var _ wasmhost.Flavour = Flavour{}

// Name implements wasmhost.Flavour.
func (Flavour) Name() string { return "proxy-wasm" }

// Claims implements wasmhost.Flavour: a module exporting one of the ABI
// version functions.
func (Flavour) Claims(m *wasmhost.Module) bool {
	return m.Exports(ABIVersion021) || m.Exports(ABIVersion020)
}

// Plugin implements wasmhost.Flavour: the filter as a plugin named after
// its module (hostabi.ProvidedPlugin whose Factory is a *Filter).
func (fl Flavour) Plugin(ctx context.Context, m *wasmhost.Module) (hostabi.ProvidedPlugin, error) {
	f, err := Load(ctx, m)
	if err != nil {
		return hostabi.ProvidedPlugin{}, err
	}
	if fl.Filters {
		f.def.Priority, f.def.Version, f.def.Schema = FilterPriority, FilterVersion, FilterPluginSchema()
	}
	return hostabi.ProvidedPlugin{Definition: f.Definition(), Factory: f}, nil
}

// draft4 is the $schema of the JSON schemas below.
const draft4 = "http://json-schema.org/draft-04/schema#"

// httpProtocols are Kong's typedefs.protocols_http.
var httpProtocols = []any{"grpc", "grpcs", "http", "https"}

// FilterPluginSchema is Kong's schema of a filter configured as a plugin
// (kong/runloop/wasm/plugins.lua), as GET /schemas/plugins/{name} renders
// it: the config is the filter's config field of filter chains, a JSON
// value validated against the schema the filter's NAME.meta.json declares
// in the proxy-wasm-filters namespace (a string or null without one).
func FilterPluginSchema() map[string]any {
	return map[string]any{
		"fields": []any{
			map[string]any{"name": map[string]any{"type": "string"}},
			map[string]any{"consumer": map[string]any{"type": "foreign", "reference": "consumers", "eq": nil,
				"description": "Custom type for representing a foreign key with a null value allowed."}},
			map[string]any{"protocols": map[string]any{"type": "set", "required": true, "default": httpProtocols,
				"elements":    map[string]any{"type": "string", "one_of": httpProtocols},
				"description": "A set of strings representing HTTP protocols."}},
			map[string]any{"config": map[string]any{"type": "json", "required": false, "json_schema": map[string]any{
				"parent_subschema_key": "name", "namespace": "proxy-wasm-filters", "optional": true,
				"default": map[string]any{"$schema": draft4, "type": []any{"string", "null"}},
			}}},
		},
		"entity_checks": []any{
			map[string]any{"mutually_exclusive": []any{"service", "route"}},
			map[string]any{"at_least_one_of": []any{"service", "route"}},
		},
	}
}

// pluginSchema is the schema of a proxy-wasm module of wasm_plugins_dir
// run as an ordinary plugin: any scope, config any JSON value.
func pluginSchema() map[string]any {
	return map[string]any{"fields": []any{
		map[string]any{"consumer": map[string]any{"type": "foreign", "reference": "consumers"}},
		map[string]any{"route": map[string]any{"type": "foreign", "reference": "routes"}},
		map[string]any{"service": map[string]any{"type": "foreign", "reference": "services"}},
		map[string]any{"config": map[string]any{"type": "json", "required": false, "json_schema": map[string]any{
			"inline": map[string]any{"$schema": draft4,
				"type": []any{"array", "boolean", "integer", "null", "number", "object", "string"}},
		}}},
	}}
}

// Filter is a loaded proxy-wasm module: its plugin definition and the
// factory of its configurations (hostabi.Factory). Filter chains run a
// filter by calling New with the filter's configuration ({"config": ...})
// and the returned instance's phases.
type Filter struct {
	module *wasmhost.Module
	abi    string
	def    hostabi.Definition
	vm     *vm // the stores the runtime's filters share
}

var _ hostabi.Factory = (*Filter)(nil)

// Load defines the host modules (env, wasi_unstable) and starts one
// instance with no configuration, so that a module importing a function
// this host lacks fails now with an error naming the import. Errors name
// the module's file.
func Load(ctx context.Context, m *wasmhost.Module) (*Filter, error) {
	abi := ABIVersion021
	if !m.Exports(ABIVersion021) {
		if !m.Exports(ABIVersion020) {
			return nil, fmt.Errorf("%s.wasm: not a proxy-wasm filter (no %s or %s export)", m.Name, ABIVersion021, ABIVersion020)
		}
		abi = ABIVersion020
	}
	if err := Define(ctx, m.Runtime()); err != nil {
		return nil, err
	}
	in, err := m.Instantiate(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s.wasm: a proxy-wasm filter this host can't run: %w", m.Name, err)
	}
	in.Close(context.Background())
	f := &Filter{module: m, abi: abi, vm: vmFor(m.Runtime())}
	phases := []hostabi.Phase{hostabi.PhaseAccess, hostabi.PhaseLog}
	if m.Exports("proxy_on_response_headers") || m.Exports("proxy_on_response_body") {
		// the response phase buffers the upstream's response: only for
		// a filter that looks at it
		phases = []hostabi.Phase{hostabi.PhaseAccess, hostabi.PhaseResponse, hostabi.PhaseLog}
	}
	f.def = hostabi.Definition{
		Name:     m.Name,
		Version:  Version,
		Priority: DefaultPriority,
		Phases:   phases,
		Schema:   pluginSchema(),
	}
	return f, nil
}

// Definition returns the filter's plugin definition.
func (f *Filter) Definition() hostabi.Definition { return f.def }

// ABI returns the ABI version the filter exports.
func (f *Filter) ABI() string { return f.abi }

// Module returns the filter's module.
func (f *Filter) Module() *wasmhost.Module { return f.module }

// New implements hostabi.Factory: a pool of instances for the
// configuration (config["config"], the plugin's or chain filter's config:
// a string as is, another value as JSON), one started at once so that a filter refusing its configuration
// (proxy_on_vm_start or proxy_on_configure answering false, or a trap)
// fails it.
func (f *Filter) New(config map[string]any) (any, error) {
	raw, err := httpwasm.GuestConfig(config)
	if err != nil {
		return nil, fmt.Errorf("wasm filter %s: %w", f.module.Name, err)
	}
	return f.NewRaw(raw)
}

// NewRaw is New with the configuration's bytes.
func (f *Filter) NewRaw(raw []byte) (*Config, error) {
	c := &Config{filter: f, raw: raw, ticks: map[*wasmhost.Instance]*ticker{}}
	c.pool = wasmhost.NewPool(f.module, c.setup)
	if err := c.pool.Warm(context.Background()); err != nil {
		c.pool.Close()
		return nil, err
	}
	return c, nil
}

// Config is one configuration of a filter: its pool of instances, each
// with its root context configured. It implements hostabi.Accessor,
// hostabi.Responder, hostabi.Logger and hostabi.Closer.
type Config struct {
	filter *Filter
	raw    []byte
	pool   *wasmhost.Pool

	mu     sync.Mutex
	ticks  map[*wasmhost.Instance]*ticker
	closed bool
}

// Pool returns the configuration's pool.
func (c *Config) Pool() *wasmhost.Pool { return c.pool }

// guest is an instance's state.
type guest struct {
	config *Config
	next   uint32            // the last context id handed out
	calls  uint32            // the last http call id handed out
	props  map[string]string // the root context's wasmx.* properties
}

// setup starts a new instance's root context.
func (c *Config) setup(ctx context.Context, in *wasmhost.Instance) error {
	g := &guest{config: c, next: RootContextID}
	in.Data = g
	cl := &call{config: c, in: in, ctxID: RootContextID, where: "configure"}
	name := c.filter.module.Name
	// a new instance starts under the instantiation limit (a Go guest's
	// first calls are slow), so a pool growing under load fails no request
	limit := c.filter.module.Runtime().Options().InitTimeout
	if _, err := in.CallWithin(ctx, limit, "configure", cl, "proxy_on_context_create", RootContextID, 0); err != nil {
		return err
	}
	if c.filter.module.Exports("proxy_on_vm_start") {
		res, err := in.CallWithin(ctx, limit, "configure", cl, "proxy_on_vm_start", RootContextID, 0)
		if err != nil {
			return err
		}
		if len(res) == 1 && uint32(res[0]) == 0 {
			return fmt.Errorf("wasm filter %s: proxy_on_vm_start failed", name)
		}
	}
	if c.filter.module.Exports("proxy_on_configure") {
		res, err := in.CallWithin(ctx, limit, "configure", cl, "proxy_on_configure", RootContextID, uint64(len(c.raw)))
		if err != nil {
			return err
		}
		if len(res) == 1 && uint32(res[0]) == 0 {
			return fmt.Errorf("wasm filter %s: proxy_on_configure refused the configuration", name)
		}
	}
	if cl.tick > 0 {
		c.startTick(in, cl.tick)
	}
	c.dispatchRoot(in, cl.rootPending)
	return nil
}

// Close implements hostabi.Closer: the ticks stop and the pool closes.
func (c *Config) Close() error {
	c.mu.Lock()
	c.closed = true
	for in, t := range c.ticks {
		t.stop()
		delete(c.ticks, in)
	}
	c.mu.Unlock()
	c.stopRoot()
	return c.pool.Close()
}

// stateKey is the kong.ctx.plugin key of a request's HTTP context.
const stateKey = "\x00gatehouse.proxywasm.stream"

// Actions a callback returns.
const (
	actionContinue = 0
	actionPause    = 1
)

// fault wraps a pool error as the runtime's fault.
func (c *Config) fault(phase string, err error) error {
	return wasmhost.AsFault(c.filter.module.Name, phase, err)
}

// Access implements hostabi.Accessor: the HTTP context is created and
// sees the request's headers and body.
func (c *Config) Access(k hostabi.Kong) error {
	lease, err := c.pool.Pin(k, hostabi.PhaseAccess, false)
	if err != nil {
		return c.fault("access", err)
	}
	in := lease.Instance()
	g := in.Data.(*guest)
	g.next++
	st := &stream{id: g.next}
	cl := &call{config: c, in: in, ctxID: st.id, k: k, st: st}
	done := func(err error) error {
		if err != nil {
			lease.Done(k, true, false)
			return err
		}
		k.Ctx().Plugin().Set(stateKey, st)
		// the next phase (response) comes once the upstream answered
		lease.Done(k, false, true)
		return nil
	}
	if _, err := in.Call(k.Context(), "access", cl, "proxy_on_context_create", uint64(st.id), RootContextID); err != nil {
		return done(err)
	}
	st.created = true
	// the body is read (buffered) only for a filter that reads it
	hasBody := requestHasBody(k)
	var body []byte
	if hasBody && c.filter.module.Exports("proxy_on_request_body") {
		if sr := requestView(k); sr.bodySet {
			body = sr.body // as an earlier filter of the request rewrote it
		} else {
			b, err := upstreamBody(k)
			if err != nil {
				return done(&wasmhost.Fault{Plugin: c.filter.module.Name, Phase: "access", Kind: wasmhost.FaultHost, Err: fmt.Errorf("request body: %w", err)})
			}
			body = b
		}
		hasBody = len(body) > 0
	}
	st.reqBody = body
	eos := uint64(0)
	if !hasBody {
		eos = 1
	}
	n := len(st.requestHeaders(k).list)
	if err := cl.callback("access", "proxy_on_request_headers", uint64(st.id), uint64(n), eos); err != nil || st.local != nil {
		return done(cl.finish(err))
	}
	if len(body) > 0 && c.filter.module.Exports("proxy_on_request_body") {
		if err := cl.callback("access", "proxy_on_request_body", uint64(st.id), uint64(len(body)), 1); err != nil || st.local != nil {
			return done(cl.finish(err))
		}
	}
	if st.reqBodySet {
		k.ServiceRequest().SetRawBody(st.reqBody)
		sr := requestView(k)
		sr.body, sr.bodySet = st.reqBody, true
	}
	return done(nil)
}

// Response implements hostabi.Responder: the HTTP context sees the
// upstream's response headers and whole body.
func (c *Config) Response(k hostabi.Kong) error {
	st, _ := c.stream(k)
	if st == nil || st.local != nil {
		return nil
	}
	lease, err := c.pool.Pin(k, hostabi.PhaseResponse, false)
	if err != nil {
		return c.fault("response", err)
	}
	in := lease.Instance()
	cl := &call{config: c, in: in, ctxID: st.id, k: k, st: st}
	st.response = true
	body := k.Response().RawBody()
	st.respBody = body
	eos := uint64(0)
	if len(body) == 0 {
		eos = 1
	}
	err = cl.callback("response", "proxy_on_response_headers", uint64(st.id), uint64(len(st.responseHeaders(k).list)), eos)
	if err == nil && st.local == nil && len(body) > 0 && c.filter.module.Exports("proxy_on_response_body") {
		err = cl.callback("response", "proxy_on_response_body", uint64(st.id), uint64(len(body)), 1)
	}
	if err == nil && st.local == nil && st.respBodySet {
		k.Response().SetRawBody(st.respBody)
	}
	err = cl.finish(err)
	lease.Done(k, err != nil, true)
	return err
}

// Log implements hostabi.Logger: proxy_on_log, proxy_on_done and
// proxy_on_delete end the HTTP context.
func (c *Config) Log(k hostabi.Kong) error {
	st, _ := c.stream(k)
	if st == nil {
		return nil
	}
	k.Ctx().Plugin().Delete(stateKey)
	lease, err := c.pool.Pin(k, hostabi.PhaseLog, true)
	if err != nil {
		return c.fault("log", err)
	}
	defer lease.Done(k, true, false)
	in := lease.Instance()
	cl := &call{config: c, in: in, ctxID: st.id, k: k, st: st, logging: true}
	for _, fn := range []string{"proxy_on_log", "proxy_on_done", "proxy_on_delete"} {
		if !c.filter.module.Exports(fn) {
			continue
		}
		if _, err := in.Call(k.Context(), "log", cl, fn, uint64(st.id)); err != nil {
			return err
		}
	}
	return nil
}

// stream returns the request's HTTP context.
func (c *Config) stream(k hostabi.Kong) (*stream, bool) {
	v, ok := k.Ctx().Plugin().Get(stateKey)
	if !ok {
		return nil, false
	}
	st, _ := v.(*stream)
	return st, st != nil
}

// callback runs a stream callback and checks its action.
func (cl *call) callback(phase, fn string, params ...uint64) error {
	if !cl.config.filter.module.Exports(fn) {
		return nil
	}
	res, err := cl.in.Call(cl.k.Context(), phase, cl, fn, params...)
	// the results are the instance's reused stack: read before dispatch
	// calls the guest again
	action, hasAction := uint32(0), len(res) == 1
	if hasAction {
		action = uint32(res[0])
	}
	if err == nil {
		err = cl.dispatch(phase)
	}
	if err != nil {
		return err
	}
	if hasAction {
		switch action {
		case actionContinue, actionPause:
			// Pause with nothing pending: the stream goes on (the whole
			// body is already buffered).
		default:
			return &wasmhost.Fault{Plugin: cl.config.filter.module.Name, Phase: phase, Kind: wasmhost.FaultHost,
				Err: fmt.Errorf("%s returned the unknown action %d", fn, action)}
		}
	}
	return nil
}

// finish sends a local response the guest asked for.
func (cl *call) finish(err error) error {
	if err != nil {
		return err
	}
	if lr := cl.st.local; lr != nil {
		cl.k.Response().Exit(lr.status, lr.body, lr.headers)
	}
	return nil
}

// requestHasBody reports whether the request announces a body
// (Content-Length above 0, or a Transfer-Encoding).
func requestHasBody(k hostabi.Kong) bool {
	if k.Request().Header("Transfer-Encoding") != "" {
		return true
	}
	cl := k.Request().Header("Content-Length")
	return cl != "" && cl != "0"
}
