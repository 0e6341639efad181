package managergui_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/conformance/browser"
	"github.com/gatehouse/gatehouse/store"
)

// TestReadableByEditor runs the page's own readable_by editor
// (runtime/manager/assets/js/portal.js setReadableBy and readableBy) in
// the browser on a table of specs, and stores each result through the
// Admin API, whose real YAML parser (store.ParseHeadmatter) must read
// back the roles the page wrote, with the rest of the spec kept; the
// Admin API accepts each result.
func TestReadableByEditor(t *testing.T) {
	w := newWalk(t)
	tests := []struct {
		name, contents string
		roles          []string // nil: everyone
		keep           string   // a line the result must still hold
	}{
		{"plain YAML", "swagger: '2.0'\ninfo:\n  title: t\n  version: '1'\npaths: {}\n", []string{"dev"}, "  title: t"},
		{"two roles, one with a space", "openapi: 3.0.0\ninfo:\n  title: t\n  version: '1'\npaths: {}\n", []string{"dev", "ops team"}, "openapi: 3.0.0"},
		{"any developer", "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths: {}\n", []string{"*"}, "info: {title: t, version: '1'}"},
		{"replace, keeping other keys", "x-headmatter:\n  title: Orders\n  readable_by:\n  - a\n  - b\n  layout: wide\nswagger: '2.0'\npaths: {}\n", []string{"c"}, "  layout: wide"},
		{"remove", "x-headmatter:\n  readable_by:\n    - dev\nswagger: '2.0'\npaths: {}\n", nil, "swagger: '2.0'"},
		{"remove, keeping other keys", "x-headmatter:\n  title: T\n  readable_by: [a]\nswagger: '2.0'\npaths: {}\n", nil, "  title: T"},
		{"flow style replaced", "x-headmatter: {readable_by: [a, 'b']}\nswagger: '2.0'\npaths: {}\n", []string{"z"}, "swagger: '2.0'"},
		{"a role YAML would read as a boolean", "swagger: '2.0'\npaths: {}\n", []string{"yes", "null"}, "paths: {}"},
		{"roles YAML would read as numbers or worse", "swagger: '2.0'\npaths: {}\n", []string{"123", "1.5", "-x", "a: b", "#c", "it's", `q"uote`}, "paths: {}"},
		{"JSON spec", `{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{}}`, []string{"dev"}, `"openapi": "3.0.0"`},
		{"CRLF", "swagger: '2.0'\r\npaths: {}\r\n", []string{"dev"}, "paths: {}"},
	}
	w.Step("page loaded", w.open("#/"))
	for i, tt := range tests {
		{ // not t.Run: a failed browser step fails the walk's own test
			in, _ := json.Marshal(tt.contents)
			roles, _ := json.Marshal(tt.roles)
			var out struct {
				Contents string   `json:"contents"`
				Back     []string `json:"back"`
			}
			w.Step("edit "+tt.name, browser.Into(chromedp.Evaluate[struct {
				Contents string   `json:"contents"`
				Back     []string `json:"back"`
			}](fmt.Sprintf(`import('/js/portal.js').then((m) => { const c = m.setReadableBy(%s, %s); return { contents: c, back: m.readableBy(c) }; })`, in, roles),
				chromedp.EvalAwaitPromise), &out))
			if fmt.Sprint(out.Back) != fmt.Sprint(tt.roles) || (out.Back == nil) != (tt.roles == nil) {
				t.Fatalf("%s: page reads back %v, want %v:\n%s", tt.name, out.Back, tt.roles, out.Contents)
			}
			if !strings.Contains(out.Contents, tt.keep) {
				t.Fatalf("%s: result lost %q:\n%s", tt.name, tt.keep, out.Contents)
			}
			ext := ".yml"
			if tt.name == "JSON spec" {
				ext = ".json"
			}
			path := fmt.Sprintf("specs/case-%d%s", i, ext)
			// The real YAML parser the Admin API and the portal API use
			// reads the same roles (a role named "yes" stays a string).
			hm, err := store.ParseHeadmatter(path, out.Contents)
			if err != nil || fmt.Sprint(hm.ReadableBy) != fmt.Sprint(tt.roles) {
				t.Fatalf("%s: ParseHeadmatter: %v, %v; want %v:\n%s", tt.name, hm.ReadableBy, err, tt.roles, out.Contents)
			}
			w.mustAPI(http.StatusCreated, "POST", "/files", map[string]any{"path": path, "contents": out.Contents}, nil)
		}
	}
}
