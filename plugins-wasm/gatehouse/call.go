package gatehouse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
)

// opsByName maps PDK names to operations (every row of the phase table).
var opsByName = func() map[string]hostabi.Op {
	m := map[string]hostabi.Op{}
	for _, o := range hostabi.Operations() {
		m[o.Name] = o.Op
	}
	return m
}()

// args is a call's decoded argument array.
type args struct {
	op   hostabi.Op
	list []json.RawMessage
}

func (a args) n() int { return len(a.list) }

func (a args) want(min, max int) {
	if len(a.list) < min || len(a.list) > max {
		if min == max {
			wasmhost.Trapf("%s: want %d arguments, got %d", a.op, min, len(a.list))
		}
		wasmhost.Trapf("%s: want %d to %d arguments, got %d", a.op, min, max, len(a.list))
	}
}

func (a args) decode(i int, v any, what string) {
	if i >= len(a.list) {
		wasmhost.Trapf("%s: argument %d (%s) missing", a.op, i+1, what)
	}
	if err := json.Unmarshal(a.list[i], v); err != nil {
		wasmhost.Trapf("%s: argument %d (%s): %w", a.op, i+1, what, err)
	}
}

func (a args) str(i int, what string) string {
	var s string
	a.decode(i, &s, what+", a string")
	return s
}

func (a args) integer(i int, what string) int {
	var f float64
	a.decode(i, &f, what+", a number")
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		wasmhost.Trapf("%s: argument %d (%s): not an integer", a.op, i+1, what)
	}
	return int(f)
}

func (a args) number(i int, what string) float64 {
	var f float64
	a.decode(i, &f, what+", a number")
	return f
}

func (a args) boolean(i int, what string) bool {
	var b bool
	a.decode(i, &b, what+", a boolean")
	return b
}

func (a args) value(i int) any {
	if i >= len(a.list) {
		wasmhost.Trapf("%s: argument %d missing", a.op, i+1)
	}
	return decodeJSON(a.list[i], a.op.String())
}

func (a args) object(i int, what string) map[string]any {
	var m map[string]any
	a.decode(i, &m, what+", an object")
	return m
}

func (a args) multi(i int, what string) map[string][]string {
	var m map[string][]string
	a.decode(i, &m, what+", an object of string arrays")
	return m
}

func (a args) strmap(i int, what string) map[string]string {
	if i >= len(a.list) {
		return nil
	}
	var m map[string]string
	a.decode(i, &m, what+", an object of strings")
	return m
}

func seconds(f float64) time.Duration {
	if f <= 0 || math.IsNaN(f) {
		return 0
	}
	if f > 1e9 {
		f = 1e9
	}
	return time.Duration(f * float64(time.Second))
}

// errResult renders a Go error as the call's error object.
func errResult(err error) []byte {
	e := hostabi.WasmCallError{Error: hostabi.WasmError{Message: err.Error()}}
	var dbe *hostabi.DBError
	if errors.As(err, &dbe) {
		e.Error.Code, e.Error.Name, e.Error.Fields = dbe.Code, dbe.Name, dbe.Fields
		if dbe.Message != "" {
			e.Error.Message = dbe.Message
		}
	}
	b, _ := json.Marshal(e)
	return b
}

// results renders the non-error results of an operation.
func results(op hostabi.Op, vs ...any) []byte {
	b, err := json.Marshal(vs)
	if err != nil {
		wasmhost.Trapf("%s: the result is not JSON: %w", op, err)
	}
	return b
}

var empty = []byte("[]")

// dispatch runs one operation of the generic call.
func (c *call) dispatch(name string, raw []byte) []byte {
	op, ok := opsByName[name]
	if !ok {
		wasmhost.Trapf("call: unknown operation %q", name)
	}
	a := args{op: op}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &a.list); err != nil {
			wasmhost.Trapf("call %s: arguments: malformed JSON array: %w", name, err)
		}
	}
	if c.timer != nil {
		return c.timerOp(a)
	}
	if op == hostabi.OpLog { // kong.log does its own check through c.log
		a.wantMin(2)
		level, ok := hostabi.WasmLogLevelByName(a.str(0, "level"))
		if !ok {
			wasmhost.Trapf("kong.log: unknown level %s", a.list[0])
		}
		kv := make([]any, 0, a.n()-2)
		for i := 2; i < a.n(); i++ {
			kv = append(kv, a.value(i))
		}
		c.kong(op)
		c.log(level, a.str(1, "message"), kv...)
		return empty
	}
	k := c.kong(op)
	ctx := k.Context()
	switch op {
	case hostabi.OpRequestScheme:
		return results(op, k.Request().Scheme())
	case hostabi.OpRequestHost:
		return results(op, k.Request().Host())
	case hostabi.OpRequestPort:
		return results(op, k.Request().Port())
	case hostabi.OpRequestForwardedScheme:
		return results(op, k.Request().ForwardedScheme())
	case hostabi.OpRequestForwardedHost:
		return results(op, k.Request().ForwardedHost())
	case hostabi.OpRequestForwardedPort:
		return results(op, k.Request().ForwardedPort())
	case hostabi.OpRequestHTTPVersion:
		return results(op, k.Request().HTTPVersion())
	case hostabi.OpRequestMethod:
		return results(op, k.Request().Method())
	case hostabi.OpRequestPath:
		return results(op, k.Request().Path())
	case hostabi.OpRequestRawPath:
		return results(op, k.Request().RawPath())
	case hostabi.OpRequestRawQuery:
		return results(op, k.Request().RawQuery())
	case hostabi.OpRequestQueryArg:
		a.want(1, 1)
		v, ok := k.Request().QueryArg(a.str(0, "name"))
		return results(op, v, ok)
	case hostabi.OpRequestQuery:
		return results(op, k.Request().Query())
	case hostabi.OpRequestHeader:
		a.want(1, 1)
		return results(op, k.Request().Header(a.str(0, "name")))
	case hostabi.OpRequestHeaderValues:
		a.want(1, 1)
		return results(op, k.Request().HeaderValues(a.str(0, "name")))
	case hostabi.OpRequestHeaders:
		return results(op, k.Request().Headers())
	case hostabi.OpRequestRawBody:
		b, err := k.Request().RawBody()
		if err != nil {
			return errResult(err)
		}
		return results(op, string(b))
	case hostabi.OpRequestBody:
		v, mime, err := k.Request().Body()
		if err != nil {
			return errResult(err)
		}
		return results(op, v, mime)
	case hostabi.OpRequestVar:
		a.want(1, 1)
		v, ok := k.Request().Var(a.str(0, "name"))
		return results(op, v, ok)

	case hostabi.OpServiceRequestSetScheme:
		a.want(1, 1)
		k.ServiceRequest().SetScheme(a.str(0, "scheme"))
	case hostabi.OpServiceRequestSetPath:
		a.want(1, 1)
		k.ServiceRequest().SetPath(a.str(0, "path"))
	case hostabi.OpServiceRequestSetRawQuery:
		a.want(1, 1)
		k.ServiceRequest().SetRawQuery(a.str(0, "query"))
	case hostabi.OpServiceRequestSetQuery:
		a.want(1, 1)
		k.ServiceRequest().SetQuery(a.multi(0, "args"))
	case hostabi.OpServiceRequestSetMethod:
		a.want(1, 1)
		k.ServiceRequest().SetMethod(a.str(0, "method"))
	case hostabi.OpServiceRequestSetHeader:
		a.want(2, 2)
		k.ServiceRequest().SetHeader(a.str(0, "name"), a.str(1, "value"))
	case hostabi.OpServiceRequestAddHeader:
		a.want(2, 2)
		k.ServiceRequest().AddHeader(a.str(0, "name"), a.str(1, "value"))
	case hostabi.OpServiceRequestClearHeader:
		a.want(1, 1)
		k.ServiceRequest().ClearHeader(a.str(0, "name"))
	case hostabi.OpServiceRequestSetHeaders:
		a.want(1, 1)
		k.ServiceRequest().SetHeaders(a.multi(0, "headers"))
	case hostabi.OpServiceRequestSetRawBody:
		a.want(1, 1)
		k.ServiceRequest().SetRawBody([]byte(a.str(0, "body")))
	case hostabi.OpServiceRequestSetBody:
		a.want(1, 2)
		mime := ""
		if a.n() > 1 {
			mime = a.str(1, "mime type")
		}
		if err := k.ServiceRequest().SetBody(a.object(0, "args"), mime); err != nil {
			return errResult(err)
		}
	case hostabi.OpServiceRequestEnableBuffering:
		k.ServiceRequest().EnableBuffering()

	case hostabi.OpServiceSetTarget:
		a.want(2, 2)
		k.Service().SetTarget(a.str(0, "host"), a.integer(1, "port"))
	case hostabi.OpServiceSetUpstream:
		a.want(1, 1)
		if err := k.Service().SetUpstream(a.str(0, "name")); err != nil {
			return errResult(err)
		}

	case hostabi.OpResponseStatus:
		return results(op, k.Response().Status())
	case hostabi.OpResponseSetStatus:
		a.want(1, 1)
		k.Response().SetStatus(a.integer(0, "status"))
	case hostabi.OpResponseHeader:
		a.want(1, 1)
		return results(op, k.Response().Header(a.str(0, "name")))
	case hostabi.OpResponseHeaders:
		return results(op, k.Response().Headers())
	case hostabi.OpResponseSetHeader:
		a.want(2, 2)
		k.Response().SetHeader(a.str(0, "name"), a.str(1, "value"))
	case hostabi.OpResponseAddHeader:
		a.want(2, 2)
		k.Response().AddHeader(a.str(0, "name"), a.str(1, "value"))
	case hostabi.OpResponseClearHeader:
		a.want(1, 1)
		k.Response().ClearHeader(a.str(0, "name"))
	case hostabi.OpResponseSource:
		return results(op, k.Response().Source())
	case hostabi.OpResponseExit:
		a.want(1, 3)
		body := ""
		if a.n() > 1 {
			a.decode(1, &body, "body, a string")
		}
		k.Response().Exit(a.integer(0, "status"), []byte(body), a.strmap(2, "headers"))
	case hostabi.OpResponseError:
		a.want(1, 3)
		msg := ""
		if a.n() > 1 {
			msg = a.str(1, "message")
		}
		k.Response().Error(a.integer(0, "status"), msg, a.strmap(2, "headers"))
	case hostabi.OpResponseExited:
		return results(op, k.Response().Exited())
	case hostabi.OpResponseRawBody:
		return results(op, string(k.Response().RawBody()))
	case hostabi.OpResponseSetRawBody:
		a.want(1, 1)
		k.Response().SetRawBody([]byte(a.str(0, "body")))

	case hostabi.OpServiceResponseStatus:
		return results(op, k.ServiceResponse().Status())
	case hostabi.OpServiceResponseHeader:
		a.want(1, 1)
		return results(op, k.ServiceResponse().Header(a.str(0, "name")))
	case hostabi.OpServiceResponseHeaders:
		return results(op, k.ServiceResponse().Headers())
	case hostabi.OpServiceResponseRawBody:
		return results(op, string(k.ServiceResponse().RawBody()))

	case hostabi.OpClientIP:
		return results(op, k.Client().IP())
	case hostabi.OpClientForwardedIP:
		return results(op, k.Client().ForwardedIP())
	case hostabi.OpClientPort:
		return results(op, k.Client().Port())
	case hostabi.OpClientForwardedPort:
		return results(op, k.Client().ForwardedPort())
	case hostabi.OpClientProtocol:
		return results(op, k.Client().Protocol())
	case hostabi.OpClientConsumer:
		return results(op, k.Client().Consumer())
	case hostabi.OpClientCredential:
		return results(op, k.Client().Credential())
	case hostabi.OpClientAuthenticate:
		a.want(2, 2)
		var consumer, cred map[string]any
		a.decode(0, &consumer, "consumer, an entity or null")
		a.decode(1, &cred, "credential, an entity or null")
		k.Client().Authenticate(consumer, cred)
	case hostabi.OpClientLoadConsumer:
		a.want(1, 2)
		by := false
		if a.n() > 1 {
			by = a.boolean(1, "by_username")
		}
		e, err := k.Client().LoadConsumer(ctx, a.str(0, "key"), by)
		if err != nil {
			return errResult(err)
		}
		return results(op, e)

	case hostabi.OpCtxSharedGet, hostabi.OpCtxPluginGet:
		a.want(1, 1)
		key := c.ctxKey(op, a.str(0, "key"))
		v, ok := values(k, op == hostabi.OpCtxSharedGet).Get(key)
		return results(op, v, ok)
	case hostabi.OpCtxSharedSet, hostabi.OpCtxPluginSet:
		a.want(2, 2)
		key := c.ctxKey(op, a.str(0, "key"))
		values(k, op == hostabi.OpCtxSharedSet).Set(key, a.value(1))
	case hostabi.OpCtxSharedDelete, hostabi.OpCtxPluginDelete:
		a.want(1, 1)
		key := c.ctxKey(op, a.str(0, "key"))
		values(k, op == hostabi.OpCtxSharedDelete).Delete(key)

	case hostabi.OpLogSerialize:
		return results(op, k.Log().Serialize())
	case hostabi.OpLogSetSerializeValue:
		a.want(2, 3)
		if a.n() == 3 {
			if err := k.Log().SetSerializeValueMode(a.str(0, "key"), a.value(1), hostabi.SerializeMode(a.str(2, "mode"))); err != nil {
				return errResult(err)
			}
		} else {
			k.Log().SetSerializeValue(a.str(0, "key"), a.value(1))
		}

	case hostabi.OpCacheGet, hostabi.OpCacheSet, hostabi.OpCacheLookup, hostabi.OpCacheFill,
		hostabi.OpCacheAbandon, hostabi.OpCacheInvalidate:
		return c.cacheOp(a, k.Cache(), ctx)

	case hostabi.OpNodeID:
		return results(op, k.Node().ID())
	case hostabi.OpNodeHostname:
		return results(op, k.Node().Hostname())
	case hostabi.OpRouterRoute:
		return results(op, k.Router().Route())
	case hostabi.OpRouterService:
		return results(op, k.Router().Service())
	case hostabi.OpRouterURICaptures:
		return results(op, k.Router().URICaptures())
	case hostabi.OpIPIsTrusted:
		a.want(1, 1)
		return results(op, k.IP().IsTrusted(a.str(0, "address")))
	case hostabi.OpPluginID:
		return results(op, k.Plugin().ID())
	case hostabi.OpPluginName:
		return results(op, k.Plugin().Name())

	case hostabi.OpCredentialsCredential:
		a.want(3, 3)
		e, err := k.Credentials().Credential(ctx, a.str(0, "entity"), a.str(1, "field"), a.str(2, "value"))
		if err != nil {
			return errResult(err)
		}
		return results(op, e)
	case hostabi.OpCredentialsConsumerCredentials:
		a.want(2, 2)
		es, err := k.Credentials().ConsumerCredentials(ctx, a.str(0, "entity"), a.str(1, "consumer id"))
		if err != nil {
			return errResult(err)
		}
		return results(op, es)

	case hostabi.OpClientTLSCertificateChain:
		chain, err := k.TLS().ClientCertificateChain()
		if err != nil {
			return errResult(err)
		}
		return results(op, chain)
	case hostabi.OpHTTPDo:
		return httpDo(a, k.HTTP(), ctx)
	case hostabi.OpTimersAfter:
		a.want(2, 2)
		if err := c.timerAt(k, seconds(a.number(0, "delay")), int64(a.integer(1, "id"))); err != nil {
			return errResult(err)
		}

	case hostabi.OpDBSelect:
		a.want(2, 2)
		return entityResult(op)(k.DB().Select(ctx, a.str(0, "entity"), a.str(1, "key")))
	case hostabi.OpDBSelectBy:
		a.want(3, 3)
		return entityResult(op)(k.DB().SelectBy(ctx, a.str(0, "entity"), a.str(1, "field"), a.str(2, "value")))
	case hostabi.OpDBPage:
		a.want(1, 2)
		var q hostabi.WasmPageQuery
		if a.n() > 1 {
			a.decode(1, &q, "page query, an object")
		}
		es, next, err := k.DB().Page(ctx, a.str(0, "entity"), hostabi.PageQuery{Size: q.Size, Offset: q.Offset,
			Tags: q.Tags, TagsAny: q.TagsAny, ForeignField: q.ForeignField, ForeignKey: q.ForeignKey})
		if err != nil {
			return errResult(err)
		}
		if es == nil {
			es = []hostabi.Entity{}
		}
		return results(op, es, next)
	case hostabi.OpDBInsert:
		a.want(2, 3)
		return entityResult(op)(k.DB().Insert(ctx, a.str(0, "entity"), a.object(1, "fields"), writeOpts(a, 2)))
	case hostabi.OpDBUpdate:
		a.want(3, 4)
		return entityResult(op)(k.DB().Update(ctx, a.str(0, "entity"), a.str(1, "key"), a.object(2, "fields"), writeOpts(a, 3)))
	case hostabi.OpDBUpsert:
		a.want(3, 4)
		return entityResult(op)(k.DB().Upsert(ctx, a.str(0, "entity"), a.str(1, "key"), a.object(2, "fields"), writeOpts(a, 3)))
	case hostabi.OpDBDelete:
		a.want(2, 2)
		if err := k.DB().Delete(ctx, a.str(0, "entity"), a.str(1, "key")); err != nil {
			return errResult(err)
		}
	default:
		wasmhost.Trapf("call: %s is not mapped", op)
	}
	return empty
}

func (a args) wantMin(min int) {
	if len(a.list) < min {
		wasmhost.Trapf("%s: want at least %d arguments, got %d", a.op, min, len(a.list))
	}
}

func (c *call) ctxKey(op hostabi.Op, key string) string {
	if wasmhost.ReservedKey(key) {
		wasmhost.Trapf("%s: the key %q is reserved", op, key)
	}
	return key
}

func writeOpts(a args, i int) hostabi.WriteOptions {
	if a.n() <= i {
		return hostabi.WriteOptions{}
	}
	var o hostabi.WasmWriteOptions
	a.decode(i, &o, "options, an object")
	return hostabi.WriteOptions{TTL: o.TTL}
}

func entityResult(op hostabi.Op) func(hostabi.Entity, error) []byte {
	return func(e hostabi.Entity, err error) []byte {
		if err != nil {
			return errResult(err)
		}
		return results(op, e)
	}
}

// cacheOp runs the kong.cache operations (in a phase or a timer).
func (c *call) cacheOp(a args, cache hostabi.Cache, ctx context.Context) []byte {
	op := a.op
	switch op {
	case hostabi.OpCacheGet:
		a.want(1, 1)
		v, ok := cache.Get(a.str(0, "key"))
		return results(op, v, ok)
	case hostabi.OpCacheSet:
		a.want(2, 3)
		ttl := time.Duration(0)
		if a.n() > 2 {
			ttl = seconds(a.number(2, "ttl"))
		}
		cache.Set(a.str(0, "key"), a.value(1), ttl)
	case hostabi.OpCacheLookup:
		a.want(1, 1)
		key := a.str(0, "key")
		v, found, load, err := cache.Lookup(ctx, key)
		if err != nil {
			return errResult(err)
		}
		if load {
			if c.loads == nil {
				c.loads = map[string]bool{}
			}
			c.loads[key] = true
		}
		return results(op, v, found, load)
	case hostabi.OpCacheFill:
		a.want(2, 3)
		ttl := time.Duration(0)
		if a.n() > 2 {
			ttl = seconds(a.number(2, "ttl"))
		}
		key := a.str(0, "key")
		delete(c.loads, key)
		cache.Fill(key, a.value(1), ttl)
	case hostabi.OpCacheAbandon:
		a.want(1, 2)
		msg := "abandoned"
		if a.n() > 1 {
			msg = a.str(1, "message")
		}
		key := a.str(0, "key")
		delete(c.loads, key)
		cache.Abandon(key, errors.New(msg))
	case hostabi.OpCacheInvalidate:
		a.want(1, 1)
		cache.Invalidate(a.str(0, "key"))
	}
	return empty
}

func httpDo(a args, h hostabi.HTTP, ctx context.Context) []byte {
	a.want(1, 1)
	var r hostabi.WasmHTTPRequest
	a.decode(0, &r, "request, an object")
	resp, err := h.Do(ctx, hostabi.HTTPRequest{Method: r.Method, URL: r.URL, Header: r.Header,
		Body: []byte(r.Body), Timeout: seconds(r.Timeout)})
	if err != nil {
		return errResult(err)
	}
	return results(a.op, hostabi.WasmHTTPResponse{Status: resp.Status, Header: resp.Header, Body: string(resp.Body)})
}

// timerOp is the generic call inside a timer export: outbound HTTP, the
// cache and the log; nothing of the request, which is over.
func (c *call) timerOp(a args) []byte {
	switch a.op {
	case hostabi.OpHTTPDo:
		return httpDo(a, c.timer.http, c.timer.ctx)
	case hostabi.OpCacheGet, hostabi.OpCacheSet, hostabi.OpCacheLookup, hostabi.OpCacheFill,
		hostabi.OpCacheAbandon, hostabi.OpCacheInvalidate:
		return c.cacheOp(a, c.timer.cache, c.timer.ctx)
	case hostabi.OpLog:
		a.wantMin(2)
		level, ok := hostabi.WasmLogLevelByName(a.str(0, "level"))
		if !ok {
			wasmhost.Trapf("kong.log: unknown level %s", a.list[0])
		}
		kv := make([]any, 0, a.n()-2)
		for i := 2; i < a.n(); i++ {
			kv = append(kv, a.value(i))
		}
		c.log(level, a.str(1, "message"), kv...)
		return empty
	}
	wasmhost.Trapf("%s is not available in a timer (only kong.http.do, kong.cache.* and kong.log)", a.op)
	return nil
}

// timerAt registers the guest's timer(id) to run after delay on the
// instance that registered it (whose memory holds what the guest keeps
// for the timer), once that instance is free; the instance is held from
// idle trimming meanwhile. A timer whose instance was discarded meanwhile
// is dropped with a log line.
func (c *call) timerAt(k hostabi.Kong, delay time.Duration, id int64) error {
	pool, plugin, cache, owner := c.pool, c.plugin, k.Cache(), c.inst
	if pool == nil || owner == nil {
		return errors.New("kong.timer.at: no instance")
	}
	if !plugin.module.Exports(hostabi.WasmExportTimer) {
		wasmhost.Trapf("kong.timer.at: the guest exports no %s function", hostabi.WasmExportTimer)
	}
	pool.Hold(owner) // not trimmed while idle: the timer will want it
	err := k.Timers().After(delay, func(ctx context.Context, h hostabi.HTTP) {
		lg := plugin.module.Runtime().Logger()
		in, err := pool.Take(ctx, owner)
		pool.Release(owner)
		if err != nil {
			lg.Error("wasm timer dropped: the instance that registered it is not available", "plugin", plugin.module.Name,
				"timer", id, "error", err)
			return
		}
		tc := &call{plugin: plugin, guest: in.Data.(*guest), pool: pool, inst: in, export: hostabi.WasmExportTimer,
			timer: &timerEnv{ctx: ctx, http: h, cache: cache}}
		if err := plugin.run(ctx, in, tc, "timer", hostabi.WasmExportTimer, uint64(id)); err != nil {
			lg.Error("wasm timer failed", "plugin", plugin.module.Name, "error", err)
		}
		for key := range tc.loads {
			cache.Abandon(key, fmt.Errorf("wasm plugin %s did not fill %q", plugin.module.Name, key))
		}
		tc.guest.result, tc.guest.hasResult = nil, false
		pool.Put(in)
	})
	if err != nil {
		pool.Release(owner)
	}
	return err
}
