package proxywasm

import "testing"

func TestNodeProperty(t *testing.T) {
	SetNodeInfo(&NodeInfo{Version: "3.9.3", Configuration: map[string]any{
		"log_level": "notice", "nginx_worker_processes": 2, "anonymous_reports": false,
		"plugins": []string{"bundled"}, "pg_password": "******", "unset": nil,
		"proxy_listeners": []map[string]any{{"port": 8000}},
	}})
	t.Cleanup(func() { SetNodeInfo(nil) })
	tests := []struct {
		path, want string
		ok         bool
	}{
		{"kong.version", "3.9.3", true},
		{"kong.configuration.log_level", "notice", true},
		{"kong.configuration.nginx_worker_processes", "2", true},
		{"kong.configuration.anonymous_reports", "false", true},
		{"kong.configuration.plugins", `["bundled"]`, true},
		{"kong.configuration.proxy_listeners", `[{"port":8000}]`, true},
		{"kong.configuration.unset", "", false},
		{"kong.configuration.nothing", "", false},
		{"kong.configuration.", "", false},
		{"kong.versions", "", false},
	}
	for _, tt := range tests {
		got, ok := nodeProperty(tt.path)
		if ok != tt.ok || string(got) != tt.want {
			t.Errorf("nodeProperty(%q) = %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
	SetNodeInfo(nil)
	if _, ok := nodeProperty("kong.version"); ok {
		t.Error("kong.version without node information")
	}
}
