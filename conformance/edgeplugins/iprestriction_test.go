package edgeplugins_test

import (
	"testing"
)

func TestIPRestriction(t *testing.T) {
	// The node trusts the loopback peer, so X-Real-IP is the client IP.
	e := newEnv(t, map[string]string{"trusted_ips": "127.0.0.1,::1", "real_ip_header": "X-Real-IP"})
	cases := []struct {
		name   string
		config map[string]any
		ip     string // X-Real-IP; "" sends none (client 127.0.0.1)
		status int
		body   map[string]any // nil: proxied
	}{
		{"deny v4 exact", map[string]any{"deny": []string{"10.0.0.1"}}, "10.0.0.1", 403, map[string]any{"message": "IP address not allowed: 10.0.0.1"}},
		{"deny v4 other passes", map[string]any{"deny": []string{"10.0.0.1"}}, "10.0.0.2", 200, nil},
		{"deny cidr", map[string]any{"deny": []string{"10.0.0.0/8"}}, "10.200.3.4", 403, map[string]any{"message": "IP address not allowed: 10.200.3.4"}},
		{"deny unmasked cidr", map[string]any{"deny": []string{"192.168.1.77/24"}}, "192.168.1.3", 403, map[string]any{"message": "IP address not allowed: 192.168.1.3"}},
		{"allow cidr in", map[string]any{"allow": []string{"172.16.0.0/12"}}, "172.20.1.1", 200, nil},
		{"allow cidr out", map[string]any{"allow": []string{"172.16.0.0/12"}}, "172.32.0.1", 403, map[string]any{"message": "IP address not allowed: 172.32.0.1"}},
		{"deny wins over allow", map[string]any{"allow": []string{"10.0.0.0/8"}, "deny": []string{"10.1.1.1"}}, "10.1.1.1", 403, map[string]any{"message": "IP address not allowed: 10.1.1.1"}},
		{"v6 deny", map[string]any{"deny": []string{"2001:db8::/32"}}, "2001:db8::5", 403, map[string]any{"message": "IP address not allowed: 2001:db8::5"}},
		{"v6 allow", map[string]any{"allow": []string{"2001:db8::/32"}}, "2001:db8:0:1::9", 200, nil},
		{"v6 allow out", map[string]any{"allow": []string{"::1"}}, "2001:db9::1", 403, map[string]any{"message": "IP address not allowed: 2001:db9::1"}},
		{"v4 client vs v6 list", map[string]any{"allow": []string{"2001:db8::/32"}}, "10.0.0.1", 403, map[string]any{"message": "IP address not allowed: 10.0.0.1"}},
		{"status and message", map[string]any{"deny": []string{"10.0.0.1"}, "status": 401, "message": "go away"}, "10.0.0.1", 401, map[string]any{"message": "go away"}},
		{"loopback peer denied", map[string]any{"deny": []string{"127.0.0.0/8"}}, "", 403, map[string]any{"message": "IP address not allowed: 127.0.0.1"}},
		{"garbage header falls back to peer", map[string]any{"allow": []string{"10.0.0.0/8"}}, "not-an-ip", 403, nil},
		{"allow all v4", map[string]any{"allow": []string{"0.0.0.0/0"}}, "203.0.113.9", 200, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := e.route("ip-restriction", c.config)
			hdrs := map[string]string{}
			if c.ip != "" {
				hdrs["X-Real-IP"] = c.ip
			}
			before := e.hits.Load()
			res := e.send(&request{method: "GET", path: path, headers: hdrs})
			if res.StatusCode != c.status {
				t.Fatalf("status %d %s, want %d", res.StatusCode, res.body, c.status)
			}
			proxied := e.hits.Load() > before
			if proxied != (c.status == 200) {
				t.Errorf("proxied %v with status %d", proxied, c.status)
			}
			if c.body != nil {
				got := jsonBody(t, res.body)
				// kong.response.error: message and request_id
				if got["message"] != c.body["message"] || got["request_id"] == nil || len(got) != 2 {
					t.Errorf("body %v, want %v", got, c.body)
				}
				if ct := res.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
			}
		})
	}
}

// TestIPRestrictionUntrustedPeer: without trusted_ips the X-Real-IP header
// is ignored; the connection's address decides.
func TestIPRestrictionUntrustedPeer(t *testing.T) {
	e := newEnv(t, nil)
	path := e.route("ip-restriction", map[string]any{"allow": []string{"10.0.0.1"}})
	res := e.send(&request{method: "GET", path: path, headers: map[string]string{"X-Real-IP": "10.0.0.1", "X-Forwarded-For": "10.0.0.1"}})
	if res.StatusCode != 403 || jsonBody(t, res.body)["message"] != "IP address not allowed: 127.0.0.1" {
		t.Errorf("spoofed header: %d %s", res.StatusCode, res.body)
	}
}

func TestIPRestrictionSchemaErrors(t *testing.T) {
	e := newEnv(t, nil)
	e.must(201, "POST", "/services/svc/routes", map[string]any{"name": "x", "paths": []string{"/x"}})
	cases := []struct {
		config map[string]any
		want   string
	}{
		{map[string]any{}, "at least one of these fields must be non-empty: 'config.allow', 'config.deny'"},
		{map[string]any{"allow": []string{"1.2.3.400"}}, "invalid ip or cidr range: '1.2.3.400'"},
		{map[string]any{"deny": []string{"10.0.0.0/33"}}, "invalid ip or cidr range: '10.0.0.0/33'"},
	}
	for _, c := range cases {
		status, body := e.call("POST", "/routes/x/plugins", map[string]any{"name": "ip-restriction", "config": c.config})
		if status != 400 {
			t.Errorf("%v: status %d, want 400", c.config, status)
			continue
		}
		if msg, _ := body["message"].(string); !contains(msg, c.want) {
			t.Errorf("%v: message %q, want it to name %q", c.config, msg, c.want)
		}
	}
}
