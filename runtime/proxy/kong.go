package proxy

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/chain"
	"github.com/gatehouse/gatehouse/runtime/internal/reqbody"
	"github.com/gatehouse/gatehouse/runtime/threat"
	"github.com/valyala/fasthttp"
)

// The hostabi implementation over one request's state. Each facet is a
// one-pointer struct, so handing it out as an interface does not allocate.

func (s *state) Phase() hostabi.Phase                     { return s.phase }
func (s *state) Context() context.Context                 { return s.context() }
func (s *state) Request() hostabi.Request                 { return kRequest{s} }
func (s *state) ServiceRequest() hostabi.ServiceRequest   { return kServiceRequest{s} }
func (s *state) Response() hostabi.Response               { return kResponse{s} }
func (s *state) ServiceResponse() hostabi.ServiceResponse { return kServiceResponse{s} }
func (s *state) Client() hostabi.Client                   { return kClient{s} }
func (s *state) Ctx() hostabi.Ctx                         { return kCtx{s} }
func (s *state) Log() hostabi.Log                         { return kLog{s} }
func (s *state) Cache() hostabi.Cache                     { return s.srv.opts.Cache }
func (s *state) Service() hostabi.Service                 { return kService{s} }
func (s *state) IP() hostabi.IP                           { return kIP{s} }
func (s *state) Plugin() hostabi.Plugin                   { return kPlugin{s} }
func (s *state) TLS() hostabi.TLS                         { return kTLS{s} }
func (s *state) HTTP() hostabi.HTTP                       { return kHTTP{s} }
func (s *state) Timers() hostabi.Timers                   { return kTimers{s} }
func (s *state) Node() hostabi.Node                       { return kNode{s} }
func (s *state) Router() hostabi.Router                   { return kRouter{s} }
func (s *state) Credentials() hostabi.Credentials         { return s.srv.opts.Credentials }
func (s *state) DB() hostabi.DB {
	return hostabi.CheckedDB(s.srv.opts.DB, func(op hostabi.Op) { hostabi.Check(op, s.phase) }, errNoDB)
}

// Running implements chain.Tracker: kong.ctx.plugin belongs to the
// instance that runs.
func (s *state) Running(in *chain.Instance) { s.current = in }

var (
	_ hostabi.Kong         = (*state)(nil)
	_ chain.Tracker        = (*state)(nil)
	_ hostabi.HeaderPeeker = kRequest{}
)

// kRequest: kong.request.
type kRequest struct{ s *state }

func (r kRequest) Scheme() string {
	hostabi.Check(hostabi.OpRequestScheme, r.s.phase)
	return r.s.scheme
}
func (r kRequest) Host() string {
	hostabi.Check(hostabi.OpRequestHost, r.s.phase)
	return r.hostNoCheck()
}

func (r kRequest) hostNoCheck() string {
	return hostOnly(string(r.s.fctx.Request.Host()))
}

// Var implements hostabi.Request: ngx.var for the names of
// hostabi.VarNames, from the connection and request as they arrived.
func (r kRequest) Var(name string) (string, bool) {
	hostabi.Check(hostabi.OpRequestVar, r.s.phase)
	s := r.s
	switch name {
	case "server_addr":
		return s.localIP.String(), s.localIP != nil
	case "server_port":
		return strconv.Itoa(s.localPort), true
	case "remote_addr":
		return s.remoteIP, s.remoteIP != ""
	case "remote_port":
		return strconv.Itoa(s.remotePort), true
	case "connection":
		return strconv.FormatUint(s.connID, 10), true
	case "connection_requests":
		return strconv.FormatUint(s.connReqs, 10), true
	case "request_uri":
		return string(s.fctx.Request.Header.RequestURI()), true
	case "request":
		h := &s.fctx.Request.Header
		return string(h.Method()) + " " + string(h.RequestURI()) + " " + string(h.Protocol()), true
	case "scheme":
		return s.scheme, true
	case "host":
		return strings.ToLower(kRequest{s}.hostNoCheck()), true
	case "request_id":
		return s.reqID(), true
	}
	return "", false
}

func (r kRequest) Port() int {
	hostabi.Check(hostabi.OpRequestPort, r.s.phase)
	return r.s.localPort
}
func (r kRequest) ForwardedScheme() string {
	hostabi.Check(hostabi.OpRequestForwardedScheme, r.s.phase)
	if r.s.trusted {
		if v := r.s.fctx.Request.Header.Peek("X-Forwarded-Proto"); len(v) > 0 {
			return string(v)
		}
	}
	return r.s.scheme
}
func (r kRequest) ForwardedHost() string {
	hostabi.Check(hostabi.OpRequestForwardedHost, r.s.phase)
	if r.s.trusted {
		if v := r.s.fctx.Request.Header.Peek("X-Forwarded-Host"); len(v) > 0 {
			return string(v)
		}
	}
	return r.Host()
}
func (r kRequest) ForwardedPort() int {
	hostabi.Check(hostabi.OpRequestForwardedPort, r.s.phase)
	if r.s.trusted {
		if v := r.s.fctx.Request.Header.Peek("X-Forwarded-Port"); len(v) > 0 {
			if p, err := strconv.Atoi(string(v)); err == nil {
				return p
			}
		}
	}
	return r.s.localPort
}
func (r kRequest) HTTPVersion() float64 {
	hostabi.Check(hostabi.OpRequestHTTPVersion, r.s.phase)
	if r.s.fctx.Request.Header.IsHTTP11() {
		return 1.1
	}
	return 1.0
}
func (r kRequest) Method() string {
	hostabi.Check(hostabi.OpRequestMethod, r.s.phase)
	return string(r.s.fctx.Method())
}
func (r kRequest) Path() string {
	hostabi.Check(hostabi.OpRequestPath, r.s.phase)
	return r.s.path
}
func (r kRequest) RawPath() string {
	hostabi.Check(hostabi.OpRequestRawPath, r.s.phase)
	return string(r.s.fctx.Request.URI().PathOriginal())
}
func (r kRequest) RawQuery() string {
	hostabi.Check(hostabi.OpRequestRawQuery, r.s.phase)
	return string(r.s.fctx.Request.URI().QueryString())
}
func (r kRequest) QueryArg(name string) (string, bool) {
	hostabi.Check(hostabi.OpRequestQueryArg, r.s.phase)
	v := r.s.fctx.Request.URI().QueryArgs().Peek(name)
	if v == nil {
		return "", r.s.fctx.Request.URI().QueryArgs().Has(name)
	}
	return string(v), true
}
func (r kRequest) Query() map[string][]string {
	hostabi.Check(hostabi.OpRequestQuery, r.s.phase)
	out := map[string][]string{}
	r.s.fctx.Request.URI().QueryArgs().VisitAll(func(k, v []byte) {
		out[string(k)] = append(out[string(k)], string(v))
	})
	return out
}
func (r kRequest) Header(name string) string {
	hostabi.Check(hostabi.OpRequestHeader, r.s.phase)
	return string(r.s.fctx.Request.Header.Peek(name))
}
func (r kRequest) Headers() map[string][]string {
	hostabi.Check(hostabi.OpRequestHeaders, r.s.phase)
	return headerMap(&r.s.fctx.Request.Header)
}

// HeaderValues looks the header up with PeekAll, which normalizes the name
// as the server normalized the request's, and copies the values out of
// fasthttp's buffers into one string: a header costs the returned slice
// and that string, whatever else the request carries. The values are
// those Headers reports for the name.
func (r kRequest) HeaderValues(name string) []string {
	hostabi.Check(hostabi.OpRequestHeaderValues, r.s.phase)
	vs := r.peekAll(name)
	switch len(vs) {
	case 0:
		return nil
	case 1:
		return []string{string(vs[0])}
	}
	n := 0
	for _, v := range vs {
		n += len(v)
	}
	var b strings.Builder
	b.Grow(n)
	for _, v := range vs {
		b.Write(v)
	}
	all := b.String()
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i], all = all[:len(v)], all[len(v):]
	}
	return out
}

// PeekHeader implements hostabi.HeaderPeeker: the first of the values
// HeaderValues reports and their number, as a view of the client's
// request. The client's request is not changed while plugins run (the
// upstream request is built copy on write, its changes recorded and
// replayed only when it goes upstream), so the view holds for the whole
// phase handler, as the ABI promises.
func (r kRequest) PeekHeader(name string) ([]byte, int) {
	hostabi.Check(hostabi.OpRequestHeaderValues, r.s.phase)
	vs := r.peekAll(name)
	if len(vs) == 0 {
		return nil, 0
	}
	return vs[0], len(vs)
}

// peekAll returns the values of one header HeaderValues reports, as views
// of fasthttp's buffers (the slice itself is fasthttp's, reused by the
// next PeekAll).
func (r kRequest) peekAll(name string) [][]byte {
	h := &r.s.fctx.Request.Header
	cookie := strings.EqualFold(name, fasthttp.HeaderCookie)
	if cookie {
		// Headers (VisitAll) parses the cookies and reports them as one
		// value; PeekAll does so too once they are parsed.
		h.Cookie("")
	}
	vs := h.PeekAll(name)
	if len(vs) == 1 && len(vs[0]) == 0 && (cookie || strings.EqualFold(name, fasthttp.HeaderContentLength) ||
		strings.EqualFold(name, fasthttp.HeaderTrailer)) {
		// PeekAll reports these even when the request has none.
		return nil
	}
	return vs
}
func (r kRequest) RawBody() ([]byte, error) {
	hostabi.Check(hostabi.OpRequestRawBody, r.s.phase)
	return r.s.fctx.Request.Body(), nil
}

// LimitBody implements hostabi.BodyLimiter: a body read whole is measured,
// a streamed one is counted as it goes upstream.
func (r kRequest) LimitBody(max int64, status int, message string) bool {
	hostabi.Check(hostabi.OpRequestRawBody, r.s.phase)
	if !r.s.fctx.Request.IsBodyStream() {
		return int64(len(r.s.fctx.Request.Body())) > max
	}
	r.s.bodyLimit, r.s.limitStatus, r.s.limitMsg = max+1, status, message
	return false
}

var _ hostabi.BodyLimiter = kRequest{}

// TapBody implements threat.BodyTapper: a streamed body passes through t
// on its way upstream; a body read whole is not tapped (false).
func (r kRequest) TapBody(t threat.Tap) bool {
	hostabi.Check(hostabi.OpRequestRawBody, r.s.phase)
	if !r.s.fctx.Request.IsBodyStream() {
		return false
	}
	if old := r.s.tap; old != nil {
		old.End(false)
	}
	r.s.tap = t
	return true
}

var _ threat.BodyTapper = kRequest{}

func (r kRequest) Body() (map[string]any, string, error) {
	hostabi.Check(hostabi.OpRequestBody, r.s.phase)
	ct := string(r.s.fctx.Request.Header.ContentType())
	m, err := reqbody.Decode(ct, r.s.fctx.Request.Body())
	mime, _, _ := strings.Cut(ct, ";")
	return m, strings.TrimSpace(mime), err
}

func headerMap(h *fasthttp.RequestHeader) map[string][]string {
	out := map[string][]string{}
	h.VisitAll(func(k, v []byte) {
		key := strings.ToLower(string(k))
		out[key] = append(out[key], string(v))
	})
	return out
}

func responseHeaderMap(h *fasthttp.ResponseHeader) map[string][]string {
	out := map[string][]string{}
	h.VisitAll(func(k, v []byte) {
		key := strings.ToLower(string(k))
		out[key] = append(out[key], string(v))
	})
	return out
}

// kServiceRequest: kong.service.request.
type kServiceRequest struct{ s *state }

func (r kServiceRequest) SetScheme(scheme string) {
	hostabi.Check(hostabi.OpServiceRequestSetScheme, r.s.phase)
	r.s.upScheme = scheme
}
func (r kServiceRequest) SetPath(path string) {
	hostabi.Check(hostabi.OpServiceRequestSetPath, r.s.phase)
	r.s.upPath = path
}
func (r kServiceRequest) SetRawQuery(query string) {
	hostabi.Check(hostabi.OpServiceRequestSetRawQuery, r.s.phase)
	r.s.upQuery = query
	r.s.queryChanged = true
}
func (r kServiceRequest) SetMethod(method string) {
	hostabi.Check(hostabi.OpServiceRequestSetMethod, r.s.phase)
	r.s.upstream().Header.SetMethod(method)
}
func (r kServiceRequest) SetHeader(name, value string) {
	hostabi.Check(hostabi.OpServiceRequestSetHeader, r.s.phase)
	if strings.EqualFold(name, "host") {
		r.s.hostOverride = value
	}
	r.s.changeHeader(headerOp{name: name, value: value, op: opSet})
}
func (r kServiceRequest) AddHeader(name, value string) {
	hostabi.Check(hostabi.OpServiceRequestAddHeader, r.s.phase)
	r.s.changeHeader(headerOp{name: name, value: value, op: opAdd})
}
func (r kServiceRequest) ClearHeader(name string) {
	hostabi.Check(hostabi.OpServiceRequestClearHeader, r.s.phase)
	r.s.changeHeader(headerOp{name: name, op: opDel})
}
func (r kServiceRequest) SetHeaders(headers map[string][]string) {
	hostabi.Check(hostabi.OpServiceRequestSetHeaders, r.s.phase)
	for k, vs := range headers {
		r.s.upstream().Header.Del(k)
		for _, v := range vs {
			r.s.upstream().Header.Add(k, v)
		}
	}
}
func (r kServiceRequest) SetQuery(args map[string][]string) {
	hostabi.Check(hostabi.OpServiceRequestSetQuery, r.s.phase)
	r.SetRawQuery(url.Values(args).Encode())
}
func (r kServiceRequest) SetRawBody(body []byte) {
	hostabi.Check(hostabi.OpServiceRequestSetRawBody, r.s.phase)
	r.s.bodySet = true
	r.s.upstream().SetBody(body)
}
func (r kServiceRequest) SetBody(args map[string]any, mimeType string) error {
	hostabi.Check(hostabi.OpServiceRequestSetBody, r.s.phase)
	if mimeType == "" {
		mimeType, _, _ = strings.Cut(string(r.s.fctx.Request.Header.ContentType()), ";")
		mimeType = strings.TrimSpace(mimeType)
	}
	body, mimeType, err := hostabi.EncodeBody(args, mimeType)
	if err != nil {
		return err
	}
	r.s.upstream().Header.SetContentType(mimeType)
	r.s.bodySet = true
	r.s.upstream().SetBody(body)
	return nil
}

// proxyHeaders are the headers the proxy itself sets on the upstream
// request (X-Forwarded-*, X-Real-IP) and the hop-by-hop ones it drops: in
// Kong nginx adds or drops them when it proxies, after every plugin ran,
// so plugins reading the request see the client's values.
var proxyHeaders = append([]string{"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
	"x-forwarded-port", "x-forwarded-path", "x-forwarded-prefix", "x-real-ip"}, lowerAll(hopHeaders)...)

func lowerAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToLower(n)
	}
	return out
}

// UpstreamHeaders implements hostabi.ServiceRequestReader: the upstream
// request's headers as plugins changed them, with the client's values of
// the headers the proxy manages itself (proxyHeaders).
func (r kServiceRequest) UpstreamHeaders() map[string][]string {
	hostabi.Check(hostabi.OpServiceRequestSetHeaders, r.s.phase)
	out := headerMap(&r.s.upstream().Header)
	for _, name := range proxyHeaders {
		delete(out, name)
		if vs := (kRequest{r.s}).HeaderValues(name); vs != nil {
			out[name] = append([]string(nil), vs...)
		}
	}
	return out
}

// UpstreamBody implements hostabi.ServiceRequestReader.
func (r kServiceRequest) UpstreamBody() ([]byte, bool) {
	hostabi.Check(hostabi.OpServiceRequestSetRawBody, r.s.phase)
	if !r.s.bodySet {
		return nil, false
	}
	return r.s.upstream().Body(), true
}

var _ hostabi.ServiceRequestReader = kServiceRequest{}

func (r kServiceRequest) EnableBuffering() {
	hostabi.Check(hostabi.OpServiceRequestEnableBuffering, r.s.phase)
	r.s.buffered = true
}

// kResponse: kong.response.
type kResponse struct{ s *state }

func (r kResponse) Status() int {
	hostabi.Check(hostabi.OpResponseStatus, r.s.phase)
	return r.s.fctx.Response.StatusCode()
}
func (r kResponse) SetStatus(status int) {
	hostabi.Check(hostabi.OpResponseSetStatus, r.s.phase)
	r.s.fctx.Response.SetStatusCode(status)
}
func (r kResponse) Header(name string) string {
	hostabi.Check(hostabi.OpResponseHeader, r.s.phase)
	r.s.flushRespOps()
	return string(r.s.fctx.Response.Header.Peek(name))
}
func (r kResponse) Headers() map[string][]string {
	hostabi.Check(hostabi.OpResponseHeaders, r.s.phase)
	r.s.flushRespOps()
	return responseHeaderMap(&r.s.fctx.Response.Header)
}
func (r kResponse) SetHeader(name, value string) {
	hostabi.Check(hostabi.OpResponseSetHeader, r.s.phase)
	r.s.respOp(headerOp{name: name, value: value, op: opSet})
}
func (r kResponse) AddHeader(name, value string) {
	hostabi.Check(hostabi.OpResponseAddHeader, r.s.phase)
	r.s.respOp(headerOp{name: name, value: value, op: opAdd})
}
func (r kResponse) ClearHeader(name string) {
	hostabi.Check(hostabi.OpResponseClearHeader, r.s.phase)
	r.s.respOp(headerOp{name: name, op: opDel})
}
func (r kResponse) Source() string {
	hostabi.Check(hostabi.OpResponseSource, r.s.phase)
	switch {
	case r.s.exited:
		return "exit"
	case r.s.failed:
		return "error"
	}
	return "service"
}
func (r kResponse) Exit(status int, body []byte, headers map[string]string) {
	hostabi.Check(hostabi.OpResponseExit, r.s.phase)
	s := r.s
	s.flushRespOps()
	s.exited = true
	s.fctx.Response.SetStatusCode(status)
	for k, v := range headers {
		s.fctx.Response.Header.Set(k, v)
	}
	if body == nil {
		s.fctx.Response.ResetBody()
	} else {
		s.fctx.Response.SetBody(body)
	}
}
func (r kResponse) Error(status int, message string, headers map[string]string) {
	hostabi.Check(hostabi.OpResponseError, r.s.phase)
	s := r.s
	s.flushRespOps()
	if message == "" {
		message = hostabi.ErrorMessage(status)
	}
	accept := string(s.fctx.Request.Header.Peek("Accept"))
	for k, v := range headers {
		if strings.EqualFold(k, "Content-Type") {
			accept = v
		}
	}
	s.exited = true
	s.fctx.Response.SetStatusCode(status)
	ct, body := hostabi.ErrorBody(accept, message, s.reqID())
	s.fctx.Response.Header.SetContentType(ct)
	for k, v := range headers {
		if !strings.EqualFold(k, "Content-Type") {
			s.fctx.Response.Header.Set(k, v)
		}
	}
	s.fctx.Response.SetBodyString(body)
}
func (r kResponse) Exited() bool {
	hostabi.Check(hostabi.OpResponseExited, r.s.phase)
	return r.s.exited
}
func (r kResponse) RawBody() []byte {
	hostabi.Check(hostabi.OpResponseRawBody, r.s.phase)
	return r.s.fctx.Response.Body()
}
func (r kResponse) SetRawBody(body []byte) {
	hostabi.Check(hostabi.OpResponseSetRawBody, r.s.phase)
	r.s.fctx.Response.SetBody(body)
}

// kServiceResponse: kong.service.response.
type kServiceResponse struct{ s *state }

func (r kServiceResponse) Status() int {
	hostabi.Check(hostabi.OpServiceResponseStatus, r.s.phase)
	return r.s.upStatus
}
func (r kServiceResponse) Header(name string) string {
	hostabi.Check(hostabi.OpServiceResponseHeader, r.s.phase)
	if r.s.upResp == nil {
		return ""
	}
	return string(r.s.upResp.Header.Peek(name))
}
func (r kServiceResponse) Headers() map[string][]string {
	hostabi.Check(hostabi.OpServiceResponseHeaders, r.s.phase)
	if r.s.upResp == nil {
		return map[string][]string{}
	}
	return responseHeaderMap(&r.s.upResp.Header)
}
func (r kServiceResponse) RawBody() []byte {
	hostabi.Check(hostabi.OpServiceResponseRawBody, r.s.phase)
	if r.s.upResp == nil {
		return nil
	}
	return r.s.upResp.Body()
}

// kClient: kong.client.
type kClient struct{ s *state }

func (c kClient) IP() string {
	hostabi.Check(hostabi.OpClientIP, c.s.phase)
	return c.s.remoteIP
}
func (c kClient) ForwardedIP() string {
	hostabi.Check(hostabi.OpClientForwardedIP, c.s.phase)
	return c.s.clientIP
}
func (c kClient) Port() int {
	hostabi.Check(hostabi.OpClientPort, c.s.phase)
	return c.s.remotePort
}
func (c kClient) ForwardedPort() int {
	hostabi.Check(hostabi.OpClientForwardedPort, c.s.phase)
	return c.s.remotePort
}
func (c kClient) Protocol() string {
	hostabi.Check(hostabi.OpClientProtocol, c.s.phase)
	return c.s.scheme
}
func (c kClient) Consumer() hostabi.Entity {
	hostabi.Check(hostabi.OpClientConsumer, c.s.phase)
	return c.s.consumer
}
func (c kClient) Credential() hostabi.Entity {
	hostabi.Check(hostabi.OpClientCredential, c.s.phase)
	return c.s.credential
}
func (c kClient) Authenticate(consumer, credential hostabi.Entity) {
	hostabi.Check(hostabi.OpClientAuthenticate, c.s.phase)
	c.s.consumer, c.s.credential = consumer, credential
	c.s.consumerID, _ = consumer["id"].(string)
}
func (c kClient) LoadConsumer(ctx context.Context, key string, byUsername bool) (hostabi.Entity, error) {
	hostabi.Check(hostabi.OpClientLoadConsumer, c.s.phase)
	return c.s.srv.opts.Consumers.Consumer(ctx, key, byUsername)
}

// kCtx: kong.ctx.
type kCtx struct{ s *state }

func (c kCtx) Shared() hostabi.Values { return kShared(c) }
func (c kCtx) Plugin() hostabi.Values { return kPluginCtx(c) }

// kShared: kong.ctx.shared.
type kShared struct{ s *state }

func (c kShared) Get(key string) (any, bool) {
	hostabi.Check(hostabi.OpCtxSharedGet, c.s.phase)
	v, ok := c.s.shared[key]
	return v, ok
}
func (c kShared) Set(key string, value any) {
	hostabi.Check(hostabi.OpCtxSharedSet, c.s.phase)
	if c.s.shared == nil {
		c.s.shared = map[string]any{}
	}
	c.s.shared[key] = value
}
func (c kShared) Delete(key string) {
	hostabi.Check(hostabi.OpCtxSharedDelete, c.s.phase)
	delete(c.s.shared, key)
}

// kPluginCtx: kong.ctx.plugin, one map per instance.
type kPluginCtx struct{ s *state }

func (c kPluginCtx) Get(key string) (any, bool) {
	hostabi.Check(hostabi.OpCtxPluginGet, c.s.phase)
	v, ok := c.s.pluginCtx[c.s.current][key]
	return v, ok
}
func (c kPluginCtx) Set(key string, value any) {
	hostabi.Check(hostabi.OpCtxPluginSet, c.s.phase)
	if c.s.pluginCtx == nil {
		c.s.pluginCtx = map[*chain.Instance]map[string]any{}
	}
	m := c.s.pluginCtx[c.s.current]
	if m == nil {
		m = map[string]any{}
		c.s.pluginCtx[c.s.current] = m
	}
	m[key] = value
}
func (c kPluginCtx) Delete(key string) {
	hostabi.Check(hostabi.OpCtxPluginDelete, c.s.phase)
	delete(c.s.pluginCtx[c.s.current], key)
}

// kLog: kong.log, with the plugin's name and the request id attached.
type kLog struct{ s *state }

func (l kLog) with(kv []any) []any {
	hostabi.Check(hostabi.OpLog, l.s.phase)
	name := ""
	if l.s.current != nil {
		name = l.s.current.Name
	}
	return append([]any{"plugin", name, "request_id", l.s.reqID()}, kv...)
}
func (l kLog) Debug(msg string, kv ...any)  { l.s.srv.log.Debug(msg, l.with(kv)...) }
func (l kLog) Info(msg string, kv ...any)   { l.s.srv.log.Info(msg, l.with(kv)...) }
func (l kLog) Notice(msg string, kv ...any) { l.s.srv.log.Info(msg, l.with(kv)...) }
func (l kLog) Warn(msg string, kv ...any)   { l.s.srv.log.Warn(msg, l.with(kv)...) }
func (l kLog) Err(msg string, kv ...any)    { l.s.srv.log.Error(msg, l.with(kv)...) }
func (l kLog) Crit(msg string, kv ...any)   { l.s.srv.log.Error(msg, l.with(kv)...) }

func (l kLog) SetSerializeValue(key string, value any) {
	hostabi.Check(hostabi.OpLogSetSerializeValue, l.s.phase)
	l.s.serialize = append(l.s.serialize, hostabi.SerializeValue{Key: key, Value: value})
}

func (l kLog) SetSerializeValueMode(key string, value any, mode hostabi.SerializeMode) error {
	hostabi.Check(hostabi.OpLogSetSerializeValue, l.s.phase)
	if !mode.Valid() {
		return fmt.Errorf("mode must be 'set', 'add' or 'replace'")
	}
	l.s.serialize = append(l.s.serialize, hostabi.SerializeValue{Key: key, Value: value, Mode: mode})
	return nil
}

func (l kLog) Serialize() map[string]any {
	hostabi.Check(hostabi.OpLogSerialize, l.s.phase)
	s := l.s
	fctx := s.fctx
	host := kRequest{s}.Host()
	uri := string(fctx.Request.RequestURI())
	rec := hostabi.LogRecord{
		RequestID: s.reqID(), URI: uri,
		URL:   s.scheme + "://" + net.JoinHostPort(host, strconv.Itoa(s.localPort)) + uri,
		Query: kRequest{s}.Query(), Method: string(fctx.Method()),
		RequestHeaders:  headerMap(&fctx.Request.Header),
		RequestSize:     len(fctx.Request.Header.Header()) + len(fctx.Request.Body()),
		Status:          fctx.Response.StatusCode(),
		ResponseHeaders: responseHeaderMap(&fctx.Response.Header),
		ResponseSize:    len(fctx.Response.Header.Header()) + len(fctx.Response.Body()),
		RequestLatency:  s.doneAt.Sub(s.start),
		Consumer:        s.consumer, Credential: s.credential,
		ClientIP: s.remoteIP, StartedAt: s.start,
		Source: kResponse{s}.Source(),
	}
	rec.WorkspaceName = "default"
	rec.Tries = s.tries
	rec.TLS = logTLS(s.tlsState, fctx)
	if s.proxiedAt.IsZero() {
		rec.KongLatency, rec.ProxyLatency = s.doneAt.Sub(s.start), -1
	} else {
		rec.KongLatency, rec.ProxyLatency = s.proxiedAt.Sub(s.start), s.doneAt.Sub(s.proxiedAt)
		if !s.respondedAt.IsZero() && !s.respondedAt.After(s.doneAt) {
			// Kong's proxy latency waits for the upstream's response;
			// receiving it is the receive latency.
			rec.ProxyLatency = s.respondedAt.Sub(s.proxiedAt)
			rec.ReceiveLatency = s.doneAt.Sub(s.respondedAt)
		}
		rec.UpstreamURI = s.upPath
		query := s.upQuery
		if !s.queryChanged {
			query = string(fctx.URI().QueryString()) // the client's, unchanged
		}
		if query != "" {
			rec.UpstreamURI += "?" + query
		}
		if s.upStatus != 0 {
			rec.UpstreamStatus = strconv.Itoa(s.upStatus)
		}
	}
	if s.match.Route != nil {
		rec.Route = s.match.Route.Raw
	}
	if s.service != nil {
		rec.Service = s.service.Raw
	}
	return rec.Map(s.serialize)
}

// logTLS describes the client's TLS connection as nginx's variables do
// ($ssl_protocol, $ssl_cipher, $ssl_client_verify); nil over plain HTTP.
func logTLS(cs *tls.ConnectionState, fctx *fasthttp.RequestCtx) *hostabi.LogTLS {
	if cs == nil {
		cs = fctx.TLSConnectionState()
	}
	if cs == nil {
		return nil
	}
	out := &hostabi.LogTLS{Version: tlsVersionNames[cs.Version], Cipher: tls.CipherSuiteName(cs.CipherSuite), ClientVerify: "NONE"}
	if out.Version == "" {
		out.Version = tls.VersionName(cs.Version)
	}
	if name, ok := opensslCipherNames[cs.CipherSuite]; ok {
		out.Cipher = name
	}
	switch {
	case len(cs.VerifiedChains) > 0:
		out.ClientVerify = "SUCCESS"
	case len(cs.PeerCertificates) > 0:
		out.ClientVerify = "FAILED:certificate not verified"
	}
	return out
}

// tlsVersionNames are nginx's $ssl_protocol names.
var tlsVersionNames = map[uint16]string{
	tls.VersionTLS10: "TLSv1", tls.VersionTLS11: "TLSv1.1", tls.VersionTLS12: "TLSv1.2", tls.VersionTLS13: "TLSv1.3",
}

// opensslCipherNames are OpenSSL's names ($ssl_cipher) of the TLS 1.2
// suites Go offers; TLS 1.3 suites have the same name in both.
var opensslCipherNames = map[uint16]string{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       "ECDHE-ECDSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:         "ECDHE-RSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       "ECDHE-ECDSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:         "ECDHE-RSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:   "ECDHE-RSA-CHACHA20-POLY1305",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA:          "ECDHE-ECDSA-AES128-SHA",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA:          "ECDHE-ECDSA-AES256-SHA",
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA:            "ECDHE-RSA-AES128-SHA",
	tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA:            "ECDHE-RSA-AES256-SHA",
	tls.TLS_RSA_WITH_AES_128_GCM_SHA256:               "AES128-GCM-SHA256",
	tls.TLS_RSA_WITH_AES_256_GCM_SHA384:               "AES256-GCM-SHA384",
	tls.TLS_RSA_WITH_AES_128_CBC_SHA:                  "AES128-SHA",
	tls.TLS_RSA_WITH_AES_256_CBC_SHA:                  "AES256-SHA",
}

// errNoDB answers kong.db on a node without one.
var errNoDB = &hostabi.DBError{Code: 8, Name: "database error", Message: "this node offers no database to plugins"}

// kService: kong.service.
type kService struct{ s *state }

func (k kService) SetTarget(host string, port int) {
	hostabi.Check(hostabi.OpServiceSetTarget, k.s.phase)
	k.s.targetOverride = net.JoinHostPort(host, strconv.Itoa(port))
}
func (k kService) SetUpstream(name string) error {
	hostabi.Check(hostabi.OpServiceSetUpstream, k.s.phase)
	b := k.s.snap.Upstreams[name]
	if b == nil {
		return fmt.Errorf("could not find an Upstream named '%s'", name)
	}
	k.s.upstreamOverride = b
	return nil
}

// kTLS: kong.client.tls.
type kTLS struct{ s *state }

func (t kTLS) ClientCertificateChain() (string, error) {
	hostabi.Check(hostabi.OpClientTLSCertificateChain, t.s.phase)
	cs := t.s.tlsState
	if cs == nil {
		cs = t.s.fctx.TLSConnectionState()
	}
	if cs == nil {
		return "", nil
	}
	var b strings.Builder
	for _, c := range cs.PeerCertificates {
		if err := pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}); err != nil {
			return "", fmt.Errorf("encoding the client certificate: %w", err)
		}
	}
	return b.String(), nil
}

// kHTTP: outbound requests.
type kHTTP struct{ s *state }

func (h kHTTP) Do(ctx context.Context, r hostabi.HTTPRequest) (hostabi.HTTPResponse, error) {
	hostabi.Check(hostabi.OpHTTPDo, h.s.phase)
	return h.s.srv.http.Do(ctx, r)
}

// kTimers: kong.timer.at, on the node's bounded timer workers.
type kTimers struct{ s *state }

func (t kTimers) After(delay time.Duration, fn func(ctx context.Context, h hostabi.HTTP)) error {
	hostabi.Check(hostabi.OpTimersAfter, t.s.phase)
	name := ""
	if t.s.current != nil {
		name = t.s.current.Name
	}
	return t.s.srv.timers.After(name, delay, fn)
}

// kIP: kong.ip.
type kIP struct{ s *state }

func (k kIP) IsTrusted(addr string) bool {
	hostabi.Check(hostabi.OpIPIsTrusted, k.s.phase)
	return k.s.srv.isTrusted(addr)
}

// kPlugin: kong.plugin.
type kPlugin struct{ s *state }

func (k kPlugin) ID() string {
	hostabi.Check(hostabi.OpPluginID, k.s.phase)
	if k.s.current == nil {
		return ""
	}
	return k.s.current.ID
}
func (k kPlugin) Name() string {
	hostabi.Check(hostabi.OpPluginName, k.s.phase)
	if k.s.current == nil {
		return ""
	}
	return k.s.current.Name
}

// kNode: kong.node.
type kNode struct{ s *state }

func (n kNode) ID() string {
	hostabi.Check(hostabi.OpNodeID, n.s.phase)
	return n.s.srv.opts.NodeID
}
func (n kNode) Hostname() string {
	hostabi.Check(hostabi.OpNodeHostname, n.s.phase)
	return n.s.srv.opts.Hostname
}

// kRouter: kong.router.
type kRouter struct{ s *state }

func (r kRouter) Route() hostabi.Entity {
	hostabi.Check(hostabi.OpRouterRoute, r.s.phase)
	if r.s.match.Route == nil {
		return nil
	}
	return r.s.match.Route.Raw
}
func (r kRouter) Service() hostabi.Entity {
	hostabi.Check(hostabi.OpRouterService, r.s.phase)
	if r.s.service == nil {
		return nil
	}
	return r.s.service.Raw
}
func (r kRouter) URICaptures() map[string]string {
	hostabi.Check(hostabi.OpRouterURICaptures, r.s.phase)
	return r.s.captures()
}
