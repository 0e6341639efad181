// Package hostabi is the contract between Gatehouse and its plugins: what a
// plugin may read and do in each phase of a request, modelled on Kong's PDK
// (kong.request, kong.service, kong.service.request, kong.response,
// kong.client, kong.ctx, kong.log, kong.cache, kong.node, kong.router,
// kong.ip, kong.plugin). Native plugins call these interfaces directly; the
// Wasm and Lua hosts expose the same operations to their guests. Every
// operation is listed, with the phases it may be called in, in one table
// (Operations); hosts check it on every call. It imports the standard
// library only, so every runtime and the guest SDK can depend on it.
// ABI.md is the versioned specification.
package hostabi

import (
	"context"
	"time"
)

// Version is the version of this ABI (semantic versioning). Wasm guests
// declare the version they were built against; a host refuses a guest whose
// major version differs.
const Version = "2.6.0"

// Phase is a point in the request's life where plugins run.
type Phase uint8

// The phases, in execution order.
const (
	// PhaseRewrite runs before routing; only global plugins run in it.
	PhaseRewrite Phase = iota + 1
	// PhaseAccess runs after routing and consumer identification, before
	// the request is proxied.
	PhaseAccess
	// PhaseResponse runs once the whole upstream response is buffered; a
	// plugin with a Response phase makes the proxy buffer the response.
	PhaseResponse
	// PhaseHeaderFilter runs when the response headers are ready.
	PhaseHeaderFilter
	// PhaseBodyFilter runs for each chunk of the response body.
	PhaseBodyFilter
	// PhaseLog runs after the response is sent, off the request's path.
	PhaseLog
	// PhaseInitWorker is no request's: it runs once per plugin per node,
	// when the node starts or a provider loads the plugin, before the
	// plugin's first configure (Kong's init_worker; WorkerIniter).
	PhaseInitWorker
	// PhaseConfigure is no request's: it runs whenever the node's
	// configuration snapshot changes, with every active configuration of
	// the plugin (Kong's configure; Configurer).
	PhaseConfigure
)

var phaseNames = [...]string{"", "rewrite", "access", "response", "header_filter", "body_filter", "log",
	"init_worker", "configure"}

// String returns Kong's name for the phase.
func (p Phase) String() string {
	if int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return "unknown"
}

// Request reads the request as the client sent it (kong.request).
type Request interface {
	// Scheme is "http" or "https".
	Scheme() string
	// Host is the host name the client asked for, without port.
	Host() string
	// Port is the port the request arrived on.
	Port() int
	// ForwardedScheme, ForwardedHost and ForwardedPort honour
	// X-Forwarded-* from trusted addresses, as Kong does.
	ForwardedScheme() string
	ForwardedHost() string
	ForwardedPort() int
	// HTTPVersion is 1.0, 1.1 or 2.
	HTTPVersion() float64
	// Method is the request method.
	Method() string
	// Path is the normalized request path, without the query string.
	Path() string
	// RawPath is the path as received.
	RawPath() string
	// RawQuery is the query string without '?'.
	RawQuery() string
	// QueryArg returns the first value of a query argument.
	QueryArg(name string) (string, bool)
	// Query returns every query argument.
	Query() map[string][]string
	// Header returns the first value of a header (case-insensitive name).
	Header(name string) string
	// HeaderValues returns every value of one header (case-insensitive
	// name) in the order received, or nil when the header is absent: the
	// values Headers holds under that name, without building the map of
	// every header, so a plugin reading a few headers per request uses it.
	// Hosts may hand out the same slice again: callers must not modify it.
	HeaderValues(name string) []string
	// Headers returns every header, names lower-cased.
	Headers() map[string][]string
	// RawBody returns the request body; reading it makes the proxy buffer
	// the body.
	RawBody() ([]byte, error)
	// Body decodes a JSON, form or multipart body into arguments.
	Body() (map[string]any, string, error)
	// Var returns one of the nginx variables Kong plugins read through
	// ngx.var (see VarNames), and false for a variable the host does not
	// know or that has no value (Lua's nil).
	Var(name string) (string, bool)
}

// VarNames are the nginx variables every host serves through
// Request.Var: the connection's local address (server_addr, server_port)
// and peer (remote_addr, remote_port), the connection's serial number
// (connection) and the number of requests it carried so far, this one
// included (connection_requests), the request line (request) and its URI
// (request_uri), the scheme and host as nginx sees them, and Kong's
// request id.
var VarNames = []string{"server_addr", "server_port", "remote_addr", "remote_port", "connection",
	"connection_requests", "request", "request_uri", "scheme", "host", "request_id"}

// HeaderPeeker is implemented by a host's Request that can show one
// header's first value without copying it (a Gatehouse extension for
// native plugins that read a header on every request, as key-auth reads
// its key). PeekHeader returns what HeaderValues(name) would hold, as
// count = len(HeaderValues(name)) and, when count > 0, value =
// HeaderValues(name)[0], in every phase HeaderValues is allowed in. value
// is a view of the host's buffer: it is valid only until the plugin's
// phase handler returns, must not be modified, and is copied by a plugin
// that keeps it (a string made from it without copying, as well). Plugins
// test for it with a type assertion and otherwise call HeaderValues.
type HeaderPeeker interface {
	PeekHeader(name string) (value []byte, count int)
}

// BodyLimiter is implemented by a host's Request that can bound the
// request body without reading it whole (a Gatehouse extension; Kong reads
// the body). Call it only in rewrite or access. LimitBody reports whether
// the body already read exceeds max bytes; when the body is still streaming
// it reports false and arranges that reading more than max bytes of it ends
// the request with Kong's error body for status and message (the upstream
// sees the request cut short, the client's connection closes). Plugins
// test for it with a type assertion and otherwise fall back to RawBody.
type BodyLimiter interface {
	LimitBody(max int64, status int, message string) (exceeded bool)
}

// ServiceRequest changes the request Gatehouse sends upstream
// (kong.service.request).
type ServiceRequest interface {
	SetScheme(scheme string)
	SetPath(path string)
	SetRawQuery(query string)
	SetQuery(args map[string][]string)
	SetMethod(method string)
	SetHeader(name, value string)
	AddHeader(name, value string)
	ClearHeader(name string)
	SetHeaders(headers map[string][]string)
	SetRawBody(body []byte)
	// SetBody encodes args with the given MIME type ("" keeps the
	// request's).
	SetBody(args map[string]any, mimeType string) error
	// EnableBuffering keeps the whole upstream response for the Response
	// phase and ServiceResponse.RawBody.
	EnableBuffering()
}

// ServiceRequestReader is implemented by a host's ServiceRequest that can
// read back the request as it will go upstream so far: the client's
// request with every change plugins made through ServiceRequest. In Kong
// the two are one (kong.service.request.set_header changes what
// kong.request.get_header reads); hostabi keeps Request as the client sent
// it, so a runtime whose own API sees one request (proxy-wasm filters,
// which run after the plugins' access phase and must see its changes)
// reads this instead. Allowed where ServiceRequest's setters are (rewrite,
// access).
type ServiceRequestReader interface {
	// UpstreamHeaders returns every header of the upstream request, names
	// lower-cased.
	UpstreamHeaders() map[string][]string
	// UpstreamBody returns the body a plugin set (SetRawBody, SetBody) and
	// true, or nil and false when no plugin changed the client's body.
	UpstreamBody() ([]byte, bool)
}

// Service chooses where the request is proxied (kong.service).
type Service interface {
	// SetTarget sends the request to host:port instead of the balancer's
	// pick (kong.service.set_target).
	SetTarget(host string, port int)
	// SetUpstream balances the request over the named upstream's targets
	// instead of the service's (kong.service.set_upstream); an unknown
	// name is an error and changes nothing.
	SetUpstream(name string) error
}

// Response reads and changes the response sent to the client
// (kong.response).
type Response interface {
	// Status is the status code that will be (or was) sent.
	Status() int
	SetStatus(status int)
	Header(name string) string
	Headers() map[string][]string
	SetHeader(name, value string)
	AddHeader(name, value string)
	ClearHeader(name string)
	// Source is "service", "exit" or "error": where the response came from.
	Source() string
	// Exit ends the request with this response (kong.response.exit): no
	// later plugin's phase runs and nothing is proxied. The plugin returns
	// right after calling it. The body is sent as given; JSONExit encodes
	// a Go value as Kong does a Lua table.
	Exit(status int, body []byte, headers map[string]string)
	// Error ends the request like Exit with Kong's error body for status
	// (kong.response.error): {"message": ...} in JSON, or HTML, XML or
	// text as the request's Accept header asks. An empty message takes
	// Kong's default for the status.
	Error(status int, message string, headers map[string]string)
	// Exited reports whether Exit or Error was called.
	Exited() bool
	// RawBody and SetRawBody give the whole body in the Response and
	// body_filter phases.
	RawBody() []byte
	SetRawBody(body []byte)
}

// ServiceResponse reads the upstream's response (kong.service.response).
type ServiceResponse interface {
	Status() int
	Header(name string) string
	Headers() map[string][]string
	// RawBody is available when buffering is enabled.
	RawBody() []byte
}

// Entity is a stored entity as plugins see it: Kong's JSON fields.
type Entity = map[string]any

// Client describes the client and its identity (kong.client).
type Client interface {
	IP() string
	ForwardedIP() string
	Port() int
	ForwardedPort() int
	// Protocol is the route protocol the request matched ("http", "https", ...).
	Protocol() string
	// Consumer and Credential return the authenticated identity, or nil.
	Consumer() Entity
	Credential() Entity
	// Authenticate sets the identity; either may be nil. Plugins configured
	// on the consumer then apply to the request, as in Kong.
	Authenticate(consumer, credential Entity)
	// LoadConsumer finds a consumer by id (or by username when byUsername).
	LoadConsumer(ctx context.Context, key string, byUsername bool) (Entity, error)
}

// Values is a key/value store of one request (kong.ctx.shared or
// kong.ctx.plugin), read and written one key at a time so that the
// operations cross a Wasm or Lua boundary without handing out a live map.
// Values shared with non-native plugins should be JSON values (nil, bool,
// float64, string, []any, map[string]any).
type Values interface {
	Get(key string) (any, bool)
	Set(key string, value any)
	Delete(key string)
}

// Ctx holds per-request state (kong.ctx).
type Ctx interface {
	// Shared is visible to every plugin of the request.
	Shared() Values
	// Plugin is private to the calling plugin instance for this request.
	Plugin() Values
}

// Log writes to the node's log with the plugin's name and the request id
// attached (kong.log).
type Log interface {
	Debug(msg string, kv ...any)
	Info(msg string, kv ...any)
	Notice(msg string, kv ...any)
	Warn(msg string, kv ...any)
	Err(msg string, kv ...any)
	Crit(msg string, kv ...any)
	// Serialize returns kong.log.serialize's table of the request
	// (LogRecord.Map), with the values set so far applied.
	Serialize() map[string]any
	// SetSerializeValue sets (nil: removes) a field of what Serialize
	// returns for this request; a dot in key nests, "\." is a dot.
	SetSerializeValue(key string, value any)
	// SetSerializeValueMode is SetSerializeValue with Kong's options.mode:
	// add sets only a field that does not exist when Serialize runs,
	// replace only one that does. An invalid mode is an error and changes
	// nothing.
	SetSerializeValueMode(key string, value any, mode SerializeMode) error
}

// Cache is the node's cache (kong.cache): values survive across requests
// until their TTL, an explicit Invalidate, or a change to the entity whose
// key they were stored under. A nil value is a negative entry: Get reports
// it as found.
//
// Loading a missing value once, whatever the number of concurrent callers,
// is the host's job and needs no callback across the boundary: Lookup
// either returns the value or makes the caller the key's loader, which
// then calls Fill (or Abandon on failure); concurrent Lookups of the key
// wait for that, up to their context's deadline. GetOrLoad is the Go
// convenience over these operations.
type Cache interface {
	Get(key string) (any, bool)
	Set(key string, value any, ttl time.Duration)
	// Lookup returns the cached value (found), or load=true when the
	// caller must load the value and Fill or Abandon the key. A caller
	// that waited for another's load gets its value, or its Abandon
	// error; ctx ends the wait.
	Lookup(ctx context.Context, key string) (value any, found, load bool, err error)
	// Fill stores the loaded value (nil caches a miss) and wakes the
	// waiters.
	Fill(key string, value any, ttl time.Duration)
	// Abandon ends a load without storing anything; waiters get err.
	Abandon(key string, err error)
	Invalidate(key string)
}

// Node describes the gateway node (kong.node).
type Node interface {
	ID() string
	Hostname() string
}

// Router tells what the request matched (kong.router).
type Router interface {
	Route() Entity
	Service() Entity
	// URICaptures returns regex path captures: numbered ("0", "1", ...) and named.
	URICaptures() map[string]string
}

// TLS describes the client's TLS connection (kong.client.tls).
type TLS interface {
	// ClientCertificateChain returns the certificates the client
	// presented, leaf first, PEM-encoded; "" when the request did not come
	// over TLS or the client sent none
	// (kong.client.tls.get_full_client_certificate_chain).
	ClientCertificateChain() (string, error)
}

// HTTPRequest is an outbound request a plugin sends (HTTP.Do).
type HTTPRequest struct {
	Method, URL string
	Header      map[string][]string
	Body        []byte
	// Timeout bounds the whole exchange (0: the host's default, 60 s);
	// the context's deadline bounds it too.
	Timeout time.Duration
}

// HTTPResponse is an outbound request's answer, read whole.
type HTTPResponse struct {
	Status int
	Header map[string][]string
	Body   []byte
}

// HTTP sends outbound requests for plugins (what Kong plugins do with
// resty.http on cosockets), with deadlines and the response read whole,
// so it crosses a Wasm or Lua boundary as plain values.
type HTTP interface {
	// Do sends the request; the exchange ends at ctx's deadline or the
	// request's Timeout, whichever comes first. Bodies larger than
	// MaxHTTPBody are an error.
	Do(ctx context.Context, req HTTPRequest) (HTTPResponse, error)
}

// MaxHTTPBody bounds an outbound response body.
const MaxHTTPBody = 16 << 20

// Timers runs work after the request, on the node's bounded workers (what
// Kong's log plugins do with ngx.timer.at): fn gets a context with a
// deadline of its own and an HTTP client. Work the node cannot queue is
// dropped and After reports it.
type Timers interface {
	After(delay time.Duration, fn func(ctx context.Context, h HTTP)) error
}

// IP answers questions about addresses (kong.ip).
type IP interface {
	// IsTrusted reports whether addr is within trusted_ips.
	IsTrusted(addr string) bool
}

// Plugin describes the running plugin instance (kong.plugin).
type Plugin interface {
	// ID is the plugin entity's id.
	ID() string
	// Name is the plugin's name.
	Name() string
}

// Credentials looks up credentials by their unique key, through the node's
// cache, for authentication plugins. entity is a credential entity name
// ("keyauth_credentials"); field is its unique field ("key"). An
// implementation reads value only during the call and copies what it
// keeps: a caller may pass a view of the request (HeaderPeeker).
type Credentials interface {
	Credential(ctx context.Context, entity, field, value string) (Entity, error)
	// ConsumerCredentials lists one consumer's credentials of an entity
	// (acls of a consumer, for example).
	ConsumerCredentials(ctx context.Context, entity, consumerID string) ([]Entity, error)
}

// Kong is everything a plugin sees during one call, named after Kong's PDK.
// Every operation of every facet is in the phase table (Operations):
// called outside its phases, it panics with a *PhaseError, which the chain
// turns into the plugin's failure (a 500), as a Lua error or a Wasm trap
// would be.
type Kong interface {
	Phase() Phase
	// Context is the request's context: its deadline bounds the request
	// (ABI.md, "Deadlines"), and it is cancelled once the request is over.
	Context() context.Context
	Request() Request
	ServiceRequest() ServiceRequest
	Service() Service
	Response() Response
	ServiceResponse() ServiceResponse
	Client() Client
	Ctx() Ctx
	Log() Log
	Cache() Cache
	Node() Node
	Router() Router
	IP() IP
	Plugin() Plugin
	TLS() TLS
	HTTP() HTTP
	Timers() Timers
	Credentials() Credentials
	// DB reads and writes entities (kong.db).
	DB() DB
}
