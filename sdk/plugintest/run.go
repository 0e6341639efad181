package plugintest

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/chain"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// ErrNoPhase is returned by Call when the plugin does not implement the
// requested phase.
type ErrNoPhase struct {
	Plugin any
	Phase  hostabi.Phase
}

func (e ErrNoPhase) Error() string {
	return fmt.Sprintf("plugintest: %T has no %s phase", e.Plugin, e.Phase)
}

// Call runs one phase of plugin on k through the gateway's own plugin
// chain (chain.Call), as the node runs each planned instance, and returns
// the plugin's error; an operation called outside its phase is returned
// as the *hostabi.PhaseError the node fails the plugin with. A panic is
// not swallowed: Call panics again with the plugin's value. The body
// filter phase gets the request's ServiceBody as a single final chunk;
// the chunk it returns becomes the response body.
func Call(k *Kong, plugin any, phase hostabi.Phase) error {
	in := &chain.Instance{ID: k.req.pluginID(), Name: k.req.PluginName, Plugin: plugin}
	in.Bind()
	if !in.Has(phase) {
		return ErrNoPhase{Plugin: plugin, Phase: phase}
	}
	k.phase = phase
	var f *chain.Fault
	if phase == hostabi.PhaseBodyFilter {
		var out []byte
		if out, f = chain.CallBodyFilter(in, k, k.respBody, true); f == nil {
			k.respBody, k.respBodySet = out, true
		}
	} else {
		f = chain.Call(in, phase, k)
	}
	switch {
	case f == nil:
		return nil
	case f.Panic != nil:
		panic(f.Panic)
	}
	return f.Err
}

// Run runs one phase of plugin on req in a fresh Env and returns what the
// plugin did. See Env.Run.
func Run(t testing.TB, plugin any, phase hostabi.Phase, req *Request) *Result {
	t.Helper()
	return NewEnv().Run(t, plugin, phase, req)
}

// Run runs one phase of plugin on req in e. A plugin without that phase
// fails the test at once; a panic is reported as a test error (plugins must
// not panic) and recorded in Result.Panic; the plugin's returned error is
// in Result.Err, for the test to check.
func (e *Env) Run(t testing.TB, plugin any, phase hostabi.Phase, req *Request) *Result {
	t.Helper()
	k := e.NewKong(req)
	var panicked any
	var stack []byte
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				panicked, stack = p, debug.Stack()
			}
		}()
		return Call(k, plugin, phase)
	}()
	if _, ok := err.(ErrNoPhase); ok {
		t.Fatal(err)
	}
	if panicked != nil {
		t.Errorf("plugin %T panicked in %s: %v\n%s", plugin, phase, panicked, stack)
	}
	res := k.Result()
	res.Err, res.Panic = err, panicked
	return res
}

// Result is what a plugin did to a request.
type Result struct {
	// Err is the error the plugin returned (the gateway answers 500).
	Err error
	// Panic is the value the plugin panicked with, if it did.
	Panic any

	// The request as it would be sent upstream.
	Method, Scheme, Path, RawQuery string
	// Header holds the upstream headers, names lower-cased.
	Header map[string][]string
	Body   []byte
	// MethodSet, PathSet, QuerySet and BodySet report which parts the
	// plugin set (even to the same value).
	MethodSet, PathSet, QuerySet, BodySet bool
	// HeaderOps lists every upstream header change, in call order.
	HeaderOps []HeaderOp
	// Target is the host:port given to Service.SetTarget, Upstream the
	// name given to Service.SetUpstream; Buffering whether
	// EnableBuffering was called.
	Target    string
	Upstream  string
	Buffering bool

	// Exited reports whether Response.Exit was called; Status is the exit
	// status (or the response status when not exited).
	Exited bool
	Status int
	// ExitValue and ExitBody are the body given to Exit (or the body
	// Error rendered).
	ExitValue any
	ExitBody  []byte
	// ExitHeaders are the headers given to Exit (hostabi.JSONExit adds
	// Content-Type for JSON bodies; Error sets the one it rendered).
	ExitHeaders map[string]string
	// ResponseHeader holds the headers sent to the client that plugins
	// set: Response header changes over the service response's headers,
	// then the exit headers. Names are lower-cased.
	ResponseHeader map[string][]string
	// ResponseOps lists every Response header change, in call order.
	ResponseOps []HeaderOp
	// ResponseBody is the body set through Response.SetRawBody or returned
	// by the body filter (the service body otherwise).
	ResponseBody []byte

	// Consumer and Credential are the identity after the phase;
	// AuthCalls lists every Authenticate call.
	Consumer, Credential hostabi.Entity
	AuthCalls            []AuthCall

	// Shared and Plugin are kong.ctx.shared and kong.ctx.plugin.
	Shared, Plugin map[string]any
	// Logs lists the kong.log calls.
	Logs []LogEntry
	// Timers lists the kong.timer.at calls (not run).
	Timers []TimerCall
	// SerializeValues lists the kong.log.set_serialize_value calls, in
	// order.
	SerializeValues []hostabi.SerializeValue
}

// Result returns what the phases run on k did so far.
func (k *Kong) Result() *Result {
	r := &Result{
		Method: k.upMethod, Scheme: k.upScheme, Path: k.upPath, RawQuery: k.upQuery,
		Header: applyOps(k.hdr, k.headerOps), Body: k.upBody,
		MethodSet: k.methodSet, PathSet: k.pathSet, QuerySet: k.querySet, BodySet: k.bodySet,
		HeaderOps: append([]HeaderOp(nil), k.headerOps...),
		Target:    k.target, Upstream: k.upstream, Buffering: k.buffering,
		Exited: k.exited, Status: k.status,
		ExitValue: k.exitValue, ExitBody: k.exitBody, ExitHeaders: k.exitHeaders,
		ResponseOps:  append([]HeaderOp(nil), k.respOps...),
		ResponseBody: k.respBody,
		Consumer:     k.consumer, Credential: k.credential,
		AuthCalls: append([]AuthCall(nil), k.authCalls...),
		Shared:    k.shared, Plugin: k.pluginCtx,
		Logs:   append([]LogEntry(nil), k.logs...),
		Timers: append([]TimerCall(nil), k.timers...),

		SerializeValues: append([]hostabi.SerializeValue(nil), k.serialize...),
	}
	r.ResponseHeader = applyOps(k.shdr, k.respOps)
	for n, v := range k.exitHeaders {
		r.ResponseHeader[strings.ToLower(n)] = []string{v}
	}
	return r
}

// UpstreamHeader returns the first upstream value of a header ("" if none).
func (r *Result) UpstreamHeader(name string) string {
	if vs := r.Header[strings.ToLower(name)]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// UpstreamHeaderValues returns every upstream value of a header.
func (r *Result) UpstreamHeaderValues(name string) []string {
	return r.Header[strings.ToLower(name)]
}

// HasUpstreamHeader reports whether the header goes upstream.
func (r *Result) HasUpstreamHeader(name string) bool {
	_, ok := r.Header[strings.ToLower(name)]
	return ok
}

// RespHeader returns the first value of a header sent to the client.
func (r *Result) RespHeader(name string) string {
	if vs := r.ResponseHeader[strings.ToLower(name)]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// ExitJSON decodes the exit body as a JSON object (nil if it is not one).
func (r *Result) ExitJSON() map[string]any {
	var m map[string]any
	if json.Unmarshal(r.ExitBody, &m) != nil {
		return nil
	}
	return m
}

// ExitMessage returns the "message" of a JSON exit body.
func (r *Result) ExitMessage() string {
	s, _ := r.ExitJSON()["message"].(string)
	return s
}

// Config validates a plugin configuration the way the store does before a
// plugin sees it (coercion, defaults, field and record checks) and returns
// it ready for the plugin's New. Invalid input fails the test. Go ints and
// []string in input are accepted.
func Config(t testing.TB, ps *store.PluginSchema, input map[string]any) map[string]any {
	t.Helper()
	cfg, errs := ValidateConfig(ps, input)
	if !errs.Empty() {
		t.Fatalf("invalid %s configuration: %v", ps.Name, errs.Flatten())
	}
	return cfg
}

// New creates an instance of a plugin the way the gateway does: input goes
// through the schema as in Config, then to the plugin's factory
// (plugin.Definition.New). Invalid input or a factory error fails the test.
func New(t testing.TB, ps *store.PluginSchema, factory func(config map[string]any) (any, error), input map[string]any) any {
	t.Helper()
	inst, err := factory(Config(t, ps, input))
	if err != nil {
		t.Fatalf("%s: New: %v", ps.Name, err)
	}
	return inst
}

// ValidateConfig is Config without a test: it returns the completed
// configuration and the validation errors (empty when valid), for testing
// a schema's rejections.
func ValidateConfig(ps *store.PluginSchema, input map[string]any) (map[string]any, schema.Errors) {
	rec := ps.Config
	if rec == nil {
		rec = &schema.Schema{}
	}
	in, _ := schema.Clone(input).(map[string]any)
	if in == nil {
		in = map[string]any{}
	}
	cfg, errs := schema.Coerce(rec, in)
	if !errs.Empty() {
		return nil, errs
	}
	schema.FillDefaults(rec, cfg)
	schema.DedupeSets(rec, cfg)
	if errs := schema.Validate(rec, cfg); !errs.Empty() {
		return nil, errs
	}
	return cfg, schema.Errors{}
}
