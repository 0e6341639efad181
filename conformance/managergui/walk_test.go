// Package managergui_test walks Kong Manager in a real browser: a real
// node on 127.0.0.1, the GUI served beside it, headless Debian Chromium
// driven with chromedp. Everything is done by filling the forms the GUI
// generates from the Admin API's schemas, and checked through the proxy
// with real HTTP.
package managergui_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/conformance/browser"
	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/manager"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
)

// managerShots is where the README's screenshots go with
// GATEHOUSE_SCREENSHOTS=1 (relative to the repository's root).
const managerShots = "runtime/manager/screenshots"

// walk is one browser session (conformance/browser) against one node and
// its GUI.
type walk struct {
	*browser.Browser
	t     *testing.T
	gui   string // http://127.0.0.1:port/
	proxy string
	// upstream is the host:port of the server the routes proxy to.
	upstream string
	admin    string // http://127.0.0.1:port of the Admin API
	token    string // Kong-Admin-Token of the test's own Admin API calls
	// http sends the test's own calls: paths go to the Admin API, full
	// URLs anywhere.
	http *browser.Client
	node *app.Node // the node under test (its listeners' addresses)
}

func newWalk(t *testing.T) *walk {
	return newWalkWith(t, nil, app.Options{})
}

// newWalkWith is newWalk on a node with these settings and options (Lua
// or Wasm plugin providers).
func newWalkWith(t *testing.T, settings map[string]string, opts app.Options) *walk {
	b := browser.Start(t, "managergui")
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "upstream saw %s %s", r.Method, r.URL.Path)
		// Headers a plugin set for the tests to see: X-Gui-*.
		var names []string
		for k := range r.Header {
			if strings.HasPrefix(k, "X-Gui-") {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(w, " %s=%s", k, r.Header.Get(k))
		}
	}))
	t.Cleanup(up.Close)
	n := testnode.StartWith(t, settings, opts)
	admin := n.Addr("admin")
	// AdminAPIURL left empty: the page computes http://127.0.0.1:<port>
	// from its own host, as Kong Manager does by default, and calls the
	// Admin API cross-origin (the Admin API answers CORS).
	gui := browser.Serve(t, manager.App(manager.Options{AdminAPIPort: browser.Port(t, admin), Version: "test"}))
	return &walk{Browser: b, t: t, gui: gui, proxy: "http://" + n.Addr("proxy"), admin: "http://" + admin,
		upstream: strings.TrimPrefix(up.URL, "http://"), http: browser.NewClient(t, "http://"+admin), node: n}
}

// open navigates to a GUI page and waits until it has rendered.
func (w *walk) open(hash string) chromedp.Action[chromedp.Void] {
	return browser.Open(w.gui, hash)
}

// submit presses the form's submit button.
func submit() chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(`main form[aria-label] button[type="submit"]`))
}

// proxyStatus polls the proxy until path answers want (the node applies
// configuration changes asynchronously) and returns the body.
func (w *walk) proxyStatus(path string, header http.Header, want int) string {
	w.t.Helper()
	h := map[string]string{}
	for k, v := range header {
		h[k] = strings.Join(v, ", ")
	}
	return string(w.http.WaitStatus(w.proxy+path, h, want).Body)
}

// call sends one Admin API call with w.token if set.
func (w *walk) call(method, path string, body any) browser.Answer {
	w.t.Helper()
	var h map[string]string
	if w.token != "" {
		h = map[string]string{"Kong-Admin-Token": w.token}
	}
	return w.http.Do(method, path, body, h)
}

// api calls the Admin API directly (setting up and checking what the GUI
// did), with w.token if set, and decodes the JSON answer into out when
// out is not nil.
func (w *walk) api(method, path string, body any, out any) int {
	w.t.Helper()
	a := w.call(method, path, body)
	if out != nil && len(a.Body) > 0 {
		a.Decode(w.t, out)
	}
	return a.Status
}

// mustAPI is api that fails the test unless the status is want.
func (w *walk) mustAPI(want int, method, path string, body any, out any) {
	w.t.Helper()
	a := w.call(method, path, body)
	if a.Status != want {
		w.t.Fatalf("%s %s: status %d, want %d: %s", method, path, a.Status, want, a.Body)
	}
	if out != nil {
		a.Decode(w.t, out)
	}
}

// upstreamHost and upstreamPort split the upstream server's address.
func (w *walk) upstreamHost() string {
	h, _, _ := net.SplitHostPort(w.upstream)
	return h
}

func (w *walk) upstreamPort() int { return browser.Port(w.t, w.upstream) }

// keep writes the last step's screenshot to runtime/manager/screenshots
// as name.png when GATEHOUSE_SCREENSHOTS is set: the README's pictures
// are made by the tests.
func (w *walk) keep(name string) { w.Keep(managerShots, name+".png") }
