package app

import (
	"net"
	"strconv"

	"github.com/gatehouse/gatehouse/runtime/config"
	"github.com/gatehouse/gatehouse/runtime/manager"
	"github.com/gatehouse/gatehouse/runtime/portal"
	"github.com/gatehouse/gatehouse/runtime/portalapi"
	"github.com/gofiber/fiber/v2"
)

// listenGroup is the application served on one kind of listener. When
// app is nil, build makes it once the groups before it are listening.
type listenGroup struct {
	kind  string
	app   *fiber.App
	build func() *fiber.App
}

// guiListeners are Kong Manager's (admin_gui_listen) and, with portal =
// on, the Developer Portal's (portal_gui_listen) and the portal API's
// (portal_api_listen). As in Kong, Kong Manager is served only when the
// Admin API listens somewhere: it does everything through it.
func (n *Node) guiListeners() []listenGroup {
	cfg := n.cfg
	var out []listenGroup
	if len(cfg.AdminGUIListen) > 0 {
		if len(cfg.AdminListen) == 0 {
			n.log.Warn("Kong Manager won't be functional because the Admin API is not listened on any interface")
		} else {
			if cfg.AdminGUIAuth != "" && !cfg.EnforceRBAC {
				n.log.Warn("admin_gui_auth is set but enforce_rbac is off: signed-in admins are not limited by their roles")
			}
			out = append(out, listenGroup{kind: config.KindAdminGUI, build: func() *fiber.App {
				return n.secure(manager.App(manager.Options{
					AdminAPIURL:  cfg.AdminGUIAPIURL,
					AdminAPIPort: n.adminPort(),
					Path:         cfg.AdminGUIPath,
					Auth:         cfg.AdminGUIAuth,
					Version:      Version,
				}))
			}})
		}
	}
	if cfg.Portal {
		out = append(out,
			listenGroup{kind: config.KindPortalAPI, build: func() *fiber.App {
				var origins []string
				if cfg.PortalGUIHost != "" {
					proto := cfg.PortalGUIProtocol
					if proto == "" {
						proto = "http"
					}
					origins = []string{proto + "://" + cfg.PortalGUIHost}
				}
				return n.secure(portalapi.App(portalapi.Options{Store: n.store, Auth: cfg.PortalAuth,
					SessionConf: cfg.PortalSessionConf, CORSOrigins: origins, Log: n.log}))
			}},
			// After the portal API: the portal's pages call its bound port
			// when portal_api_url is not set.
			listenGroup{kind: config.KindPortalGUI, build: func() *fiber.App {
				kind := config.KindPortalAPI
				if len(cfg.PortalAPIListen) > 0 && cfg.PortalAPIListen[0].SSL {
					kind += "_ssl"
				}
				_, port, _ := net.SplitHostPort(n.Addr(kind))
				apiPort, _ := strconv.Atoi(port)
				return n.secure(portal.App(portal.Options{Host: cfg.PortalGUIHost, Version: Version,
					APIURL: cfg.PortalAPIURL, APIPort: apiPort}))
			}})
	}
	return out
}

// secure keeps raw requests (cookies, credentials) out of the server's
// error logs, as for the other listeners, and bounds slow and idle
// clients of these public listeners (0.0.0.0 by default) by
// nginx_http_client_header_timeout and nginx_http_keepalive_timeout when
// the application sets no limit of its own.
func (n *Node) secure(a *fiber.App) *fiber.App {
	s := a.Server()
	s.SecureErrorLogMessage = true
	if s.ReadTimeout <= 0 {
		s.ReadTimeout = n.cfg.ClientHeaderTimeout()
	}
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = n.cfg.KeepaliveTimeout()
	}
	return a
}

// adminPort is the bound port of the first admin_listen entry: where
// Kong Manager sends Admin API calls when admin_gui_api_url is not set.
func (n *Node) adminPort() int {
	kind := config.KindAdmin
	if len(n.cfg.AdminListen) > 0 && n.cfg.AdminListen[0].SSL {
		kind += "_ssl"
	}
	_, port, err := net.SplitHostPort(n.Addr(kind))
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(port)
	return p
}

// listenerKinds orders the listener names of the start-up log.
var listenerKinds = []string{config.KindProxy, config.KindAdmin, config.KindStatus,
	config.KindAdminGUI, config.KindPortalGUI, config.KindPortalAPI}

// logStarted logs the start-up line with every bound listener: "admin"
// and "proxy" always (empty when off), the others when open, their TLS
// listeners under NAME_ssl.
func (n *Node) logStarted() {
	args := []any{"version", Version, "database", n.store.Backend().Name()}
	for _, k := range listenerKinds {
		for _, name := range []string{k, k + "_ssl"} {
			if a := n.addrs[name]; len(a) > 0 || name == config.KindAdmin || name == config.KindProxy {
				args = append(args, name, a)
			}
		}
	}
	n.log.Info("gatehouse started", args...)
}
