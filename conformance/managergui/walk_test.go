// Package managergui_test walks Kong Manager in a real browser: a real
// node on 127.0.0.1, the GUI served beside it, headless Debian Chromium
// driven with chromedp. Everything is done by filling the forms the GUI
// generates from the Admin API's schemas, and checked through the proxy
// with real HTTP.
package managergui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/manager"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
)

// findChromium returns Debian's chromium, installing it with apt-get (as
// .ci/services installs PostgreSQL and Redis) when it is missing and the
// test runs as root on a Debian machine.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := exec.LookPath("apt-get"); err != nil || os.Geteuid() != 0 {
		t.Skip("chromium is missing and cannot be installed here (apt-get install chromium); the browser walk needs it")
	}
	t.Log("installing chromium with apt-get")
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "chromium"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("apt-get %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium installed but not found: %v", err)
	}
	return p
}

// artifactDir is where screenshots of a failed walk are kept:
// $GATEHOUSE_ARTIFACTS, else build/artifacts at the repository's root.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("GATEHOUSE_ARTIFACTS"); d != "" {
		return filepath.Join(d, "managergui", t.Name())
	}
	return filepath.Join("..", "..", "build", "artifacts", "managergui", t.Name())
}

// stepTimeout bounds one step of a walk.
const stepTimeout = 45 * time.Second

// walk is one browser session against one node and its GUI.
type walk struct {
	t *testing.T
	// ctx is the browser's context: each step gets its own deadline from
	// it, so a failed step still leaves time for its screenshot.
	ctx   context.Context
	gui   string // http://127.0.0.1:port/
	proxy string
	// upstream is the host:port of the server the routes proxy to.
	upstream string
	admin    string // http://127.0.0.1:port of the Admin API
	token    string // Kong-Admin-Token of the test's own Admin API calls
	shots    []shot
	client   *http.Client
	node     *app.Node // the node under test (its listeners' addresses)
}

type shot struct {
	name string
	png  []byte
}

// serveGUI serves manager.App on 127.0.0.1, port 0, until the test ends.
func serveGUI(t *testing.T, o manager.Options) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := manager.App(o)
	done := make(chan error, 1)
	go func() { done <- a.Listener(ln) }()
	t.Cleanup(func() {
		if err := a.Shutdown(); err != nil {
			t.Errorf("gui shutdown: %v", err)
		}
		<-done
	})
	return "http://" + ln.Addr().String()
}

func newWalk(t *testing.T) *walk {
	return newWalkWith(t, nil, app.Options{})
}

// newWalkWith is newWalk on a node with these settings and options (Lua
// or Wasm plugin providers).
func newWalkWith(t *testing.T, settings map[string]string, opts app.Options) *walk {
	chrome := findChromium(t)
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
	_, portStr, err := net.SplitHostPort(admin)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(portStr)
	// AdminAPIURL left empty: the page computes http://127.0.0.1:<port>
	// from its own host, as Kong Manager does by default, and calls the
	// Admin API cross-origin (the Admin API answers CORS).
	gui := serveGUI(t, manager.Options{AdminAPIPort: port, Version: "test"})

	flags := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox,
		chromedp.Flag("headless", "new"),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), flags...)
	bctx, cancelC := chromedp.NewContext(actx)
	w := &walk{t: t, ctx: bctx, gui: gui, proxy: "http://" + n.Addr("proxy"), admin: "http://" + admin, upstream: strings.TrimPrefix(up.URL, "http://"), client: &http.Client{Timeout: 10 * time.Second}, node: n}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("GATEHOUSE_SCREENSHOTS") != "" {
			w.saveShots()
		}
		cancelC()
		cancelA()
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium %s: %v", chrome, err)
	}
	return w
}

// step runs browser actions, then screenshots the page (kept in memory,
// written out if the test fails). A failed step fails the test now.
func (w *walk) step(name string, actions ...chromedp.Action[chromedp.Void]) {
	w.t.Helper()
	// The browser starts on a context without a deadline (chromedp's
	// rule); a step has one, generous for a loaded 2-core machine running
	// -race.
	ctx, cancelStep := context.WithTimeout(w.ctx, stepTimeout)
	err := chromedp.Do(ctx, actions...)
	cancelStep()
	sctx, cancel := context.WithTimeout(w.ctx, 20*time.Second)
	if png, serr := chromedp.Run(sctx, chromedp.FullScreenshot(100)); serr == nil {
		w.shots = append(w.shots, shot{name: name, png: png})
	}
	cancel()
	if err != nil {
		tctx, cancel := context.WithTimeout(w.ctx, 10*time.Second)
		body, _ := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("main"), chromedp.AtLeast(0)))
		cancel()
		w.t.Fatalf("step %q: %v\npage says: %s", name, err, body)
	}
}

func (w *walk) saveShots() {
	dir := artifactDir(w.t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		w.t.Logf("screenshots: %v", err)
		return
	}
	for i, s := range w.shots {
		f := filepath.Join(dir, fmt.Sprintf("%02d-%s.png", i+1, regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(s.name), "-")))
		if err := os.WriteFile(f, s.png, 0o644); err != nil {
			w.t.Logf("screenshot %s: %v", f, err)
		}
	}
	w.t.Logf("screenshots of %d steps in %s", len(w.shots), dir)
}

// open navigates to a GUI page and waits until it has rendered.
func (w *walk) open(hash string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(w.gui+"/"+hash),
		w.ready(hash),
	)
}

// ready waits until the page has rendered the route hash (main's
// data-ready attribute is set after every render).
func (w *walk) ready(hash string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`main[data-ready=%q]`, hash)))
}

// readyPrefix waits for a route that starts with prefix and returns it.
func (w *walk) readyPrefix(prefix string, got *string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for {
			attr, err := chromedp.AttributeValue(chromedp.CSS("main"), "data-ready")(ctx, tg)
			if err != nil {
				return err
			}
			v := attr.Value
			if attr.Exists && strings.HasPrefix(v, prefix) && v != prefix+"new" && !strings.HasSuffix(v, "/new") {
				*got = v
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for a page under %s (at %q): %w", prefix, v, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// fill types into the generated field named name (the field's dotted
// path in the entity), after clearing it.
func fill(name, value string) chromedp.Action[chromedp.Void] {
	sel := chromedp.CSS(fmt.Sprintf(`main [name=%q]`, name))
	return chromedp.Steps(
		chromedp.WaitVisible(sel),
		into(chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = ''; return true })()`, string(sel))), new(bool)),
		chromedp.SendKeys(sel, value),
	)
}

// submit presses the form's submit button.
func submit() chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(`main form[aria-label] button[type="submit"]`))
}

// expectText waits until the element sel contains want.
func expectText(sel, want string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for {
			got, err := chromedp.Text(chromedp.CSS(sel), chromedp.AtLeast(0))(ctx, tg)
			if err == nil && strings.Contains(got, want) {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s: want text %q, have %q: %w", sel, want, got, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// unlabelled counts form controls in main without an accessible label.
const unlabelled = `Array.from(document.querySelectorAll('main input, main select, main textarea'))
  .filter(e => e.type !== 'hidden' && e.labels.length === 0 && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
  .map(e => e.name || e.id)`

func (w *walk) expectLabelled(page string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		missing, err := chromedp.Evaluate[[]string](unlabelled)(ctx, tg)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			return fmt.Errorf("%s: controls without a label: %v", page, missing)
		}
		return nil
	})
}

// proxyStatus polls the proxy until path answers want (the node applies
// configuration changes asynchronously) and returns the last body.
func (w *walk) proxyStatus(path string, header http.Header, want int) string {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for {
		req, _ := http.NewRequest(http.MethodGet, w.proxy+path, nil)
		for k, v := range header {
			req.Header[k] = v
		}
		res, err := w.client.Do(req)
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			last = fmt.Sprintf("%d %s", res.StatusCode, b)
			if res.StatusCode == want {
				return string(b)
			}
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("GET %s: want %d, last answer %s", path, want, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// into runs a, keeping its value in p.
func into[T any](a chromedp.Action[T], p *T) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		v, err := a(ctx, tg)
		*p = v
		return err
	})
}

func idFromRoute(route string) string {
	parts := strings.Split(strings.TrimPrefix(route, "#/"), "/")
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}

// api calls the Admin API directly (setting up and checking what the GUI
// did) and decodes the JSON answer into out when out is not nil.
func (w *walk) api(method, path string, body any, out any) int {
	w.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			w.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, w.admin+path, r)
	if err != nil {
		w.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if w.token != "" {
		req.Header.Set("Kong-Admin-Token", w.token)
	}
	res, err := w.client.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			w.t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
	return res.StatusCode
}

// mustAPI is api that fails the test unless the status is want.
func (w *walk) mustAPI(want int, method, path string, body any, out any) {
	w.t.Helper()
	var raw json.RawMessage
	if got := w.api(method, path, body, &raw); got != want {
		w.t.Fatalf("%s %s: status %d, want %d: %s", method, path, got, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			w.t.Fatal(err)
		}
	}
}

// upstreamHost and upstreamPort split the upstream server's address.
func (w *walk) upstreamHost() string {
	h, _, _ := net.SplitHostPort(w.upstream)
	return h
}

func (w *walk) upstreamPort() int {
	_, p, _ := net.SplitHostPort(w.upstream)
	n, _ := strconv.Atoi(p)
	return n
}

// keep writes the last step's screenshot to runtime/manager/screenshots
// as name.png when GATEHOUSE_SCREENSHOTS is set: the README's pictures
// are made by the tests.
func (w *walk) keep(name string) {
	w.t.Helper()
	if os.Getenv("GATEHOUSE_SCREENSHOTS") == "" || len(w.shots) == 0 {
		return
	}
	dir := filepath.Join("..", "..", "runtime", "manager", "screenshots")
	if err := os.WriteFile(filepath.Join(dir, name+".png"), w.shots[len(w.shots)-1].png, 0o644); err != nil {
		w.t.Errorf("screenshot %s: %v", name, err)
	}
}
