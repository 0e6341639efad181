package teams_test

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/conformance/testpg"
)

// TestTeamsPostgres: two nodes share a Postgres database, both with teams
// on (the second finds Default and Administrators and creates no other);
// isolation holds on both, and a membership added through one node
// scopes calls on the other once the change reaches it.
func TestTeamsPostgres(t *testing.T) {
	t.Setenv("GATEHOUSE_RBAC_BOOTSTRAP_TOKEN", rootToken)
	settings := testpg.Settings(t)
	settings["enforce_rbac"] = "on"
	settings["enable_teams"] = "on"
	settings["db_update_frequency"] = "1"
	e1 := newEnv(t, testnode.Start(t, settings), "")
	e2 := newEnv(t, testnode.Start(t, settings), "")

	alice, bob := e1.user("alice", "admin"), e1.user("bob", "admin")
	e1.team("A", "", "alice")
	e1.team("B", "", "bob")
	e1.want(bob, "POST", "/services", svc("b-svc"), 201)
	e1.want(alice, "POST", "/services", svc("a-svc"), 201)
	e1.wantNotFound(alice, "GET", "/services/b-svc", nil)
	if got := e1.names(alice, "/services"); got["b-svc"] || !got["a-svc"] {
		t.Fatalf("alice lists %v on node 1", got)
	}
	teams := e2.names(rootToken, "/teams")
	if len(teams) != 4 || !teams["Default"] || !teams["Administrators"] {
		t.Fatalf("teams on node 2: %v", teams)
	}

	// Node 2 learns of the memberships and ownership through the cluster:
	// wait until it shows alice her team's service (a 404 for b-svc alone
	// also holds while node 2 does not yet know alice's team at all).
	waitFor(t, "node 2 lists a-svc and not b-svc to alice", func() bool {
		got := e2.names(alice, "/services")
		return got["a-svc"] && !got["b-svc"]
	})
	e2.wantNotFound(alice, "GET", "/services/b-svc", nil)
	e2.wantNotFound(alice, "PATCH", "/services/b-svc", map[string]any{"retries": 1})
	if got := e2.names(alice, "/services"); got["b-svc"] || !got["a-svc"] {
		t.Fatalf("alice lists %v on node 2", got)
	}
	e1.addMember("B", "alice")
	waitFor(t, "node 2 shows b-svc to alice", func() bool {
		code, _ := e2.call(alice, "", "GET", "/services/b-svc", nil)
		return code == 200
	})
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
