package admin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/runtime/policy"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gofiber/fiber/v2"
	"github.com/open-policy-agent/opa/v1/ast"
)

// DefaultAdminPolicyTimeout bounds one Admin API policy evaluation when
// RBAC.Timeout is 0. Admin calls are rare next to proxied requests, so the
// bound is wider than policy_timeout's; a call whose evaluation runs past
// it fails closed with 500.
const DefaultAdminPolicyTimeout = time.Second

// policySet returns the current snapshot's policy set, or the shipped
// policies alone.
func (r *RBAC) policySet() (*policy.Set, error) {
	if r.Policies != nil {
		if set := r.Policies(); set != nil {
			return set, nil
		}
	}
	r.fallback.Do(func() {
		r.fallbackSet, r.fallbackErr = policy.NewCompiler(policy.Options{}).Build(0, nil)
	})
	return r.fallbackSet, r.fallbackErr
}

func (r *RBAC) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return DefaultAdminPolicyTimeout
}

// AdminInput is the input document of the Admin API's policies (see
// runtime/policy/README.md, "The admin input"). It is built in Go for
// each call; BuildInput exposes it for tests and tools.
type AdminInput struct {
	Call        Call
	Roles       []string
	Permissions []Permission
	Teams       []TeamMembership
	// Owners are the teams owning the entity the call names (Teams.Scope).
	Owners []string
	// Entity is the stored entity the call names, when it exists.
	Entity map[string]any
}

// action is the RBAC action of an operation: a list is a read.
func action(op Operation) string {
	if op == OpList {
		return string(OpRead)
	}
	return string(op)
}

// Value renders the input as the policies read it.
func (in AdminInput) Value() (ast.Value, error) {
	roles := make([]any, 0, len(in.Roles))
	for _, r := range in.Roles {
		roles = append(roles, r)
	}
	perms := make([]any, 0, len(in.Permissions))
	for _, p := range in.Permissions {
		perms = append(perms, map[string]any{"role": p.Role, "workspace": p.Workspace, "endpoint": p.Endpoint,
			"actions": toAny(p.Actions), "negative": p.Negative})
	}
	teams := make([]any, 0, len(in.Teams))
	for _, t := range in.Teams {
		teams = append(teams, map[string]any{"id": t.ID, "name": t.Name, "admin": t.Admin, "roles": toAny(t.Roles)})
	}
	c := in.Call
	entity := map[string]any{"type": c.Entity, "key": c.Key, "parent": c.Parent, "parent_key": c.ParentKey,
		"teams": toAny(in.Owners), "tags": []any{}}
	if in.Entity != nil {
		if id, ok := in.Entity["id"].(string); ok {
			entity["id"] = id
		}
		for _, f := range []string{"name", "username", "instance_name"} {
			if v, ok := in.Entity[f].(string); ok {
				entity["name"] = v
				break
			}
		}
		if tags := stringList(in.Entity["tags"]); tags != nil {
			entity["tags"] = toAny(tags)
		}
	}
	path := c.Path
	if path == "" {
		path = "/"
	}
	doc := map[string]any{
		"admin":       map[string]any{"id": c.Actor.ID, "name": c.Actor.Name},
		"roles":       roles,
		"permissions": perms,
		"teams":       teams,
		"action":      action(c.Operation),
		"workspace":   DefaultWorkspace,
		"request":     map[string]any{"method": c.Method, "path": path},
		"entity":      entity,
	}
	return ast.InterfaceToValue(doc)
}

// entityOf reads the stored entity a call names by key, nil when it names
// none, it is not a store entity, or it does not exist.
func (r *RBAC) entityOf(ctx context.Context, call Call) (map[string]any, error) {
	if call.Key == "" || strings.HasPrefix(call.Entity, "/") {
		return nil, nil
	}
	if _, ok := r.Store.Registry().Entity(call.Entity); !ok {
		return nil, nil
	}
	rec, err := r.Store.Get(ctx, call.Entity, call.Key)
	switch {
	case err == nil:
		return rec, nil
	case store.IsNotFound(err):
		return nil, nil
	}
	if e, ok := store.AsError(err); ok && e.Code != store.CodeDatabaseError {
		return nil, nil // a key the entity cannot have: nothing to describe
	}
	return nil, fmt.Errorf("rbac: reading the %s the call names: %w", call.Entity, err)
}

// decide evaluates the shipped admin policy, then the users' admin rules.
func (r *RBAC) decide(ctx context.Context, call Call, roles []string, member []TeamMembership, owners []string) error {
	perms, err := RolePermissions(ctx, r.Store, roles)
	if err != nil {
		return err
	}
	ent, err := r.entityOf(ctx, call)
	if err != nil {
		return err
	}
	input, err := AdminInput{Call: call, Roles: roles, Permissions: perms, Teams: member, Owners: owners, Entity: ent}.Value()
	if err != nil {
		return fmt.Errorf("rbac: building the policy input: %w", err)
	}
	set, err := r.policySet()
	if err != nil {
		return fmt.Errorf("rbac: %w", err)
	}
	shipped, err := set.Shipped(policy.AdminPolicy)
	if err != nil {
		return fmt.Errorf("rbac: %w", err)
	}
	v, err := shipped.EvalWithin(ctx, input, r.timeout())
	if err != nil {
		return fmt.Errorf("rbac: deciding the call: %w", err)
	}
	if v != true {
		return Forbidden(call.Actor, call.Operation)
	}
	if exemptFromRules(call, roles) {
		return nil
	}
	for name, err := range set.AdminErrors() {
		return fmt.Errorf("rbac: the admin policy %q does not compile: %w", name, err)
	}
	var msgs []string
	for _, rule := range set.AdminRules() {
		m, err := rule.Deny(ctx, input, r.timeout())
		if err != nil {
			return fmt.Errorf("rbac: admin rule: %w", err)
		}
		msgs = append(msgs, m...)
	}
	if len(msgs) > 0 {
		return &Refusal{Status: fiber.StatusForbidden, Message: strings.Join(msgs, "; ")}
	}
	return nil
}

// exemptFromRules: a super-admin's calls on /policies are not subject to
// the users' admin rules, so that a rule that refuses too much (or no
// longer compiles) can always be fixed.
func exemptFromRules(call Call, roles []string) bool {
	if call.Entity != "policies" {
		return false
	}
	for _, r := range roles {
		if r == "super-admin" {
			return true
		}
	}
	return false
}
