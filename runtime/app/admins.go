package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/gatehouse/gatehouse/runtime/admin"
	"github.com/gatehouse/gatehouse/runtime/config"
	"github.com/gatehouse/gatehouse/runtime/session"
	"github.com/gatehouse/gatehouse/store"
)

// adminsFor configures Kong Manager's admins and sign-in (issue 16,
// runtime/admin/admins.go) from the configuration: with admin_gui_auth
// set, sessions of audience "admin" kept as admin_gui_session_conf says
// (storage "kong": in the database, seen by every node).
//
// The bootstrapped super-admin (kong_admin, from GATEHOUSE_RBAC_BOOTSTRAP_TOKEN
// or KONG_PASSWORD) becomes an admin signing in with that value as its
// password, as Kong's bootstrap does.
func adminsFor(ctx context.Context, cfg *config.Config, st *store.Store, log *slog.Logger) (*admin.Admins, error) {
	for _, name := range BootstrapTokenEnv {
		if pw := os.Getenv(name); pw != "" {
			if err := admin.EnsureBootstrapAdmin(ctx, st, BootstrapAdmin, pw); err != nil {
				return nil, err
			}
			break
		}
	}
	a := &admin.Admins{
		Store: st, Auth: cfg.AdminGUIAuth, EnforceRBAC: cfg.EnforceRBAC, GUIPath: cfg.AdminGUIPath,
		InvitationExpiry: time.Duration(cfg.AdminInvitationExpiry) * time.Second,
		UserHeader:       cfg.AdminGUIAuthHeader, LoginAttempts: cfg.AdminGUIAuthLoginAttempts, Logger: log,
	}
	if len(cfg.AdminGUIURL) > 0 {
		a.GUIURL = cfg.AdminGUIURL[0]
	}
	if cfg.AdminGUIAuth == "" {
		return a, nil
	}
	sc, _ := cfg.AdminGUISession()
	m, err := session.New(sc, session.AudienceAdmin, session.StoreStorage{Store: st})
	if err != nil {
		return nil, fmt.Errorf("admin_gui_session_conf: %w", err)
	}
	a.Sessions = m
	return a, nil
}
