package portalapi

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

// TestAccountRoutes: the signed-in developer's password, email and meta;
// each needs a session (another's, a stale one, none: refused) and acts
// on the session's developer only.
func TestAccountRoutes(t *testing.T) {
	app, st := testAPI(t, nil)
	ada := signedUp(t, app, st, "ada@x.test")
	bob := signedUp(t, app, st, "bob@x.test")
	anon := &client{t: t, app: app}
	forged := &client{t: t, app: app, cookie: "portal_session=forged"}

	tests := []struct {
		name         string
		c            *client
		method, path string
		body         string
		status       int
		message      string
	}{
		{"no session", anon, "PATCH", "/developer/password", `{"old_password":"pw-123456","password":"new-pw-1"}`, 401, msgInvalidCreds},
		{"forged session", forged, "PATCH", "/developer/email", `{"email":"x@x.test"}`, 401, msgInvalidCreds},
		{"no password", ada, "PATCH", "/developer/password", `{"old_password":"pw-123456"}`, 400, msgPasswordRequired},
		{"password not a string", ada, "PATCH", "/developer/password", `{"old_password":"pw-123456","password":5}`, 400, msgPasswordRequired},
		{"no old password", ada, "PATCH", "/developer/password", `{"password":"new-pw-1"}`, 400, msgOldPasswordMiss},
		{"same password", ada, "PATCH", "/developer/password", `{"old_password":"pw-123456","password":"pw-123456"}`, 400, msgPasswordsSame},
		{"wrong old password", ada, "PATCH", "/developer/password", `{"old_password":"nope","password":"new-pw-1"}`, 400, msgOldPasswordBad},
		{"bad JSON", ada, "PATCH", "/developer/password", `{"old_password":`, 400, ""},
		{"password changed", ada, "PATCH", "/developer/password", `{"old_password":"pw-123456","password":"new-pw-1"}`, 204, ""},
		{"no email", ada, "PATCH", "/developer/email", `{}`, 400, msgEmailRequired},
		{"bad email", ada, "PATCH", "/developer/email", `{"email":"not-an-email"}`, 400, ""},
		{"another's email", ada, "PATCH", "/developer/email", `{"email":"bob@x.test"}`, 409, ""},
		{"email changed", ada, "PATCH", "/developer/email", `{"email":" Ada2@X.test "}`, 200, ""},
		{"no meta", ada, "PUT", "/developer/meta", `{}`, 400, msgMetaRequired},
		{"meta not an object", ada, "PUT", "/developer/meta", `{"meta":"[1]"}`, 400, "schema violation (meta: expected a JSON object)"},
		{"meta without the required field", ada, "PUT", "/developer/meta", `{"meta":"{\"x\":1}"}`, 400, ""},
		{"meta changed", ada, "PUT", "/developer/meta", `{"meta":"{\"full_name\":\"Ada L\"}"}`, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.t = t
			status, body, _ := tc.c.call(tc.method, tc.path, tc.body)
			if status != tc.status {
				t.Fatalf("%d %v, want %d", status, body, tc.status)
			}
			if tc.message != "" && body["message"] != tc.message {
				t.Fatalf("message %v, want %q", body["message"], tc.message)
			}
		})
	}
	ada.t, bob.t = t, t
	ctx := context.Background()
	got, err := st.Get(ctx, "developers", "ada2@x.test")
	if err != nil {
		t.Fatalf("ada under her new email: %v", err)
	}
	if got["meta"] != `{"full_name":"Ada L"}` || !store.CheckDeveloperPassword(got["password"].(string), "new-pw-1") {
		t.Fatalf("ada: %v", got)
	}
	// Bob is untouched.
	b, err := st.Get(ctx, "developers", "bob@x.test")
	if err != nil || !store.CheckDeveloperPassword(b["password"].(string), "pw-123456") {
		t.Fatalf("bob: %v %v", b, err)
	}
	// Ada signs in with her new email and password; not with the old.
	fresh := &client{t: t, app: app}
	if status, _, _ := fresh.call("GET", "/auth", "", "Authorization", basic("ada@x.test", "pw-123456")); status != 401 {
		t.Fatalf("old credentials: %d", status)
	}
	if status, _, _ := fresh.call("GET", "/auth", "", "Authorization", basic("ada2@x.test", "new-pw-1")); status != 200 {
		t.Fatalf("new credentials: %d", status)
	}
	// The session survives the changes: it names the developer by id.
	if status, body, _ := ada.call("GET", "/developer", ""); status != 200 || body["email"] != "ada2@x.test" {
		t.Fatalf("developer: %d %v", status, body)
	}
	// A developer revoked since signing in can change nothing.
	if _, err := st.Update(store.WithTypedInput(ctx), "developers", "bob@x.test", map[string]any{"status": store.DeveloperRevoked}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ method, path, body string }{
		{"PATCH", "/developer/email", `{"email":"bob2@x.test"}`},
		{"PATCH", "/developer/password", `{"old_password":"pw-123456","password":"other-pw"}`},
		{"PUT", "/developer/meta", `{"meta":"{\"full_name\":\"B\"}"}`},
		{"DELETE", "/developer", ""},
		{"POST", "/credentials/key-auth", `{"key":"bob-key"}`},
	} {
		status, body, _ := bob.call(tc.method, tc.path, tc.body)
		if status != 401 || body["message"] != msgUnauthorized+": Developer status: REVOKED" {
			t.Fatalf("revoked %s %s: %d %v", tc.method, tc.path, status, body)
		}
	}
	if _, err := st.Get(ctx, "developers", "bob@x.test"); err != nil {
		t.Fatalf("revoked bob: %v", err)
	}
}

// TestDeleteAccount: DELETE /developer deletes the signed-in developer
// (not another), their applications with their consumers, and ends the
// session.
func TestDeleteAccount(t *testing.T) {
	app, st := testAPI(t, nil)
	ada := signedUp(t, app, st, "ada@x.test")
	bob := signedUp(t, app, st, "bob@x.test")
	status, created, _ := ada.call("POST", "/applications", `{"name":"app","redirect_uri":"http://cb.test/"}`)
	if status != 200 {
		t.Fatalf("app: %d %v", status, created)
	}
	if status, _, _ := ada.call("POST", "/credentials/key-auth", `{"key":"ada-key"}`); status != 201 {
		t.Fatalf("credential: %d", status)
	}
	if status, _, _ := (&client{t: t, app: app}).call("DELETE", "/developer", ""); status != 401 {
		t.Fatalf("anonymous delete: %d", status)
	}
	if status, _, _ := ada.call("DELETE", "/developer", ""); status != 204 {
		t.Fatalf("delete: %d", status)
	}
	ctx := context.Background()
	if _, err := st.Get(ctx, "developers", "ada@x.test"); !store.IsNotFound(err) {
		t.Fatalf("ada left: %v", err)
	}
	if _, err := st.Get(ctx, "consumers", store.ForeignID(created["consumer"])); !store.IsNotFound(err) {
		t.Fatalf("application consumer left: %v", err)
	}
	if _, err := st.FindUnique(ctx, "keyauth_credentials", "key", "ada-key"); !store.IsNotFound(err) {
		t.Fatalf("ada's key left: %v", err)
	}
	if status, _, _ := ada.call("GET", "/developer", ""); status != 401 {
		t.Fatalf("session after delete: %d", status)
	}
	if status, body, _ := bob.call("GET", "/developer", ""); status != 200 || body["email"] != "bob@x.test" {
		t.Fatalf("bob: %d %v", status, body)
	}
}

// TestDeveloperCredentials: /credentials/{plugin} manages the signed-in
// developer's own credentials (their consumer made on the first one);
// another developer sees, reads and deletes none of them; unknown
// plugins are 404.
func TestDeveloperCredentials(t *testing.T) {
	app, st := testAPI(t, nil)
	ada := signedUp(t, app, st, "ada@x.test")
	bob := signedUp(t, app, st, "bob@x.test")
	anon := &client{t: t, app: app}

	if status, body, _ := ada.call("GET", "/credentials/key-auth", ""); status != 200 || len(body["data"].([]any)) != 0 {
		t.Fatalf("empty list: %d %v", status, body)
	}
	status, cred, _ := ada.call("POST", "/default/credentials/key-auth", `{"key":"ada-key"}`)
	if status != 201 || cred["key"] != "ada-key" {
		t.Fatalf("create: %d %v", status, cred)
	}
	credID := cred["id"].(string)
	dev, err := st.Get(context.Background(), "developers", "ada@x.test")
	if err != nil {
		t.Fatal(err)
	}
	cons, err := st.FindUnique(context.Background(), "consumers", "username", store.DeveloperConsumerUsername(dev["id"].(string)))
	if err != nil || store.ForeignID(cred["consumer"]) != cons["id"] {
		t.Fatalf("consumer: %v %v", cons, err)
	}
	tests := []struct {
		name         string
		c            *client
		method, path string
		body         string
		status       int
	}{
		{"no session", anon, "GET", "/credentials/key-auth", "", 401},
		{"unknown plugin", ada, "GET", "/credentials/acl", "", 404},
		{"unknown plugin, create", ada, "POST", "/credentials/nope", `{"key":"x"}`, 404},
		{"duplicate key", ada, "POST", "/credentials/key-auth", `{"key":"ada-key"}`, 409},
		{"another consumer named", ada, "POST", "/credentials/key-auth", `{"key":"k2","consumer":{"id":"` + svcID + `"}}`, 201},
		{"bad JSON", ada, "POST", "/credentials/key-auth", `{"key":`, 400},
		{"unknown field", ada, "POST", "/credentials/key-auth", `{"nope":1}`, 400},
		{"basic-auth", ada, "POST", "/credentials/basic-auth", `{"username":"ada-basic","password":"pw"}`, 201},
		{"read own", ada, "GET", "/credentials/key-auth/" + credID, "", 200},
		{"read own under another plugin", ada, "GET", "/credentials/basic-auth/" + credID, "", 404},
		{"bob lists none", bob, "GET", "/credentials/key-auth", "", 200},
		{"bob reads ada's", bob, "GET", "/credentials/key-auth/" + credID, "", 404},
		{"bob deletes ada's", bob, "DELETE", "/credentials/key-auth/" + credID, "", 404},
		{"not a uuid", ada, "GET", "/credentials/key-auth/../../consumers", "", 404},
		{"patch", ada, "PATCH", "/credentials/key-auth/" + credID, `{"key":"x"}`, 405},
		{"delete own", ada, "DELETE", "/credentials/key-auth/" + credID, "", 204},
		{"deleted", ada, "GET", "/credentials/key-auth/" + credID, "", 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.t = t
			status, body, _ := tc.c.call(tc.method, tc.path, tc.body)
			if status != tc.status {
				t.Fatalf("%d %v, want %d", status, body, tc.status)
			}
			if tc.name == "another consumer named" && store.ForeignID(body["consumer"]) != cons["id"] {
				t.Fatalf("credential on another consumer: %v", body)
			}
			if tc.name == "bob lists none" && len(body["data"].([]any)) != 0 {
				t.Fatalf("bob sees: %v", body)
			}
		})
	}
	ada.t = t
	status, list, _ := ada.call("GET", "/credentials/key-auth", "")
	if status != 200 || len(list["data"].([]any)) != 1 || list["total"] != 1.0 {
		t.Fatalf("list: %d %v", status, list)
	}
	// The developer's consumer is one, however many credentials.
	n, err := st.Count(context.Background(), "consumers")
	if err != nil || n != 1 {
		t.Fatalf("consumers: %d %v", n, err)
	}
}

// FuzzPasswordChange: any JSON body parses to a change or one of Kong's
// messages, never both, never a change with an empty or unchanged
// password.
func FuzzPasswordChange(f *testing.F) {
	for _, seed := range []string{`{"old_password":"a","password":"b"}`, `{"password":"a"}`, `{"old_password":"a","password":"a"}`,
		`{"password":5}`, `{}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var in map[string]any
		if json.Unmarshal(raw, &in) != nil {
			return
		}
		ch, msg := ParsePasswordChange(in)
		switch msg {
		case "":
			if ch.New == "" || ch.Old == "" || ch.New == ch.Old {
				t.Fatalf("change %+v from %s", ch, raw)
			}
		case msgPasswordRequired, msgOldPasswordMiss, msgPasswordsSame:
			if ch != (PasswordChange{}) {
				t.Fatalf("change %+v with %q", ch, msg)
			}
		default:
			t.Fatalf("message %q", msg)
		}
	})
}
