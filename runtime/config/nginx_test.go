package config

import (
	"testing"
	"time"
)

func TestNginxSettings(t *testing.T) {
	c := Defaults()
	if c.ClientHeaderTimeout() != 60*time.Second || c.ClientBodyTimeout() != 60*time.Second ||
		c.KeepaliveTimeout() != 75*time.Second || c.WorkerShutdownTimeout() != 10*time.Second {
		t.Errorf("defaults: %v %v %v %v", c.ClientHeaderTimeout(), c.ClientBodyTimeout(), c.KeepaliveTimeout(), c.WorkerShutdownTimeout())
	}
	if line, head := c.LargeClientHeaderBuffers(); line != 8<<10 || head != 32<<10 {
		t.Errorf("large_client_header_buffers: %d %d", line, head)
	}
	c, err := Load(LoadOptions{
		Env: []string{"KONG_NGINX_HTTP_CLIENT_HEADER_TIMEOUT=500ms", "GATEHOUSE_NGINX_HTTP_KEEPALIVE_TIMEOUT=1m30s",
			"KONG_NGINX_HTTP_LARGE_CLIENT_HEADER_BUFFERS=8 16k"},
		Flags: map[string]string{"nginx_http_client_body_timeout": "5", "nginx_main_worker_shutdown_timeout": "2s"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.ClientHeaderTimeout() != 500*time.Millisecond || c.KeepaliveTimeout() != 90*time.Second ||
		c.ClientBodyTimeout() != 5*time.Second || c.WorkerShutdownTimeout() != 2*time.Second {
		t.Errorf("loaded: %v %v %v %v", c.ClientHeaderTimeout(), c.KeepaliveTimeout(), c.ClientBodyTimeout(), c.WorkerShutdownTimeout())
	}
	if line, head := c.LargeClientHeaderBuffers(); line != 16<<10 || head != 128<<10 {
		t.Errorf("large_client_header_buffers: %d %d", line, head)
	}
	if v := c.Values()["nginx_http_client_header_timeout"]; v != "500ms" {
		t.Errorf("Values shows %v", v)
	}
	for name, bad := range map[string][]string{
		"nginx_http_client_header_timeout":       {"", "0", "-1s", "10x", "s", "1.5s", "0s"},
		"nginx_http_keepalive_timeout":           {"abc", "1 s"},
		"nginx_http_large_client_header_buffers": {"", "4", "4 8q", "0 8k", "4 512", "4 8k 1", "100 1m"},
		"nginx_main_worker_shutdown_timeout":     {"soon"},
	} {
		for _, v := range bad {
			if _, err := Load(LoadOptions{Flags: map[string]string{name: v}}); err == nil {
				t.Errorf("%s=%q accepted", name, v)
			}
		}
	}
	for in, want := range map[string]time.Duration{"60s": time.Minute, "75": 75 * time.Second, "500ms": 500 * time.Millisecond,
		"1m": time.Minute, "1h30m": 90 * time.Minute, "2d": 48 * time.Hour} {
		if d, err := ParseNginxTime(in); err != nil || d != want {
			t.Errorf("ParseNginxTime(%q) = %v, %v", in, d, err)
		}
	}
}
