// Package portalapi is the Developer Portal API that Kong Enterprise
// serves on portal_api_listen (8004, 8447 ssl): developer sign-up and
// sign-in (portal_auth = basic-auth, server-side sessions configured by
// portal_session_conf), the developer's account, the portal files the
// developer's roles may read (readable_by), and the developer's
// applications with their oauth2 credentials and their registrations to
// the services that carry the application-registration plugin. Every
// route is also served under /default. See README.md and PORTALSPEC §3.
package portalapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/runtime/internal/reqbody"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
)

// Options configure the portal API.
type Options struct {
	// Store holds the workspace, developers, files, applications.
	Store *store.Store
	// Auth is kong.conf's portal_auth, used when the workspace's
	// config.portal_auth is unset: "basic-auth" or "" (no sign-in).
	Auth string
	// SessionConf is kong.conf's portal_session_conf (a JSON object),
	// used when the workspace's config.portal_session_conf is unset.
	SessionConf string
	// AutoApprove is kong.conf's portal_auto_approve, used when the
	// workspace's config leaves it unset.
	AutoApprove bool
	// CORSOrigins are the origins allowed to call the API with
	// credentials (the portal GUI's URL); the workspace's
	// portal_cors_origins come first. Empty: the request's Origin.
	CORSOrigins []string
	// MaxArgs bounds the arguments of a form body (lua_max_post_args);
	// 0 is reqbody's default.
	MaxArgs int
	// Log receives the notices Kong would mail (a new developer's
	// access request, a password reset link); nil discards them.
	Log *slog.Logger
	// GUIURL is the portal GUI's URL, the base of the reset link logged
	// for a forgotten password; "" uses the first of CORSOrigins.
	GUIURL string
	// Now is the clock of reset token expiry; nil is time.Now (tests set
	// it).
	Now func() time.Time
}

// Kong's messages.
const (
	msgNotFound      = "Not found"
	msgNotFoundCap   = "Not Found"
	msgInvalidCreds  = "Invalid authentication credentials"
	msgUnauthorized  = "Unauthorized"
	msgUnexpected    = "An unexpected error occurred"
	msgPluginMissing = "'Application Registration' plugin must be enabled."
)

// AppRegistrationPlugin is the name of the plugin whose presence on a
// service lets applications register to it.
const AppRegistrationPlugin = "application-registration"

// api is one portal API: its options and sessions.
type api struct {
	opts     Options
	sessions *sessions
	log      *slog.Logger
}

// App returns the Fiber application serving the portal API.
func App(opts Options) *fiber.App {
	a := &api{opts: opts, sessions: newSessions(opts.Store), log: opts.Log}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	app := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		Immutable:             true,
		ErrorHandler:          a.handleError,
		BodyLimit:             8 << 20,
	})
	// A handler's panic is a 500, never the end of the process.
	app.Use(recover.New())
	app.Use(a.workspacePrefix)
	app.Use(a.portalEnabled)

	app.Post("/register", a.register)
	app.Get("/auth", a.signIn)
	app.Delete("/auth", a.signOut)
	app.Get("/session", a.session)
	app.Post("/forgot-password", a.forgotPassword)
	app.Post("/validate-reset", a.validateReset)
	app.Post("/reset-password", a.resetPassword)
	app.Patch("/reset-password", a.resetPassword)
	app.Get("/developer/meta_fields", a.metaFields)
	app.Get("/developer", a.developer)
	app.Delete("/developer", a.deleteDeveloper)
	app.Patch("/developer/password", a.patchPassword)
	app.Patch("/developer/email", a.patchEmail)
	app.Put("/developer/meta", a.putMeta)
	app.Get("/credentials/:plugin", a.listDeveloperCredentials)
	app.Post("/credentials/:plugin", a.createDeveloperCredential)
	app.Get("/credentials/:plugin/:id", a.getDeveloperCredential)
	app.Delete("/credentials/:plugin/:id", a.deleteDeveloperCredential)
	app.Get("/files", a.listFiles)
	app.Get("/files/unauthenticated", a.listPublicFiles)
	app.Get("/files/*", a.getFile)
	app.Get("/applications", a.listApplications)
	app.Post("/applications", a.createApplication)
	app.Get("/applications/:app", a.getApplication)
	app.Patch("/applications/:app", a.patchApplication)
	app.Delete("/applications/:app", a.deleteApplication)
	app.Get("/applications/:app/application_instances", a.listInstances)
	app.Post("/applications/:app/application_instances", a.createInstance)
	app.Get("/applications/:app/application_instances/:instance", a.getInstance)
	app.Delete("/applications/:app/application_instances/:instance", a.deleteInstance)
	app.Get("/applications/:app/credentials", a.listCredentials)
	app.Get("/application_services", a.applicationServices)
	// Fiber answers other paths with ErrNotFound and other methods of a
	// route with ErrMethodNotAllowed: handleError words them as Kong.
	return app
}

// workspaceKey marks a request whose /default prefix was removed.
type workspaceKey struct{}

// configKey holds the request's workspace config.
type configKey struct{}

// workspacePrefix serves /default/... as /...: the portal GUI calls the
// API with the workspace's name in front.
func (a *api) workspacePrefix(c *fiber.Ctx) error {
	if c.Locals(workspaceKey{}) != nil {
		return c.Next()
	}
	const prefix = "/" + store.DefaultWorkspace
	p := c.Path()
	if !strings.HasPrefix(p, prefix) {
		return c.Next()
	}
	rest := p[len(prefix):]
	switch {
	case rest == "":
		rest = "/"
	case rest[0] != '/':
		return c.Next()
	}
	c.Locals(workspaceKey{}, true)
	c.Path(rest)
	return c.RestartRouting()
}

// cors adds the CORS headers with credentials: the request's Origin when
// allowed (the workspace's portal_cors_origins, else Options.CORSOrigins;
// any origin when both are empty), else the first allowed origin.
func (a *api) cors(c *fiber.Ctx, cfg map[string]any) {
	origin := c.Get(fiber.HeaderOrigin)
	allowed := a.opts.CORSOrigins
	if l := stringList(cfg["portal_cors_origins"]); len(l) > 0 {
		allowed = l
	}
	switch {
	case slices.Contains(allowed, "*"):
		if origin == "" {
			origin = "*"
		}
	case len(allowed) > 0 && !slices.Contains(allowed, origin):
		origin = allowed[0]
	case origin == "":
		origin = "*"
	}
	c.Set(fiber.HeaderAccessControlAllowOrigin, origin)
	c.Set(fiber.HeaderAccessControlAllowCredentials, "true")
	c.Set(fiber.HeaderVary, fiber.HeaderOrigin)
}

// preflight answers OPTIONS with the methods Kong's portal allows.
func (a *api) preflight(c *fiber.Ctx) error {
	c.Set(fiber.HeaderAccessControlAllowMethods, "GET, PUT, PATCH, DELETE, POST")
	headers := c.Get(fiber.HeaderAccessControlRequestHeaders)
	if headers == "" {
		headers = "Content-Type"
	}
	c.Set(fiber.HeaderAccessControlAllowHeaders, headers)
	return c.SendStatus(fiber.StatusNoContent)
}

// portalEnabled reads the workspace's config, adds the CORS headers,
// answers 404 Not Found to everything while the workspace's config.portal
// is off, and keeps the config for the handlers.
func (a *api) portalEnabled(c *fiber.Ctx) error {
	cfg, err := a.workspaceConfig(c.UserContext())
	if err != nil {
		return a.fail(c, err)
	}
	a.cors(c, cfg)
	if c.Method() == fiber.MethodOptions {
		return a.preflight(c)
	}
	if cfg["portal"] != true {
		return message(c, fiber.StatusNotFound, msgNotFoundCap)
	}
	c.Locals(configKey{}, cfg)
	return c.Next()
}

// workspaceConfig reads the default workspace's config; a workspace not
// stored yet has the empty config (portal off).
func (a *api) workspaceConfig(ctx context.Context) (map[string]any, error) {
	ws, err := a.opts.Store.Get(ctx, "workspaces", store.DefaultWorkspace)
	if store.IsNotFound(err) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("portal api: reading the workspace: %w", err)
	}
	cfg, _ := ws["config"].(map[string]any)
	if cfg == nil {
		cfg = map[string]any{}
	}
	return cfg, nil
}

// config returns the request's workspace config (portalEnabled read it).
func config(c *fiber.Ctx) map[string]any {
	cfg, _ := c.Locals(configKey{}).(map[string]any)
	if cfg == nil {
		return map[string]any{}
	}
	return cfg
}

// authMethod is the portal_auth in force: the workspace's, else kong.conf's.
func (a *api) authMethod(c *fiber.Ctx) string {
	if s, _ := config(c)["portal_auth"].(string); s != "" {
		return s
	}
	return a.opts.Auth
}

// autoApprove is the portal_auto_approve in force.
func (a *api) autoApprove(c *fiber.Ctx) bool {
	if v, ok := config(c)["portal_auto_approve"].(bool); ok {
		return v
	}
	return a.opts.AutoApprove
}

// handleError maps Fiber's own errors (unknown method, body too large)
// onto Kong's portal bodies.
func (a *api) handleError(c *fiber.Ctx, err error) error {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case fiber.StatusNotFound:
			return message(c, fiber.StatusNotFound, msgNotFound)
		case fiber.StatusMethodNotAllowed:
			return message(c, fiber.StatusMethodNotAllowed, "Method not allowed")
		}
		return message(c, fe.Code, fe.Message)
	}
	a.log.Error("portal api: request failed", "error", err)
	return message(c, fiber.StatusInternalServerError, msgUnexpected)
}

// fail answers an error the portal's way: store errors with a flat
// message (400 schema violations, 409 unique, 404 Not Found), body
// errors with 400 or 415, anything else 500.
func (a *api) fail(c *fiber.Ctx, err error) error {
	var ume *reqbody.UnsupportedMediaTypeError
	if errors.As(err, &ume) {
		return c.SendStatus(fiber.StatusUnsupportedMediaType)
	}
	var be *reqbody.BodyError
	if errors.As(err, &be) {
		return message(c, fiber.StatusBadRequest, be.Message)
	}
	if e, ok := store.AsError(err); ok {
		switch e.Code {
		case store.CodeNotFound:
			return message(c, fiber.StatusNotFound, msgNotFoundCap)
		case store.CodeUniqueViolation:
			return message(c, fiber.StatusConflict, e.Message)
		case store.CodeDatabaseError, store.CodeTransformationError, store.CodeInvalidForeignKey:
		default:
			return message(c, fiber.StatusBadRequest, e.Message)
		}
	}
	a.log.Error("portal api: request failed", "path", c.Path(), "error", err)
	return message(c, fiber.StatusInternalServerError, msgUnexpected)
}

// message answers {"message": msg}.
func message(c *fiber.Ctx, status int, msg string) error {
	return send(c, status, map[string]any{"message": msg})
}

// send answers v as JSON without HTML escaping, as Kong's cjson.
func send(c *fiber.Ctx, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = fiber.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"message":"` + msgUnexpected + `"}`)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Status(status).Send(bytes.TrimRight(buf.Bytes(), "\n"))
}

// input decodes a JSON, form or multipart body (nested keys such as
// service.id become objects); an empty body is an empty object.
func (a *api) input(c *fiber.Ctx) (map[string]any, error) {
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, nil
	}
	in, err := reqbody.DecodeStrict(c.Get(fiber.HeaderContentType), body, a.opts.MaxArgs)
	if err != nil {
		return nil, err
	}
	if in == nil {
		in = map[string]any{}
	}
	return in, nil
}

// typed is the context of the API's store writes: the handlers build
// typed values themselves.
func typed(c *fiber.Ctx) context.Context { return store.WithTypedInput(c.UserContext()) }

// page answers a list in the portal's pagination shape; Gatehouse's
// portal lists are answered in one page.
func page(c *fiber.Ctx, data []any) error {
	if data == nil {
		data = []any{}
	}
	return send(c, fiber.StatusOK, map[string]any{"data": data, "total": len(data), "offset": nil, "next": nil})
}

// records returns every record of entity that q selects (store.EachRecord).
func (a *api) records(ctx context.Context, entity string, q store.ListQuery) ([]any, error) {
	var out []any
	err := a.opts.Store.EachRecord(ctx, entity, q, func(rec map[string]any) error {
		out = append(out, rec)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("portal api: %w", err)
	}
	return out, nil
}

// pageOf answers every record of entity that q selects as one page.
func (a *api) pageOf(c *fiber.Ctx, entity string, q store.ListQuery) error {
	data, err := a.records(c.UserContext(), entity, q)
	if err != nil {
		return a.fail(c, err)
	}
	return page(c, data)
}

// reply answers v with status, or err the portal's way (a.appFail).
func (a *api) reply(c *fiber.Ctx, status int, v any, err error) error {
	if err != nil {
		return a.appFail(c, err)
	}
	return send(c, status, v)
}

// noContent answers 204, or err the portal's way (a.appFail).
func (a *api) noContent(c *fiber.Ctx, err error) error {
	if err != nil {
		return a.appFail(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// withBody is the request's body once the caller (a signed-in developer,
// an application...) was found: nil when found is nil (err is its
// answer) or when the body did not parse (answered).
func (a *api) withBody(c *fiber.Ctx, found map[string]any, err error) (map[string]any, error) {
	if found == nil {
		return nil, err
	}
	in, err := a.input(c)
	if err != nil {
		return nil, a.fail(c, err)
	}
	return in, nil
}

// stringList reads a list of strings (JSON array or []string).
func stringList(v any) []string {
	switch l := v.(type) {
	case []string:
		return l
	case []any:
		out := make([]string, 0, len(l))
		for _, e := range l {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// param returns a path parameter, unescaped.
func param(c *fiber.Ctx, name string) string {
	v := c.Params(name)
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

// intOf reads a stored integer.
func intOf(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		return int(n), n == float64(int(n))
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	}
	return 0, false
}
