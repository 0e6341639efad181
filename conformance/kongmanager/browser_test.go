package kongmanager_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/runtime/manager"
)

// TestBrowserSignIn walks Kong Manager in headless Chromium as the
// training's §10 does: an invited admin opens the registration link, sets
// a password, signs in through the page, sees the services list, invites
// another admin and generates its link, and signs out. The page talks to
// the Admin API cross-origin with the session cookie and Kong-Admin-User;
// there is no token anywhere in the browser.
func TestBrowserSignIn(t *testing.T) {
	chrome := findChromium(t)
	t.Setenv("GATEHOUSE_RBAC_BOOTSTRAP_TOKEN", rootToken)
	// No admin_gui_url: the CORS origin is the page's own (127.0.0.1 on
	// the GUI's port), and the register URL is relative to the GUI.
	n := testnode.Start(t, map[string]string{"enforce_rbac": "on", "admin_gui_auth": "basic-auth",
		"admin_gui_session_conf": sessionConf})
	c := newClient(t, n)
	c.must(201, c.root("POST", "/services", map[string]any{"name": "walk-svc", "url": "http://127.0.0.1:9"}), "service")
	c.must(200, c.root("POST", "/admins", map[string]any{"username": "alice", "email": "alice@example.test"}), "invite")
	c.must(201, c.root("POST", "/admins/alice/roles", map[string]any{"roles": "super-admin"}), "grant")
	link, _ := c.must(200, c.root("GET", "/admins/alice?generate_register_url=true", nil), "link").body["register_url"].(string)
	if !strings.HasPrefix(link, "/register?email=alice%40example.test&username=alice&token=") {
		t.Fatalf("register_url %q", link)
	}

	_, portStr, err := net.SplitHostPort(n.Addr("admin"))
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(portStr)
	gui := serveGUI(t, manager.Options{AdminAPIPort: port, Auth: "basic-auth", Version: "test"})
	b := newBrowser(t, chrome)

	b.step("register page",
		chromedp.Navigate(gui+link),
		chromedp.WaitVisible(chromedp.CSS("#register-form")),
		expectText("#register-username", "alice"),
		chromedp.SendKeys(chromedp.CSS("#register-password"), "alice-pw-1"),
		chromedp.SendKeys(chromedp.CSS("#register-confirm"), "alice-pw-1"),
		chromedp.Click(chromedp.CSS("#register-submit")),
		chromedp.WaitVisible(chromedp.CSS(`main[data-ready="#/login"]`)),
		expectText("main .banner.ok", "Password set for alice"),
	)
	b.step("sign in",
		chromedp.SendKeys(chromedp.CSS("#login-username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), "alice-pw-1"),
		chromedp.Click(chromedp.CSS("#login-submit")),
		expectText("#signed-in-as", "Signed in as alice"),
		expectText("main .banner.ok", "Signed in as alice."),
	)
	b.step("services list",
		chromedp.Navigate(gui+"/#/services"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-ready="#/services"]`)),
		expectText("main table", "walk-svc"),
	)
	b.step("invite an admin",
		chromedp.Navigate(gui+"/#/admins"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-ready="#/admins"]`)),
		expectText("main table", "alice"),
		chromedp.SendKeys(chromedp.CSS("#invite-email"), "bob@example.test"),
		chromedp.SendKeys(chromedp.CSS("#invite-username"), "bob"),
		chromedp.SetValue(chromedp.CSS("#invite-role"), "read-only"),
		chromedp.Click(chromedp.CSS(`#invite-form button[type="submit"]`)),
		expectText("main .banner.ok", "Invited bob."),
		expectText("#admin-roles", "read-only"),
		chromedp.Click(chromedp.CSS("#generate-link")),
		expectText("#register-url", "/register?email=bob%40example.test&username=bob&token="),
	)
	b.step("sign out",
		chromedp.Click(chromedp.CSS("#sign-out")),
		chromedp.WaitVisible(chromedp.CSS(`main[data-ready="#/login"]`)),
		expectText("main .banner.ok", "Signed out."),
	)
	// The browser's session is over on the server too.
	if a := c.do("GET", "/admins/bob", map[string]string{"Kong-Admin-User": "alice"}, nil); a.status != 401 {
		t.Fatalf("after sign-out: %d %s", a.status, a.raw)
	}
	if a := c.root("GET", "/admins/bob", nil); a.status != 200 || a.body["status"] != 4.0 {
		t.Fatalf("bob: %d %s", a.status, a.raw)
	}
}

// findChromium returns Debian's chromium; the walk is skipped when it is
// missing (conformance/managergui installs it where it can).
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is missing (apt-get install chromium); the browser walk needs it")
	return ""
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

// browser is one headless Chromium session; screenshots of every step
// are kept and written out when the test fails.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots [][]byte
	names []string
}

func newBrowser(t *testing.T, chrome string) *browser {
	flags := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.Flag("headless", "new"), chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), flags...)
	bctx, cancelC := chromedp.NewContext(actx)
	b := &browser{t: t, ctx: bctx}
	t.Cleanup(func() {
		if t.Failed() {
			b.save()
		}
		cancelC()
		cancelA()
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

// step runs actions with a generous deadline (a loaded 2-core machine
// under -race), then screenshots the page.
func (b *browser) step(name string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	err := chromedp.Do(ctx, actions...)
	cancel()
	sctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	if png, serr := chromedp.Run(sctx, chromedp.FullScreenshot(100)); serr == nil {
		b.shots, b.names = append(b.shots, png), append(b.names, name)
	}
	cancel()
	if err != nil {
		tctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		text, _ := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("main"), chromedp.AtLeast(0)))
		cancel()
		b.t.Fatalf("step %q: %v\npage says: %s", name, err, text)
	}
}

func (b *browser) save() {
	dir := os.Getenv("GATEHOUSE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "build", "artifacts")
	}
	dir = filepath.Join(dir, "kongmanager", b.t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("screenshots: %v", err)
		return
	}
	clean := regexp.MustCompile(`[^a-z0-9]+`)
	for i, png := range b.shots {
		f := filepath.Join(dir, fmt.Sprintf("%02d-%s.png", i+1, clean.ReplaceAllString(strings.ToLower(b.names[i]), "-")))
		if err := os.WriteFile(f, png, 0o644); err != nil {
			b.t.Logf("screenshot %s: %v", f, err)
		}
	}
	b.t.Logf("screenshots in %s", dir)
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

// keep writes the last step's screenshot to runtime/manager/screenshots
// as name.png when GATEHOUSE_SCREENSHOTS is set (the README's pictures).
func (b *browser) keep(name string) {
	b.t.Helper()
	if os.Getenv("GATEHOUSE_SCREENSHOTS") == "" || len(b.shots) == 0 {
		return
	}
	f := filepath.Join("..", "..", "runtime", "manager", "screenshots", name+".png")
	if err := os.WriteFile(f, b.shots[len(b.shots)-1], 0o644); err != nil {
		b.t.Errorf("screenshot %s: %v", f, err)
	}
}
