// Package hostabi is the contract between Gatehouse and its plugins: what a
// plugin may read and do in each phase of a request, modelled on Kong's PDK
// (kong.request, kong.service.request, kong.response, kong.client, kong.ctx,
// kong.log, kong.cache, kong.node, kong.router). Native plugins call these
// interfaces directly; the Wasm and Lua hosts expose the same operations to
// their guests. It imports the standard library only, so every runtime and
// the guest SDK can depend on it. ABI.md is the versioned specification.
package hostabi

import (
	"context"
	"time"
)

// Version is the version of this ABI (semantic versioning). Wasm guests
// declare the version they were built against; a host refuses a guest whose
// major version differs.
const Version = "1.1.0"

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
)

var phaseNames = [...]string{"", "rewrite", "access", "response", "header_filter", "body_filter", "log"}

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
	// SetTarget sends the request to host:port instead of the balancer's pick.
	SetTarget(host string, port int)
	// EnableBuffering keeps the whole upstream response for the Response
	// phase and ServiceResponse.RawBody.
	EnableBuffering()
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
	// Exit ends the request with this response: no later plugin's phase
	// runs and nothing is proxied. The plugin returns right after calling it.
	// A JSON-encodable body that is not []byte or string is sent as JSON.
	Exit(status int, body any, headers map[string]string)
	// Exited reports whether Exit was called.
	Exited() bool
	// RawBody and SetRawBody give the whole body in the Response phase.
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

// Ctx holds per-request state (kong.ctx).
type Ctx interface {
	// Shared is visible to every plugin of the request.
	Shared() map[string]any
	// Plugin is private to the calling plugin instance for this request.
	Plugin() map[string]any
}

// Log writes to the node's log with the plugin's name attached (kong.log).
type Log interface {
	Debug(msg string, kv ...any)
	Info(msg string, kv ...any)
	Notice(msg string, kv ...any)
	Warn(msg string, kv ...any)
	Err(msg string, kv ...any)
	Crit(msg string, kv ...any)
}

// Cache is the node's cache (kong.cache): values survive across requests
// until their TTL, an explicit Invalidate, or a change to the entity whose
// key they were stored under.
type Cache interface {
	Get(key string) (any, bool)
	Set(key string, value any, ttl time.Duration)
	// GetOrLoad returns the cached value, or calls load once (concurrent
	// callers wait) and caches its result; a nil result is cached as a
	// negative entry.
	GetOrLoad(key string, ttl time.Duration, load func() (any, error)) (any, error)
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

// Credentials looks up credentials by their unique key, through the node's
// cache, for authentication plugins. entity is a credential entity name
// ("keyauth_credentials"); field is its unique field ("key").
type Credentials interface {
	Credential(ctx context.Context, entity, field, value string) (Entity, error)
	// ConsumerCredentials lists one consumer's credentials of an entity
	// (acls of a consumer, for example).
	ConsumerCredentials(ctx context.Context, entity, consumerID string) ([]Entity, error)
}

// Kong is everything a plugin sees during one call, named after Kong's PDK.
// Accessors valid only in some phases say so in ABI.md; calling one in the
// wrong phase returns a zero value.
type Kong interface {
	Phase() Phase
	Context() context.Context
	Request() Request
	ServiceRequest() ServiceRequest
	Response() Response
	ServiceResponse() ServiceResponse
	Client() Client
	Ctx() Ctx
	Log() Log
	Cache() Cache
	Node() Node
	Router() Router
	Credentials() Credentials
}
