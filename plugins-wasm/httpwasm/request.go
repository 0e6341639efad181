package httpwasm

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
	"github.com/http-wasm/http-wasm-host-go/api/handler"
)

// guest is an instance's state: the features it enabled when it started.
type guest struct {
	features handler.Features
	// cl is the state of the call running on the instance, reused by
	// every request's calls (an instance runs one call at a time).
	cl call
}

// call is the state of one export call, found by the host functions with
// wasmhost.State. k and rs are nil while the guest starts.
type call struct {
	plugin *Plugin
	guest  *guest
	config []byte
	k      hostabi.Kong
	rs     *request
	in     *wasmhost.Instance // the instance running the call; nil while it starts
}

// request is what the guest sees of one request from handle_request to
// handle_response: the request as the guest changed it, the response it
// builds before next, the bodies' read positions and written bodies.
type request struct {
	features  handler.Features
	in        *wasmhost.Instance // the instance running the request's call (Lower); nil in tests
	afterNext bool
	next      bool
	reqCtx    uint32

	method    string
	methodSet bool
	uri       string
	uriSet    bool

	reqHeaders headers
	// reqPend holds the guest's first request header changes while
	// reqHeaders is not loaded: a guest that only writes headers, or
	// reads before it writes, never needs the copy of them all.
	reqPend    [4]headerChange
	reqPendN   int
	reqBody    []byte
	reqLoaded  bool
	reqOff     int
	reqOut     []byte
	reqWritten bool

	status          uint32 // set before next; 0 = unset (200)
	respHeaders     headers
	respBody        []byte
	respLoaded      bool
	respOff         int
	respBodyOut     []byte
	respBodyWritten bool
}

// headers is a header set keyed by lower-case name, values in order; nil
// until loaded.
type headers map[string][]string

func (h headers) names() []string {
	out := make([]string, 0, len(h))
	for n := range h {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func loadHeaders(m map[string][]string) headers {
	h := make(headers, len(m))
	for n, vs := range m {
		ln := strings.ToLower(n)
		h[ln] = append(h[ln], vs...)
	}
	return h
}

// headerChange is one change of a header (name lower-cased).
type headerChange struct {
	op          headerOp
	name, value string
}

// apply makes the change on h.
func (c headerChange) apply(h headers) {
	switch c.op {
	case opSet:
		h[c.name] = []string{c.value}
	case opAdd:
		h[c.name] = append(h[c.name], c.value)
	case opRemove:
		delete(h, c.name)
	}
}

// requestHeaders returns the request's headers with the guest's changes.
func (rs *request) requestHeaders(k hostabi.Kong) headers {
	if rs.reqHeaders == nil {
		rs.reqHeaders = loadHeaders(k.Request().Headers())
		for _, c := range rs.reqPend[:rs.reqPendN] {
			c.apply(rs.reqHeaders)
		}
		rs.reqPend, rs.reqPendN = [4]headerChange{}, 0
	}
	return rs.reqHeaders
}

// responseHeaders returns the response's headers: before next the ones the
// guest set (the response does not exist yet), after it the response's.
func (rs *request) responseHeaders(k hostabi.Kong) headers {
	if rs.respHeaders == nil {
		if rs.afterNext {
			rs.respHeaders = loadHeaders(k.Response().Headers())
		} else {
			rs.respHeaders = headers{}
		}
	}
	return rs.respHeaders
}

// mustBeforeNext traps an operation after next (request changes).
func (rs *request) mustBeforeNext(op, what string) {
	if rs.afterNext {
		wasmhost.Trapf("can't %s %s after next handler", op, what)
	}
}

// mustBeforeNextOrFeature traps an operation after next unless the
// request has the feature.
func (rs *request) mustBeforeNextOrFeature(f handler.Features, op, what string) {
	if rs.afterNext && !rs.features.IsEnabled(f) {
		wasmhost.Trapf("can't %s %s after next handler unless %s is enabled", op, what, f)
	}
}

func (rs *request) getMethod(k hostabi.Kong) string {
	if rs.methodSet {
		return rs.method
	}
	return k.Request().Method()
}

func (rs *request) setMethod(k hostabi.Kong, m string) {
	rs.mustBeforeNext("set", "method")
	if m == "" {
		wasmhost.Trapf("HTTP method cannot be empty")
	}
	rs.method, rs.methodSet = m, true
	k.ServiceRequest().SetMethod(m)
}

// getURI is the path as received (escaped) and the query, "?" only when
// there is one.
func (rs *request) getURI(k hostabi.Kong) string {
	if rs.uriSet {
		return rs.uri
	}
	r := k.Request()
	uri := r.RawPath()
	if uri == "" {
		uri = "/"
	}
	if q := r.RawQuery(); q != "" {
		uri += "?" + q
	}
	return uri
}

// setURI sends the path and query upstream as given; the URI must be
// in origin form ("/path?query"), "" meaning "/".
func (rs *request) setURI(k hostabi.Kong, uri string) {
	rs.mustBeforeNext("set", "uri")
	if uri == "" {
		uri = "/"
	}
	if !strings.HasPrefix(uri, "/") {
		// origin form only: an absolute URI would name another host
		wasmhost.Trapf("set_uri: %q does not start with /", uri)
	}
	if _, err := url.ParseRequestURI(uri); err != nil {
		wasmhost.Trapf("set_uri: %v", err)
	}
	path, query, _ := strings.Cut(uri, "?")
	rs.uri, rs.uriSet = uri, true
	k.ServiceRequest().SetPath(path)
	k.ServiceRequest().SetRawQuery(query)
}

func protocolVersion(k hostabi.Kong) string {
	switch v := k.Request().HTTPVersion(); v {
	case 1.0:
		return "HTTP/1.0"
	case 1.1:
		return "HTTP/1.1"
	case 2:
		return "HTTP/2.0"
	default:
		return "HTTP/" + strconv.FormatFloat(v, 'f', -1, 64)
	}
}

func sourceAddr(k hostabi.Kong) string {
	c := k.Client()
	return net.JoinHostPort(c.IP(), strconv.Itoa(c.Port()))
}

// headerNames lists a kind's names, lower-cased and sorted; trailers are
// always empty.
func (rs *request) headerNames(k hostabi.Kong, kind handler.HeaderKind) []string {
	switch kind {
	case handler.HeaderKindRequest:
		return rs.requestHeaders(k).names()
	case handler.HeaderKindResponse:
		return rs.responseHeaders(k).names()
	case handler.HeaderKindRequestTrailers, handler.HeaderKindResponseTrailers:
		return nil
	}
	wasmhost.Trapf("unsupported header kind: %d", kind)
	return nil
}

func (rs *request) headerValues(k hostabi.Kong, kind handler.HeaderKind, name string) []string {
	name = strings.ToLower(name)
	switch kind {
	case handler.HeaderKindRequest:
		if rs.reqHeaders == nil && rs.reqPendN == 0 {
			// unchanged: the request's own, without a copy of them all
			return k.Request().HeaderValues(name)
		}
		return rs.requestHeaders(k)[name]
	case handler.HeaderKindResponse:
		return rs.responseHeaders(k)[name]
	case handler.HeaderKindRequestTrailers, handler.HeaderKindResponseTrailers:
		return nil
	}
	wasmhost.Trapf("unsupported header kind: %d", kind)
	return nil
}

// validName reports whether a header name is an HTTP token (RFC 9110
// 5.1): letters, digits and !#$%&'*+-.^_`|~.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// headerOp is set, add or remove.
type headerOp int

const (
	opSet headerOp = iota
	opAdd
	opRemove
)

func (o headerOp) String() string {
	return [...]string{"set", "add", "remove"}[o]
}

// changeHeader applies a header change: to the guest's view, and to the
// upstream request (request headers) or the client's response.
func (rs *request) changeHeader(k hostabi.Kong, kind handler.HeaderKind, op headerOp, name, value string) {
	if name == "" {
		wasmhost.Trapf("HTTP header name cannot be empty")
	}
	if !validName(name) {
		wasmhost.Trapf("%s_header: invalid header name %q", op, name)
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		wasmhost.Trapf("%s_header: invalid value for header %q", op, name)
	}
	var h headers
	switch kind {
	case handler.HeaderKindRequest:
		rs.mustBeforeNext(op.String(), "request header")
		if rs.reqHeaders != nil || rs.reqPendN == len(rs.reqPend) {
			h = rs.requestHeaders(k)
		}
		sr := k.ServiceRequest()
		switch op {
		case opSet:
			sr.SetHeader(name, value)
		case opAdd:
			sr.AddHeader(name, value)
		case opRemove:
			sr.ClearHeader(name)
		}
	case handler.HeaderKindResponse:
		rs.mustBeforeNextOrFeature(handler.FeatureBufferResponse, op.String(), "response header")
		h = rs.responseHeaders(k)
		r := k.Response()
		switch op {
		case opSet:
			r.SetHeader(name, value)
		case opAdd:
			r.AddHeader(name, value)
		case opRemove:
			r.ClearHeader(name)
		}
	case handler.HeaderKindRequestTrailers, handler.HeaderKindResponseTrailers:
		wasmhost.Trapf("%s_header: trailers are not supported by this host (the trailers feature is never enabled)", op)
	default:
		wasmhost.Trapf("unsupported header kind: %d", kind)
	}
	ln := ""
	if rs.in != nil {
		ln = rs.in.Lower(name) // interned: no copy per request for a mixed-case name
	} else {
		ln = strings.ToLower(name)
	}
	c := headerChange{op: op, name: ln, value: value}
	if h == nil { // request headers not loaded: kept until they are
		rs.reqPend[rs.reqPendN] = c
		rs.reqPendN++
		return
	}
	c.apply(h)
}

// readBody reads up to limit bytes of a body from the guest's position:
// eof when what remained was less than limit, as a reader read until
// limit or EOF reports it.
func (rs *request) readBody(k hostabi.Kong, kind handler.BodyKind, limit uint32) ([]byte, bool) {
	var body []byte
	var off *int
	switch kind {
	case handler.BodyKindRequest:
		rs.mustBeforeNextOrFeature(handler.FeatureBufferRequest, "read", "request body")
		if !rs.reqLoaded {
			b, err := k.Request().RawBody()
			if err != nil {
				wasmhost.Trapf("read_body: request body: %v", err)
			}
			rs.reqBody, rs.reqLoaded = b, true
		}
		body, off = rs.reqBody, &rs.reqOff
	case handler.BodyKindResponse:
		rs.mustBeforeNextOrFeature(handler.FeatureBufferResponse, "read", "response body")
		if !rs.respLoaded {
			if rs.afterNext {
				rs.respBody = k.Response().RawBody()
			}
			rs.respLoaded = true
		}
		body, off = rs.respBody, &rs.respOff
	default:
		wasmhost.Trapf("unsupported body kind: %d", kind)
	}
	rest := body[*off:]
	n := min(len(rest), int(limit))
	*off += n
	return rest[:n], len(rest) < int(limit)
}

// writeBody appends to the body the guest writes; the first write
// replaces the body.
func (rs *request) writeBody(kind handler.BodyKind, b []byte) {
	switch kind {
	case handler.BodyKindRequest:
		rs.mustBeforeNext("write", "request body")
		rs.reqOut = append(rs.reqOut, b...)
		rs.reqWritten = true
	case handler.BodyKindResponse:
		rs.mustBeforeNextOrFeature(handler.FeatureBufferResponse, "write", "response body")
		rs.respBodyOut = append(rs.respBodyOut, b...)
		rs.respBodyWritten = true
	default:
		wasmhost.Trapf("unsupported body kind: %d", kind)
	}
}

func (rs *request) getStatus(k hostabi.Kong) uint32 {
	if rs.afterNext {
		return uint32(k.Response().Status())
	}
	if rs.status == 0 {
		return 200
	}
	return rs.status
}

func (rs *request) setStatus(k hostabi.Kong, status uint32) {
	rs.mustBeforeNextOrFeature(handler.FeatureBufferResponse, "set", "status code")
	if status < 100 || status > 999 {
		wasmhost.Trapf("set_status_code: invalid status code %d", status)
	}
	if rs.afterNext {
		k.Response().SetStatus(int(status))
		return
	}
	rs.status = status
}

// respond ends the request with the response the guest built (it did not
// call next): its status (200 unless set), headers and body.
func (rs *request) respond(k hostabi.Kong) {
	status := int(rs.getStatus(k))
	body := rs.respBodyOut
	if body == nil {
		body = []byte{}
	}
	k.Response().Exit(status, body, nil)
}

// forward completes the upstream request after handle_request called
// next: the body the guest wrote; with buffer_request when handle_response
// runs in header_filter (where the request body can no longer be read),
// the body read now.
func (rs *request) forward(k hostabi.Kong, buffered bool) error {
	if rs.reqWritten {
		k.ServiceRequest().SetRawBody(rs.reqOut)
	}
	if rs.features.IsEnabled(handler.FeatureBufferRequest) && !rs.reqLoaded && !buffered {
		b, err := k.Request().RawBody()
		if err != nil {
			return fmt.Errorf("request body: %w", err)
		}
		rs.reqBody, rs.reqLoaded = b, true
	}
	rs.reqOff = 0 // after next, the body reads from its start again
	return nil
}
