package plugin

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// Endpoint is an HTTP endpoint a plugin serves on the node's listeners
// besides its entities, as Kong plugins do with api.lua (proxy-cache's
// /proxy-cache/{key}) or on the status listener (prometheus' /metrics).
type Endpoint struct {
	// Method is the HTTP method; Path the route, with Fiber-style
	// parameters (":cache_key") the handler reads with
	// http.Request.PathValue.
	Method, Path string
	// Admin serves the endpoint on the Admin API, where the node's
	// authorizer decides each call as one on Resource (Kong's
	// `resource = "..."` of api.lua; the plugin's name when empty), with
	// the operation the method implies and the first path parameter as
	// the key. Status serves it on the status listener (no authorizer:
	// the status listener has none).
	Admin, Status bool
	Resource      string
	// Handler answers the calls. The request body is already read (the
	// Admin API's body limit applies).
	Handler http.Handler
}

// EndpointEnv is what a plugin's endpoints get from the node.
type EndpointEnv struct {
	// Store is the node's store: the plugin's own entities and its
	// configurations (the plugin entities with its name).
	Store *store.Store
	// Log is the node's logger.
	Log *slog.Logger
	// Node reports the node's numbers (prometheus' node metrics); nil
	// outside a node.
	Node Host
}

// NodeStats is what a node reports of itself to its plugins' endpoints:
// the numbers behind Kong's `GET /status` and its node information.
type NodeStats struct {
	NodeID, Hostname, Version string
	// Connections: nginx's stub_status counters as `GET /status` reports them.
	ConnectionsActive, ConnectionsReading, ConnectionsWriting, ConnectionsWaiting int64
	ConnectionsAccepted, ConnectionsHandled, TotalRequests                        int64
	// DatastoreReachable is whether the store answered a ping.
	DatastoreReachable bool
	// ConfigHash is the declarative configuration's hash ("" with a database).
	ConfigHash string
	// LogDone and LogDropped count the requests whose log phase ran and
	// those dropped because the log queue was full.
	LogDone, LogDropped uint64
	// Targets is the health of each upstream target address the node's
	// balancers know.
	Targets []TargetHealth
	// At is when the numbers were taken.
	At time.Time
}

// TargetHealth is one balancer address's health: State is Kong's
// "healthy", "unhealthy", "dns_error" or "healthchecks_off".
type TargetHealth struct {
	Upstream, Target, Address, State string
}

// Host is the node as its plugins' endpoints see it.
type Host interface {
	// Stats takes the node's numbers now.
	Stats() NodeStats
}

// HostFunc adapts a function to Host.
type HostFunc func() NodeStats

// Stats implements Host.
func (f HostFunc) Stats() NodeStats { return f() }

// Endpoints returns the endpoints of the enabled plugins, in plugin name
// order, each built with env.
func (c *Catalog) Endpoints(env EndpointEnv) []Endpoint {
	var out []Endpoint
	for _, d := range c.Definitions() {
		if d.Endpoints == nil {
			continue
		}
		list := d.Endpoints
		if d.served != nil {
			// A provider's endpoints: each call goes to the definition
			// the catalog holds then (a plugin reload replaces it).
			// A definition that no longer serves endpoints, or a plugin
			// no longer enabled, answers the calls with a 500.
			name, started := d.Name, d.served
			list = func(env EndpointEnv) []Endpoint {
				return providedEndpoints(env, name, started.defs, func() *servedEndpoints {
					if cur, ok := c.Get(name); ok {
						return cur.served
					}
					return nil
				})
			}
		}
		for _, e := range list(env) {
			if e.Resource == "" {
				e.Resource = d.Name
			}
			out = append(out, e)
		}
	}
	return out
}
