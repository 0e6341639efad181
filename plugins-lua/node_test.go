package luahost_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	luahost "github.com/gatehouse/gatehouse/plugins-lua"
	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/config"
)

func httpJSON(t *testing.T, method, url string, body any, header map[string]string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return res.StatusCode, m
}

// TestNode: the provider in a real node: the converted schema validates
// and fills defaults on the Admin API, the Lua validators report there,
// the plugin's entity has its endpoint, a Lua access phase changes the
// proxied request, and a Lua error answers 500.
func TestNode(t *testing.T) {
	h, err := luahost.New(luahost.Options{PluginsDir: "testdata/plugins", Install: install,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.LoadOptions{Flags: map[string]string{
		"prefix": t.TempDir(), "admin_listen": "127.0.0.1:0", "proxy_listen": "127.0.0.1:0",
		"status_listen": "off", "admin_gui_listen": "off", "log_level": "crit", "plugins": "bundled,crafter,faulty,modern",
	}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := app.StartWith(context.Background(), cfg, app.Options{Providers: []hostabi.Provider{h}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	admin, proxy := "http://"+n.Addr("admin"), "http://"+n.Addr("proxy")
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"token": r.Header.Get("X-Token"), "greeting": r.Header.Get("X-Greeting")})
	}))
	defer upstream.Close()

	must := func(want int, method, url string, body any) map[string]any {
		t.Helper()
		got, m := httpJSON(t, method, url, body, nil)
		if got != want {
			t.Fatalf("%s %s = %d %v, want %d", method, url, got, m, want)
		}
		return m
	}
	must(201, "POST", admin+"/services", map[string]any{"name": "s", "url": upstream.URL})
	must(201, "POST", admin+"/services/s/routes", map[string]any{"name": "r", "paths": []string{"/p"}})
	must(201, "POST", admin+"/services/s/routes", map[string]any{"name": "f", "paths": []string{"/f"}})

	// The 0.x schema's defaults, filled by the node.
	p := must(201, "POST", admin+"/routes/r/plugins", map[string]any{"name": "crafter", "config": map[string]any{"header": "x-token"}})
	conf, _ := p["config"].(map[string]any)
	if conf["expires_in"] != float64(28800) || conf["mode"] != "header" || conf["limits"].(map[string]any)["per_minute"] != float64(60) {
		t.Errorf("defaults: %v", conf)
	}
	// The Lua func of the 0.x schema reports on the Admin API.
	code, m := httpJSON(t, "POST", admin+"/routes/f/plugins", map[string]any{"name": "crafter", "config": map[string]any{"header": "bad"}}, nil)
	if code != 400 || !strings.Contains(mustJSON(m), "header must start with x-") {
		t.Errorf("bad header: %d %v", code, m)
	}
	// no_consumer from the 0.x schema.
	must(201, "POST", admin+"/consumers", map[string]any{"username": "alice"})
	if code, m := httpJSON(t, "POST", admin+"/consumers/alice/plugins", map[string]any{"name": "crafter"}, nil); code != 400 {
		t.Errorf("consumer-scoped crafter: %d %v", code, m)
	}
	// The schema endpoint and the plugin's entity.
	s := must(200, "GET", admin+"/schemas/plugins/modern", nil)
	if !strings.Contains(mustJSON(s), `"x_gatehouse_validator":"header_name"`) {
		t.Errorf("schema: %v", s)
	}
	must(200, "GET", admin+"/crafter-keys", nil)

	must(201, "POST", admin+"/routes/f/plugins", map[string]any{"name": "faulty"})
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, m := httpJSON(t, "GET", proxy+"/p", nil, map[string]string{"X-User": "alice"})
		if code == 200 && m["token"] == "crafter:alice:28800" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("proxy: %d %v", code, m)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The faulty plugin applies once the node's snapshot has it.
	for {
		code, m := httpJSON(t, "GET", proxy+"/f", nil, map[string]string{"X-Mode": "error"})
		if code == 500 {
			if m["message"] != "An unexpected error occurred" {
				t.Errorf("Lua error: %d %v", code, m)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Lua error: %d %v", code, m)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, m := httpJSON(t, "GET", proxy+"/f", nil, map[string]string{"X-Mode": "loop"}); code != 500 {
		t.Errorf("Lua timeout: %d %v", code, m)
	}
	if code, _ := httpJSON(t, "GET", proxy+"/f", nil, nil); code != 200 {
		t.Errorf("after the faults: %d", code)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
