// Package portalgui_test walks the Developer Portal GUI (runtime/portal)
// in a real browser: a real node on 127.0.0.1 with the portal GUI and the
// portal API on their own listeners, headless Debian Chromium driven with
// chromedp, the administrator's side through the Admin API over HTTP.
package portalgui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
)

// findChromium returns Debian's chromium, installing it with apt-get when
// it is missing and the test runs as root on a Debian machine (as
// conformance/managergui does).
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
		return filepath.Join(d, "portalgui", t.Name())
	}
	return filepath.Join("..", "..", "build", "artifacts", "portalgui", t.Name())
}

// readmeShots is where the README's screenshots go with
// GATEHOUSE_SCREENSHOTS=1.
const readmeShots = "../../runtime/portal/screenshots"

// stepTimeout bounds one step of a walk.
const stepTimeout = 45 * time.Second

// walk is one browser session against one node's portal.
type walk struct {
	t *testing.T
	// ctx is the browser's context: each step gets its own deadline from
	// it, so a failed step still leaves time for its screenshot.
	ctx      context.Context
	gui      string // http://127.0.0.1:port of the portal GUI
	portal   string // http://127.0.0.1:port of the portal API
	admin    string // http://127.0.0.1:port of the Admin API
	proxy    string // http://127.0.0.1:port
	proxyTLS string // https://127.0.0.1:port (the training's :8443)
	shots    []shot
	client   *http.Client
}

type shot struct {
	name string
	png  []byte
}

// freePort reserves a loopback port for the portal GUI: its origin must be
// known before the node starts, since portal_gui_host names the origin the
// portal API answers CORS for.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// newWalk starts a node with the portal's listeners and a browser.
func newWalk(t *testing.T) *walk {
	chrome := findChromium(t)
	guiAddr := freePort(t)
	n := testnode.Start(t, map[string]string{
		"proxy_listen": "127.0.0.1:0, 127.0.0.1:0 ssl", "portal": "on",
		"portal_api_listen": "127.0.0.1:0", "portal_gui_listen": guiAddr,
		// The origin the portal API allows with credentials (Kong's
		// portal_gui_protocol://portal_gui_host).
		"portal_gui_host": guiAddr, "portal_gui_protocol": "http",
	})
	flags := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox,
		chromedp.Flag("headless", "new"),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), flags...)
	bctx, cancelC := chromedp.NewContext(actx)
	tr := &http.Transport{MaxIdleConnsPerHost: 4, TLSClientConfig: insecureTLS()}
	w := &walk{t: t, ctx: bctx, gui: "http://" + n.Addr("portal_gui"), portal: "http://" + n.Addr("portal_api"),
		admin: "http://" + n.Addr("admin"), proxy: "http://" + n.Addr("proxy"), proxyTLS: "https://" + n.Addr("proxy_ssl"),
		client: &http.Client{Timeout: 10 * time.Second, Transport: tr}}
	if w.gui != "http://"+guiAddr {
		t.Fatalf("portal GUI on %s, want %s", w.gui, guiAddr)
	}
	// The node hands the page the portal API's bound port (the GUI's
	// listener is built after the portal API's).
	_, apiPort, _ := net.SplitHostPort(n.Addr("portal_api"))
	if kc := w.send("GET", w.gui+"/kconfig.js", nil, nil); kc.status != 200 ||
		!strings.Contains(string(kc.body), `"PORTAL_API_PORT":`+apiPort+`,`) || !strings.Contains(string(kc.body), `"PORTAL_GUI_HOST":"`+guiAddr+`"`) {
		t.Fatalf("kconfig.js: %d %s (portal API on port %s)", kc.status, kc.body, apiPort)
	}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("GATEHOUSE_SCREENSHOTS") != "" {
			w.saveShots()
		}
		cancelC()
		cancelA()
		tr.CloseIdleConnections()
	})
	if err := chromedp.Do(bctx, recordCSPViolations()); err != nil {
		t.Fatalf("start chromium %s: %v", chrome, err)
	}
	return w
}

// recordCSPViolations makes every page keep the Content-Security-Policy
// violations it reports in window.__csp, so a test sees what the policy
// blocked (Swagger UI's needs included).
func recordCSPViolations() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.__csp = []; document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`,
		})
		return chromedp.Void{}, err
	}
}

// cspViolations returns what the page's policy blocked so far.
func (w *walk) cspViolations(page string) {
	w.t.Helper()
	var v []string
	w.step("CSP violations on "+page, into(chromedp.Evaluate[[]string](`window.__csp || ['recorder missing']`), &v))
	if len(v) > 0 {
		w.t.Errorf("%s: the Content-Security-Policy blocked %v", page, v)
	}
}

// step runs browser actions, then screenshots the page (kept in memory,
// written out if the test fails). A failed step fails the test now.
func (w *walk) step(name string, actions ...chromedp.Action[chromedp.Void]) {
	w.t.Helper()
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
		w.t.Fatalf("step %q: %v\npage says: %.2000s", name, err, body)
	}
}

// readme writes the last step's screenshot into runtime/portal/screenshots
// when GATEHOUSE_SCREENSHOTS is set.
func (w *walk) readme(file string) {
	w.t.Helper()
	if os.Getenv("GATEHOUSE_SCREENSHOTS") == "" || len(w.shots) == 0 {
		return
	}
	if err := os.MkdirAll(readmeShots, 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(readmeShots, file), w.shots[len(w.shots)-1].png, 0o644); err != nil {
		w.t.Fatal(err)
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

// open loads a portal page afresh and waits until it has rendered (by way
// of about:blank: a navigation that changes only the hash would not
// reload the page).
func (w *walk) open(hash string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate("about:blank"),
		chromedp.Navigate(w.gui+"/"+hash),
		ready(hash),
	)
}

// ready waits until the page has rendered the route hash (main's
// data-ready attribute is set after every render).
func ready(hash string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`main[data-ready=%q]`, hash)))
}

// readyPrefix waits for a route that starts with prefix and returns it.
func readyPrefix(prefix string, got *string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for {
			attr, err := chromedp.AttributeValue(chromedp.CSS("main"), "data-ready")(ctx, tg)
			if err != nil {
				return err
			}
			if attr.Exists && strings.HasPrefix(attr.Value, prefix) && len(attr.Value) > len(prefix) {
				*got = attr.Value
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for a page under %s (at %q): %w", prefix, attr.Value, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// fill types into main's control named name, after clearing it.
func fill(name, value string) chromedp.Action[chromedp.Void] {
	sel := fmt.Sprintf(`main [name=%q]`, name)
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS(sel)),
		into(chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = ''; return true })()`, sel)), new(bool)),
		chromedp.SendKeys(chromedp.CSS(sel), value),
	)
}

// submit presses the submit button of main's form labelled label.
func submit(label string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(fmt.Sprintf(`main form[aria-label=%q] button[type="submit"]`, label)))
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

// into runs a, keeping its value in p.
func into[T any](a chromedp.Action[T], p *T) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		v, err := a(ctx, tg)
		*p = v
		return err
	})
}

// unlabelled lists form controls on the page without an accessible label.
const unlabelled = `Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(e => e.type !== 'hidden' && e.offsetParent !== null && e.labels.length === 0 && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby') && !e.getAttribute('title'))
  .map(e => e.name || e.id || e.outerHTML.slice(0, 60))`

// lowContrast lists visible text whose colour against its effective
// background is under WCAG AA's 4.5:1 (normal text); the helper of
// conformance/managergui's a11y test.
const lowContrast = `(() => {
  const rgb = (s) => { const m = s.match(/rgba?\(([^)]+)\)/); if (!m) return null; const p = m[1].split(',').map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const bg = (el) => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c && c.a > 0) return c; } return { r: 255, g: 255, b: 255, a: 1 }; };
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el || !el.offsetParent && el !== document.body) continue;
    if (el.closest('[hidden]') || el.closest('noscript') || el.closest('option')) continue;
    const fg = rgb(getComputedStyle(el).color), b = bg(el);
    const l1 = lum(fg), l2 = lum(b);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    if (ratio < 4.5) bad.push(n.textContent.trim().slice(0, 30) + ' ' + ratio.toFixed(2) + ' ' + (el.className || el.tagName));
  }
  return bad;
})()`

// accessible checks the page on screen: every control labelled, all text
// at 4.5:1 or more.
func (w *walk) accessible(page string) {
	w.t.Helper()
	var missing, bad []string
	w.step("accessibility of "+page,
		into(chromedp.Evaluate[[]string](unlabelled), &missing),
		into(chromedp.Evaluate[[]string](lowContrast), &bad),
	)
	if len(missing) > 0 {
		w.t.Errorf("%s: controls without a label: %v", page, missing)
	}
	if len(bad) > 0 {
		w.t.Errorf("%s: text under 4.5:1 contrast: %v", page, bad)
	}
}

// answer is one HTTP answer.
type answer struct {
	status int
	body   []byte
	header http.Header
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("JSON answer: %v\n%s", err, a.body)
	}
	return m
}

// send sends one request; body is JSON unless it is url.Values (a form)
// or a *multipart.Writer's bytes with its content type (formBody).
func (w *walk) send(method, u string, body any, header map[string]string) answer {
	w.t.Helper()
	var r io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		r, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case formBody:
		r, ctype = bytes.NewReader(b.data), b.ctype
	default:
		data, err := json.Marshal(b)
		if err != nil {
			w.t.Fatal(err)
		}
		r, ctype = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		w.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := w.client.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	return answer{status: res.StatusCode, body: data, header: res.Header}
}

// formBody is a multipart/form-data body.
type formBody struct {
	data  []byte
	ctype string
}

// multipartForm builds a multipart body as curl -F does.
func multipartForm(t *testing.T, fields map[string]string, files map[string][]byte) formBody {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range files {
		fw, err := mw.CreateFormFile(k, k+".yml")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(v); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return formBody{data: buf.Bytes(), ctype: mw.FormDataContentType()}
}

// adminCall is an Admin API call that must answer want.
func (w *walk) adminCall(want int, method, path string, body any) map[string]any {
	w.t.Helper()
	a := w.send(method, w.admin+path, body, nil)
	if a.status != want {
		w.t.Fatalf("%s %s: status %d, want %d: %s", method, path, a.status, want, a.body)
	}
	if len(a.body) == 0 {
		return nil
	}
	return a.json(w.t)
}

// eventually polls call until it answers status (the node applies
// configuration changes asynchronously) and returns that answer.
func (w *walk) eventually(what string, call func() answer, ok func(answer) bool) answer {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		a := call()
		if ok(a) {
			return a
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%s: last answer %d %s", what, a.status, a.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
