package luaplugins_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-lua/kongenv"
	"github.com/gatehouse/gatehouse/runtime/app"
)

// jsonCall sends an Admin API request with a JSON body and returns the
// status and the answer.
func (nd *node) jsonCall(method, path string, body any) (int, []byte) {
	nd.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, nd.admin+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		nd.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

// TestServerless: pre-function and post-function come with `bundled`
// and run the configured code, sandboxed, in each phase.
func TestServerless(t *testing.T) {
	p, err := kongenv.NewProvider(kongenv.Options{Serverless: true, Prefix: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	n := testnode.StartWith(t, map[string]string{"plugins": "bundled"},
		app.Options{Providers: []hostabi.Provider{p}, Bundled: kongenv.Serverless})
	nd := &node{t: t, n: n, admin: "http://" + n.Addr("admin"), proxy: "http://" + n.Addr("proxy")}
	var got http.Header
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		io.WriteString(w, "up")
	}))
	defer up.Close()

	status, body := nd.jsonCall("GET", "/plugins/enabled", nil)
	if status != 200 || !bytes.Contains(body, []byte(`"pre-function"`)) || !bytes.Contains(body, []byte(`"post-function"`)) {
		t.Fatalf("/plugins/enabled: %d %s", status, body)
	}
	nd.form("POST", "/services", "name=s", "url="+up.URL)
	for _, r := range []string{"fn", "stop", "escape"} {
		nd.form("POST", "/services/s/routes", "name="+r, "paths=/"+r)
	}
	mustCreate := func(path string, body map[string]any) {
		t.Helper()
		if status, b := nd.jsonCall("POST", path, body); status != 201 {
			t.Fatalf("POST %s: %d %s", path, status, b)
		}
	}
	mustCreate("/routes/fn/plugins", map[string]any{"name": "pre-function", "config": map[string]any{"access": []string{
		`kong.service.request.set_header("X-Pre", "yes")`,
		`local n = 0
		 return function()
		   n = n + 1
		   kong.service.request.set_header("X-Calls", tostring(n))
		 end`,
	}}})
	mustCreate("/routes/fn/plugins", map[string]any{"name": "post-function", "config": map[string]any{
		"header_filter": []string{`kong.response.set_header("X-Post", "done")`}}})
	mustCreate("/routes/stop/plugins", map[string]any{"name": "pre-function", "config": map[string]any{
		"access": []string{`return kong.response.exit(403, { message = "blocked" })`}}})
	mustCreate("/routes/escape/plugins", map[string]any{"name": "pre-function", "config": map[string]any{
		"access": []string{`os.execute("touch /tmp/gatehouse-escaped")`}}})

	// Wait until the proxy has the last plugin of the route.
	deadline := time.Now().Add(5 * time.Second)
	var h http.Header
	var b []byte
	for {
		var status int
		status, h, b = nd.get("/fn", nil)
		if status == 200 && h.Get("X-Post") != "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if string(b) != "up" || h.Get("X-Post") != "done" || got.Get("X-Pre") != "yes" || got.Get("X-Calls") == "" {
		t.Fatalf("pre/post-function: body %q, X-Post %q, upstream X-Pre %q X-Calls %q", b, h.Get("X-Post"), got.Get("X-Pre"), got.Get("X-Calls"))
	}
	if _, b := nd.eventually("/stop", nil, 403); !strings.Contains(string(b), `"blocked"`) {
		t.Errorf("exit from the code: %s", b)
	}
	// The sandbox has no os.execute: the code fails, the request gets a 500.
	if _, b := nd.eventually("/escape", nil, 500); !strings.Contains(string(b), "An unexpected error occurred") {
		t.Errorf("sandbox escape attempt: %s", b)
	}
	// Code that does not compile is refused with Kong's message.
	status, body = nd.jsonCall("POST", "/routes/fn/plugins", map[string]any{"name": "pre-function",
		"config": map[string]any{"log": []string{"local = "}}})
	if status != 400 || !strings.Contains(string(body), "error parsing pre-function") {
		t.Errorf("code that does not compile: %d %s", status, body)
	}
	// A configuration without any code is refused.
	status, body = nd.jsonCall("POST", "/routes/fn/plugins", map[string]any{"name": "post-function", "config": map[string]any{}})
	if status != 400 || !strings.Contains(string(body), "at least one of these fields must be non-empty") {
		t.Errorf("no code: %d %s", status, body)
	}
	// A plugin reload keeps them: `bundled` still enables them.
	if _, err := n.ReloadPlugins(context.Background()); err != nil {
		t.Fatal(err)
	}
	if status, h, _ := nd.get("/fn", nil); status != 200 || h.Get("X-Post") != "done" {
		t.Errorf("after a reload: %d, X-Post %q", status, h.Get("X-Post"))
	}
}

// TestGlobalPluginsSeeEarlyEnds: a request that ends before the access
// phase (an exit in rewrite, no route matched) still runs the global
// plugins' later phases, as Kong's runloop does: a global file-log
// records both.
func TestGlobalPluginsSeeEarlyEnds(t *testing.T) {
	p, err := kongenv.NewProvider(kongenv.Options{Serverless: true, Prefix: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	n := testnode.StartWith(t, map[string]string{"plugins": "bundled"},
		app.Options{Providers: []hostabi.Provider{p}, Bundled: kongenv.Serverless})
	nd := &node{t: t, n: n, admin: "http://" + n.Addr("admin"), proxy: "http://" + n.Addr("proxy")}
	path := filepath.Join(t.TempDir(), "access.log")
	if status, b := nd.jsonCall("POST", "/plugins", map[string]any{"name": "file-log", "config": map[string]any{"path": path}}); status != 201 {
		t.Fatalf("file-log: %d %s", status, b)
	}
	if status, b := nd.jsonCall("POST", "/plugins", map[string]any{"name": "pre-function", "config": map[string]any{
		"rewrite": []string{`if kong.request.get_path() == "/blocked" then return kong.response.exit(403, { message = "blocked early" }) end`}}}); status != 201 {
		t.Fatalf("pre-function: %d %s", status, b)
	}
	nd.eventually("/blocked", nil, 403)
	nd.eventually("/nowhere", nil, 404)
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		log := string(b)
		if strings.Contains(log, `"uri":"/blocked"`) && strings.Contains(log, `"status":403`) &&
			strings.Contains(log, `"uri":"/nowhere"`) && strings.Contains(log, `"status":404`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the global file-log did not record both early ends:\n%s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
