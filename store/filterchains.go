package store

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/store/schema"
)

// Kong 3.x's filter_chains entity (kong/db/schema/entities/filter_chains.lua
// and others/wasm_filter.lua): an ordered list of proxy-wasm filters
// attached to one route or one service. Which filters exist depends on the
// node's `wasm` and `wasm_filters_path` settings, given to the store as a
// WasmState (Options.Wasm, SetWasm).

// The reasons Kong's wasm.status() gives when filter chains cannot be used
// (kong/runloop/wasm.lua STATUS_DISABLED and STATUS_NO_FILTERS).
const (
	WasmStatusDisabled  = "wasm support is not enabled"
	WasmStatusNoFilters = "no wasm filters are available"
)

// WasmFilter is one proxy-wasm filter module found in wasm_filters_path.
type WasmFilter struct {
	// Name is the file name without its .wasm suffix.
	Name string
	// Path is the module's file.
	Path string
	// ConfigSchema is the `config_schema` of the filter's NAME.meta.json,
	// a JSON schema (draft 4) its configuration must satisfy; nil when the
	// filter declares none (its config is then a string or null).
	ConfigSchema map[string]any
}

// WasmState is what the store knows of the node's Wasm support.
type WasmState struct {
	// Enabled is Kong's `wasm` setting.
	Enabled bool
	// Filters are the available filters, sorted by name.
	Filters []WasmFilter
}

// Status returns "" when filter chains can be used, or Kong's reason.
func (w *WasmState) Status() string {
	switch {
	case w == nil || !w.Enabled:
		return WasmStatusDisabled
	case len(w.Filters) == 0:
		return WasmStatusNoFilters
	}
	return ""
}

// Filter returns the named filter.
func (w *WasmState) Filter(name string) (WasmFilter, bool) {
	if w == nil || !w.Enabled {
		return WasmFilter{}, false
	}
	for _, f := range w.Filters {
		if f.Name == name {
			return f, true
		}
	}
	return WasmFilter{}, false
}

// Names returns the available filters' names, sorted.
func (w *WasmState) Names() []string {
	if w == nil || !w.Enabled {
		return nil
	}
	out := make([]string, len(w.Filters))
	for i, f := range w.Filters {
		out[i] = f.Name
	}
	return out
}

// DiscoverWasmFilters lists the proxy-wasm filters of dir as Kong's
// conf_loader does: every regular file whose extension is .wasm (in any
// case) is a filter named after the file; a NAME.meta.json beside it
// holds its metadata, whose optional `config_schema` (a JSON object)
// validates the filters' configuration. An empty dir or a dir that does
// not exist has no filters. A metadata file that is not a file, not JSON
// or not of the expected shape is an error, as it stops Kong's start.
func DiscoverWasmFilters(dir string) ([]WasmFilter, error) {
	if dir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("wasm_filters_path %s: %w", dir, err)
	}
	var out []WasmFilter
	var problems []string
	for _, ent := range entries {
		ext := filepath.Ext(ent.Name())
		if !strings.EqualFold(ext, ".wasm") {
			continue
		}
		path := filepath.Join(dir, ent.Name())
		if info, err := os.Stat(path); err != nil || !info.Mode().IsRegular() {
			continue
		}
		name := strings.TrimSuffix(ent.Name(), ext)
		f := WasmFilter{Name: name, Path: path}
		metaPath := strings.TrimSuffix(path, ext) + ".meta.json"
		if cs, problem := readFilterMeta(metaPath); problem != "" {
			problems = append(problems, fmt.Sprintf("* %s (%s) %s", name, metaPath, problem))
		} else {
			f.ConfigSchema = cs
		}
		out = append(out, f)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("Failed to load metadata for one or more filters:\n%s", strings.Join(problems, "\n"))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// readFilterMeta reads a filter's metadata file: its config schema, or the
// problem with the file ("" and nil when there is no file).
func readFilterMeta(path string) (map[string]any, string) {
	info, err := os.Stat(path)
	if os.IsNotExist(err) {
		return nil, ""
	}
	if err != nil {
		return nil, "I/O error: " + err.Error()
	}
	if !info.Mode().IsRegular() {
		return nil, "invalid type: path exists but is not a file"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "I/O error: " + err.Error()
	}
	return parseFilterMeta(data)
}

// parseFilterMeta decodes a NAME.meta.json document: an object whose
// optional config_schema is an object.
func parseFilterMeta(data []byte) (map[string]any, string) {
	var meta any
	if err := json.Unmarshal(data, &meta); err != nil {
		return nil, "JSON decode error: " + err.Error()
	}
	m, ok := meta.(map[string]any)
	if !ok {
		return nil, "file contains invalid metadata: expected an object"
	}
	raw, ok := m["config_schema"]
	if !ok || raw == nil {
		return nil, ""
	}
	cs, ok := raw.(map[string]any)
	if !ok {
		return nil, "file contains invalid metadata: property config_schema validation failed: wrong type: expected object, got " + jsonTypeName(raw)
	}
	return cs, ""
}

// FilterChains declares Kong's filter_chains entity.
func FilterChains() *Entity {
	filter := &schema.Field{Type: schema.Record, Fields: []*schema.Field{
		{Name: "name", Type: schema.String, Required: true},
		{Name: "enabled", Type: schema.Boolean, Required: true, Default: true},
		{Name: "config", Type: schema.JSON},
	}}
	s := &schema.Schema{
		Fields: []*schema.Field{
			idField(),
			nameField(true),
			{Name: "enabled", Type: schema.Boolean, Required: true, Default: true},
			foreignField("route", "routes", false, "cascade"),
			foreignField("service", "services", false, "cascade"),
			{Name: "filters", Type: schema.Array, Required: true, LenMin: 1, Elements: filter},
			createdAtField(), updatedAtField(),
			tagsField(),
		},
	}
	s.AddEntityChecks("",
		schema.EntityCheck{MutuallyExclusive: []string{"service", "route"}},
		schema.EntityCheck{AtLeastOneOf: []string{"service", "route"}},
	)
	return &Entity{
		Name: "filter_chains", Path: "filter-chains", EndpointKey: "name",
		CacheKey:     []string{"route", "service"},
		KongCacheKey: []string{"route", "service"},
		Schema:       s,
		Generate:     fillFilterDefaults,
	}
}

// fillFilterDefaults gives each filter of a chain its `enabled` default
// (true) and a null config when none is given, as Kong's records have
// every field; the schema's default filling does not reach inside arrays.
func fillFilterDefaults(rec map[string]any) {
	list, _ := rec["filters"].([]any)
	for _, el := range list {
		if m, ok := el.(map[string]any); ok {
			if _, set := m["enabled"]; !set {
				m["enabled"] = true
			}
			if _, set := m["config"]; !set {
				m["config"] = nil
			}
		}
	}
}

// SetWasm gives the store the node's Wasm support, against which filter
// chains are validated; nil means wasm is off.
func (s *Store) SetWasm(w *WasmState) {
	s.wasmMu.Lock()
	s.wasm = w
	s.wasmMu.Unlock()
}

// Wasm returns the node's Wasm support as SetWasm gave it (nil: off).
func (s *Store) Wasm() *WasmState {
	s.wasmMu.Lock()
	defer s.wasmMu.Unlock()
	return s.wasm
}

// checkFilterChain adds to errs what Kong's wasm_filter schema and the
// entity's custom check report: "no such filter" for a filter that is not
// available, the filter's config against its JSON schema (or string/null
// without one), and the wasm status under "@entity".
func (s *Store) checkFilterChain(rec map[string]any, errs schema.Errors) {
	w := s.Wasm()
	list, ok := rec["filters"].([]any)
	if ok {
		existing, isList := errs["filters"].([]any)
		if _, set := errs["filters"]; !set || isList {
			elemErrs := make([]any, len(list))
			copy(elemErrs, existing)
			flagged := false
			for i, el := range list {
				m, ok := el.(map[string]any)
				if !ok {
					continue
				}
				fe, _ := elemErrs[i].(schema.Errors)
				if elemErrs[i] != nil && fe == nil {
					continue
				}
				if fe == nil {
					fe = schema.Errors{}
				}
				name, _ := m["name"].(string)
				if _, bad := fe["name"]; !bad && name != "" {
					f, found := w.Filter(name)
					if !found {
						fe["name"] = "no such filter"
					} else if _, bad := fe["config"]; !bad {
						if msg := validateFilterConfig(f.ConfigSchema, m["config"]); msg != "" {
							fe["config"] = msg
						}
					}
				}
				if len(fe) > 0 {
					elemErrs[i] = fe
					flagged = true
				}
			}
			if flagged {
				errs["filters"] = elemErrs
			}
		}
	}
	if status := w.Status(); status != "" {
		errs.AddEntity(status)
	}
}

// validateFilterConfig checks a filter's config as Kong's wasm_filter
// schema does: against the filter's JSON schema, or, for a filter without
// one, as a string or null.
func validateFilterConfig(cs map[string]any, v any) string {
	if cs == nil {
		cs = map[string]any{"type": []any{"string", "null"}}
	}
	return ValidateJSONSchema(cs, v)
}

// WasmFilterNamespace is the namespace of the proxy-wasm filters' config
// schemas (Kong's constants.SCHEMA_NAMESPACES.PROXY_WASM_FILTERS): a
// JSONConfig naming it finds the schema of the filter its parent key
// names, from the filter's NAME.meta.json.
const WasmFilterNamespace = "proxy-wasm-filters"

// jsonSchemaDraft4 is the $schema Kong gives filter config schemas.
const jsonSchemaDraft4 = "http://json-schema.org/draft-04/schema#"

// JSONConfig is Kong's json_schema attribute of a `type = "json"` field
// (kong/db/schema/init.lua get_json_schema): the JSON schema a plugin's
// config is validated against.
type JSONConfig struct {
	// Required refuses a null config.
	Required bool
	// Inline is the schema itself; when set the other fields are unused.
	Inline map[string]any
	// ParentKey names the record field whose value picks the schema
	// (Kong's parent_subschema_key: "name", the plugin's name), in
	// Namespace (Kong's namespace: WasmFilterNamespace).
	ParentKey, Namespace string
	// Optional accepts any value when no schema is found; Default is the
	// schema used when the namespace has none for the key.
	Optional bool
	Default  map[string]any
}

// FilterPluginSchema is the schema of a plugin named after the proxy-wasm
// filter name (Kong 3.6+, kong/runloop/wasm/plugins.lua): `config` is the
// filter's configuration itself, a JSON value validated against the
// filter's JSON schema (its NAME.meta.json config_schema), or a string or
// null when it has none; no consumer; HTTP protocols only; a route or a
// service, not both.
func FilterPluginSchema(name string) *PluginSchema {
	return &PluginSchema{
		Name:          name,
		NameField:     true,
		NoConsumer:    true,
		OnlyProtocols: HTTPProtocols,
		ConfigJSON: &JSONConfig{ParentKey: "name", Namespace: WasmFilterNamespace, Optional: true,
			Default: map[string]any{"$schema": jsonSchemaDraft4, "type": []any{"string", "null"}}},
		EntityChecks: []schema.EntityCheck{
			{MutuallyExclusive: []string{"service", "route"}},
			{AtLeastOneOf: []string{"service", "route"}},
		},
	}
}

// RenderJSONConfig renders a JSONConfig as Kong shows the json_schema
// attribute.
func RenderJSONConfig(jc *JSONConfig) map[string]any {
	if jc.Inline != nil {
		return map[string]any{"inline": schema.Clone(jc.Inline)}
	}
	out := map[string]any{"parent_subschema_key": jc.ParentKey, "namespace": jc.Namespace}
	if jc.Optional {
		out["optional"] = true
	}
	if jc.Default != nil {
		out["default"] = schema.Clone(jc.Default)
	}
	return out
}

// jsonConfigSchema finds the JSON schema a record's config is validated
// against, or Kong's message when a mandatory one is missing; nil and ""
// when the config is not checked.
func (s *Store) jsonConfigSchema(jc *JSONConfig, rec map[string]any) (map[string]any, string) {
	if jc.Inline != nil {
		return jc.Inline, ""
	}
	key, _ := rec[jc.ParentKey].(string)
	if key == "" {
		if !jc.Optional {
			return nil, fmt.Sprintf("validation of config depends on the parent attribute %s, but it is not set", jc.ParentKey)
		}
		return nil, ""
	}
	var found map[string]any
	if jc.Namespace == WasmFilterNamespace {
		if f, ok := s.Wasm().Filter(key); ok {
			found = f.ConfigSchema
		}
	}
	if found == nil {
		found = jc.Default
	}
	if found == nil && !jc.Optional {
		return nil, fmt.Sprintf("mandatory json schema for field (%s/%s) not found", jc.Namespace, key)
	}
	return found, ""
}

// checkPluginRecord adds to errs what a plugin schema with a JSON config
// or entity checks of its own reports, as Kong's validation of the plugin
// entity does: the config against its JSON schema, the forbidden scopes
// and the entity checks (each unless one of its fields is invalid), all
// together with the other violations. updating is a PATCH: Kong's
// validate_update words at_least_one_of "when updating, ...".
func (s *Store) checkPluginRecord(ps *PluginSchema, rec map[string]any, errs schema.Errors, updating bool) {
	if ps == nil {
		return
	}
	if ps.ConfigJSON != nil {
		if _, bad := errs["config"]; !bad {
			cs, msg := s.jsonConfigSchema(ps.ConfigJSON, rec)
			if msg == "" && cs != nil {
				msg = ValidateJSONSchema(cs, rec["config"])
			}
			if msg != "" {
				errs["config"] = msg
			}
		}
		for _, sc := range []struct {
			field  string
			banned bool
		}{{"consumer", ps.NoConsumer}, {"route", ps.NoRoute}, {"service", ps.NoService}} {
			if _, bad := errs[sc.field]; sc.banned && !bad && rec[sc.field] != nil {
				errs[sc.field] = "value must be null"
			}
		}
	}
	for _, c := range ps.EntityChecks {
		skip := false
		for _, f := range checkFields(c) {
			if _, bad := errs[f]; bad {
				skip = true
			}
		}
		if skip {
			continue
		}
		for _, msg := range schema.RunEntityChecks("", []schema.EntityCheck{c}, rec) {
			if updating && c.AtLeastOneOf != nil {
				msg = "when updating, " + msg
			}
			errs.AddEntity(msg)
		}
	}
}

// checkFields lists the fields an entity check reads (those of the
// field-list checks; conditionals are not used by plugin-level checks).
func checkFields(c schema.EntityCheck) []string {
	var out []string
	for _, l := range [][]string{c.AtLeastOneOf, c.OnlyOneOf, c.MutuallyExclusive, c.MutuallyRequired, c.Distinct} {
		out = append(out, l...)
	}
	if c.Conditional != nil {
		out = append(out, c.Conditional.IfField, c.Conditional.ThenField)
	}
	return out
}
