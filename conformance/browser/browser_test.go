package browser_test

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/conformance/browser"
)

// WCAG's own figures: black on white 21:1; #767676 is the lightest grey
// that passes 4.5:1 on white, #777777 the first that fails.
var contrastTable = []struct {
	fg, bg string
	want   float64
}{
	{"#000000", "#ffffff", 21},
	{"#fff", "#000", 21},
	{"#ffffff", "#ffffff", 1},
	{"#767676", "#ffffff", 4.54},
	{"#777777", "#ffffff", 4.48},
	{"#0000ff", "#ffffff", 8.59},
	{"#ff0000", "#ffffff", 4.00},
	{"#008000", "#ffffff", 5.14},
	{"#1d4ed8", "#eff6ff", 6.16},
}

func TestContrastRatio(t *testing.T) {
	for _, c := range contrastTable {
		fg, err := browser.ParseHex(c.fg)
		if err != nil {
			t.Fatal(err)
		}
		bg, err := browser.ParseHex(c.bg)
		if err != nil {
			t.Fatal(err)
		}
		got := browser.ContrastRatio(fg, bg)
		if math.Abs(got-c.want) > 0.01 {
			t.Errorf("%s on %s: %.3f, want %.2f", c.fg, c.bg, got, c.want)
		}
		if back := browser.ContrastRatio(bg, fg); back != got {
			t.Errorf("%s on %s: not symmetric (%f, %f)", c.fg, c.bg, got, back)
		}
		if pass := got >= browser.MinContrast; pass != (c.want >= 4.5) {
			t.Errorf("%s on %s: pass %v at %.3f", c.fg, c.bg, pass, got)
		}
	}
}

func TestParseHex(t *testing.T) {
	for _, c := range []struct {
		in   string
		want browser.RGB
		ok   bool
	}{
		{"#abc", browser.RGB{0xaa, 0xbb, 0xcc}, true},
		{"#0a0B0c", browser.RGB{0x0a, 0x0b, 0x0c}, true},
		{"abc", browser.RGB{}, false},
		{"#abcd", browser.RGB{}, false},
		{"#gggggg", browser.RGB{}, false},
		{"#-12345", browser.RGB{}, false},
		{"", browser.RGB{}, false},
	} {
		got, err := browser.ParseHex(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseHex(%q) = %v, %v; want %v ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestArtifactPaths(t *testing.T) {
	root, err := browser.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if wd := mustGetwd(t); wd != filepath.Join(root, "conformance", "browser") {
		t.Fatalf("root %s is not two above %s", root, wd)
	}
	for _, c := range []struct {
		env, suite, test string
		want             string // relative to env, or to root/build/artifacts when env is ""
		ok               bool
	}{
		{"", "managergui", "TestTrainingWalk", "managergui/TestTrainingWalk", false},
		{"/tmp/art", "portalgui", "TestTrainingWalk", "portalgui/testtrainingwalk", true},
		{"/tmp/art", "portalgui", "TestX/sub case #1", "portalgui/testx/sub-case-1", true},
		{"/tmp/art", "portalgui", "TestX/../../etc", "portalgui/testx/etc", true},
		{"/tmp/art", "../x", "TestX", "", false},
		{"/tmp/art", "", "TestX", "", false},
		{"/tmp/art", "kongmanager", "///", "", false},
	} {
		t.Run(c.suite+c.test, func(t *testing.T) {
			t.Setenv(browser.ArtifactsEnv, c.env)
			got, err := browser.ArtifactDir(c.suite, c.test)
			if c.env == "" {
				want := filepath.Join(root, "build", "artifacts", "managergui", "testtrainingwalk")
				if err != nil || got != want {
					t.Fatalf("ArtifactDir = %q, %v; want %q", got, err, want)
				}
				return
			}
			if (err == nil) != c.ok {
				t.Fatalf("ArtifactDir(%q, %q) = %q, %v", c.suite, c.test, got, err)
			}
			if c.ok && got != filepath.Join(c.env, c.want) {
				t.Fatalf("ArtifactDir(%q, %q) = %q, want %q", c.suite, c.test, got, filepath.Join(c.env, c.want))
			}
		})
	}
	for i, c := range []struct{ step, want string }{
		{"create service", "01-create-service.png"},
		{"contrast #/portal/files/specs%2Fa.yml", "02-contrast-portal-files-specs-2fa-yml.png"},
		{"--Ü--", "03-.png"},
	} {
		if got := browser.ShotFile(i, c.step); got != c.want {
			t.Errorf("ShotFile(%d, %q) = %q, want %q", i, c.step, got, c.want)
		}
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestRoutes(t *testing.T) {
	for _, c := range []struct {
		prefix, route string
		under         bool
		id            string
	}{
		{"#/services/", "#/services/ab12", true, "ab12"},
		{"#/services/", "#/services/", false, ""},
		{"#/services/", "#/services/new", false, "new"},
		{"#/services/", "#/services/ab12/routes/new", false, "ab12"},
		{"#/apps/", "#/apps/9f", true, "9f"},
		{"#/apps/", "#/apps", false, ""},
		{"#/consumers/", "#/services/ab12", false, "ab12"},
	} {
		if got := browser.PageUnder(c.prefix, c.route); got != c.under {
			t.Errorf("PageUnder(%q, %q) = %v", c.prefix, c.route, got)
		}
		if got := browser.IDFromRoute(c.route); got != c.id {
			t.Errorf("IDFromRoute(%q) = %q, want %q", c.route, got, c.id)
		}
	}
}

func TestMultipart(t *testing.T) {
	f, err := browser.Multipart(map[string]string{"path": "specs/a.yml"}, map[string][]byte{"contents": []byte("openapi: 3.0.0\n")})
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(f.ContentType)
	if err != nil {
		t.Fatal(err)
	}
	r := multipart.NewReader(bytes.NewReader(f.Data), params["boundary"])
	got := map[string]string{}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		got[p.FormName()+"|"+p.FileName()] = string(b)
	}
	want := map[string]string{"path|": "specs/a.yml", "contents|contents.yml": "openapi: 3.0.0\n"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("parts %v, want %v", got, want)
	}
	if browser.Basic("a", "b:c") != "Basic YTpiOmM=" {
		t.Fatalf("Basic: %s", browser.Basic("a", "b:c"))
	}
}

// TestContrastScriptAgrees runs LowContrastScript in Chromium on a page
// holding the table's colour pairs: it must flag exactly the pairs
// ContrastRatio puts under 4.5:1, so the check the GUI tests run in the
// browser is the one tested above. Labels are checked on the same page.
func TestContrastScriptAgrees(t *testing.T) {
	b := browser.Start(t, "browser")
	var html strings.Builder
	html.WriteString(`<!doctype html><html><body style="background:#fff">`)
	wantBad := map[string]bool{}
	for i, c := range contrastTable {
		fmt.Fprintf(&html, `<div style="background:%s"><span style="color:%s">pair%d</span></div>`, c.bg, c.fg, i)
		fg, _ := browser.ParseHex(c.fg)
		bg, _ := browser.ParseHex(c.bg)
		wantBad[fmt.Sprintf("pair%d", i)] = browser.ContrastRatio(fg, bg) < browser.MinContrast
	}
	html.WriteString(`<main><label>Named <input name="a"></label><input name="b"><input name="c" aria-label="C"><input type="hidden" name="d"><select name="e" hidden></select></main></body></html>`)
	var bad, unlabelled []string
	b.Step("table page",
		chromedp.Navigate("data:text/html,"+url.PathEscape(html.String())),
		chromedp.WaitVisible(chromedp.CSS("main")),
		browser.Into(chromedp.Evaluate[[]string](browser.LowContrastScript), &bad),
		browser.Into(chromedp.Evaluate[[]string](browser.UnlabelledScript("main")), &unlabelled),
	)
	flagged := map[string]bool{}
	for _, s := range bad {
		flagged[strings.Fields(s)[0]] = true
	}
	for name, want := range wantBad {
		if flagged[name] != want {
			t.Errorf("%s: script flags %v, ContrastRatio says under 4.5:1 = %v (script: %v)", name, flagged[name], want, bad)
		}
	}
	if fmt.Sprint(unlabelled) != "[b]" {
		t.Errorf("unlabelled controls %v, want [b]", unlabelled)
	}
}
