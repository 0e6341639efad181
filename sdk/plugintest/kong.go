package plugintest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/chain"
	"github.com/gatehouse/gatehouse/runtime/ngxargs"
)

// HeaderOp is one header change a plugin made, in call order.
type HeaderOp struct {
	// Op is "set", "add" or "clear".
	Op    string
	Name  string
	Value string
}

// AuthCall is one Client.Authenticate call.
type AuthCall struct {
	Consumer   hostabi.Entity
	Credential hostabi.Entity
}

// LogEntry is one kong.log call.
type LogEntry struct {
	// Level is "debug", "info", "notice", "warn", "err" or "crit".
	Level string
	Msg   string
	KV    []any
	// Plugin is the name of the instance that logged ("" when the Kong
	// is driven directly, outside Call and Run).
	Plugin string
}

// Kong implements hostabi.Kong over one in-memory Request: reads come from
// the Request, changes are recorded. Get one from Env.NewKong, call plugin
// phases on it with Call (several phases may run on the same Kong, as they
// do on one request) and read what happened with Result. Reset clears the
// recorded changes so a Kong can be reused, which keeps benchmarks free of
// harness allocations.
//
// A Kong serves one request: it is not safe for concurrent use.
type Kong struct {
	env   *Env
	req   *Request
	phase hostabi.Phase
	hdr   map[string][]string // request headers, lower-cased names
	shdr  map[string][]string // service response headers, lower-cased
	query map[string][]string // decoded query, built on first use

	// upstream request
	upMethod, upPath, upQuery, upScheme string
	methodSet, pathSet, querySet        bool
	upBody                              []byte
	bodySet                             bool
	headerOps                           []HeaderOp
	target                              string
	buffering                           bool

	// response
	status      int
	respOps     []HeaderOp
	exited      bool
	exitBody    []byte
	exitValue   any
	exitHeaders map[string]string
	respBody    []byte
	respBodySet bool

	// client
	consumer, credential hostabi.Entity
	authCalls            []AuthCall

	shared, pluginCtx map[string]any
	logs              []LogEntry

	upstream  string
	serialize []hostabi.SerializeValue
	timers    []TimerCall
	current   *chain.Instance
	start     time.Time
	ctx       *chain.Context
}

// NewKong returns a Kong serving req in this environment.
func (e *Env) NewKong(req *Request) *Kong {
	if req == nil {
		req = &Request{}
	}
	k := &Kong{env: e, req: req, hdr: lowerHeaders(req.Header), shdr: lowerHeaders(req.ServiceHeader)}
	k.Reset()
	return k
}

// Reset forgets every recorded change, as if the request had just arrived.
func (k *Kong) Reset() {
	k.upMethod, k.upPath, k.upQuery, k.upScheme = k.req.method(), k.req.path(), k.req.RawQuery, k.req.scheme()
	k.methodSet, k.pathSet, k.querySet = false, false, false
	k.upBody, k.bodySet = k.req.Body, false
	k.headerOps = k.headerOps[:0]
	k.target, k.buffering = "", false
	k.status = k.req.ServiceStatus
	if k.status == 0 {
		k.status = 200
	}
	k.respOps = k.respOps[:0]
	k.exited, k.exitBody, k.exitValue, k.exitHeaders = false, nil, nil, nil
	k.respBody, k.respBodySet = k.req.ServiceBody, false
	k.consumer, k.credential = k.req.Consumer, k.req.Credential
	k.authCalls = k.authCalls[:0]
	k.shared, k.pluginCtx = nil, nil
	k.logs = k.logs[:0]
	k.upstream = ""
	k.serialize = k.serialize[:0]
	k.timers = k.timers[:0]
	if k.ctx != nil {
		k.ctx.End()
		k.ctx = nil
	}
	k.start = time.Now()
}

// SetPhase sets the phase Kong.Phase reports; Call sets it too.
func (k *Kong) SetPhase(p hostabi.Phase) { k.phase = p }

// Phase implements hostabi.Kong.
func (k *Kong) Phase() hostabi.Phase { return k.phase }

// Context implements hostabi.Kong: Request.Context when set, else a
// context whose deadline is the node's: the request's start plus the
// Request.Service's connect, write and read timeouts (60 s each when the
// service does not say).
func (k *Kong) Context() context.Context {
	if k.req.Context != nil {
		return k.req.Context
	}
	if k.ctx == nil {
		k.ctx = chain.NewContext(k.start.Add(serviceBudget(k.req.Service)))
	}
	return k.ctx
}

// serviceBudget is the sum of a service's timeouts, as the node bounds a
// request.
func serviceBudget(svc hostabi.Entity) time.Duration {
	var total time.Duration
	for _, f := range []string{"connect_timeout", "write_timeout", "read_timeout"} {
		ms := int64(60000)
		switch v := svc[f].(type) {
		case int64:
			ms = v
		case int:
			ms = int64(v)
		case float64:
			ms = int64(v)
		}
		total += time.Duration(ms) * time.Millisecond
	}
	return total
}

// Request implements hostabi.Kong.
func (k *Kong) Request() hostabi.Request { return kRequest{k} }

// ServiceRequest implements hostabi.Kong.
func (k *Kong) ServiceRequest() hostabi.ServiceRequest { return kServiceRequest{k} }

// Response implements hostabi.Kong.
func (k *Kong) Response() hostabi.Response { return kResponse{k} }

// ServiceResponse implements hostabi.Kong.
func (k *Kong) ServiceResponse() hostabi.ServiceResponse { return kServiceResponse{k} }

// Client implements hostabi.Kong.
func (k *Kong) Client() hostabi.Client { return kClient{k} }

// Ctx implements hostabi.Kong.
func (k *Kong) Ctx() hostabi.Ctx { return kCtx{k} }

// Log implements hostabi.Kong.
func (k *Kong) Log() hostabi.Log { return kLog{k} }

// Cache implements hostabi.Kong.
func (k *Kong) Cache() hostabi.Cache { return k.env.cache }

// Node implements hostabi.Kong.
func (k *Kong) Node() hostabi.Node { return kNode{k} }

// Router implements hostabi.Kong.
func (k *Kong) Router() hostabi.Router { return kRouter{k} }

// Credentials implements hostabi.Kong.
func (k *Kong) Credentials() hostabi.Credentials { return credentials{k.env} }

// DB implements hostabi.Kong: Env.DB, phase-checked.
func (k *Kong) DB() hostabi.DB {
	var db hostabi.DB
	if k.env.DB != nil {
		db = k.env.DB
	}
	return hostabi.CheckedDB(db, k.check, errNoTestDB)
}

// errNoTestDB answers kong.db in an Env without a database.
var errNoTestDB = &hostabi.DBError{Code: 8, Name: "database error", Message: "the test environment has no database (Env.UseStore)"}

// Service implements hostabi.Kong.
func (k *Kong) Service() hostabi.Service { return kService{k} }

// IP implements hostabi.Kong.
func (k *Kong) IP() hostabi.IP { return kIP{k} }

// Plugin implements hostabi.Kong.
func (k *Kong) Plugin() hostabi.Plugin { return kPlugin{k} }

// TLS implements hostabi.Kong.
func (k *Kong) TLS() hostabi.TLS { return kTLS{k} }

// HTTP implements hostabi.Kong: Request.HTTP, or real HTTP requests
// (chain.HTTPClient) when it is nil.
func (k *Kong) HTTP() hostabi.HTTP { return kHTTP{k} }

// Timers implements hostabi.Kong: timers are recorded (Result.Timers), not
// run; a test runs them with TimerCall.Run.
func (k *Kong) Timers() hostabi.Timers { return kTimers{k} }

// Running implements chain.Tracker: the chain names the instance it runs.
func (k *Kong) Running(in *chain.Instance) { k.current = in }

// RequestID returns the request's id (what kong.response.error writes).
func (k *Kong) RequestID() string {
	if k.req.RequestID != "" {
		return k.req.RequestID
	}
	return "plugintest-request"
}

func (k *Kong) pluginName() string {
	if k.current == nil {
		return ""
	}
	return k.current.Name
}

// check enforces the phase table, as every host does. A Kong driven
// directly, outside Call and Run (phase 0), is not checked: like Kong's
// PDK outside a running node, it lets a unit test call any facet.
func (k *Kong) check(op hostabi.Op) {
	if k.phase != 0 {
		hostabi.Check(op, k.phase)
	}
}

var _ hostabi.Kong = (*Kong)(nil)

// ---- kong.request ----

type kRequest struct{ k *Kong }

func (r kRequest) Scheme() string {
	r.k.check(hostabi.OpRequestScheme)
	return r.k.req.scheme()
}
func (r kRequest) Host() string {
	r.k.check(hostabi.OpRequestHost)
	if r.k.req.Host == "" {
		return "example.test"
	}
	return r.k.req.Host
}
func (r kRequest) Port() int {
	r.k.check(hostabi.OpRequestPort)
	if r.k.req.Port == 0 {
		return 8000
	}
	return r.k.req.Port
}

// Var implements hostabi.Request (ngx.var): Request.Vars first, then
// values from the request (server_addr 127.0.0.1, connection and
// connection_requests 1 unless Vars says otherwise).
func (r kRequest) Var(name string) (string, bool) {
	r.k.check(hostabi.OpRequestVar)
	if v, ok := r.k.req.Vars[name]; ok {
		return v, true
	}
	req := r.k.req
	switch name {
	case "server_addr":
		return "127.0.0.1", true
	case "server_port":
		return strconv.Itoa(r.portNoCheck()), true
	case "remote_addr":
		return req.clientIP(), true
	case "remote_port":
		if req.ClientPort == 0 {
			return "40000", true
		}
		return strconv.Itoa(req.ClientPort), true
	case "connection", "connection_requests":
		return "1", true
	case "request_uri", "request":
		uri := req.path()
		if req.RawQuery != "" {
			uri += "?" + req.RawQuery
		}
		if name == "request" {
			return req.method() + " " + uri + " HTTP/1.1", true
		}
		return uri, true
	case "scheme":
		return req.scheme(), true
	case "host":
		if req.Host == "" {
			return "example.test", true
		}
		return strings.ToLower(req.Host), true
	case "request_id":
		return r.k.RequestID(), true
	}
	return "", false
}

func (r kRequest) portNoCheck() int {
	if r.k.req.Port == 0 {
		return 8000
	}
	return r.k.req.Port
}

func (r kRequest) ForwardedScheme() string {
	r.k.check(hostabi.OpRequestForwardedScheme)
	return r.Scheme()
}
func (r kRequest) ForwardedHost() string {
	r.k.check(hostabi.OpRequestForwardedHost)
	return r.Host()
}
func (r kRequest) ForwardedPort() int {
	r.k.check(hostabi.OpRequestForwardedPort)
	return r.Port()
}
func (r kRequest) HTTPVersion() float64 {
	r.k.check(hostabi.OpRequestHTTPVersion)
	return 1.1
}
func (r kRequest) Method() string {
	r.k.check(hostabi.OpRequestMethod)
	return r.k.req.method()
}
func (r kRequest) Path() string {
	r.k.check(hostabi.OpRequestPath)
	return r.k.req.path()
}
func (r kRequest) RawPath() string {
	r.k.check(hostabi.OpRequestRawPath)
	return r.k.req.path()
}
func (r kRequest) RawQuery() string {
	r.k.check(hostabi.OpRequestRawQuery)
	return r.k.req.RawQuery
}

func (r kRequest) QueryArg(name string) (string, bool) {
	r.k.check(hostabi.OpRequestQueryArg)
	vs, ok := r.Query()[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// Query returns the decoded query; the map is shared and must not be
// modified.
func (r kRequest) Query() map[string][]string {
	r.k.check(hostabi.OpRequestQuery)
	if r.k.query == nil {
		r.k.query = map[string][]string{}
		for _, a := range ParseArgs(r.k.req.RawQuery) {
			r.k.query[a.Key] = append(r.k.query[a.Key], a.Value)
		}
	}
	return r.k.query
}

func (r kRequest) Header(name string) string {
	r.k.check(hostabi.OpRequestHeader)
	if vs := r.HeaderValues(name); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// HeaderValues returns every value of a header; the slice is shared and
// must not be modified. It allocates nothing, whatever the name's case.
func (r kRequest) HeaderValues(name string) []string {
	r.k.check(hostabi.OpRequestHeaderValues)
	vs, ok := r.k.hdr[name]
	if !ok {
		for n, v := range r.k.hdr {
			if strings.EqualFold(n, name) {
				vs = v
				break
			}
		}
	}
	if len(vs) == 0 {
		return nil
	}
	return vs
}

// Headers returns the request headers with lower-cased names; the map is
// shared and must not be modified.
func (r kRequest) Headers() map[string][]string {
	r.k.check(hostabi.OpRequestHeaders)
	return r.k.hdr
}

func (r kRequest) RawBody() ([]byte, error) {
	r.k.check(hostabi.OpRequestRawBody)
	return r.k.req.Body, nil
}

func (r kRequest) Body() (map[string]any, string, error) {
	r.k.check(hostabi.OpRequestBody)
	ct := r.Header("Content-Type")
	mt, params, _ := mime.ParseMediaType(ct)
	m, err := DecodeBody(mt, params, r.k.req.Body)
	return m, mt, err
}

// DecodeBody decodes a request body the way kong.request.get_body does:
// JSON objects (numbers as json.Number), form-urlencoded and multipart
// forms (a repeated name gives a []any of strings, a form key without "="
// gives true). Other media types are an error.
func DecodeBody(mediaType string, params map[string]string, body []byte) (map[string]any, error) {
	switch mediaType {
	case "application/json":
		if len(bytes.TrimSpace(body)) == 0 {
			return map[string]any{}, nil
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("invalid JSON body: %w", err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, errors.New("invalid JSON body: not an object")
		}
		return m, nil
	case "application/x-www-form-urlencoded":
		out := map[string]any{}
		for _, a := range ParseArgs(string(body)) {
			var v any = a.Value
			if a.Flag {
				v = true
			}
			addArg(out, a.Key, v)
		}
		return out, nil
	case "multipart/form-data":
		out := map[string]any{}
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return nil, fmt.Errorf("invalid multipart body: %w", err)
			}
			b, err := io.ReadAll(p)
			if err != nil {
				return nil, fmt.Errorf("invalid multipart body: %w", err)
			}
			if name := p.FormName(); name != "" {
				addArg(out, name, string(b))
			}
		}
	case "":
		return nil, errors.New("missing content type")
	}
	return nil, fmt.Errorf("unsupported content type '%s'", mediaType)
}

func addArg(m map[string]any, key string, v any) {
	switch cur := m[key].(type) {
	case nil:
		m[key] = v
	case []any:
		m[key] = append(cur, v)
	default:
		m[key] = []any{cur, v}
	}
}

// Arg is one decoded query or form argument: Key, Value, and Flag for a
// key given without "=" ("?debug").
type Arg = ngxargs.Arg

// ParseArgs splits a query string or form body into arguments the way
// nginx does: "&" separates arguments, "+" is a space, percent escapes are
// decoded (malformed ones are kept), empty keys are dropped. It is the
// gateway's own parser (ngxargs.Parse).
func ParseArgs(raw string) []Arg { return ngxargs.Parse(raw) }

// Unescape decodes "+" and "%XX" escapes, keeping malformed escapes.
func Unescape(s string) string { return ngxargs.Unescape(s) }

// ---- kong.service.request ----

type kServiceRequest struct{ k *Kong }

func (s kServiceRequest) SetScheme(scheme string) {
	s.k.check(hostabi.OpServiceRequestSetScheme)
	s.k.upScheme = scheme
}
func (s kServiceRequest) SetPath(path string) {
	s.k.check(hostabi.OpServiceRequestSetPath)
	s.k.upPath, s.k.pathSet = path, true
}
func (s kServiceRequest) SetRawQuery(q string) {
	s.k.check(hostabi.OpServiceRequestSetRawQuery)
	s.k.upQuery, s.k.querySet = q, true
}
func (s kServiceRequest) SetQuery(args map[string][]string) {
	s.k.check(hostabi.OpServiceRequestSetQuery)
	s.SetRawQuery(url.Values(args).Encode())
}
func (s kServiceRequest) SetMethod(m string) {
	s.k.check(hostabi.OpServiceRequestSetMethod)
	s.k.upMethod, s.k.methodSet = m, true
}
func (s kServiceRequest) SetHeader(name, value string) {
	s.k.check(hostabi.OpServiceRequestSetHeader)
	s.k.headerOps = append(s.k.headerOps, HeaderOp{"set", name, value})
}
func (s kServiceRequest) AddHeader(name, value string) {
	s.k.check(hostabi.OpServiceRequestAddHeader)
	s.k.headerOps = append(s.k.headerOps, HeaderOp{"add", name, value})
}
func (s kServiceRequest) ClearHeader(name string) {
	s.k.check(hostabi.OpServiceRequestClearHeader)
	s.k.headerOps = append(s.k.headerOps, HeaderOp{Op: "clear", Name: name})
}
func (s kServiceRequest) SetHeaders(headers map[string][]string) {
	s.k.check(hostabi.OpServiceRequestSetHeaders)
	names := make([]string, 0, len(headers))
	for n := range headers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s.ClearHeader(n)
		for _, v := range headers[n] {
			s.AddHeader(n, v)
		}
	}
}
func (s kServiceRequest) SetRawBody(body []byte) {
	s.k.check(hostabi.OpServiceRequestSetRawBody)
	s.k.upBody, s.k.bodySet = body, true
}

// SetBody encodes args as the node does: form-urlencoded for that MIME
// type, JSON otherwise; mimeType "" keeps the request's media type.
func (s kServiceRequest) SetBody(args map[string]any, mimeType string) error {
	s.k.check(hostabi.OpServiceRequestSetBody)
	if mimeType == "" {
		mimeType, _, _ = mime.ParseMediaType(kRequest(s).Header("Content-Type"))
	}
	body, mimeType, err := hostabi.EncodeBody(args, mimeType)
	if err != nil {
		return err
	}
	s.SetHeader("Content-Type", mimeType)
	s.SetRawBody(body)
	return nil
}
func (s kServiceRequest) EnableBuffering() {
	s.k.check(hostabi.OpServiceRequestEnableBuffering)
	s.k.buffering = true
}

// ---- kong.response ----

type kResponse struct{ k *Kong }

func (r kResponse) Status() int {
	r.k.check(hostabi.OpResponseStatus)
	return r.k.status
}
func (r kResponse) SetStatus(status int) {
	r.k.check(hostabi.OpResponseSetStatus)
	r.k.status = status
}
func (r kResponse) Header(name string) string {
	r.k.check(hostabi.OpResponseHeader)
	vs := applyOps(r.k.shdr, r.k.respOps)[strings.ToLower(name)]
	if len(vs) > 0 {
		return vs[0]
	}
	return ""
}
func (r kResponse) Headers() map[string][]string {
	r.k.check(hostabi.OpResponseHeaders)
	return applyOps(r.k.shdr, r.k.respOps)
}
func (r kResponse) SetHeader(name, value string) {
	r.k.check(hostabi.OpResponseSetHeader)
	r.k.respOps = append(r.k.respOps, HeaderOp{"set", name, value})
}
func (r kResponse) AddHeader(name, value string) {
	r.k.check(hostabi.OpResponseAddHeader)
	r.k.respOps = append(r.k.respOps, HeaderOp{"add", name, value})
}
func (r kResponse) ClearHeader(name string) {
	r.k.check(hostabi.OpResponseClearHeader)
	r.k.respOps = append(r.k.respOps, HeaderOp{Op: "clear", Name: name})
}
func (r kResponse) Source() string {
	r.k.check(hostabi.OpResponseSource)
	if r.k.exited {
		return "exit"
	}
	return "service"
}

// Exit records the response.
func (r kResponse) Exit(status int, body []byte, headers map[string]string) {
	r.k.check(hostabi.OpResponseExit)
	k := r.k
	k.exited, k.status, k.exitValue, k.exitBody = true, status, body, body
	k.exitHeaders = make(map[string]string, len(headers))
	for n, v := range headers {
		k.exitHeaders[n] = v
	}
}

// Error records the response kong.response.error sends: Kong's error body
// in the format of the headers' Content-Type or the request's Accept.
func (r kResponse) Error(status int, message string, headers map[string]string) {
	r.k.check(hostabi.OpResponseError)
	k := r.k
	if message == "" {
		message = hostabi.ErrorMessage(status)
	}
	accept := kRequest(r).Header("Accept")
	for n, v := range headers {
		if strings.EqualFold(n, "Content-Type") {
			accept = v
		}
	}
	ct, body := hostabi.ErrorBody(accept, message, k.RequestID())
	k.exited, k.status, k.exitValue, k.exitBody = true, status, []byte(body), []byte(body)
	k.exitHeaders = make(map[string]string, len(headers)+1)
	for n, v := range headers {
		if !strings.EqualFold(n, "Content-Type") {
			k.exitHeaders[n] = v
		}
	}
	k.exitHeaders["Content-Type"] = ct
}
func (r kResponse) Exited() bool {
	r.k.check(hostabi.OpResponseExited)
	return r.k.exited
}
func (r kResponse) RawBody() []byte {
	r.k.check(hostabi.OpResponseRawBody)
	if r.k.exited {
		return r.k.exitBody
	}
	return r.k.respBody
}
func (r kResponse) SetRawBody(body []byte) {
	r.k.check(hostabi.OpResponseSetRawBody)
	r.k.respBody, r.k.respBodySet = body, true
}

func hasKeyFold(m map[string]string, name string) bool {
	for k := range m {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// ---- kong.service.response ----

type kServiceResponse struct{ k *Kong }

func (r kServiceResponse) Status() int {
	r.k.check(hostabi.OpServiceResponseStatus)
	if r.k.req.ServiceStatus == 0 {
		return 200
	}
	return r.k.req.ServiceStatus
}
func (r kServiceResponse) Header(name string) string {
	r.k.check(hostabi.OpServiceResponseHeader)
	if vs := r.k.shdr[strings.ToLower(name)]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}
func (r kServiceResponse) Headers() map[string][]string {
	r.k.check(hostabi.OpServiceResponseHeaders)
	return r.k.shdr
}
func (r kServiceResponse) RawBody() []byte {
	r.k.check(hostabi.OpServiceResponseRawBody)
	return r.k.req.ServiceBody
}

// ---- kong.client ----

type kClient struct{ k *Kong }

func (c kClient) IP() string {
	c.k.check(hostabi.OpClientIP)
	return c.k.req.clientIP()
}
func (c kClient) ForwardedIP() string {
	c.k.check(hostabi.OpClientForwardedIP)
	return c.k.req.forwardedIP()
}
func (c kClient) Port() int {
	c.k.check(hostabi.OpClientPort)
	if c.k.req.ClientPort == 0 {
		return 40000
	}
	return c.k.req.ClientPort
}
func (c kClient) ForwardedPort() int {
	c.k.check(hostabi.OpClientForwardedPort)
	return c.Port()
}
func (c kClient) Protocol() string {
	c.k.check(hostabi.OpClientProtocol)
	if c.k.req.Protocol != "" {
		return c.k.req.Protocol
	}
	return c.k.req.scheme()
}
func (c kClient) Consumer() hostabi.Entity {
	c.k.check(hostabi.OpClientConsumer)
	return c.k.consumer
}
func (c kClient) Credential() hostabi.Entity {
	c.k.check(hostabi.OpClientCredential)
	return c.k.credential
}
func (c kClient) Authenticate(consumer, credential hostabi.Entity) {
	c.k.check(hostabi.OpClientAuthenticate)
	c.k.consumer, c.k.credential = consumer, credential
	c.k.authCalls = append(c.k.authCalls, AuthCall{consumer, credential})
}
func (c kClient) LoadConsumer(_ context.Context, key string, byUsername bool) (hostabi.Entity, error) {
	c.k.check(hostabi.OpClientLoadConsumer)
	return c.k.env.loadConsumer(key, byUsername)
}

// ---- kong.ctx, kong.log, kong.node, kong.router ----

type kCtx struct{ k *Kong }

func (c kCtx) Shared() hostabi.Values { return kShared(c) }
func (c kCtx) Plugin() hostabi.Values { return kPluginCtx(c) }

// kShared is kong.ctx.shared, seeded from Request.Shared.
type kShared struct{ k *Kong }

func (c kShared) m() map[string]any {
	if c.k.shared == nil {
		c.k.shared = make(map[string]any, len(c.k.req.Shared))
		for n, v := range c.k.req.Shared {
			c.k.shared[n] = v
		}
	}
	return c.k.shared
}
func (c kShared) Get(key string) (any, bool) {
	c.k.check(hostabi.OpCtxSharedGet)
	v, ok := c.m()[key]
	return v, ok
}
func (c kShared) Set(key string, value any) {
	c.k.check(hostabi.OpCtxSharedSet)
	c.m()[key] = value
}
func (c kShared) Delete(key string) {
	c.k.check(hostabi.OpCtxSharedDelete)
	delete(c.m(), key)
}

// kPluginCtx is kong.ctx.plugin: one Kong serves one plugin at a time.
type kPluginCtx struct{ k *Kong }

func (c kPluginCtx) Get(key string) (any, bool) {
	c.k.check(hostabi.OpCtxPluginGet)
	v, ok := c.k.pluginCtx[key]
	return v, ok
}
func (c kPluginCtx) Set(key string, value any) {
	c.k.check(hostabi.OpCtxPluginSet)
	if c.k.pluginCtx == nil {
		c.k.pluginCtx = map[string]any{}
	}
	c.k.pluginCtx[key] = value
}
func (c kPluginCtx) Delete(key string) {
	c.k.check(hostabi.OpCtxPluginDelete)
	delete(c.k.pluginCtx, key)
}

type kLog struct{ k *Kong }

func (l kLog) add(level, msg string, kv []any) {
	l.k.check(hostabi.OpLog)
	l.k.logs = append(l.k.logs, LogEntry{Level: level, Msg: msg, KV: kv, Plugin: l.k.pluginName()})
}
func (l kLog) Debug(msg string, kv ...any)  { l.add("debug", msg, kv) }
func (l kLog) Info(msg string, kv ...any)   { l.add("info", msg, kv) }
func (l kLog) Notice(msg string, kv ...any) { l.add("notice", msg, kv) }
func (l kLog) Warn(msg string, kv ...any)   { l.add("warn", msg, kv) }
func (l kLog) Err(msg string, kv ...any)    { l.add("err", msg, kv) }
func (l kLog) Crit(msg string, kv ...any)   { l.add("crit", msg, kv) }

func (l kLog) SetSerializeValue(key string, value any) {
	l.k.check(hostabi.OpLogSetSerializeValue)
	l.k.serialize = append(l.k.serialize, hostabi.SerializeValue{Key: key, Value: value})
}

func (l kLog) SetSerializeValueMode(key string, value any, mode hostabi.SerializeMode) error {
	l.k.check(hostabi.OpLogSetSerializeValue)
	if !mode.Valid() {
		return fmt.Errorf("mode must be 'set', 'add' or 'replace'")
	}
	l.k.serialize = append(l.k.serialize, hostabi.SerializeValue{Key: key, Value: value, Mode: mode})
	return nil
}

// Serialize renders the request as the node does; sizes count bodies only
// and latencies are zero (nothing is timed here).
func (l kLog) Serialize() map[string]any {
	l.k.check(hostabi.OpLogSerialize)
	k := l.k
	r := kRequest{k}
	uri := k.req.path()
	if k.req.RawQuery != "" {
		uri += "?" + k.req.RawQuery
	}
	res := k.Result()
	rec := hostabi.LogRecord{
		RequestID: k.RequestID(), URI: uri,
		URL:   k.req.scheme() + "://" + net.JoinHostPort(r.Host(), strconv.Itoa(r.Port())) + uri,
		Query: r.Query(), Method: k.req.method(), RequestHeaders: k.hdr, RequestSize: len(k.req.Body),
		Status: k.status, ResponseHeaders: res.ResponseHeader, ResponseSize: len(res.ResponseBody),
		Route: k.req.Route, Service: k.req.Service, Consumer: k.consumer, Credential: k.credential,
		ClientIP: k.req.clientIP(), StartedAt: k.start, Source: kResponse{k}.Source(),
		WorkspaceName: "default",
	}
	if k.exited {
		rec.ProxyLatency, rec.ResponseSize = -1, len(k.exitBody)
	} else {
		rec.UpstreamURI = k.upPath
		if k.upQuery != "" {
			rec.UpstreamURI += "?" + k.upQuery
		}
		rec.UpstreamStatus = strconv.Itoa(kServiceResponse{k}.Status())
	}
	return rec.Map(k.serialize)
}

// ---- kong.service, kong.ip, kong.plugin ----

type kService struct{ k *Kong }

func (s kService) SetTarget(host string, port int) {
	s.k.check(hostabi.OpServiceSetTarget)
	s.k.target = net.JoinHostPort(host, strconv.Itoa(port))
}

// SetUpstream records the upstream; the names Env.AddUpstream declared are
// known, any other is an error as on the node.
func (s kService) SetUpstream(name string) error {
	s.k.check(hostabi.OpServiceSetUpstream)
	if !slices.Contains(s.k.req.Upstreams, name) {
		return fmt.Errorf("could not find an Upstream named '%s'", name)
	}
	s.k.upstream = name
	return nil
}

type kTLS struct{ k *Kong }

func (t kTLS) ClientCertificateChain() (string, error) {
	t.k.check(hostabi.OpClientTLSCertificateChain)
	return t.k.req.ClientCertificates, nil
}

type kHTTP struct{ k *Kong }

func (h kHTTP) Do(ctx context.Context, r hostabi.HTTPRequest) (hostabi.HTTPResponse, error) {
	h.k.check(hostabi.OpHTTPDo)
	if h.k.req.HTTP != nil {
		return h.k.req.HTTP.Do(ctx, r)
	}
	return chain.HTTPClient{}.Do(ctx, r)
}

// TimerCall is one kong.timer.at call a plugin made.
type TimerCall struct {
	Plugin string
	Delay  time.Duration
	// Fn is the work; Run runs it as the node would.
	Fn func(ctx context.Context, h hostabi.HTTP)
}

// Run runs the timer's work now with a context of budget and h (nil: real
// HTTP requests).
func (c TimerCall) Run(budget time.Duration, h hostabi.HTTP) {
	if h == nil {
		h = chain.HTTPClient{}
	}
	ctx := chain.NewContext(time.Now().Add(budget))
	defer ctx.End()
	c.Fn(ctx, h)
}

type kTimers struct{ k *Kong }

func (t kTimers) After(delay time.Duration, fn func(ctx context.Context, h hostabi.HTTP)) error {
	t.k.check(hostabi.OpTimersAfter)
	t.k.timers = append(t.k.timers, TimerCall{Plugin: t.k.pluginName(), Delay: delay, Fn: fn})
	return nil
}

type kIP struct{ k *Kong }

func (i kIP) IsTrusted(addr string) bool {
	i.k.check(hostabi.OpIPIsTrusted)
	return isTrusted(i.k.req.TrustedIPs, addr)
}

type kPlugin struct{ k *Kong }

func (p kPlugin) ID() string {
	p.k.check(hostabi.OpPluginID)
	if p.k.current == nil {
		return ""
	}
	return p.k.current.ID
}
func (p kPlugin) Name() string {
	p.k.check(hostabi.OpPluginName)
	return p.k.pluginName()
}

type kNode struct{ k *Kong }

func (n kNode) ID() string {
	n.k.check(hostabi.OpNodeID)
	return n.k.env.NodeID
}
func (n kNode) Hostname() string {
	n.k.check(hostabi.OpNodeHostname)
	return n.k.env.Hostname
}

type kRouter struct{ k *Kong }

func (r kRouter) Route() hostabi.Entity {
	r.k.check(hostabi.OpRouterRoute)
	return r.k.req.Route
}
func (r kRouter) Service() hostabi.Entity {
	r.k.check(hostabi.OpRouterService)
	return r.k.req.Service
}
func (r kRouter) URICaptures() map[string]string {
	r.k.check(hostabi.OpRouterURICaptures)
	return r.k.req.URICaptures
}

// applyOps returns base (lower-cased names) with the header operations
// applied, as a new map with lower-cased names.
func applyOps(base map[string][]string, ops []HeaderOp) map[string][]string {
	out := make(map[string][]string, len(base)+len(ops))
	for n, vs := range base {
		out[n] = append([]string(nil), vs...)
	}
	for _, op := range ops {
		n := strings.ToLower(op.Name)
		switch op.Op {
		case "set":
			out[n] = []string{op.Value}
		case "add":
			out[n] = append(out[n], op.Value)
		case "clear":
			delete(out, n)
		}
	}
	return out
}

// isTrusted reports whether addr is one of the trusted addresses or
// within one of the trusted CIDR ranges, as trusted_ips is read.
func isTrusted(trusted []string, addr string) bool {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, t := range trusted {
		if p, err := netip.ParsePrefix(t); err == nil {
			if p.Contains(ip) {
				return true
			}
		} else if a, err := netip.ParseAddr(t); err == nil && a.Unmap() == ip {
			return true
		}
	}
	return false
}
