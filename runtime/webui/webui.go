// Package webui serves a single-page application embedded in the binary on
// Fiber: the page shell for the application's page paths, its static files,
// a /kconfig.js built from a Go value, and the front-end modules both
// Gatehouse GUIs share (shared/dom.js, shared/http.js, shared/base.css),
// mounted at <path>/shared/ under each of them.
//
// Kong Manager (runtime/manager) and the Developer Portal (runtime/portal)
// are thin users of it: each gives its own files, its kconfig value, its
// Content-Security-Policy and which extension-less paths are pages. Every
// answer carries the security headers; only GET and HEAD are answered.
package webui

import (
	"embed"
	"encoding/json"
	"fmt"
	"html"
	"io/fs"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
)

//go:embed shared
var shared embed.FS

// SharedDir is the folder, under each application's path, that serves the
// shared front-end modules (dom.js, http.js, base.css).
const SharedDir = "shared"

// contentTypes are the types of the files an application may ship;
// anything else is not served.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".ico":  "image/x-icon",
	".png":  "image/png",
	".txt":  "text/plain; charset=utf-8",
}

// Site describes one single-page application.
type Site struct {
	// Name names the application in errors ("manager", "portal").
	Name string
	// Title is the shell's <title> (HTML-escaped here).
	Title string
	// Files are the application's own files: body.html (the shell's body
	// after the skip link), app.css, js/main.js (the entry module) and
	// whatever they load. A shared/ folder in Files is never served.
	Files fs.FS
	// Config is JSON-encoded into /kconfig.js as window.K_CONFIG.
	Config any
	// CSP is the Content-Security-Policy of every answer.
	CSP string
	// Path is the path the application is served under ("" or "/" for
	// the root; see BasePath).
	Path string
	// Pages reports whether an extension-less path (without Path and its
	// leading slash, e.g. "register" or "account/reset-password") is a
	// page the shell renders from location.pathname; the others are
	// redirected to their hash route (<Path>/#/<path>). Nil: every
	// extension-less path is a page.
	Pages func(name string) bool
	// TextDirs are folders ("vendor/swagger-ui/") whose extension-less
	// files (LICENSE, NOTICE) are served as text/plain.
	TextDirs []string
}

// BasePath normalises a mount path: "" and "/" are the root (""), anything
// else gets a leading slash and loses its trailing ones.
func BasePath(p string) string {
	p = strings.TrimRight(strings.TrimSpace(p), "/")
	if p == "" {
		return ""
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// KConfigJS renders /kconfig.js: window.K_CONFIG = Object.freeze(<JSON>).
// json.Marshal escapes <, > and & (and U+2028/9), so no value can end the
// script or break the line.
func KConfigJS(cfg any) ([]byte, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode kconfig: %w", err)
	}
	return []byte("window.K_CONFIG = Object.freeze(" + string(b) + ");\n"), nil
}

// Shell renders the page shell: the head (title, the shared and the
// application's stylesheets, /kconfig.js and the entry module, all named
// from base so that nested page paths load them), a skip link, then body.
func Shell(title, base string, body []byte) []byte {
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	b.WriteString("<title>" + html.EscapeString(title) + "</title>\n")
	b.WriteString("<link rel=\"stylesheet\" href=\"" + base + "/" + SharedDir + "/base.css\">\n")
	b.WriteString("<link rel=\"stylesheet\" href=\"" + base + "/app.css\">\n")
	b.WriteString("<script src=\"" + base + "/kconfig.js\"></script>\n")
	b.WriteString("<script type=\"module\" src=\"" + base + "/js/main.js\"></script>\n")
	b.WriteString("</head>\n<body>\n<a class=\"skip\" href=\"#main\">Skip to content</a>\n")
	b.Write(body)
	b.WriteString("</body>\n</html>\n")
	return []byte(b.String())
}

// answer is what a request path resolves to.
type answer int

const (
	answerNotFound answer = iota
	answerRedirect        // location, status
	answerShell
	answerKConfig
	answerFile // name in the application's files or the shared ones, ctype
)

// route is a resolved request path.
type route struct {
	answer   answer
	name     string // file name, relative to the application's root
	ctype    string
	location string
	status   int
}

// resolve maps a request path (as Fiber decodes it) to its answer. It
// reads nothing: whether a file exists is decided when it is read.
func (s *Site) resolve(base, p string) route {
	if base != "" {
		if p == base {
			return route{answer: answerRedirect, location: base + "/", status: fiber.StatusMovedPermanently}
		}
		if !strings.HasPrefix(p, base+"/") {
			return route{answer: answerNotFound}
		}
		p = strings.TrimPrefix(p, base)
	}
	name := strings.TrimPrefix(path.Clean("/"+p), "/")
	switch name {
	case "", "index.html":
		return route{answer: answerShell}
	case "kconfig.js":
		return route{answer: answerKConfig}
	}
	ext := path.Ext(name)
	if ext == "" {
		for _, d := range s.TextDirs {
			if strings.HasPrefix(name, d) {
				return route{answer: answerFile, name: name, ctype: contentTypes[".txt"]}
			}
		}
		if s.Pages == nil || s.Pages(name) {
			return route{answer: answerShell}
		}
		// An application's own page paths (Kong Manager's /services,
		// /default/portal/permissions/) land on the same view, a hash
		// route. The path is as the client sent it (still
		// percent-encoded); one holding a control character would not
		// make a one-line Location header, and is no page.
		if strings.IndexFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			return route{answer: answerNotFound}
		}
		return route{answer: answerRedirect, location: base + "/#/" + name, status: fiber.StatusFound}
	}
	ct, ok := contentTypes[ext]
	if !ok || name == "body.html" {
		return route{answer: answerNotFound}
	}
	return route{answer: answerFile, name: name, ctype: ct}
}

// read returns a file of the application, or of the shared modules for
// names under shared/.
func (s *Site) read(name string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(name, SharedDir+"/"); ok {
		return fs.ReadFile(shared, SharedDir+"/"+rest)
	}
	if name == SharedDir || strings.HasPrefix(name, SharedDir+"/") {
		return nil, fs.ErrNotExist
	}
	return fs.ReadFile(s.Files, name)
}

// New returns the Fiber application serving s. It fails when s has no
// files, no body.html or a Config that cannot be JSON-encoded.
func New(s Site) (*fiber.App, error) {
	if s.Files == nil {
		return nil, fmt.Errorf("%s: no files", s.Name)
	}
	body, err := fs.ReadFile(s.Files, "body.html")
	if err != nil {
		return nil, fmt.Errorf("%s: shell body: %w", s.Name, err)
	}
	kconfig, err := KConfigJS(s.Config)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	base := BasePath(s.Path)
	shell := Shell(s.Title, base, body)

	a := fiber.New(fiber.Config{DisableStartupMessage: true})
	a.Use(func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		c.Set(fiber.HeaderXFrameOptions, "DENY")
		c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
		c.Set(fiber.HeaderContentSecurityPolicy, s.CSP)
		return c.Next()
	})
	a.Get("/*", func(c *fiber.Ctx) error {
		r := s.resolve(base, c.Path())
		switch r.answer {
		case answerRedirect:
			return c.Redirect(r.location, r.status)
		case answerShell:
			// Page paths keep their query string (an invited admin's
			// register?token=...): the shell is answered in place.
			c.Set(fiber.HeaderCacheControl, "no-cache")
			c.Set(fiber.HeaderContentType, contentTypes[".html"])
			return c.Send(shell)
		case answerKConfig:
			c.Set(fiber.HeaderCacheControl, "no-store")
			c.Set(fiber.HeaderContentType, contentTypes[".js"])
			return c.Send(kconfig)
		case answerFile:
			data, err := s.read(r.name)
			if err != nil {
				// Missing, a directory, or a name fs.ValidPath refuses.
				return c.SendStatus(fiber.StatusNotFound)
			}
			c.Set(fiber.HeaderCacheControl, "no-cache")
			c.Set(fiber.HeaderContentType, r.ctype)
			return c.Send(data)
		}
		return c.SendStatus(fiber.StatusNotFound)
	})
	a.All("/*", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderAllow, "GET, HEAD")
		return c.SendStatus(fiber.StatusMethodNotAllowed)
	})
	return a, nil
}
