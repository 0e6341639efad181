// Package plugin is the registry of plugins a Gatehouse node knows: each
// plugin registers one Definition (name, version, priority, phases,
// configuration schema, the entities it owns, its factory) once — in init
// for native plugins, through a hostabi.Provider for Wasm and Lua ones — and
// the node enables the subset its `plugins` setting names. The registry
// answers the store's schema and entity questions, so every runtime's
// plugins are configured the same way through /plugins and their entities
// (credentials, ACL groups; Kong's daos.lua) are stored, served and
// imported like core ones. A plugin's configuration reaches it decoded
// into its own config type (Typed, Decode), every default taken from its
// schema; Kong's plugin-level phases, init_worker and configure, run
// through InitWorkers and Catalog.Configure.
package plugin

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/store"
)

// BundledVersion is the version Kong gives each of its bundled plugins
// (kong_meta.version): the Kong release Gatehouse emulates, which the
// Admin API reports at `GET /` (conformance checks the two agree). Native
// plugins that stand for Kong's bundled ones declare it.
const BundledVersion = "3.9.3"

// Definition is what a plugin registers: the one model of a plugin for
// every runtime (native Go, Lua, Wasm).
type Definition struct {
	// Name is the plugin's name, as used in `plugins` and in the entity.
	Name string
	// Version is reported by `GET /`.
	Version string
	// Priority orders execution: higher runs first, as in Kong.
	Priority int
	// Phases lists the phases the plugin's instances run in; informative
	// for native plugins (the chain asks the instance), declared by
	// providers whose instances answer every phase interface.
	Phases []hostabi.Phase
	// Schema declares the plugin's configuration.
	Schema *store.PluginSchema
	// Entities are the entities the plugin owns (its credentials), stored,
	// served by the Admin API and read from kong.yml whenever the plugin is
	// enabled.
	Entities []*store.Entity
	// New creates an instance from a validated config; the instance
	// implements the hostabi phase interfaces it needs.
	New func(config map[string]any) (any, error)
	// Validate, when set, checks a configuration the schema accepted; its
	// error is reported on the config record, as Kong reports a custom
	// entity check.
	Validate func(config map[string]any) error
	// Close, when set, releases what the plugin holds (a provider's
	// runtime); the node calls it once when it stops.
	Close func() error
	// InitWorker, when set, is Kong's init_worker phase
	// (hostabi.WorkerIniter): run once per node, see InitWorkers.
	InitWorker func(ctx context.Context) error
	// Configure, when set, is Kong's configure phase (hostabi.Configurer):
	// called with the plugin's active configurations whenever the
	// configuration snapshot changes, see Catalog.Configure.
	Configure func(ctx context.Context, configs []map[string]any) error
	// Endpoints, when set, returns the HTTP endpoints the plugin serves
	// on the Admin API or the status listener (Kong's api.lua); the node
	// calls it once when it starts.
	Endpoints func(env EndpointEnv) []Endpoint

	validateInstalled bool
	// served is set by FromData for a provider's plugin that declares
	// endpoints: Catalog.Endpoints routes their calls to the catalog's
	// current definition of the plugin.
	served *servedEndpoints
	// decode is set by Typed: the plugin's own config decoding.
	decode func(config map[string]any) (any, error)
}

// entityOwner is a registration of entities without a plugin: a bundled
// plugin whose handler is not written yet still owns its credentials, so
// that kong.yml files and Admin API calls naming them keep working.
type entityOwner struct {
	owner    string
	entities []*store.Entity
}

var (
	mu        sync.RWMutex
	bundled   = map[string]*Definition{}
	entityReg = map[string]*entityOwner{}
)

// Register adds a bundled (native) plugin. Registering a name twice, or
// entities that conflict with the store's, panics: it is a build mistake,
// caught at start-up.
func Register(d *Definition) {
	if err := prepare(d); err != nil {
		panic(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := bundled[d.Name]; dup {
		panic(fmt.Sprintf("plugin: %q registered twice", d.Name))
	}
	if _, dup := entityReg[d.Name]; dup {
		panic(fmt.Sprintf("plugin: %q registered both as a plugin and as an entity owner", d.Name))
	}
	checkEntityNames(d.Name, d.Entities)
	bundled[d.Name] = d
}

// RegisterEntities adds the entities a bundled plugin owns without
// registering the plugin itself: they are enabled whenever `plugins`
// names "bundled" or the owner. A plugin registered with Register declares
// its entities in its Definition instead. Conflicts panic, as in Register.
func RegisterEntities(owner string, entities ...*store.Entity) {
	if err := checkEntities(owner, entities); err != nil {
		panic(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := entityReg[owner]; dup {
		panic(fmt.Sprintf("plugin: entities of %q registered twice", owner))
	}
	if _, dup := bundled[owner]; dup {
		panic(fmt.Sprintf("plugin: %q registered both as a plugin and as an entity owner", owner))
	}
	checkEntityNames(owner, entities)
	entityReg[owner] = &entityOwner{owner: owner, entities: entities}
}

// checkEntityNames panics when an entity name is already owned; mu is held.
func checkEntityNames(owner string, entities []*store.Entity) {
	for _, e := range entities {
		for _, d := range bundled {
			for _, o := range d.Entities {
				if o.Name == e.Name {
					panic(fmt.Sprintf("plugin: entity %q of %q already declared by %q", e.Name, owner, d.Name))
				}
			}
		}
		for _, r := range entityReg {
			for _, o := range r.entities {
				if o.Name == e.Name {
					panic(fmt.Sprintf("plugin: entity %q of %q already declared by %q", e.Name, owner, r.owner))
				}
			}
		}
	}
}

// prepare completes a definition (an empty schema when none is given, the
// Validate hook as a config check) and checks its entities.
func prepare(d *Definition) error {
	if d.Name == "" {
		return errors.New("plugin: a definition needs a name")
	}
	if d.Schema == nil {
		d.Schema = &store.PluginSchema{Name: d.Name}
	}
	if d.Validate != nil && d.Schema.Config == nil {
		return fmt.Errorf("plugin %s: Validate needs a config schema to report on", d.Name)
	}
	if d.Validate != nil && !d.validateInstalled {
		validate := d.Validate
		d.Schema.Config.Checks = append(d.Schema.Config.Checks, func(rec map[string]any) []string {
			if err := validate(rec); err != nil {
				return []string{err.Error()}
			}
			return nil
		})
		d.validateInstalled = true // once, even if prepare runs again
	}
	store.PreparePluginSchema(d.Schema)
	return checkEntities(d.Name, d.Entities)
}

// checkEntities checks that entities fit after Kong's core entities: no
// duplicate names or Admin API paths, references to known entities only.
// It also completes the declarations (bounds on indexed fields) once, so
// stores sharing them never write to them.
func checkEntities(owner string, entities []*store.Entity) error {
	if len(entities) == 0 {
		return nil
	}
	reg, err := store.NewRegistry(store.MergeEntities(store.KongEntities(), entities)...)
	if err != nil {
		return fmt.Errorf("plugin %s: %w", owner, err)
	}
	paths := map[string]bool{}
	for _, e := range reg.All() {
		if paths[e.Path] {
			return fmt.Errorf("plugin %s: entity %s: Admin API path %q is taken", owner, e.Name, e.Path)
		}
		paths[e.Path] = true
	}
	return nil
}

// Bundled returns the names of the registered native plugins, sorted.
func Bundled() []string {
	mu.RLock()
	defer mu.RUnlock()
	return store.SortedKeys(bundled)
}

// EntityOwners returns the names registered with RegisterEntities, sorted.
func EntityOwners() []string {
	mu.RLock()
	defer mu.RUnlock()
	return store.SortedKeys(entityReg)
}

// LinkedEntities returns the entities every registered plugin and entity
// owner declares, ordered by owner name: what a node with
// `plugins = bundled` stores.
func LinkedEntities() []*store.Entity {
	mu.RLock()
	defer mu.RUnlock()
	var out []*store.Entity
	for _, n := range store.SortedKeys(bundled) {
		out = append(out, bundled[n].Entities...)
	}
	for _, n := range store.SortedKeys(entityReg) {
		out = append(out, entityReg[n].entities...)
	}
	return out
}

// Catalog is the set of plugins enabled on a node; the zero Catalog
// enables none. It is safe for
// concurrent use: Replace swaps the whole set at once (a provider reload)
// while requests, the store and the snapshot builder read it.
type Catalog struct {
	state atomic.Pointer[catalogState]
}

// catalogState is one immutable generation of a catalog.
type catalogState struct {
	byName   map[string]*Definition
	entities []*store.Entity
}

// load returns the current generation; a zero Catalog enables nothing.
func (c *Catalog) load() *catalogState {
	if st := c.state.Load(); st != nil {
		return st
	}
	return &catalogState{}
}

// NewCatalog enables the plugins a `plugins` setting names: "bundled" for
// every native plugin and entity owner, "off" for none, plus extra
// definitions (Wasm, Lua) by name. Naming a plugin nobody registered is an
// error, as is an extra definition whose entities conflict.
func NewCatalog(names []string, extra ...*Definition) (*Catalog, error) {
	for _, d := range extra {
		if err := prepare(d); err != nil {
			return nil, err
		}
	}
	mu.RLock()
	defer mu.RUnlock()
	known := map[string]*Definition{}
	for n, d := range bundled {
		known[n] = d
	}
	for _, d := range extra {
		known[d.Name] = d
	}
	c := &catalogState{byName: map[string]*Definition{}}
	owners := map[string]bool{}
	for _, n := range names {
		switch n {
		case "off":
			continue
		case "bundled":
			for bn, d := range bundled {
				c.byName[bn] = d
			}
			for on := range entityReg {
				owners[on] = true
			}
			continue
		}
		if _, ok := entityReg[n]; ok {
			owners[n] = true
			continue
		}
		d, ok := known[n]
		if !ok {
			return nil, fmt.Errorf("plugin %q is enabled in 'plugins' but not installed", n)
		}
		c.byName[n] = d
	}
	for _, n := range store.SortedKeys(c.byName) {
		c.entities = append(c.entities, c.byName[n].Entities...)
	}
	for _, n := range store.SortedKeys(owners) {
		c.entities = append(c.entities, entityReg[n].entities...)
	}
	if err := checkEntities("catalog", c.entities); err != nil {
		return nil, err
	}
	cat := &Catalog{}
	cat.state.Store(c)
	return cat, nil
}

// PluginSchema implements store.PluginCatalog.
func (c *Catalog) PluginSchema(name string) (*store.PluginSchema, bool) {
	d, ok := c.load().byName[name]
	if !ok {
		return nil, false
	}
	return d.Schema, true
}

// Entities implements store.EntityCatalog: the entities of the enabled
// plugins and entity owners.
func (c *Catalog) Entities() []*store.Entity {
	return append([]*store.Entity(nil), c.load().entities...)
}

// Get returns an enabled plugin's definition.
func (c *Catalog) Get(name string) (*Definition, bool) {
	d, ok := c.load().byName[name]
	return d, ok
}

// Names returns the enabled plugin names, sorted.
func (c *Catalog) Names() []string {
	return store.SortedKeys(c.load().byName)
}

// Close calls Close of every enabled plugin that has one and returns the
// errors joined.
func (c *Catalog) Close() error {
	var errs []error
	for _, d := range c.Definitions() {
		if n := d.Name; d.Close != nil {
			if err := d.Close(); err != nil {
				errs = append(errs, fmt.Errorf("plugin %s: %w", n, err))
			}
		}
	}
	return errors.Join(errs...)
}

var (
	_ store.PluginCatalog = (*Catalog)(nil)
	_ store.EntityCatalog = (*Catalog)(nil)
)

// Registry returns the entity declarations of a store with this catalog:
// Kong's core entities and the enabled plugins' ones, what a kong.yml file
// is parsed against before any store is open.
func (c *Catalog) Registry() (*store.Registry, error) {
	return store.NewRegistry(store.MergeEntities(store.KongEntities(), c.Entities())...)
}
