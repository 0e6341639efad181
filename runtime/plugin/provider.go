package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
)

// SchemaLoader turns Kong's JSON renderings of schemas (the bodies of
// `GET /schemas/plugins/{name}` and `GET /schemas/{entity}`) into the
// store's declarations. It is the seam between providers, which deliver
// schemas as data, and the store's schema vocabulary.
type SchemaLoader interface {
	// PluginSchema reads a plugin's schema rendering.
	PluginSchema(name string, rendering map[string]any) (*store.PluginSchema, error)
	// EntitySchema reads an entity's schema rendering.
	EntitySchema(entity string, rendering map[string]any) (*schema.Schema, error)
}

// JSONSchemaLoader is the SchemaLoader for Kong's JSON renderings: plugin
// schemas through store.PluginSchemaFromJSON, entity schemas through
// schema.FromJSON, so a schema delivered as data validates and renders as
// the Go-declared schema it was rendered from.
type JSONSchemaLoader struct{}

// PluginSchema implements SchemaLoader.
func (JSONSchemaLoader) PluginSchema(name string, rendering map[string]any) (*store.PluginSchema, error) {
	data, err := json.Marshal(rendering)
	if err != nil {
		return nil, fmt.Errorf("plugin schema of %s: %w", name, err)
	}
	return store.PluginSchemaFromJSON(name, data)
}

// EntitySchema implements SchemaLoader.
func (JSONSchemaLoader) EntitySchema(entity string, rendering map[string]any) (*schema.Schema, error) {
	data, err := json.Marshal(rendering)
	if err != nil {
		return nil, fmt.Errorf("schema of %s: %w", entity, err)
	}
	return schema.FromJSON(data)
}

var _ SchemaLoader = JSONSchemaLoader{}

// FromProvider asks a provider for its plugins and turns each into a
// Definition: the schema and the entity schemas read by loader, the
// factory's New (and Validate, InitWorker, Configure and Close, when it
// implements hostabi.Validator, WorkerIniter, Configurer and Closer)
// wired in. A
// nil loader is JSONSchemaLoader. The definitions are enabled like any
// other through NewCatalog.
func FromProvider(p hostabi.Provider, loader SchemaLoader) ([]*Definition, error) {
	if loader == nil {
		loader = JSONSchemaLoader{}
	}
	provided, err := p.Plugins()
	if err != nil {
		return nil, fmt.Errorf("plugin provider: %w", err)
	}
	out := make([]*Definition, 0, len(provided))
	for _, pp := range provided {
		d, err := FromData(pp, loader)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// FromData turns one provided plugin into a Definition.
func FromData(pp hostabi.ProvidedPlugin, loader SchemaLoader) (*Definition, error) {
	hd := pp.Definition
	if hd.Name == "" {
		return nil, errors.New("plugin provider: a plugin without a name")
	}
	if pp.Factory == nil {
		return nil, fmt.Errorf("plugin %s: no factory", hd.Name)
	}
	d := &Definition{Name: hd.Name, Version: hd.Version, Priority: hd.Priority,
		Phases: append([]hostabi.Phase(nil), hd.Phases...), New: pp.Factory.New}
	if hd.Schema != nil {
		ps, err := loader.PluginSchema(hd.Name, hd.Schema)
		if err != nil {
			return nil, fmt.Errorf("plugin %s: schema: %w", hd.Name, err)
		}
		d.Schema = ps
	}
	if v, ok := pp.Factory.(hostabi.Validator); ok {
		d.Validate = v.Validate
	}
	if w, ok := pp.Factory.(hostabi.WorkerIniter); ok {
		d.InitWorker = w.InitWorker
	}
	if c, ok := pp.Factory.(hostabi.Configurer); ok {
		d.Configure = c.Configure
	}
	if c, ok := pp.Factory.(hostabi.Closer); ok {
		d.Close = c.Close
	}
	if len(hd.Endpoints) > 0 {
		srv, ok := pp.Factory.(hostabi.EndpointServer)
		if !ok {
			return nil, fmt.Errorf("plugin %s: declares endpoints but its factory serves none", hd.Name)
		}
		for _, e := range hd.Endpoints {
			if !endpointMethods[strings.ToUpper(e.Method)] || !strings.HasPrefix(e.Path, "/") {
				return nil, fmt.Errorf("plugin %s: invalid endpoint %s %q", hd.Name, e.Method, e.Path)
			}
		}
		served := &servedEndpoints{defs: append([]hostabi.EndpointDefinition(nil), hd.Endpoints...), serve: srv.ServeEndpoint}
		d.served = served
		d.Endpoints = func(env EndpointEnv) []Endpoint {
			return providedEndpoints(env, hd.Name, served.defs, func() *servedEndpoints { return served })
		}
	}
	for _, ed := range hd.Entities {
		e, err := EntityFromData(ed, loader)
		if err != nil {
			return nil, fmt.Errorf("plugin %s: %w", hd.Name, err)
		}
		d.Entities = append(d.Entities, e)
	}
	return d, nil
}

// endpointMethods are the methods an endpoint may declare.
var endpointMethods = map[string]bool{http.MethodGet: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true}

// EntityFromData turns an entity a provider declares as data into the
// store's declaration. Kong's cache_key is both a uniqueness rule and the
// key of deterministic kong.yml ids, as in Kong.
func EntityFromData(ed hostabi.EntityDefinition, loader SchemaLoader) (*store.Entity, error) {
	if ed.Name == "" {
		return nil, errors.New("entity without a name")
	}
	sch, err := loader.EntitySchema(ed.Name, ed.Schema)
	if err != nil {
		return nil, fmt.Errorf("entity %s: schema: %w", ed.Name, err)
	}
	e := &store.Entity{
		Name: ed.Name, Path: ed.AdminAPIName, NestedPath: ed.AdminAPINestedName, Schema: sch,
		EndpointKey: ed.EndpointKey, ParentKey: ed.ParentKey, DeclarativeKey: ed.DeclarativeKey, TTL: ed.TTL,
		CacheKey:     append([]string(nil), ed.CacheKey...),
		KongCacheKey: append([]string(nil), ed.CacheKey...),
	}
	if e.Path == "" {
		e.Path = ed.Name
	}
	for _, f := range []string{ed.EndpointKey, ed.ParentKey} {
		if f != "" && sch.Field(f) == nil {
			return nil, fmt.Errorf("entity %s: key field %q is not declared", ed.Name, f)
		}
	}
	for _, f := range ed.CacheKey {
		if sch.Field(f) == nil {
			return nil, fmt.Errorf("entity %s: cache key field %q is not declared", ed.Name, f)
		}
	}
	if sch.Field("id") == nil {
		return nil, fmt.Errorf("entity %s: no id field", ed.Name)
	}
	return e, nil
}
