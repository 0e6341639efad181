// Package portal serves the Developer Portal: its GUI on
// portal_gui_listen (:8003, :8446 ssl), where developers browse published
// specs, sign up and manage their applications.
package portal

import (
	"github.com/gofiber/fiber/v2"
)

// Options configures the portal from the node's settings.
type Options struct {
	// Host is portal_gui_host, the host developers reach the portal on.
	Host string
	// Version is Gatehouse's version.
	Version string
}

// App returns the Fiber application that serves the portal GUI.
func App(o Options) *fiber.App {
	a := fiber.New(fiber.Config{DisableStartupMessage: true})
	a.Get("/*", func(c *fiber.Ctx) error {
		c.Type("html", "utf-8")
		return c.SendString("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Developer Portal</title></head><body><h1>Developer Portal</h1></body></html>")
	})
	return a
}
