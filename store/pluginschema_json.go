package store

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/gatehouse/gatehouse/store/schema"
)

// pluginBodyFields are the plugin entity's fields `GET /schemas/plugins/{name}`
// shows, in order.
var pluginBodyFields = []string{"consumer", "route", "service", "protocols", "config"}

// RenderPluginSchema returns the body of `GET /schemas/plugins/{name}` for a
// plugin: sch is the plugin entity's schema specialised for the plugin (as
// PluginEntitySchema returns it) and ps the plugin's schema. The scopes the
// plugin forbids show `"eq": null` (Kong's no_consumer, no_route and
// no_service typedefs), and the entity checks of its config, written from the
// plugin entity ("config.second"), show under the top-level "entity_checks"
// as Kong shows them. PluginSchemaFromJSON reads this body back.
func RenderPluginSchema(sch *schema.Schema, ps *PluginSchema) map[string]any {
	if ps != nil && ps.ConfigJSON != nil {
		return renderJSONConfigPlugin(sch, ps)
	}
	var fields []*schema.Field
	for _, n := range pluginBodyFields {
		f := sch.Field(n)
		if f == nil {
			continue
		}
		if ps != nil && ((n == "consumer" && ps.NoConsumer) || (n == "route" && ps.NoRoute) || (n == "service" && ps.NoService)) {
			c := *f
			c.Null = true
			f = &c
		}
		if n == "config" && ps != nil && ps.Config != nil {
			c := *f
			if ps.Config.CheckRoot == "config" {
				c.EntityChecks = nil
			} else {
				c.EntityChecks = ps.Config.EntityChecks
			}
			f = &c
		}
		fields = append(fields, f)
	}
	out := schema.Render(&schema.Schema{Fields: fields})
	if ps != nil && ps.Config != nil && ps.Config.CheckRoot == "config" && len(ps.Config.EntityChecks) > 0 {
		out["entity_checks"] = schema.RenderEntityChecks(ps.Config.EntityChecks)
	}
	return out
}

// PluginSchemaBody returns the body of `GET /schemas/plugins/{name}` for an
// enabled plugin (see RenderPluginSchema), or false.
func (s *Store) PluginSchemaBody(name string) (map[string]any, bool) {
	sch, ok := s.PluginEntitySchema(name)
	if !ok {
		return nil, false
	}
	return RenderPluginSchema(sch, s.pluginSchema(name)), true
}

// PluginSchemaFromJSON loads a plugin's schema from the body of
// `GET /schemas/plugins/{name}` (the form RenderPluginSchema writes, and
// Kong's): the fields consumer, route and service, where `"eq": null` forbids
// the scope; protocols, whose default becomes Protocols and whose elements'
// one_of becomes OnlyProtocols (each left nil when it is the plugin entity's
// own); and the config record, loaded with schema.SchemaFromMap. Top-level
// entity_checks are the config's, with paths written from the plugin entity
// ("config.second"). A top-level "name", if present, must be name. Errors
// name the field's path. Plugins delivered as data
// (Lua, Wasm) register the result like a Go-declared schema.
func PluginSchemaFromJSON(name string, data []byte) (*PluginSchema, error) {
	if name == "" {
		return nil, fmt.Errorf("plugin schema: empty plugin name")
	}
	body, err := schema.DecodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", name, err)
	}
	for k, v := range body {
		switch k {
		case "fields", "entity_checks":
		case "name":
			// A schema.lua's own name, when a provider passes it along.
			if v != name {
				return nil, fmt.Errorf("plugin %s: schema: name %v does not match the plugin's", name, v)
			}
		default:
			return nil, fmt.Errorf("plugin %s: schema: unknown key %q (want fields, entity_checks, name)", name, k)
		}
	}
	list, ok := body["fields"].([]any)
	if !ok {
		return nil, fmt.Errorf("plugin %s: schema: fields: expected an array", name)
	}
	ps := &PluginSchema{Name: name}
	base := Plugins().Schema
	seen := map[string]bool{}
	var configBody map[string]any
	for i, item := range list {
		obj, ok := item.(map[string]any)
		if !ok || len(obj) != 1 {
			return nil, fmt.Errorf("plugin %s: schema: fields[%d]: expected an object with one key, the field's name", name, i)
		}
		for fname, raw := range obj {
			if seen[fname] {
				return nil, fmt.Errorf("plugin %s: schema: %s: field declared twice", name, fname)
			}
			seen[fname] = true
			attrs, ok := raw.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("plugin %s: schema: %s: expected an object of attributes", name, fname)
			}
			switch fname {
			case "consumer", "route", "service":
				if t, _ := attrs["type"].(string); t != "foreign" {
					return nil, fmt.Errorf("plugin %s: schema: %s: expected type \"foreign\"", name, fname)
				}
				eq, has := attrs["eq"]
				if !has {
					continue
				}
				if eq != nil {
					return nil, fmt.Errorf("plugin %s: schema: %s.eq: only null is supported (it forbids the scope)", name, fname)
				}
				switch fname {
				case "consumer":
					ps.NoConsumer = true
				case "route":
					ps.NoRoute = true
				case "service":
					ps.NoService = true
				}
			case "protocols":
				if err := loadProtocols(ps, base.Field("protocols"), attrs); err != nil {
					return nil, fmt.Errorf("plugin %s: schema: protocols: %w", name, err)
				}
			case "config":
				configBody = attrs
			case "name":
				// Kong's Wasm filter plugins declare the plugin's name.
				if t, _ := attrs["type"].(string); t != "string" || len(attrs) != 1 {
					return nil, fmt.Errorf("plugin %s: schema: name: expected {\"type\": \"string\"}", name)
				}
				ps.NameField = true
			default:
				return nil, fmt.Errorf("plugin %s: schema: %s: not a field a plugin schema declares (want consumer, route, service, protocols, config)", name, fname)
			}
		}
	}
	if t, _ := configBody["type"].(string); configBody != nil && t == "json" {
		return jsonConfigPluginFromJSON(ps, configBody, body["entity_checks"])
	}
	cfgFields := map[string]any{"fields": []any{}}
	if configBody != nil {
		if t, _ := configBody["type"].(string); t != "record" {
			return nil, fmt.Errorf("plugin %s: schema: config: expected type \"record\"", name)
		}
		for k, v := range configBody {
			switch k {
			case "type", "required":
			case "fields", "entity_checks":
				cfgFields[k] = v
			default:
				return nil, fmt.Errorf("plugin %s: schema: config: unknown attribute %q", name, k)
			}
		}
	}
	cfg, err := schema.SchemaFromMap(cfgFields, "")
	if err != nil {
		return nil, fmt.Errorf("plugin %s: config: %w", name, err)
	}
	if raw, ok := body["entity_checks"]; ok {
		if len(cfg.EntityChecks) > 0 {
			return nil, fmt.Errorf("plugin %s: schema: entity checks both on the plugin and on config", name)
		}
		top, err := schema.SchemaFromMap(map[string]any{"fields": []any{}, "entity_checks": raw}, "config")
		if err != nil {
			return nil, fmt.Errorf("plugin %s: %w", name, err)
		}
		cfg.AddEntityChecks("config", top.EntityChecks...)
	}
	ps.Config = cfg
	return ps, nil
}

// loadProtocols sets Protocols and OnlyProtocols from the protocols field's
// attributes, leaving each nil when it is the plugin entity's own.
func loadProtocols(ps *PluginSchema, base *schema.Field, attrs map[string]any) error {
	if t, _ := attrs["type"].(string); t != "set" {
		return fmt.Errorf("expected type \"set\"")
	}
	strs := func(v any, what string) ([]string, error) {
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%s: expected an array of protocol names", what)
		}
		out := make([]string, len(list))
		for i, e := range list {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%s[%d]: expected a protocol name", what, i)
			}
			out[i] = s
		}
		return out, nil
	}
	known := map[string]bool{}
	for _, p := range base.Elements.OneOf {
		known[p.(string)] = true
	}
	if d, ok := attrs["default"]; ok && d != nil {
		def, err := strs(d, "default")
		if err != nil {
			return err
		}
		for i, p := range def {
			if !known[p] {
				return fmt.Errorf("default[%d]: unknown protocol %q", i, p)
			}
		}
		if !reflect.DeepEqual(schema.Clone(def), base.Default) {
			ps.Protocols = def
		}
	}
	if e, ok := attrs["elements"].(map[string]any); ok {
		if o, ok := e["one_of"]; ok {
			only, err := strs(o, "elements.one_of")
			if err != nil {
				return err
			}
			for i, p := range only {
				if !known[p] {
					return fmt.Errorf("elements.one_of[%d]: unknown protocol %q", i, p)
				}
			}
			if !reflect.DeepEqual(schema.Clone(only), base.Elements.OneOf) {
				ps.OnlyProtocols = only
			}
		}
	}
	return nil
}

// Kong's typedef descriptions a JSON-config plugin's rendering carries
// (kong/db/schema/typedefs.lua no_consumer, no_route, no_service,
// protocols_http and protocols).
var scopeDescriptions = map[string]string{
	"consumer": "Custom type for representing a foreign key with a null value allowed.",
	"route":    "A reference to the 'routes' table with a null value allowed.",
	"service":  "A reference to the 'services' table with a null value allowed.",
}

const (
	httpProtocolsDescription = "A set of strings representing HTTP protocols."
	protocolsDescription     = "A set of strings representing protocols."
)

// renderJSONConfigPlugin renders a plugin whose config is a JSON value as
// Kong renders such a subschema (a proxy-wasm filter plugin): only the
// fields it declares — name, the scopes it forbids, protocols, config
// with its json_schema — and its entity checks.
func renderJSONConfigPlugin(sch *schema.Schema, ps *PluginSchema) map[string]any {
	var fields []any
	if ps.NameField {
		fields = append(fields, map[string]any{"name": map[string]any{"type": "string"}})
	}
	for _, sc := range []struct {
		name, ref string
		banned    bool
	}{{"consumer", "consumers", ps.NoConsumer}, {"route", "routes", ps.NoRoute}, {"service", "services", ps.NoService}} {
		if sc.banned {
			fields = append(fields, map[string]any{sc.name: map[string]any{"type": "foreign", "reference": sc.ref,
				"eq": nil, "description": scopeDescriptions[sc.name]}})
		}
	}
	if f := sch.Field("protocols"); f != nil {
		desc := protocolsDescription
		if reflect.DeepEqual(ps.OnlyProtocols, HTTPProtocols) {
			desc = httpProtocolsDescription
		}
		fields = append(fields, map[string]any{"protocols": map[string]any{"type": "set", "required": true,
			"default": schema.Clone(f.Default), "elements": map[string]any{"type": "string", "one_of": schema.Clone(f.Elements.OneOf)},
			"description": desc}})
	}
	fields = append(fields, map[string]any{"config": map[string]any{"type": "json", "required": ps.ConfigJSON.Required,
		"json_schema": RenderJSONConfig(ps.ConfigJSON)}})
	checks := schema.RenderEntityChecks(ps.EntityChecks)
	if checks == nil {
		checks = []any{}
	}
	return map[string]any{"fields": fields, "entity_checks": checks}
}

// jsonConfigPluginFromJSON completes a plugin schema whose config is
// Kong's `type = "json"` field: its required flag and json_schema
// (inline, or parent_subschema_key and namespace with optional and
// default), and the top-level entity checks, which are the plugin
// entity's own.
func jsonConfigPluginFromJSON(ps *PluginSchema, attrs map[string]any, checks any) (*PluginSchema, error) {
	name := ps.Name
	jc := &JSONConfig{}
	for k, v := range attrs {
		switch k {
		case "type":
		case "required":
			b, ok := v.(bool)
			if !ok {
				return nil, fmt.Errorf("plugin %s: schema: config.required: expected a boolean", name)
			}
			jc.Required = b
		case "json_schema":
			js, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("plugin %s: schema: config.json_schema: expected an object", name)
			}
			if err := loadJSONSchemaAttr(jc, js); err != nil {
				return nil, fmt.Errorf("plugin %s: schema: config.json_schema: %w", name, err)
			}
		default:
			return nil, fmt.Errorf("plugin %s: schema: config: unknown attribute %q", name, k)
		}
	}
	if _, ok := attrs["json_schema"]; !ok {
		// Kong's json field without a json_schema takes any JSON value.
		jc.Optional = true
	}
	ps.ConfigJSON = jc
	if checks != nil {
		top, err := schema.SchemaFromMap(map[string]any{"fields": []any{}, "entity_checks": checks}, "")
		if err != nil {
			return nil, fmt.Errorf("plugin %s: %w", name, err)
		}
		ps.EntityChecks = top.EntityChecks
	}
	return ps, nil
}

// loadJSONSchemaAttr reads Kong's json_schema attribute.
func loadJSONSchemaAttr(jc *JSONConfig, js map[string]any) error {
	obj := func(k string, v any) (map[string]any, error) {
		m, ok := schema.Clone(plainJSON(v)).(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: expected an object", k)
		}
		return m, nil
	}
	for k, v := range js {
		var err error
		switch k {
		case "inline":
			jc.Inline, err = obj(k, v)
		case "default":
			jc.Default, err = obj(k, v)
		case "parent_subschema_key", "namespace":
			str, ok := v.(string)
			if !ok || str == "" {
				return fmt.Errorf("%s: expected a string", k)
			}
			if k == "namespace" {
				jc.Namespace = str
			} else {
				jc.ParentKey = str
			}
		case "optional":
			b, ok := v.(bool)
			if !ok {
				return fmt.Errorf("optional: expected a boolean")
			}
			jc.Optional = b
		default:
			return fmt.Errorf("unknown key %q (want inline, parent_subschema_key, namespace, optional, default)", k)
		}
		if err != nil {
			return err
		}
	}
	if jc.Inline == nil && (jc.ParentKey == "" || jc.Namespace == "") {
		return fmt.Errorf("want inline, or parent_subschema_key and namespace")
	}
	return nil
}

// plainJSON turns the json.Number values of a decoded document into
// float64 or int64, as JSON schemas are compared with decoded values.
func plainJSON(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case []any:
		out := make([]any, len(t))
		for i := range t {
			out[i] = plainJSON(t[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = plainJSON(x)
		}
		return out
	}
	return v
}
