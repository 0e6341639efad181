package gokong_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestKeepAliveWritesKeepTheirValues reproduces issue 7 item 1: a service
// and a route created with PUT /{entity}/{id} on one keep-alive connection,
// followed by another request on that connection (curl ... --next ...).
// Values taken from a request (the id in the path, header and body
// strings) must not change when the connection's buffers are reused: the
// snapshot must hold what the database holds and the route must proxy.
func TestKeepAliveWritesKeepTheirValues(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			n := startNode(t, b.settings(t))
			up := startUpstream(t, "up")
			hc, dials := oneConn()
			c := &adminClient{t: t, base: "http://" + n.Addr("admin"), hc: hc}
			proxy := "http://" + n.Addr("proxy")
			for i := 0; i < 5; i++ {
				svc := fmt.Sprintf("cccccccc-cccc-4ccc-8ccc-%012d", i)
				route := fmt.Sprintf("dddddddd-dddd-4ddd-8ddd-%012d", i)
				consumer := fmt.Sprintf("eeeeeeee-eeee-4eee-8eee-%012d", i)
				c.form(http.MethodPut, "/services/"+svc, http.StatusOK, fmt.Sprintf("name=s%d", i), "url=http://"+up+"/")
				c.form(http.MethodPut, "/routes/"+route, http.StatusOK, fmt.Sprintf("name=r%d", i), fmt.Sprintf("paths=/r%d", i), "service.id="+svc)
				if r := c.send(http.MethodGet, "/consumers/"+consumer, "", nil); r.status != http.StatusNotFound {
					t.Fatalf("GET /consumers/%s: %d %s", consumer, r.status, r.raw)
				}
				// A key-auth credential and a plugin by id, then an
				// unrelated request reusing the buffers again.
				c.form(http.MethodPut, "/consumers/"+consumer, http.StatusOK, fmt.Sprintf("username=u%d", i))
				c.form(http.MethodPut, "/consumers/"+consumer+"/key-auth/"+strings.Replace(consumer, "eeeeeeee", "ffffffff", 1), http.StatusOK, fmt.Sprintf("key=key-auth-%d", i))
				c.form(http.MethodPut, "/plugins/"+strings.Replace(svc, "cccccccc", "aaaaaaaa", 1), http.StatusOK,
					"name=rate-limiting", "config.minute=1000", "route.id="+route)
				c.send(http.MethodGet, "/routes/"+route+"/service", "", nil)
			}
			if *dials != 1 {
				t.Fatalf("the Admin API requests used %d connections, want one keep-alive connection", *dials)
			}
			if diffs := compareSnapshot(t, n); len(diffs) > 0 {
				t.Fatalf("snapshot differs from the database:\n%s", strings.Join(diffs, "\n"))
			}
			for i := 0; i < 5; i++ {
				status, h, body := proxyGet(t, proxy, fmt.Sprintf("/r%d/x", i), nil)
				if status != http.StatusOK || body != "up" || h.Get("X-Upstream-Path") != "/x" {
					t.Fatalf("GET /r%d/x through the proxy: %d %q (upstream path %q)", i, status, body, h.Get("X-Upstream-Path"))
				}
			}
		})
	}
}
