package observability_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkProxyHTTPLog measures a proxied request's latency with no log
// plugin, with http-log sending to a healthy endpoint, and with its
// endpoint refusing connections or hanging: the figures should match, the
// log work being off the request's path.
func BenchmarkProxyHTTPLog(b *testing.B) {
	healthy := func(tb testing.TB) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
		tb.Cleanup(srv.Close)
		return srv.URL + "/logs"
	}
	cases := []struct {
		name     string
		endpoint func(testing.TB) string
	}{
		{"no-log", nil},
		{"endpoint-up", healthy},
		{"endpoint-refused", closedPort},
		{"endpoint-hanging", hangingServer},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			nd := startNode(b)
			nd.configure("POST", "/services", map[string]any{"name": "s", "url": upstream(b)})
			nd.configure("POST", "/services/s/routes", map[string]any{"name": "r", "paths": []any{"/r"}})
			if tc.endpoint != nil {
				nd.configure("POST", "/plugins", map[string]any{"name": "http-log", "config": map[string]any{
					"http_endpoint": tc.endpoint(b), "timeout": 30000, "queue": map[string]any{"max_entries": 1000}}})
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			url := nd.proxy + "/r"
			b.ResetTimer()
			for b.Loop() {
				res, err := client.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
		})
	}
}
