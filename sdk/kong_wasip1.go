//go:build wasip1

package sdk

import (
	"context"
	"encoding/json"
	"time"
	"unsafe"

	"github.com/gatehouse/gatehouse/hostabi"
)

// invoke runs an operation through the generic call import.
func invoke(op string, args []any, out ...any) error {
	a, err := encodeArgs(args)
	if err != nil {
		return &ProtocolError{Op: op, Err: err}
	}
	return decodeResult(op, callRaw(op, a), out...)
}

// must runs an operation without an error result: an error (which the
// host only gives when the ABI is broken) panics and fails the phase.
func must(op string, args []any, out ...any) {
	if err := invoke(op, args, out...); err != nil {
		panic(err)
	}
}

func a(args ...any) []any { return args }

func getString(op string, args ...any) string {
	var s string
	must(op, args, &s)
	return s
}

func getInt(op string, args ...any) int {
	var n int
	must(op, args, &n)
	return n
}

func getEntity(op string, args ...any) Entity {
	var e Entity
	must(op, args, &e)
	return e
}

func getHeaders(op string, args ...any) map[string][]string {
	var h map[string][]string
	must(op, args, &h)
	return h
}

func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(&ProtocolError{Op: "encode", Err: err})
	}
	return b
}

func seconds(d time.Duration) float64 { return d.Seconds() }

// phase is the phase of the export running.
var phase Phase

// guest is the Kong of a Wasm guest: every facet over the gatehouse
// imports.
type guest struct{}

var theKong Kong = guest{}

func (guest) Phase() Phase                             { return phase }
func (guest) Context() context.Context                 { return context.Background() }
func (guest) Request() hostabi.Request                 { return request{} }
func (guest) ServiceRequest() hostabi.ServiceRequest   { return serviceRequest{} }
func (guest) Service() hostabi.Service                 { return service{} }
func (guest) Response() hostabi.Response               { return response{} }
func (guest) ServiceResponse() hostabi.ServiceResponse { return serviceResponse{} }
func (guest) Client() hostabi.Client                   { return client{} }
func (guest) Ctx() hostabi.Ctx                         { return ctx{} }
func (guest) Log() hostabi.Log                         { return logger{} }
func (guest) Cache() hostabi.Cache                     { return cache{} }
func (guest) Node() hostabi.Node                       { return node{} }
func (guest) Router() hostabi.Router                   { return router{} }
func (guest) IP() hostabi.IP                           { return ip{} }
func (guest) Plugin() hostabi.Plugin                   { return plugin{} }
func (guest) TLS() hostabi.TLS                         { return tls{} }
func (guest) HTTP() hostabi.HTTP                       { return httpClient{} }
func (guest) Timers() hostabi.Timers                   { return timers{} }
func (guest) Credentials() hostabi.Credentials         { return credentials{} }
func (guest) DB() hostabi.DB                           { return db{} }

// request is kong.request.
type request struct{}

func (request) Scheme() string          { return getString("kong.request.get_scheme") }
func (request) Host() string            { return getString("kong.request.get_host") }
func (request) Port() int               { return getInt("kong.request.get_port") }
func (request) ForwardedScheme() string { return getString("kong.request.get_forwarded_scheme") }
func (request) ForwardedHost() string   { return getString("kong.request.get_forwarded_host") }
func (request) ForwardedPort() int      { return getInt("kong.request.get_forwarded_port") }
func (request) HTTPVersion() float64 {
	var v float64
	must("kong.request.get_http_version", nil, &v)
	return v
}
func (request) Method() string   { return pullString(hRequestGetMethod) }
func (request) Path() string     { return pullString(hRequestGetPath) }
func (request) RawPath() string  { return getString("kong.request.get_raw_path") }
func (request) RawQuery() string { return getString("kong.request.get_raw_query") }
func (request) QueryArg(name string) (string, bool) {
	var v string
	var found bool
	must("kong.request.get_query_arg", a(name), &v, &found)
	return v, found
}
func (request) Query() map[string][]string { return getHeaders("kong.request.get_query") }
func (request) Header(name string) string {
	v, _ := pullKeyedString(hRequestGetHeader, name)
	return v
}
func (request) HeaderValues(name string) []string {
	var vs []string
	must("kong.request.get_header_values", a(name), &vs)
	return vs
}
func (request) Headers() map[string][]string { return getHeaders("kong.request.get_headers") }
func (request) RawBody() ([]byte, error) {
	b, _ := pullSame(hRequestGetRawBody)
	return b, nil
}
func (request) Body() (map[string]any, string, error) {
	var args map[string]any
	var mime string
	err := invoke("kong.request.get_body", nil, &args, &mime)
	return args, mime, err
}
func (request) Var(name string) (string, bool) {
	var v string
	var found bool
	must("ngx.var", a(name), &v, &found)
	return v, found
}

// serviceRequest is kong.service.request.
type serviceRequest struct{}

func (serviceRequest) SetScheme(s string)   { must("kong.service.request.set_scheme", a(s)) }
func (serviceRequest) SetPath(p string)     { must("kong.service.request.set_path", a(p)) }
func (serviceRequest) SetRawQuery(q string) { must("kong.service.request.set_raw_query", a(q)) }
func (serviceRequest) SetQuery(args map[string][]string) {
	must("kong.service.request.set_query", a(args))
}
func (serviceRequest) SetMethod(m string) { must("kong.service.request.set_method", a(m)) }
func (serviceRequest) SetHeader(name, value string) {
	np, nl := str(name)
	vp, vl := str(value)
	hServiceRequestSetHeader(np, nl, vp, vl)
}
func (serviceRequest) AddHeader(name, value string) {
	np, nl := str(name)
	vp, vl := str(value)
	hServiceRequestAddHeader(np, nl, vp, vl)
}
func (serviceRequest) ClearHeader(name string) {
	np, nl := str(name)
	hServiceRequestClearHeader(np, nl)
}
func (serviceRequest) SetHeaders(h map[string][]string) {
	must("kong.service.request.set_headers", a(h))
}
func (serviceRequest) SetRawBody(body []byte) {
	p, l := bts(body)
	hServiceRequestSetRawBody(p, l)
}
func (serviceRequest) SetBody(args map[string]any, mimeType string) error {
	return invoke("kong.service.request.set_body", a(args, mimeType))
}
func (serviceRequest) EnableBuffering() { must("kong.service.request.enable_buffering", nil) }

// service is kong.service.
type service struct{}

func (service) SetTarget(host string, port int) { must("kong.service.set_target", a(host, port)) }
func (service) SetUpstream(name string) error   { return invoke("kong.service.set_upstream", a(name)) }

// response is kong.response.
type response struct{}

func (response) Status() int          { return int(hResponseGetStatus()) }
func (response) SetStatus(status int) { hResponseSetStatus(int32(status)) }
func (response) Header(name string) string {
	v, _ := pullKeyedString(hResponseGetHeader, name)
	return v
}
func (response) Headers() map[string][]string { return getHeaders("kong.response.get_headers") }
func (response) SetHeader(name, value string) {
	np, nl := str(name)
	vp, vl := str(value)
	hResponseSetHeader(np, nl, vp, vl)
}
func (response) AddHeader(name, value string) {
	np, nl := str(name)
	vp, vl := str(value)
	hResponseAddHeader(np, nl, vp, vl)
}
func (response) ClearHeader(name string) {
	np, nl := str(name)
	hResponseClearHeader(np, nl)
}
func (response) Source() string { return getString("kong.response.get_source") }
func (response) Exit(status int, body []byte, headers map[string]string) {
	var h []byte
	if len(headers) > 0 {
		h = marshal(headers)
	}
	bp, bl := bts(body)
	hp, hl := bts(h)
	hResponseExit(int32(status), bp, bl, hp, hl)
}
func (response) Error(status int, message string, headers map[string]string) {
	must("kong.response.error", a(status, message, headers))
}
func (response) Exited() bool {
	var b bool
	must("kong.response.exited", nil, &b)
	return b
}
func (response) RawBody() []byte {
	b, _ := pullSame(hResponseGetRawBody)
	return b
}
func (response) SetRawBody(body []byte) {
	p, l := bts(body)
	hResponseSetRawBody(p, l)
}

// serviceResponse is kong.service.response.
type serviceResponse struct{}

func (serviceResponse) Status() int { return getInt("kong.service.response.get_status") }
func (serviceResponse) Header(name string) string {
	return getString("kong.service.response.get_header", name)
}
func (serviceResponse) Headers() map[string][]string {
	return getHeaders("kong.service.response.get_headers")
}
func (serviceResponse) RawBody() []byte {
	var s *string
	must("kong.service.response.get_raw_body", nil, &s)
	if s == nil {
		return nil
	}
	return []byte(*s)
}

// client is kong.client.
type client struct{}

func (client) IP() string          { return getString("kong.client.get_ip") }
func (client) ForwardedIP() string { return getString("kong.client.get_forwarded_ip") }
func (client) Port() int           { return getInt("kong.client.get_port") }
func (client) ForwardedPort() int  { return getInt("kong.client.get_forwarded_port") }
func (client) Protocol() string    { return getString("kong.client.get_protocol") }
func (client) Consumer() Entity    { return getEntity("kong.client.get_consumer") }
func (client) Credential() Entity  { return getEntity("kong.client.get_credential") }
func (client) Authenticate(consumer, credential Entity) {
	must("kong.client.authenticate", a(consumer, credential))
}
func (client) LoadConsumer(_ context.Context, key string, byUsername bool) (Entity, error) {
	var e Entity
	err := invoke("kong.client.load_consumer", a(key, byUsername), &e)
	return e, err
}

// ctx is kong.ctx.
type ctx struct{}

func (ctx) Shared() hostabi.Values { return values{get: hCtxSharedGet, set: hCtxSharedSet} }
func (ctx) Plugin() hostabi.Values { return values{get: hCtxPluginGet, set: hCtxPluginSet} }

// values is kong.ctx.shared or kong.ctx.plugin over its fast imports.
type values struct {
	get func(k unsafe.Pointer, kl uint32, buf unsafe.Pointer, limit uint32) int64
	set func(k unsafe.Pointer, kl uint32, v unsafe.Pointer, vl uint32)
}

func (v values) Get(key string) (any, bool) { return decodeValue(pullKeyed(v.get, key)) }
func (v values) Set(key string, value any) {
	kp, kl := str(key)
	vp, vl := bts(marshal(value))
	v.set(kp, kl, vp, vl)
}
func (v values) Delete(key string) {
	kp, kl := str(key)
	v.set(kp, kl, nil, 0)
}

// decodeValue decodes a JSON value read from the ctx or the cache.
func decodeValue(b []byte, ok bool) (any, bool) {
	if !ok {
		return nil, false
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		panic(&ProtocolError{Op: "value", Err: err})
	}
	return v, true
}

// logger is kong.log.
type logger struct{}

func (logger) write(level hostabi.WasmLogLevel, msg string, kv []any) {
	if len(kv) == 0 {
		p, l := str(msg)
		hLog(int32(level), p, l)
		return
	}
	must("kong.log", append([]any{level.String(), msg}, kv...))
}
func (l logger) Debug(msg string, kv ...any)  { l.write(hostabi.WasmLogDebug, msg, kv) }
func (l logger) Info(msg string, kv ...any)   { l.write(hostabi.WasmLogInfo, msg, kv) }
func (l logger) Notice(msg string, kv ...any) { l.write(hostabi.WasmLogNotice, msg, kv) }
func (l logger) Warn(msg string, kv ...any)   { l.write(hostabi.WasmLogWarn, msg, kv) }
func (l logger) Err(msg string, kv ...any)    { l.write(hostabi.WasmLogErr, msg, kv) }
func (l logger) Crit(msg string, kv ...any)   { l.write(hostabi.WasmLogCrit, msg, kv) }
func (logger) Serialize() map[string]any {
	var m map[string]any
	must("kong.log.serialize", nil, &m)
	return m
}
func (logger) SetSerializeValue(key string, value any) {
	must("kong.log.set_serialize_value", a(key, value))
}
func (logger) SetSerializeValueMode(key string, value any, mode hostabi.SerializeMode) error {
	return invoke("kong.log.set_serialize_value", a(key, value, string(mode)))
}

// cache is kong.cache.
type cache struct{}

func (cache) Get(key string) (any, bool) { return decodeValue(pullKeyed(hCacheGet, key)) }
func (cache) Set(key string, value any, ttl time.Duration) {
	kp, kl := str(key)
	vp, vl := bts(marshal(value))
	hCacheSet(kp, kl, vp, vl, ttl.Milliseconds())
}
func (cache) Lookup(_ context.Context, key string) (value any, found, load bool, err error) {
	err = invoke("kong.cache.lookup", a(key), &value, &found, &load)
	return value, found, load, err
}
func (cache) Fill(key string, value any, ttl time.Duration) {
	must("kong.cache.fill", a(key, value, seconds(ttl)))
}
func (cache) Abandon(key string, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	must("kong.cache.abandon", a(key, msg))
}
func (cache) Invalidate(key string) { must("kong.cache.invalidate", a(key)) }

// node is kong.node.
type node struct{}

func (node) ID() string       { return getString("kong.node.get_id") }
func (node) Hostname() string { return getString("kong.node.get_hostname") }

// router is kong.router.
type router struct{}

func (router) Route() Entity   { return getEntity("kong.router.get_route") }
func (router) Service() Entity { return getEntity("kong.router.get_service") }
func (router) URICaptures() map[string]string {
	var m map[string]string
	must("kong.request.get_uri_captures", nil, &m)
	return m
}

// ip is kong.ip.
type ip struct{}

func (ip) IsTrusted(addr string) bool {
	var b bool
	must("kong.ip.is_trusted", a(addr), &b)
	return b
}

// plugin is kong.plugin.
type plugin struct{}

func (plugin) ID() string   { return getString("kong.plugin.get_id") }
func (plugin) Name() string { return getString("kong.plugin.get_name") }

// tls is kong.client.tls.
type tls struct{}

func (tls) ClientCertificateChain() (string, error) {
	var s string
	err := invoke("kong.client.tls.get_full_client_certificate_chain", nil, &s)
	return s, err
}

// httpClient sends outbound requests (kong.http.do).
type httpClient struct{}

func (httpClient) Do(_ context.Context, req hostabi.HTTPRequest) (hostabi.HTTPResponse, error) {
	var res hostabi.WasmHTTPResponse
	err := invoke("kong.http.do", a(hostabi.WasmHTTPRequest{Method: req.Method, URL: req.URL, Header: req.Header,
		Body: string(req.Body), Timeout: seconds(req.Timeout)}), &res)
	if err != nil {
		return hostabi.HTTPResponse{}, err
	}
	return hostabi.HTTPResponse{Status: res.Status, Header: res.Header, Body: []byte(res.Body)}, nil
}

// timers is kong.timer.at: the callbacks wait in this instance's table.
type timers struct{}

// pendingTimer is a registered callback and when it stops being kept.
type pendingTimer struct {
	fn      func(context.Context, hostabi.HTTP)
	expires time.Time
}

// timerKeep is how long after its due time a callback is kept: the
// node's timer budget (180 s) and a margin. The host runs timer(id) on
// the registering instance; a timer the host dropped (its queue full, the
// node closing) never comes, and its callback is dropped when it
// expires, so such callbacks cannot pile up.
const timerKeep = 4 * time.Minute

var (
	pendingTimers = map[int64]pendingTimer{}
	nextTimer     int64
)

func (timers) After(delay time.Duration, fn func(ctx context.Context, h hostabi.HTTP)) error {
	now := time.Now()
	if nextTimer%128 == 0 { // an amortized sweep of the expired callbacks
		for id, p := range pendingTimers {
			if now.After(p.expires) {
				delete(pendingTimers, id)
			}
		}
	}
	nextTimer++
	id := nextTimer
	pendingTimers[id] = pendingTimer{fn: fn, expires: now.Add(delay + timerKeep)}
	if err := invoke("kong.timer.at", a(seconds(delay), id)); err != nil {
		delete(pendingTimers, id)
		return err
	}
	return nil
}

// credentials is the credential lookup of authentication plugins.
type credentials struct{}

func (credentials) Credential(_ context.Context, entity, field, value string) (Entity, error) {
	var e Entity
	err := invoke("kong.credentials.get", a(entity, field, value), &e)
	return e, err
}
func (credentials) ConsumerCredentials(_ context.Context, entity, consumerID string) ([]Entity, error) {
	var es []Entity
	err := invoke("kong.credentials.list_by_consumer", a(entity, consumerID), &es)
	return es, err
}

// db is kong.db.
type db struct{}

func (db) Select(_ context.Context, entity, key string) (Entity, error) {
	var e Entity
	err := invoke("kong.db.select", a(entity, key), &e)
	return e, err
}
func (db) SelectBy(_ context.Context, entity, field, value string) (Entity, error) {
	var e Entity
	err := invoke("kong.db.select_by", a(entity, field, value), &e)
	return e, err
}
func (db) Page(_ context.Context, entity string, q hostabi.PageQuery) ([]Entity, string, error) {
	var es []Entity
	var next string
	err := invoke("kong.db.page", a(entity, hostabi.WasmPageQuery{Size: q.Size, Offset: q.Offset, Tags: q.Tags,
		TagsAny: q.TagsAny, ForeignField: q.ForeignField, ForeignKey: q.ForeignKey}), &es, &next)
	return es, next, err
}
func (db) Insert(_ context.Context, entity string, fields Entity, opts hostabi.WriteOptions) (Entity, error) {
	var e Entity
	err := invoke("kong.db.insert", a(entity, fields, hostabi.WasmWriteOptions{TTL: opts.TTL}), &e)
	return e, err
}
func (db) Update(_ context.Context, entity, key string, fields Entity, opts hostabi.WriteOptions) (Entity, error) {
	var e Entity
	err := invoke("kong.db.update", a(entity, key, fields, hostabi.WasmWriteOptions{TTL: opts.TTL}), &e)
	return e, err
}
func (db) Upsert(_ context.Context, entity, key string, fields Entity, opts hostabi.WriteOptions) (Entity, error) {
	var e Entity
	err := invoke("kong.db.upsert", a(entity, key, fields, hostabi.WasmWriteOptions{TTL: opts.TTL}), &e)
	return e, err
}
func (db) Delete(_ context.Context, entity, key string) error {
	return invoke("kong.db.delete", a(entity, key))
}
