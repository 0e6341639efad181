// Package manager serves Kong Manager, the administration GUI, on the
// admin_gui_listen listeners (:8002, :8445 ssl). The GUI runs in the
// browser and does everything through the Admin API with the signed-in
// admin's credentials: it holds no privileged path of its own.
//
// The front end is hand-written HTML, CSS and JavaScript (ES modules)
// embedded with go:embed and served by runtime/webui, with the modules it
// shares with the Developer Portal: no Node at build or run time, no CDN. The page
// learns where the Admin API is from /kconfig.js, as Kong Manager does.
package manager

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"

	"github.com/gatehouse/gatehouse/runtime/webui"
	"github.com/gofiber/fiber/v2"
)

//go:embed assets
var assets embed.FS

// Options configures the GUI from the node's settings.
type Options struct {
	// AdminAPIURL is where the browser sends Admin API calls
	// (admin_gui_api_url); empty means the page's own host on the first
	// admin listener's port.
	AdminAPIURL string
	// AdminAPIPort is the first admin listener's port, used when
	// AdminAPIURL is empty.
	AdminAPIPort int
	// Path is the path the GUI is served under (admin_gui_path, "/").
	Path string
	// Auth is admin_gui_auth: "" (no sign-in) or "basic-auth".
	Auth string
	// Version is Gatehouse's version, shown in the GUI.
	Version string
}

// Config is what /kconfig.js hands the page (window.K_CONFIG), with Kong
// Manager's key names.
type Config struct {
	AdminAPIURL  string `json:"ADMIN_API_URL"`
	AdminAPIPort int    `json:"ADMIN_API_PORT"`
	AdminGUIPath string `json:"ADMIN_GUI_PATH"`
	AdminGUIAuth string `json:"ADMIN_GUI_AUTH"`
	KongVersion  string `json:"KONG_VERSION"`
}

// basePath normalises admin_gui_path (see webui.BasePath).
func basePath(p string) string { return webui.BasePath(p) }

// Config returns the settings the page receives.
func (o Options) Config() Config {
	p := basePath(o.Path)
	if p == "" {
		p = "/"
	}
	return Config{
		AdminAPIURL:  strings.TrimRight(o.AdminAPIURL, "/"),
		AdminAPIPort: o.AdminAPIPort,
		AdminGUIPath: p,
		AdminGUIAuth: o.Auth,
		KongVersion:  o.Version,
	}
}

// App returns the Fiber application that serves the GUI.
func App(o Options) *fiber.App {
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		// The embedded tree is fixed at build time: this cannot fail.
		panic(fmt.Errorf("manager: embedded assets: %w", err))
	}
	cfg := o.Config()
	a, err := webui.New(webui.Site{
		Name:  "manager",
		Title: "Kong Manager · Gatehouse",
		Files: static,
		// Config holds only strings and an int: it always encodes.
		Config: cfg,
		CSP:    contentSecurityPolicy(cfg.AdminAPIURL),
		Path:   o.Path,
		// /register is the page an invited admin's register_url opens
		// (<admin_gui_url>/register?email=&username=&token=),
		// /account/reset-password (and /reset) the password reset link's,
		// /forgot-password the reset request's: the shell renders them
		// from location.pathname, so their query string must survive.
		// Kong Manager's other page paths (/services,
		// /default/portal/permissions/) are redirected to their hash route.
		Pages: func(name string) bool { return shellPages[name] },
	})
	if err != nil {
		// body.html is embedded and Config always encodes: a build defect.
		panic(fmt.Errorf("manager: %w", err))
	}
	return a
}

// shellPages are the page paths the shell renders from location.pathname.
var shellPages = map[string]bool{
	"register": true, "forgot-password": true, "reset": true, "account/reset-password": true,
}

// contentSecurityPolicy allows only the GUI's own files, and Admin API
// calls to the configured URL (or any origin when the page computes it from
// its own host: the port differs, so 'self' would not match).
func contentSecurityPolicy(adminURL string) string {
	connect := "*"
	if adminURL != "" && !strings.ContainsAny(adminURL, "; \t\r\n") {
		connect = "'self' " + adminURL
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src " + connect + "; frame-ancestors 'none'; base-uri 'self'; form-action 'none'"
}
