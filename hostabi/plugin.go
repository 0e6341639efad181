package hostabi

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

// LogPhaser runs after the response was sent.
type LogPhaser interface{ Log(k Kong) error }

// Closer is implemented by instances that hold resources; Close is called
// when the configuration that created them retires.
type Closer interface{ Close() error }

// Definition describes a plugin to the node: name, priority, version and the
// configuration schema in Kong's JSON schema format (the body of
// `GET /schemas/plugins/{name}`: {"fields": [{"config": {...}}, ...]}).
type Definition struct {
	Name     string
	Version  string
	Priority int
	// Schema is Kong's schema of the plugin as JSON-like values.
	Schema map[string]any
}

// Factory creates plugin instances from validated configuration.
type Factory interface {
	// New returns an instance for one plugin entity's config. It runs when
	// a configuration snapshot is built, never per request.
	New(config map[string]any) (any, error)
}

// Provider offers plugins implemented by a runtime (Wasm, Lua); cmd
// registers providers with the node, which never imports them.
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
