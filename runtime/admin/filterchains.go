package admin

import (
	"github.com/gatehouse/gatehouse/store"
	"github.com/gofiber/fiber/v2"
)

// Kong's proxy-wasm endpoints (kong/api/routes/filter_chains.lua and the
// /schemas/filters route of kong.lua). The filter_chains entity's CRUD
// paths are the generic entity paths; this file adds what Kong adds.

// wasmDisabledMessage is Kong's answer on the filter chain endpoints when
// the wasm setting is off.
const wasmDisabledMessage = "this endpoint is only available when wasm is enabled"

// draft4 is the $schema Kong gives filter configuration schemas.
const draft4 = "http://json-schema.org/draft-04/schema#"

// filterModes are the /routes/{r}/filters/{mode} endpoints.
var filterModes = []string{"all", "enabled", "disabled"}

// routeWasmEndpoints registers the guard that refuses the filter chain
// endpoints when wasm is off, the /routes/{r}/filters/{mode} listings and
// /schemas/filters/{name}.
func (s *Server) routeWasmEndpoints() {
	s.app.Use(s.wasmGuard)
	s.app.Get("/schemas/filters/:name", s.filterSchema)
	for _, mode := range filterModes {
		path := "/routes/:route/filters/" + mode
		s.app.Get(path, s.routeFilters(mode))
		s.app.All(path, otherMethods)
	}
}

// wasmEnabled reports whether the node's wasm setting is on.
func (s *Server) wasmEnabled() bool {
	w := s.store.Wasm()
	return w != nil && w.Enabled
}

// isWasmPath reports whether the path is one of the endpoints Kong
// replaces with a 400 when wasm is off.
func isWasmPath(segs []string) bool {
	n := len(segs)
	switch {
	case n == 0:
		return false
	case segs[0] == "filter-chains":
		return n <= 2 || (n == 3 && (segs[2] == "route" || segs[2] == "service"))
	case (segs[0] == "routes" || segs[0] == "services") && n >= 3 && n <= 4 && segs[2] == "filter-chains":
		return true
	case segs[0] == "routes" && n == 4 && segs[2] == "filters":
		for _, m := range filterModes {
			if segs[3] == m {
				return true
			}
		}
	}
	return false
}

// wasmGuard answers Kong's 400 on the filter chain endpoints when wasm is
// off; CORS preflights still get their answer.
func (s *Server) wasmGuard(c *fiber.Ctx) error {
	if c.Method() == fiber.MethodOptions || s.wasmEnabled() || !isWasmPath(splitPath(c.Path())) {
		return c.Next()
	}
	return s.json(c, fiber.StatusBadRequest, map[string]any{"message": wasmDisabledMessage})
}

// filterSchema is GET /schemas/filters/{name}: the filter's configuration
// JSON schema, or Kong's default one (a string or null).
func (s *Server) filterSchema(c *fiber.Ctx) error {
	name := c.Params("name")
	f, ok := s.store.Wasm().Filter(name)
	if !ok {
		return s.json(c, fiber.StatusNotFound, map[string]any{"message": "Filter '" + name + "' not found"})
	}
	body := map[string]any{"$schema": draft4, "type": []any{"string", "null"}}
	if f.ConfigSchema != nil {
		body = map[string]any{}
		for k, v := range f.ConfigSchema {
			body[k] = v
		}
		body["$schema"] = draft4
	}
	return s.json(c, fiber.StatusOK, body)
}

// routeFilters is GET /routes/{r}/filters/{all,enabled,disabled}: the
// filters that run on the route, its service's chain first, each with
// where it comes from and whether it runs (chain and filter enabled).
func (s *Server) routeFilters(mode string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		route, err := s.store.Get(ctx, "routes", c.Params("route"))
		if err != nil {
			return s.fail(c, err)
		}
		filters := []any{}
		add := func(field, id, from string) error {
			if id == "" {
				return nil
			}
			page, err := s.store.List(ctx, "filter_chains", store.ListQuery{ForeignField: field, ForeignKey: id})
			if err != nil {
				return err
			}
			for _, chain := range page.Data {
				list, _ := chain["filters"].([]any)
				for _, el := range list {
					f, _ := el.(map[string]any)
					if f == nil {
						continue
					}
					enabled := chain["enabled"] == true && f["enabled"] == true
					if (mode == "enabled" && !enabled) || (mode == "disabled" && enabled) {
						continue
					}
					filters = append(filters, map[string]any{
						"name": f["name"], "config": f["config"], "from": from, "enabled": enabled,
						"filter_chain": map[string]any{"name": chain["name"], "id": chain["id"]},
					})
				}
			}
			return nil
		}
		if err := add("service", store.ForeignID(route["service"]), "service"); err != nil {
			return s.fail(c, err)
		}
		if err := add("route", route["id"].(string), "route"); err != nil {
			return s.fail(c, err)
		}
		return s.json(c, fiber.StatusOK, map[string]any{"filters": filters})
	}
}
