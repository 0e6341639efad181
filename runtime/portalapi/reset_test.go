package portalapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// resetToken returns the token of the last reset link logged for email.
// (The API logs before it answers, and the test reads after the answer:
// a plain buffer is safe.)
func resetToken(t *testing.T, logs *bytes.Buffer, email string) string {
	t.Helper()
	token := ""
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["email"] != email {
			continue
		}
		link, ok := rec["url"].(string)
		if !ok {
			continue // the access request
		}
		u, err := url.Parse(link)
		if err != nil || u.Path != "/reset-password" || !strings.HasPrefix(link, "http://portal.test:8003/") {
			t.Fatalf("reset link %q", link)
		}
		token = u.Query().Get("token")
	}
	if token == "" {
		t.Fatalf("no reset link logged for %s", email)
	}
	return token
}

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// resetAPI is testAPI with a captured log, a settable clock and a token
// life of one hour.
func resetAPI(t *testing.T, ws map[string]any) (*client, *store.Store, *bytes.Buffer, *clock) {
	t.Helper()
	logs := &bytes.Buffer{}
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	if ws == nil {
		ws = map[string]any{"portal_token_exp": 3600}
	}
	app, st := testAPIWith(t, ws, Options{Log: slog.New(slog.NewJSONHandler(logs, nil)), Now: clk.Now,
		CORSOrigins: []string{"http://portal.test:8003"}})
	return &client{t: t, app: app}, st, logs, clk
}

// withClaims is token with its claims part replaced (the random part kept).
func withClaims(t *testing.T, token string, claims map[string]any) string {
	t.Helper()
	raw, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	_, random, _ := strings.Cut(token, ".")
	return base64.RawURLEncoding.EncodeToString(raw) + "." + random
}

func resetBody(token, password string) string {
	b, _ := json.Marshal(map[string]string{"token": token, "password": password})
	return string(b)
}

// TestForgotPassword: the answer is the same 200 with an empty body for
// a known and an unknown email; the token reaches the log only (no SMTP),
// and the store keeps only its digest.
func TestForgotPassword(t *testing.T) {
	anon, st, logs, _ := resetAPI(t, nil)
	signedUp(t, anon.app, st, "ada@x.test")
	var bodies []string
	for _, email := range []string{"ada@x.test", "nobody@x.test", " ADA@x.test "} {
		status, _, res := anon.call("POST", "/forgot-password", `{"email":"`+email+`"}`)
		if status != 200 || res.ContentLength > 0 {
			t.Fatalf("%s: %d (%d bytes)", email, status, res.ContentLength)
		}
		bodies = append(bodies, res.Header.Get("Content-Type"))
	}
	if bodies[0] != bodies[1] {
		t.Fatalf("answers differ: %q", bodies)
	}
	token := resetToken(t, logs, "ada@x.test")
	if strings.Contains(logs.String(), "nobody@x.test") {
		t.Fatal("a reset was logged for an unknown email")
	}
	dev, err := st.Get(context.Background(), "developers", "ada@x.test")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := st.Get(context.Background(), "reset_secrets", "developer:"+dev["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(rec)
	_, random, _ := strings.Cut(token, ".")
	if rec["secret"] != tokenDigest(token) || strings.Contains(string(raw), random) {
		t.Fatalf("stored: %s", raw)
	}
	runRoutes(t, []routeCase{
		{name: "no email", c: anon, method: "POST", path: "/forgot-password", body: `{}`, status: 400, message: msgEmailRequired},
		{name: "email not a string", c: anon, method: "POST", path: "/forgot-password", body: `{"email":["a@x.test"]}`, status: 400, message: msgEmailRequired},
		{name: "bad JSON", c: anon, method: "POST", path: "/forgot-password", body: `{"email":`, status: 400},
		{name: "under /default", c: anon, method: "POST", path: "/default/forgot-password", body: `{"email":"x@x.test"}`, status: 200},
		{name: "GET", c: anon, method: "GET", path: "/forgot-password", status: 405},
	})
}

// TestResetPassword: a token resets its own developer's password once,
// before it expires; a replayed, expired, superseded, altered or other
// developer's token is 401 and changes nothing.
func TestResetPassword(t *testing.T) {
	anon, st, logs, clk := resetAPI(t, nil)
	signedUp(t, anon.app, st, "ada@x.test")
	signedUp(t, anon.app, st, "bob@x.test")
	forgot := func(email string) string {
		t.Helper()
		if status, _, _ := anon.call("POST", "/forgot-password", `{"email":"`+email+`"}`); status != 200 {
			t.Fatalf("forgot %s: %d", email, status)
		}
		return resetToken(t, logs, email)
	}
	superseded := forgot("ada@x.test")
	ada := forgot("ada@x.test")
	bob := forgot("bob@x.test")
	bobDev, err := st.Get(context.Background(), "developers", "bob@x.test")
	if err != nil {
		t.Fatal(err)
	}
	var claims resetClaims
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(ada, ".")[0])
	if err := json.Unmarshal(raw, &claims); err != nil || claims.Exp != clk.Now().Unix()+3600 {
		t.Fatalf("claims %s: %v", raw, err)
	}
	asBob := withClaims(t, ada, map[string]any{"id": bobDev["id"], "exp": claims.Exp})
	later := withClaims(t, ada, map[string]any{"id": claims.ID, "exp": claims.Exp + 86400})
	runRoutes(t, []routeCase{
		{name: "validate", c: anon, method: "POST", path: "/validate-reset", body: resetBody(ada, ""), status: 200},
		{name: "validate without token", c: anon, method: "POST", path: "/validate-reset", body: `{}`, status: 400, message: msgTokenRequired},
		{name: "validate garbage", c: anon, method: "POST", path: "/validate-reset", body: resetBody("x.y", ""), status: 401, message: msgUnauthorized},
		{name: "superseded token", c: anon, method: "POST", path: "/reset-password", body: resetBody(superseded, "new-pw-1"), status: 401},
		{name: "ada's secret under bob's id", c: anon, method: "POST", path: "/reset-password", body: resetBody(asBob, "new-pw-1"), status: 401},
		{name: "a later expiry", c: anon, method: "POST", path: "/reset-password", body: resetBody(later, "new-pw-1"), status: 401},
		{name: "bad JSON", c: anon, method: "POST", path: "/reset-password", body: `{"token":`, status: 400},
		{name: "no password", c: anon, method: "POST", path: "/reset-password", body: resetBody(ada, ""), status: 400, message: msgResetPwRequired},
		{name: "password not a string", c: anon, method: "PATCH", path: "/reset-password", body: `{"token":"` + ada + `","password":5}`, status: 400, message: msgResetPwRequired},
		{name: "reset", c: anon, method: "POST", path: "/reset-password", body: resetBody(ada, "new-pw-1"), status: 200},
		{name: "replayed", c: anon, method: "POST", path: "/reset-password", body: resetBody(ada, "other-pw"), status: 401},
		{name: "validate a spent token", c: anon, method: "POST", path: "/validate-reset", body: resetBody(ada, ""), status: 401},
		{name: "bob by PATCH", c: anon, method: "PATCH", path: "/default/reset-password", body: resetBody(bob, "bob-new-pw"), status: 200},
	})
	fresh := func() *client { return &client{t: t, app: anon.app} }
	runRoutes(t, []routeCase{
		{name: "ada's old password", c: fresh(), method: "GET", path: "/auth", header: []string{"Authorization", basic("ada@x.test", "pw-123456")}, status: 401},
		{name: "ada's new password", c: fresh(), method: "GET", path: "/auth", header: []string{"Authorization", basic("ada@x.test", "new-pw-1")}, status: 200},
		{name: "the replay's password", c: fresh(), method: "GET", path: "/auth", header: []string{"Authorization", basic("ada@x.test", "other-pw")}, status: 401},
		{name: "bob's new password", c: fresh(), method: "GET", path: "/auth", header: []string{"Authorization", basic("bob@x.test", "bob-new-pw")}, status: 200},
	})
	// Expiry: a token is good until portal_token_exp has passed.
	expiring := forgot("ada@x.test")
	clk.advance(3599 * time.Second)
	if status, _, _ := anon.call("POST", "/validate-reset", resetBody(expiring, "")); status != 200 {
		t.Fatalf("before expiry: %d", status)
	}
	clk.advance(time.Second)
	runRoutes(t, []routeCase{
		{name: "expired", c: anon, method: "POST", path: "/reset-password", body: resetBody(expiring, "late-pw"), status: 401},
	})
	// Closing the account takes the pending token with it.
	signedUp(t, anon.app, st, "cy@x.test")
	cyToken := forgot("cy@x.test")
	cy := &client{t: t, app: anon.app}
	if status, _, _ := cy.call("GET", "/auth", "", "Authorization", basic("cy@x.test", "pw-123456")); status != 200 {
		t.Fatal("cy sign-in")
	}
	if status, _, _ := cy.call("DELETE", "/developer", ""); status != 204 {
		t.Fatal("cy delete")
	}
	runRoutes(t, []routeCase{
		{name: "deleted developer's token", c: anon, method: "POST", path: "/reset-password", body: resetBody(cyToken, "x-pw"), status: 401},
	})
}

// TestResetNeedsPasswordSignIn: without portal_auth = basic-auth the
// reset routes do not exist (Kong: no auth plugin, 404).
func TestResetNeedsPasswordSignIn(t *testing.T) {
	anon, _, _, _ := resetAPI(t, map[string]any{"portal_auth": nil})
	runRoutes(t, []routeCase{
		{name: "forgot", c: anon, method: "POST", path: "/forgot-password", body: `{"email":"a@x.test"}`, status: 404},
		{name: "validate", c: anon, method: "POST", path: "/validate-reset", body: `{"token":"a.b"}`, status: 404},
		{name: "reset", c: anon, method: "POST", path: "/reset-password", body: `{"token":"a.b","password":"p"}`, status: 404},
	})
}

// FuzzResetRequest: any JSON body gives a request or Kong's 400 message,
// never both; a token's claims parse only with a UUID id and an expiry;
// nothing panics.
func FuzzResetRequest(f *testing.F) {
	claims := base64.RawURLEncoding.EncodeToString([]byte(`{"id":"0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f1","exp":1}`))
	fuzzBodies(f, []string{`{"token":"` + claims + `.abc","password":"p"}`, `{"token":""}`, `{"token":5}`,
		`{"token":"a.b.c"}`, `{"token":"` + claims + `."}`, `{}`}, func(t *testing.T, in map[string]any) {
		r, msg := ParseResetRequest(in)
		if (msg == "") == (r.Token == "") || msg != "" && msg != msgTokenRequired {
			t.Fatalf("%+v with %q", r, msg)
		}
		c, err := parseResetToken(r.Token)
		if err == nil && (!store.IsUUID(c.ID) || c.Exp <= 0) {
			t.Fatalf("claims %+v from %q", c, r.Token)
		}
	})
}
