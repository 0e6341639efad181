package httpwasm

import (
	"context"
	"log/slog"
	"sync"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
	"github.com/http-wasm/http-wasm-host-go/api/handler"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Log levels of http-wasm (api.LogLevel).
const (
	logDebug = -1
	logInfo  = 0
	logWarn  = 1
	logError = 2
	logNone  = 3
)

// Define adds the http_handler import module to a runtime (once).
func Define(ctx context.Context, rt *wasmhost.Runtime) error {
	return rt.DefineHostModule(ctx, handler.HostModule, func(b wazero.HostModuleBuilder) wazero.HostModuleBuilder {
		i32, i64 := api.ValueTypeI32, api.ValueTypeI64
		fn := func(name string, f api.GoModuleFunc, params, results []api.ValueType) {
			b = b.NewFunctionBuilder().WithGoModuleFunction(f, params, results).Export(name)
		}
		v := func(ts ...api.ValueType) []api.ValueType { return ts }
		fn(handler.FuncEnableFeatures, enableFeatures, v(i32), v(i32))
		fn(handler.FuncGetConfig, getConfig, v(i32, i32), v(i32))
		fn(handler.FuncLogEnabled, logEnabled, v(i32), v(i32))
		fn(handler.FuncLog, logMessage, v(i32, i32, i32), nil)
		fn(handler.FuncGetMethod, getMethod, v(i32, i32), v(i32))
		fn(handler.FuncSetMethod, setMethod, v(i32, i32), nil)
		fn(handler.FuncGetURI, getURI, v(i32, i32), v(i32))
		fn(handler.FuncSetURI, setURI, v(i32, i32), nil)
		fn(handler.FuncGetProtocolVersion, getProtocolVersion, v(i32, i32), v(i32))
		fn(handler.FuncGetHeaderNames, getHeaderNames, v(i32, i32, i32), v(i64))
		fn(handler.FuncGetHeaderValues, getHeaderValues, v(i32, i32, i32, i32, i32), v(i64))
		fn(handler.FuncSetHeaderValue, headerChanger(opSet), v(i32, i32, i32, i32, i32), nil)
		fn(handler.FuncAddHeaderValue, headerChanger(opAdd), v(i32, i32, i32, i32, i32), nil)
		fn(handler.FuncRemoveHeader, headerChanger(opRemove), v(i32, i32, i32), nil)
		fn(handler.FuncReadBody, readBody, v(i32, i32, i32), v(i64))
		fn(handler.FuncWriteBody, writeBody, v(i32, i32, i32), nil)
		fn(handler.FuncGetStatusCode, getStatusCode, nil, v(i32))
		fn(handler.FuncSetStatusCode, setStatusCode, v(i32), nil)
		fn(handler.FuncGetSourceAddr, getSourceAddr, v(i32, i32), v(i32))
		return b
	})
}

// current returns the running call; it traps outside one.
func current(ctx context.Context) *call {
	c, _ := wasmhost.State(ctx).(*call)
	if c == nil {
		wasmhost.Trapf("the http_handler imports are not available here")
	}
	return c
}

// starting holds the features a reactor guest (a Go wasip1 c-shared
// module) enables in _initialize, which the runtime runs before the
// flavour knows the instance: by the instance's memory, until setup
// takes them.
var starting sync.Map // api.Memory -> handler.Features

// takeStarting returns and forgets the features an instance enabled in
// _initialize.
func takeStarting(mem api.Memory) handler.Features {
	if mem == nil {
		return 0
	}
	v, ok := starting.LoadAndDelete(mem)
	if !ok {
		return 0
	}
	return v.(handler.Features)
}

// request returns the call's request state; it traps while the guest
// starts (no request yet).
func (c *call) request(fn string) (hostabi.Kong, *request) {
	if c.k == nil || c.rs == nil {
		wasmhost.Trapf("%s: no request (called while the guest starts)", fn)
	}
	return c.k, c.rs
}

func enableFeatures(ctx context.Context, m api.Module, stack []uint64) {
	want := handler.Features(uint32(stack[0]))
	c, _ := wasmhost.State(ctx).(*call)
	if c == nil { // in _initialize
		prev, _ := starting.Load(m.Memory())
		f, _ := prev.(handler.Features)
		f |= want & (handler.FeatureBufferRequest | handler.FeatureBufferResponse)
		starting.Store(m.Memory(), f)
		stack[0] = uint64(f)
		return
	}
	if c.rs != nil {
		c.rs.features |= want & c.plugin.supported()
		stack[0] = uint64(c.rs.features)
		return
	}
	// while starting: the features decide the plugin's phases (Load)
	supported := handler.FeatureBufferRequest | handler.FeatureBufferResponse
	if c.plugin.def.Name != "" { // loaded: the phases are fixed
		supported = c.plugin.supported()
	}
	c.guest.features |= want & supported
	stack[0] = uint64(c.guest.features)
}

func getConfig(ctx context.Context, m api.Module, stack []uint64) {
	var config []byte
	if c, _ := wasmhost.State(ctx).(*call); c != nil {
		config = c.config
	} // in _initialize the configuration is not known yet: none
	stack[0] = uint64(uint32(wasmhost.Out(m, uint32(stack[0]), uint32(stack[1]), config)))
}

func slogLevel(level int32) (slog.Level, bool) {
	switch level {
	case logDebug:
		return slog.LevelDebug, true
	case logInfo:
		return slog.LevelInfo, true
	case logWarn:
		return slog.LevelWarn, true
	case logError:
		return slog.LevelError, true
	}
	return 0, false
}

func logEnabled(ctx context.Context, _ api.Module, stack []uint64) {
	lv, ok := slogLevel(int32(stack[0]))
	if ok && logger(ctx).Enabled(ctx, lv) {
		stack[0] = 1
		return
	}
	stack[0] = 0
}

// logger is the runtime's logger, or slog's default in _initialize.
func logger(ctx context.Context) *slog.Logger {
	if c, _ := wasmhost.State(ctx).(*call); c != nil {
		return c.plugin.module.Runtime().Logger()
	}
	return slog.Default()
}

func logMessage(ctx context.Context, m api.Module, stack []uint64) {
	c, _ := wasmhost.State(ctx).(*call)
	level := int32(stack[0])
	msg := wasmhost.ReadString(m, uint32(stack[1]), uint32(stack[2]))
	lv, ok := slogLevel(level)
	if !ok {
		return // none, or unknown
	}
	if c == nil { // in _initialize
		slog.Default().Log(ctx, lv, msg, "wasm", "http-wasm")
		return
	}
	if c.k != nil {
		l := c.k.Log()
		switch level {
		case logDebug:
			l.Debug(msg)
		case logInfo:
			l.Info(msg)
		case logWarn:
			l.Warn(msg)
		default:
			l.Err(msg)
		}
		return
	}
	c.plugin.module.Runtime().Logger().Log(ctx, lv, msg, "plugin", c.plugin.module.Name)
}

func getMethod(ctx context.Context, m api.Module, stack []uint64) {
	k, rs := current(ctx).request(handler.FuncGetMethod)
	stack[0] = uint64(uint32(wasmhost.OutString(m, uint32(stack[0]), uint32(stack[1]), rs.getMethod(k))))
}

func setMethod(ctx context.Context, m api.Module, stack []uint64) {
	k, rs := current(ctx).request(handler.FuncSetMethod)
	rs.setMethod(k, wasmhost.ReadString(m, uint32(stack[0]), uint32(stack[1])))
}

func getURI(ctx context.Context, m api.Module, stack []uint64) {
	k, rs := current(ctx).request(handler.FuncGetURI)
	stack[0] = uint64(uint32(wasmhost.OutString(m, uint32(stack[0]), uint32(stack[1]), rs.getURI(k))))
}

func setURI(ctx context.Context, m api.Module, stack []uint64) {
	k, rs := current(ctx).request(handler.FuncSetURI)
	rs.setURI(k, wasmhost.ReadString(m, uint32(stack[0]), uint32(stack[1])))
}

func getProtocolVersion(ctx context.Context, m api.Module, stack []uint64) {
	k, _ := current(ctx).request(handler.FuncGetProtocolVersion)
	stack[0] = uint64(uint32(wasmhost.OutString(m, uint32(stack[0]), uint32(stack[1]), protocolVersion(k))))
}

func getSourceAddr(ctx context.Context, m api.Module, stack []uint64) {
	k, _ := current(ctx).request(handler.FuncGetSourceAddr)
	stack[0] = uint64(uint32(wasmhost.OutString(m, uint32(stack[0]), uint32(stack[1]), sourceAddr(k))))
}

// writeNULTerminated writes strings, each followed by NUL, when they fit
// in limit, and returns count<<32 | length.
func writeNULTerminated(m api.Module, buf, limit uint32, ss []string) uint64 {
	if len(ss) == 0 {
		return 0
	}
	n := uint64(len(ss))
	for _, s := range ss {
		n += uint64(len(s))
	}
	if n > 0xffffffff {
		wasmhost.Trapf("header list of %d bytes is too large", n)
	}
	if n <= uint64(limit) {
		// written in place: a view of the guest's buffer, no copy between
		out, ok := m.Memory().Read(buf, uint32(n))
		if !ok {
			wasmhost.Trapf("pointer out of memory: buffer [%d, %d) is outside the guest's %d bytes", buf, uint64(buf)+n, m.Memory().Size())
		}
		i := 0
		for _, s := range ss {
			i += copy(out[i:], s)
			out[i] = 0
			i++
		}
	}
	return uint64(len(ss))<<32 | n
}

func getHeaderNames(ctx context.Context, m api.Module, stack []uint64) {
	k, rs := current(ctx).request(handler.FuncGetHeaderNames)
	names := rs.headerNames(k, handler.HeaderKind(uint32(stack[0])))
	stack[0] = writeNULTerminated(m, uint32(stack[1]), uint32(stack[2]), names)
}

func getHeaderValues(ctx context.Context, m api.Module, stack []uint64) {
	k, rs := current(ctx).request(handler.FuncGetHeaderValues)
	kind := handler.HeaderKind(uint32(stack[0]))
	if uint32(stack[2]) == 0 {
		wasmhost.Trapf("HTTP header name cannot be empty")
	}
	name := wasmhost.ViewString(m, uint32(stack[1]), uint32(stack[2])) // a lookup: nothing keeps it
	stack[0] = writeNULTerminated(m, uint32(stack[3]), uint32(stack[4]), rs.headerValues(k, kind, name))
}

func headerChanger(op headerOp) api.GoModuleFunc {
	fn := map[headerOp]string{opSet: handler.FuncSetHeaderValue, opAdd: handler.FuncAddHeaderValue, opRemove: handler.FuncRemoveHeader}[op]
	return func(ctx context.Context, m api.Module, stack []uint64) {
		c := current(ctx)
		k, rs := c.request(fn)
		kind := handler.HeaderKind(uint32(stack[0]))
		if uint32(stack[2]) == 0 {
			wasmhost.Trapf("HTTP header name cannot be empty")
		}
		var name string
		if c.in != nil {
			name = c.in.Name(uint32(stack[1]), uint32(stack[2])) // interned: a guest sets the same names on every request
		} else {
			name = wasmhost.ReadString(m, uint32(stack[1]), uint32(stack[2]))
		}
		var value string
		if op != opRemove {
			value = wasmhost.ReadString(m, uint32(stack[3]), uint32(stack[4]))
		}
		rs.changeHeader(k, kind, op, name, value)
	}
}

func readBody(ctx context.Context, m api.Module, stack []uint64) {
	k, rs := current(ctx).request(handler.FuncReadBody)
	kind := handler.BodyKind(uint32(stack[0]))
	buf, limit := uint32(stack[1]), uint32(stack[2])
	if limit == 0 {
		wasmhost.Trapf("buf_limit==0 reading body")
	}
	if uint64(buf)+uint64(limit) > uint64(m.Memory().Size()) {
		wasmhost.Trapf("pointer out of memory: buffer [%d, %d) is outside the guest's %d bytes", buf, uint64(buf)+uint64(limit), m.Memory().Size())
	}
	b, eof := rs.readBody(k, kind, limit)
	if len(b) > 0 {
		m.Memory().Write(buf, b)
	}
	out := uint64(len(b))
	if eof {
		out |= 1 << 32
	}
	stack[0] = out
}

func writeBody(ctx context.Context, m api.Module, stack []uint64) {
	_, rs := current(ctx).request(handler.FuncWriteBody)
	kind := handler.BodyKind(uint32(stack[0]))
	b := wasmhost.Read(m, uint32(stack[1]), uint32(stack[2]))
	rs.writeBody(kind, b)
}

func getStatusCode(ctx context.Context, _ api.Module, stack []uint64) {
	k, rs := current(ctx).request(handler.FuncGetStatusCode)
	stack[0] = uint64(rs.getStatus(k))
}

func setStatusCode(ctx context.Context, _ api.Module, stack []uint64) {
	k, rs := current(ctx).request(handler.FuncSetStatusCode)
	rs.setStatus(k, uint32(stack[0]))
}
