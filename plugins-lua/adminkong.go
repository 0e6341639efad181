package luahost

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
)

// adminKong is the hostabi.Kong an Admin API endpoint call (Kong's
// api.lua) is bound to: kong.request reads the Admin API request,
// kong.response and ngx.say make the endpoint's answer, kong.db,
// kong.log and kong.node are the node's (hostabi.EndpointHost). It
// reports the access phase, so the PDK functions a handler may call in
// access work the same here; the facets that describe a proxied request
// (kong.service, kong.client, kong.router, kong.ip, kong.plugin,
// kong.client.tls, ngx.timer) raise a Lua error naming the function.
type adminKong struct {
	ctx    context.Context
	host   hostabi.EndpointHost
	req    adminRequest
	resp   adminResponse
	values [2]adminValues
}

var _ hostabi.Kong = (*adminKong)(nil)

func newAdminKong(ctx context.Context, host hostabi.EndpointHost, req hostabi.EndpointRequest) *adminKong {
	k := &adminKong{ctx: ctx, host: host, req: adminRequest{r: req}}
	k.resp = adminResponse{status: 200, headers: map[string][]string{}, req: &k.req}
	k.values = [2]adminValues{{}, {}}
	return k
}

// unavailableError is raised (as a Lua error) by the PDK functions an
// Admin API call has no use for.
type unavailableError struct{ what string }

func (e unavailableError) Error() string {
	return e.what + " is not available in an Admin API endpoint (api.lua)"
}

func (k *adminKong) Phase() hostabi.Phase       { return hostabi.PhaseAccess }
func (k *adminKong) Context() context.Context   { return k.ctx }
func (k *adminKong) Request() hostabi.Request   { return &k.req }
func (k *adminKong) Response() hostabi.Response { return &k.resp }
func (k *adminKong) Ctx() hostabi.Ctx           { return adminCtx{k} }
func (k *adminKong) Plugin() hostabi.Plugin     { panic(unavailableError{"kong.plugin"}) }
func (k *adminKong) ServiceRequest() hostabi.ServiceRequest {
	panic(unavailableError{"kong.service.request"})
}
func (k *adminKong) Service() hostabi.Service { panic(unavailableError{"kong.service"}) }
func (k *adminKong) ServiceResponse() hostabi.ServiceResponse {
	panic(unavailableError{"kong.service.response"})
}
func (k *adminKong) Client() hostabi.Client           { return adminClient{k} }
func (k *adminKong) Router() hostabi.Router           { panic(unavailableError{"kong.router"}) }
func (k *adminKong) IP() hostabi.IP                   { panic(unavailableError{"kong.ip"}) }
func (k *adminKong) TLS() hostabi.TLS                 { panic(unavailableError{"kong.client.tls"}) }
func (k *adminKong) Timers() hostabi.Timers           { panic(unavailableError{"ngx.timer"}) }
func (k *adminKong) HTTP() hostabi.HTTP               { return nil } // resty.http goes out directly
func (k *adminKong) Cache() hostabi.Cache             { return passCache{} }
func (k *adminKong) Credentials() hostabi.Credentials { return adminCredentials{k} }

func (k *adminKong) Log() hostabi.Log {
	if k.host.Log == nil {
		panic(unavailableError{"kong.log"})
	}
	return k.host.Log
}

func (k *adminKong) Node() hostabi.Node {
	if k.host.Node == nil {
		panic(unavailableError{"kong.node"})
	}
	return k.host.Node
}

func (k *adminKong) DB() hostabi.DB {
	if k.host.DB == nil {
		panic(unavailableError{"kong.db"})
	}
	return k.host.DB
}

// adminCtx is kong.ctx of the call: kong.ctx.shared and kong.ctx.plugin
// live as long as the call.
type adminCtx struct{ k *adminKong }

func (c adminCtx) Shared() hostabi.Values { return c.k.values[0] }
func (c adminCtx) Plugin() hostabi.Values { return c.k.values[1] }

// adminValues is one kong.ctx table of the call.
type adminValues map[string]any

func (v adminValues) Get(key string) (any, bool) { x, ok := v[key]; return x, ok }
func (v adminValues) Set(key string, value any)  { v[key] = value }
func (v adminValues) Delete(key string)          { delete(v, key) }

// passCache is kong.cache in an endpoint call: every lookup misses, so a
// loader callback always runs, and nothing is kept. Entities written
// through kong.db are invalidated on the node as any write is.
type passCache struct{}

func (passCache) Get(string) (any, bool)         { return nil, false }
func (passCache) Set(string, any, time.Duration) {}
func (passCache) Lookup(context.Context, string) (any, bool, bool, error) {
	return nil, false, true, nil
}
func (passCache) Fill(string, any, time.Duration) {}
func (passCache) Abandon(string, error)           {}
func (passCache) Invalidate(string)               {}

// adminCredentials looks credentials up in the store (no cache).
type adminCredentials struct{ k *adminKong }

func (c adminCredentials) Credential(ctx context.Context, entity, field, value string) (hostabi.Entity, error) {
	return c.k.DB().SelectBy(ctx, entity, field, value)
}

func (c adminCredentials) ConsumerCredentials(ctx context.Context, entity, consumerID string) ([]hostabi.Entity, error) {
	var out []hostabi.Entity
	q := hostabi.PageQuery{Size: 1000, ForeignField: "consumer", ForeignKey: consumerID}
	for {
		page, next, err := c.k.DB().Page(ctx, entity, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		q.Offset = next
	}
}

// adminClient is kong.client in an endpoint call: consumers load from
// the store (kong.client.load_consumer, the 0.x DAO's consumers); there
// is no authenticated identity, and the connection's facts are not
// handed to endpoints.
type adminClient struct{ k *adminKong }

func (adminClient) IP() string               { panic(unavailableError{"kong.client.get_ip"}) }
func (adminClient) ForwardedIP() string      { panic(unavailableError{"kong.client.get_forwarded_ip"}) }
func (adminClient) Port() int                { panic(unavailableError{"kong.client.get_port"}) }
func (adminClient) ForwardedPort() int       { panic(unavailableError{"kong.client.get_forwarded_port"}) }
func (adminClient) Protocol() string         { return "http" }
func (adminClient) Consumer() hostabi.Entity { return nil }
func (adminClient) Credential() hostabi.Entity {
	return nil
}
func (adminClient) Authenticate(hostabi.Entity, hostabi.Entity) {
	panic(unavailableError{"kong.client.authenticate"})
}

func (c adminClient) LoadConsumer(ctx context.Context, key string, byUsername bool) (hostabi.Entity, error) {
	if byUsername {
		return c.k.DB().SelectBy(ctx, "consumers", "username", key)
	}
	return c.k.DB().Select(ctx, "consumers", key)
}

// adminRequest is kong.request over the Admin API request.
type adminRequest struct{ r hostabi.EndpointRequest }

func (r *adminRequest) hostPort() (string, int) {
	h := r.Header("host")
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		return h, 0
	}
	p, _ := strconv.Atoi(port)
	return host, p
}

func (r *adminRequest) Scheme() string          { return "http" }
func (r *adminRequest) Host() string            { h, _ := r.hostPort(); return h }
func (r *adminRequest) Port() int               { _, p := r.hostPort(); return p }
func (r *adminRequest) ForwardedScheme() string { return r.Scheme() }
func (r *adminRequest) ForwardedHost() string   { return r.Host() }
func (r *adminRequest) ForwardedPort() int      { return r.Port() }
func (r *adminRequest) HTTPVersion() float64    { return 1.1 }
func (r *adminRequest) Method() string          { return r.r.Method }
func (r *adminRequest) Path() string            { return r.r.URI }
func (r *adminRequest) RawPath() string         { return r.r.URI }
func (r *adminRequest) RawQuery() string        { return r.r.RawQuery }

func (r *adminRequest) QueryArg(name string) (string, bool) {
	vs, ok := r.Query()[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

func (r *adminRequest) Query() map[string][]string {
	q, _ := url.ParseQuery(r.r.RawQuery)
	return q
}

func (r *adminRequest) Header(name string) string {
	if vs := r.HeaderValues(name); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

func (r *adminRequest) HeaderValues(name string) []string {
	return r.r.Headers[strings.ToLower(name)]
}

func (r *adminRequest) Headers() map[string][]string {
	out := make(map[string][]string, len(r.r.Headers))
	for k, vs := range r.r.Headers {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func (r *adminRequest) RawBody() ([]byte, error) { return r.r.Body, nil }

// Body decodes a JSON, form or multipart body, as kong.request.get_body.
func (r *adminRequest) Body() (map[string]any, string, error) {
	ct := r.Header("content-type")
	mt, params, _ := mime.ParseMediaType(ct)
	switch {
	case mt == "application/json":
		var v map[string]any
		if err := json.Unmarshal(r.r.Body, &v); err != nil {
			return nil, mt, fmt.Errorf("failed to decode JSON body: %w", err)
		}
		return v, mt, nil
	case mt == "application/x-www-form-urlencoded":
		q, err := url.ParseQuery(string(r.r.Body))
		if err != nil {
			return nil, mt, err
		}
		return formArgs(q), mt, nil
	case mt == "multipart/form-data":
		fields, err := multipartFields(r.r.Body, params["boundary"])
		if err != nil {
			return nil, mt, err
		}
		out := make(map[string]any, len(fields))
		for k, v := range fields {
			out[k] = v
		}
		return out, mt, nil
	}
	return nil, mt, fmt.Errorf("unsupported content type %q", ct)
}

// formArgs turns form values into Kong's arguments: a string, or a list
// for a repeated name.
func formArgs(q url.Values) map[string]any {
	out := make(map[string]any, len(q))
	for k, vs := range q {
		if len(vs) == 1 {
			out[k] = vs[0]
			continue
		}
		list := make([]any, len(vs))
		for i, v := range vs {
			list[i] = v
		}
		out[k] = list
	}
	return out
}

// maxMultipartFields bounds the fields of a multipart body.
const maxMultipartFields = 1000

// multipartFields reads a multipart body's fields (a file's content is
// its value, as Kong's Admin API takes it).
func multipartFields(body []byte, boundary string) (map[string]string, error) {
	if boundary == "" {
		return nil, fmt.Errorf("multipart body without a boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	out := map[string]string{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("multipart body: %w", err)
		}
		if len(out) >= maxMultipartFields {
			return nil, fmt.Errorf("multipart body: more than %d fields", maxMultipartFields)
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, fmt.Errorf("multipart body: %w", err)
		}
		if name := part.FormName(); name != "" {
			out[name] = string(data)
		}
	}
}

func (r *adminRequest) Var(name string) (string, bool) {
	switch name {
	case "request_uri":
		if r.r.RawQuery != "" {
			return r.r.URI + "?" + r.r.RawQuery, true
		}
		return r.r.URI, true
	case "uri":
		return r.r.URI, true
	case "scheme":
		return "http", true
	case "host":
		return r.Host(), true
	case "request_method":
		return r.r.Method, true
	}
	return "", false
}

// adminResponse records the endpoint's answer.
type adminResponse struct {
	req     *adminRequest
	status  int
	headers map[string][]string
	body    []byte
	exited  bool
	source  string
}

func (r *adminResponse) Status() int          { return r.status }
func (r *adminResponse) SetStatus(status int) { r.status = status }
func (r *adminResponse) Header(name string) string {
	if vs := r.headers[strings.ToLower(name)]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

func (r *adminResponse) Headers() map[string][]string {
	out := make(map[string][]string, len(r.headers))
	for k, vs := range r.headers {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func (r *adminResponse) SetHeader(name, value string) {
	r.headers[strings.ToLower(name)] = []string{value}
}

func (r *adminResponse) AddHeader(name, value string) {
	n := strings.ToLower(name)
	r.headers[n] = append(r.headers[n], value)
}

func (r *adminResponse) ClearHeader(name string) { delete(r.headers, strings.ToLower(name)) }

func (r *adminResponse) Source() string {
	if r.source == "" {
		return "exit"
	}
	return r.source
}

func (r *adminResponse) Exit(status int, body []byte, headers map[string]string) {
	if r.exited {
		return
	}
	r.exited, r.source = true, "exit"
	r.status, r.body = status, append([]byte(nil), body...)
	for k, v := range headers {
		r.SetHeader(k, v)
	}
}

func (r *adminResponse) Error(status int, message string, headers map[string]string) {
	if r.exited {
		return
	}
	if message == "" {
		message = hostabi.ErrorMessage(status)
	}
	ct, body := hostabi.ErrorBody(r.req.Header("accept"), message, "")
	r.Exit(status, []byte(body), headers)
	r.source = "error"
	if r.Header("content-type") == "" {
		r.SetHeader("content-type", ct)
	}
}

func (r *adminResponse) Exited() bool        { return r.exited }
func (r *adminResponse) RawBody() []byte     { return r.body }
func (r *adminResponse) SetRawBody(b []byte) { r.body = append([]byte(nil), b...) }
func (r *adminResponse) result() hostabi.EndpointResponse {
	return hostabi.EndpointResponse{Status: r.status, Headers: r.Headers(), Body: r.body}
}
