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
// with go:embed and served by runtime/webui (with the modules it shares
// with Kong Manager), plus the vendored swagger-ui-dist bundle (see
// vendor-swagger-ui.sh): no Node at build or run time, no CDN.
package portal

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

// vendorDir holds the vendored renderer; its extension-less files
// (LICENSE, NOTICE, VERSION) are served as text, not as the shell.
const vendorDir = "vendor/swagger-ui/"

// App returns the Fiber application that serves the portal GUI. Every
// extension-less path (/register, /apps, /documentation/x) is the shell:
// the page routes on location.
func App(o Options) *fiber.App {
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		// The embedded tree is fixed at build time: this cannot fail.
		panic(fmt.Errorf("portal: embedded assets: %w", err))
	}
	a, err := webui.New(webui.Site{
		Name:     "portal",
		Title:    "Developer Portal · Gatehouse",
		Files:    static,
		Config:   o.Config(),
		CSP:      ContentSecurityPolicy,
		TextDirs: []string{vendorDir},
	})
	if err != nil {
		// body.html is embedded and Config always encodes: a build defect.
		panic(fmt.Errorf("portal: %w", err))
	}
	return a
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
