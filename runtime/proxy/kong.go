package proxy

import (
	"context"
	"encoding/json"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/admin/reqbody"
	"github.com/gatehouse/gatehouse/runtime/chain"
	"github.com/valyala/fasthttp"
)

// The hostabi implementation over one request's state. Each facet is a
// one-pointer struct, so handing it out as an interface does not allocate.

func (s *state) Phase() hostabi.Phase                     { return s.phase }
func (s *state) Context() context.Context                 { return s.ctx }
func (s *state) Request() hostabi.Request                 { return kRequest{s} }
func (s *state) ServiceRequest() hostabi.ServiceRequest   { return kServiceRequest{s} }
func (s *state) Response() hostabi.Response               { return kResponse{s} }
func (s *state) ServiceResponse() hostabi.ServiceResponse { return kServiceResponse{s} }
func (s *state) Client() hostabi.Client                   { return kClient{s} }
func (s *state) Ctx() hostabi.Ctx                         { return kCtx{s} }
func (s *state) Log() hostabi.Log                         { return kLog{s} }
func (s *state) Cache() hostabi.Cache                     { return s.srv.opts.Cache }
func (s *state) Node() hostabi.Node                       { return kNode{s} }
func (s *state) Router() hostabi.Router                   { return kRouter{s} }
func (s *state) Credentials() hostabi.Credentials         { return s.srv.opts.Credentials }

// Running implements chain.Tracker: kong.ctx.plugin belongs to the
// instance that runs.
func (s *state) Running(in *chain.Instance) { s.current = in }

var (
	_ hostabi.Kong  = (*state)(nil)
	_ chain.Tracker = (*state)(nil)
)

// kRequest: kong.request.
type kRequest struct{ s *state }

func (r kRequest) Scheme() string { return r.s.scheme }
func (r kRequest) Host() string {
	h := string(r.s.fctx.Request.Host())
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}
func (r kRequest) Port() int { return r.s.localPort }
func (r kRequest) ForwardedScheme() string {
	if r.s.trusted {
		if v := r.s.fctx.Request.Header.Peek("X-Forwarded-Proto"); len(v) > 0 {
			return string(v)
		}
	}
	return r.s.scheme
}
func (r kRequest) ForwardedHost() string {
	if r.s.trusted {
		if v := r.s.fctx.Request.Header.Peek("X-Forwarded-Host"); len(v) > 0 {
			return string(v)
		}
	}
	return r.Host()
}
func (r kRequest) ForwardedPort() int {
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
	if r.s.fctx.Request.Header.IsHTTP11() {
		return 1.1
	}
	return 1.0
}
func (r kRequest) Method() string  { return string(r.s.fctx.Method()) }
func (r kRequest) Path() string    { return r.s.path }
func (r kRequest) RawPath() string { return string(r.s.fctx.Request.URI().PathOriginal()) }
func (r kRequest) RawQuery() string {
	return string(r.s.fctx.Request.URI().QueryString())
}
func (r kRequest) QueryArg(name string) (string, bool) {
	v := r.s.fctx.Request.URI().QueryArgs().Peek(name)
	if v == nil {
		return "", r.s.fctx.Request.URI().QueryArgs().Has(name)
	}
	return string(v), true
}
func (r kRequest) Query() map[string][]string {
	out := map[string][]string{}
	r.s.fctx.Request.URI().QueryArgs().VisitAll(func(k, v []byte) {
		out[string(k)] = append(out[string(k)], string(v))
	})
	return out
}
func (r kRequest) Header(name string) string { return string(r.s.fctx.Request.Header.Peek(name)) }
func (r kRequest) Headers() map[string][]string {
	return headerMap(&r.s.fctx.Request.Header)
}

// HeaderValues looks the header up with PeekAll, which normalizes the name
// as the server normalized the request's, and copies the values out of
// fasthttp's buffers into one string: a header costs the returned slice
// and that string, whatever else the request carries. The values are
// those Headers reports for the name.
func (r kRequest) HeaderValues(name string) []string {
	h := &r.s.fctx.Request.Header
	cookie := strings.EqualFold(name, fasthttp.HeaderCookie)
	if cookie {
		// Headers (VisitAll) parses the cookies and reports them as one
		// value; PeekAll does so too once they are parsed.
		h.Cookie("")
	}
	vs := h.PeekAll(name)
	switch {
	case len(vs) == 0:
		return nil
	case len(vs) == 1:
		if len(vs[0]) == 0 && (cookie || strings.EqualFold(name, fasthttp.HeaderContentLength) ||
			strings.EqualFold(name, fasthttp.HeaderTrailer)) {
			// PeekAll reports these even when the request has none.
			return nil
		}
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
func (r kRequest) RawBody() ([]byte, error) { return r.s.fctx.Request.Body(), nil }
func (r kRequest) Body() (map[string]any, string, error) {
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

func (r kServiceRequest) SetScheme(scheme string)  { r.s.upScheme = scheme }
func (r kServiceRequest) SetPath(path string)      { r.s.upPath = path }
func (r kServiceRequest) SetRawQuery(query string) { r.s.upQuery = query; r.s.queryChanged = true }
func (r kServiceRequest) SetMethod(method string)  { r.s.up.Header.SetMethod(method) }
func (r kServiceRequest) SetHeader(name, value string) {
	if strings.EqualFold(name, "host") {
		r.s.hostOverride = value
	}
	r.s.up.Header.Set(name, value)
}
func (r kServiceRequest) AddHeader(name, value string) { r.s.up.Header.Add(name, value) }
func (r kServiceRequest) ClearHeader(name string)      { r.s.up.Header.Del(name) }
func (r kServiceRequest) SetHeaders(headers map[string][]string) {
	for k, vs := range headers {
		r.s.up.Header.Del(k)
		for _, v := range vs {
			r.s.up.Header.Add(k, v)
		}
	}
}
func (r kServiceRequest) SetQuery(args map[string][]string) {
	r.SetRawQuery(url.Values(args).Encode())
}
func (r kServiceRequest) SetRawBody(body []byte) {
	r.s.bodySet = true
	r.s.up.SetBody(body)
}
func (r kServiceRequest) SetBody(args map[string]any, mimeType string) error {
	if mimeType == "" {
		mimeType, _, _ = strings.Cut(string(r.s.fctx.Request.Header.ContentType()), ";")
		mimeType = strings.TrimSpace(mimeType)
	}
	body, mimeType, err := hostabi.EncodeBody(args, mimeType)
	if err != nil {
		return err
	}
	r.s.up.Header.SetContentType(mimeType)
	r.s.bodySet = true
	r.s.up.SetBody(body)
	return nil
}
func (r kServiceRequest) SetTarget(host string, port int) {
	r.s.targetOverride = net.JoinHostPort(host, strconv.Itoa(port))
}
func (r kServiceRequest) EnableBuffering() { r.s.buffered = true }

// kResponse: kong.response.
type kResponse struct{ s *state }

func (r kResponse) Status() int {
	return r.s.fctx.Response.StatusCode()
}
func (r kResponse) SetStatus(status int) { r.s.fctx.Response.SetStatusCode(status) }
func (r kResponse) Header(name string) string {
	return string(r.s.fctx.Response.Header.Peek(name))
}
func (r kResponse) Headers() map[string][]string {
	return responseHeaderMap(&r.s.fctx.Response.Header)
}
func (r kResponse) SetHeader(name, value string) {
	r.s.fctx.Response.Header.Set(name, value)
	r.s.respOps = append(r.s.respOps, headerOp{name: name, value: value, op: opSet})
}
func (r kResponse) AddHeader(name, value string) {
	r.s.fctx.Response.Header.Add(name, value)
	r.s.respOps = append(r.s.respOps, headerOp{name: name, value: value, op: opAdd})
}
func (r kResponse) ClearHeader(name string) {
	r.s.fctx.Response.Header.Del(name)
	r.s.respOps = append(r.s.respOps, headerOp{name: name, op: opDel})
}
func (r kResponse) Source() string {
	switch {
	case r.s.exited:
		return "exit"
	case r.s.failed:
		return "error"
	}
	return "service"
}
func (r kResponse) Exit(status int, body any, headers map[string]string) {
	s := r.s
	s.exited = true
	s.fctx.Response.SetStatusCode(status)
	for k, v := range headers {
		s.fctx.Response.Header.Set(k, v)
	}
	switch t := body.(type) {
	case nil:
		s.fctx.Response.ResetBody()
	case []byte:
		s.fctx.Response.SetBody(t)
	case string:
		s.fctx.Response.SetBodyString(t)
	default:
		b, err := json.Marshal(t)
		if err != nil {
			b = []byte(`{"message":"An unexpected error occurred"}`)
		}
		s.fctx.Response.SetBody(b)
		if len(s.fctx.Response.Header.ContentType()) == 0 || headers["Content-Type"] == "" {
			s.fctx.Response.Header.SetContentType("application/json; charset=utf-8")
		}
	}
}
func (r kResponse) Exited() bool           { return r.s.exited }
func (r kResponse) RawBody() []byte        { return r.s.fctx.Response.Body() }
func (r kResponse) SetRawBody(body []byte) { r.s.fctx.Response.SetBody(body) }

// kServiceResponse: kong.service.response.
type kServiceResponse struct{ s *state }

func (r kServiceResponse) Status() int { return r.s.upStatus }
func (r kServiceResponse) Header(name string) string {
	if r.s.upResp == nil {
		return ""
	}
	return string(r.s.upResp.Header.Peek(name))
}
func (r kServiceResponse) Headers() map[string][]string {
	if r.s.upResp == nil {
		return map[string][]string{}
	}
	return responseHeaderMap(&r.s.upResp.Header)
}
func (r kServiceResponse) RawBody() []byte {
	if r.s.upResp == nil {
		return nil
	}
	return r.s.upResp.Body()
}

// kClient: kong.client.
type kClient struct{ s *state }

func (c kClient) IP() string          { return c.s.remoteIP }
func (c kClient) ForwardedIP() string { return c.s.clientIP }
func (c kClient) Port() int           { return c.s.remotePort }
func (c kClient) ForwardedPort() int  { return c.s.remotePort }
func (c kClient) Protocol() string    { return c.s.scheme }
func (c kClient) Consumer() hostabi.Entity {
	return c.s.consumer
}
func (c kClient) Credential() hostabi.Entity { return c.s.credential }
func (c kClient) Authenticate(consumer, credential hostabi.Entity) {
	c.s.consumer, c.s.credential = consumer, credential
	c.s.consumerID, _ = consumer["id"].(string)
}
func (c kClient) LoadConsumer(ctx context.Context, key string, byUsername bool) (hostabi.Entity, error) {
	return c.s.srv.opts.Consumers.Consumer(ctx, key, byUsername)
}

// kCtx: kong.ctx.
type kCtx struct{ s *state }

func (c kCtx) Shared() map[string]any {
	if c.s.shared == nil {
		c.s.shared = map[string]any{}
	}
	return c.s.shared
}
func (c kCtx) Plugin() map[string]any {
	if c.s.pluginCtx == nil {
		c.s.pluginCtx = map[*chain.Instance]map[string]any{}
	}
	m := c.s.pluginCtx[c.s.current]
	if m == nil {
		m = map[string]any{}
		c.s.pluginCtx[c.s.current] = m
	}
	return m
}

// kLog: kong.log.
type kLog struct{ s *state }

func (l kLog) with(kv []any) []any {
	return append([]any{"request_id", l.s.requestID}, kv...)
}
func (l kLog) Debug(msg string, kv ...any)  { l.s.srv.log.Debug(msg, l.with(kv)...) }
func (l kLog) Info(msg string, kv ...any)   { l.s.srv.log.Info(msg, l.with(kv)...) }
func (l kLog) Notice(msg string, kv ...any) { l.s.srv.log.Info(msg, l.with(kv)...) }
func (l kLog) Warn(msg string, kv ...any)   { l.s.srv.log.Warn(msg, l.with(kv)...) }
func (l kLog) Err(msg string, kv ...any)    { l.s.srv.log.Error(msg, l.with(kv)...) }
func (l kLog) Crit(msg string, kv ...any)   { l.s.srv.log.Error(msg, l.with(kv)...) }

// kNode: kong.node.
type kNode struct{ s *state }

func (n kNode) ID() string       { return n.s.srv.opts.NodeID }
func (n kNode) Hostname() string { return n.s.srv.opts.Hostname }

// kRouter: kong.router.
type kRouter struct{ s *state }

func (r kRouter) Route() hostabi.Entity {
	if r.s.match.Route == nil {
		return nil
	}
	return r.s.match.Route.Raw
}
func (r kRouter) Service() hostabi.Entity {
	if r.s.service == nil {
		return nil
	}
	return r.s.service.Raw
}
func (r kRouter) URICaptures() map[string]string { return r.s.captures() }
