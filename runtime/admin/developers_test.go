package admin

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

// TestPatchDeveloperWrapper: PATCH /developers/{d} takes the flat body
// or Kong's {"developer": {...}} wrapper; anything else around the
// wrapper is refused as an unknown field. The answer is always Kong's
// wrapper, 200 {"developer": {...}}.
func TestPatchDeveloperWrapper(t *testing.T) {
	s, _ := appServer(t)
	if st, _ := call(t, s, "POST", "/developers/roles", ctJSON, []byte(`{"name":"dev"}`)); st != 201 {
		t.Fatalf("role: %d", st)
	}
	tests := []struct {
		name, ctype, body string
		status            int
		check             func(map[string]any) bool
	}{
		{"flat", ctJSON, `{"status":3}`, 200, func(b map[string]any) bool { return b["status"] == 3.0 }},
		{"wrapped status", ctJSON, `{"developer":{"status":0}}`, 200, func(b map[string]any) bool { return b["status"] == 0.0 }},
		{"wrapped roles", ctJSON, `{"developer":{"roles":["dev"]}}`, 200,
			func(b map[string]any) bool { r, _ := b["roles"].([]any); return len(r) == 1 && r[0] == "dev" }},
		{"wrapped, by name", ctJSON, `{"developer":{"status":"revoked"}}`, 200, func(b map[string]any) bool { return b["status"] == 3.0 }},
		{"wrapped bad status", ctJSON, `{"developer":{"status":9}}`, 400,
			func(b map[string]any) bool { return b["fields"].(map[string]any)["status"] != nil }},
		{"wrapper not an object", ctJSON, `{"developer":5}`, 400,
			func(b map[string]any) bool { return b["fields"].(map[string]any)["developer"] == "unknown field" }},
		{"wrapper beside a field", ctJSON, `{"developer":{"status":0},"status":0}`, 400,
			func(b map[string]any) bool { return b["fields"].(map[string]any)["developer"] == "unknown field" }},
		{"wrapped id", ctJSON, `{"developer":{"id":"5b1b6f2a-0d55-4d63-9a0f-6f6a3b2a0001"}}`, 400,
			func(b map[string]any) bool { return b["fields"].(map[string]any)["id"] == "cannot be set" }},
		{"bad JSON", ctJSON, `{"developer":{"status":0}`, 400, func(b map[string]any) bool { return b["message"] != nil }},
		{"form", ctForm, "status=0", 200, func(b map[string]any) bool { return b["status"] == 0.0 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, b := call(t, s, "PATCH", "/default/developers/dev@x.test", tc.ctype, []byte(tc.body))
			if st == 200 {
				// Kong's answer: {"developer": {...}} and nothing beside.
				dev, ok := b["developer"].(map[string]any)
				if !ok || len(b) != 1 {
					t.Fatalf("answer not wrapped in developer: %v", b)
				}
				b = dev
			}
			if st != tc.status || !tc.check(b) {
				t.Fatalf("%d %v, want %d", st, b, tc.status)
			}
			if b["password"] != nil || b["password_hash"] != nil {
				t.Fatalf("password shown: %v", b)
			}
		})
	}
	// Another developer's record is untouched by these calls; an unknown
	// one is 404.
	if st, _ := call(t, s, "PATCH", "/developers/nobody@x.test", ctJSON, []byte(`{"developer":{"status":0}}`)); st != 404 {
		t.Fatalf("unknown developer: %d", st)
	}
}

func TestInviteDevelopers(t *testing.T) {
	s, st := appServer(t)
	tests := []struct {
		name, ctype, body string
		status            int
		sent              []string
		failed            []string
		message           string
	}{
		{"json array", ctJSON, `{"emails":["a@x.test","b@y.test"]}`, 200, []string{"a@x.test", "b@y.test"}, nil, ""},
		{"comma string", ctJSON, `{"emails":"a@x.test, b@y.test,,a@x.test"}`, 200, []string{"a@x.test", "b@y.test"}, nil, ""},
		{"form repeated", ctForm, "emails[]=a@x.test&emails[]=c@z.test", 200, []string{"a@x.test", "c@z.test"}, nil, ""},
		{"form comma", ctForm, "emails=a@x.test,nope", 200, []string{"a@x.test"}, []string{"nope"}, ""},
		{"invalid ones", ctJSON, `{"emails":["@x.test","a@","a@b@c","ok@x.test"]}`, 200, []string{"ok@x.test"},
			[]string{"@x.test", "a@", "a@b@c"}, ""},
		{"none", ctJSON, `{"emails":[]}`, 400, nil, nil, msgEmailsRequired},
		{"missing", ctJSON, `{}`, 400, nil, nil, msgEmailsRequired},
		{"blank", ctJSON, `{"emails":" , "}`, 400, nil, nil, msgEmailsRequired},
		{"not strings", ctJSON, `{"emails":[1,2]}`, 400, nil, nil, ""},
		{"an object", ctJSON, `{"emails":{"a":"b"}}`, 400, nil, nil, ""},
		{"bad JSON", ctJSON, `{"emails":[`, 400, nil, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, b := call(t, s, "POST", "/default/developers/invite", tc.ctype, []byte(tc.body))
			if code != tc.status {
				t.Fatalf("%d %v, want %d", code, b, tc.status)
			}
			if tc.message != "" && b["message"] != tc.message {
				t.Fatalf("message %v, want %q", b["message"], tc.message)
			}
			if code != 200 {
				return
			}
			if b["smtp_mock"] != true {
				t.Fatalf("smtp_mock: %v", b)
			}
			for key, want := range map[string][]string{"sent": tc.sent, "error": tc.failed} {
				part := b[key].(map[string]any)
				emails := part["emails"].(map[string]any)
				if part["count"] != float64(len(want)) || len(emails) != len(want) {
					t.Fatalf("%s: %v, want %v", key, part, want)
				}
				for _, e := range want {
					if emails[e] == nil {
						t.Fatalf("%s: %v lacks %s", key, part, e)
					}
				}
			}
		})
	}
	// Nothing is stored: the developers are the fixture's one.
	n, err := st.Count(context.Background(), "developers")
	if err != nil || n != 1 {
		t.Fatalf("developers: %d %v", n, err)
	}
}

// TestDeleteDeveloperTakesItsConsumers: deleting a developer deletes the
// consumers of their applications (and their own), which would otherwise
// reappear in /consumers as proxy consumers with live credentials.
func TestDeleteDeveloperTakesItsConsumers(t *testing.T) {
	s, st := appServer(t)
	ctx := context.Background()
	code, app := call(t, s, "POST", "/developers/dev@x.test/applications", ctJSON,
		[]byte(`{"name":"app","redirect_uri":"http://cb.test/"}`))
	if code != 201 {
		t.Fatalf("app: %d %v", code, app)
	}
	consID := store.ForeignID(app["consumer"])
	dev, err := st.Get(ctx, "developers", "dev@x.test")
	if err != nil {
		t.Fatal(err)
	}
	own, err := st.Insert(ctx, "consumers", map[string]any{"username": store.DeveloperConsumerUsername(dev["id"].(string))})
	if err != nil {
		t.Fatal(err)
	}
	if code, b := call(t, s, "GET", "/consumers", "", nil); code != 200 || len(b["data"].([]any)) != 0 {
		t.Fatalf("consumers before: %d %v", code, b)
	}
	if code, _ := call(t, s, "DELETE", "/developers/dev@x.test", "", nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	for _, id := range []string{consID, own["id"].(string)} {
		if _, err := st.Get(ctx, "consumers", id); !store.IsNotFound(err) {
			t.Fatalf("consumer %s left: %v", id, err)
		}
	}
	if code, b := call(t, s, "GET", "/consumers", "", nil); code != 200 || len(b["data"].([]any)) != 0 {
		t.Fatalf("consumers after: %d %v", code, b)
	}
	if code, _ := call(t, s, "DELETE", "/developers/dev@x.test", "", nil); code != 204 {
		t.Fatalf("delete again: %d", code)
	}
}

func TestInviteEmailsAndUnwrap(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want []string
		ok   bool
	}{
		{nil, nil, true},
		{"a, b ,a", []string{"a", "b"}, true},
		{[]any{"a", " b"}, []string{"a", "b"}, true},
		{[]string{"x"}, []string{"x"}, true},
		{[]any{"a", 1.0}, nil, false},
		{map[string]any{}, nil, false},
		{true, nil, false},
	} {
		got, ok := InviteEmails(tc.in)
		if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("InviteEmails(%v) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	inner := map[string]any{"status": 0.0}
	for _, tc := range []struct {
		in, want map[string]any
	}{
		{map[string]any{"developer": inner}, inner},
		{map[string]any{"developer": "x"}, map[string]any{"developer": "x"}},
		{map[string]any{"developer": inner, "a": 1.0}, map[string]any{"developer": inner, "a": 1.0}},
		{map[string]any{}, map[string]any{}},
	} {
		if got := UnwrapDeveloper(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("UnwrapDeveloper(%v) = %v", tc.in, got)
		}
	}
}

// FuzzDeveloperBodies: any JSON body goes through the PATCH unwrapping
// and the invitation's email reading without panicking, and what they
// give back is consistent (emails trimmed, non-empty, unique).
func FuzzDeveloperBodies(f *testing.F) {
	for _, seed := range []string{`{"developer":{"status":0}}`, `{"emails":["a@x","b@y"]}`, `{"emails":"a, b"}`,
		`{"emails":[1]}`, `{"developer":null}`, `[]`, `"x"`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var in map[string]any
		if json.Unmarshal(raw, &in) != nil || in == nil {
			return
		}
		if out := UnwrapDeveloper(in); out == nil {
			t.Fatal("nil developer fields")
		}
		for _, key := range []string{"emails", "emails[]", "developer"} {
			emails, ok := InviteEmails(in[key])
			if !ok {
				continue
			}
			seen := map[string]bool{}
			for _, e := range emails {
				if e == "" || seen[e] || e != strings.TrimSpace(e) {
					t.Fatalf("InviteEmails(%v) gave %q", in[key], emails)
				}
				seen[e] = true
				_ = checkEmailAddress(e)
			}
		}
	})
}
