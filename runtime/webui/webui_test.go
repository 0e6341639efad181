package webui

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gatehouse/gatehouse/runtime/webui/webuitest"
	"github.com/gofiber/fiber/v2"
)

// files is an application's tree, with a shared/ folder of its own that
// must never be served and a Go file that must never be either.
var files = fstest.MapFS{
	"body.html":                {Data: []byte("<main id=\"main\">app body</main>\n")},
	"app.css":                  {Data: []byte("main { color: #000; }\n")},
	"js/main.js":               {Data: []byte("// entry\nimport { h } from '../shared/dom.js';\n")},
	"vendor/lib/LICENSE":       {Data: []byte("licence text")},
	"vendor/lib/lib.js":        {Data: []byte("// lib\n")},
	"shared/dom.js":            {Data: []byte("// the application's own shadow copy\n")},
	"secret.go":                {Data: []byte("package secret\n")},
	"img/logo.png":             {Data: []byte("\x89PNG")},
	"js/dir.js/placeholder.js": {Data: []byte("// a directory named like a file\n")},
}

type testConfig struct {
	URL  string `json:"URL"`
	Port int    `json:"PORT"`
}

func site(path string, pages func(string) bool) Site {
	return Site{
		Name: "test", Title: "Test <GUI> & co", Files: files,
		Config: testConfig{URL: "http://x/</script>", Port: 9},
		CSP:    "default-src 'self'", Path: path, Pages: pages,
		TextDirs: []string{"vendor/lib/"},
	}
}

func get(t *testing.T, s Site, method, target string) (*http.Response, string) {
	t.Helper()
	a, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	return webuitest.Get(t, a, method, target)
}

func onlyRegister(name string) bool { return name == "register" }

func TestServe(t *testing.T) {
	tests := []struct {
		name, base, target string
		pages              func(string) bool
		status             int
		ctype, contains    string
		location           string
	}{
		{"shell at root", "", "/", nil, 200, "text/html; charset=utf-8", `<script type="module" src="/js/main.js">`, ""},
		{"shell by name", "", "/index.html", nil, 200, "text/html; charset=utf-8", "app body", ""},
		{"every page path is the shell by default", "", "/apps/1/x", nil, 200, "text/html; charset=utf-8", "Skip to content", ""},
		{"a listed page keeps its query", "", "/register?token=a.b", onlyRegister, 200, "text/html; charset=utf-8", "app body", ""},
		{"another page path goes to its hash route", "", "/services", onlyRegister, 302, "", "", "/#/services"},
		{"nested page path, trailing slash dropped", "", "/default/portal/permissions/", onlyRegister, 302, "", "", "/#/default/portal/permissions"},
		{"hash route keeps the path as sent", "", "/a%20b/c%0d%0aSet-Cookie:x", onlyRegister, 302, "", "", "/#/a%20b/c%0d%0aSet-Cookie:x"},
		{"hash route under a path", "/gui", "/gui/services", onlyRegister, 302, "", "", "/gui/#/services"},
		{"path without its slash", "/gui", "/gui", nil, 301, "", "", "/gui/"},
		{"outside the path", "/gui", "/app.css", nil, 404, "", "", ""},
		{"sibling of the path", "/gui", "/guide/app.css", nil, 404, "", "", ""},
		{"asset under the path", "/gui/", "/gui/app.css", nil, 200, "text/css; charset=utf-8", "main {", ""},
		{"shell under the path names assets from it", "/gui", "/gui/a/b", nil, 200, "text/html; charset=utf-8", `<link rel="stylesheet" href="/gui/shared/base.css">`, ""},
		{"title escaped", "", "/", nil, 200, "", "<title>Test &lt;GUI&gt; &amp; co</title>", ""},
		{"kconfig", "", "/kconfig.js", nil, 200, "text/javascript; charset=utf-8", `window.K_CONFIG = Object.freeze({"URL":"http://x/\u003c/script\u003e","PORT":9});`, ""},
		{"kconfig under the path", "/gui", "/gui/kconfig.js", nil, 200, "text/javascript; charset=utf-8", "window.K_CONFIG", ""},
		{"module", "", "/js/main.js", nil, 200, "text/javascript; charset=utf-8", "// entry", ""},
		{"png", "", "/img/logo.png", nil, 200, "image/png", "PNG", ""},
		{"shared dom.js is webui's", "", "/shared/dom.js", nil, 200, "text/javascript; charset=utf-8", "export function h(", ""},
		{"shared client", "/gui", "/gui/shared/http.js", nil, 200, "text/javascript; charset=utf-8", "export function client(", ""},
		{"shared base css", "", "/shared/base.css", nil, 200, "text/css; charset=utf-8", "--accent", ""},
		{"missing shared file", "", "/shared/nope.js", nil, 404, "", "", ""},
		{"text dir file", "", "/vendor/lib/LICENSE", nil, 200, "text/plain; charset=utf-8", "licence text", ""},
		{"missing text dir file", "", "/vendor/lib/README", nil, 404, "", "", ""},
		{"vendored script", "", "/vendor/lib/lib.js", nil, 200, "text/javascript; charset=utf-8", "// lib", ""},
		{"body.html is not a file", "", "/body.html", nil, 404, "", "", ""},
		{"unknown type", "", "/secret.go", nil, 404, "", "", ""},
		{"missing file", "", "/js/nope.js", nil, 404, "", "", ""},
		{"directory named like a file", "", "/js/dir.js", nil, 404, "", "", ""},
		{"dot-dot stays inside", "", "/js/../../secret.go", nil, 404, "", "", ""},
		{"encoded dot-dot stays inside", "", "/js/%2e%2e/%2e%2e/webui.go", nil, 404, "", "", ""},
		{"dot-dot stays under the path", "/gui", "/gui/../../app.css", nil, 200, "text/css; charset=utf-8", "main {", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := get(t, site(tt.base, tt.pages), http.MethodGet, tt.target)
			webuitest.Check(t, res, body, webuitest.Want{Status: tt.status, ContentType: tt.ctype, Contains: tt.contains,
				Location: tt.location, CSP: "default-src 'self'"})
			if strings.Contains(body, "shadow copy") || strings.Contains(body, "package secret") {
				t.Fatalf("served a file it must not: %s", body)
			}
			want := map[string]string{"text/html; charset=utf-8": "no-cache", "text/css; charset=utf-8": "no-cache"}[tt.ctype]
			if strings.HasSuffix(tt.target, "kconfig.js") {
				want = "no-store"
			}
			if want != "" && res.Header.Get("Cache-Control") != want {
				t.Fatalf("Cache-Control %q, want %q", res.Header.Get("Cache-Control"), want)
			}
		})
	}
}

func TestOnlyReads(t *testing.T) {
	for _, base := range []string{"", "/gui"} {
		a, err := New(site(base, onlyRegister))
		if err != nil {
			t.Fatal(err)
		}
		webuitest.OnlyReads(t, a, base+"/", base+"/app.css")
		webuitest.OnlyReads(t, a, base+"/services", base+"/shared/dom.js")
		res, _ := webuitest.Get(t, a, http.MethodDelete, base+"/")
		if res.Header.Get("X-Frame-Options") != "DENY" || res.Header.Get("Content-Security-Policy") != "default-src 'self'" {
			t.Fatalf("405 without the security headers: %v", res.Header)
		}
	}
}

func TestKConfigJS(t *testing.T) {
	tests := []struct {
		name string
		in   any
	}{
		{"markup", map[string]string{"u": "</script><script>alert(1)</script>"}},
		{"ampersand and quotes", map[string]string{"u": `a&b"); alert(1); ("`}},
		{"line separators", map[string]string{"u": "x\u2028y\u2029z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := KConfigJS(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			s := string(b)
			const pre, post = "window.K_CONFIG = Object.freeze(", ");\n"
			if !strings.HasPrefix(s, pre) || !strings.HasSuffix(s, post) {
				t.Fatalf("shape %q", s)
			}
			for _, bad := range []string{"<", ">", "&", "\u2028", "\u2029"} {
				if strings.Contains(s, bad) {
					t.Fatalf("holds %q unescaped: %s", bad, s)
				}
			}
			var back map[string]string
			if err := json.Unmarshal([]byte(strings.TrimSuffix(strings.TrimPrefix(s, pre), post)), &back); err != nil {
				t.Fatal(err)
			}
			if back["u"] != tt.in.(map[string]string)["u"] {
				t.Fatalf("round trip %q", back["u"])
			}
		})
	}
	if _, err := KConfigJS(map[string]any{"f": func() {}}); err == nil {
		t.Fatal("a value JSON cannot hold was encoded")
	}
}

func TestBasePath(t *testing.T) {
	for in, want := range map[string]string{"": "", "/": "", " / ": "", "manager": "/manager", "/manager/": "/manager", "/a/b//": "/a/b"} {
		if got := BasePath(in); got != want {
			t.Errorf("BasePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	tests := []struct {
		name string
		s    Site
		want string
	}{
		{"no files", Site{Name: "x"}, "x: no files"},
		{"no body", Site{Name: "x", Files: fstest.MapFS{"app.css": {}}}, "x: shell body"},
		{"config JSON cannot hold", Site{Name: "x", Files: files, Config: make(chan int)}, "x: encode kconfig"},
	}
	for _, tt := range tests {
		if _, err := New(tt.s); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestSharedModulesAreOurs holds the engineering rule for the shared
// front end: every file is ours, opens with a comment saying what it is,
// loads nothing from another origin and never writes HTML from strings.
func TestSharedModulesAreOurs(t *testing.T) {
	remote := regexp.MustCompile(`(?i)https?://|url\(\s*["']?//|import\s*\(?\s*["']//`)
	n := 0
	err := fs.WalkDir(shared, SharedDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		b, err := fs.ReadFile(shared, p)
		if err != nil {
			return err
		}
		s := string(b)
		if m := remote.FindString(s); m != "" {
			t.Errorf("%s loads from another origin: %q", p, m)
		}
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function", "document.write"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s uses %q", p, bad)
			}
		}
		first := strings.SplitN(s, "\n", 2)[0]
		if !strings.HasPrefix(first, "//") && !strings.HasPrefix(first, "/*") {
			t.Errorf("%s does not open with a comment saying what it is", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 3 {
		t.Fatalf("%d shared files, want dom.js, http.js and base.css", n)
	}
}

// FuzzRequestPath: whatever the path, the answer is the shell, a file of
// the application or the shared folder with a known type, a same-origin
// redirect on one header line, or 404; never the application's own
// shared/ copy, a Go file or body.html.
func FuzzRequestPath(f *testing.F) {
	for _, s := range []string{"/", "/gui", "/gui/", "/gui/js/main.js", "/gui/../secret.go", "/gui/%2e%2e/x",
		"/gui/shared/dom.js", "/gui/shared/../shared/dom.js", "/gui/vendor/lib/LICENSE", "/gui/a%0d%0ab", "//evil.test/x",
		"/gui/body.html", "/gui/\x00.js", "/gui/services/"} {
		f.Add(s)
	}
	apps := map[string]Site{"root": site("", onlyRegister), "gui": site("/gui", onlyRegister)}
	built := map[string]*fiber.App{}
	for k, s := range apps {
		a, err := New(s)
		if err != nil {
			f.Fatal(err)
		}
		built[k] = a
	}
	f.Fuzz(func(t *testing.T, p string) {
		for k, a := range built {
			base := BasePath(apps[k].Path)
			s := apps[k]
			r := s.resolve(base, "/"+strings.TrimLeft(p, "/"))
			switch r.answer {
			case answerRedirect:
				if !strings.HasPrefix(r.location, base+"/") || strings.ContainsAny(r.location, "\r\n\x00") {
					t.Fatalf("%s %q: redirect to %q", k, p, r.location)
				}
			case answerFile:
				if r.ctype == "" || r.name == "body.html" || path.Clean(r.name) != r.name ||
					r.name == ".." || strings.HasPrefix(r.name, "../") || strings.HasPrefix(r.name, "/") {
					t.Fatalf("%s %q: file %q type %q", k, p, r.name, r.ctype)
				}
			}
			_, b, ok := webuitest.Fuzzed(t, a, p, "default-src 'self'")
			if !ok {
				return // the request line itself was refused
			}
			if s := b; strings.Contains(s, "package secret") || strings.Contains(s, "shadow copy") || s == "<main id=\"main\">app body</main>\n" {
				t.Fatalf("%s GET %q served %q", k, p, s)
			}
		}
	})
}
