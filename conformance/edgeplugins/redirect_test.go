package edgeplugins_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestRedirect(t *testing.T) {
	e := newEnv(t, nil)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cases := []struct {
		name     string
		config   map[string]any
		suffix   string // appended to the route's path
		status   int
		location string // "$path" is replaced by the route's path
	}{
		{"default 301", map[string]any{"location": "https://example.com/new"}, "a/b?q=1", 301, "https://example.com/new"},
		{"status 302", map[string]any{"location": "https://example.com/", "status_code": 302}, "", 302, "https://example.com/"},
		{"status 308 as is", map[string]any{"location": "http://Example.COM:80/x?keep=1#frag", "status_code": 308}, "", 308, "http://Example.COM:80/x?keep=1#frag"},
		{"keep incoming path and query", map[string]any{"location": "https://example.com/old?drop=1", "keep_incoming_path": true}, "a/b?q=1&r", 301, "https://example.com$patha/b?q=1&r"},
		{"keep path, no query", map[string]any{"location": "https://example.com:8443/old?drop=1", "keep_incoming_path": true}, "x", 301, "https://example.com:8443$pathx"},
		{"keep path, default port dropped", map[string]any{"location": "HTTPS://Example.com:443", "keep_incoming_path": true}, "", 301, "https://example.com$path"},
		{"keep path, fragment kept", map[string]any{"location": "https://example.com/#top", "keep_incoming_path": true}, "p", 301, "https://example.com$pathp#top"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := e.route("redirect", c.config)
			before := e.hits.Load()
			res, err := noFollow.Get(e.proxy + path + c.suffix)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			raw := make([]byte, 64)
			n, _ := res.Body.Read(raw)
			want := strings.ReplaceAll(c.location, "$path", path)
			if res.StatusCode != c.status || res.Header.Get("Location") != want || string(raw[:n]) != "redirecting" {
				t.Errorf("got %d %q %q, want %d %q \"redirecting\"", res.StatusCode, res.Header.Get("Location"), raw[:n], c.status, want)
			}
			if e.hits.Load() != before {
				t.Errorf("the request was proxied")
			}
		})
	}
}

func TestRedirectSchemaErrors(t *testing.T) {
	e := newEnv(t, nil)
	e.must(201, "POST", "/services/svc/routes", map[string]any{"name": "x", "paths": []string{"/x"}})
	cases := []struct {
		config map[string]any
		want   string
	}{
		{map[string]any{}, "required field missing"},
		{map[string]any{"location": "https://a.test", "status_code": 99}, "value should be between 100 and 599"},
		{map[string]any{"location": "not a url"}, "location"},
	}
	for _, c := range cases {
		status, body := e.call("POST", "/routes/x/plugins", map[string]any{"name": "redirect", "config": c.config})
		if msg, _ := body["message"].(string); status != 400 || !contains(msg, c.want) {
			t.Errorf("%v: %d %v, want 400 naming %q", c.config, status, body, c.want)
		}
	}
}
