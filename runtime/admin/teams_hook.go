package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gofiber/fiber/v2"
)

// teamRequest is what the team hook knows of one Admin API call: its
// method, path and body (for Scope's foreign key check), the owning team
// Scope chose for a create, and the caller's teams cached for Visible.
type teamRequest struct {
	method string
	segs   []string
	// contentType and body are a write's, for Scope's check of the
	// foreign keys it sets.
	contentType string
	body        []byte

	mu     sync.Mutex
	create *pendingCreate
	viewer *cachedViewer
}

// cachedViewer is a request's viewer, valid for one user while the
// index's generation is gen.
type cachedViewer struct {
	gen  uint64
	user string
	v    viewer
}

// pendingCreate is a create Scope let through: the entity type and the
// id of the team that will own the new entity.
type pendingCreate struct {
	entity, team string
}

type teamRequestKey struct{}

func teamRequestFrom(ctx context.Context) *teamRequest {
	r, _ := ctx.Value(teamRequestKey{}).(*teamRequest)
	return r
}

// teamsHook, installed before the authorization of every Admin API call,
// gives the call's context its teamRequest and, once the call's handler
// answered a create (a POST, or a PUT that created) of a team-owned
// entity, makes the team Scope chose own it and applies the assignment
// rules, before the answer leaves: the creator lists the entity right
// after its 201. An update applies the rules again. It does nothing when
// teams are off (no TeamService runs on the store).
func (s *Server) teamsHook(c *fiber.Ctx) error {
	v, ok := services.Load(s.store)
	if !ok {
		return c.Next()
	}
	t := v.(*TeamService)
	req := &teamRequest{method: c.Method(), segs: splitPath(c.Path())}
	switch req.method {
	case fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch:
		req.contentType = string(c.Request().Header.ContentType())
		req.body = c.Body() // read by Scope, within this request
	}
	c.SetUserContext(context.WithValue(c.UserContext(), teamRequestKey{}, req))
	if err := c.Next(); err != nil {
		return err
	}
	call, _ := c.Locals(callKey{}).(*Call)
	if call == nil || !slices.Contains(store.TeamOwnedEntities, call.Entity) ||
		(call.Operation != OpCreate && call.Operation != OpUpdate) {
		return nil
	}
	status := c.Response().StatusCode()
	if status != fiber.StatusOK && status != fiber.StatusCreated {
		return nil
	}
	var rec map[string]any
	if err := json.Unmarshal(c.Response().Body(), &rec); err != nil {
		return nil // not an entity
	}
	id, _ := rec["id"].(string)
	if id == "" {
		return nil
	}
	req.mu.Lock()
	pending := req.create
	req.mu.Unlock()
	ctx := c.UserContext()
	ref := store.RowRef{Entity: call.Entity, ID: id}
	var err error
	created := pending != nil && pending.entity == call.Entity
	if created && pending.team != "" {
		_, err = t.assign(ctx, pending.team, ref, false)
	}
	if err == nil {
		err = t.applyRules(ctx, call.Entity, rec)
	}
	if err == nil {
		return nil
	}
	// Fail closed: an entity its team does not own would be everyone's.
	if created {
		if _, derr := s.store.Delete(ctx, call.Entity, id); derr != nil {
			err = fmt.Errorf("%w; removing the entity: %v", err, derr)
		}
	}
	c.Response().ResetBody()
	return s.internal(c, err)
}
