package plugin

import (
	"net/http"
	"time"
)

// Endpoint is an HTTP handler a plugin contributes to the node's own
// listeners, as Kong plugins do with their api.lua (Admin API) and
// status_api.lua (status listener) modules. The node mounts it for GET
// when the plugin is enabled in `plugins`, whether or not a plugin entity
// uses it.
type Endpoint struct {
	// Path is the exact path served, such as "/metrics".
	Path string
	// Admin and Status choose the listeners the handler is mounted on.
	Admin, Status bool
	// Handler serves the requests.
	Handler http.Handler
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

// Endpoints returns the endpoints of the enabled plugins that declare
// some, in plugin name order, built for host.
func (c *Catalog) Endpoints(host Host) []Endpoint {
	var out []Endpoint
	for _, n := range c.Names() {
		if d := c.byName[n]; d.Endpoints != nil {
			out = append(out, d.Endpoints(host)...)
		}
	}
	return out
}
