// Package portal serves the Developer Portal's GUI on portal_gui_listen
// (:8003, :8446 ssl): the catalogue of published specs rendered with
// Swagger UI, developer sign-up and sign-in, and "My Apps" with their
// OAuth2 credentials.
//
// The page runs in the browser and talks only to the portal API
// (runtime/portalapi, portal_api_listen :8004) with the developer's session
// cookie (fetch with credentials: "include"). The GUI server serves static
// files and /kconfig.js, answers only GET and HEAD, and never reads the
// store. The front end is hand-written HTML, CSS and ES modules embedded
// with go:embed, plus the vendored swagger-ui-dist bundle (see
// vendor-swagger-ui.sh): no Node at build or run time, no CDN.
package portal

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

// DefaultWorkspace is the workspace the page calls when Options names
// none.
const DefaultWorkspace = "default"

// Options configures the portal from the node's settings.
type Options struct {
	// Host is portal_gui_host, the host developers reach the portal on.
	Host string
	// Version is Gatehouse's version.
	Version string
	// APIURL is portal_api_url, where the browser sends portal API calls;
	// empty means the page's own host on APIPort.
	APIURL string
	// APIPort is the first portal_api_listen listener's bound port, used
	// when APIURL is empty.
	APIPort int
	// Workspace prefixes every portal API path (/<workspace>/files);
	// empty means "default".
	Workspace string
}

// Config is what /kconfig.js hands the page (window.K_CONFIG).
type Config struct {
	PortalAPIURL  string `json:"PORTAL_API_URL"`
	PortalAPIPort int    `json:"PORTAL_API_PORT"`
	PortalGUIHost string `json:"PORTAL_GUI_HOST"`
	Workspace     string `json:"WORKSPACE"`
	KongVersion   string `json:"KONG_VERSION"`
}

// Config returns the settings the page receives.
func (o Options) Config() Config {
	ws := strings.Trim(strings.TrimSpace(o.Workspace), "/")
	if ws == "" {
		ws = DefaultWorkspace
	}
	return Config{
		PortalAPIURL:  strings.TrimRight(strings.TrimSpace(o.APIURL), "/"),
		PortalAPIPort: o.APIPort,
		PortalGUIHost: o.Host,
		Workspace:     ws,
		KongVersion:   o.Version,
	}
}

// contentTypes are the types of the files the portal ships; anything else
// is not served.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".txt":  "text/plain; charset=utf-8",
}

// vendorDir holds the vendored renderer; its extension-less files
// (LICENSE, NOTICE, VERSION) are served as text, not as the shell.
const vendorDir = "vendor/swagger-ui/"

// App returns the Fiber application that serves the portal GUI.
func App(o Options) *fiber.App {
	a := fiber.New(fiber.Config{DisableStartupMessage: true})
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		// The embedded tree is fixed at build time: this cannot fail.
		panic(fmt.Errorf("portal: embedded assets: %w", err))
	}
	index, err := fs.ReadFile(static, "index.html")
	if err != nil {
		panic(fmt.Errorf("portal: embedded index.html: %w", err))
	}
	cfg := o.Config()
	kconfig, err := kconfigJS(cfg)
	if err != nil {
		panic(fmt.Errorf("portal: kconfig.js: %w", err))
	}

	a.Use(func(c *fiber.Ctx) error {
		c.Set("X-Content-Type-Options", "nosniff")
		c.Set("X-Frame-Options", "DENY")
		c.Set("Referrer-Policy", "no-referrer")
		c.Set("Content-Security-Policy", ContentSecurityPolicy)
		return c.Next()
	})
	a.Get("/*", func(c *fiber.Ctx) error {
		name := strings.TrimPrefix(path.Clean("/"+c.Path()), "/")
		switch {
		case name == "" || name == "index.html":
			return sendShell(c, index)
		case name == "kconfig.js":
			c.Set(fiber.HeaderCacheControl, "no-store")
			c.Set(fiber.HeaderContentType, contentTypes[".js"])
			return c.Send(kconfig)
		}
		ct, ok := contentTypes[path.Ext(name)]
		if path.Ext(name) == "" {
			if !strings.HasPrefix(name, vendorDir) {
				// Page paths (/register, /login, /apps, /documentation/x)
				// are the shell; the page routes on location.
				return sendShell(c, index)
			}
			ct, ok = contentTypes[".txt"], true
		}
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

// sendShell answers with the single page.
func sendShell(c *fiber.Ctx, index []byte) error {
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderContentType, contentTypes[".html"])
	return c.Send(index)
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

// ContentSecurityPolicy is the policy of every answer. Scripts and styles
// come only from the portal itself (the vendored Swagger UI included).
// connect-src is wider than the manager's: Swagger UI's "Try it out"
// sends the request from the browser straight to the host or servers the
// spec names, which can be any origin (the training's §8.4 CORS exercise
// needs exactly that request), so any http(s) origin is allowed. img-src
// allows data: URIs, which swagger-ui.css uses for its icons.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self' http: https:; frame-ancestors 'none'; base-uri 'self'; form-action 'none'; object-src 'none'"
