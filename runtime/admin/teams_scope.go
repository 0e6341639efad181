package admin

import (
	"context"

	"github.com/gatehouse/gatehouse/store"
)

// TeamHeader names, on a create, the team that will own the new entity
// when its creator belongs to several teams.
const TeamHeader = "Gatehouse-Team"

// TeamMembership is one team an administrator belongs to.
type TeamMembership struct {
	// ID and Name identify the team.
	ID, Name string
	// Admin is true for the team's administrators, who manage its members.
	Admin bool
	// Roles are the roles the team grants its members.
	Roles []string
}

// Teams scopes the Admin API by teams when enable_teams is on: RBAC asks
// it who belongs where, which entities a call may reach and which listed
// entities an administrator sees. With teams off RBAC.Teams is nil and
// roles alone decide.
type Teams interface {
	// Memberships returns the teams the actor belongs to.
	Memberships(ctx context.Context, actor store.Actor) ([]TeamMembership, error)
	// Scope checks the entities a call names (its Key, its ParentKey)
	// against the actor's teams before roles decide: a *Refusal ends the
	// call (404 for an entity only other teams own, 400 for a create whose
	// owning team is ambiguous). owners are the names of the teams owning
	// the entity Key names (nil for collections and creates).
	Scope(ctx context.Context, call Call, member []TeamMembership) (owners []string, err error)
	// Visible reports whether a listed entity is shown to the call's actor.
	Visible(ctx context.Context, call Call, entity string, rec map[string]any) bool
}
