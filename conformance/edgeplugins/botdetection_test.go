package edgeplugins_test

import (
	"io"
	"net/http"
	"testing"
)

func TestBotDetection(t *testing.T) {
	e := newEnv(t, nil)
	browser := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
	cases := []struct {
		name   string
		config map[string]any
		ua     string // "-" sends none
		status int
	}{
		{"browser passes", nil, browser, 200},
		{"no user agent passes", nil, "-", 200},
		{"googlebot", nil, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 403},
		{"curl is no bot", nil, "curl/8.5.0", 200},
		{"go client is a downloader", nil, "Go-http-client/1.1", 403},
		{"python-urllib", nil, "Python-urllib/3.11", 403},
		{"facebook", nil, "facebookexternalhit/1.1", 403},
		{"bingbot", nil, "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 403},
		{"generic spider", nil, "MySpider 1.0", 403},
		{"allow beats the list", map[string]any{"allow": []string{"Googlebot"}}, "Googlebot/2.1", 200},
		{"deny", map[string]any{"deny": []string{"^curl/"}}, "curl/8.5.0", 403},
		{"deny with surrounding spaces", map[string]any{"deny": []string{"^curl/"}}, "   curl/8.5.0  ", 403},
		{"allow beats deny", map[string]any{"allow": []string{"curl/8"}, "deny": []string{"curl"}}, "curl/8.5.0", 200},
		{"deny other passes", map[string]any{"deny": []string{"^wget"}}, "curl/8.5.0", 200},
		{"empty user agent", nil, "", 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := e.route("bot-detection", c.config)
			req, _ := http.NewRequest("GET", e.proxy+path, nil)
			if c.ua == "-" {
				req.Header["User-Agent"] = nil
			} else {
				req.Header["User-Agent"] = []string{c.ua}
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != c.status {
				t.Fatalf("status %d %s, want %d", res.StatusCode, raw, c.status)
			}
			if c.status == 403 {
				m := jsonBody(t, string(raw))
				if m["message"] != "Forbidden" {
					t.Errorf("body %s", raw)
				}
			}
		})
	}
}

func TestBotDetectionSchemaErrors(t *testing.T) {
	e := newEnv(t, nil)
	e.must(201, "POST", "/services/svc/routes", map[string]any{"name": "x", "paths": []string{"/x"}})
	status, body := e.call("POST", "/routes/x/plugins", map[string]any{"name": "bot-detection", "config": map[string]any{"deny": []string{"(bad"}}})
	if msg, _ := body["message"].(string); status != 400 || !contains(msg, "not a valid regex: (bad") {
		t.Errorf("bad regex: %d %v", status, body)
	}
	created := e.must(201, "POST", "/routes/x/plugins", map[string]any{"name": "bot-detection"})
	cfg := created["config"].(map[string]any)
	if a, _ := cfg["allow"].([]any); a == nil || len(a) != 0 {
		t.Errorf("allow default %v, want []", cfg["allow"])
	}
}
