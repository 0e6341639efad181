package portalapi

import (
	"encoding/base64"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPortalAPIHostile: the portal API over real HTTP with keep-alive
// clients, against hostile input and concurrent writes of one
// developer: bad bodies and content types, forged cookies and
// credentials, path tricks, and eight concurrent creations of one
// application name, of which exactly one wins.
func TestPortalAPIHostile(t *testing.T) {
	w := newAppWalk(t, map[string]string{"prefix": t.TempDir()})
	w.want("portal settings", w.do("PATCH", "/default/workspaces/default", "", map[string]any{"config": map[string]any{
		"portal": true, "portal_auth": "basic-auth", "portal_session_conf": portalSessionConf}}), 200)
	w.want("developer", w.do("POST", "/default/developers", "", map[string]any{
		"email": "dev@example.test", "password": "dev-password", "meta": `{"full_name":"Dev"}`, "status": 0}), 201)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("dev@example.test:dev-password"))
	w.want("sign-in", w.send(w.dev, "GET", w.portal+"/auth", nil, map[string]string{"Authorization": basic}), 200)

	anon := &http.Client{Transport: w.dev.Transport, Timeout: 30 * time.Second}
	tests := []struct {
		name, method, path, ctype, body string
		header                          map[string]string
		signedIn                        bool
		status                          int
	}{
		{"text body", "POST", "/register", "text/plain", "email=x", nil, false, 415},
		{"broken JSON", "POST", "/register", "application/json", `{"email":`, nil, false, 400},
		{"deep JSON", "POST", "/register", "application/json", strings.Repeat("[", 5000), nil, false, 400},
		{"status in the sign-up", "POST", "/register", "application/json", `{"email":"e@x.test","password":"p","status":0}`, nil, false, 400},
		{"form sign-up without meta", "POST", "/register", "application/x-www-form-urlencoded", "email=f@x.test&password=p", nil, false, 400},
		{"forged cookie", "GET", "/developer", "", "", map[string]string{"Cookie": "portal_session=abc.def"}, false, 401},
		{"cookie without signature", "GET", "/developer", "", "", map[string]string{"Cookie": "portal_session=abc"}, false, 401},
		{"long basic credentials", "GET", "/auth", "", "", map[string]string{"Authorization": "Basic " + strings.Repeat("QUFB", 600)}, false, 401},
		{"headers past the limit", "GET", "/auth", "", "", map[string]string{"Authorization": "Basic " + strings.Repeat("QUFB", 2000)}, false, 431},
		{"basic without colon", "GET", "/auth", "", "", map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("dev@example.test"))}, false, 401},
		{"traversal in files", "GET", "/files/specs/../../etc/passwd", "", "", nil, true, 404},
		{"encoded traversal in files", "GET", "/files/%2e%2e%2fetc%2fpasswd", "", "", nil, true, 404},
		{"odd application id", "GET", "/applications/'%20OR%201=1--", "", "", nil, true, 404},
		{"application name not a string", "POST", "/applications", "application/json", `{"name":{"a":1},"redirect_uri":"http://cb.test/"}`, nil, true, 400},
		{"bad redirect_uri", "POST", "/applications", "application/json", `{"name":"x","redirect_uri":"not a url"}`, nil, true, 400},
		{"wrong method", "PUT", "/developer", "application/json", `{}`, nil, true, 405},
		{"unknown route", "GET", "/nowhere", "", "", nil, true, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := anon
			if tc.signedIn {
				c = w.dev
			}
			h := map[string]string{}
			for k, v := range tc.header {
				h[k] = v
			}
			var body any
			if tc.body != "" {
				body = tc.body
				h["Content-Type"] = tc.ctype
			}
			a := w.send(c, tc.method, w.portal+tc.path, body, h)
			if a.status != tc.status {
				t.Fatalf("%d, want %d: %s", a.status, tc.status, a.body)
			}
		})
	}

	// Eight concurrent creations of one name: one application.
	var wg sync.WaitGroup
	statuses := make(chan int, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequest("POST", w.portal+"/applications",
				strings.NewReader(`{"name":"same","redirect_uri":"http://cb.test/"}`))
			if err != nil {
				statuses <- 0
				return
			}
			req.Header.Set("Content-Type", "application/json")
			res, err := w.dev.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	if counts[200] != 1 || counts[409] != 7 {
		t.Fatalf("concurrent creations: %v", counts)
	}
	l := w.want("applications", w.portalCall("GET", "/applications", nil), 200)
	if d, _ := l["data"].([]any); len(d) != 1 {
		t.Fatalf("applications: %v", l)
	}
	// A second browser's session is its own: signing one out leaves the other.
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	second := &http.Client{Jar: jar, Transport: w.dev.Transport, Timeout: 30 * time.Second}
	w.want("second sign-in", w.send(second, "GET", w.portal+"/auth", nil, map[string]string{"Authorization": basic}), 200)
	w.want("first signs out", w.portalCall("DELETE", "/auth", nil), 200)
	w.want("first signed out", w.portalCall("GET", "/developer", nil), 401)
	w.want("second still signed in", w.send(second, "GET", w.portal+"/developer", nil, nil), 200)
}
