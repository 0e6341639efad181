package hostabi

import "context"

// A plugin instance implements the phase interfaces it needs. The chain
// calls each implemented method in its phase, in plugin priority order. A
// returned error, or a panic, ends the request with a 500; the process goes
// on.

// Rewriter runs in the rewrite phase (global plugins only).
type Rewriter interface{ Rewrite(k Kong) error }

// Accessor runs in the access phase.
type Accessor interface{ Access(k Kong) error }

// Responder runs once the whole upstream response is available.
type Responder interface{ Response(k Kong) error }

// HeaderFilterer runs when response headers are ready.
type HeaderFilterer interface{ HeaderFilter(k Kong) error }

// BodyFilterer runs for each response body chunk and returns the chunk to
// send (eof marks the last call).
type BodyFilterer interface {
	BodyFilter(k Kong, chunk []byte, eof bool) ([]byte, error)
}

// BodyWanter is implemented by body filters that need a response's body
// only for some requests (proxy-cache for a cacheable response,
// response-transformer for a JSON one). Right after the header_filter
// phase, the host asks WantsBody; when no body filter of the request wants
// the body, it streams to the client unread, so a large download on such
// a route is never held in memory. A body filter without it always gets
// the body. WantsBody runs with the header_filter phase's operations.
type BodyWanter interface {
	WantsBody(k Kong) bool
}

// LogPhaser runs after the response was sent.
type LogPhaser interface{ Log(k Kong) error }

// Closer is implemented by instances that hold resources; Close is called
// when the configuration that created them retires. A provider's factory
// may implement it too: its Close runs when the node closes, or when a
// plugin reload replaced the plugin and the last request using it ended.
type Closer interface{ Close() error }

// WorkerIniter is implemented by a plugin's factory that runs Kong's
// init_worker phase: InitWorker is called once per plugin per node, when
// the node starts (or a provider loads the plugin), before the plugin's
// first Configure. An error or a panic is logged with the plugin's name;
// the node starts all the same.
type WorkerIniter interface {
	InitWorker(ctx context.Context) error
}

// Configurer is implemented by a plugin's factory that runs Kong's
// configure phase: Configure is called whenever the node's configuration
// snapshot changes (and once after init_worker) with the configurations of
// every enabled plugin entity of the plugin, ordered by entity id, or nil
// when there is none. The maps are the plugin's own copies. An error or a
// panic is logged with the plugin's name; the snapshot is used all the
// same.
type Configurer interface {
	Configure(ctx context.Context, configs []map[string]any) error
}

// Definition describes a plugin to the node as data, the way a provider
// (the Lua or Wasm host) finds it in a plugin folder: name, priority,
// version, the phases it runs in, its configuration schema and the
// entities it owns. The node turns it into the same registry entry a
// native plugin registers.
type Definition struct {
	Name     string
	Version  string
	Priority int
	// Phases lists the phases the plugin's instances run in.
	Phases []Phase
	// Schema is the plugin's schema in Kong's JSON rendering, the body of
	// `GET /schemas/plugins/{name}`: {"fields": [{"config": {...}}, ...]}.
	Schema map[string]any
	// Entities are the entities the plugin owns (Kong's daos.lua).
	Entities []EntityDefinition
	// Endpoints are the Admin API endpoints the plugin serves (Kong's
	// api.lua); its factory implements EndpointServer to answer them.
	Endpoints []EndpointDefinition
}

// EntityDefinition declares an entity a plugin owns, with the names of
// Kong's daos.lua: the node stores it, serves it on the Admin API, reads
// and writes it in kong.yml and invalidates cached copies on change.
type EntityDefinition struct {
	// Name is the entity's name ("keyauth_credentials").
	Name string
	// AdminAPIName is the collection's Admin API path segment ("key-auths");
	// Name when empty.
	AdminAPIName string
	// AdminAPINestedName is the segment under a parent entity
	// (/consumers/{c}/key-auth); AdminAPIName when empty.
	AdminAPINestedName string
	// EndpointKey is the unique field accepted in place of the id in URLs.
	EndpointKey string
	// CacheKey lists the fields whose combination identifies an entity
	// (unique, and the key of deterministic kong.yml ids).
	CacheKey []string
	// ParentKey, when set, is the field a nested path names the entity by
	// under its parent (an ACL's group).
	ParentKey string
	// DeclarativeKey is the entity's key in kong.yml; Name when empty.
	DeclarativeKey string
	// TTL lets writes give entities a time to live.
	TTL bool
	// Schema is the entity's schema in Kong's JSON rendering, the body of
	// `GET /schemas/{entity}`: {"fields": [{"id": {...}}, ...]}; foreign
	// keys name their entity with "reference".
	Schema map[string]any
}

// Factory creates plugin instances from validated configuration.
type Factory interface {
	// New returns an instance for one plugin entity's config. It runs when
	// a configuration snapshot is built, never per request.
	New(config map[string]any) (any, error)
}

// Validator is implemented by factories that check a configuration beyond
// its schema; the error is reported on the plugin's config.
type Validator interface {
	Validate(config map[string]any) error
}

// Provider offers plugins implemented by a runtime (Wasm, Lua); cmd
// registers providers with the node, which never imports them. The node
// asks for the plugins at start.
type Provider interface {
	// Plugins lists the definitions and factories the provider can serve.
	Plugins() ([]ProvidedPlugin, error)
	// Close releases the runtime.
	Close() error
}

// ProvidedPlugin pairs a definition with its factory.
type ProvidedPlugin struct {
	Definition Definition
	Factory    Factory
}

// EndpointDefinition declares an Admin API endpoint a plugin serves beside
// its entities (Kong's api.lua): a method and a path in Kong's route
// syntax, whose ":name" segments are parameters
// ("/jwt-crafter/:consumer/tokens"). A GET endpoint answers HEAD too.
type EndpointDefinition struct {
	Method string
	Path   string
}

// EndpointRequest is one Admin API call of a plugin's endpoint.
type EndpointRequest struct {
	// Method is the call's method; Path the endpoint's declared path (the
	// EndpointDefinition's), URI the path the client asked for.
	Method, Path, URI string
	// Params are the path's parameters by name, unescaped.
	Params map[string]string
	// RawQuery is the query string without '?'.
	RawQuery string
	// Headers are the request's headers, names lower-cased.
	Headers map[string][]string
	// Body is the request body (the Admin API's body limit applied).
	Body []byte
}

// EndpointResponse is an endpoint's answer. A Body without a
// Content-Type header is sent as application/json.
type EndpointResponse struct {
	Status  int
	Headers map[string][]string
	Body    []byte
	// Pass hands the call to the node's own route for the path (the
	// entity routes; Kong's parent route and generated endpoints); the
	// other fields are then ignored. Without such a route the call is
	// Kong's 404.
	Pass bool
}

// EndpointHost is what the node lends one endpoint call: the entities
// (kong.db), the log (kong.log, with the plugin's name attached) and the
// node's identity (kong.node). Log's Serialize has no request to describe
// there: it returns an empty record.
type EndpointHost struct {
	DB   DB
	Log  Log
	Node Node
}

// EndpointServer is implemented by a factory whose plugin declares
// Endpoints. The node routes each call of a declared endpoint to
// ServeEndpoint; an error (a plugin's error, trap or timeout, bounded by
// ctx) is answered with Kong's 500 {"message":"An unexpected error
// occurred"} and logged, never with a partial response.
type EndpointServer interface {
	ServeEndpoint(ctx context.Context, host EndpointHost, req EndpointRequest) (EndpointResponse, error)
}
