package app

import (
	"context"
	"errors"

	"github.com/gatehouse/gatehouse/runtime/admin"
	"github.com/gatehouse/gatehouse/runtime/config"
)

// startTeams turns teams on when enable_teams is: it creates the Default
// and Administrators teams (idempotent), starts the team index, makes the
// RBAC authorizer consult it and serves /teams. With enable_teams off it
// does nothing: RBAC.Teams stays nil and roles alone decide (ownership
// rows stay in the database for the next time teams are on).
func (n *Node) startTeams(ctx context.Context, opts *admin.Options) error {
	cfg := n.cfg
	if !cfg.EnableTeams {
		return nil
	}
	if err := cfg.Check(); err != nil {
		return err
	}
	if cfg.Database == config.DatabaseOff {
		return errors.New("enable_teams = on needs a database: teams are stored (database = off)")
	}
	rbac, ok := opts.Authorizer.(*admin.RBAC)
	if !ok {
		return errors.New("enable_teams = on needs the RBAC authorizer (enforce_rbac = on)")
	}
	if err := admin.EnsureTeams(ctx, n.store); err != nil {
		return err
	}
	teams, err := admin.NewTeamService(ctx, n.store, n.log)
	if err != nil {
		return err
	}
	n.teams = teams
	rbac.Teams = teams
	opts.Endpoints = append(opts.Endpoints, admin.TeamEndpoints(teams)...)
	return nil
}
