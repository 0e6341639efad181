// Package store holds Gatehouse's entities: their declarations (Kong's
// services, routes, consumers, plugins, …), the rules every write follows
// (coercion, defaults, validation, uniqueness, foreign keys, cascades) and the
// change events each committed write publishes. Storage itself is a Backend:
// store/sqlite, store/postgres, or memory for DB-less mode.
package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/store/schema"
	"github.com/google/uuid"
)

// PluginSchema is what a plugin registers about its configuration.
type PluginSchema struct {
	// Name is the plugin's name ("key-auth").
	Name string
	// Config declares the plugin's `config` record.
	Config *schema.Schema
	// Protocols is the default of the plugin entity's `protocols` field; nil
	// means Kong's default.
	Protocols []string
	// OnlyProtocols, when set, are the only protocols the plugin accepts
	// (Kong's typedefs.protocols_http gives HTTPProtocols); nil accepts
	// every protocol (typedefs.protocols).
	OnlyProtocols []string
	// NoConsumer, NoRoute and NoService forbid those scopes.
	NoConsumer, NoRoute, NoService bool
	// ConfigJSON, when set, makes the plugin's `config` a JSON value of
	// any type (Kong's `type = "json"` field) validated against a JSON
	// schema, rather than a record; Config is then nil. Kong's proxy-wasm
	// filters configured as plugins declare it (FilterPluginSchema). The
	// runtime hands such a config to the plugin's factory as
	// {"config": value}.
	ConfigJSON *JSONConfig
	// EntityChecks are checks on the plugin entity's own fields (paths
	// without "config."), such as a filter plugin's mutually_exclusive
	// and at_least_one_of on service and route; each runs unless one of
	// its fields is invalid, as Kong runs them, and reports under
	// "@entity".
	EntityChecks []schema.EntityCheck
	// NameField marks a schema that declares the plugin entity's `name`
	// ({"type": "string"}), as Kong's Wasm filter plugins do: it only
	// renders.
	NameField bool
}

// HTTPProtocols are Kong's typedefs.protocols_http: the default and the only
// accepted protocols of plugins that run on HTTP requests only.
var HTTPProtocols = []string{"grpc", "grpcs", "http", "https"}

// PluginCatalog tells the store which plugins exist, so plugin entities can
// be validated against their configuration schema.
type PluginCatalog interface {
	// PluginSchema returns the named plugin's schema, if the plugin is enabled.
	PluginSchema(name string) (*PluginSchema, bool)
}

// Options configure a Store.
type Options struct {
	// Plugins validates plugin entities; nil accepts no plugin.
	Plugins PluginCatalog
	// Bus receives change events; nil creates one.
	Bus *Bus
	// ReadOnly, when true, refuses every write (DB-less mode).
	ReadOnly bool
	// Now returns the current time; nil uses time.Now.
	Now func() time.Time
	// Entities are declared by plugins (credentials, ACL groups); New adds
	// them after Kong's core entities, each after those it references. When
	// Plugins also implements EntityCatalog, its entities are added too.
	Entities []*Entity
	// Wasm is the node's Wasm support (the wasm and wasm_filters_path
	// settings) filter chains are validated against; nil means wasm is off.
	Wasm *WasmState
}

// EntityCatalog is implemented by plugin catalogs that also declare the
// entities of their enabled plugins (Kong's daos.lua).
type EntityCatalog interface {
	// Entities returns the declarations, in any order.
	Entities() []*Entity
}

// Store validates and persists entities on a Backend.
type Store struct {
	backend  Backend
	registry *Registry
	plugins  PluginCatalog
	bus      *Bus
	readOnly bool
	now      func() time.Time

	broadcastMu sync.Mutex
	broadcaster Broadcaster

	wasmMu sync.Mutex
	wasm   *WasmState
}

// New returns a store over backend holding Kong's entities and the
// plugins' ones opts declares. Conflicting declarations (a name declared
// twice, a reference to an unknown entity) are programming errors: New
// panics; NewChecked reports them.
func New(backend Backend, opts Options) *Store {
	s, err := NewChecked(backend, opts)
	if err != nil {
		panic(err)
	}
	return s
}

// NewChecked is New returning conflicting entity declarations as an error.
func NewChecked(backend Backend, opts Options) (*Store, error) {
	extra := append([]*Entity(nil), opts.Entities...)
	if ec, ok := opts.Plugins.(EntityCatalog); ok {
		extra = append(extra, ec.Entities()...)
	}
	reg, err := NewRegistry(MergeEntities(KongEntities(), extra)...)
	if err != nil {
		return nil, err
	}
	if opts.Bus == nil {
		opts.Bus = NewBus()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{backend: backend, registry: reg, plugins: opts.Plugins, bus: opts.Bus, readOnly: opts.ReadOnly, now: opts.Now, wasm: opts.Wasm}, nil
}

// Registry returns the entity declarations.
func (s *Store) Registry() *Registry { return s.registry }

// Bus returns the bus change events are published on.
func (s *Store) Bus() *Bus { return s.bus }

// Backend returns the storage beneath the store.
func (s *Store) Backend() Backend { return s.backend }

// ReadOnly reports whether writes are refused (DB-less mode).
func (s *Store) ReadOnly() bool { return s.readOnly }

// SetPlugins sets the catalog plugin entities are validated against.
func (s *Store) SetPlugins(p PluginCatalog) { s.plugins = p }

func (s *Store) entity(name string) (*Entity, error) {
	e, ok := s.registry.Entity(name)
	if !ok {
		return nil, fmt.Errorf("store: unknown entity %q", name)
	}
	return e, nil
}

// IsUUID reports whether s is a canonical UUID, the test Kong applies to
// decide whether a URL segment is an id or an endpoint key.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// SetBroadcaster gives the store the way to reach the other nodes sharing
// its database (a Postgres cluster); without one, Broadcast reaches no
// one, there being no other node.
func (s *Store) SetBroadcaster(b Broadcaster) {
	s.broadcastMu.Lock()
	s.broadcaster = b
	s.broadcastMu.Unlock()
}

// Broadcast sends a message on channel to the other nodes sharing the
// database, whose Bus.OnMessage subscribers get it; a node alone (SQLite,
// DB-less) has no one to tell, and Broadcast does nothing.
func (s *Store) Broadcast(ctx context.Context, channel, data string) error {
	s.broadcastMu.Lock()
	b := s.broadcaster
	s.broadcastMu.Unlock()
	if b == nil {
		return nil
	}
	return b.Broadcast(ctx, channel, data)
}

// Ping reports whether the backend answers.
func (s *Store) Ping(ctx context.Context) error { return s.backend.Ping(ctx) }

// randomToken returns 32 random hex characters, Kong's shape for generated
// keys and secrets.
func randomToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("store: reading random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}

// SortedKeys returns the keys of m in order; a helper for stable output.
func SortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
