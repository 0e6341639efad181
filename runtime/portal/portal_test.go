package portal

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/webui/webuitest"
)

func TestPaths(t *testing.T) {
	tests := []struct {
		name, path      string
		status          int
		ctype, contains string
	}{
		{"shell at root", "/", 200, "text/html; charset=utf-8", `<script type="module" src="/js/main.js">`},
		{"shell by name", "/index.html", 200, "text/html; charset=utf-8", "Skip to content"},
		{"register page", "/register", 200, "text/html; charset=utf-8", "Developer Portal"},
		{"my apps page", "/apps", 200, "text/html; charset=utf-8", "Skip to content"},
		{"Kong's documentation path", "/documentation/iam-training", 200, "text/html; charset=utf-8", "Skip to content"},
		{"nested page path", "/apps/5d1c/x", 200, "text/html; charset=utf-8", "Skip to content"},
		{"stylesheet", "/app.css", 200, "text/css; charset=utf-8", "#spec .swagger-ui"},
		{"shared stylesheet", "/shared/base.css", 200, "text/css; charset=utf-8", "--accent"},
		{"shared element builder", "/shared/dom.js", 200, "text/javascript; charset=utf-8", "export function h("},
		{"shell loads the shared stylesheet first", "/apps", 200, "text/html; charset=utf-8", "<link rel=\"stylesheet\" href=\"/shared/base.css\">\n<link rel=\"stylesheet\" href=\"/app.css\">"},
		{"shell body", "/", 200, "text/html; charset=utf-8", `<li data-when="out"><a href="#/register">Register</a></li>`},
		{"shell body is not a file", "/body.html", 404, "", ""},
		{"entry module", "/js/main.js", 200, "text/javascript; charset=utf-8", "from './api.js'"},
		{"api client on the shared client", "/js/api.js", 200, "text/javascript; charset=utf-8", "from '../shared/http.js'"},
		{"shared client sends the cookie", "/shared/http.js", 200, "text/javascript; charset=utf-8", "credentials: 'include'"},
		{"renderer glue", "/js/spec.js", 200, "text/javascript; charset=utf-8", "updateSpec"},
		{"config", "/kconfig.js", 200, "text/javascript; charset=utf-8", "window.K_CONFIG"},
		{"swagger-ui bundle", "/vendor/swagger-ui/swagger-ui-bundle.js", 200, "text/javascript; charset=utf-8", "SwaggerUIBundle"},
		{"swagger-ui css", "/vendor/swagger-ui/swagger-ui.css", 200, "text/css; charset=utf-8", ".swagger-ui"},
		{"swagger-ui licence as text", "/vendor/swagger-ui/LICENSE", 200, "text/plain; charset=utf-8", "Apache License"},
		{"swagger-ui notice as text", "/vendor/swagger-ui/NOTICE", 200, "text/plain; charset=utf-8", "SmartBear"},
		{"vendored version as text", "/vendor/swagger-ui/VERSION", 200, "text/plain; charset=utf-8", "version 5.35.0"},
		{"unknown vendored file", "/vendor/swagger-ui/README", 404, "", ""},
		{"missing asset", "/js/nope.js", 404, "", ""},
		{"unknown type", "/portal.go", 404, "", ""},
		{"source map not shipped", "/vendor/swagger-ui/swagger-ui-bundle.js.map", 404, "", ""},
		{"dot-dot stays inside", "/js/../../portal.go", 404, "", ""},
		{"encoded dot-dot stays inside", "/js/%2e%2e/%2e%2e/portal_test.go", 404, "", ""},
		{"spec path with an extension is not a file", "/specs/iam-training.yml", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := webuitest.Get(t, App(Options{APIPort: 8004}), http.MethodGet, tt.path)
			webuitest.Check(t, res, body, webuitest.Want{Status: tt.status, ContentType: tt.ctype, Contains: tt.contains, CSP: ContentSecurityPolicy})
		})
	}
}

func TestOnlyReads(t *testing.T) {
	webuitest.OnlyReads(t, App(Options{}), "/", "/app.css")
	webuitest.OnlyReads(t, App(Options{}), "/apps/1", "/vendor/swagger-ui/LICENSE")
}

// TestContentSecurityPolicy: scripts and styles only from the portal
// itself, no eval, no inline script or style, no framing, no plugins;
// connections to any http(s) origin (Swagger UI's "Try it out").
func TestContentSecurityPolicy(t *testing.T) {
	directives := map[string]string{}
	for _, d := range strings.Split(ContentSecurityPolicy, ";") {
		f := strings.Fields(d)
		if len(f) > 0 {
			directives[f[0]] = strings.Join(f[1:], " ")
		}
	}
	for k, want := range map[string]string{
		"default-src":     "'self'",
		"script-src":      "'self'",
		"style-src":       "'self'",
		"img-src":         "'self' data:",
		"connect-src":     "'self' http: https:",
		"frame-ancestors": "'none'",
		"object-src":      "'none'",
		"base-uri":        "'self'",
		"form-action":     "'none'",
	} {
		if directives[k] != want {
			t.Errorf("%s = %q, want %q", k, directives[k], want)
		}
	}
	if strings.Contains(ContentSecurityPolicy, "unsafe") {
		t.Errorf("policy allows an unsafe source: %s", ContentSecurityPolicy)
	}
}

// kconfig decodes window.K_CONFIG out of /kconfig.js.
func kconfig(t *testing.T, o Options) (Config, string) {
	t.Helper()
	res, body := webuitest.Get(t, App(o), http.MethodGet, "/kconfig.js")
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("kconfig.js Cache-Control %q", res.Header.Get("Cache-Control"))
	}
	var c Config
	webuitest.KConfig(t, body, &c)
	return c, body
}

func TestKConfig(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want Config
	}{
		{"port only", Options{APIPort: 8004, Version: "1.2.3", Host: "127.0.0.1:8003"},
			Config{PortalAPIPort: 8004, PortalGUIHost: "127.0.0.1:8003", Workspace: "default", KongVersion: "1.2.3"}},
		{"explicit URL loses its trailing slash", Options{APIURL: " https://portal-api.example.test:8447/ ", APIPort: 8004, Workspace: "/team-a/"},
			Config{PortalAPIURL: "https://portal-api.example.test:8447", PortalAPIPort: 8004, Workspace: "team-a"}},
		{"script-closing text stays data", Options{APIURL: "http://x/</script><script>alert(1)</script>", Host: "a&b<c>"},
			Config{PortalAPIURL: "http://x/</script><script>alert(1)</script>", PortalGUIHost: "a&b<c>", Workspace: "default"}},
		{"quotes and line separators stay data", Options{Version: "1\"); alert(1); (\"\u2028\u2029"},
			Config{Workspace: "default", KongVersion: "1\"); alert(1); (\"\u2028\u2029"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, body := kconfig(t, tt.o)
			if got != tt.want {
				t.Fatalf("config %+v, want %+v", got, tt.want)
			}
			// The script's text never holds markup or a raw line
			// separator, whatever the settings say.
			for _, bad := range []string{"<", ">", "&", "\u2028", "\u2029"} {
				if strings.Contains(body, bad) {
					t.Fatalf("kconfig.js holds %q unescaped: %s", bad, body)
				}
			}
		})
	}
}

// TestVendoredIntegrity checks every vendored Swagger UI file against the
// sha256 that vendor-swagger-ui.sh wrote into VERSION, and that nothing
// else sits in the vendor directory.
func TestVendoredIntegrity(t *testing.T) {
	version, err := fs.ReadFile(assets, "assets/"+vendorDir+"VERSION")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	meta := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(version))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		switch {
		case f[0] == "sha256" && len(f) == 3:
			want[f[2]] = f[1]
		case len(f) == 2:
			meta[f[0]] = f[1]
		default:
			t.Fatalf("VERSION line %q", line)
		}
	}
	if meta["name"] != "swagger-ui-dist" || meta["version"] != "5.35.0" || meta["license"] != "Apache-2.0" ||
		!strings.HasPrefix(meta["integrity"], "sha512-") || !strings.HasSuffix(meta["tarball"], "/swagger-ui-dist-5.35.0.tgz") {
		t.Fatalf("VERSION metadata %v", meta)
	}
	for _, f := range []string{"swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"} {
		if want[f] == "" {
			t.Fatalf("VERSION has no sha256 for %s", f)
		}
	}
	entries, err := fs.ReadDir(assets, "assets/"+strings.TrimSuffix(vendorDir, "/"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "VERSION" {
			continue
		}
		data, err := fs.ReadFile(assets, "assets/"+vendorDir+e.Name())
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != want[e.Name()] {
			t.Errorf("%s: sha256 %s, VERSION says %q", e.Name(), got, want[e.Name()])
		}
		delete(want, e.Name())
	}
	if len(want) > 0 {
		t.Errorf("VERSION lists files that are not vendored: %v", want)
	}
	// The script that re-vendors pins the same integrity.
	script, err := os.ReadFile("vendor-swagger-ui.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), `INTEGRITY="`+meta["integrity"]+`"`) || !strings.Contains(string(script), "VERSION="+meta["version"]) {
		t.Fatal("vendor-swagger-ui.sh pins another version or integrity than VERSION")
	}
}

// TestNoRemoteLoads: our own pages and scripts load nothing from another
// origin (no CDN); the only third-party code is the vendored renderer.
func TestNoRemoteLoads(t *testing.T) {
	remote := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|import\s*\(?\s*["']https?:|url\(\s*["']?https?:`)
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(p, "assets/"+vendorDir) {
			return err
		}
		data, err := fs.ReadFile(assets, p)
		if err != nil {
			return err
		}
		if m := remote.Find(data); m != nil {
			t.Errorf("%s loads from another origin: %q", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzPath: no request path panics the server, escapes the embedded
// tree, or gets an answer other than the shell, an asset or 404.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"/", "/js/main.js", "/vendor/swagger-ui/LICENSE", "/../portal.go", "/%2e%2e/x", "/a/b/c", "/kconfig.js", "//x.css", "/\x00.js"} {
		f.Add(s)
	}
	a := App(Options{APIPort: 8004})
	f.Fuzz(func(t *testing.T, p string) {
		res, _, ok := webuitest.Fuzzed(t, a, p, ContentSecurityPolicy)
		if !ok {
			return // the request line itself was refused
		}
		if res.StatusCode == http.StatusOK && strings.HasSuffix(res.Header.Get("Content-Type"), "plain; charset=utf-8") &&
			!strings.Contains(p, "vendor/swagger-ui/") {
			t.Fatalf("GET %q: text outside the vendor directory", p)
		}
	})
}
