package proxy_test

import (
	"math"
	"net/http"
	"strings"
	"testing"
)

// TestForwardedHeaders checks what the upstream receives: Kong's
// X-Forwarded-* and X-Real-IP, strip_path with X-Forwarded-Prefix, the Host
// header with and without preserve_host, and forwarded values honoured only
// from trusted_ips.
func TestForwardedHeaders(t *testing.T) {
	up := startUpstream(t, "echo", nil)
	cases := []struct {
		name     string
		settings map[string]string
		wantIP   string
		wantHost string // X-Forwarded-Host
	}{
		{"untrusted client", nil, "127.0.0.1", "example.com"},
		{"trusted client", map[string]string{"trusted_ips": "127.0.0.1/32", "real_ip_header": "X-Forwarded-For"}, "203.0.113.9", "public.example"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nd := startNode(t, c.settings)
			nd.configure("POST", "/services", "name=s", "url=http://"+up.addr+"/base")
			nd.configure("POST", "/services/s/routes", "name=strip", "paths=/api", "strip_path=true")
			nd.configure("POST", "/services/s/routes", "name=keep", "paths=/keep", "strip_path=false", "preserve_host=true")
			r := nd.request("GET", "/api/items?q=1", map[string]string{"Host": "example.com",
				"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "public.example", "X-Forwarded-Proto": "https"}, nil)
			e := r.echo(t)
			if e.Path != "/base/items" || e.Query != "q=1" {
				t.Errorf("upstream path %s?%s", e.Path, e.Query)
			}
			if e.Host != up.addr {
				t.Errorf("Host %q, want the service's %q", e.Host, up.addr)
			}
			if got := e.header("X-Real-IP"); got != c.wantIP {
				t.Errorf("X-Real-IP %q, want %q", got, c.wantIP)
			}
			if got := e.header("X-Forwarded-For"); got != "203.0.113.9, 127.0.0.1" {
				t.Errorf("X-Forwarded-For %q", got)
			}
			if got := e.header("X-Forwarded-Host"); got != c.wantHost {
				t.Errorf("X-Forwarded-Host %q, want %q", got, c.wantHost)
			}
			if got := e.header("X-Forwarded-Prefix"); got != "/api" {
				t.Errorf("X-Forwarded-Prefix %q", got)
			}
			if got := e.header("X-Forwarded-Path"); got != "/api/items" {
				t.Errorf("X-Forwarded-Path %q", got)
			}
			kept := nd.request("GET", "/keep/x", map[string]string{"Host": "client.example"}, nil).echo(t)
			if kept.Host != "client.example" || kept.Path != "/base/keep/x" || kept.header("X-Forwarded-Prefix") != "" {
				t.Errorf("preserve_host route: host %q path %q prefix %q", kept.Host, kept.Path, kept.header("X-Forwarded-Prefix"))
			}
		})
	}
}

// TestHeadersSetting switches Kong's informational headers with `headers`.
func TestHeadersSetting(t *testing.T) {
	up := startUpstream(t, "echo", nil)
	for _, c := range []struct {
		headers string
		present []string
		absent  []string
	}{
		{"", []string{"Via", "X-Kong-Upstream-Latency", "X-Kong-Proxy-Latency"}, []string{"X-Kong-Request-Id"}},
		{"off", nil, []string{"Via", "X-Kong-Upstream-Latency", "X-Kong-Proxy-Latency", "Server"}},
		{"X-Kong-Upstream-Latency,X-Kong-Request-Id", []string{"X-Kong-Upstream-Latency", "X-Kong-Request-Id"}, []string{"Via", "X-Kong-Proxy-Latency"}},
	} {
		settings := map[string]string{}
		if c.headers != "" {
			settings["headers"] = c.headers
		}
		nd := startNode(t, settings)
		nd.configure("POST", "/services", "name=s", "url=http://"+up.addr)
		nd.configure("POST", "/services/s/routes", "paths=/")
		r := nd.request("GET", "/", nil, nil)
		for _, h := range c.present {
			if r.header.Get(h) == "" {
				t.Errorf("headers=%q: %s missing", c.headers, h)
			}
		}
		for _, h := range c.absent {
			if h == "Server" {
				continue // proxied responses carry the upstream's Server
			}
			if r.header.Get(h) != "" {
				t.Errorf("headers=%q: unexpected %s: %s", c.headers, h, r.header.Get(h))
			}
		}
	}
}

// TestWeightedDistribution sends 10,000 requests over real sockets to an
// upstream with three targets weighted 10/20/70: each gets its share
// within 5 %.
func TestWeightedDistribution(t *testing.T) {
	nd := startNode(t, nil)
	nd.configure("POST", "/upstreams", "name=weights.test")
	weights := map[string]float64{}
	for name, w := range map[string]string{"a": "10", "b": "20", "c": "70"} {
		u := startUpstream(t, name, func(name string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Upstream", name) }
		}(name))
		nd.configure("POST", "/upstreams/weights.test/targets", "target="+u.addr, "weight="+w)
		weights[name] = map[string]float64{"10": 0.1, "20": 0.2, "70": 0.7}[w]
	}
	nd.configure("POST", "/services", "name=w", "host=weights.test")
	nd.configure("POST", "/services/w/routes", "paths=/w")
	const total = 10000
	seen := map[string]int{}
	client := &http.Client{}
	for i := 0; i < total; i++ {
		res, err := client.Get(nd.proxy + "/w")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		seen[strings.TrimSpace(res.Header.Get("X-Upstream"))]++
	}
	for name, share := range weights {
		got := float64(seen[name]) / total
		if math.Abs(got-share)/share > 0.05 {
			t.Errorf("target %s got %.3f of the traffic, want %.3f ±5%%", name, got, share)
		}
	}
}
