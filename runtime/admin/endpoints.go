package admin

import (
	"net/http"

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
		ServeHTTP(c, e.Handler)
		return nil
	}
}

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
