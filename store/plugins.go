package store

import (
	"fmt"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/store/schema"
)

// schemaFor returns the schema a record of e is validated against: for
// plugins, the plugin entity with the plugin's own config record.
func (s *Store) schemaFor(e *Entity, rec map[string]any) (*schema.Schema, *PluginSchema, schema.Errors) {
	if e.Name != "plugins" {
		return e.Schema, nil, nil
	}
	name, isString := rec["name"].(string)
	if v, given := rec["name"]; given && v != nil && !isString {
		return e.Schema, nil, schema.Errors{"name": "expected a string"}
	}
	if name == "" {
		return e.Schema, nil, schema.Errors{"name": "required field missing"}
	}
	ps := s.pluginSchema(name)
	if ps == nil {
		return e.Schema, nil, schema.Errors{"name": fmt.Sprintf("plugin '%s' not enabled; add it to the 'plugins' configuration property", name)}
	}
	fields := make([]*schema.Field, len(e.Schema.Fields))
	for i, f := range e.Schema.Fields {
		switch f.Name {
		case "config":
			cfg := *f
			cfg.Required = true
			if ps.ConfigJSON != nil {
				// Kong's `type = "json"` config: any JSON value, checked
				// against its JSON schema by checkPluginRecord.
				cfg.Type, cfg.Required, cfg.Fields = schema.JSON, ps.ConfigJSON.Required, nil
			} else if ps.Config != nil {
				requireConfigRecords(ps)
				cfg.Fields = ps.Config.Fields
				if len(ps.Config.Checks) > 0 {
					checks := ps.Config.Checks
					cfg.Check = func(v any) string {
						m, _ := v.(map[string]any)
						for _, c := range checks {
							if msgs := c(m); len(msgs) > 0 {
								return strings.Join(msgs, "; ")
							}
						}
						return ""
					}
				}
			}
			f = &cfg
		case "protocols":
			if ps.Protocols != nil || ps.OnlyProtocols != nil {
				p := *f
				if ps.Protocols != nil {
					p.Default = schema.Clone(ps.Protocols)
				}
				if ps.OnlyProtocols != nil {
					elems := *f.Elements
					elems.OneOf = schema.Clone(ps.OnlyProtocols).([]any)
					p.Elements = &elems
				}
				f = &p
			}
		}
		fields[i] = f
	}
	sch := *e.Schema // keeps the entity's checks in every form, data ones included
	sch.Fields = fields
	return &sch, ps, nil
}

// pluginSchema returns the named plugin's schema: the catalog's, or,
// as Kong loads every available proxy-wasm filter as a plugin named after
// it (kong/runloop/wasm/plugins.lua), a filter's plugin schema; nil when
// neither knows the name.
func (s *Store) pluginSchema(name string) *PluginSchema {
	if s.plugins != nil {
		if ps, ok := s.plugins.PluginSchema(name); ok && ps != nil {
			return ps
		}
	}
	if _, ok := s.Wasm().Filter(name); ok {
		return FilterPluginSchema(name)
	}
	return nil
}

// configsPrepared holds the plugin schemas whose config records were made
// required, once each.
var configsPrepared sync.Map // *PluginSchema -> *sync.Once

// requireConfigRecords makes the records of a plugin's config required, as
// Kong's plugin subschemas do.
func requireConfigRecords(ps *PluginSchema) {
	once, _ := configsPrepared.LoadOrStore(ps, new(sync.Once))
	once.(*sync.Once).Do(func() { schema.RequireRecords(ps.Config.Fields) })
}

// PreparePluginSchema readies a plugin schema for use, as Kong does when it
// loads a plugin: the records of its config become required. Plugin
// registries call it once, before the schema is shared; the store also
// calls it (idempotently) when it first validates against the schema.
func PreparePluginSchema(ps *PluginSchema) {
	if ps != nil && ps.Config != nil {
		requireConfigRecords(ps)
	}
}

// PluginEntitySchema returns the plugin entity's schema specialised for the
// named plugin, as `GET /schemas/plugins/{name}` shows it.
func (s *Store) PluginEntitySchema(name string) (*schema.Schema, bool) {
	e, _ := s.registry.Entity("plugins")
	sch, ps, errs := s.schemaFor(e, map[string]any{"name": name})
	if errs != nil || ps == nil {
		return nil, false
	}
	return sch, true
}
