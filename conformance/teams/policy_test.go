package teams_test

import (
	"fmt"
	"os"
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
