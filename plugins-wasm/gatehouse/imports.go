package gatehouse

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// guest is the per-instance state: the held result of the last call,
// and the call state its phase calls reuse.
type guest struct {
	result    []byte
	hasResult bool
	cl        call
}

// call is the state of one export call, which the host functions find
// with wasmhost.State.
type call struct {
	plugin *Plugin
	guest  *guest
	pool   *wasmhost.Pool
	// inst is the instance running the call (timers go back to it).
	inst   *wasmhost.Instance
	export string
	// k and phase are the request's, in a request phase; nil in describe,
	// configure and timer.
	k     hostabi.Kong
	phase hostabi.Phase
	// config is the configuration JSON (configure; kept for timers).
	config []byte
	// describe is set_result's output.
	describe []byte
	failMsg  string
	// body_filter's chunk and its replacement.
	chunk    []byte
	newChunk []byte
	chunkSet bool
	// loads are the cache keys this call was made the loader of.
	loads map[string]bool
	// timer is set in a timer export: the outbound client and the
	// context of the timer.
	timer *timerEnv
}

// timerEnv is what a timer export may use.
type timerEnv struct {
	ctx   context.Context
	http  hostabi.HTTP
	cache hostabi.Cache
}

func current(ctx context.Context) *call {
	c, _ := wasmhost.State(ctx).(*call)
	if c == nil {
		wasmhost.Trapf("the gatehouse imports are not available outside describe, configure, a phase or a timer")
	}
	return c
}

// kong returns the request's Kong after the phase check of op; it traps
// outside a request phase.
// name reads a header name the guest writes, interned per instance
// (wasmhost.Instance.Name) when the call runs on one.
func (c *call) name(m api.Module, ptr, n uint32) string {
	if c.inst != nil {
		return c.inst.Name(ptr, n)
	}
	return wasmhost.ReadString(m, ptr, n)
}

func (c *call) kong(op hostabi.Op) hostabi.Kong {
	if c.k == nil {
		wasmhost.Trapf("%s is not available in %s", op, c.export)
	}
	hostabi.Check(op, c.phase)
	return c.k
}

// abandonLoads abandons the cache loads the guest was given and did not
// fill or abandon, so that waiters never hang on a failed guest.
func (c *call) abandonLoads(k hostabi.Kong) {
	for key := range c.loads {
		k.Cache().Abandon(key, fmt.Errorf("wasm plugin %s did not fill %q", c.plugin.module.Name, key))
	}
	c.loads = nil
}

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

func u32(v uint64) uint32 { return uint32(v) }

var defineMu sync.Mutex

// Define instantiates the gatehouse import module in rt (once).
func Define(ctx context.Context, rt *wasmhost.Runtime) error {
	defineMu.Lock()
	defer defineMu.Unlock()
	return rt.DefineHostModule(ctx, hostabi.WasmImportModule, func(b wazero.HostModuleBuilder) wazero.HostModuleBuilder {
		fn := func(name string, f api.GoModuleFunc, params, results []api.ValueType) {
			b = b.NewFunctionBuilder().WithGoModuleFunction(f, params, results).Export(name)
		}
		p := func(ts ...api.ValueType) []api.ValueType { return ts }
		// Fast paths.
		fn(hostabi.WasmImportRequestGetHeader, requestGetHeader, p(i32, i32, i32, i32), p(i64))
		fn(hostabi.WasmImportRequestGetMethod, requestGetMethod, p(i32, i32), p(i64))
		fn(hostabi.WasmImportRequestGetPath, requestGetPath, p(i32, i32), p(i64))
		fn(hostabi.WasmImportRequestGetRawBody, requestGetRawBody, p(i32, i32), p(i64))
		fn(hostabi.WasmImportServiceRequestSetHeader, serviceRequestSetHeader, p(i32, i32, i32, i32), nil)
		fn(hostabi.WasmImportServiceRequestAddHeader, serviceRequestAddHeader, p(i32, i32, i32, i32), nil)
		fn(hostabi.WasmImportServiceRequestClearHeader, serviceRequestClearHeader, p(i32, i32), nil)
		fn(hostabi.WasmImportServiceRequestSetRawBody, serviceRequestSetRawBody, p(i32, i32), nil)
		fn(hostabi.WasmImportResponseGetStatus, responseGetStatus, nil, p(i32))
		fn(hostabi.WasmImportResponseSetStatus, responseSetStatus, p(i32), nil)
		fn(hostabi.WasmImportResponseGetHeader, responseGetHeader, p(i32, i32, i32, i32), p(i64))
		fn(hostabi.WasmImportResponseSetHeader, responseSetHeader, p(i32, i32, i32, i32), nil)
		fn(hostabi.WasmImportResponseAddHeader, responseAddHeader, p(i32, i32, i32, i32), nil)
		fn(hostabi.WasmImportResponseClearHeader, responseClearHeader, p(i32, i32), nil)
		fn(hostabi.WasmImportResponseGetRawBody, responseGetRawBody, p(i32, i32), p(i64))
		fn(hostabi.WasmImportResponseSetRawBody, responseSetRawBody, p(i32, i32), nil)
		fn(hostabi.WasmImportResponseExit, responseExit, p(i32, i32, i32, i32, i32), nil)
		fn(hostabi.WasmImportCtxSharedGet, ctxGet(true), p(i32, i32, i32, i32), p(i64))
		fn(hostabi.WasmImportCtxSharedSet, ctxSet(true), p(i32, i32, i32, i32), nil)
		fn(hostabi.WasmImportCtxPluginGet, ctxGet(false), p(i32, i32, i32, i32), p(i64))
		fn(hostabi.WasmImportCtxPluginSet, ctxSet(false), p(i32, i32, i32, i32), nil)
		fn(hostabi.WasmImportCacheGet, cacheGet, p(i32, i32, i32, i32), p(i64))
		fn(hostabi.WasmImportCacheSet, cacheSet, p(i32, i32, i32, i32, i64), nil)
		fn(hostabi.WasmImportLog, logMsg, p(i32, i32, i32), nil)
		// Plumbing.
		fn(hostabi.WasmImportFail, fail, p(i32, i32), nil)
		fn(hostabi.WasmImportSetResult, setResult, p(i32, i32), nil)
		fn(hostabi.WasmImportGetConfig, getConfig, p(i32, i32), p(i64))
		fn(hostabi.WasmImportBodyChunk, bodyChunk, p(i32, i32), p(i64))
		fn(hostabi.WasmImportSetBodyChunk, setBodyChunk, p(i32, i32), nil)
		fn(hostabi.WasmImportResult, result, p(i32, i32), p(i64))
		fn(hostabi.WasmImportCall, genericCall, p(i32, i32, i32, i32, i32, i32), p(i64))
		return b
	})
}

func requestGetHeader(ctx context.Context, m api.Module, s []uint64) {
	k := current(ctx).kong(hostabi.OpRequestHeader)
	name := wasmhost.ViewString(m, u32(s[0]), u32(s[1]))
	vals := k.Request().HeaderValues(name)
	if len(vals) == 0 {
		wasmhost.OutString(m, u32(s[2]), u32(s[3]), "") // bounds check all the same
		s[0] = absent
		return
	}
	s[0] = uint64(wasmhost.OutString(m, u32(s[2]), u32(s[3]), vals[0]))
}

func requestGetMethod(ctx context.Context, m api.Module, s []uint64) {
	k := current(ctx).kong(hostabi.OpRequestMethod)
	s[0] = uint64(wasmhost.OutString(m, u32(s[0]), u32(s[1]), k.Request().Method()))
}

func requestGetPath(ctx context.Context, m api.Module, s []uint64) {
	k := current(ctx).kong(hostabi.OpRequestPath)
	s[0] = uint64(wasmhost.OutString(m, u32(s[0]), u32(s[1]), k.Request().Path()))
}

func requestGetRawBody(ctx context.Context, m api.Module, s []uint64) {
	k := current(ctx).kong(hostabi.OpRequestRawBody)
	b, err := k.Request().RawBody()
	if err != nil {
		wasmhost.Trapf("kong.request.get_raw_body: %w", err)
	}
	s[0] = uint64(wasmhost.Out(m, u32(s[0]), u32(s[1]), b))
}

func serviceRequestSetHeader(ctx context.Context, m api.Module, s []uint64) {
	c := current(ctx)
	k := c.kong(hostabi.OpServiceRequestSetHeader)
	k.ServiceRequest().SetHeader(c.name(m, u32(s[0]), u32(s[1])), wasmhost.ReadString(m, u32(s[2]), u32(s[3])))
}

func serviceRequestAddHeader(ctx context.Context, m api.Module, s []uint64) {
	c := current(ctx)
	k := c.kong(hostabi.OpServiceRequestAddHeader)
	k.ServiceRequest().AddHeader(c.name(m, u32(s[0]), u32(s[1])), wasmhost.ReadString(m, u32(s[2]), u32(s[3])))
}

func serviceRequestClearHeader(ctx context.Context, m api.Module, s []uint64) {
	k := current(ctx).kong(hostabi.OpServiceRequestClearHeader)
	k.ServiceRequest().ClearHeader(wasmhost.ReadString(m, u32(s[0]), u32(s[1])))
}

func serviceRequestSetRawBody(ctx context.Context, m api.Module, s []uint64) {
	k := current(ctx).kong(hostabi.OpServiceRequestSetRawBody)
	k.ServiceRequest().SetRawBody(append([]byte(nil), wasmhost.Read(m, u32(s[0]), u32(s[1]))...))
}

func responseGetStatus(ctx context.Context, m api.Module, s []uint64) {
	k := current(ctx).kong(hostabi.OpResponseStatus)
	s[0] = uint64(uint32(int32(k.Response().Status())))
}

func responseSetStatus(ctx context.Context, m api.Module, s []uint64) {
	k := current(ctx).kong(hostabi.OpResponseSetStatus)
	k.Response().SetStatus(int(int32(u32(s[0]))))
}

func responseGetHeader(ctx context.Context, m api.Module, s []uint64) {
	k := current(ctx).kong(hostabi.OpResponseHeader)
	name := wasmhost.ReadString(m, u32(s[0]), u32(s[1]))
	v := k.Response().Header(name)
	if v == "" {
		if _, ok := k.Response().Headers()[lower(name)]; !ok {
			wasmhost.OutString(m, u32(s[2]), u32(s[3]), "")
			s[0] = absent
			return
		}
	}
	s[0] = uint64(wasmhost.OutString(m, u32(s[2]), u32(s[3]), v))
}

func responseSetHeader(ctx context.Context, m api.Module, s []uint64) {
	c := current(ctx)
	k := c.kong(hostabi.OpResponseSetHeader)
	k.Response().SetHeader(c.name(m, u32(s[0]), u32(s[1])), wasmhost.ReadString(m, u32(s[2]), u32(s[3])))
}

func responseAddHeader(ctx context.Context, m api.Module, s []uint64) {
	c := current(ctx)
	k := c.kong(hostabi.OpResponseAddHeader)
	k.Response().AddHeader(c.name(m, u32(s[0]), u32(s[1])), wasmhost.ReadString(m, u32(s[2]), u32(s[3])))
}

func responseClearHeader(ctx context.Context, m api.Module, s []uint64) {
	k := current(ctx).kong(hostabi.OpResponseClearHeader)
	k.Response().ClearHeader(wasmhost.ReadString(m, u32(s[0]), u32(s[1])))
}

func responseGetRawBody(ctx context.Context, m api.Module, s []uint64) {
	k := current(ctx).kong(hostabi.OpResponseRawBody)
	s[0] = uint64(wasmhost.Out(m, u32(s[0]), u32(s[1]), k.Response().RawBody()))
}

func responseSetRawBody(ctx context.Context, m api.Module, s []uint64) {
	k := current(ctx).kong(hostabi.OpResponseSetRawBody)
	k.Response().SetRawBody(append([]byte(nil), wasmhost.Read(m, u32(s[0]), u32(s[1]))...))
}

func responseExit(ctx context.Context, m api.Module, s []uint64) {
	k := current(ctx).kong(hostabi.OpResponseExit)
	status := int(int32(u32(s[0])))
	body := append([]byte(nil), wasmhost.Read(m, u32(s[1]), u32(s[2]))...)
	var headers map[string]string
	if hb := wasmhost.Read(m, u32(s[3]), u32(s[4])); len(hb) > 0 {
		if err := json.Unmarshal(hb, &headers); err != nil {
			wasmhost.Trapf("response_exit: headers: %w", err)
		}
	}
	k.Response().Exit(status, body, headers)
}

func values(k hostabi.Kong, shared bool) hostabi.Values {
	if shared {
		return k.Ctx().Shared()
	}
	return k.Ctx().Plugin()
}

func ctxGet(shared bool) api.GoModuleFunc {
	op := hostabi.OpCtxPluginGet
	if shared {
		op = hostabi.OpCtxSharedGet
	}
	return func(ctx context.Context, m api.Module, s []uint64) {
		k := current(ctx).kong(op)
		key := wasmhost.ReadString(m, u32(s[0]), u32(s[1]))
		if !shared && wasmhost.ReservedKey(key) {
			wasmhost.Trapf("kong.ctx.plugin: the key %q is reserved", key)
		}
		v, ok := values(k, shared).Get(key)
		if !ok {
			wasmhost.Out(m, u32(s[2]), u32(s[3]), nil)
			s[0] = absent
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			wasmhost.Trapf("%s %q: the value is not JSON: %w", op, key, err)
		}
		s[0] = uint64(wasmhost.Out(m, u32(s[2]), u32(s[3]), b))
	}
}

func ctxSet(shared bool) api.GoModuleFunc {
	op, del := hostabi.OpCtxPluginSet, hostabi.OpCtxPluginDelete
	if shared {
		op, del = hostabi.OpCtxSharedSet, hostabi.OpCtxSharedDelete
	}
	return func(ctx context.Context, m api.Module, s []uint64) {
		c := current(ctx)
		key := wasmhost.ReadString(m, u32(s[0]), u32(s[1]))
		if !shared && wasmhost.ReservedKey(key) {
			wasmhost.Trapf("kong.ctx.plugin: the key %q is reserved", key)
		}
		raw := wasmhost.Read(m, u32(s[2]), u32(s[3]))
		if len(raw) == 0 {
			values(c.kong(del), shared).Delete(key)
			return
		}
		k := c.kong(op)
		v := decodeJSON(raw, op.String())
		values(k, shared).Set(key, v)
	}
}

// decodeJSON decodes a guest's JSON value (numbers as float64, as Lua's
// and Kong's JSON decoders give them), trapping on malformed JSON.
func decodeJSON(raw []byte, what string) any {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		wasmhost.Trapf("%s: malformed JSON: %w", what, err)
	}
	return v
}

// cache returns the cache for op: the request's, or a timer's.
func (c *call) cache(op hostabi.Op) hostabi.Cache {
	if c.timer != nil {
		return c.timer.cache
	}
	return c.kong(op).Cache()
}

func cacheGet(ctx context.Context, m api.Module, s []uint64) {
	c := current(ctx)
	cache := c.cache(hostabi.OpCacheGet)
	key := wasmhost.ReadString(m, u32(s[0]), u32(s[1]))
	v, ok := cache.Get(key)
	if !ok {
		wasmhost.Out(m, u32(s[2]), u32(s[3]), nil)
		s[0] = absent
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		wasmhost.Trapf("kong.cache.get %q: the value is not JSON: %w", key, err)
	}
	s[0] = uint64(wasmhost.Out(m, u32(s[2]), u32(s[3]), b))
}

func cacheSet(ctx context.Context, m api.Module, s []uint64) {
	c := current(ctx)
	cache := c.cache(hostabi.OpCacheSet)
	key := wasmhost.ReadString(m, u32(s[0]), u32(s[1]))
	v := decodeJSON(wasmhost.Read(m, u32(s[2]), u32(s[3])), "kong.cache.set")
	cache.Set(key, v, time.Duration(int64(s[4]))*time.Millisecond)
}

func logMsg(ctx context.Context, m api.Module, s []uint64) {
	c := current(ctx)
	level := hostabi.WasmLogLevel(int32(u32(s[0])))
	msg := wasmhost.ReadString(m, u32(s[1]), u32(s[2]))
	if level.String() == "" {
		wasmhost.Trapf("log: level %d out of range (0 debug .. 5 crit)", int32(level))
	}
	c.log(level, msg)
}

// log writes a guest's log line: through kong.log in a phase, to the
// runtime's logger with the plugin's name elsewhere.
func (c *call) log(level hostabi.WasmLogLevel, msg string, kv ...any) {
	if c.k == nil {
		lg := c.plugin.module.Runtime().Logger()
		kv = append([]any{"plugin", c.plugin.module.Name}, kv...)
		switch level {
		case hostabi.WasmLogDebug:
			lg.Debug(msg, kv...)
		case hostabi.WasmLogInfo, hostabi.WasmLogNotice:
			lg.Info(msg, kv...)
		case hostabi.WasmLogWarn:
			lg.Warn(msg, kv...)
		default:
			lg.Error(msg, kv...)
		}
		return
	}
	l := c.kong(hostabi.OpLog).Log()
	switch level {
	case hostabi.WasmLogDebug:
		l.Debug(msg, kv...)
	case hostabi.WasmLogInfo:
		l.Info(msg, kv...)
	case hostabi.WasmLogNotice:
		l.Notice(msg, kv...)
	case hostabi.WasmLogWarn:
		l.Warn(msg, kv...)
	case hostabi.WasmLogErr:
		l.Err(msg, kv...)
	default:
		l.Crit(msg, kv...)
	}
}

func fail(ctx context.Context, m api.Module, s []uint64) {
	c := current(ctx)
	c.failMsg = wasmhost.ReadString(m, u32(s[0]), u32(s[1]))
}

func setResult(ctx context.Context, m api.Module, s []uint64) {
	c := current(ctx)
	if c.export != hostabi.WasmExportDescribe {
		wasmhost.Trapf("set_result is only available in describe (called in %s)", c.export)
	}
	c.describe = append([]byte(nil), wasmhost.Read(m, u32(s[0]), u32(s[1]))...)
}

func getConfig(ctx context.Context, m api.Module, s []uint64) {
	c := current(ctx)
	if c.config == nil {
		wasmhost.Trapf("get_config is not available in %s", c.export)
	}
	s[0] = uint64(wasmhost.Out(m, u32(s[0]), u32(s[1]), c.config))
}

func bodyChunk(ctx context.Context, m api.Module, s []uint64) {
	c := current(ctx)
	if c.export != hostabi.WasmExportBodyFilter {
		wasmhost.Trapf("body_chunk is only available in body_filter (called in %s)", c.export)
	}
	v := c.chunk
	if c.chunkSet {
		v = c.newChunk
	}
	s[0] = uint64(wasmhost.Out(m, u32(s[0]), u32(s[1]), v))
}

func setBodyChunk(ctx context.Context, m api.Module, s []uint64) {
	c := current(ctx)
	if c.export != hostabi.WasmExportBodyFilter {
		wasmhost.Trapf("set_body_chunk is only available in body_filter (called in %s)", c.export)
	}
	c.newChunk = append([]byte{}, wasmhost.Read(m, u32(s[0]), u32(s[1]))...)
	c.chunkSet = true
}

func result(ctx context.Context, m api.Module, s []uint64) {
	c := current(ctx)
	if !c.guest.hasResult {
		wasmhost.Out(m, u32(s[0]), u32(s[1]), nil)
		s[0] = absent
		return
	}
	s[0] = uint64(wasmhost.Out(m, u32(s[0]), u32(s[1]), c.guest.result))
}

func genericCall(ctx context.Context, m api.Module, s []uint64) {
	c := current(ctx)
	name := wasmhost.ReadString(m, u32(s[0]), u32(s[1]))
	args := wasmhost.Read(m, u32(s[2]), u32(s[3]))
	out := c.dispatch(name, args)
	c.guest.result, c.guest.hasResult = out, true
	s[0] = uint64(wasmhost.Out(m, u32(s[4]), u32(s[5]), out))
}

func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// absent is hostabi.WasmAbsent as the i64 result's bits.
const absent = ^uint64(0)
