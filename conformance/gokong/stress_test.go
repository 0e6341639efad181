package gokong_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestKeepAliveStress: many clients, each on its own keep-alive connection,
// write concurrently with PUT, PATCH, POST and DELETE, in JSON and form
// bodies, with query strings and ids in paths; afterwards the snapshot
// matches the database entity by entity and every route proxies. Run it
// under -race: it also proves no request's buffers are shared.
func TestKeepAliveStress(t *testing.T) {
	workers, rounds := 6, 30
	if testing.Short() {
		workers, rounds = 3, 10
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			n := startNode(t, b.settings(t))
			up := startUpstream(t, "up")
			base := "http://" + n.Addr("admin")
			var wg sync.WaitGroup
			failures := make(chan string, workers)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ft := &failT{TB: t}
					hc, dials := oneConn()
					c := &adminClient{t: ft, base: base, hc: hc}
					defer func() {
						if r := recover(); r != nil && r != errFailed {
							panic(r)
						}
						if ft.msg != "" {
							failures <- ft.msg
						} else if *dials != 1 {
							failures <- fmt.Sprintf("worker %d used %d connections", w, *dials)
						}
					}()
					stressWorker(c, w, rounds, up)
				}()
			}
			wg.Wait()
			close(failures)
			for f := range failures {
				t.Fatal(f)
			}
			if diffs := compareSnapshot(t, n); len(diffs) > 0 {
				t.Fatalf("snapshot differs from the database:\n%s", strings.Join(diffs, "\n"))
			}
			proxy := "http://" + n.Addr("proxy")
			for w := range workers {
				for k := range 3 {
					path := fmt.Sprintf("/w%d/k%d/p", w, k)
					if status, _, body := proxyGet(t, proxy, path, nil); status != 200 || body != "up" {
						t.Fatalf("GET %s through the proxy: %d %q", path, status, body)
					}
				}
			}
		})
	}
}

// stressWorker runs one client's rounds: each round upserts a service, a
// route and a plugin by id, patches the route, creates and deletes a
// consumer and reads lists with query strings; every third round it
// deletes and recreates a route.
func stressWorker(c *adminClient, w, rounds int, up string) {
	for i := range rounds {
		k := i % 3
		svc := fmt.Sprintf("5e000000-0000-4000-8000-%06d%06d", w, k)
		route := fmt.Sprintf("7e000000-0000-4000-8000-%06d%06d", w, k)
		plugin := fmt.Sprintf("9e000000-0000-4000-8000-%06d%06d", w, k)
		name := fmt.Sprintf("w%d-k%d", w, k)
		if i%2 == 0 {
			c.json(http.MethodPut, "/services/"+svc, map[string]any{"name": name, "url": "http://" + up + "/", "tags": []string{name}}, http.StatusOK)
		} else {
			c.form(http.MethodPut, "/services/"+svc, http.StatusOK, "name="+name, "url=http://"+up+"/", "tags="+name)
		}
		paths := fmt.Sprintf("/w%d/k%d", w, k)
		c.form(http.MethodPut, "/routes/"+route, http.StatusOK, "name="+name, "paths="+paths+"/tmp", "service.id="+svc)
		c.json(http.MethodPatch, "/routes/"+route, map[string]any{"paths": []string{paths}, "tags": []string{name, fmt.Sprint("round-", i)}}, http.StatusOK)
		c.json(http.MethodPut, "/plugins/"+plugin, map[string]any{"name": "request-transformer", "route": map[string]any{"id": route},
			"config": map[string]any{"add": map[string]any{"headers": []string{"X-Round:" + fmt.Sprint(i)}}}}, http.StatusOK)
		user := fmt.Sprintf("user-%d-%d", w, i)
		cons := c.form(http.MethodPost, "/consumers", http.StatusCreated, "username="+user, "custom_id="+user+"-c")
		c.form(http.MethodPatch, "/consumers/"+user, http.StatusOK, "custom_id="+user+"-d")
		if r := c.send(http.MethodGet, "/consumers?custom_id="+user+"-d", "", nil); r.status != 200 || !strings.Contains(string(r.raw), cons["id"].(string)) {
			c.t.Fatalf("GET /consumers?custom_id=%s-d: %d %s", user, r.status, r.raw)
		}
		c.send(http.MethodGet, "/services?tags="+name+"&size=5", "", nil)
		if r := c.send(http.MethodDelete, "/consumers/"+user, "", nil); r.status != http.StatusNoContent {
			c.t.Fatalf("DELETE /consumers/%s: %d %s", user, r.status, r.raw)
		}
		if i%3 == 2 {
			if r := c.send(http.MethodDelete, "/routes/"+route, "", nil); r.status != http.StatusNoContent {
				c.t.Fatalf("DELETE /routes/%s: %d %s", route, r.status, r.raw)
			}
			c.json(http.MethodPost, "/routes", map[string]any{"id": route, "name": name, "paths": []string{paths},
				"service": map[string]any{"id": svc, "name": name}}, http.StatusCreated)
			c.json(http.MethodPut, "/plugins/"+plugin, map[string]any{"name": "request-transformer", "route": map[string]any{"id": route},
				"config": map[string]any{"add": map[string]any{"headers": []string{"X-Round:" + fmt.Sprint(i)}}}}, http.StatusOK)
		}
	}
}

// failT turns Fatalf in a worker goroutine into a message for the test
// goroutine (t.Fatal must not be called from other goroutines).
type failT struct {
	testing.TB
	msg string
}

var errFailed = fmt.Errorf("worker failed")

func (f *failT) Helper() {}
func (f *failT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(errFailed)
}
func (f *failT) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	panic(errFailed)
}
