// Package webuitest drives an application served by runtime/webui in
// tests: one request with its answer and body, the checks every such
// application must pass (only GET and HEAD), and window.K_CONFIG decoded
// out of /kconfig.js.
package webuitest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// Get sends one request to a and returns the answer and its body.
func Get(tb testing.TB, a *fiber.App, method, target string) (*http.Response, string) {
	tb.Helper()
	res, err := a.Test(httptest.NewRequest(method, target, nil), -1)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("%s %s: body: %v", method, target, err)
	}
	return res, string(b)
}

// OnlyReads checks that a refuses every method but GET and HEAD on path
// with 405 and Allow: GET, HEAD, and answers HEAD of asset with an empty
// 200.
func OnlyReads(tb testing.TB, a *fiber.App, path, asset string) {
	tb.Helper()
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		res, _ := Get(tb, a, m, path)
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
			tb.Fatalf("%s %s: %d Allow %q", m, path, res.StatusCode, res.Header.Get("Allow"))
		}
	}
	res, body := Get(tb, a, http.MethodHead, asset)
	if res.StatusCode != http.StatusOK || body != "" {
		tb.Fatalf("HEAD %s: %d %q", asset, res.StatusCode, body)
	}
}

// KConfig decodes window.K_CONFIG out of a /kconfig.js body into v,
// failing unless the script has exactly the shape webui writes.
func KConfig(tb testing.TB, body string, v any) {
	tb.Helper()
	const pre, post = "window.K_CONFIG = Object.freeze(", ");\n"
	if !strings.HasPrefix(body, pre) || !strings.HasSuffix(body, post) {
		tb.Fatalf("kconfig.js shape: %q", body)
	}
	if err := json.Unmarshal([]byte(strings.TrimSuffix(strings.TrimPrefix(body, pre), post)), v); err != nil {
		tb.Fatalf("kconfig.js JSON: %v\n%s", err, body)
	}
}

// GetPath sends GET with p as the request path exactly (no cleaning, no
// escaping beyond what makes a request line), as a fuzzer's input. ok is
// false when the request line itself is refused.
func GetPath(a *fiber.App, p string) (res *http.Response, body string, ok bool) {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.URL.Path = "/" + strings.TrimLeft(p, "/")
	req.URL.RawPath = ""
	req.RequestURI = req.URL.EscapedPath()
	res, err := a.Test(req, -1)
	if err != nil {
		return nil, "", false
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b), true
}

// Want is what a test expects of one answer; empty fields are not
// checked, except that every answer must carry webui's security headers.
type Want struct {
	Status      int
	ContentType string
	Contains    string // a substring of the body ("" matches any)
	Location    string
	CSP         string // the exact Content-Security-Policy
}

// Check fails unless res and body match w and res carries nosniff, DENY
// and no-referrer.
func Check(tb testing.TB, res *http.Response, body string, w Want) {
	tb.Helper()
	if res.StatusCode != w.Status {
		tb.Fatalf("status %d, want %d (Location %q)", res.StatusCode, w.Status, res.Header.Get("Location"))
	}
	if w.ContentType != "" && res.Header.Get("Content-Type") != w.ContentType {
		tb.Fatalf("Content-Type %q, want %q", res.Header.Get("Content-Type"), w.ContentType)
	}
	if !strings.Contains(body, w.Contains) {
		tb.Fatalf("body lacks %q:\n%.400s", w.Contains, body)
	}
	if w.Location != "" && res.Header.Get("Location") != w.Location {
		tb.Fatalf("Location %q, want %q", res.Header.Get("Location"), w.Location)
	}
	headers := map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}
	if w.CSP != "" {
		headers["Content-Security-Policy"] = w.CSP
	}
	for k, want := range headers {
		if got := res.Header.Get(k); got != want {
			tb.Fatalf("%s %q, want %q", k, got, want)
		}
	}
}

// Fuzzed sends GET p (GetPath) and fails unless the answer is one webui
// gives: 200, 301, 302, 404 or 400 (a request line fasthttp refuses), the
// security headers with csp on all but 400, and a redirect only to a path
// of the same origin. ok is false when the request line itself is refused.
func Fuzzed(tb testing.TB, a *fiber.App, p, csp string) (res *http.Response, body string, ok bool) {
	tb.Helper()
	res, body, ok = GetPath(a, p)
	if !ok {
		return nil, "", false
	}
	switch res.StatusCode {
	case http.StatusBadRequest:
		return res, body, true
	case http.StatusOK, http.StatusMovedPermanently, http.StatusFound, http.StatusNotFound:
	default:
		tb.Fatalf("GET %q: status %d", p, res.StatusCode)
	}
	if res.Header.Get("Content-Security-Policy") != csp || res.Header.Get("X-Frame-Options") != "DENY" {
		tb.Fatalf("GET %q: security headers %v", p, res.Header)
	}
	if loc := res.Header.Get("Location"); loc != "" && (!strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") ||
		strings.ContainsAny(loc, "\r\n")) {
		tb.Fatalf("GET %q: redirect off the application: %q", p, loc)
	}
	return res, body, true
}
