// Command forwarder is the benchmark's ceiling: a bare Fiber handler that
// forwards every request to one upstream with fasthttp.HostClient, with no
// routing and no plugins. Gatehouse runs on the same stack, so the ratio of
// the two shows what Gatehouse's own work costs.
package main

import (
	"flag"
	"log"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9001", "address to serve")
	upstream := flag.String("upstream", "127.0.0.1:9000", "upstream address")
	flag.Parse()
	client := &fasthttp.HostClient{Addr: *upstream, MaxConns: 4096, NoDefaultUserAgentHeader: true}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(func(c *fiber.Ctx) error {
		req, resp := &c.Context().Request, &c.Context().Response
		req.Header.Del("Connection")
		return client.Do(req, resp)
	})
	log.Fatal(app.Listen(*listen))
}
