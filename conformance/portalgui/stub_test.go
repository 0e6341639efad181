package portalgui_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/conformance/browser"

	"github.com/gatehouse/gatehouse/runtime/portal"
)

// stubAPI is a portal API that answers as Kong's does when /files needs a
// session (Kong EE answers 401 there; Gatehouse's portal API serves the
// public files instead): the GUI must fall back to /files/unauthenticated.
// It also serves, under /api, the upstream an OpenAPI 3 spec's servers
// name, with CORS, for "Try it out".
func stubAPI(t *testing.T, specs map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h := rw.Header()
		if strings.HasPrefix(r.URL.Path, "/api/") {
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Content-Type", "application/json")
			_ = json.NewEncoder(rw).Encode([]map[string]any{{"id": 1, "name": "stub pet " + r.URL.Path}})
			return
		}
		h.Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Content-Type", "application/json")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Headers", r.Header.Get("Access-Control-Request-Headers"))
			rw.WriteHeader(http.StatusNoContent)
			return
		}
		p := strings.TrimPrefix(r.URL.Path, "/default")
		switch {
		case p == "/files/unauthenticated":
			var data []map[string]any
			for path, contents := range specs {
				if !strings.Contains(path, "private") {
					data = append(data, map[string]any{"path": path, "contents": contents})
				}
			}
			_ = json.NewEncoder(rw).Encode(map[string]any{"data": data, "total": len(data)})
		case p == "/developer/meta_fields":
			_, _ = rw.Write([]byte(`[{"label":"Full Name","title":"full_name","is_required":true,"validator":{"required":true,"type":"string"}}]`))
		case p == "/developer", p == "/files", strings.HasPrefix(p, "/files/"):
			rw.WriteHeader(http.StatusUnauthorized)
			_, _ = rw.Write([]byte(`{"message":"Invalid authentication credentials"}`))
		default:
			rw.WriteHeader(http.StatusNotFound)
			_, _ = rw.Write([]byte(`{"message":"Not found"}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestAnonymousAndOpenAPI3 runs the GUI against a stub portal API whose
// /files needs a session: the anonymous catalogue comes from
// /files/unauthenticated, a private spec asks to sign in, an OpenAPI 3
// spec (JSON) renders and its "Try it out" reaches the server its
// servers list names, and a spec that does not parse says so.
func TestAnonymousAndOpenAPI3(t *testing.T) {
	upstream := stubAPI(t, nil) // for its URL only
	oas3, err := os.ReadFile("testdata/pets-openapi3.json")
	if err != nil {
		t.Fatal(err)
	}
	specs := map[string]string{
		"specs/pets.json":   strings.ReplaceAll(string(oas3), "{{SERVER}}", upstream.URL+"/api"),
		"specs/broken.yml":  "openapi: 3.0.0\ninfo: [unclosed\n  paths: {\n",
		"specs/private.yml": "swagger: '2.0'\ninfo:\n  title: Private\n  version: '1'\npaths: {}\n",
		"pages/about.txt":   "not a spec",
		// Markup in a spec is text to the catalogue and sanitised
		// markdown to Swagger UI; the CSP refuses inline scripts anyway.
		"specs/hostile.yml": "swagger: '2.0'\ninfo:\n  title: \"<img src=x onerror=window.__pwned=1>Hostile\"\n" +
			"  description: \"<script>window.__pwned=2</script><img src=x onerror=\\\"window.__pwned=3\\\"><a href=\\\"javascript:window.__pwned=4\\\">link</a>\"\n" +
			"  version: '1'\npaths: {}\n",
		"specs/public-2.yml": "swagger: '2.0'\ninfo:\n  title: \"Public Two\"\n  version: '1'\npaths: {}\n",
	}
	api := stubAPI(t, specs)
	gui := browser.Serve(t, portal.App(portal.Options{APIURL: api.URL + "/", Version: "test"}))

	w := &walk{Browser: browser.Start(t, "portalgui"), t: t, gui: gui}

	var cards string
	w.Step("anonymous catalogue from /files/unauthenticated",
		w.open("#/"),
		browser.ExpectText("main [role=status]", "Sign in to see the specs published for your roles."),
		browser.ExpectText("main .cards", "Pets (OpenAPI 3)"),
		browser.ExpectText("main .cards", "Public Two"),
		browser.Into(chromedp.Text(chromedp.CSS("main .cards")), &cards),
	)
	if strings.Contains(cards, "Private") || strings.Contains(cards, "about.txt") {
		t.Fatalf("catalogue lists a private spec or a non-spec file: %q", cards)
	}
	w.Step("private spec asks to sign in",
		w.open("#/specs/private.yml"),
		browser.ExpectText("main [role=alert]", "Sign in to read this spec."),
		chromedp.WaitVisible(chromedp.CSS(`main a[href="#/login"]`)),
	)
	w.Step("OpenAPI 3 spec renders",
		w.open("#/specs/pets.json"),
		chromedp.WaitVisible(chromedp.CSS(`#spec[data-rendered="true"] #operations-pets-listPets`)),
		browser.ExpectText("#spec .info .title", "Pets (OpenAPI 3)"),
		browser.ExpectText("#spec .servers", upstream.URL+"/api"),
	)
	w.CheckAccessible("OpenAPI 3 spec")
	w.Step("OpenAPI 3 try it out",
		chromedp.Click(chromedp.CSS(`#operations-pets-listPets .opblock-summary-control`)),
		chromedp.Click(chromedp.CSS(`#operations-pets-listPets .try-out__btn`)),
		chromedp.Click(chromedp.CSS(`#operations-pets-listPets .btn.execute`)),
		browser.ExpectText(`#operations-pets-listPets .live-responses-table`, "stub pet /api/pets"),
	)
	w.CheckAccessible("OpenAPI 3 answer")
	w.CheckCSP("OpenAPI 3 spec")
	var pwned bool
	var cardText string
	w.Step("hostile markup stays text",
		w.open("#/"),
		browser.Into(chromedp.Text(chromedp.CSS("main .cards")), &cardText),
		w.open("#/specs/hostile.yml"),
		chromedp.WaitVisible(chromedp.CSS(`#spec[data-rendered="true"] .info`)),
		chromedp.Click(chromedp.CSS(`#spec .info a`), chromedp.AtLeast(0)),
		browser.Into(chromedp.Evaluate[bool](`window.__pwned !== undefined || document.querySelectorAll('#spec script, #spec [onerror]').length > 0`), &pwned),
	)
	if pwned || !strings.Contains(cardText, "<img src=x onerror=window.__pwned=1>Hostile") {
		t.Fatalf("hostile spec: script ran or markup kept = %v; card text %q", pwned, cardText)
	}
	w.Step("a spec that does not parse",
		w.open("#/specs/broken.yml"),
		browser.ExpectText("main [role=alert]", "Cannot render this spec"),
	)
	w.Step("Kong's documentation path under the workspace",
		chromedp.Navigate("about:blank"), chromedp.Navigate(gui+"/default/documentation/pets"),
		browser.Ready("#/specs/pets"),
		chromedp.WaitVisible(chromedp.CSS(`#spec[data-rendered="true"] #operations-pets-listPets`)),
		browser.ExpectText("main .hint", "specs/pets.json"),
	)
	w.Step("unknown page", w.open("#/nowhere"), browser.ExpectText("main [role=alert]", "No page at /nowhere."))
	w.Step("page path without a hash", chromedp.Navigate("about:blank"), chromedp.Navigate(gui+"/register"),
		browser.Ready("#/register"), chromedp.WaitVisible(chromedp.CSS(`main [name="meta.full_name"]`)))
}
