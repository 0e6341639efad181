package plugin

import (
	"log/slog"
	"net/http"

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
}

// Endpoints returns the endpoints of the enabled plugins, in plugin name
// order, each built with env.
func (c *Catalog) Endpoints(env EndpointEnv) []Endpoint {
	var out []Endpoint
	for _, d := range c.Definitions() {
		if d.Endpoints == nil {
			continue
		}
		for _, e := range d.Endpoints(env) {
			if e.Resource == "" {
				e.Resource = d.Name
			}
			out = append(out, e)
		}
	}
	return out
}
