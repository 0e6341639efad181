package snapshot

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/chain"
	"github.com/gatehouse/gatehouse/runtime/plugin"
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
	// ChainID is the id of that filter_chains entity; "" for a chain
	// made for filter plugins alone.
	ChainID string
	// PluginID is the id of the plugin entity the filter comes from when
	// it is a filter configured as a plugin (Kong 3.6+); "" for a chain's
	// own filter.
	PluginID string
}

// PluginConfig returns the filter's configuration as the proxy-wasm
// plugin's factory takes it: {"config": value} with the value as the
// entity holds it (a string or a JSON value); an empty map when the filter
// has none.
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

// Has reports whether an enabled chain runs the named filter.
func (fc *FilterChains) Has(name string) bool {
	if fc == nil {
		return false
	}
	for _, index := range []map[string]*FilterChain{fc.byRoute, fc.byService} {
		for _, c := range index {
			for _, f := range c.Filters {
				if f.Name == name {
					return true
				}
			}
		}
	}
	return false
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

// splitFilterPlugins separates the plugin entities named after an
// available proxy-wasm filter (Kong's wasm.filters_by_name) from the
// others; none when wasm is off.
func splitFilterPlugins(plugins []map[string]any, w *store.WasmState) (others, filters []map[string]any) {
	if w == nil || !w.Enabled {
		return plugins, nil
	}
	others = make([]map[string]any, 0, len(plugins))
	for _, p := range plugins {
		if _, ok := w.Filter(str(p, "name")); ok {
			filters = append(filters, p)
		} else {
			others = append(others, p)
		}
	}
	return others, filters
}

// filterPluginLess is Kong's filter_plugin_compare: by name, then
// updated_at, created_at, id.
func filterPluginLess(a, b map[string]any) bool {
	if an, bn := str(a, "name"), str(b, "name"); an != bn {
		return an < bn
	}
	for _, k := range []string{"updated_at", "created_at"} {
		if x, y := num(a, k), num(b, k); x != 0 && y != 0 && x != y {
			return x < y
		}
	}
	return str(a, "id") < str(b, "id")
}

// buildFilterChains indexes the enabled chains, with the enabled filter
// plugins appended as Kong's rebuild_state appends them: sorted
// (filterPluginLess), each at the end of its route's or service's enabled
// chain, or of a new chain when there is none. When wasm is off no chain
// runs (Kong's wasm.enabled() is false). A chain naming a filter that is
// not available is an error, as it stops Kong's start
// (check_enabled_filters).
func buildFilterChains(chains, filterPlugins []map[string]any, w *store.WasmState) (*FilterChains, error) {
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
		if chain.ServiceID != "" {
			fc.byService[chain.ServiceID] = chain
		} else if chain.RouteID != "" {
			fc.byRoute[chain.RouteID] = chain
		}
	}
	var enabled []map[string]any
	for _, p := range filterPlugins {
		if on, _ := p["enabled"].(bool); on {
			enabled = append(enabled, p)
		}
	}
	sort.SliceStable(enabled, func(i, j int) bool { return filterPluginLess(enabled[i], enabled[j]) })
	for _, p := range enabled {
		routeID, serviceID := fid(p, "route"), fid(p, "service")
		index, id, from := fc.byRoute, routeID, "route"
		if serviceID != "" {
			index, id, from = fc.byService, serviceID, "service"
		}
		if id == "" {
			continue // the schema requires a route or a service
		}
		chain := index[id]
		if chain == nil {
			chain = &FilterChain{RouteID: routeID, ServiceID: serviceID}
			if serviceID != "" {
				chain.RouteID = ""
			}
			index[id] = chain
		}
		mod, _ := w.Filter(str(p, "name"))
		cf := ChainFilter{Name: str(p, "name"), Path: mod.Path, From: from, ChainID: chain.ID, PluginID: str(p, "id"), Value: p["config"]}
		cf.Config, cf.HasConfig = serializeFilterConfig(p["config"])
		chain.Filters = append(chain.Filters, cf)
	}
	for _, index := range []map[string]*FilterChain{fc.byRoute, fc.byService} {
		for id, chain := range index {
			if len(chain.Filters) == 0 {
				// All its filters are disabled: Kong attaches nothing.
				delete(index, id)
			}
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

// FilterChainPriority is the plugin priority of a chain's first filter:
// below every plugin, as Kong attaches filter chains once the access
// phase of its Lua plugins is over. The filter at position i (from 0) has
// FilterChainPriority - i, so a chain runs in order.
const FilterChainPriority = -1 << 24

// FilterChainInstanceName is the chain.Instance name of the filter at
// position i (from 0) of the chain a request runs: one plugin slot per
// position, so the scope precedence picks, position by position, the
// combined (route and service) chain over the service's or the route's
// alone, as Kong's get_request_chain_ref does.
func FilterChainInstanceName(i int) string { return fmt.Sprintf("filter-chain#%d", i+1) }

// chainRef is one chain Kong would attach: combined (route and service),
// service only or route only.
type chainRef struct {
	routeID, serviceID string
	filters            []ChainFilter
}

// refs lists the chains requests can run: for a route with a chain whose
// service has one too, the combined chain; otherwise each chain alone.
func (fc *FilterChains) refs(routeService map[string]string) []chainRef {
	var out []chainRef
	for _, id := range sortedKeys(fc.byService) {
		out = append(out, chainRef{serviceID: id, filters: fc.byService[id].Filters})
	}
	for _, id := range sortedKeys(fc.byRoute) {
		svc := routeService[id]
		if svc != "" && fc.byService[svc] != nil {
			out = append(out, chainRef{routeID: id, serviceID: svc, filters: fc.For(id, svc)})
			continue
		}
		out = append(out, chainRef{routeID: id, filters: fc.byRoute[id].Filters})
	}
	return out
}

func sortedKeys(m map[string]*FilterChain) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// unavailableFilter stands for a filter whose plugin this node does not
// have (the proxy-wasm host did not load it): requests that would run it
// end with a 500 rather than being proxied without it.
type unavailableFilter struct{ name string }

// Access fails the request.
func (u unavailableFilter) Access(hostabi.Kong) error {
	return fmt.Errorf("proxy-wasm filter %q is not available on this node", u.name)
}

// filterChainInstances makes the plugin instances that run the chains:
// the filter at position i of a chain is an instance of the plugin named
// after the filter, configured with {"config": <the filter's config>},
// scoped to the chain's route, service or both, named
// FilterChainInstanceName(i) with priority FilterChainPriority - i.
// Instances whose filter, configuration and plugin did not change are
// carried over from prev.
func (b *Builder) filterChainInstances(fc *FilterChains, routes []map[string]any, prev map[string]*chain.Instance) (all, fresh []*chain.Instance, err error) {
	if fc.Empty() {
		return nil, nil, nil
	}
	routeService := make(map[string]string, len(routes))
	for _, r := range routes {
		routeService[str(r, "id")] = fid(r, "service")
	}
	for _, ref := range fc.refs(routeService) {
		for i, f := range ref.filters {
			var def *plugin.Definition
			if b.catalog != nil {
				def, _ = b.catalog.Get(f.Name)
			}
			id := fmt.Sprintf("filter-chain:%s:%s:%d", ref.routeID, ref.serviceID, i+1)
			fp := fmt.Sprintf("%p %s %t %s", def, f.Name, f.HasConfig, f.Config)
			if old := prev[id]; old != nil && old.Fingerprint == fp {
				all = append(all, old)
				continue
			}
			var impl any = unavailableFilter{f.Name}
			if def != nil && def.New != nil {
				cfg := plugin.WithScope(f.PluginConfig(), plugin.Scope{PluginID: id, RouteID: ref.routeID, ServiceID: ref.serviceID})
				impl, err = def.New(cfg)
				if err != nil {
					closeInstances(fresh, b.log)
					return nil, nil, fmt.Errorf("snapshot: filter %s of %s: %w", f.Name, id, err)
				}
			}
			in := &chain.Instance{ID: id, Name: FilterChainInstanceName(i), Priority: FilterChainPriority - i,
				Plugin: impl, RouteID: ref.routeID, ServiceID: ref.serviceID, Fingerprint: fp}
			in.Bind()
			all = append(all, in)
			fresh = append(fresh, in)
		}
	}
	return all, fresh, nil
}
