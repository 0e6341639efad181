// Package filter turns a Go package main into a proxy-wasm filter (ABI
// 0.2.1) built with the standard toolchain (GOOS=wasip1 GOARCH=wasm go
// build -buildmode=c-shared; no TinyGo). It exports every callback of the
// ABI with //go:wasmexport and dispatches them to the contexts the filter
// registers: one RootContext per plugin configuration and one HTTPContext
// per request, created by the root context. A filter is a package main
// that calls SetRootContext from init and implements the hooks it needs;
// DefaultRootContext and DefaultHTTPContext, embedded, supply the others.
// The host functions a hook calls are sdk/proxywasm's (AddHeader, Buffer,
// SendLocalResponse, ...).
//
// Importing this package exports proxy_abi_version_0_2_1 and the
// proxy_on_* callbacks, so a filter that exports callbacks itself (as
// conformance/proxywasm/testdata/hostile does) imports only sdk/proxywasm.
//
// Natively (not wasip1) the package builds without the exports (and
// sdk/proxywasm's host functions answer StatusUnimplemented), so filters
// vet and test on any platform.
package filter

import (
	"encoding/json"
	"fmt"

	"github.com/gatehouse/gatehouse/sdk/proxywasm"
)

// Action is what a stream hook tells the host: go on, or hold the stream
// (until proxywasm.ContinueStream or a local response).
type Action uint32

// The actions.
const (
	Continue Action = 0
	Pause    Action = 1
)

// RootContext is a filter's context for one configuration on one instance
// (Kong: per filter of a filter chain, or per filter plugin). It receives
// the configuration, ticks and queue notifications, and creates the HTTP
// context of each request.
type RootContext interface {
	// OnVMStart runs once when the VM starts (proxy_on_vm_start) with the
	// VM configuration (empty on Gatehouse and Kong); false fails the
	// start.
	OnVMStart(vmConfig []byte) bool
	// OnPluginStart receives the configuration (proxy_on_configure);
	// false refuses it.
	OnPluginStart(config []byte) bool
	// OnPluginDone runs when the host retires the context (proxy_on_done);
	// true when the context is done.
	OnPluginDone() bool
	// OnTick runs every tick period (proxywasm.SetTickPeriod).
	OnTick()
	// OnQueueReady runs when a shared queue this context registered
	// (proxywasm.RegisterQueue) has items.
	OnQueueReady(queueID uint32)
	// NewHTTPContext returns the context of a new request; nil lets the
	// request through untouched.
	NewHTTPContext(contextID uint32) HTTPContext
}

// HTTPContext is a request's context: its hooks run as the request and
// the response go through the host. A hook returning Pause holds the
// stream; proxywasm.ContinueStream resumes it, proxywasm.SendLocalResponse
// answers instead.
type HTTPContext interface {
	// OnHTTPRequestHeaders runs on the request's headers
	// (proxywasm.Header(proxywasm.RequestHeaders, ...)); endOfStream when
	// the request has no body.
	OnHTTPRequestHeaders(numHeaders int, endOfStream bool) Action
	// OnHTTPRequestBody runs on the request's body
	// (proxywasm.Buffer(proxywasm.RequestBody, 0, bodySize)).
	OnHTTPRequestBody(bodySize int, endOfStream bool) Action
	// OnHTTPRequestTrailers runs on the request's trailers.
	OnHTTPRequestTrailers(numTrailers int) Action
	// OnHTTPResponseHeaders runs on the response's headers.
	OnHTTPResponseHeaders(numHeaders int, endOfStream bool) Action
	// OnHTTPResponseBody runs on the response's body.
	OnHTTPResponseBody(bodySize int, endOfStream bool) Action
	// OnHTTPResponseTrailers runs on the response's trailers.
	OnHTTPResponseTrailers(numTrailers int) Action
	// OnHTTPStreamDone runs once the response was sent (proxy_on_log):
	// properties and headers are still readable.
	OnHTTPStreamDone()
}

// HTTPCallResponder is implemented by a context (root or HTTP) that takes
// the answers to calls it made with proxywasm.HTTPCall; calls made with
// DispatchHTTPCall go to their callback instead.
type HTTPCallResponder interface {
	OnHTTPCallResponse(calloutID uint32, numHeaders, bodySize, numTrailers int)
}

// DefaultRootContext implements RootContext doing nothing: embed it and
// override the hooks you need.
type DefaultRootContext struct{}

// OnVMStart accepts the start.
func (DefaultRootContext) OnVMStart([]byte) bool { return true }

// OnPluginStart accepts the configuration.
func (DefaultRootContext) OnPluginStart([]byte) bool { return true }

// OnPluginDone is done.
func (DefaultRootContext) OnPluginDone() bool { return true }

// OnTick does nothing.
func (DefaultRootContext) OnTick() {}

// OnQueueReady does nothing.
func (DefaultRootContext) OnQueueReady(uint32) {}

// NewHTTPContext returns nil: requests go through untouched.
func (DefaultRootContext) NewHTTPContext(uint32) HTTPContext { return nil }

// JSONConfig decodes a filter's JSON configuration into v, the usual body
// of OnPluginStart: on failure it logs the configuration with the error
// and returns false, which makes the host refuse the configuration.
//
//	func (r *root) OnPluginStart(b []byte) bool { return filter.JSONConfig(b, r) }
func JSONConfig(b []byte, v any) bool {
	if err := json.Unmarshal(b, v); err != nil {
		proxywasm.Log(proxywasm.LogError, fmt.Sprintf("bad configuration %q: %v", b, err))
		return false
	}
	return true
}

// DefaultHTTPContext implements HTTPContext continuing every stream: embed
// it and override the hooks you need.
type DefaultHTTPContext struct{}

// OnHTTPRequestHeaders continues.
func (DefaultHTTPContext) OnHTTPRequestHeaders(int, bool) Action { return Continue }

// OnHTTPRequestBody continues.
func (DefaultHTTPContext) OnHTTPRequestBody(int, bool) Action { return Continue }

// OnHTTPRequestTrailers continues.
func (DefaultHTTPContext) OnHTTPRequestTrailers(int) Action { return Continue }

// OnHTTPResponseHeaders continues.
func (DefaultHTTPContext) OnHTTPResponseHeaders(int, bool) Action { return Continue }

// OnHTTPResponseBody continues.
func (DefaultHTTPContext) OnHTTPResponseBody(int, bool) Action { return Continue }

// OnHTTPResponseTrailers continues.
func (DefaultHTTPContext) OnHTTPResponseTrailers(int) Action { return Continue }

// OnHTTPStreamDone does nothing.
func (DefaultHTTPContext) OnHTTPStreamDone() {}

// SetRootContext registers the function creating the filter's root
// contexts; call it from init (or main). The host creates a root context
// per configuration (Gatehouse: one per instance of the configuration's
// pool).
func SetRootContext(newRoot func(contextID uint32) RootContext) { std.newRoot = newRoot }

// DispatchHTTPCall calls upstream (host:port) with headers (":method",
// ":path" and ":authority" among them), body and a timeout, and runs
// callback with the answer's sizes when it comes (read it with
// proxywasm.Header(proxywasm.HTTPCallResponseHeaders, ":status") and
// proxywasm.Buffer(proxywasm.HTTPCallResponseBody, 0, bodySize)). Call it
// from a hook of the context the answer belongs to; a request hook then
// usually returns Pause, and the callback resumes the request
// (proxywasm.ContinueStream(0)) or answers it (proxywasm.SendLocalResponse).
func DispatchHTTPCall(upstream string, headers [][2]string, body []byte, timeoutMS uint32,
	callback func(numHeaders, bodySize, numTrailers int)) (uint32, proxywasm.Status) {
	id, st := httpCall(upstream, headers, body, timeoutMS)
	if st == proxywasm.StatusOK && callback != nil {
		running.callouts[id] = callout{context: running.current, fn: callback}
	}
	return id, st
}

// httpCall is the host's proxy_http_call (a variable for native tests).
var httpCall = proxywasm.HTTPCall

// readBuffer is the host's proxy_get_buffer_bytes (a variable for native
// tests).
var readBuffer = proxywasm.Buffer

// callout is a pending DispatchHTTPCall.
type callout struct {
	context uint32
	fn      func(numHeaders, bodySize, numTrailers int)
}

// dispatcher holds the registered contexts and dispatches the ABI's
// callbacks to them; the package's exports call std.
type dispatcher struct {
	newRoot  func(uint32) RootContext
	roots    map[uint32]RootContext
	streams  map[uint32]HTTPContext
	callouts map[uint32]callout
	// current is the context of the callback running (0 between them).
	current uint32
}

// std is what the exports dispatch to; running is the dispatcher of the
// callback running (std, except in tests).
var (
	std     = newDispatcher(nil)
	running = std
)

// newDispatcher returns a dispatcher creating root contexts with newRoot.
func newDispatcher(newRoot func(contextID uint32) RootContext) *dispatcher {
	return &dispatcher{newRoot: newRoot, roots: map[uint32]RootContext{}, streams: map[uint32]HTTPContext{},
		callouts: map[uint32]callout{}}
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// enter starts a callback of a context (releasing the memory the host
// allocated for the previous callback's results).
func (c *dispatcher) enter(id uint32) {
	proxywasm.Release()
	c.current = id
	running = c
}

// contextCreate is proxy_on_context_create: a root context (parent 0)
// from the registered function, else the parent root's HTTP context.
func (c *dispatcher) contextCreate(id, parent uint32) {
	c.enter(id)
	if parent == 0 {
		if c.newRoot == nil {
			panic("proxy-wasm filter: no root context (call filter.SetRootContext in init)")
		}
		root := c.newRoot(id)
		if root == nil {
			root = DefaultRootContext{}
		}
		c.roots[id] = root
		return
	}
	root, ok := c.roots[parent]
	if !ok {
		panic(fmt.Sprintf("proxy-wasm filter: context %d created under unknown root %d", id, parent))
	}
	var h HTTPContext = DefaultHTTPContext{}
	if made := root.NewHTTPContext(id); made != nil {
		h = made
	}
	c.streams[id] = h
}

// root returns a root context, panicking (a trap the host reports) on an
// id the host never created.
func (c *dispatcher) root(id uint32) RootContext {
	r, ok := c.roots[id]
	if !ok {
		panic(fmt.Sprintf("proxy-wasm filter: unknown root context %d", id))
	}
	return r
}

// stream returns an HTTP context, panicking on an unknown id.
func (c *dispatcher) stream(id uint32) HTTPContext {
	h, ok := c.streams[id]
	if !ok {
		panic(fmt.Sprintf("proxy-wasm filter: unknown HTTP context %d", id))
	}
	return h
}

// configuration reads size bytes of a buffer (nil when size is 0).
func configuration(bt proxywasm.BufferType, size uint32) ([]byte, bool) {
	if size == 0 {
		return nil, true
	}
	b, st := readBuffer(bt, 0, size)
	return b, st == proxywasm.StatusOK
}

// vmStart is proxy_on_vm_start.
func (c *dispatcher) vmStart(id, size uint32) uint32 {
	c.enter(id)
	b, ok := configuration(proxywasm.VMConfiguration, size)
	return b2u(ok && c.root(id).OnVMStart(b))
}

// configure is proxy_on_configure.
func (c *dispatcher) configure(id, size uint32) uint32 {
	c.enter(id)
	b, ok := configuration(proxywasm.PluginConfiguration, size)
	if !ok {
		proxywasm.Log(proxywasm.LogError, "proxy-wasm filter: the configuration could not be read")
		return 0
	}
	return b2u(c.root(id).OnPluginStart(b))
}

// requestHeaders is proxy_on_request_headers.
func (c *dispatcher) requestHeaders(id, n, eos uint32) uint32 {
	c.enter(id)
	return uint32(c.stream(id).OnHTTPRequestHeaders(int(n), eos != 0))
}

// requestBody is proxy_on_request_body.
func (c *dispatcher) requestBody(id, size, eos uint32) uint32 {
	c.enter(id)
	return uint32(c.stream(id).OnHTTPRequestBody(int(size), eos != 0))
}

// requestTrailers is proxy_on_request_trailers.
func (c *dispatcher) requestTrailers(id, n uint32) uint32 {
	c.enter(id)
	return uint32(c.stream(id).OnHTTPRequestTrailers(int(n)))
}

// responseHeaders is proxy_on_response_headers.
func (c *dispatcher) responseHeaders(id, n, eos uint32) uint32 {
	c.enter(id)
	return uint32(c.stream(id).OnHTTPResponseHeaders(int(n), eos != 0))
}

// responseBody is proxy_on_response_body.
func (c *dispatcher) responseBody(id, size, eos uint32) uint32 {
	c.enter(id)
	return uint32(c.stream(id).OnHTTPResponseBody(int(size), eos != 0))
}

// responseTrailers is proxy_on_response_trailers.
func (c *dispatcher) responseTrailers(id, n uint32) uint32 {
	c.enter(id)
	return uint32(c.stream(id).OnHTTPResponseTrailers(int(n)))
}

// log is proxy_on_log: an HTTP context's OnHTTPStreamDone.
func (c *dispatcher) log(id uint32) {
	c.enter(id)
	if h, ok := c.streams[id]; ok {
		h.OnHTTPStreamDone()
	}
}

// done is proxy_on_done: a root context's OnPluginDone; an HTTP context
// is done.
func (c *dispatcher) done(id uint32) uint32 {
	c.enter(id)
	if r, ok := c.roots[id]; ok {
		return b2u(r.OnPluginDone())
	}
	return 1
}

// remove is proxy_on_delete: the context and its pending calls go.
func (c *dispatcher) remove(id uint32) {
	c.enter(id)
	delete(c.roots, id)
	delete(c.streams, id)
	for cid, co := range c.callouts {
		if co.context == id {
			delete(c.callouts, cid)
		}
	}
	c.current = 0
}

// tick is proxy_on_tick.
func (c *dispatcher) tick(id uint32) {
	c.enter(id)
	c.root(id).OnTick()
}

// queueReady is proxy_on_queue_ready.
func (c *dispatcher) queueReady(id, queue uint32) {
	c.enter(id)
	c.root(id).OnQueueReady(queue)
}

// httpCallResponse is proxy_on_http_call_response: the call's callback
// (DispatchHTTPCall), else the context's HTTPCallResponder.
func (c *dispatcher) httpCallResponse(id, calloutID, nHeaders, bodySize, nTrailers uint32) {
	c.enter(id)
	if co, ok := c.callouts[calloutID]; ok {
		delete(c.callouts, calloutID)
		co.fn(int(nHeaders), int(bodySize), int(nTrailers))
		return
	}
	var target any
	if h, ok := c.streams[id]; ok {
		target = h
	} else if r, ok := c.roots[id]; ok {
		target = r
	}
	if r, ok := target.(HTTPCallResponder); ok {
		r.OnHTTPCallResponse(calloutID, int(nHeaders), int(bodySize), int(nTrailers))
	}
}
