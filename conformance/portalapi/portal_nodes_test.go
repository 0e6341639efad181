package portalapi

import (
	"encoding/base64"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/conformance/testpg"
)

// TestPortalSessionAcrossNodes: two nodes on one Postgres database. A
// developer signed in on one node's portal API is signed in on the
// other's (the session is a row, Kong's storage "kong"); signing out on
// the second ends it on the first; an application created on one is
// listed on the other.
func TestPortalSessionAcrossNodes(t *testing.T) {
	settings := testpg.Settings(t)
	settings["portal"] = "on"
	settings["portal_api_listen"] = "127.0.0.1:0"
	settings["portal_gui_listen"] = "off"
	a := testnode.Start(t, settings)
	b := testnode.Start(t, settings)
	w := newWalk(t, settings)
	w.attach(a)
	w.want("portal settings", w.do("PATCH", "/default/workspaces/default", "", map[string]any{"config": map[string]any{
		"portal": true, "portal_auth": "basic-auth", "portal_session_conf": portalSessionConf}}), 200)
	w.want("developer", w.do("POST", "/default/developers", "", map[string]any{
		"email": "dev@example.test", "password": "dev-password", "meta": `{"full_name":"Dev"}`, "status": 0}), 201)

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 2}
	t.Cleanup(tr.CloseIdleConnections)
	// Both nodes listen on 127.0.0.1: the browser's cookie (host-only,
	// ports do not count) goes to both, as to :8004 of two nodes behind
	// one name.
	aw := &appWalk{walk: w, dev: &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second}}
	apiA, apiB := "http://"+a.Addr("portal_api"), "http://"+b.Addr("portal_api")
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("dev@example.test:dev-password"))
	w.want("sign-in on a", aw.send(aw.dev, "GET", apiA+"/default/auth", nil, map[string]string{"Authorization": basic}), 200)
	if m := w.want("developer on b", aw.send(aw.dev, "GET", apiB+"/default/developer", nil, nil), 200); m["email"] != "dev@example.test" {
		t.Fatalf("developer on b: %v", m)
	}
	app := w.want("create on a", aw.send(aw.dev, "POST", apiA+"/default/applications",
		map[string]any{"name": "app", "redirect_uri": "http://cb.test/"}, nil), 200)
	l := w.want("list on b", aw.send(aw.dev, "GET", apiB+"/default/applications", nil, nil), 200)
	if d, _ := l["data"].([]any); len(d) != 1 || d[0].(map[string]any)["id"] != app["id"] {
		t.Fatalf("list on b: %v", l)
	}
	// Keep the cookie to replay it after the sign-out.
	var cookie string
	for _, c := range jar.Cookies(mustURL(t, apiA)) {
		if c.Name == "portal_session" {
			cookie = c.Name + "=" + c.Value
		}
	}
	if cookie == "" {
		t.Fatal("no portal_session cookie")
	}
	w.want("sign-out on b", aw.send(aw.dev, "DELETE", apiB+"/default/auth?session_logout=true", nil, nil), 200)
	plain := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	w.want("replayed cookie on a", aw.send(plain, "GET", apiA+"/default/developer", nil, map[string]string{"Cookie": cookie}), 401)
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
