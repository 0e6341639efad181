package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gofiber/fiber/v2"
)

// Operation is what an Admin API call does to the entity it names, in the
// terms of Kong Enterprise's RBAC actions (with list split from read).
type Operation string

// The operations of Admin API calls. GET and HEAD read one entity or list a
// collection, POST creates, PUT and PATCH update (a PUT that creates is an
// update too, as RBAC counts it), DELETE deletes.
const (
	OpRead   Operation = "read"
	OpList   Operation = "list"
	OpCreate Operation = "create"
	OpUpdate Operation = "update"
	OpDelete Operation = "delete"
)

// The resources of the Admin API endpoints that name no entity: a Call's
// Entity is one of these, or an entity name ("services", "key-auth"...).
const (
	ResourceNode      = "/"                // GET /
	ResourceStatus    = "/status"          // GET /status
	ResourceEndpoints = "/endpoints"       // GET /endpoints
	ResourceSchemas   = "/schemas"         // /schemas/...; Key is the rest of the path
	ResourceEnabled   = "/plugins/enabled" // GET /plugins/enabled
	ResourceTags      = "/tags"            // /tags and /tags/{tag}; Key is the tag
	ResourceConfig    = "/config"          // GET and POST /config (DB-less)
)

// Call is one Admin API call as an Authorizer sees it.
type Call struct {
	// Actor is who makes the call, as the Identifier established it.
	Actor store.Actor
	// Entity is the entity the call reads or writes ("services"), or one
	// of the Resource names for the endpoints that name no entity.
	// /routes/{r}/service names "services", with Parent "routes".
	Entity string
	// Operation is what the call does.
	Operation Operation
	// Key is the entity's id or endpoint key as the URL gives it ("" for a
	// collection or an entity reached through a foreign key).
	Key string
	// Parent and ParentKey name the entity a nested path goes through:
	// "consumers" and the consumer's id or username for
	// /consumers/{c}/key-auth; "upstreams" for /upstreams/{u}/targets.
	Parent, ParentKey string
	// Method and Path are the request's, for endpoint-based rules.
	Method, Path string
	// Team is the Gatehouse-Team header's value ("" when absent): the team
	// that owns what a member of several teams creates.
	Team string
}

// Authorizer decides which Admin API calls an actor may make and which
// entities its lists show. It is consulted once per call, before the call
// reads or writes anything; RBAC implements it.
//
// Lists are filtered after the store returns a page: a page keeps the size
// the client asked for counted before filtering, so it may hold fewer items
// (none, even) while `next` and `offset` still lead to the following page.
// `offset` stays the store's cursor, unchanged by filtering; a client reads
// until `next` is null, as Kong's clients do, not until a short page.
// Answers that are not lists of entities are not filtered: one entity read
// by its key (Authorize sees the key), GET /config's export (authorized as
// ResourceConfig as a whole), /upstreams/{u}/health.
type Authorizer interface {
	// Authorize returns nil to let the call through. A *Refusal is
	// answered with its status and message (Forbidden gives Kong
	// Enterprise's 403); any other error is answered with 500.
	Authorize(ctx context.Context, call Call) error
	// Visible reports whether a listed entity is shown to the call's actor.
	// It is asked for every item of a list page (GET on a collection,
	// nested or not, with or without filters), for the entities behind
	// /tags rows, and for the plugins `GET /` reports enabled in the
	// cluster. rec is the entity as the store returns it; entity is its
	// entity name.
	Visible(ctx context.Context, call Call, entity string, rec map[string]any) bool
}

// Identifier establishes who makes an Admin API call, from its headers (a
// Kong-Admin-Token, a session cookie) or its connection.
type Identifier interface {
	// Identify returns the call's actor. A *Refusal is answered with its
	// status and message (Unauthorized gives a 401); any other error is
	// answered with 500.
	Identify(ctx context.Context, req RequestInfo) (store.Actor, error)
}

// RequestInfo is what an Identifier may read of a request.
type RequestInfo struct {
	// Method and Path are the request's.
	Method, Path string
	// RemoteIP is the client's address.
	RemoteIP string
	// Header returns the value of a request header ("" when absent).
	Header func(name string) string
}

// AllowAll is the default Authorizer: every call is allowed, every entity
// listed.
type AllowAll struct{}

// Authorize allows the call.
func (AllowAll) Authorize(context.Context, Call) error { return nil }

// Visible shows the entity.
func (AllowAll) Visible(context.Context, Call, string, map[string]any) bool { return true }

// AnonymousIdentifier is the default Identifier: every call is made by
// store.Anonymous.
type AnonymousIdentifier struct{}

// Identify returns store.Anonymous.
func (AnonymousIdentifier) Identify(context.Context, RequestInfo) (store.Actor, error) {
	return store.Anonymous, nil
}

// Refusal is an Identifier's or Authorizer's refusal of a call, answered with
// Status and Kong's error body {"message": Message}.
type Refusal struct {
	Status  int
	Message string
}

// Error returns the message.
func (r *Refusal) Error() string { return fmt.Sprintf("admin: refused (%d): %s", r.Status, r.Message) }

// Forbidden is the 403 refusal of op to actor, in Kong Enterprise RBAC's
// words: "<name>, you do not have permissions to <action> this resource".
// A list is a read.
func Forbidden(actor store.Actor, op Operation) *Refusal {
	if op == OpList {
		op = OpRead
	}
	return &Refusal{Status: fiber.StatusForbidden,
		Message: fmt.Sprintf("%s, you do not have permissions to %s this resource", actor.Name, op)}
}

// Unauthorized is the 401 refusal of a call whose actor could not be
// established; an empty message gives Kong Enterprise's.
func Unauthorized(message string) *Refusal {
	if message == "" {
		message = "Invalid credentials. Token or User credentials required"
	}
	return &Refusal{Status: fiber.StatusUnauthorized, Message: message}
}

// callKey holds the request's Call in its locals.
type callKey struct{}

// authorize identifies the caller, puts the actor into the request's
// context (and so into every store call the handlers make) and asks the
// authorizer about the call. OPTIONS (CORS preflight, which carries no
// credentials), methods no endpoint serves and paths that name nothing are
// not asked about: they are answered with 204, 405 or 404 and reveal no
// entity.
func (s *Server) authorize(c *fiber.Ctx) error {
	call, ok := s.callFor(c.Method(), splitPath(c.Path()))
	if !ok {
		return c.Next()
	}
	if err := s.decide(c, &call); err != nil {
		return s.refuse(c, err)
	}
	c.Locals(callKey{}, &call)
	return c.Next()
}

// decide identifies the caller, puts the actor in the call's context
// (c.UserContext) and in call, and asks the authorizer.
func (s *Server) decide(c *fiber.Ctx, call *Call) error {
	ctx := c.UserContext()
	actor, err := s.identifier.Identify(ctx, RequestInfo{Method: c.Method(), Path: c.Path(), RemoteIP: c.IP(),
		Header: func(name string) string { return c.Get(name) }})
	if err != nil {
		return err
	}
	if actor != store.Anonymous {
		c.SetUserContext(store.WithActor(ctx, actor))
	}
	call.Actor = actor
	call.Method, call.Path = c.Method(), c.Path()
	call.Team = c.Get(TeamHeader)
	return s.authorizer.Authorize(c.UserContext(), *call)
}

// refusedKey marks, in a request's locals, a call the identifier or the
// authorizer refused: the audit log records it whatever its status.
type refusedKey struct{}

// refuse answers an identifier's or authorizer's error.
func (s *Server) refuse(c *fiber.Ctx, err error) error {
	var r *Refusal
	if errors.As(err, &r) {
		c.Locals(refusedKey{}, true)
		return s.json(c, r.Status, map[string]any{"message": r.Message})
	}
	return s.internal(c, fmt.Errorf("authorizing the call: %w", err))
}

// operation maps a method onto an operation; ok is false for the methods
// no endpoint serves.
func operation(method string, collection bool) (Operation, bool) {
	switch method {
	case fiber.MethodGet, fiber.MethodHead:
		if collection {
			return OpList, true
		}
		return OpRead, true
	case fiber.MethodPost:
		return OpCreate, true
	case fiber.MethodPut, fiber.MethodPatch:
		return OpUpdate, true
	case fiber.MethodDelete:
		return OpDelete, true
	}
	return "", false
}

// callFor maps a request onto the Call the authorizer is asked about, with
// the routes' own reading of the path (resolve, for every entity
// endpoint); ok is false when no authorization is asked (see authorize).
func (s *Server) callFor(method string, segs []string) (Call, bool) {
	n := len(segs)
	fixed := func(resource, key string, collection bool) (Call, bool) {
		op, ok := operation(method, collection)
		return Call{Entity: resource, Operation: op, Key: key}, ok
	}
	if n == 0 {
		return fixed(ResourceNode, "", false)
	}
	switch segs[0] {
	case "status", "endpoints":
		if n == 1 {
			return fixed("/"+segs[0], "", false)
		}
		return Call{}, false
	case "tags":
		if n <= 2 {
			return fixed(ResourceTags, strings.Join(segs[1:], ""), true)
		}
		return Call{}, false
	case "audit":
		if n == 2 && (segs[1] == "requests" || segs[1] == "objects") {
			return fixed(ResourceAudit, segs[1], true)
		}
	case "config":
		if n == 1 {
			return fixed(ResourceConfig, "", false)
		}
		return Call{}, false
	case "schemas":
		if n < 2 || n > 3 {
			return Call{}, false
		}
		call, ok := fixed(ResourceSchemas, strings.Join(segs[1:], "/"), false)
		if segs[n-1] == "validate" && n == 3 {
			call.Operation = OpRead // validation writes nothing
		}
		return call, ok
	case "plugins":
		if n == 2 && segs[1] == "enabled" {
			return fixed(ResourceEnabled, "", false)
		}
	case "upstreams":
		switch {
		case n == 3 && segs[2] == "health":
			return fixed("upstreams", segs[1], false)
		case n == 4 && segs[2] == "targets" && segs[3] == "all":
			call, ok := fixed("targets", "", true)
			call.Parent, call.ParentKey = "upstreams", segs[1]
			return call, ok
		case (n == 5 || n == 6) && segs[2] == "targets" && method == fiber.MethodPost &&
			(segs[n-1] == "healthy" || segs[n-1] == "unhealthy"):
			return Call{Entity: "targets", Operation: OpUpdate, Key: segs[3], Parent: "upstreams", ParentKey: segs[1]}, true
		}
	}
	t, ok := s.resolve(segs)
	if !ok {
		return Call{}, false
	}
	if t.toOne != nil {
		// /routes/{r}/service: the service, reached through the route.
		call, ok := fixed(t.toOne.Reference, "", false)
		call.Parent, call.ParentKey = t.entity.Name, t.key
		return call, ok
	}
	call, ok := fixed(t.entity.Name, t.key, t.key == "")
	if t.parentEntity != nil {
		call.Parent, call.ParentKey = t.parentEntity.Name, t.parentKey
	}
	return call, ok
}

// visible drops from recs the entities the authorizer hides from the
// call's actor; recs is filtered in place.
func (s *Server) visible(c *fiber.Ctx, entity string, recs []map[string]any) []map[string]any {
	call, ok := c.Locals(callKey{}).(*Call)
	if !ok || s.allowAll {
		return recs
	}
	ctx := c.UserContext()
	out := recs[:0]
	for _, rec := range recs {
		if s.authorizer.Visible(ctx, *call, entity, rec) {
			out = append(out, rec)
		}
	}
	clear(recs[len(out):])
	return out
}

// isVisible reports whether one listed entity is shown to the call's actor.
func (s *Server) isVisible(c *fiber.Ctx, entity string, rec map[string]any) bool {
	return len(s.visible(c, entity, []map[string]any{rec})) == 1
}

// visibleTags drops the /tags rows whose entity the authorizer hides; it
// reads each entity to ask about it (once per entity on the page).
func (s *Server) visibleTags(c *fiber.Ctx, rows []store.TagRow) ([]store.TagRow, error) {
	call, ok := c.Locals(callKey{}).(*Call)
	if !ok || s.allowAll {
		return rows, nil
	}
	ctx := c.UserContext()
	shown := map[store.RowRef]bool{}
	out := rows[:0]
	for _, row := range rows {
		ref := store.RowRef{Entity: row.Entity, ID: row.ID}
		vis, seen := shown[ref]
		if !seen {
			rec, err := s.store.Get(ctx, row.Entity, row.ID)
			switch {
			case store.IsNotFound(err): // deleted since the page was read
			case err != nil:
				return nil, err
			default:
				vis = s.authorizer.Visible(ctx, *call, row.Entity, rec)
			}
			shown[ref] = vis
		}
		if vis {
			out = append(out, row)
		}
	}
	return out, nil
}
