// Package portalgui_test walks the Developer Portal GUI (runtime/portal)
// in a real browser: a real node on 127.0.0.1 with the portal GUI and the
// portal API on their own listeners, headless Debian Chromium driven with
// chromedp (conformance/browser), the administrator's side through the
// Admin API over HTTP or through Kong Manager's pages.
package portalgui_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/conformance/browser"
	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/runtime/app"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
)

// portalShots is where the README's screenshots go with
// GATEHOUSE_SCREENSHOTS=1 (relative to the repository's root).
const portalShots = "runtime/portal/screenshots"

// walk is one browser session against one node's portal; its first tab
// (embedded) is the developer's.
type walk struct {
	*browser.Browser
	t        *testing.T
	node     *app.Node
	gui      string // http://127.0.0.1:port of the portal GUI
	portal   string // http://127.0.0.1:port of the portal API
	proxy    string // http://127.0.0.1:port
	proxyTLS string // https://127.0.0.1:port (the training's :8443)
	// api sends the test's own calls: paths go to the Admin API, full
	// URLs anywhere.
	api *browser.Client
}

// newWalk starts a node with the portal's listeners (and any extra
// settings) and a browser.
func newWalk(t *testing.T, extra map[string]string) *walk {
	b := browser.Start(t, "portalgui")
	guiAddr := browser.FreeAddr(t)
	settings := map[string]string{
		"proxy_listen": "127.0.0.1:0, 127.0.0.1:0 ssl", "portal": "on",
		"portal_api_listen": "127.0.0.1:0", "portal_gui_listen": guiAddr,
		// The origin the portal API allows with credentials (Kong's
		// portal_gui_protocol://portal_gui_host).
		"portal_gui_host": guiAddr, "portal_gui_protocol": "http",
	}
	for k, v := range extra {
		settings[k] = v
	}
	n := testnode.Start(t, settings)
	w := &walk{Browser: b, t: t, node: n, gui: "http://" + n.Addr("portal_gui"), portal: "http://" + n.Addr("portal_api"),
		proxy: "http://" + n.Addr("proxy"), proxyTLS: "https://" + n.Addr("proxy_ssl"),
		api: browser.NewClient(t, "http://"+n.Addr("admin"))}
	if w.gui != "http://"+guiAddr {
		t.Fatalf("portal GUI on %s, want %s", w.gui, guiAddr)
	}
	// The node hands the page the portal API's bound port (the GUI's
	// listener is built after the portal API's).
	apiPort := browser.Port(t, n.Addr("portal_api"))
	if kc := w.api.Do("GET", w.gui+"/kconfig.js", nil, nil); kc.Status != 200 ||
		!strings.Contains(string(kc.Body), fmt.Sprintf(`"PORTAL_API_PORT":%d,`, apiPort)) || !strings.Contains(string(kc.Body), `"PORTAL_GUI_HOST":"`+guiAddr+`"`) {
		t.Fatalf("kconfig.js: %d %s (portal API on port %d)", kc.Status, kc.Body, apiPort)
	}
	return w
}

// open loads a portal page afresh and waits until it has rendered.
func (w *walk) open(hash string) chromedp.Action[chromedp.Void] {
	return browser.OpenAfresh(w.gui, hash)
}

// submit presses the submit button of main's form labelled label.
func submit(label string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(fmt.Sprintf(`main form[aria-label=%q] button[type="submit"]`, label)))
}

// readme keeps the last screenshot as runtime/portal/screenshots/file.
func (w *walk) readme(file string) { w.Keep(portalShots, file) }
