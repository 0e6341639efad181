// Package admin serves Kong's Admin API (port 8001) on Fiber: CRUD for every
// entity the store declares, with Kong's paths, nested paths, pagination,
// tag filters, body formats, node information and error bodies.
package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/runtime/balancer"
	"github.com/gatehouse/gatehouse/runtime/internal/reqbody"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
	"github.com/gofiber/fiber/v2"
)

// KongVersion is the Kong release whose Admin API Gatehouse emulates; `GET /`
// reports it as "version".
const KongVersion = "3.9.3"

// PluginInfo describes an available plugin for `GET /`.
type PluginInfo struct {
	Version  string `json:"version"`
	Priority int    `json:"priority"`
}

// Options configure the Admin API.
type Options struct {
	// Store is the entity store.
	Store *store.Store
	// Version is Gatehouse's own version.
	Version string
	// NodeID and Hostname identify this node.
	NodeID, Hostname string
	// Configuration is shown under "configuration" in `GET /`.
	Configuration map[string]any
	// AllowedOrigins are the origins CORS answers may name
	// (admin_gui_origin, from admin_gui_url); empty allows any.
	AllowedOrigins []string
	// Plugins lists the plugins available on this node.
	Plugins map[string]PluginInfo
	// ServerStats returns the "server" counters of `GET /status`.
	ServerStats func() map[string]any
	// ConfigHash returns the hash of the loaded configuration (DB-less).
	ConfigHash func() string
	// LoadConfig replaces the configuration from a declarative file (DB-less
	// `POST /config`); nil answers 404 as Kong does with a database.
	LoadConfig func(ctx context.Context, data []byte) error
	// ExportConfig renders the configuration as a declarative file.
	ExportConfig func(ctx context.Context) ([]byte, error)
	// Balancers gives the running balancer of an upstream, for the health
	// endpoints; nil answers them with 404.
	Balancers func(upstreamName string) *balancer.Balancer
	// Logger receives request errors; nil uses slog.Default().
	Logger *slog.Logger
	// MaxBodySize is the largest request body accepted, in bytes
	// (nginx_admin_client_max_body_size); larger ones are answered with
	// 413. 0 means DefaultMaxBodySize; negative means no limit.
	MaxBodySize int64
	// MaxPostArgs is the most arguments a form or multipart body may hold
	// (lua_max_post_args); a body with more is answered with 400. 0 means
	// reqbody.MaxArgs.
	MaxPostArgs int
	// Identifier establishes each call's actor; nil is AnonymousIdentifier.
	Identifier Identifier
	// Authorizer is asked about every call and filters lists; nil is
	// AllowAll.
	Authorizer Authorizer
	// Endpoints are the plugins' own endpoints (Kong's api.lua), served
	// before the entity routes and authorized as calls on their Resource.
	Endpoints []Endpoint
	// Audit configures the audit log (audit_log, audit_log_ttl).
	Audit AuditOptions
}

// Endpoint is an HTTP endpoint a plugin adds to the Admin API.
type Endpoint struct {
	// Method and Path (Fiber-style parameters, ":name") route the calls.
	Method, Path string
	// Resource is what the authorizer is asked about (Call.Entity).
	Resource string
	// Handler answers; it reads parameters with http.Request.PathValue.
	Handler http.Handler
}

// DefaultMaxBodySize is Kong's nginx_admin_client_max_body_size, 10m.
const DefaultMaxBodySize = 10 << 20

// Lingering close, as nginx does after refusing a body: read (and drop)
// what the client still sends, for a bounded time (nginx's lingering_time
// is 30 s) and amount, so that it reads the 413 instead of a connection
// reset.
const (
	lingerTime  = 30 * time.Second
	lingerBytes = 1 << 30
)

// Server is the Admin API.
type Server struct {
	opts       Options
	store      *store.Store
	app        *fiber.App
	log        *slog.Logger
	identifier Identifier
	authorizer Authorizer
	allowAll   bool // authorizer is AllowAll: lists need no filtering
	// plugins is opts.Plugins, replaced by SetPlugins on a plugin reload.
	plugins atomic.Pointer[map[string]PluginInfo]
	// pluginPaths are the paths plugin endpoints are served on, with
	// their methods (OPTIONS and 405 answers).
	pluginPaths []*pluginPath
	// audit records the audit log; nil when audit_log is off.
	audit *auditor
}

// SetPlugins replaces the plugins the node reports as available (`GET /`,
// `/plugins/enabled`), as a plugin reload changes them.
func (s *Server) SetPlugins(plugins map[string]PluginInfo) {
	cp := make(map[string]PluginInfo, len(plugins))
	for k, v := range plugins {
		cp[k] = v
	}
	s.plugins.Store(&cp)
}

// filterPluginInfo is Kong's handler of a proxy-wasm filter configured
// as a plugin (kong/runloop/wasm/plugins.lua: PRIORITY 0, VERSION 0.1.0).
var filterPluginInfo = PluginInfo{Version: "0.1.0", Priority: 0}

// availablePlugins are the node's plugins and, as Kong adds every
// available proxy-wasm filter to its loaded plugins when wasm is on, the
// filters no provider serves as plugins.
func (s *Server) availablePlugins() map[string]PluginInfo {
	out := s.opts.Plugins
	if p := s.plugins.Load(); p != nil {
		out = *p
	}
	if s.store == nil {
		return out
	}
	var extra []string
	for _, name := range s.store.Wasm().Names() {
		if _, ok := out[name]; !ok {
			extra = append(extra, name)
		}
	}
	if len(extra) == 0 {
		return out
	}
	all := make(map[string]PluginInfo, len(out)+len(extra))
	for k, v := range out {
		all[k] = v
	}
	for _, name := range extra {
		all[name] = filterPluginInfo
	}
	return all
}

// New builds the Admin API on a Fiber app.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	switch {
	case opts.MaxBodySize == 0:
		opts.MaxBodySize = DefaultMaxBodySize
	case opts.MaxBodySize < 0 || opts.MaxBodySize > math.MaxInt32:
		opts.MaxBodySize = math.MaxInt32
	}
	if opts.MaxPostArgs <= 0 {
		opts.MaxPostArgs = reqbody.MaxArgs
	}
	if opts.Identifier == nil {
		opts.Identifier = AnonymousIdentifier{}
	}
	if opts.Authorizer == nil {
		opts.Authorizer = AllowAll{}
	}
	_, allowAll := opts.Authorizer.(AllowAll)
	s := &Server{opts: opts, store: opts.Store, log: opts.Logger,
		identifier: opts.Identifier, authorizer: opts.Authorizer, allowAll: allowAll}
	s.app = fiber.New(fiber.Config{
		DisableStartupMessage: true,
		// Values Fiber hands out (path, params, query, headers) are copies:
		// written entities outlive the request, and fasthttp reuses its
		// buffers for the next request on a keep-alive connection.
		Immutable:    true,
		ErrorHandler: s.handleFiberError,
		// Bodies are read by readBody, which enforces the limit with a
		// 413 and reads the body into memory of its own; fasthttp keeps
		// at most a small prefetch buffer per connection. Multipart
		// bodies are parsed by reqbody from the raw body.
		//
		// Not ReduceMemoryUsage: with a streamed body, fasthttp 1.51
		// gives the connection's read buffer back to its pool as soon as
		// it holds no unread bytes (the head arrived, the body not yet),
		// and the handler then reads the body from a buffer another
		// connection may be using (fixed upstream in fasthttp 1.56).
		// TestBodyAfterHeadPause holds this.
		BodyLimit:                    int(opts.MaxBodySize),
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		ReadTimeout:                  60 * time.Second,
	})
	// The workspace and portal endpoints come first: a plugin's endpoint
	// cannot take their paths.
	s.opts.Endpoints = append(s.portalEndpoints(), opts.Endpoints...)
	s.startAudit()
	s.routes()
	return s
}

// App returns the Fiber app, to listen or to test with.
func (s *Server) App() *fiber.App { return s.app }

func (s *Server) routes() {
	a := s.app
	a.Use(s.workspacePrefix) // workspaces.go: /default/... is /...
	a.Use(func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		c.Set("X-Kong-Admin-Latency", strconv.FormatInt(time.Since(start).Milliseconds(), 10))
		return err
	})
	a.Use(s.cors)
	a.Options("/*", s.preflight)
	a.Use(s.readBody)
	a.Use(s.auditCall)
	a.Use(s.teamsHook) // teams_hook.go: team ownership of created entities
	a.Use(s.authorize)
	s.routeWasmEndpoints()
	a.Get("/", s.root)
	a.Get("/status", s.Status)
	a.Get("/endpoints", s.endpoints)
	a.Get("/schemas/plugins/:name", s.pluginSchema)
	a.Post("/schemas/plugins/validate", s.validatePlugin)
	a.Get("/schemas/:entity", s.entitySchema)
	a.Post("/schemas/:entity/validate", s.validateEntity)
	a.Get("/plugins/enabled", s.enabledPlugins)
	a.Get("/tags", s.tags)
	a.Get("/tags/:tag", s.tags)
	a.Get("/config", s.getConfig)
	a.Post("/config", s.postConfig)
	a.Get("/upstreams/:upstream/health", s.upstreamHealth)
	a.Post("/upstreams/:upstream/targets/:target/:action", s.setTargetHealth)
	a.Post("/upstreams/:upstream/targets/:target/:address/:action", s.setTargetHealth)
	s.routePluginEndpoints()
	s.routeAudit()
	// Kong answers 405 to the other methods on its fixed endpoints
	// (`POST /` included): Lapis "don't know how to respond to" them.
	for _, p := range []string{"/", "/status", "/endpoints", "/plugins/enabled", "/tags", "/tags/:tag"} {
		a.All(p, otherMethods)
	}
	for _, pe := range s.pluginPaths {
		a.All(pe.path, s.pluginOtherMethods)
	}
	a.All("/*", s.dispatch)
}

// cors adds Kong's CORS headers (cors_filter) to every answer, with
// credentials allowed: with admin_gui_url set (Options.AllowedOrigins), the
// request's Origin when it is one of them, else the first of them;
// otherwise the request's Origin, else *.
func (s *Server) cors(c *fiber.Ctx) error {
	origin := c.Get(fiber.HeaderOrigin)
	if allowed := s.opts.AllowedOrigins; len(allowed) > 0 {
		if !slices.Contains(allowed, origin) {
			origin = allowed[0]
		}
	} else if origin == "" {
		origin = "*"
	}
	c.Set(fiber.HeaderAccessControlAllowOrigin, origin)
	c.Set(fiber.HeaderAccessControlAllowCredentials, "true")
	return c.Next()
}

// preflight answers OPTIONS as Kong does on every route: 204 with the
// route's methods; 404 where no route is.
func (s *Server) preflight(c *fiber.Ctx) error {
	methods := s.allowedMethods(splitPath(c.Path()))
	if methods == "" {
		return notFound(c)
	}
	headers := c.Get(fiber.HeaderAccessControlRequestHeaders)
	if headers == "" {
		headers = "Content-Type"
	}
	c.Set(fiber.HeaderAllow, methods)
	c.Set(fiber.HeaderAccessControlAllowMethods, methods)
	c.Set(fiber.HeaderAccessControlAllowHeaders, headers)
	return c.SendStatus(fiber.StatusNoContent)
}

// allowedMethods lists, as Kong's OPTIONS handler does, the methods of the
// route a path matches ("" for none).
func (s *Server) allowedMethods(segs []string) string {
	const (
		readOnly   = "GET, HEAD, OPTIONS"
		postOnly   = "OPTIONS, POST"
		collection = "GET, HEAD, OPTIONS, POST"
		entity     = "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"
	)
	n := len(segs)
	if n == 0 {
		return readOnly
	}
	switch segs[0] {
	case "status", "endpoints":
		if n == 1 {
			return readOnly
		}
		return ""
	case "tags":
		if n <= 2 {
			return readOnly
		}
		return ""
	case "config":
		if n == 1 {
			return collection
		}
		return ""
	case "schemas":
		switch {
		case n == 2:
			return readOnly
		case n == 3 && segs[2] == "validate":
			return postOnly
		case n == 3 && (segs[1] == "plugins" || segs[1] == "filters"):
			return readOnly
		}
		return ""
	case "plugins":
		if n == 2 && segs[1] == "enabled" {
			return readOnly
		}
	case "routes":
		if n == 4 && segs[2] == "filters" && isWasmPath(segs) {
			return readOnly
		}
	case "upstreams":
		switch {
		case n == 3 && segs[2] == "health":
			return readOnly
		case n == 4 && segs[2] == "targets" && segs[3] == "all":
			return readOnly
		case (n == 5 || n == 6) && segs[2] == "targets" && (segs[n-1] == "healthy" || segs[n-1] == "unhealthy"):
			return postOnly
		}
	}
	t, ok := s.resolve(segs)
	methods := ""
	switch {
	case !ok:
	case t.key == "" && t.toOne == nil:
		methods = collection
	default:
		methods = entity
	}
	return s.withPluginMethods(segs, methods)
}

// otherMethods answers a method the fixed endpoint does not serve with 405.
func otherMethods(c *fiber.Ctx) error {
	if c.Method() == fiber.MethodOptions {
		return c.Next()
	}
	return methodNotAllowed(c)
}

// Error bodies.

type errorBody struct {
	Code    store.Code    `json:"code"`
	Name    string        `json:"name"`
	Message string        `json:"message"`
	Fields  schema.Errors `json:"fields,omitempty"`
	Options schema.Errors `json:"options,omitempty"`
}

// StatusFor returns the HTTP status Kong's Admin API answers a store error with.
func StatusFor(code store.Code) int {
	switch code {
	case store.CodeUniqueViolation:
		return fiber.StatusConflict
	case store.CodeNotFound:
		return fiber.StatusNotFound
	case store.CodeOperationUnsupported:
		return fiber.StatusMethodNotAllowed
	case store.CodeDatabaseError, store.CodeTransformationError, store.CodeInvalidForeignKey:
		return fiber.StatusInternalServerError
	}
	return fiber.StatusBadRequest
}

func (s *Server) fail(c *fiber.Ctx, err error) error {
	if errors.Is(err, errSNINotFound) {
		return s.json(c, fiber.StatusNotFound, map[string]any{"message": "SNI not found"})
	}
	var ume *reqbody.UnsupportedMediaTypeError
	if errors.As(err, &ume) {
		return c.SendStatus(fiber.StatusUnsupportedMediaType)
	}
	var be *reqbody.BodyError
	if errors.As(err, &be) {
		return s.json(c, fiber.StatusBadRequest, map[string]any{"message": be.Message})
	}
	if e, ok := store.AsError(err); ok {
		status := StatusFor(e.Code)
		switch status {
		case fiber.StatusNotFound:
			return notFound(c)
		case fiber.StatusInternalServerError:
			return s.internal(c, err)
		}
		body := errorBody{Code: e.Code, Name: e.Code.Name(), Message: e.Message, Fields: e.Fields}
		if e.Code == store.CodeInvalidOptions {
			body.Options, body.Fields = e.Fields, nil
		}
		return s.json(c, status, body)
	}
	return s.internal(c, err)
}

func (s *Server) internal(c *fiber.Ctx, err error) error {
	s.log.Error("admin API request failed", "method", c.Method(), "path", s.loggedPath(c), "error", err)
	return s.json(c, fiber.StatusInternalServerError, map[string]any{"message": "An unexpected error occurred"})
}

func notFound(c *fiber.Ctx) error {
	c.Status(fiber.StatusNotFound)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.SendString(`{"message":"Not found"}`)
}

func methodNotAllowed(c *fiber.Ctx) error {
	c.Status(fiber.StatusMethodNotAllowed)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.SendString(`{"message":"Method not allowed"}`)
}

func (s *Server) handleFiberError(c *fiber.Ctx, err error) error {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case fiber.StatusNotFound:
			return notFound(c)
		case fiber.StatusMethodNotAllowed:
			return methodNotAllowed(c)
		case fiber.StatusRequestEntityTooLarge:
			return payloadTooLarge(c)
		case fiber.StatusBadRequest:
			// fasthttp could not read the request (a truncated body, a
			// malformed header): Kong's text, not Go's error.
			return s.json(c, fe.Code, map[string]any{"message": "Bad request"})
		}
		if fe.Code < 500 {
			return s.json(c, fe.Code, map[string]any{"message": fe.Message})
		}
	}
	return s.internal(c, err)
}

// json writes v without HTML escaping, as Kong's cjson does.
func (s *Server) json(c *fiber.Ctx, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		s.log.Error("admin API encoding response", "error", err)
		c.Status(fiber.StatusInternalServerError)
		return c.SendString(`{"message":"An unexpected error occurred"}`)
	}
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(bytes.TrimRight(buf.Bytes(), "\n"))
}

// payloadTooLarge is Kong's answer to a body over client_max_body_size.
func payloadTooLarge(c *fiber.Ctx) error {
	c.Context().SetConnectionClose()
	c.Status(fiber.StatusRequestEntityTooLarge)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.SendString(`{"message":"Payload too large"}`)
}

// maxPostArgsKey holds the lua_max_post_args limit in a request's locals.
type maxPostArgsKey struct{}

// readBody reads the request body, which fasthttp hands over as a stream,
// into memory of the request's own (garbage once the request is done, not
// a buffer kept per connection), refusing one larger than MaxBodySize with
// 413 before reading it.
func (s *Server) readBody(c *fiber.Ctx) error {
	c.Locals(maxPostArgsKey{}, s.opts.MaxPostArgs)
	req := c.Request()
	if !req.IsBodyStream() {
		return c.Next()
	}
	stream := c.Context().RequestBodyStream()
	limit := s.opts.MaxBodySize
	n := int64(req.Header.ContentLength())
	if n > limit {
		return s.refuseBody(c, stream)
	}
	max := n
	if n < 0 { // chunked: read one byte past the limit to see it exceeded
		max = limit + 1
	}
	raw, err := readUpTo(stream, max)
	if err == nil && n >= 0 && int64(len(raw)) < n {
		err = io.ErrUnexpectedEOF
	}
	if err == nil && int64(len(raw)) > limit {
		return s.refuseBody(c, stream)
	}
	if err != nil {
		// The client went away or sent a broken body; the connection
		// cannot carry another request.
		c.Context().SetConnectionClose()
		return s.json(c, fiber.StatusBadRequest, map[string]any{"message": "Bad request"})
	}
	req.SetBodyRaw(raw)
	return c.Next()
}

// readUpTo reads r until EOF or max bytes. Its buffer grows with what
// arrives, so a Content-Length announcing a large body costs memory only
// as the body comes in.
func readUpTo(r io.Reader, max int64) ([]byte, error) {
	buf := make([]byte, 0, min(max, 64<<10))
	for int64(len(buf)) < max {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(max, 2*int64(cap(buf))))
			copy(grown, buf)
			buf = grown
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// refuseBody answers 413 and drops the rest of the body (lingering close).
func (s *Server) refuseBody(c *fiber.Ctx, stream io.Reader) error {
	if conn := c.Context().Conn(); conn != nil {
		_ = conn.SetReadDeadline(time.Now().Add(lingerTime))
	}
	_, _ = io.CopyN(io.Discard, stream, lingerBytes)
	return payloadTooLarge(c)
}

// typedContext marks the request's context when its body is JSON, whose
// values must carry their schema types (form values are typed by the schema).
func typedContext(c *fiber.Ctx) {
	if strings.HasPrefix(string(c.Request().Header.ContentType()), fiber.MIMEApplicationJSON) {
		c.SetUserContext(store.WithTypedInput(c.UserContext()))
	}
}

// body decodes the request body by content type. The body bytes belong to
// fasthttp and are reused by the next request on the connection (Immutable
// does not copy them); reqbody copies every value it returns out of them.
// A form or multipart body may hold at most lua_max_post_args arguments;
// one with more is refused rather than cut. The raw body is decoded:
// Kong does not inflate a Content-Encoding of Admin API bodies either.
func body(c *fiber.Ctx) (map[string]any, error) {
	if contentTypeHeaders(c.Request().Header.RawHeaders()) > 1 {
		// Kong's before_filter: the body could be read either way.
		return nil, &reqbody.BodyError{Message: "Multiple Content-Type headers not allowed"}
	}
	maxArgs, _ := c.Locals(maxPostArgsKey{}).(int)
	return reqbody.DecodeStrict(string(c.Request().Header.ContentType()), c.Request().Body(), maxArgs)
}

// contentTypeHeaders counts the Content-Type header lines of a request
// (fasthttp keeps only the last one's value).
func contentTypeHeaders(raw []byte) int {
	n := 0
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		if name, _, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(bytes.TrimSpace(name), []byte("Content-Type")) {
			n++
		}
	}
	return n
}

// Node information.

func (s *Server) root(c *fiber.Ctx) error {
	available := map[string]any{}
	for name, info := range s.availablePlugins() {
		available[name] = info
	}
	enabled, err := s.pluginsInUse(c)
	if err != nil {
		return s.fail(c, err)
	}
	cfg := map[string]any{}
	for k, v := range s.opts.Configuration {
		cfg[k] = v
	}
	cfg["database"] = s.store.Backend().Name()
	cfg["router_flavor"] = "traditional_compatible"
	return s.json(c, fiber.StatusOK, map[string]any{
		"version":           KongVersion,
		"gatehouse_version": s.opts.Version,
		"edition":           "community",
		"tagline":           "Welcome to kong",
		"hostname":          s.opts.Hostname,
		"node_id":           s.opts.NodeID,
		"lua_version":       "gopher-lua 5.1",
		"timers":            map[string]any{"running": 0, "pending": 0},
		"pids":              map[string]any{"master": pid(), "workers": []any{pid()}},
		"configuration":     cfg,
		"plugins": map[string]any{
			"available_on_server": available,
			"enabled_in_cluster":  enabled,
		},
	})
}

// pluginsInUse lists the distinct names of configured plugins the caller
// may see.
func (s *Server) pluginsInUse(c *fiber.Ctx) ([]string, error) {
	ctx := c.UserContext()
	seen := map[string]bool{}
	offset := ""
	for {
		page, err := s.store.List(ctx, "plugins", store.ListQuery{Size: store.MaxPageSize, Offset: offset})
		if err != nil {
			return nil, err
		}
		for _, p := range s.visible(c, "plugins", page.Data) {
			if n, ok := p["name"].(string); ok {
				seen[n] = true
			}
		}
		if page.Offset == "" {
			break
		}
		offset = page.Offset
	}
	out := store.SortedKeys(seen)
	return out, nil
}

// Status serves `GET /status`; the status listener mounts it too.
func (s *Server) Status(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	reachable := s.store.Ping(ctx) == nil
	server := map[string]any{}
	if s.opts.ServerStats != nil {
		server = s.opts.ServerStats()
	}
	out := map[string]any{
		"database": map[string]any{"reachable": reachable},
		"server":   server,
		"memory":   memoryStats(),
	}
	if s.opts.ConfigHash != nil {
		out["configuration_hash"] = s.opts.ConfigHash()
	}
	return s.json(c, fiber.StatusOK, out)
}

func (s *Server) endpoints(c *fiber.Ctx) error {
	return s.json(c, fiber.StatusOK, map[string]any{"data": s.endpointList()})
}

func (s *Server) endpointList() []string {
	set := map[string]bool{"/": true, "/status": true, "/endpoints": true, "/schemas/{db_entity_name}": true,
		"/schemas/{db_entity_name}/validate": true, "/schemas/plugins/{name}": true, "/schemas/plugins/validate": true,
		"/plugins/enabled": true, "/tags": true, "/tags/{tags}": true, "/config": true}
	reg := s.store.Registry()
	for _, e := range reg.All() {
		if store.IsTeamEntity(e.Name) {
			continue // served by TeamEndpoints (teams_api.go) when enable_teams is on
		}
		if store.IsPortalEntity(e.Name) {
			continue // served by portalEndpoints (portal_common.go), listed from there
		}
		if store.IsAdminEntity(e.Name) {
			continue // served by AdminEndpoints (admins_api.go), listed from there
		}
		param := "{" + strings.TrimSuffix(e.Name, "s") + "s}"
		set["/"+e.Path] = true
		set["/"+e.Path+"/"+param] = true
		for _, f := range e.Foreigns() {
			if store.IsPortalEntity(f.Reference) {
				continue // no generic route under or to a portal entity (entities.go resolve)
			}
			parent, _ := reg.Entity(f.Reference)
			pp := "/" + parent.Path + "/{" + parent.Name + "}"
			set[pp+"/"+e.NestedSegment()] = true
			set[pp+"/"+e.NestedSegment()+"/"+param] = true
			set["/"+e.Path+"/"+param+"/"+f.Name] = true
		}
	}
	for _, e := range s.opts.Endpoints {
		if isCorePath(e.Path) {
			continue // not served
		}
		segs := strings.Split(e.Path, "/")
		for i, seg := range segs {
			if strings.HasPrefix(seg, ":") {
				segs[i] = "{" + seg[1:] + "}"
			}
			if seg == "*" && i > 0 { // a wildcard key (/files/*): named after its collection
				segs[i] = "{" + segs[i-1] + "}"
			}
		}
		set[strings.Join(segs, "/")] = true
	}
	out := store.SortedKeys(set)
	sort.SliceStable(out, func(i, j int) bool {
		return strings.ReplaceAll(out[i], "/", "\x00") < strings.ReplaceAll(out[j], "/", "\x00")
	})
	return out
}

// Schemas.

func (s *Server) entitySchema(c *fiber.Ctx) error {
	name, _ := url.PathUnescape(c.Params("entity"))
	e, ok := s.store.Registry().Entity(name)
	if !ok {
		return s.json(c, fiber.StatusNotFound, map[string]any{"message": "No entity named '" + name + "'"})
	}
	return s.json(c, fiber.StatusOK, schema.Render(e.Schema))
}

func (s *Server) validateEntity(c *fiber.Ctx) error {
	name, _ := url.PathUnescape(c.Params("entity"))
	if _, ok := s.store.Registry().Entity(name); !ok {
		return s.json(c, fiber.StatusNotFound, map[string]any{"message": "No entity named '" + name + "'"})
	}
	typedContext(c)
	in, err := body(c)
	if err != nil {
		return s.fail(c, err)
	}
	// Kong checks the schema only: no foreign-key or uniqueness lookups.
	if err := s.store.ValidateSchema(c.UserContext(), name, in); err != nil {
		return s.fail(c, err)
	}
	return s.json(c, fiber.StatusOK, map[string]any{"message": "schema validation successful"})
}

func (s *Server) pluginSchema(c *fiber.Ctx) error {
	name, _ := url.PathUnescape(c.Params("name"))
	body, ok := s.store.PluginSchemaBody(name)
	if !ok {
		return s.json(c, fiber.StatusNotFound, map[string]any{"message": "No plugin named '" + name + "'"})
	}
	return s.json(c, fiber.StatusOK, body)
}

func (s *Server) validatePlugin(c *fiber.Ctx) error {
	typedContext(c)
	in, err := body(c)
	if err != nil {
		return s.fail(c, err)
	}
	if err := s.store.ValidateSchema(c.UserContext(), "plugins", in); err != nil {
		return s.fail(c, err)
	}
	return s.json(c, fiber.StatusOK, map[string]any{"message": "schema validation successful"})
}

func (s *Server) enabledPlugins(c *fiber.Ctx) error {
	names := store.SortedKeys(s.availablePlugins())
	return s.json(c, fiber.StatusOK, map[string]any{"enabled_plugins": names})
}

// Tags.

func (s *Server) tags(c *fiber.Ctx) error {
	tag, _ := url.PathUnescape(c.Params("tag"))
	size, err := pageSize(c)
	if err != nil {
		return s.fail(c, err)
	}
	page, err := s.store.ListTags(c.UserContext(), tag, size, c.Query("offset"))
	if err != nil {
		return s.fail(c, err)
	}
	if page.Data, err = s.visibleTags(c, page.Data); err != nil {
		return s.fail(c, err)
	}
	base := "/tags"
	if tag != "" {
		base += "/" + url.PathEscape(tag)
	}
	out := map[string]any{"data": page.Data, "next": nil}
	if page.Offset != "" {
		out["offset"] = page.Offset
		out["next"] = nextLink(base, page.Offset, c)
	}
	return s.json(c, fiber.StatusOK, out)
}

// DB-less configuration.

// dbOnlyConfig is Kong's answer to /config on a node with a database.
func (s *Server) dbOnlyConfig(c *fiber.Ctx) error {
	return s.json(c, fiber.StatusBadRequest, map[string]any{
		"message": "this endpoint is only available when Kong is configured to not use a database"})
}

func (s *Server) getConfig(c *fiber.Ctx) error {
	if !s.store.ReadOnly() {
		return s.dbOnlyConfig(c)
	}
	if s.opts.ExportConfig == nil {
		return notFound(c)
	}
	data, err := s.opts.ExportConfig(c.UserContext())
	if err != nil {
		return s.fail(c, err)
	}
	return s.json(c, fiber.StatusOK, map[string]any{"config": string(data)})
}

func (s *Server) postConfig(c *fiber.Ctx) error {
	if !s.store.ReadOnly() {
		return s.dbOnlyConfig(c)
	}
	if s.opts.LoadConfig == nil {
		return notFound(c)
	}
	raw := bytes.Clone(c.Request().Body()) // outlives the request in the loaded configuration
	ctRaw := strings.TrimLeft(string(c.Request().Header.ContentType()), " \t")
	ct := strings.ToLower(ctRaw)
	// Kong's before_filter lets /config (only) take a YAML body as is.
	isYAML := strings.HasPrefix(ctRaw, "application/yaml") || strings.HasPrefix(ctRaw, "text/yaml")
	if isYAML && contentTypeHeaders(c.Request().Header.RawHeaders()) > 1 {
		return s.fail(c, &reqbody.BodyError{Message: "Multiple Content-Type headers not allowed"})
	}
	if !isYAML && (!strings.HasPrefix(ct, "application/json") || bytes.Contains(raw, []byte(`"config"`))) {
		in, err := body(c)
		if err != nil {
			return s.fail(c, err)
		}
		if cfg, ok := in["config"].(string); ok {
			raw = []byte(cfg)
		}
	}
	if err := s.opts.LoadConfig(c.UserContext(), raw); err != nil {
		return s.fail(c, err)
	}
	dump, err := s.store.Export(c.UserContext())
	if err != nil {
		return s.fail(c, err)
	}
	return s.json(c, fiber.StatusCreated, dump)
}

// Upstream health.

// balancerFor finds the upstream named in the URL and its running balancer.
func (s *Server) balancerFor(c *fiber.Ctx) (map[string]any, *balancer.Balancer, error) {
	key, _ := url.PathUnescape(c.Params("upstream"))
	up, err := s.store.Get(c.UserContext(), "upstreams", key)
	if err != nil {
		return nil, nil, err
	}
	if s.opts.Balancers == nil {
		return up, nil, nil
	}
	name, _ := up["name"].(string)
	return up, s.opts.Balancers(name), nil
}

// upstreamHealth serves GET /upstreams/{u}/health (and ?balancer_health=1).
func (s *Server) upstreamHealth(c *fiber.Ctx) error {
	up, b, err := s.balancerFor(c)
	if err != nil {
		return s.fail(c, err)
	}
	if b == nil {
		return s.json(c, fiber.StatusOK, map[string]any{"data": []any{}, "next": nil, "node_id": s.opts.NodeID})
	}
	if c.Query("balancer_health") == "1" || c.Query("balancer_health") == "true" {
		bh := b.BalancerHealth()
		return s.json(c, fiber.StatusOK, map[string]any{"data": bh, "id": up["id"], "next": nil, "node_id": s.opts.NodeID})
	}
	return s.json(c, fiber.StatusOK, map[string]any{"data": b.Health(), "next": nil, "node_id": s.opts.NodeID})
}

// setTargetHealth serves POST /upstreams/{u}/targets/{t}/healthy|unhealthy
// and the per-address form.
func (s *Server) setTargetHealth(c *fiber.Ctx) error {
	action := c.Params("action")
	if action != "healthy" && action != "unhealthy" {
		return notFound(c)
	}
	_, b, err := s.balancerFor(c)
	if err != nil {
		return s.fail(c, err)
	}
	if b == nil {
		return notFound(c)
	}
	target, _ := url.PathUnescape(c.Params("target"))
	if addr := c.Params("address"); addr != "" {
		addr, _ = url.PathUnescape(addr)
		err = b.SetAddressHealthy(target, addr, action == "healthy")
	} else {
		err = b.SetHealthy(target, action == "healthy")
	}
	switch {
	case errors.Is(err, balancer.ErrUnknownTarget):
		return notFound(c)
	case errors.Is(err, balancer.ErrHealthchecksOff):
		return s.json(c, fiber.StatusBadRequest, map[string]any{"message": "health checks are not enabled for this upstream"})
	case err != nil:
		return s.fail(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}
