package plugintest

import (
	"context"
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/hostabi"
)

// Request describes the request a plugin sees, as the client sent it, plus
// the surroundings the gateway would have established by the time the
// plugin runs (the matched route and service, an identity set by an earlier
// authentication plugin, the upstream response for the response phases).
//
// Build one with NewRequest and the With* helpers, or fill the fields
// directly. Zero fields take the defaults documented on each field. A
// Request is read-only to the harness: the same Request can be run many
// times, concurrently.
type Request struct {
	// Method defaults to GET.
	Method string
	// Scheme defaults to "http".
	Scheme string
	// Host defaults to "example.test"; Port defaults to 8000.
	Host string
	Port int
	// Path is the normalized path without the query string; defaults to "/".
	Path string
	// RawQuery is the query string without '?'.
	RawQuery string
	// Header holds the request headers. Names are matched
	// case-insensitively, as HTTP does.
	Header map[string][]string
	// Body is the raw request body.
	Body []byte

	// ClientIP is the address of the peer, default "127.0.0.1"; ForwardedIP
	// the client address after trusted X-Forwarded-For processing (defaults
	// to ClientIP). ClientPort defaults to 40000.
	ClientIP    string
	ForwardedIP string
	ClientPort  int
	// Protocol is the matched route protocol, default Scheme.
	Protocol string

	// Consumer and Credential are an identity already established by an
	// earlier plugin (kong.client.get_consumer / get_credential).
	Consumer   hostabi.Entity
	Credential hostabi.Entity

	// Route and Service are what the request matched.
	Route   hostabi.Entity
	Service hostabi.Entity
	// URICaptures are the route's regex path captures.
	URICaptures map[string]string
	// Shared seeds kong.ctx.shared; it is copied, never modified.
	Shared map[string]any

	// ServiceStatus, ServiceHeader and ServiceBody describe the upstream
	// response for the response, header_filter, body_filter and log phases.
	// ServiceStatus defaults to 200.
	ServiceStatus int
	ServiceHeader map[string][]string
	ServiceBody   []byte

	// Context is returned by Kong.Context; nil means a context with the
	// node's deadline (Kong.Context).
	Context context.Context

	// RequestID is the request's id (in kong.response.error bodies);
	// default "plugintest-request".
	RequestID string
	// TrustedIPs are the node's trusted_ips (addresses or CIDR ranges),
	// for kong.ip.is_trusted.
	TrustedIPs []string
	// Upstreams names the upstreams kong.service.set_upstream may choose.
	Upstreams []string
	// ClientCertificates is the client's TLS certificate chain in PEM
	// (kong.client.tls); "" for none.
	ClientCertificates string
	// HTTP sends the plugin's outbound requests; nil sends real ones.
	HTTP hostabi.HTTP

	// Vars are nginx variables Request.Var (ngx.var) returns instead of
	// the ones it derives from the request.
	Vars map[string]string

	// PluginID and PluginName identify the instance Call runs
	// (kong.plugin.get_id and the name in log entries); PluginID defaults
	// to DefaultPluginID.
	PluginID, PluginName string
}

// DefaultPluginID is the plugin entity id Call gives an instance when the
// Request names none.
const DefaultPluginID = "00000000-0000-4000-8000-0000000000aa"

func (r *Request) pluginID() string {
	if r.PluginID == "" {
		return DefaultPluginID
	}
	return r.PluginID
}

// NewRequest returns a request for method and target, where target is a
// path with an optional query string ("/orders?limit=5").
func NewRequest(method, target string) *Request {
	path, query, _ := strings.Cut(target, "?")
	if path == "" {
		path = "/"
	}
	return &Request{Method: method, Path: path, RawQuery: query}
}

// WithHeader adds a header value (repeat the call for a repeated header)
// and returns r.
func (r *Request) WithHeader(name, value string) *Request {
	if r.Header == nil {
		r.Header = map[string][]string{}
	}
	r.Header[name] = append(r.Header[name], value)
	return r
}

// WithBody sets the body and its Content-Type and returns r.
func (r *Request) WithBody(contentType string, body []byte) *Request {
	r.Body = body
	if contentType != "" {
		r.setHeader("Content-Type", contentType)
	}
	return r
}

// WithJSON sets a JSON body encoded from v and returns r. It panics when v
// cannot be encoded: that is a mistake in the test.
func (r *Request) WithJSON(v any) *Request {
	b, err := json.Marshal(v)
	if err != nil {
		panic("plugintest: WithJSON: " + err.Error())
	}
	return r.WithBody("application/json", b)
}

// WithForm sets an application/x-www-form-urlencoded body and returns r.
func (r *Request) WithForm(values url.Values) *Request {
	return r.WithBody("application/x-www-form-urlencoded", []byte(values.Encode()))
}

// WithClientIP sets ClientIP (and ForwardedIP) and returns r.
func (r *Request) WithClientIP(ip string) *Request {
	r.ClientIP, r.ForwardedIP = ip, ip
	return r
}

// WithIdentity sets an identity established by an earlier plugin and
// returns r.
func (r *Request) WithIdentity(consumer, credential hostabi.Entity) *Request {
	r.Consumer, r.Credential = consumer, credential
	return r
}

// WithService sets the matched service and returns r.
func (r *Request) WithService(service hostabi.Entity) *Request {
	r.Service = service
	return r
}

func (r *Request) setHeader(name, value string) {
	if r.Header == nil {
		r.Header = map[string][]string{}
	}
	for k := range r.Header {
		if strings.EqualFold(k, name) {
			delete(r.Header, k)
		}
	}
	r.Header[name] = []string{value}
}

func (r *Request) method() string {
	if r.Method == "" {
		return "GET"
	}
	return r.Method
}

func (r *Request) scheme() string {
	if r.Scheme == "" {
		return "http"
	}
	return r.Scheme
}

func (r *Request) path() string {
	if r.Path == "" {
		return "/"
	}
	return r.Path
}

func (r *Request) clientIP() string {
	if r.ClientIP == "" {
		return "127.0.0.1"
	}
	return r.ClientIP
}

func (r *Request) forwardedIP() string {
	if r.ForwardedIP == "" {
		return r.clientIP()
	}
	return r.ForwardedIP
}

// lowerHeaders returns h with lower-cased names and values merged. Names
// differing only in case are merged in sorted order ("X-A" before "x-a"),
// so that the result does not depend on map iteration order.
func lowerHeaders(h map[string][]string) map[string][]string {
	out := make(map[string][]string, len(h))
	for _, k := range slices.Sorted(maps.Keys(h)) {
		lk := strings.ToLower(k)
		out[lk] = append(out[lk], h[k]...)
	}
	return out
}
