package teams_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestTeamsInAdminPolicy: the teams owning an entity and the caller's
// memberships reach the admin policy's input: a user rule added through
// /policies lets only the owning team's administrators delete its
// services.
func TestTeamsInAdminPolicy(t *testing.T) {
	e := start(t, "on", "")
	pam, pia := e.user("pam", "admin"), e.user("pia", "admin")
	e.team("payments", "", "pam", "pia!")
	src, err := os.ReadFile("testdata/payments_guard.rego")
	if err != nil {
		t.Fatal(err)
	}
	e.want(rootToken, "POST", "/policies", map[string]any{"name": "payments-guard", "rego": string(src)}, 201)
	// The rule reaches the Admin API with the next snapshot: probe until
	// a deletion is refused.
	want := `{"message":"pam: only payments' administrators delete its services"}`
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		name := fmt.Sprintf("probe-%d", i)
		e.want(pam, "POST", "/services", svc(name), 201)
		code, b := e.call(pam, "", "DELETE", "/services/"+name, nil)
		if code == 403 {
			if string(b) != want {
				t.Fatalf("refusal %s, want %s", b, want)
			}
			break
		}
		if code != 204 || time.Now().After(deadline) {
			t.Fatalf("DELETE of a payments service: %d %s", code, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.want(pam, "POST", "/services", svc("pay-api"), 201)
	if code, b := e.call(pam, "", "DELETE", "/services/pay-api", nil); code != 403 || string(b) != want {
		t.Fatalf("pam deletes pay-api: %d %s", code, b)
	}
	e.want(pam, "PATCH", "/services/pay-api", map[string]any{"retries": 1}, 200)
	e.want(pia, "DELETE", "/services/pay-api", nil, 204)
	// A service of Default is not guarded.
	e.want(rootToken, "POST", "/services", svc("common"), 201)
	e.want(pam, "DELETE", "/services/common", nil, 204)
}

// TestTeamRolesFollowRoles: a team grants a custom role; renaming the
// role keeps the grant (and the member's rights), deleting it removes it.
func TestTeamRolesFollowRoles(t *testing.T) {
	e := start(t, "on", "")
	e.want(rootToken, "POST", "/rbac/roles", map[string]any{"name": "deployer", "privileges": []string{"manage-apis"}}, 201)
	quinn := e.user("quinn")
	e.team("ship", "deployer", "quinn")
	e.want(quinn, "POST", "/services", svc("q1"), 201)
	roles := func() []string {
		var out []string
		for _, r := range e.want(rootToken, "GET", "/teams/ship/roles", nil, 200)["roles"].([]any) {
			out = append(out, r.(map[string]any)["name"].(string))
		}
		return out
	}
	e.want(rootToken, "PATCH", "/rbac/roles/deployer", map[string]any{"name": "shipper"}, 200)
	waitFor(t, "the team's grant follows the rename", func() bool {
		r := roles()
		return len(r) == 1 && r[0] == "shipper"
	})
	e.want(quinn, "POST", "/services", svc("q2"), 201)
	e.want(rootToken, "DELETE", "/rbac/roles/shipper", nil, 204)
	waitFor(t, "the deleted role leaves the team", func() bool { return len(roles()) == 0 })
	e.want(quinn, "POST", "/services", svc("q3"), 403)
}

// TestTeamsHostileInput: malformed bodies, headers and keys are refused
// with Kong's JSON errors and leave the node serving.
func TestTeamsHostileInput(t *testing.T) {
	e := start(t, "on", "")
	alice := e.user("alice", "admin")
	e.team("A", "", "alice")
	raw := func(t *testing.T, token, method, path, ctype, body string, headers ...string) (int, []byte) {
		req, err := http.NewRequest(method, e.admin+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		req.Header.Set("Kong-Admin-Token", token)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	tests := []struct {
		name, token, method, path, ctype, body string
		headers                                []string
		status                                 int
	}{
		{"broken JSON team", rootToken, "POST", "/teams", "application/json", `{"name":`, nil, 400},
		{"name not a string", rootToken, "POST", "/teams", "application/json", `{"name":{"a":1}}`, nil, 400},
		{"empty name", rootToken, "POST", "/teams", "application/json", `{"name":""}`, nil, 400},
		{"roles object", rootToken, "POST", "/teams", "application/json", `{"name":"x1","roles":{"a":"super-admin"}}`, nil, 201},
		{"member user not a string", rootToken, "POST", "/teams/A/members", "application/json", `{"user":["alice"]}`, nil, 400},
		{"member unknown", rootToken, "POST", "/teams/A/members", "application/json", `{"user":"ghost"}`, nil, 400},
		{"member NUL", rootToken, "POST", "/teams/A/members", "application/json", `{"user":"a\u0000b"}`, nil, 400},
		{"team key NUL", rootToken, "GET", "/teams/a%00b", "", "", nil, 404},
		{"asset bad type", rootToken, "POST", "/teams/A/assets", "application/json", `{"entity":"targets","id":"x"}`, nil, 400},
		{"asset no id", rootToken, "POST", "/teams/A/assets", "application/json", `{"entity":"services"}`, nil, 400},
		{"asset unknown id", rootToken, "POST", "/teams/A/assets", "application/json", `{"entity":"services","id":"nope"}`, nil, 404},
		{"unassign bad type", rootToken, "DELETE", "/teams/A/assets/targets/x", "", "", nil, 404},
		{"rule conditions number", rootToken, "POST", "/teams/A/rules", "application/json", `{"entity_type":"services","conditions":5}`, nil, 400},
		{"rule form body", rootToken, "POST", "/teams/A/rules", "application/x-www-form-urlencoded", "entity_type=services&conditions=tags+contains+prod", nil, 201},
		{"rule unknown id", rootToken, "DELETE", "/teams/A/rules/00000000-0000-0000-0000-000000000000", "", "", nil, 404},
		{"team header unknown bytes", alice, "POST", "/services", "application/json", `{"name":"h1","url":"http://x.test"}`, []string{"Gatehouse-Team", "A\u00e9\\"}, 400},
		{"team header long", alice, "POST", "/services", "application/json", `{"name":"h2","url":"http://x.test"}`, []string{"Gatehouse-Team", strings.Repeat("A", 1000)}, 400},
		{"foreign key garbage", alice, "POST", "/routes", "application/json", `{"paths":["/p"],"service":{"id":5}}`, nil, 400},
		{"foreign key bad form", alice, "POST", "/plugins", "application/x-www-form-urlencoded", "name=cors&service.id=%zz", nil, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, b := raw(t, tt.token, tt.method, tt.path, tt.ctype, tt.body, tt.headers...)
			if code != tt.status {
				t.Fatalf("%d %s, want %d", code, b, tt.status)
			}
			if code >= 400 {
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil || m["message"] == nil {
					t.Fatalf("error body %s is not Kong's JSON", b)
				}
			}
		})
	}
	e.want(alice, "GET", "/services", nil, 200)
	e.want(rootToken, "GET", "/teams/A", nil, 200)
}
