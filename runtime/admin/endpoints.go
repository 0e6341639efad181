package admin

import (
	"net/http"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/runtime/internal/endpointdecline"
	"github.com/gatehouse/gatehouse/runtime/internal/reqbody"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// pluginEndpoint serves a plugin's endpoint: the authorizer decides the
// call first (Resource, the method's operation, the first path parameter
// as the key), then the plugin's net/http handler answers with the path
// parameters as PathValues.
func (s *Server) pluginEndpoint(e Endpoint) fiber.Handler {
	return func(c *fiber.Ctx) error {
		params := c.AllParams()
		op, ok := operation(c.Method(), len(params) == 0)
		if !ok {
			op = OpRead
		}
		call := Call{Entity: e.Resource, Operation: op}
		for _, name := range c.Route().Params {
			call.Key = params[name]
			break
		}
		if err := s.decide(c, &call); err != nil {
			return s.refuse(c, err)
		}
		if err := s.pluginBody(c); err != nil {
			return s.fail(c, err)
		}
		ctx, declined := endpointdecline.Mark(c.UserContext())
		c.SetUserContext(ctx)
		ServeHTTP(c, e.Handler)
		if *declined {
			// the handler wrote nothing: the entity routes answer
			return s.dispatch(c)
		}
		return nil
	}
}

// Decline, called by a plugin endpoint's handler instead of answering
// (it must write nothing), makes the Admin API's own route for the path
// answer the call: the entity routes, Kong's parent route of a
// customized one; without one the call is Kong's 404. It reports false
// when the request did not come through the Admin API's plugin routing,
// and then changes nothing.
func Decline(r *http.Request) bool { return endpointdecline.Decline(r) }

// ServeHTTP answers a Fiber call with a net/http handler, the route's
// parameters set as the request's PathValues. The request's context is
// the call's user context (with the actor the Admin API established), not
// fasthttp's RequestCtx, which the server recycles once the call ends.
func ServeHTTP(c *fiber.Ctx, h http.Handler) {
	params := c.AllParams()
	ctx := c.UserContext()
	fasthttpadaptor.NewFastHTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(ctx)
		for k, v := range params {
			r.SetPathValue(k, v)
		}
		h.ServeHTTP(w, r)
	}))(c.Context())
}

// corePaths are the Admin API's own routes: a plugin endpoint declared
// on one of them is not served, as Kong keeps the first route of a path
// (its core routes are attached before the plugins').
var corePaths = map[string]bool{"/": true, "/status": true, "/endpoints": true,
	"/schemas/plugins/:name": true, "/schemas/plugins/validate": true, "/schemas/:entity": true,
	"/schemas/:entity/validate": true, "/plugins/enabled": true, "/tags": true, "/tags/:tag": true,
	"/config": true, "/upstreams/:upstream/health": true,
	"/upstreams/:upstream/targets/:target/:action":          true,
	"/upstreams/:upstream/targets/:target/:address/:action": true}

// isCorePath reports whether a route path is one of corePaths (a
// trailing slash aside: the router ignores it).
func isCorePath(path string) bool {
	if p := strings.TrimSuffix(path, "/"); p != "" {
		path = p
	}
	return corePaths[path]
}

// pluginPath is one path plugin endpoints are served on.
type pluginPath struct {
	path    string
	segs    []string
	methods map[string]bool
}

// routePluginEndpoints adds the plugins' endpoints, before the entity
// routes (a plugin's route wins over the entity ones, as Kong's
// customized routes do). The first endpoint of a method and path wins; a
// GET endpoint answers HEAD too (Lapis).
func (s *Server) routePluginEndpoints() {
	byPath := map[string]*pluginPath{}
	for _, e := range s.opts.Endpoints {
		method := strings.ToUpper(e.Method)
		if isCorePath(e.Path) {
			s.log.Warn("plugin endpoint not served: the Admin API has a route with that path",
				"resource", e.Resource, "method", method, "path", e.Path)
			continue
		}
		pp := byPath[e.Path]
		if pp == nil {
			pp = &pluginPath{path: e.Path, segs: splitPath(e.Path), methods: map[string]bool{}}
			byPath[e.Path] = pp
			s.pluginPaths = append(s.pluginPaths, pp)
		}
		if pp.methods[method] {
			s.log.Warn("plugin endpoint not served: another plugin serves it", "resource", e.Resource,
				"method", method, "path", e.Path)
			continue
		}
		pp.methods[method] = true
		h := s.pluginEndpoint(e)
		s.app.Add(method, e.Path, h)
		if method == fiber.MethodGet && !pp.methods[fiber.MethodHead] {
			s.app.Add(fiber.MethodHead, e.Path, h)
		}
	}
}

// withPluginMethods adds to an Allow list (", "-separated) the methods
// of the plugin path segs match, with HEAD for GET and OPTIONS, sorted
// as Kong lists them; it returns methods as given when no plugin path
// matches.
func (s *Server) withPluginMethods(segs []string, methods string) string {
	for _, pp := range s.pluginPaths {
		if !matchSegs(pp.segs, segs) {
			continue
		}
		set := map[string]bool{fiber.MethodOptions: true}
		for m := range pp.methods {
			set[m] = true
		}
		if pp.methods[fiber.MethodGet] {
			set[fiber.MethodHead] = true
		}
		if methods != "" {
			for _, m := range strings.Split(methods, ", ") {
				set[m] = true
			}
		}
		list := make([]string, 0, len(set))
		for m := range set {
			list = append(list, m)
		}
		sort.Strings(list)
		return strings.Join(list, ", ")
	}
	return methods
}

// pluginOtherMethods answers a method a plugin path does not serve: the
// entity routes answer it when they serve the path (Kong merges a
// plugin's methods into the generated route of the same path), else 405.
func (s *Server) pluginOtherMethods(c *fiber.Ctx) error {
	if c.Method() == fiber.MethodOptions {
		return c.Next()
	}
	if _, ok := s.resolve(splitPath(c.Path())); ok {
		return c.Next()
	}
	return methodNotAllowed(c)
}

// matchSegs reports whether a path's segments match a route's, whose
// ":name" segments match any one segment and whose trailing "*" (Fiber's
// wildcard, as in /files/*) matches one or more.
func matchSegs(route, path []string) bool {
	if n := len(route); n > 0 && route[n-1] == "*" {
		if len(path) < n {
			return false
		}
		route, path = route[:n-1], path[:n-1]
	}
	if len(route) != len(path) {
		return false
	}
	for i, r := range route {
		if !strings.HasPrefix(r, ":") && r != path[i] {
			return false
		}
	}
	return true
}

// pluginBody applies Kong's before_filter to a plugin endpoint's call:
// a POST, PUT or PATCH body must be JSON, a form or multipart, and come
// with one Content-Type.
func (s *Server) pluginBody(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch:
	default:
		return nil
	}
	if contentTypeHeaders(c.Request().Header.RawHeaders()) > 1 {
		return &reqbody.BodyError{Message: "Multiple Content-Type headers not allowed"}
	}
	ct := strings.ToLower(string(c.Request().Header.ContentType()))
	switch {
	case ct == "":
		if len(c.Body()) == 0 {
			return nil
		}
	case strings.HasPrefix(ct, "application/json"), strings.HasPrefix(ct, "multipart/form-data"),
		strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		return nil
	}
	return &reqbody.UnsupportedMediaTypeError{}
}
