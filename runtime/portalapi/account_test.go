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

	runRoutes(t, []routeCase{
		{name: "no session", c: anon, method: "PATCH", path: "/developer/password", body: `{"old_password":"pw-123456","password":"new-pw-1"}`, status: 401, message: msgInvalidCreds},
		{name: "forged session", c: forged, method: "PATCH", path: "/developer/email", body: `{"email":"x@x.test"}`, status: 401, message: msgInvalidCreds},
		{name: "no password", c: ada, method: "PATCH", path: "/developer/password", body: `{"old_password":"pw-123456"}`, status: 400, message: msgPasswordRequired},
		{name: "password not a string", c: ada, method: "PATCH", path: "/developer/password", body: `{"old_password":"pw-123456","password":5}`, status: 400, message: msgPasswordRequired},
		{name: "no old password", c: ada, method: "PATCH", path: "/developer/password", body: `{"password":"new-pw-1"}`, status: 400, message: msgOldPasswordMiss},
		{name: "same password", c: ada, method: "PATCH", path: "/developer/password", body: `{"old_password":"pw-123456","password":"pw-123456"}`, status: 400, message: msgPasswordsSame},
		{name: "wrong old password", c: ada, method: "PATCH", path: "/developer/password", body: `{"old_password":"nope","password":"new-pw-1"}`, status: 400, message: msgOldPasswordBad},
		{name: "bad JSON", c: ada, method: "PATCH", path: "/developer/password", body: `{"old_password":`, status: 400},
		{name: "password changed", c: ada, method: "PATCH", path: "/developer/password", body: `{"old_password":"pw-123456","password":"new-pw-1"}`, status: 204},
		{name: "no email", c: ada, method: "PATCH", path: "/developer/email", body: `{}`, status: 400, message: msgEmailRequired},
		{name: "bad email", c: ada, method: "PATCH", path: "/developer/email", body: `{"email":"not-an-email"}`, status: 400},
		{name: "another's email", c: ada, method: "PATCH", path: "/developer/email", body: `{"email":"bob@x.test"}`, status: 409},
		{name: "email changed", c: ada, method: "PATCH", path: "/developer/email", body: `{"email":" Ada2@X.test "}`, status: 200},
		{name: "no meta", c: ada, method: "PUT", path: "/developer/meta", body: `{}`, status: 400, message: msgMetaRequired},
		{name: "meta not an object", c: ada, method: "PUT", path: "/developer/meta", body: `{"meta":"[1]"}`, status: 400, message: "schema violation (meta: expected a JSON object)"},
		{name: "meta without the required field", c: ada, method: "PUT", path: "/developer/meta", body: `{"meta":"{\"x\":1}"}`, status: 400},
		{name: "meta changed", c: ada, method: "PUT", path: "/developer/meta", body: `{"meta":"{\"full_name\":\"Ada L\"}"}`, status: 200},
	})
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
	runRoutes(t, []routeCase{
		{name: "old credentials", c: &client{t: t, app: app}, method: "GET", path: "/auth", header: []string{"Authorization", basic("ada@x.test", "pw-123456")}, status: 401},
		{name: "new credentials", c: &client{t: t, app: app}, method: "GET", path: "/auth", header: []string{"Authorization", basic("ada2@x.test", "new-pw-1")}, status: 200},
	})
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
	runRoutes(t, []routeCase{
		{name: "no session", c: anon, method: "GET", path: "/credentials/key-auth", body: "", status: 401},
		{name: "unknown plugin", c: ada, method: "GET", path: "/credentials/acl", body: "", status: 404},
		{name: "unknown plugin, create", c: ada, method: "POST", path: "/credentials/nope", body: `{"key":"x"}`, status: 404},
		{name: "duplicate key", c: ada, method: "POST", path: "/credentials/key-auth", body: `{"key":"ada-key"}`, status: 409},
		{name: "another consumer named", c: ada, method: "POST", path: "/credentials/key-auth", body: `{"key":"k2","consumer":{"id":"` + svcID + `"}}`, status: 201, check: func(t *testing.T, body map[string]any) {
			if store.ForeignID(body["consumer"]) != cons["id"] {
				t.Fatalf("credential on another consumer: %v", body)
			}
		}},
		{name: "bad JSON", c: ada, method: "POST", path: "/credentials/key-auth", body: `{"key":`, status: 400},
		{name: "unknown field", c: ada, method: "POST", path: "/credentials/key-auth", body: `{"nope":1}`, status: 400},
		{name: "basic-auth", c: ada, method: "POST", path: "/credentials/basic-auth", body: `{"username":"ada-basic","password":"pw"}`, status: 201},
		{name: "read own", c: ada, method: "GET", path: "/credentials/key-auth/" + credID, body: "", status: 200},
		{name: "read own under another plugin", c: ada, method: "GET", path: "/credentials/basic-auth/" + credID, body: "", status: 404},
		{name: "bob lists none", c: bob, method: "GET", path: "/credentials/key-auth", body: "", status: 200, check: func(t *testing.T, body map[string]any) {
			if len(body["data"].([]any)) != 0 {
				t.Fatalf("bob sees: %v", body)
			}
		}},
		{name: "bob reads ada's", c: bob, method: "GET", path: "/credentials/key-auth/" + credID, body: "", status: 404},
		{name: "bob deletes ada's", c: bob, method: "DELETE", path: "/credentials/key-auth/" + credID, body: "", status: 404},
		{name: "not a uuid", c: ada, method: "GET", path: "/credentials/key-auth/../../consumers", body: "", status: 404},
		{name: "patch", c: ada, method: "PATCH", path: "/credentials/key-auth/" + credID, body: `{"key":"x"}`, status: 405},
		{name: "delete own", c: ada, method: "DELETE", path: "/credentials/key-auth/" + credID, body: "", status: 204},
		{name: "deleted", c: ada, method: "GET", path: "/credentials/key-auth/" + credID, body: "", status: 404},
	})
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
	fuzzBodies(f, []string{`{"old_password":"a","password":"b"}`, `{"password":"a"}`, `{"old_password":"a","password":"a"}`,
		`{"password":5}`, `{}`}, func(t *testing.T, in map[string]any) {
		ch, msg := ParsePasswordChange(in)
		switch msg {
		case "":
			if ch.New == "" || ch.Old == "" || ch.New == ch.Old {
				t.Fatalf("change %+v from %v", ch, in)
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

// fuzzBodies fuzzes a body parser with the JSON objects the fuzzer makes
// from seeds (what does not decode to an object is skipped).
func fuzzBodies(f *testing.F, seeds []string, check func(t *testing.T, in map[string]any)) {
	for _, seed := range seeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var in map[string]any
		if json.Unmarshal(raw, &in) != nil {
			return
		}
		check(t, in)
	})
}
