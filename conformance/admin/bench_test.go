package admin_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/config"
)

// BenchmarkAdminRoutes10k creates 10,000 routes through the Admin API over
// loopback HTTP on the embedded SQLite store, then lists them all in pages
// of 1,000. Run it with -benchtime=1x; it reports routes created per second,
// the time to list them and the heap in use afterwards.
func BenchmarkAdminRoutes10k(b *testing.B) {
	const routes = 10000
	for i := 0; i < b.N; i++ {
		cfg, err := config.Load(config.LoadOptions{Flags: map[string]string{
			"prefix": b.TempDir(), "admin_listen": "127.0.0.1:0", "proxy_listen": "off",
			"status_listen": "off", "admin_gui_listen": "off", "log_level": "error"}})
		if err != nil {
			b.Fatal(err)
		}
		node, err := app.Start(context.Background(), cfg, nil)
		if err != nil {
			b.Fatal(err)
		}
		base := "http://" + node.Addr("admin")
		post := func(path, body string) {
			res, err := http.Post(base+path, "application/json", bytes.NewBufferString(body))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusCreated {
				b.Fatalf("POST %s: %d", path, res.StatusCode)
			}
		}
		post("/services", `{"name":"bench","url":"http://127.0.0.1:9/"}`)
		start := time.Now()
		for r := 0; r < routes; r++ {
			post("/services/bench/routes", fmt.Sprintf(`{"name":"r%d","paths":["/r%d"]}`, r, r))
		}
		created := time.Since(start)
		start = time.Now()
		next, seen := "/routes?size=1000", 0
		for next != "" {
			res, err := http.Get(base + next)
			if err != nil {
				b.Fatal(err)
			}
			var page struct {
				Data []map[string]any `json:"data"`
				Next *string          `json:"next"`
			}
			if err := decodeJSON(res.Body, &page); err != nil {
				b.Fatal(err)
			}
			res.Body.Close()
			seen += len(page.Data)
			next = ""
			if page.Next != nil {
				next = *page.Next
			}
		}
		listed := time.Since(start)
		if seen != routes {
			b.Fatalf("listed %d routes, want %d", seen, routes)
		}
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		b.ReportMetric(float64(routes)/created.Seconds(), "routes-created/s")
		b.ReportMetric(float64(listed.Milliseconds()), "list-10k-ms")
		b.ReportMetric(float64(m.HeapInuse)/(1<<20), "heap-MiB")
		node.Close()
	}
}
