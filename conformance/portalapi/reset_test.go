package portalapi

import (
	"bytes"
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
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/conformance/testpg"
	"github.com/gatehouse/gatehouse/runtime/app"
)

// resetNode is a node whose logs a test reads: with no SMTP, the reset
// link Kong would mail is logged.
type resetNode struct {
	t             *testing.T
	admin, portal string
	client        *http.Client
	logs          *testnode.LogBuffer
}

func startResetNode(t *testing.T, settings map[string]string) *resetNode {
	t.Helper()
	all := map[string]string{"portal": "on", "portal_api_listen": "127.0.0.1:0", "portal_gui_listen": "off",
		"portal_gui_host": "portal.test:8003"}
	for k, v := range settings {
		all[k] = v
	}
	logs := &testnode.LogBuffer{}
	n := testnode.StartWith(t, all, app.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &resetNode{t: t, admin: "http://" + n.Addr("admin"), portal: "http://" + n.Addr("portal_api"),
		client: &http.Client{Transport: tr, Timeout: 30 * time.Second}, logs: logs}
}

// call sends a JSON body (nil: none) and returns the status and body.
func (r *resetNode) call(method, url string, body any, header ...string) (int, []byte) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			r.t.Error(err)
			return 0, nil
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		r.t.Error(err)
		return 0, nil
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := r.client.Do(req)
	if err != nil {
		r.t.Error(err)
		return 0, nil
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

// resetLinks returns the reset links logged for email, oldest first.
func (r *resetNode) resetLinks(email string) []string {
	var out []string
	for _, line := range strings.Split(r.logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["email"] == email {
			if link, ok := rec["url"].(string); ok {
				out = append(out, link)
			}
		}
	}
	return out
}

// checkPasswordReset walks Kong's forgotten-password flow over real HTTP
// with keep-alive connections: concurrent requests for known and
// unknown emails all get the same empty 200; the logged link's token
// resets the password once; altered, replayed and other developers'
// tokens are refused.
func checkPasswordReset(t *testing.T, settings map[string]string) {
	r := startResetNode(t, settings)
	status, body := r.call("PATCH", r.admin+"/default/workspaces/default", map[string]any{"config": map[string]any{
		"portal": true, "portal_auth": "basic-auth", "portal_session_conf": portalSessionConf, "portal_token_exp": 600}})
	if status != 200 {
		t.Fatalf("portal settings: %d %s", status, body)
	}
	for _, email := range []string{"ada@example.test", "bob@example.test"} {
		if status, body := r.call("POST", r.admin+"/default/developers", map[string]any{
			"email": email, "password": "first-password", "meta": `{"full_name":"Dev"}`, "status": 0}); status != 201 {
			t.Fatalf("developer %s: %d %s", email, status, body)
		}
	}
	var wg sync.WaitGroup
	answers := make(chan string, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email := []string{"ada@example.test", "nobody@example.test", "bob@example.test", "NOBODY2@example.test"}[i%4]
			status, body := r.call("POST", r.portal+"/default/forgot-password", map[string]any{"email": email})
			answers <- fmt.Sprintf("%d:%s", status, body)
		}()
	}
	wg.Wait()
	close(answers)
	for a := range answers {
		if a != "200:" {
			t.Fatalf("forgot-password answered %q", a)
		}
	}
	if links := r.resetLinks("nobody@example.test"); len(links) != 0 {
		t.Fatalf("a link for an unknown email: %v", links)
	}
	// The latest link is the live one; it points at the portal GUI.
	adaLinks, bobLinks := r.resetLinks("ada@example.test"), r.resetLinks("bob@example.test")
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
	ada, bob := token(adaLinks[1]), token(bobLinks[1])
	stale := token(adaLinks[0])
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
	swapped := bobClaims + "." + random

	steps := []struct {
		name, method, path string
		body               map[string]any
		status             int
	}{
		{"validate", "POST", "/validate-reset", map[string]any{"token": ada}, 200},
		{"earlier link", "POST", "/reset-password", map[string]any{"token": stale, "password": "x-password"}, 401},
		{"expiry pushed back", "POST", "/reset-password", map[string]any{"token": extended, "password": "x-password"}, 401},
		{"ada's secret on bob's claims", "POST", "/reset-password", map[string]any{"token": swapped, "password": "x-password"}, 401},
		{"no token", "POST", "/reset-password", map[string]any{"password": "x-password"}, 400},
		{"no password", "POST", "/reset-password", map[string]any{"token": ada}, 400},
		{"reset", "POST", "/reset-password", map[string]any{"token": ada, "password": "second-password"}, 200},
		{"replayed", "PATCH", "/reset-password", map[string]any{"token": ada, "password": "third-password"}, 401},
	}
	for _, s := range steps {
		status, body := r.call(s.method, r.portal+"/default"+s.path, s.body)
		if status != s.status {
			t.Fatalf("%s: %d %s, want %d", s.name, status, body, s.status)
		}
		if strings.Contains(string(body), random) {
			t.Fatalf("%s: the answer holds the token: %s", s.name, body)
		}
	}
	basic := func(email, pw string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(email+":"+pw))
	}
	for _, s := range []struct {
		email, pw string
		status    int
	}{
		{"ada@example.test", "first-password", 401},
		{"ada@example.test", "third-password", 401},
		{"ada@example.test", "second-password", 200},
		{"bob@example.test", "first-password", 200},
	} {
		if status, body := r.call("GET", r.portal+"/auth", nil, "Authorization", basic(s.email, s.pw)); status != s.status {
			t.Fatalf("sign-in %s with %s: %d %s", s.email, s.pw, status, body)
		}
	}
	// The log carries the link only, never a stored row.
	if strings.Contains(r.logs.String(), `"secret"`) {
		t.Fatal("a reset secret was logged")
	}
}

func TestPasswordResetSQLite(t *testing.T) {
	checkPasswordReset(t, map[string]string{"prefix": t.TempDir()})
}

func TestPasswordResetPostgres(t *testing.T) {
	checkPasswordReset(t, testpg.Settings(t))
}
