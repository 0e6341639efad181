package portalapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/conformance/testpg"
	"github.com/gatehouse/gatehouse/runtime/app"
)

// resetLinks returns the reset links a node logged for email, oldest
// first (no SMTP: the link Kong would mail is logged).
func resetLinks(logs *testnode.LogBuffer, email string) []string {
	var out []string
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["email"] == email {
			if link, ok := rec["url"].(string); ok {
				out = append(out, link)
			}
		}
	}
	return out
}

// forgotConcurrently sends POST /default/forgot-password for each email
// at once over c's keep-alive connections; it returns "status:body" per
// request.
func forgotConcurrently(c *http.Client, portal string, emails []string) []string {
	var wg sync.WaitGroup
	out := make([]string, len(emails))
	for i, email := range emails {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Post(portal+"/default/forgot-password", "application/json",
				strings.NewReader(`{"email":"`+email+`"}`))
			if err != nil {
				out[i] = err.Error()
				return
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			out[i] = fmt.Sprintf("%d:%s", res.StatusCode, body)
		}()
	}
	wg.Wait()
	return out
}

// checkPasswordReset walks Kong's forgotten-password flow over real HTTP
// with keep-alive connections: concurrent requests for known and
// unknown emails all get the same empty 200; the logged link's token
// resets the password once; altered, replayed and other developers'
// tokens are refused.
func checkPasswordReset(t *testing.T, settings map[string]string) {
	logs := &testnode.LogBuffer{}
	settings["portal_gui_host"] = "portal.test:8003"
	w := newAppWalkWith(t, settings, app.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	w.want("portal settings", w.do("PATCH", "/default/workspaces/default", "", map[string]any{"config": map[string]any{
		"portal": true, "portal_auth": "basic-auth", "portal_session_conf": portalSessionConf, "portal_token_exp": 600}}), 200)
	for _, email := range []string{"ada@example.test", "bob@example.test"} {
		w.want(email, w.do("POST", "/default/developers", "", map[string]any{
			"email": email, "password": "first-password", "meta": `{"full_name":"Dev"}`, "status": 0}), 201)
	}
	emails := []string{"ada@example.test", "nobody@example.test", "bob@example.test", "NOBODY2@example.test"}
	for i, a := range forgotConcurrently(w.tls, w.portal, append(emails, emails...)) {
		if a != "200:" {
			t.Fatalf("forgot-password %d answered %q", i, a)
		}
	}
	if links := resetLinks(logs, "nobody@example.test"); len(links) != 0 {
		t.Fatalf("a link for an unknown email: %v", links)
	}
	// The latest link is the live one; it points at the portal GUI.
	adaLinks, bobLinks := resetLinks(logs, "ada@example.test"), resetLinks(logs, "bob@example.test")
	if len(adaLinks) != 2 || len(bobLinks) != 2 || !strings.HasPrefix(adaLinks[1], "http://portal.test:8003/reset-password?token=") {
		t.Fatalf("links: %v %v", adaLinks, bobLinks)
	}
	token := func(link string) string {
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		return u.Query().Get("token")
	}
	ada, bob, stale := token(adaLinks[1]), token(bobLinks[1]), token(adaLinks[0])
	claims, random, _ := strings.Cut(ada, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(claims)
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	c["exp"] = c["exp"].(float64) + 86400
	longer, _ := json.Marshal(c)
	extended := base64.RawURLEncoding.EncodeToString(longer) + "." + random
	bobClaims, _, _ := strings.Cut(bob, ".")

	steps := []struct {
		name, method, path string
		body               map[string]any
		status             int
	}{
		{"validate", "POST", "/validate-reset", map[string]any{"token": ada}, 200},
		{"earlier link", "POST", "/reset-password", map[string]any{"token": stale, "password": "x-password"}, 401},
		{"expiry pushed back", "POST", "/reset-password", map[string]any{"token": extended, "password": "x-password"}, 401},
		{"ada's secret on bob's claims", "POST", "/reset-password", map[string]any{"token": bobClaims + "." + random, "password": "x-password"}, 401},
		{"no token", "POST", "/reset-password", map[string]any{"password": "x-password"}, 400},
		{"no password", "POST", "/reset-password", map[string]any{"token": ada}, 400},
		{"reset", "POST", "/reset-password", map[string]any{"token": ada, "password": "second-password"}, 200},
		{"replayed", "PATCH", "/reset-password", map[string]any{"token": ada, "password": "third-password"}, 401},
	}
	for _, s := range steps {
		a := w.want(s.name, w.send(w.tls, s.method, w.portal+"/default"+s.path, s.body, nil), s.status)
		if raw, _ := json.Marshal(a); strings.Contains(string(raw), random) {
			t.Fatalf("%s: the answer holds the token: %s", s.name, raw)
		}
	}
	signIns := []struct {
		email, password string
		status          int
	}{
		{"ada@example.test", "first-password", 401},
		{"ada@example.test", "third-password", 401},
		{"ada@example.test", "second-password", 200},
		{"bob@example.test", "first-password", 200},
	}
	for _, s := range signIns {
		basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(s.email+":"+s.password))
		w.want("sign-in "+s.email+" "+s.password, w.send(w.tls, "GET", w.portal+"/auth", nil,
			map[string]string{"Authorization": basic}), s.status)
	}
}

func TestPasswordResetSQLite(t *testing.T) {
	checkPasswordReset(t, map[string]string{"prefix": t.TempDir()})
}

func TestPasswordResetPostgres(t *testing.T) {
	checkPasswordReset(t, testpg.Settings(t))
}
