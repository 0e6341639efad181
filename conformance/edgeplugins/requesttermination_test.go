package edgeplugins_test

import (
	"strings"
	"testing"
)

func TestRequestTermination(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		name     string
		config   map[string]any
		req      request
		status   int
		body     string // exact body; "" with proxied false means empty
		ctype    string
		proxied  bool
		echoPath string // for echo: request.path expected
	}{
		{"defaults", nil, request{method: "GET"}, 503, `{"message":"Service unavailable"}`, "application/json; charset=utf-8", false, ""},
		{"404 default message", map[string]any{"status_code": 404}, request{method: "GET"}, 404, `{"message":"Not found"}`, "application/json; charset=utf-8", false, ""},
		{"status without default message", map[string]any{"status_code": 418}, request{method: "GET"}, 418, ``, "", false, ""},
		{"custom message", map[string]any{"status_code": 403, "message": "So long"}, request{method: "POST"}, 403, `{"message":"So long"}`, "application/json; charset=utf-8", false, ""},
		{"raw body and type", map[string]any{"status_code": 200, "body": "<h1>bye</h1>", "content_type": "text/html"}, request{method: "GET"}, 200, `<h1>bye</h1>`, "text/html", false, ""},
		{"trigger header absent", map[string]any{"trigger": "X-Stop"}, request{method: "GET"}, 200, `{"ok":true}`, "application/json", true, ""},
		{"trigger header present", map[string]any{"trigger": "X-Stop"}, request{method: "GET", headers: map[string]string{"x-stop": "1"}}, 503, `{"message":"Service unavailable"}`, "application/json; charset=utf-8", false, ""},
		{"trigger query flag", map[string]any{"trigger": "X-Stop"}, request{method: "GET", path: "?X-Stop"}, 503, `{"message":"Service unavailable"}`, "application/json; charset=utf-8", false, ""},
		{"trigger query other case", map[string]any{"trigger": "X-Stop"}, request{method: "GET", path: "?x-stop=1"}, 200, `{"ok":true}`, "application/json", true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := e.route("request-termination", c.config)
			r := c.req
			r.path = path + r.path
			before := e.hits.Load()
			res := e.send(&r)
			if res.StatusCode != c.status || res.body != c.body {
				t.Fatalf("got %d %q, want %d %q", res.StatusCode, res.body, c.status, c.body)
			}
			if got := res.Header.Get("Content-Type"); got != c.ctype {
				t.Errorf("Content-Type %q, want %q", got, c.ctype)
			}
			if proxied := e.hits.Load() > before; proxied != c.proxied {
				t.Errorf("proxied %v, want %v", proxied, c.proxied)
			}
		})
	}
}

func TestRequestTerminationEcho(t *testing.T) {
	e := newEnv(t, nil)
	path := e.route("request-termination", map[string]any{"echo": true, "status_code": 404, "trigger": "x-echo"})
	res := e.send(&request{method: "POST", path: path + "sub?a=1&a=2&flag&x-echo=&e=",
		headers: map[string]string{"Content-Type": "application/json", "X-Multi": "v"},
		body:    strings.NewReader(`{"k":"v"}`), length: 9})
	if res.StatusCode != 404 || res.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("echo: %d %s %q", res.StatusCode, res.body, res.Header.Get("Content-Type"))
	}
	m := jsonBody(t, res.body)
	if m["message"] != "Not found" {
		t.Errorf("message %v", m["message"])
	}
	kong, _ := m["kong"].(map[string]any)
	if kong["node_id"] == "" || kong["hostname"] == nil || kong["worker_pid"] == nil {
		t.Errorf("kong %v", kong)
	}
	req, _ := m["request"].(map[string]any)
	checks := map[string]any{"method": "POST", "path": path + "sub", "scheme": "http", "host": "127.0.0.1", "raw_body": `{"k":"v"}`}
	for k, want := range checks {
		if req[k] != want {
			t.Errorf("request.%s = %v, want %v", k, req[k], want)
		}
	}
	q, _ := req["query"].(map[string]any)
	if a, _ := q["a"].([]any); len(a) != 2 || a[0] != "1" || q["flag"] != true || q["e"] != "" || q["x-echo"] != "" {
		t.Errorf("query %v", q)
	}
	if h, _ := req["headers"].(map[string]any); h["x-multi"] != "v" {
		t.Errorf("headers %v", h)
	}
	if b, _ := req["body"].(map[string]any); b["k"] != "v" {
		t.Errorf("body %v", req["body"])
	}
	if r, _ := m["matched_route"].(map[string]any); r["id"] == nil {
		t.Errorf("matched_route %v", m["matched_route"])
	}
	if s, _ := m["matched_service"].(map[string]any); s["name"] != "svc" {
		t.Errorf("matched_service %v", m["matched_service"])
	}
	// without the trigger the request goes through
	if res := e.send(&request{method: "GET", path: path}); res.StatusCode != 200 {
		t.Errorf("untriggered: %d", res.StatusCode)
	}
}

func TestRequestTerminationSchemaErrors(t *testing.T) {
	e := newEnv(t, nil)
	e.must(201, "POST", "/services/svc/routes", map[string]any{"name": "x", "paths": []string{"/x"}})
	cases := []struct {
		config map[string]any
		want   string
	}{
		{map[string]any{"message": "m", "body": "b"}, "message cannot be used with content_type or body"},
		{map[string]any{"content_type": "text/plain"}, "content_type requires a body"},
		{map[string]any{"echo": true, "body": "b"}, "echo cannot be used with content_type and body"},
		{map[string]any{"status_code": 600}, "value should be between 100 and 599"},
		{map[string]any{"trigger": "bad header"}, "bad header name 'bad header'"},
	}
	for _, c := range cases {
		status, body := e.call("POST", "/routes/x/plugins", map[string]any{"name": "request-termination", "config": c.config})
		if msg, _ := body["message"].(string); status != 400 || !contains(msg, c.want) {
			t.Errorf("%v: %d %v, want 400 naming %q", c.config, status, body, c.want)
		}
	}
}
