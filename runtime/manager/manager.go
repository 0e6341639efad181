// Package manager serves Kong Manager, the administration GUI, on the
// admin_gui_listen listeners (:8002, :8445 ssl). The GUI runs in the
// browser and does everything through the Admin API with the signed-in
// admin's credentials: it holds no privileged path of its own.
//
// The front end is hand-written HTML, CSS and JavaScript (ES modules)
// embedded with go:embed: no Node at build or run time, no CDN. The page
// learns where the Admin API is from /kconfig.js, as Kong Manager does.
package manager

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"

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

// basePath normalises admin_gui_path: "" and "/" are the root, anything
// else gets a leading slash and loses its trailing one.
func basePath(p string) string {
	p = strings.TrimRight(strings.TrimSpace(p), "/")
	if p == "" {
		return ""
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

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

// contentTypes are the types of the files the GUI ships; anything else is
// not served.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".ico":  "image/x-icon",
}

// App returns the Fiber application that serves the GUI.
func App(o Options) *fiber.App {
	a := fiber.New(fiber.Config{DisableStartupMessage: true})
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		// The embedded tree is fixed at build time: this cannot fail.
		panic(fmt.Errorf("manager: embedded assets: %w", err))
	}
	index, err := fs.ReadFile(static, "index.html")
	if err != nil {
		panic(fmt.Errorf("manager: embedded index.html: %w", err))
	}
	cfg := o.Config()
	kconfig, err := kconfigJS(cfg)
	if err != nil {
		panic(fmt.Errorf("manager: kconfig.js: %w", err))
	}
	base := basePath(o.Path)
	csp := contentSecurityPolicy(cfg.AdminAPIURL)
	// The shell is also served at nested paths (/account/reset-password):
	// its stylesheet and scripts are named from the GUI's root, not
	// relative to the page.
	index = rootedAssets(index, base)

	a.Use(func(c *fiber.Ctx) error {
		c.Set("X-Content-Type-Options", "nosniff")
		c.Set("X-Frame-Options", "DENY")
		c.Set("Referrer-Policy", "no-referrer")
		c.Set("Content-Security-Policy", csp)
		return c.Next()
	})
	a.Get("/*", func(c *fiber.Ctx) error {
		p := c.Path()
		if base != "" {
			if p == base {
				return c.Redirect(base+"/", fiber.StatusMovedPermanently)
			}
			if !strings.HasPrefix(p, base+"/") {
				return c.SendStatus(fiber.StatusNotFound)
			}
			p = strings.TrimPrefix(p, base)
		}
		name := strings.TrimPrefix(path.Clean("/"+p), "/")
		switch {
		case name == "" || name == "index.html" || shellPages[name]:
			// The shell; /register is the page an invited admin's
			// register_url opens (<admin_gui_url>/register?email=&
			// username=&token=), /account/reset-password (and /reset)
			// the password reset link's, /forgot-password the reset
			// request's: the shell renders them from location.pathname,
			// so their query string must survive (no redirect).
			c.Set(fiber.HeaderCacheControl, "no-cache")
			c.Set(fiber.HeaderContentType, contentTypes[".html"])
			return c.Send(index)
		case name == "kconfig.js":
			c.Set(fiber.HeaderCacheControl, "no-store")
			c.Set(fiber.HeaderContentType, contentTypes[".js"])
			return c.Send(kconfig)
		}
		if path.Ext(name) == "" {
			// Kong Manager's own page paths (/services,
			// /default/portal/permissions/, as the training's Referer
			// headers show) land on the same view here, a hash route.
			return c.Redirect(base+"/#/"+name, fiber.StatusFound)
		}
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			return c.SendStatus(fiber.StatusNotFound)
		}
		data, err := fs.ReadFile(static, name)
		if err != nil {
			return c.SendStatus(fiber.StatusNotFound)
		}
		c.Set(fiber.HeaderCacheControl, "no-cache")
		c.Set(fiber.HeaderContentType, ct)
		return c.Send(data)
	})
	a.All("/*", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderAllow, "GET, HEAD")
		return c.SendStatus(fiber.StatusMethodNotAllowed)
	})
	return a
}

// shellPages are the page paths the shell renders from location.pathname.
var shellPages = map[string]bool{
	"register": true, "forgot-password": true, "reset": true, "account/reset-password": true,
}

// rootedAssets rewrites the shell's relative asset references (app.css,
// kconfig.js, js/main.js) to absolute paths under base.
func rootedAssets(index []byte, base string) []byte {
	out := string(index)
	for _, ref := range []string{"app.css", "kconfig.js", "js/main.js"} {
		out = strings.ReplaceAll(out, `"`+ref+`"`, `"`+base+"/"+ref+`"`)
	}
	return []byte(out)
}

// kconfigJS renders /kconfig.js: window.K_CONFIG as a JSON literal
// (json.Marshal escapes <, > and & so no value can close the script).
func kconfigJS(cfg Config) ([]byte, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return []byte("window.K_CONFIG = Object.freeze(" + string(b) + ");\n"), nil
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
