package plugin

import "reflect"

// Scope is what the node adds to every plugin configuration it hands to a
// factory, as Kong's plugins iterator does (kong/runloop/plugins_iterator.lua):
// the ids of the plugin entity and of the route, service and consumer it
// is scoped to. Kong's Lua plugins read them from their conf table
// (conf.route_id, conf.__plugin_id); a native plugin's config struct gets
// them in a field of type Scope (no tag needed), filled by Decode.
type Scope struct {
	// PluginID is the plugin entity's id (conf.__plugin_id).
	PluginID string
	// RouteID, ServiceID and ConsumerID are the ids of the entities the
	// plugin is scoped to; "" when it is not (conf.route_id, ...).
	RouteID, ServiceID, ConsumerID string
	// InstanceName is the plugin's instance_name (conf.plugin_instance_name).
	InstanceName string
}

// The configuration keys Kong's plugins iterator adds.
const (
	ScopePluginID     = "__plugin_id"
	ScopeRouteID      = "route_id"
	ScopeServiceID    = "service_id"
	ScopeConsumerID   = "consumer_id"
	ScopeInstanceName = "plugin_instance_name"
)

var scopeType = reflect.TypeOf(Scope{})

// ScopeOf reads the scope keys of a configuration.
func ScopeOf(config map[string]any) Scope {
	str := func(k string) string { s, _ := config[k].(string); return s }
	return Scope{PluginID: str(ScopePluginID), RouteID: str(ScopeRouteID), ServiceID: str(ScopeServiceID),
		ConsumerID: str(ScopeConsumerID), InstanceName: str(ScopeInstanceName)}
}

// WithScope returns a copy of config with the scope's keys added (those
// that are set), as the node hands configurations to factories.
func WithScope(config map[string]any, s Scope) map[string]any {
	out := make(map[string]any, len(config)+5)
	for k, v := range config {
		out[k] = v
	}
	for k, v := range map[string]string{ScopePluginID: s.PluginID, ScopeRouteID: s.RouteID,
		ScopeServiceID: s.ServiceID, ScopeConsumerID: s.ConsumerID, ScopeInstanceName: s.InstanceName} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}
