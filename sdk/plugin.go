package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/gatehouse/gatehouse/hostabi"
)

// Kong is what a handler sees of the gateway during one phase of one
// request: the host ABI's facets, named after Kong's PDK. It is
// hostabi.Kong, so a handler written for the SDK also compiles as a
// native plugin's code.
type Kong = hostabi.Kong

// Entity is a stored entity as plugins see it: Kong's JSON fields.
type Entity = hostabi.Entity

// Phase is a point in a request's life where plugins run.
type Phase = hostabi.Phase

// Handler runs one phase with the plugin's configuration. Returning an
// error fails the request (500); ending it on purpose is
// k.Response().Exit (or JSONExit) followed by return nil.
type Handler[C any] func(k Kong, c *C) error

// BodyHandler runs in body_filter for each chunk of the response body
// (eof marks the last) and returns the chunk to send.
type BodyHandler[C any] func(k Kong, c *C, chunk []byte, eof bool) ([]byte, error)

// Plugin describes a plugin whose configuration is C, a struct whose
// fields make the plugin's Kong configuration schema (see SchemaOf). Set
// the handlers of the phases the plugin runs in; the others stay nil and
// the host never calls them.
type Plugin[C any] struct {
	// Version is the plugin's version ("1.0.0" when empty).
	Version string
	// Priority orders plugins (higher first), as Kong's PRIORITY.
	Priority int
	// Protocols the plugin may be configured for (Kong's protocols field
	// default); nil: http and https.
	Protocols []string
	// NoConsumer forbids configuring the plugin on a consumer.
	NoConsumer bool

	// Validate checks a configuration beyond its schema; its error
	// refuses the configuration (the Admin API reports it on config).
	Validate func(c *C) error

	Rewrite      Handler[C]
	Access       Handler[C]
	Response     Handler[C]
	HeaderFilter Handler[C]
	BodyFilter   BodyHandler[C]
	Log          Handler[C]
}

// phases lists the phases the plugin has handlers for, in order.
func (p *Plugin[C]) phases() []Phase {
	var out []Phase
	for _, x := range []struct {
		ph  Phase
		set bool
	}{
		{hostabi.PhaseRewrite, p.Rewrite != nil},
		{hostabi.PhaseAccess, p.Access != nil},
		{hostabi.PhaseResponse, p.Response != nil},
		{hostabi.PhaseHeaderFilter, p.HeaderFilter != nil},
		{hostabi.PhaseBodyFilter, p.BodyFilter != nil},
		{hostabi.PhaseLog, p.Log != nil},
	} {
		if x.set {
			out = append(out, x.ph)
		}
	}
	return out
}

// handler returns the handler of a request phase other than body_filter
// (nil when unset).
func (p *Plugin[C]) handler(ph Phase) Handler[C] {
	switch ph {
	case hostabi.PhaseRewrite:
		return p.Rewrite
	case hostabi.PhaseAccess:
		return p.Access
	case hostabi.PhaseResponse:
		return p.Response
	case hostabi.PhaseHeaderFilter:
		return p.HeaderFilter
	case hostabi.PhaseLog:
		return p.Log
	}
	return nil
}

// Description is what a plugin tells the host about itself (the Wasm
// ABI's describe): version, priority, phases, the configuration record's
// schema and the protocols and consumer restrictions.
type Description = hostabi.WasmDescription

// Describe returns the plugin's Description; an error means C cannot be
// described as a Kong schema (an unsupported field type or a bad tag), or
// the plugin has no handler (the ABI reads an empty phase list as "every
// exported phase", which would make the gateway buffer responses for
// nothing).
func (p *Plugin[C]) Describe() (*Description, error) {
	rec, err := SchemaOf[C]()
	if err != nil {
		return nil, err
	}
	if len(p.phases()) == 0 {
		return nil, errors.New("sdk: the plugin has no phase handler (set Access, Rewrite, ...)")
	}
	d := &Description{Version: p.Version, Priority: p.Priority, Config: rec.Kong(),
		Protocols: p.Protocols, NoConsumer: p.NoConsumer}
	if d.Version == "" {
		d.Version = "1.0.0"
	}
	for _, ph := range p.phases() {
		d.Phases = append(d.Phases, ph.String())
	}
	return d, nil
}

// Decode turns a configuration (JSON, as the host gives it: validated,
// defaults filled, Kong's injected scope fields included) into a *C: it
// fills defaults still missing, checks the schema's rules (required,
// one_of, between, lengths, match), decodes, and runs Validate. The error
// names the field at fault ("header: required field missing").
func (p *Plugin[C]) Decode(config []byte) (*C, error) {
	rec, err := SchemaOf[C]()
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	dec := json.NewDecoder(strings.NewReader(string(config)))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("configuration is not a JSON object: %w", err)
	}
	if raw == nil {
		raw = map[string]any{}
	}
	if errs := rec.check(raw, ""); len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "; "))
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	c := new(C)
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if p.Validate != nil {
		if err := p.Validate(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// guard runs f, turning a panic into an error that names the phase (the
// host fails the request with it, as a native plugin's panic does).
func guard(ph string, f func() error) (err error) {
	defer recovered(ph, &err)
	return f()
}

// recovered, deferred, turns a panic into *err, naming the phase and
// keeping the stack for the log line.
func recovered(ph string, err *error) {
	r := recover()
	if r == nil {
		return
	}
	if e, ok := r.(error); ok {
		*err = fmt.Errorf("%s: panic: %w\n%s", ph, e, debug.Stack())
	} else {
		*err = fmt.Errorf("%s: panic: %v\n%s", ph, r, debug.Stack())
	}
}

// registered is the plugin of this module, whatever its configuration
// type.
type registered interface {
	describe() ([]byte, error)
	configure(config []byte) error
	run(ph Phase, k Kong) error
	bodyFilter(k Kong, chunk []byte, eof bool) ([]byte, error)
}

// instance is a Plugin with its decoded configuration: the state of one
// Wasm instance (the host configures each instance once).
type instance[C any] struct {
	p   *Plugin[C]
	cfg *C
}

func (in *instance[C]) describe() ([]byte, error) {
	d, err := in.p.Describe()
	if err != nil {
		return nil, err
	}
	return json.Marshal(d)
}

func (in *instance[C]) configure(config []byte) error {
	c, err := in.p.Decode(config)
	if err != nil {
		return err
	}
	in.cfg = c
	return nil
}

func (in *instance[C]) run(ph Phase, k Kong) (err error) {
	h := in.p.handler(ph)
	if h == nil {
		return nil
	}
	if in.cfg == nil {
		return fmt.Errorf("%s: the plugin was not configured", ph)
	}
	defer recovered(ph.String(), &err)
	return h(k, in.cfg)
}

func (in *instance[C]) bodyFilter(k Kong, chunk []byte, eof bool) ([]byte, error) {
	if in.p.BodyFilter == nil {
		return chunk, nil
	}
	if in.cfg == nil {
		return nil, errors.New("body_filter: the plugin was not configured")
	}
	var out []byte
	err := guard("body_filter", func() (err error) {
		out, err = in.p.BodyFilter(k, in.cfg, chunk, eof)
		return err
	})
	return out, err
}

// current is the registered plugin (nil until Register).
var current registered

// Register makes p the plugin of this module. Call it once, from an init
// function of package main (a Wasm reactor runs init functions, never
// main). A second call panics: a module is one plugin.
func Register[C any](p Plugin[C]) {
	if current != nil {
		panic("sdk.Register: a module registers one plugin")
	}
	current = &instance[C]{p: &p}
}

// abiVersion is hostabi.Version packed as the Wasm ABI's
// gatehouse_abi_version export returns it: major<<32 | minor<<16 | patch.
func abiVersion() int64 { return int64(hostabi.WasmABIVersion()) }
