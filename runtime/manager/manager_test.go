package manager

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/webui/webuitest"
	"github.com/gofiber/fiber/v2"
)

func TestAssets(t *testing.T) {
	tests := []struct {
		name, opath, path string
		status            int
		ctype, contains   string
	}{
		{"index at root", "", "/", 200, "text/html; charset=utf-8", `<script type="module" src="/js/main.js">`},
		{"assets named from the root under a path", "/manager", "/manager/account/reset-password", 200, "text/html; charset=utf-8", `<link rel="stylesheet" href="/manager/app.css">`},
		{"reset link keeps its query", "", "/account/reset-password?email=a%40b.test&token=x.y.z", 200, "text/html; charset=utf-8", `<script src="/kconfig.js">`},
		{"short reset path", "", "/reset?email=a%40b.test&token=x", 200, "text/html; charset=utf-8", "Skip to content"},
		{"forgot-password page", "", "/forgot-password", 200, "text/html; charset=utf-8", "Skip to content"},
		{"another nested page path redirects", "", "/account/profile", 302, "", ""},
		{"index by name", "", "/index.html", 200, "text/html; charset=utf-8", "Skip to content"},
		{"stylesheet", "", "/app.css", 200, "text/css; charset=utf-8", "--accent"},
		{"shared stylesheet", "", "/shared/base.css", 200, "text/css; charset=utf-8", "--accent"},
		{"shared modules under a path", "/manager", "/manager/shared/dom.js", 200, "text/javascript; charset=utf-8", "export function h("},
		{"nested page path under a path redirects", "/manager", "/manager/services/x/", 302, "", ""},
		{"shell loads the shared stylesheet under a path", "/manager", "/manager/register", 200, "text/html; charset=utf-8", `<link rel="stylesheet" href="/manager/shared/base.css">`},
		{"shell body is not a file", "", "/body.html", 404, "", ""},
		{"entry module", "", "/js/main.js", 200, "text/javascript; charset=utf-8", "from './form.js'"},
		{"form engine", "", "/js/form.js", 200, "text/javascript; charset=utf-8", "export function buildForm"},
		{"config", "", "/kconfig.js", 200, "text/javascript; charset=utf-8", "window.K_CONFIG"},
		{"missing asset", "", "/js/nope.js", 404, "", ""},
		{"register page serves the shell", "", "/register", 200, "text/html; charset=utf-8", "Skip to content"},
		{"page route goes to its hash route", "", "/services", 302, "", ""},
		{"register page", "", "/register?email=a%40b.test&username=a&token=x.y.z", 200, "text/html; charset=utf-8", "Skip to content"},
		{"register page under a path", "/manager", "/manager/register", 200, "text/html; charset=utf-8", "Kong Manager"},
		{"admins module", "", "/js/admins.js", 200, "text/javascript; charset=utf-8", "/admins/register"},
		{"threat protection module", "", "/js/threat.js", 200, "text/javascript; charset=utf-8", "'/denied-ips'"},
		{"metrics parser module", "", "/js/metrics.js", 200, "text/javascript; charset=utf-8", "export function parseMetrics"},
		{"sign-in sends the admin's name", "", "/js/api.js", 200, "text/javascript; charset=utf-8", "headers['Kong-Admin-User']"},
		{"Admin API client on the shared client", "", "/js/api.js", 200, "text/javascript; charset=utf-8", "from '../shared/http.js'"},
		{"unknown type", "", "/manager.go", 404, "", ""},
		{"dot-dot stays inside", "", "/js/../../manager.go", 404, "", ""},
		{"under a path", "/manager", "/manager/", 200, "text/html; charset=utf-8", "Kong Manager"},
		{"asset under a path", "/manager/", "/manager/js/api.js", 200, "text/javascript; charset=utf-8", "Kong-Admin-Token"},
		{"outside the path", "/manager", "/app.css", 404, "", ""},
		{"path without slash redirects", "/manager", "/manager", 301, "", ""},
		{"Kong Manager page path", "", "/default/portal/permissions/", 302, "", ""},
		{"page path under a path", "/manager", "/manager/services", 302, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := webuitest.Get(t, App(Options{Path: tt.opath, AdminAPIPort: 8001}), http.MethodGet, tt.path)
			loc := map[string]string{"/manager": "/manager/", "/default/portal/permissions/": "/#/default/portal/permissions",
				"/manager/services": "/manager/#/services", "/manager/services/x/": "/manager/#/services/x", "/services": "/#/services",
				"/account/profile": "/#/account/profile"}[tt.path]
			if tt.status != 301 && tt.status != 302 {
				loc = ""
			} else if loc == "" {
				t.Fatalf("redirect of %s has no expected Location in the test", tt.path)
			}
			webuitest.Check(t, res, body, webuitest.Want{Status: tt.status, ContentType: tt.ctype, Contains: tt.contains, Location: loc})
		})
	}
}

func TestOnlyReads(t *testing.T) {
	webuitest.OnlyReads(t, App(Options{}), "/", "/app.css")
	webuitest.OnlyReads(t, App(Options{Path: "/manager"}), "/manager/register", "/manager/js/main.js")
}

// kconfig decodes window.K_CONFIG out of /kconfig.js.
func kconfig(t *testing.T, o Options) Config {
	t.Helper()
	_, body := webuitest.Get(t, App(o), http.MethodGet, basePath(o.Path)+"/kconfig.js")
	var c Config
	webuitest.KConfig(t, body, &c)
	return c
}

func TestConfigEndpoint(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want Config
	}{
		{"port only", Options{AdminAPIPort: 8001, Version: "1.2.3"},
			Config{AdminAPIPort: 8001, AdminGUIPath: "/", KongVersion: "1.2.3"}},
		{"explicit URL loses its trailing slash", Options{AdminAPIURL: "https://admin.example.test:8444/", AdminAPIPort: 8001, Path: "manager/", Auth: "basic-auth"},
			Config{AdminAPIURL: "https://admin.example.test:8444", AdminAPIPort: 8001, AdminGUIPath: "/manager", AdminGUIAuth: "basic-auth"}},
		{"script-closing text stays data", Options{AdminAPIURL: "http://x/</script><script>alert(1)</script>"},
			Config{AdminAPIURL: "http://x/</script><script>alert(1)</script>", AdminGUIPath: "/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := kconfig(t, tt.o); got != tt.want {
				t.Fatalf("config %+v, want %+v", got, tt.want)
			}
			_, raw := webuitest.Get(t, App(tt.o), http.MethodGet, basePath(tt.o.Path)+"/kconfig.js")
			if strings.Contains(raw, "</script>") {
				t.Fatalf("kconfig.js carries a literal </script>: %s", raw)
			}
		})
	}
}

func TestContentSecurityPolicy(t *testing.T) {
	tests := []struct {
		url, connect string
	}{
		{"", "connect-src *;"},
		{"https://admin.example.test:8444", "connect-src 'self' https://admin.example.test:8444;"},
		{"https://x; script-src *", "connect-src *;"}, // never splices a directive in
	}
	for _, tt := range tests {
		res, _ := webuitest.Get(t, App(Options{AdminAPIURL: tt.url}), http.MethodGet, "/")
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, tt.connect) || !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "script-src *") {
			t.Fatalf("URL %q: CSP %q, want %q", tt.url, csp, tt.connect)
		}
	}
}

// TestNoThirdPartyCode holds the engineering rule: every script is ours,
// loaded from the GUI's own origin.
func TestNoThirdPartyCode(t *testing.T) {
	entries, err := assets.ReadDir("assets/js")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("no scripts embedded")
	}
	for _, e := range entries {
		b, err := assets.ReadFile("assets/js/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, bad := range []string{"http://", "https://", "innerHTML", "eval(", "new Function"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s uses %q", e.Name(), bad)
			}
		}
		if !strings.Contains(strings.SplitN(s, "\n", 2)[0], "//") {
			t.Errorf("%s does not open with a comment saying what it is", e.Name())
		}
	}
}

// FuzzRequestPath: any path gets a 200, 301 or 404 and never anything
// outside the embedded assets.
func FuzzRequestPath(f *testing.F) {
	for _, s := range []string{"/", "/js/main.js", "/../../etc/passwd", "/%2e%2e/manager.go", "/manager", "//x", "/js/./api.js"} {
		f.Add(s)
	}
	apps := []*fiber.App{App(Options{Path: "/"}), App(Options{Path: "/manager"})}
	f.Fuzz(func(t *testing.T, p string) {
		for _, a := range apps {
			_, b, ok := webuitest.Fuzzed(t, a, p, contentSecurityPolicy(""))
			if !ok {
				return // the request line itself was refused
			}
			if strings.Contains(b, "package manager") {
				t.Fatalf("%q served Go source", p)
			}
		}
	})
}
