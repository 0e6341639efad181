package proxywasm

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Status codes of the ABI (WasmResult).
const (
	statusOK            = 0
	statusNotFound      = 1
	statusBadArgument   = 2
	statusSerialization = 3
	statusInvalidMemory = 6
	statusEmpty         = 7
	statusCasMismatch   = 8
	statusUnimplemented = 12
)

// Map types.
const (
	mapRequestHeaders   = 0
	mapRequestTrailers  = 1
	mapResponseHeaders  = 2
	mapResponseTrailers = 3
)

// Buffer types.
const (
	bufRequestBody   = 0
	bufResponseBody  = 1
	bufVMConfig      = 6
	bufPluginConfig  = 7
	streamRequest    = 0
	streamResponse   = 1
	logTrace         = 0
	logDebug         = 1
	logInfo          = 2
	logWarn          = 3
	logError         = 4
	logCritical      = 5
	hostModule       = "env"
	wasiUnstableName = "wasi_unstable"
)

// call is the state of one export call, found by the host functions with
// wasmhost.State. k and st are nil in the root context's calls.
type call struct {
	config  *Config
	in      *wasmhost.Instance
	ctxID   uint32
	k       hostabi.Kong
	st      *stream
	logging bool
	tick    uint32 // a period the root context asked for while starting

	resp        *callResponse  // read by the running proxy_on_http_call_response
	callData    []byte         // read by the running proxy_on_foreign_function
	where       string         // a root callback: "configure", "tick", "queue", "http_call"
	record      map[string]any // kong.log.serialize's record, read once per log-phase call
	rootPending []httpCall     // dispatched by the running root callback
	// alloc is the parameter and result stack of the guest allocator's
	// calls (give), reused so that they allocate nothing.
	alloc [1]uint64
}

// stream is one request's HTTP context.
type stream struct {
	id       uint32
	created  bool
	response bool // the response phase reached

	reqHeaders  *headers
	respHeaders *headers

	reqBody     []byte
	reqBodySet  bool
	respBody    []byte
	respBodySet bool

	local *localResponse

	pending []httpCall // dispatched by the running callback

	props map[string]string // the context's wasmx.* properties
}

type localResponse struct {
	status  int
	body    []byte
	headers map[string]string
}

// headers is an ordered header map with lower-case names.
type headers struct{ list [][2]string }

func loadHeaders(m map[string][]string) *headers {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	h := &headers{}
	for _, n := range names {
		for _, v := range m[n] {
			h.list = append(h.list, [2]string{strings.ToLower(n), v})
		}
	}
	return h
}

func (h *headers) get(name string) (string, bool) {
	for _, p := range h.list {
		if p[0] == name {
			return p[1], true
		}
	}
	return "", false
}

// joined returns name's values joined by commas (the first itself when
// it is the only one, without a copy); false for none.
func (h *headers) joined(name string) (string, bool) {
	first, n := "", 0
	for _, p := range h.list {
		if p[0] == name {
			if n == 0 {
				first = p[1]
			}
			n++
		}
	}
	if n <= 1 {
		return first, n == 1
	}
	return strings.Join(h.values(name), ","), true
}

func (h *headers) values(name string) []string {
	var out []string
	for _, p := range h.list {
		if p[0] == name {
			out = append(out, p[1])
		}
	}
	return out
}

func (h *headers) remove(name string) {
	out := h.list[:0]
	for _, p := range h.list {
		if p[0] != name {
			out = append(out, p)
		}
	}
	h.list = out
}

// requestKey holds, in the request's kong.ctx.shared, the request as the
// filters that ran so far changed it (sharedRequest): hostabi's Request
// reads the request as the client sent it, while the filters of a chain
// (and filter plugins after one another) see their predecessors' changes,
// as the filters of one request do in Kong.
const requestKey = "\x00gatehouse.proxywasm.request"

// sharedRequest is the request's headers and body as the filters changed
// them.
type sharedRequest struct {
	headers *headers
	body    []byte
	bodySet bool
}

// requestView returns the request's sharedRequest, made on first use.
func requestView(k hostabi.Kong) *sharedRequest {
	shared := k.Ctx().Shared()
	if v, ok := shared.Get(requestKey); ok {
		if sr, ok := v.(*sharedRequest); ok {
			return sr
		}
	}
	sr := &sharedRequest{}
	shared.Set(requestKey, sr)
	return sr
}

func (s *stream) requestHeaders(k hostabi.Kong) *headers {
	if s.reqHeaders == nil {
		sr := requestView(k)
		if sr.headers == nil {
			sr.headers = loadHeaders(upstreamHeaders(k))
		}
		s.reqHeaders = sr.headers
	}
	return s.reqHeaders
}

// upstreamHeaders returns the request's headers as the plugins that ran
// before the filters changed them (filters run after the plugins' access
// phase and, as in Kong, see its changes), when the host can read them
// back and the request is still going upstream (rewrite, access); else
// the client's.
func upstreamHeaders(k hostabi.Kong) map[string][]string {
	if p := k.Phase(); p == hostabi.PhaseAccess || p == hostabi.PhaseRewrite {
		if r, ok := k.ServiceRequest().(hostabi.ServiceRequestReader); ok {
			return r.UpstreamHeaders()
		}
	}
	return k.Request().Headers()
}

// upstreamBody returns the request body as an earlier plugin set it, or
// the client's.
func upstreamBody(k hostabi.Kong) ([]byte, error) {
	if r, ok := k.ServiceRequest().(hostabi.ServiceRequestReader); ok {
		if b, set := r.UpstreamBody(); set {
			return b, nil
		}
	}
	return k.Request().RawBody()
}

func (s *stream) responseHeaders(k hostabi.Kong) *headers {
	if s.respHeaders == nil {
		if s.response {
			s.respHeaders = loadHeaders(k.Response().Headers())
		} else {
			s.respHeaders = &headers{}
		}
	}
	return s.respHeaders
}

// current returns the running call; it traps outside one.
func current(ctx context.Context) *call {
	c, _ := wasmhost.State(ctx).(*call)
	if c == nil {
		wasmhost.Trapf("the proxy-wasm host functions are not available here")
	}
	return c
}

// Define adds the proxy-wasm import module (env) and WASI under its old
// name (wasi_unstable) to a runtime, once.
func Define(ctx context.Context, rt *wasmhost.Runtime) error {
	if err := rt.DefineHostModule(ctx, wasiUnstableName, func(b wazero.HostModuleBuilder) wazero.HostModuleBuilder {
		wasi_snapshot_preview1.NewFunctionExporter().ExportFunctions(b)
		return b
	}); err != nil {
		return err
	}
	// the env module is defined once per runtime: its stores are made
	// then and dropped when it closes with the runtime
	defined := false
	err := rt.DefineHostModule(withRelease(ctx, rt), hostModule, func(b wazero.HostModuleBuilder) wazero.HostModuleBuilder {
		defined = true
		vms.Store(rt, newVM())
		i32 := api.ValueTypeI32
		fn := func(name string, f api.GoModuleFunc, nparams int) {
			params := make([]api.ValueType, nparams)
			for i := range params {
				params[i] = i32
			}
			b = b.NewFunctionBuilder().WithGoModuleFunction(f, params, []api.ValueType{i32}).Export(name)
		}
		fn("proxy_log", proxyLog, 3)
		fn("proxy_get_log_level", getLogLevel, 1)
		fn("proxy_get_current_time_nanoseconds", currentTime, 1)
		fn("proxy_set_tick_period_milliseconds", setTickPeriod, 1)
		fn("proxy_get_property", getProperty, 4)
		fn("proxy_set_property", setProperty, 4)
		fn("proxy_get_buffer_bytes", getBufferBytes, 5)
		fn("proxy_set_buffer_bytes", setBufferBytes, 5)
		fn("proxy_get_header_map_pairs", getHeaderMapPairs, 3)
		fn("proxy_set_header_map_pairs", setHeaderMapPairs, 3)
		fn("proxy_get_header_map_value", getHeaderMapValue, 5)
		fn("proxy_add_header_map_value", headerOp(opAdd), 5)
		fn("proxy_replace_header_map_value", headerOp(opReplace), 5)
		fn("proxy_remove_header_map_value", headerOp(opRemove), 3)
		fn("proxy_get_header_map_size", getHeaderMapSize, 2)
		fn("proxy_send_local_response", sendLocalResponse, 8)
		fn("proxy_continue_stream", continueStream, 1)
		fn("proxy_close_stream", closeStream, 1)
		fn("proxy_continue_request", continueStream, 0)
		fn("proxy_continue_response", continueStream, 0)
		fn("proxy_clear_route_cache", noop, 0)
		fn("proxy_get_shared_data", getSharedData, 5)
		fn("proxy_set_shared_data", setSharedData, 5)
		fn("proxy_set_effective_context", setEffectiveContext, 1)
		fn("proxy_done", noop, 0)
		fn("proxy_http_call", httpCallImport, 10)
		fn("proxy_register_shared_queue", registerQueue, 3)
		fn("proxy_define_metric", defineMetric, 4)
		fn("proxy_get_metric", getMetric, 2)
		for name, f := range map[string]api.GoModuleFunc{"proxy_increment_metric": incrementMetric, "proxy_record_metric": recordMetric} {
			b = b.NewFunctionBuilder().WithGoModuleFunction(f, []api.ValueType{i32, api.ValueTypeI64}, []api.ValueType{i32}).Export(name)
		}
		fn("proxy_resolve_shared_queue", resolveQueue, 5)
		fn("proxy_enqueue_shared_queue", enqueueQueue, 3)
		fn("proxy_dequeue_shared_queue", dequeueQueue, 3)
		defineExtra(fn)
		return b
	})
	if err != nil && defined {
		vms.Delete(rt)
	}
	return err
}

// ret writes a status to the result.
func ret(stack []uint64, status uint32) { stack[0] = uint64(status) }

func putU32(m api.Module, ptr, v uint32) {
	if !m.Memory().WriteUint32Le(ptr, v) {
		wasmhost.Trapf("pointer out of memory: %d", ptr)
	}
}

// give copies data into memory the guest allocates (its
// proxy_on_memory_allocate, or malloc) and writes the pointer and size to
// the guest's return slots.
func give(ctx context.Context, m api.Module, data []byte, ptrPtr, sizePtr uint32) {
	giveData(ctx, m, "", data, ptrPtr, sizePtr)
}

// giveString is give for a string, without a copy to bytes first.
func giveString(ctx context.Context, m api.Module, data string, ptrPtr, sizePtr uint32) {
	giveData(ctx, m, data, nil, ptrPtr, sizePtr)
}

// giveData gives str, or b when str is empty.
func giveData(ctx context.Context, m api.Module, str string, b []byte, ptrPtr, sizePtr uint32) {
	var ptr uint32
	n := len(str) + len(b)
	if n > 0 {
		export := m.ExportedFunction
		cl, _ := wasmhost.State(ctx).(*call)
		if cl != nil && cl.in != nil {
			export = cl.in.Export // looked up once per instance
		}
		f := export("proxy_on_memory_allocate")
		if f == nil {
			f = export("malloc")
		}
		if f == nil {
			wasmhost.Trapf("the filter exports neither proxy_on_memory_allocate nor malloc")
		}
		// The running call's time limit ends this nested call too: the
		// instance's timer closes the module, which the guest checks at
		// every loop (or wazero's watcher does, on the same context).
		var stack []uint64
		if cl != nil {
			stack = cl.alloc[:]
		} else {
			stack = make([]uint64, 1)
		}
		stack[0] = uint64(n)
		if err := f.CallWithStack(ctx, stack); err != nil {
			wasmhost.Trap(fmt.Errorf("proxy_on_memory_allocate: %w", err))
		}
		ptr = uint32(stack[0])
		ok := ptr != 0
		if ok && str != "" {
			ok = m.Memory().WriteString(ptr, str)
		} else if ok {
			ok = m.Memory().Write(ptr, b)
		}
		if !ok {
			wasmhost.Trapf("proxy_on_memory_allocate(%d) returned an unusable pointer %d", n, ptr)
		}
	}
	putU32(m, ptrPtr, ptr)
	putU32(m, sizePtr, uint32(n))
}

func noop(context.Context, api.Module, []uint64) {}

func logger(c *call) *slog.Logger { return c.config.filter.module.Runtime().Logger() }

func proxyLog(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	level := uint32(stack[0])
	msg := wasmhost.ReadString(m, uint32(stack[1]), uint32(stack[2]))
	if c.k != nil {
		l := c.k.Log()
		switch level {
		case logTrace, logDebug:
			l.Debug(msg)
		case logInfo:
			l.Info(msg)
		case logWarn:
			l.Warn(msg)
		case logError:
			l.Err(msg)
		case logCritical:
			l.Crit(msg)
		default:
			ret(stack, statusBadArgument)
			return
		}
		ret(stack, statusOK)
		return
	}
	lv := map[uint32]slog.Level{logTrace: slog.LevelDebug, logDebug: slog.LevelDebug, logInfo: slog.LevelInfo,
		logWarn: slog.LevelWarn, logError: slog.LevelError, logCritical: slog.LevelError}
	l, ok := lv[level]
	if !ok {
		ret(stack, statusBadArgument)
		return
	}
	logger(c).Log(ctx, l, msg, "plugin", c.config.filter.module.Name)
	ret(stack, statusOK)
}

func getLogLevel(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	l := logger(c)
	level := uint32(logCritical)
	for _, p := range []struct {
		sl slog.Level
		pl uint32
	}{{slog.LevelError, logError}, {slog.LevelWarn, logWarn}, {slog.LevelInfo, logInfo}, {slog.LevelDebug, logDebug}} {
		if l.Enabled(ctx, p.sl) {
			level = p.pl
		}
	}
	putU32(m, uint32(stack[0]), level)
	ret(stack, statusOK)
}

func currentTime(ctx context.Context, m api.Module, stack []uint64) {
	current(ctx)
	if !m.Memory().WriteUint64Le(uint32(stack[0]), uint64(time.Now().UnixNano())) {
		wasmhost.Trapf("pointer out of memory: %d", uint32(stack[0]))
	}
	ret(stack, statusOK)
}

func setEffectiveContext(ctx context.Context, _ api.Module, stack []uint64) {
	c := current(ctx)
	id := uint32(stack[0])
	if id != RootContextID && (c.st == nil || id != c.st.id) {
		ret(stack, statusBadArgument)
		return
	}
	ret(stack, statusOK)
}

func continueStream(ctx context.Context, _ api.Module, stack []uint64) {
	c := current(ctx)
	if c.st == nil {
		ret(stack, statusBadArgument)
		return
	}
	// the whole body is buffered before the callbacks run: the stream
	// goes on when the callback returns.
	ret(stack, statusOK)
}

func closeStream(ctx context.Context, _ api.Module, stack []uint64) {
	c := current(ctx)
	if c.st == nil || c.k == nil || c.logging {
		ret(stack, statusBadArgument)
		return
	}
	if c.st.local == nil {
		c.st.local = &localResponse{status: 502, body: nil}
	}
	ret(stack, statusOK)
}

// stream returns the call's HTTP context; it answers BadArgument (false)
// in a root context.
func (c *call) stream() bool { return c.st != nil && c.k != nil }

func readPairs(b []byte) ([][2]string, bool) {
	if len(b) < 4 {
		return nil, len(b) == 0
	}
	n := binary.LittleEndian.Uint32(b)
	if uint64(n)*8+4 > uint64(len(b)) {
		return nil, false
	}
	sizes := b[4 : 4+8*n]
	data := b[4+8*n:]
	out := make([][2]string, 0, n)
	for i := uint32(0); i < n; i++ {
		ks := binary.LittleEndian.Uint32(sizes[8*i:])
		vs := binary.LittleEndian.Uint32(sizes[8*i+4:])
		if uint64(ks)+uint64(vs)+2 > uint64(len(data)) {
			return nil, false
		}
		k := string(data[:ks])
		if data[ks] != 0 {
			return nil, false
		}
		data = data[ks+1:]
		v := string(data[:vs])
		if data[vs] != 0 {
			return nil, false
		}
		data = data[vs+1:]
		out = append(out, [2]string{k, v})
	}
	return out, true
}

// ReadPairs decodes the serialized pairs format of the ABI (u32 count,
// then a u32 key size and a u32 value size per pair, then each key and
// value followed by NUL); ok is false for malformed input.
func ReadPairs(b []byte) (pairs [][2]string, ok bool) { return readPairs(b) }

// WritePairs encodes pairs in the serialized pairs format.
func WritePairs(pairs [][2]string) []byte {
	n := 4 + 8*len(pairs)
	for _, p := range pairs {
		n += len(p[0]) + len(p[1]) + 2
	}
	b := make([]byte, 4+8*len(pairs), n)
	binary.LittleEndian.PutUint32(b, uint32(len(pairs)))
	for i, p := range pairs {
		binary.LittleEndian.PutUint32(b[4+8*i:], uint32(len(p[0])))
		binary.LittleEndian.PutUint32(b[8+8*i:], uint32(len(p[1])))
	}
	for _, p := range pairs {
		b = append(append(append(append(b, p[0]...), 0), p[1]...), 0)
	}
	return b
}

// headerWriter is what passOn writes a header's values to: the upstream
// request (hostabi.ServiceRequest) or the response (hostabi.Response).
type headerWriter interface {
	SetHeader(name, value string)
	AddHeader(name, value string)
	ClearHeader(name string)
}

// passOn gives w the name's values as h now holds them (none: the header
// is cleared).
func passOn(h *headers, w headerWriter, name string) {
	first, n := "", 0
	for _, p := range h.list {
		if p[0] == name {
			if n == 0 {
				first = p[1]
			}
			n++
		}
	}
	if n == 0 {
		w.ClearHeader(name)
		return
	}
	w.SetHeader(name, first)
	if n == 1 {
		return
	}
	seen := 0
	for _, p := range h.list {
		if p[0] == name {
			if seen > 0 {
				w.AddHeader(name, p[1])
			}
			seen++
		}
	}
}

// headerMap returns the map a map type names, with the writer its
// changes pass on to (passOn; nil: read only); nil for a map not
// available now.
func (c *call) headerMap(mt uint32) (*headers, headerWriter) {
	switch {
	case mt == mapHTTPCallResponseHeaders && c.resp != nil:
		return c.resp.headers, nil
	case mt == mapHTTPCallResponseTrailers && c.resp != nil:
		return &headers{}, nil
	}
	if !c.stream() {
		return nil, nil
	}
	k, st := c.k, c.st
	switch mt {
	case mapRequestHeaders:
		if st.response || c.logging {
			return st.requestHeaders(k), nil // read only
		}
		h := st.requestHeaders(k)
		return h, k.ServiceRequest()
	case mapResponseHeaders:
		h := st.responseHeaders(k)
		if st.local != nil || !st.response || c.logging {
			return h, nil
		}
		return h, k.Response()
	case mapRequestTrailers, mapResponseTrailers:
		// HTTP/1.1 trailers are not passed to filters (as in Kong): the
		// trailer maps read empty and refuse changes
		return &headers{}, nil
	}
	return nil, nil
}

// pseudo returns a pseudo-header's value (":path", ":method", ...).
func (c *call) pseudo(mt uint32, name string) (string, bool) {
	if mt == mapHTTPCallResponseHeaders {
		if name == ":dispatch_status" && c.resp != nil && c.resp.dispatchStatus != "" {
			return c.resp.dispatchStatus, true
		}
		return "", false
	}
	k := c.k
	switch {
	case mt == mapRequestHeaders && name == ":path":
		p := k.Request().RawPath()
		if q := k.Request().RawQuery(); q != "" {
			p += "?" + q
		}
		return p, true
	case mt == mapRequestHeaders && name == ":method":
		return k.Request().Method(), true
	case mt == mapRequestHeaders && name == ":authority":
		return k.Request().Host(), true
	case mt == mapRequestHeaders && name == ":scheme":
		return k.Request().Scheme(), true
	case mt == mapResponseHeaders && name == ":status" && c.st.response:
		return strconv.Itoa(k.Response().Status()), true
	}
	return "", false
}

func getHeaderMapPairs(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	h, _ := c.headerMap(uint32(stack[0]))
	if h == nil {
		ret(stack, statusBadArgument)
		return
	}
	give(ctx, m, WritePairs(h.list), uint32(stack[1]), uint32(stack[2]))
	ret(stack, statusOK)
}

func getHeaderMapSize(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	h, _ := c.headerMap(uint32(stack[0]))
	if h == nil {
		ret(stack, statusBadArgument)
		return
	}
	putU32(m, uint32(stack[1]), uint32(len(WritePairs(h.list))))
	ret(stack, statusOK)
}

func setHeaderMapPairs(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	h, w := c.headerMap(uint32(stack[0]))
	if h == nil || w == nil {
		ret(stack, statusBadArgument)
		return
	}
	pairs, ok := readPairs(wasmhost.Read(m, uint32(stack[1]), uint32(stack[2])))
	if !ok {
		ret(stack, statusSerialization)
		return
	}
	touched := map[string]bool{}
	for _, p := range h.list {
		touched[p[0]] = true
	}
	h.list = h.list[:0]
	for _, p := range pairs {
		n := strings.ToLower(p[0])
		if strings.HasPrefix(n, ":") {
			continue
		}
		h.list = append(h.list, [2]string{n, p[1]})
		touched[n] = true
	}
	for n := range touched {
		passOn(h, w, n)
	}
	ret(stack, statusOK)
}

func getHeaderMapValue(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	mt := uint32(stack[0])
	h, _ := c.headerMap(mt)
	if h == nil {
		ret(stack, statusBadArgument)
		return
	}
	name := strings.ToLower(wasmhost.ViewString(m, uint32(stack[1]), uint32(stack[2])))
	v, ok := c.pseudo(mt, name)
	if !ok {
		v, ok = h.joined(name)
		if !ok {
			ret(stack, statusNotFound)
			return
		}
	}
	giveString(ctx, m, v, uint32(stack[3]), uint32(stack[4]))
	ret(stack, statusOK)
}

type op int

const (
	opAdd op = iota
	opReplace
	opRemove
)

func headerOp(o op) api.GoModuleFunc {
	return func(ctx context.Context, m api.Module, stack []uint64) {
		c := current(ctx)
		mt := uint32(stack[0])
		h, w := c.headerMap(mt)
		if h == nil || w == nil {
			ret(stack, statusBadArgument)
			return
		}
		var name string
		if c.in != nil { // interned: a filter changes the same names on every request
			name = strings.ToLower(c.in.Name(uint32(stack[1]), uint32(stack[2])))
		} else {
			name = strings.ToLower(wasmhost.ReadString(m, uint32(stack[1]), uint32(stack[2])))
		}
		if name == "" {
			ret(stack, statusBadArgument)
			return
		}
		if strings.HasPrefix(name, ":") {
			ret(stack, c.setPseudo(mt, name, o, m, stack))
			return
		}
		switch o {
		case opAdd:
			h.list = append(h.list, [2]string{name, wasmhost.ReadString(m, uint32(stack[3]), uint32(stack[4]))})
		case opReplace:
			h.remove(name)
			h.list = append(h.list, [2]string{name, wasmhost.ReadString(m, uint32(stack[3]), uint32(stack[4]))})
		case opRemove:
			h.remove(name)
		}
		passOn(h, w, name)
		ret(stack, statusOK)
	}
}

// setPseudo changes the request's :path or :method, the response's
// :status.
func (c *call) setPseudo(mt uint32, name string, o op, m api.Module, stack []uint64) uint32 {
	if o == opRemove {
		return statusBadArgument
	}
	v := wasmhost.ReadString(m, uint32(stack[3]), uint32(stack[4]))
	switch {
	case mt == mapRequestHeaders && name == ":path" && v != "":
		p, q, _ := strings.Cut(v, "?")
		c.k.ServiceRequest().SetPath(p)
		c.k.ServiceRequest().SetRawQuery(q)
	case mt == mapRequestHeaders && name == ":method" && v != "":
		c.k.ServiceRequest().SetMethod(v)
	case mt == mapResponseHeaders && name == ":status":
		s, err := strconv.Atoi(v)
		if err != nil || s < 100 || s > 999 {
			return statusBadArgument
		}
		c.k.Response().SetStatus(s)
	default:
		return statusBadArgument
	}
	return statusOK
}

// buffer returns the bytes of a buffer type and whether it exists now.
func (c *call) buffer(bt uint32) ([]byte, bool) {
	switch bt {
	case bufPluginConfig:
		return c.config.raw, true
	case bufVMConfig:
		return nil, true
	case bufCallData:
		if c.callData != nil {
			return c.callData, true
		}
	case bufRequestBody:
		if c.stream() && !c.st.response {
			return c.st.reqBody, true
		}
	case bufHTTPCallResponseBody:
		if c.resp != nil {
			return c.resp.body, true
		}
	case bufResponseBody:
		if c.stream() && c.st.response {
			return c.st.respBody, true
		}
	}
	return nil, false
}

func getBufferBytes(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	b, ok := c.buffer(uint32(stack[0]))
	if !ok {
		ret(stack, statusBadArgument)
		return
	}
	start, size := uint64(uint32(stack[1])), uint64(uint32(stack[2]))
	if start > uint64(len(b)) {
		ret(stack, statusBadArgument)
		return
	}
	end := start + size
	if end > uint64(len(b)) {
		end = uint64(len(b))
	}
	if end == start {
		ret(stack, statusNotFound)
		return
	}
	give(ctx, m, b[start:end], uint32(stack[3]), uint32(stack[4]))
	ret(stack, statusOK)
}

func setBufferBytes(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	bt := uint32(stack[0])
	if (bt != bufRequestBody && bt != bufResponseBody) || c.logging || c.st == nil || c.st.local != nil {
		ret(stack, statusBadArgument)
		return
	}
	b, ok := c.buffer(bt)
	if !ok {
		ret(stack, statusBadArgument)
		return
	}
	start, size := uint64(uint32(stack[1])), uint64(uint32(stack[2]))
	data := wasmhost.Read(m, uint32(stack[3]), uint32(stack[4]))
	if start > uint64(len(b)) {
		ret(stack, statusBadArgument)
		return
	}
	end := start + size
	if end > uint64(len(b)) {
		end = uint64(len(b))
	}
	// bytes [start, start+size) are replaced by data (start 0, size the
	// whole length: the body is replaced)
	out := make([]byte, 0, len(b)-int(end-start)+len(data))
	out = append(append(append(out, b[:start]...), data...), b[end:]...)
	if bt == bufRequestBody {
		c.st.reqBody, c.st.reqBodySet = out, true
	} else {
		c.st.respBody, c.st.respBodySet = out, true
	}
	ret(stack, statusOK)
}

func sendLocalResponse(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	if !c.stream() || c.logging || c.st.local != nil {
		ret(stack, statusBadArgument)
		return
	}
	status := int(uint32(stack[0]))
	if status < 100 || status > 999 {
		ret(stack, statusBadArgument)
		return
	}
	body := append([]byte(nil), wasmhost.Read(m, uint32(stack[3]), uint32(stack[4]))...)
	pairs, ok := readPairs(wasmhost.Read(m, uint32(stack[5]), uint32(stack[6])))
	if !ok {
		ret(stack, statusSerialization)
		return
	}
	hs := map[string]string{}
	for _, p := range pairs {
		if prev, ok := hs[p[0]]; ok {
			hs[p[0]] = prev + ", " + p[1]
		} else {
			hs[p[0]] = p[1]
		}
	}
	c.st.local = &localResponse{status: status, body: body, headers: hs}
	ret(stack, statusOK)
}

// property returns a property's value by its path (segments joined by
// dots); ok is false for an unknown or absent property.
func (c *call) property(path string) ([]byte, bool) {
	str := func(s string) ([]byte, bool) { return []byte(s), true }
	switch path {
	case "plugin_name", "plugin_root_id":
		return str(c.config.filter.module.Name)
	case "plugin_vm_id":
		return str("")
	}
	if key, ok := strings.CutPrefix(path, "wasmx."); ok {
		v, ok := c.hostProps()[key]
		return []byte(v), ok
	}
	if path == "kong.version" || strings.HasPrefix(path, "kong.configuration.") {
		return nodeProperty(path)
	}
	if !c.stream() {
		return nil, false
	}
	k := c.k
	switch path {
	case "request.path":
		p := k.Request().RawPath()
		if q := k.Request().RawQuery(); q != "" {
			p += "?" + q
		}
		return str(p)
	case "request.url_path":
		return str(k.Request().RawPath())
	case "request.query":
		return str(k.Request().RawQuery())
	case "request.method":
		return str(k.Request().Method())
	case "request.host":
		return str(k.Request().Host())
	case "request.scheme":
		return str(k.Request().Scheme())
	case "request.protocol":
		return str(fmt.Sprintf("HTTP/%g", k.Request().HTTPVersion()))
	case "request.headers":
		return WritePairs(c.st.requestHeaders(k).list), true
	case "source.address":
		return str(fmt.Sprintf("%s:%d", k.Client().IP(), k.Client().Port()))
	case "destination.address", "destination.port", "connection.id", "request.id":
		var v string
		var ok bool
		switch path {
		case "destination.address":
			addr, ok1 := k.Request().Var("server_addr")
			port, ok2 := k.Request().Var("server_port")
			v, ok = addr+":"+port, ok1 && ok2
		case "destination.port":
			v, ok = k.Request().Var("server_port")
		case "connection.id":
			v, ok = k.Request().Var("connection")
		default:
			v, ok = k.Request().Var("request_id")
		}
		if !ok {
			return nil, false
		}
		return str(v)
	case "source.port":
		return str(strconv.Itoa(k.Client().Port()))
	case "response.code", "kong.service.response.status":
		if !c.st.response {
			return nil, false
		}
		return str(strconv.Itoa(k.Response().Status()))
	case "kong.client.protocol":
		return str(k.Client().Protocol())
	case "kong.request.port":
		return str(strconv.Itoa(k.Request().Port()))
	case "kong.request.forwarded_host":
		return str(k.Request().ForwardedHost())
	case "kong.request.forwarded_port":
		return str(strconv.Itoa(k.Request().ForwardedPort()))
	case "kong.request.forwarded_scheme":
		return str(k.Request().ForwardedScheme())
	case "kong.response.source":
		return str(k.Response().Source())
	case "kong.node.id":
		return str(k.Node().ID())
	case "kong.route_id", "kong.route_name", "kong.service_id", "kong.service_name":
		var e hostabi.Entity
		if strings.HasPrefix(path, "kong.route") {
			e = k.Router().Route()
		} else {
			e = k.Router().Service()
		}
		field := path[strings.LastIndexByte(path, '_')+1:]
		if s, ok := e[field].(string); ok && s != "" {
			return str(s)
		}
		return nil, false
	case "kong.router.route", "kong.router.service", "kong.client.consumer":
		var e hostabi.Entity
		switch path {
		case "kong.router.route":
			e = k.Router().Route()
		case "kong.router.service":
			e = k.Router().Service()
		default:
			e = k.Client().Consumer()
		}
		if e == nil {
			return nil, false
		}
		b, err := json.Marshal(e)
		return b, err == nil
	case "kong.client.consumer_id", "kong.client.consumer_username":
		e := k.Client().Consumer()
		field := strings.TrimPrefix(path, "kong.client.consumer_")
		if s, ok := e[field].(string); ok && s != "" {
			return str(s)
		}
		return nil, false
	}
	if name, ok := strings.CutPrefix(path, "request.headers."); ok {
		vs := c.st.requestHeaders(k).values(strings.ToLower(name))
		if len(vs) == 0 {
			return nil, false
		}
		return str(strings.Join(vs, ","))
	}
	if name, ok := strings.CutPrefix(path, "response.headers."); ok && c.st.response {
		vs := c.st.responseHeaders(k).values(strings.ToLower(name))
		if len(vs) == 0 {
			return nil, false
		}
		return str(strings.Join(vs, ","))
	}
	if name, ok := strings.CutPrefix(path, "ngx."); ok {
		if v, ok := k.Request().Var(name); ok {
			return str(v)
		}
		if v, ok := c.ngxVar(name); ok {
			return str(v)
		}
		return nil, false
	}
	if key, ok := strings.CutPrefix(path, "kong.ctx.shared."); ok {
		v, ok := k.Ctx().Shared().Get(key)
		if !ok || v == nil {
			return nil, false
		}
		return str(fmt.Sprint(v))
	}
	return c.moreProperty(path)
}

// propertyPath decodes a path: segments separated by NUL (a trailing NUL
// is dropped), joined with dots.
func propertyPath(b []byte) string {
	s := strings.TrimSuffix(string(b), "\x00")
	return strings.ReplaceAll(s, "\x00", ".")
}

func getProperty(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	path := propertyPath(wasmhost.Read(m, uint32(stack[0]), uint32(stack[1])))
	v, ok := c.property(path)
	if !ok {
		ret(stack, statusNotFound)
		return
	}
	give(ctx, m, v, uint32(stack[2]), uint32(stack[3]))
	ret(stack, statusOK)
}

func setProperty(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	path := propertyPath(wasmhost.Read(m, uint32(stack[0]), uint32(stack[1])))
	v := wasmhost.ReadString(m, uint32(stack[2]), uint32(stack[3]))
	if key, ok := strings.CutPrefix(path, "wasmx."); ok && key != "" {
		c.hostProps()[key] = v
		ret(stack, statusOK)
		return
	}
	if !c.stream() {
		ret(stack, statusNotFound)
		return
	}
	if name, ok := strings.CutPrefix(path, "ngx."); ok {
		ret(stack, c.setNgxVar(name, v))
		return
	}
	if key, ok := strings.CutPrefix(path, "kong.ctx.shared."); ok && key != "" {
		c.k.Ctx().Shared().Set(key, v)
		ret(stack, statusOK)
		return
	}
	if path == "kong.response.status" && !c.logging {
		s, err := strconv.Atoi(v)
		if err != nil || s < 100 || s > 999 {
			ret(stack, statusBadArgument)
			return
		}
		c.k.Response().SetStatus(s)
		ret(stack, statusOK)
		return
	}
	if st, ok := c.setMoreProperty(path, v); ok {
		ret(stack, st)
		return
	}
	ret(stack, statusNotFound)
}
