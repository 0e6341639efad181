package portalapi

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/conformance/testpg"
)

// An application's consumer (PORTALSPEC §7.6): the Admin API's generic
// /consumers routes do not show it — a list as go-kong's ListAll walks it
// (decK dumps consumers that way), a GET, PATCH, PUT or DELETE by id or
// username answers 404 {"message":"Not Found"} — while /oauth2 and
// /key-auths still list its credentials and the proxy still
// authenticates its token. Then the approval follows the registration:
// an administrator's reject, revoke or approve, and the developer's
// status, reach the proxy within the propagation delay of other
// credential changes (polled, never slept on).

// listAll walks an Admin API collection as go-kong's ListAll does: GET
// with size, then each `next` until it is null; it returns every row.
func (w *appWalk) listAll(path string, size int) []map[string]any {
	w.t.Helper()
	var out []map[string]any
	next := path + "?size=" + url.QueryEscape(itoa(size))
	for pages := 0; next != ""; pages++ {
		if pages > 100 {
			w.t.Fatalf("listAll %s: more than 100 pages", path)
		}
		m := w.want("list "+next, w.do("GET", next, "", nil), 200)
		data, _ := m["data"].([]any)
		for _, d := range data {
			out = append(out, d.(map[string]any))
		}
		next, _ = m["next"].(string)
	}
	return out
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// hiddenWalk sets up a service protected by application-registration
// (auto_approve, client credentials), a proxy consumer, a developer and
// an application registered to the service, and returns the walk, the
// application, the service id and a function calling the API with the
// application's token.
func hiddenWalk(t *testing.T, settings map[string]string) (w *appWalk, app map[string]any, svcID string, call func() answer) {
	w = newAppWalk(t, settings)
	upstream := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(map[string]any{"consumer": r.Header.Get("X-Consumer-Username")})
	}))
	t.Cleanup(upstream.Close)
	svc := w.want("service", w.do("POST", "/services", "", map[string]any{"name": "svc", "url": upstream.URL}), 201)
	svcID = svc["id"].(string)
	w.want("route", w.do("POST", "/services/svc/routes", "", map[string]any{"name": "svc-route", "paths": []string{"/svc"}}), 201)
	w.want("plugin", w.do("POST", "/services/svc/plugins", "", map[string]any{"name": "application-registration",
		"config": map[string]any{"display_name": "svc", "auto_approve": true, "enable_client_credentials": true}}), 201)
	w.want("portal on", w.do("PATCH", "/default/workspaces/default", "", map[string]any{"config": map[string]any{
		"portal": true, "portal_auth": "basic-auth", "portal_session_conf": portalSessionConf}}), 200)
	w.want("proxy consumer", w.do("POST", "/consumers", "", map[string]any{"username": "alice"}), 201)
	w.want("developer", w.do("POST", "/default/developers", "", map[string]any{
		"email": "dev@example.test", "password": "dev-password", "meta": `{"full_name":"Dev"}`, "status": 0}), 201)
	app = w.want("application", w.do("POST", "/default/developers/dev@example.test/applications", "",
		map[string]any{"name": "app", "redirect_uri": "http://cb.test/", "custom_id": "app-custom"}), 201)
	appID := app["id"].(string)
	inst := w.want("registration", w.do("POST", "/default/applications/"+appID+"/application_instances", "",
		map[string]any{"service": map[string]any{"id": svcID}}), 201)
	if inst["status"] != 0.0 {
		t.Fatalf("registration not auto-approved: %v", inst)
	}
	consID := app["consumer"].(map[string]any)["id"].(string)
	creds := w.want("oauth2 credentials", w.do("GET", "/consumers/"+consID+"/oauth2", "", nil), 200)
	data, _ := creds["data"].([]any)
	if len(data) != 1 {
		t.Fatalf("oauth2 credentials: %v", creds)
	}
	cred := data[0].(map[string]any)
	form := "grant_type=client_credentials&client_id=" + cred["client_id"].(string) + "&client_secret=" + cred["client_secret"].(string)
	tok := w.eventually("token", func() answer {
		return tokenAnswer(w.send(w.tls, "POST", w.proxy+"/svc/oauth2/token", form, nil))
	}, 200).json(t)
	bearer := "Bearer " + tok["access_token"].(string)
	call = func() answer {
		return w.send(w.tls, "GET", w.proxy+"/svc/x", nil, map[string]string{"Authorization": bearer})
	}
	w.eventually("token proxies", call, 200)
	return w, app, svcID, call
}

func checkApplicationConsumerHidden(t *testing.T, settings map[string]string) {
	w, app, _, call := hiddenWalk(t, settings)
	consID := app["consumer"].(map[string]any)["id"].(string)
	username := app["developer"].(map[string]any)["id"].(string) + "_app"

	// go-kong's ListAll, on both paths, with a page size that leaves a
	// page holding only the application's consumer.
	for _, path := range []string{"/consumers", "/default/consumers"} {
		for _, size := range []int{1, 1000} {
			rows := w.listAll(path, size)
			if len(rows) != 1 || rows[0]["username"] != "alice" {
				t.Fatalf("ListAll %s size %d: %v", path, size, rows)
			}
		}
	}
	// The exact-match filters: nothing by username; Kong EE's 404 by
	// custom_id.
	m := w.want("filter by username", w.do("GET", "/consumers?username="+url.QueryEscape(username), "", nil), 200)
	if d, _ := m["data"].([]any); len(d) != 0 {
		t.Fatalf("filter by username: %v", m)
	}
	if m := w.want("filter by custom_id", w.do("GET", "/consumers?custom_id=app-custom", "", nil), 404); m["message"] != "Not Found" {
		t.Fatalf("filter by custom_id: %v", m)
	}
	// Its plugins: Kong EE guards /consumers/{c}/plugins too (Gatehouse:
	// but for a POST creating one, see runtime/admin consumerGuarded).
	w.want("its plugins", w.do("GET", "/consumers/"+consID+"/plugins", "", nil), 404)
	w.want("alice's plugins", w.do("GET", "/consumers/alice/plugins", "", nil), 200)
	// By id and by username, every method: Kong's 404.
	for _, key := range []string{consID, url.PathEscape(username)} {
		for _, tc := range []struct {
			method string
			body   any
		}{{"GET", nil}, {"PATCH", map[string]any{"custom_id": "x"}}, {"PUT", map[string]any{"username": username}},
			{"DELETE", nil}} {
			for _, prefix := range []string{"", "/default"} {
				m := w.want(tc.method+" "+prefix+"/consumers/"+key, w.do(tc.method, prefix+"/consumers/"+key, "", tc.body), 404)
				if m["message"] != "Not Found" {
					t.Fatalf("%s %s: %v", tc.method, key, m)
				}
			}
		}
	}
	// A proxy consumer is served as before.
	w.want("alice", w.do("GET", "/consumers/alice", "", nil), 200)
	w.want("unknown consumer", w.do("GET", "/consumers/nobody", "", nil), 404)
	// Its credentials are still listed by /oauth2 and /key-auths.
	for _, path := range []string{"/oauth2", "/key-auths"} {
		found := false
		for _, row := range w.listAll(path, 1000) {
			if c, _ := row["consumer"].(map[string]any); c != nil && c["id"] == consID {
				found = true
			}
		}
		if !found {
			t.Fatalf("%s does not list the application's credential", path)
		}
	}
	// Nothing above changed the consumer: the token still proxies, with
	// the consumer's username.
	res := w.want("token after the hidden calls", call(), 200)
	if res["consumer"] != username {
		t.Fatalf("token after the hidden calls: %v", res)
	}
}

// checkApprovalPropagates: reject → 403, approve → 200, revoke → 403,
// approve → 200, developer revoked → 403, approved again → 200.
func checkApprovalPropagates(t *testing.T, settings map[string]string) {
	w, app, svcID, call := hiddenWalk(t, settings)
	appID := app["id"].(string)
	l := w.want("instances", w.do("GET", "/default/services/"+svcID+"/application_instances", "", nil), 200)
	d, _ := l["data"].([]any)
	if len(d) != 1 {
		t.Fatalf("instances: %v", l)
	}
	instPath := "/default/applications/" + appID + "/application_instances/" + d[0].(map[string]any)["id"].(string)
	refused := func(what string) {
		t.Helper()
		if m := w.eventually(what, call, 403).json(t); m["message"] != "You cannot consume this service" {
			t.Fatalf("%s: %v", what, m)
		}
	}
	steps := []struct {
		what, path   string
		status, want int // the status written, the proxy's answer
	}{
		{"rejected", instPath, 2, 403},
		{"approved", instPath, 0, 200},
		{"revoked", instPath, 3, 403},
		{"approved again", instPath, 0, 200},
		{"developer revoked", "/default/developers/dev@example.test", 3, 403},
		{"developer approved", "/default/developers/dev@example.test", 0, 200},
	}
	for _, s := range steps {
		w.want(s.what, w.do("PATCH", s.path, "", map[string]any{"status": s.status}), 200)
		if s.want == 403 {
			refused(s.what)
		} else {
			w.eventually(s.what, call, 200)
		}
	}
}

func TestApplicationConsumerHiddenSQLite(t *testing.T) {
	checkApplicationConsumerHidden(t, map[string]string{"prefix": t.TempDir()})
}

func TestApplicationConsumerHiddenPostgres(t *testing.T) {
	checkApplicationConsumerHidden(t, testpg.Settings(t))
}

func TestApprovalPropagatesSQLite(t *testing.T) {
	checkApprovalPropagates(t, map[string]string{"prefix": t.TempDir()})
}

func TestApprovalPropagatesPostgres(t *testing.T) {
	checkApprovalPropagates(t, testpg.Settings(t))
}

// checkDeveloperAccount: over HTTP, the developer gaps of PORTALSPEC
// §3.6, §3.11 and §5.1: an administrator invites (no SMTP: smtp_mock)
// and approves with Kong Manager's wrapped body; the developer changes
// their password, makes a key-auth credential of their own that the
// proxy authenticates (their consumer hidden from /consumers), and
// closes their account, after which the key is refused.
func checkDeveloperAccount(t *testing.T, settings map[string]string) {
	w := newAppWalk(t, settings)
	upstream := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(map[string]any{"consumer": r.Header.Get("X-Consumer-Username")})
	}))
	t.Cleanup(upstream.Close)
	w.want("portal on", w.do("PATCH", "/default/workspaces/default", "", map[string]any{"config": map[string]any{
		"portal": true, "portal_auth": "basic-auth", "portal_session_conf": portalSessionConf}}), 200)
	w.want("service", w.do("POST", "/services", "", map[string]any{"name": "keyed", "url": upstream.URL}), 201)
	w.want("route", w.do("POST", "/services/keyed/routes", "", map[string]any{"paths": []string{"/keyed"}}), 201)
	w.want("key-auth", w.do("POST", "/services/keyed/plugins", "", map[string]any{"name": "key-auth"}), 201)

	inv := w.want("invite", w.do("POST", "/default/developers/invite", "", map[string]any{"emails": []string{"dev@example.test", "bad"}}), 200)
	if inv["smtp_mock"] != true || inv["sent"].(map[string]any)["count"] != 1.0 || inv["error"].(map[string]any)["count"] != 1.0 {
		t.Fatalf("invite: %v", inv)
	}
	w.want("register", w.portalCall("POST", "/register", map[string]any{
		"email": "dev@example.test", "password": "dev-password", "meta": `{"full_name":"Dev"}`}), 200)
	d := w.want("approve (wrapped)", w.do("PATCH", "/default/developers/dev@example.test", "", map[string]any{
		"developer": map[string]any{"status": 0}}), 200)["developer"].(map[string]any)
	if d["status"] != 0.0 {
		t.Fatalf("approve: %v", d)
	}
	basic := func(pw string) map[string]string {
		return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("dev@example.test:"+pw))}
	}
	w.want("sign-in", w.send(w.dev, "GET", w.portal+"/default/auth", nil, basic("dev-password")), 200)
	w.want("wrong old password", w.portalCall("PATCH", "/developer/password", map[string]any{"old_password": "x", "password": "new-password"}), 400)
	w.want("password", w.portalCall("PATCH", "/developer/password", map[string]any{"old_password": "dev-password", "password": "new-password"}), 204)
	w.want("old password refused", w.send(w.tls, "GET", w.portal+"/default/auth", nil, basic("dev-password")), 401)
	w.want("new password", w.send(w.tls, "GET", w.portal+"/default/auth", nil, basic("new-password")), 200)

	cred := w.want("own key", w.portalCall("POST", "/credentials/key-auth", map[string]any{"key": "dev-own-key"}), 201)
	devID := d["id"].(string)
	callKeyed := func() answer {
		return w.send(w.tls, "GET", w.plain+"/keyed/x", nil, map[string]string{"apikey": "dev-own-key"})
	}
	if m := w.eventually("own key proxies", callKeyed, 200).json(t); m["consumer"] != devID {
		t.Fatalf("own key: %v", m)
	}
	if rows := w.listAll("/consumers", 1000); len(rows) != 0 {
		t.Fatalf("/consumers shows the developer's consumer: %v", rows)
	}
	consID := cred["consumer"].(map[string]any)["id"].(string)
	w.want("developer's consumer by id", w.do("GET", "/consumers/"+consID, "", nil), 404)
	w.want("close the account", w.portalCall("DELETE", "/developer", nil), 204)
	w.want("session gone", w.portalCall("GET", "/developer", nil), 401)
	w.eventually("key after the account closed", callKeyed, 401)
	w.want("developer gone", w.do("GET", "/default/developers/dev@example.test", "", nil), 404)
}

func TestDeveloperAccountSQLite(t *testing.T) {
	checkDeveloperAccount(t, map[string]string{"prefix": t.TempDir()})
}

func TestDeveloperAccountPostgres(t *testing.T) {
	checkDeveloperAccount(t, testpg.Settings(t))
}
