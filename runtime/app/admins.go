package app

import (
	"fmt"
	"log/slog"
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
func adminsFor(cfg *config.Config, st *store.Store, log *slog.Logger) (*admin.Admins, error) {
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
