package snapshot

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/store"
)

// Kong's filter chain state (kong/runloop/wasm.lua rebuild_state): the
// enabled filter chains of routes and services, resolved per request as
// Kong resolves them. Running them is the proxy-wasm host's work; the
// snapshot only says which filters run, in which order, with which
// configuration.

// ChainFilter is one filter a request runs.
type ChainFilter struct {
	// Name is the filter's name: its module is NAME.wasm of
	// wasm_filters_path, and the proxy-wasm plugin of that name runs it.
	Name string
	// Config is the configuration handed to the filter's root context
	// (proxy_on_configure), as Kong serializes it: a string config as
	// given, any other JSON value JSON-encoded; nil when the filter has
	// none.
	Config []byte
	// HasConfig tells an absent config from an empty string.
	HasConfig bool
	// Value is the config as the entity holds it: nil, a string or a
	// decoded JSON value. Callers must not modify it.
	Value any
	// Path is the filter's module file.
	Path string
	// From is "service" or "route": the chain the filter comes from.
	From string
	// ChainID is the id of that filter_chains entity.
	ChainID string
}

// PluginConfig returns the filter's configuration in the shape of the
// proxy-wasm plugins' config record: {"config": value} with the value as
// the entity holds it (a string or a JSON value); an empty map when the
// filter has none.
func (f ChainFilter) PluginConfig() map[string]any {
	if f.Value == nil {
		return map[string]any{}
	}
	return map[string]any{"config": f.Value}
}

// FilterChain is one enabled filter_chains entity, its enabled filters in
// order.
type FilterChain struct {
	ID, Name           string
	RouteID, ServiceID string
	Filters            []ChainFilter
}

// FilterChains indexes the enabled chains by route and by service.
type FilterChains struct {
	byRoute   map[string]*FilterChain
	byService map[string]*FilterChain
}

// Route returns the enabled chain of the route, or nil.
func (fc *FilterChains) Route(routeID string) *FilterChain {
	if fc == nil {
		return nil
	}
	return fc.byRoute[routeID]
}

// Service returns the enabled chain of the service, or nil.
func (fc *FilterChains) Service(serviceID string) *FilterChain {
	if fc == nil {
		return nil
	}
	return fc.byService[serviceID]
}

// Empty reports whether no chain is enabled.
func (fc *FilterChains) Empty() bool {
	return fc == nil || len(fc.byRoute)+len(fc.byService) == 0
}

// For returns the filters a request matched to routeID, proxied to
// serviceID, runs, in Kong's order: the service chain's enabled filters,
// then the route chain's (build_filter_list); nil when none. Either id may
// be "". The returned slice is the caller's.
func (fc *FilterChains) For(routeID, serviceID string) []ChainFilter {
	if fc == nil {
		return nil
	}
	var out []ChainFilter
	if c := fc.byService[serviceID]; serviceID != "" && c != nil {
		out = append(out, c.Filters...)
	}
	if c := fc.byRoute[routeID]; routeID != "" && c != nil {
		out = append(out, c.Filters...)
	}
	return out
}

// buildFilterChains indexes the enabled chains. When wasm is off no chain
// runs (Kong's wasm.enabled() is false). A chain naming a filter that is
// not available is an error, as it stops Kong's start
// (check_enabled_filters).
func buildFilterChains(chains []map[string]any, w *store.WasmState) (*FilterChains, error) {
	fc := &FilterChains{byRoute: map[string]*FilterChain{}, byService: map[string]*FilterChain{}}
	if w == nil || !w.Enabled {
		return fc, nil
	}
	sort.Slice(chains, func(i, j int) bool { return str(chains[i], "id") < str(chains[j], "id") })
	var missing []string
	for _, c := range chains {
		list, _ := c["filters"].([]any)
		for i, el := range list {
			f, _ := el.(map[string]any)
			if _, ok := w.Filter(str(f, "name")); !ok {
				missing = append(missing, fmt.Sprintf("filter chain: %s, filter: #%d (%s)", str(c, "id"), i+1, str(f, "name")))
			}
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("found one or more filter chain entities with filters that are not enabled/installed:\n%s", strings.Join(missing, "\n"))
	}
	for _, c := range chains {
		if enabled, _ := c["enabled"].(bool); !enabled {
			continue
		}
		chain := &FilterChain{ID: str(c, "id"), Name: str(c, "name"), RouteID: fid(c, "route"), ServiceID: fid(c, "service")}
		from := "route"
		if chain.ServiceID != "" {
			from = "service"
		}
		list, _ := c["filters"].([]any)
		for _, el := range list {
			f, _ := el.(map[string]any)
			if enabled, _ := f["enabled"].(bool); !enabled {
				continue
			}
			mod, _ := w.Filter(str(f, "name"))
			cf := ChainFilter{Name: str(f, "name"), Path: mod.Path, From: from, ChainID: chain.ID}
			cf.Config, cf.HasConfig = serializeFilterConfig(f["config"])
			cf.Value = f["config"]
			chain.Filters = append(chain.Filters, cf)
		}
		if len(chain.Filters) == 0 {
			// All its filters are disabled: Kong attaches nothing.
			continue
		}
		if chain.ServiceID != "" {
			fc.byService[chain.ServiceID] = chain
		} else if chain.RouteID != "" {
			fc.byRoute[chain.RouteID] = chain
		}
	}
	return fc, nil
}

// serializeFilterConfig is Kong's serialize_configuration: a string as
// given, any other value JSON-encoded, null as no configuration.
func serializeFilterConfig(v any) ([]byte, bool) {
	switch c := v.(type) {
	case nil:
		return nil, false
	case string:
		return []byte(c), true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	return b, true
}
