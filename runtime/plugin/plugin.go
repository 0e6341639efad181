// Package plugin is the registry of plugins a Gatehouse node knows: each
// plugin registers its name, priority, version and configuration schema once
// (in init for native plugins, at load time for Wasm and Lua ones), and the
// node enables the subset its `plugins` setting names. The registry answers
// the store's schema questions, so every runtime's plugins are configured the
// same way through /plugins.
package plugin

import (
	"fmt"
	"sort"
	"sync"

	"github.com/gatehouse/gatehouse/store"
)

// Definition is what a plugin registers.
type Definition struct {
	// Name is the plugin's name, as used in `plugins` and in the entity.
	Name string
	// Version is reported by `GET /`.
	Version string
	// Priority orders execution: higher runs first, as in Kong.
	Priority int
	// Schema declares the plugin's configuration.
	Schema *store.PluginSchema
	// New creates an instance from a validated config; the instance
	// implements the hostabi phase interfaces it needs.
	New func(config map[string]any) (any, error)
}

var (
	mu      sync.RWMutex
	bundled = map[string]*Definition{}
)

// Register adds a bundled (native) plugin. Registering a name twice panics:
// it is a build mistake, caught at start-up.
func Register(d *Definition) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := bundled[d.Name]; dup {
		panic(fmt.Sprintf("plugin: %q registered twice", d.Name))
	}
	if d.Schema == nil {
		d.Schema = &store.PluginSchema{Name: d.Name}
	}
	store.PreparePluginSchema(d.Schema)
	bundled[d.Name] = d
}

// Bundled returns the names of the registered native plugins, sorted.
func Bundled() []string {
	mu.RLock()
	defer mu.RUnlock()
	return store.SortedKeys(bundled)
}

// Catalog is the set of plugins enabled on a node.
type Catalog struct {
	byName map[string]*Definition
}

// NewCatalog enables the plugins a `plugins` setting names: "bundled" for
// every native plugin, "off" for none, plus extra definitions (Wasm, Lua)
// by name. Naming a plugin nobody registered is an error.
func NewCatalog(names []string, extra ...*Definition) (*Catalog, error) {
	mu.RLock()
	defer mu.RUnlock()
	known := map[string]*Definition{}
	for n, d := range bundled {
		known[n] = d
	}
	for _, d := range extra {
		store.PreparePluginSchema(d.Schema)
		known[d.Name] = d
	}
	c := &Catalog{byName: map[string]*Definition{}}
	for _, n := range names {
		switch n {
		case "off":
			continue
		case "bundled":
			for bn, d := range bundled {
				c.byName[bn] = d
			}
			continue
		}
		d, ok := known[n]
		if !ok {
			return nil, fmt.Errorf("plugin %q is enabled in 'plugins' but not installed", n)
		}
		c.byName[n] = d
	}
	return c, nil
}

// PluginSchema implements store.PluginCatalog.
func (c *Catalog) PluginSchema(name string) (*store.PluginSchema, bool) {
	d, ok := c.byName[name]
	if !ok {
		return nil, false
	}
	return d.Schema, true
}

// Get returns an enabled plugin's definition.
func (c *Catalog) Get(name string) (*Definition, bool) {
	d, ok := c.byName[name]
	return d, ok
}

// Names returns the enabled plugin names, sorted.
func (c *Catalog) Names() []string {
	out := make([]string, 0, len(c.byName))
	for n := range c.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

var _ store.PluginCatalog = (*Catalog)(nil)
