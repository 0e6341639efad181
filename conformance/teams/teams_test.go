// Package teams_test drives teams (enable_teams) through real nodes over
// 127.0.0.1 with keep-alive clients: isolation between teams, the union of
// privileges, the Gatehouse-Team header, assignment rules, the Default and
// Administrators teams, team administrators, switching teams off, and
// concurrent members of different teams.
package teams_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/runtime/admin"
	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/config"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
)

const rootToken = "bootstrap-token-teams-6b1f0c2e9d7a"

const notFound = `{"message":"Not found"}`

type env struct {
	t      *testing.T
	node   *app.Node
	admin  string
	prefix string
	client *http.Client
}

// start runs a node with RBAC and teams (teams "on" or "off") on prefix
// ("" for a new one).
func start(t *testing.T, teams, prefix string) *env {
	t.Helper()
	t.Setenv("GATEHOUSE_RBAC_BOOTSTRAP_TOKEN", rootToken)
	if prefix == "" {
		prefix = t.TempDir()
	}
	n := testnode.Start(t, map[string]string{"enforce_rbac": "on", "enable_teams": teams, "prefix": prefix})
	return newEnv(t, n, prefix)
}

func newEnv(t *testing.T, n *app.Node, prefix string) *env {
	tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}
	t.Cleanup(tr.CloseIdleConnections)
	return &env{t: t, node: n, admin: "http://" + n.Addr("admin"), prefix: prefix, client: &http.Client{Transport: tr}}
}

// call sends a request with the token and optional Gatehouse-Team header.
func (e *env) call(token, team, method, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.admin+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Kong-Admin-Token", token)
	if team != "" {
		req.Header.Set(admin.TeamHeader, team)
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// endpoints returns the set /endpoints lists.
func (e *env) endpoints() map[string]bool {
	e.t.Helper()
	out := map[string]bool{}
	for _, ep := range e.want(rootToken, "GET", "/endpoints", nil, 200)["data"].([]any) {
		out[ep.(string)] = true
	}
	return out
}

// form sends a form-encoded body.
func (e *env) form(token, method, path, body string) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.admin+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Kong-Admin-Token", token)
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func (e *env) wantTeam(token, team, method, path string, body any, status int) map[string]any {
	e.t.Helper()
	code, b := e.call(token, team, method, path, body)
	if code != status {
		e.t.Fatalf("%s %s (team %q): %d %s, want %d", method, path, team, code, b, status)
	}
	out := map[string]any{}
	_ = json.Unmarshal(b, &out)
	return out
}

func (e *env) want(token, method, path string, body any, status int) map[string]any {
	e.t.Helper()
	return e.wantTeam(token, "", method, path, body, status)
}

// wantNotFound checks a call answers Kong's bare 404.
func (e *env) wantNotFound(token, method, path string, body any) {
	e.t.Helper()
	code, b := e.call(token, "", method, path, body)
	if code != 404 || string(b) != notFound {
		e.t.Fatalf("%s %s: %d %s, want 404 %s", method, path, code, b, notFound)
	}
}

// user creates an RBAC user with roles through admin.CreateUser and
// returns its token.
func (e *env) user(name string, roles ...string) string {
	e.t.Helper()
	rec, err := admin.CreateUser(context.Background(), e.node.Store(), map[string]any{"name": name}, roles)
	if err != nil {
		e.t.Fatal(err)
	}
	return rec["user_token"].(string)
}

// team creates a team with roles and members (name, or "name!" for a
// team administrator).
func (e *env) team(name, roles string, members ...string) {
	e.t.Helper()
	body := map[string]any{"name": name}
	if roles != "" {
		body["roles"] = roles
	}
	e.want(rootToken, "POST", "/teams", body, 201)
	for _, m := range members {
		e.addMember(name, m)
	}
}

func (e *env) addMember(team, member string) {
	e.t.Helper()
	name, isAdmin := strings.CutSuffix(member, "!")
	r := e.want(rootToken, "POST", "/teams/"+team+"/members", map[string]any{"user": name, "admin": isAdmin}, 201)
	if r["admin"] != isAdmin {
		e.t.Fatalf("member %s of %s: admin %v", name, team, r["admin"])
	}
}

// names lists the name (or username) of each entity a list answers.
func (e *env) names(token, path string) map[string]bool {
	e.t.Helper()
	out := map[string]bool{}
	for path != "" {
		r := e.want(token, "GET", path, nil, 200)
		for _, item := range r["data"].([]any) {
			m := item.(map[string]any)
			n, _ := m["name"].(string)
			if n == "" {
				n, _ = m["username"].(string)
			}
			out[n] = true
		}
		next, _ := r["next"].(string)
		path = next
	}
	return out
}

// assets returns, by entity name, whether the team's asset listing shows
// it as assigned by a rule.
func (e *env) assets(team string) map[string]bool {
	e.t.Helper()
	out := map[string]bool{}
	r := e.want(rootToken, "GET", "/teams/"+team+"/assets", nil, 200)
	for _, item := range r["data"].([]any) {
		m := item.(map[string]any)
		n, _ := m["name"].(string)
		out[n] = m["via_rule"] == true
	}
	return out
}

func svc(name string, tags ...string) map[string]any {
	b := map[string]any{"name": name, "url": "http://backend.test"}
	if len(tags) > 0 {
		b["tags"] = tags
	}
	return b
}

// TestTeamIsolation: team A's member cannot see or change team B's
// service (404 by id and by name, on reads, updates, deletes and nested
// paths; absent from lists) and can once added to team B; Default's
// entities are everyone's.
func TestTeamIsolation(t *testing.T) {
	e := start(t, "on", "")
	alice, bob := e.user("alice", "admin"), e.user("bob", "admin")
	e.team("A", "", "alice")
	e.team("B", "", "bob")

	b := e.want(bob, "POST", "/services", svc("b-svc"), 201)
	bid := b["id"].(string)
	// Synchronous ownership: the creator lists its entity right after.
	if !e.names(bob, "/services")["b-svc"] {
		t.Fatal("bob does not list the service he just created")
	}
	e.want(bob, "POST", "/services/b-svc/routes", map[string]any{"name": "b-route", "paths": []string{"/b"}}, 201)
	e.want(bob, "POST", "/consumers", map[string]any{"username": "b-consumer"}, 201)
	e.want(alice, "POST", "/services", svc("a-svc"), 201)
	e.want(rootToken, "POST", "/services", svc("shared"), 201)

	for _, key := range []string{bid, "b-svc"} {
		e.wantNotFound(alice, "GET", "/services/"+key, nil)
		e.wantNotFound(alice, "PATCH", "/services/"+key, map[string]any{"retries": 1})
		e.wantNotFound(alice, "PUT", "/services/"+key, svc("b-svc"))
		e.wantNotFound(alice, "DELETE", "/services/"+key, nil)
		e.wantNotFound(alice, "GET", "/services/"+key+"/routes", nil)
		e.wantNotFound(alice, "POST", "/services/"+key+"/routes", map[string]any{"paths": []string{"/x"}})
	}
	// Another team's service cannot be referenced from a body either.
	for _, body := range []map[string]any{
		{"name": "cors", "service": map[string]any{"id": bid}},
		{"name": "cors", "service": map[string]any{"name": "b-svc"}},
	} {
		r := e.want(alice, "POST", "/plugins", body, 400)
		if msg, _ := r["message"].(string); !strings.Contains(msg, "does not reference an existing 'services' entity") {
			t.Fatalf("plugin on B's service: %q", msg)
		}
	}
	e.want(alice, "POST", "/routes", map[string]any{"paths": []string{"/z"}, "service": map[string]any{"id": bid}}, 400)
	if code, b := e.form(alice, "POST", "/routes", "paths[]=/z&service.id="+bid); code != 400 {
		t.Fatalf("form route on B's service: %d %s", code, b)
	}
	e.want(bob, "POST", "/plugins", map[string]any{"name": "cors", "service": map[string]any{"id": bid}}, 201)
	if e.names(alice, "/plugins")["cors"] || !e.names(bob, "/plugins")["cors"] {
		t.Fatal("B's plugin: alice lists it or bob does not")
	}
	e.wantNotFound(alice, "GET", "/routes/b-route", nil)
	e.wantNotFound(alice, "GET", "/routes/b-route/service", nil)
	e.wantNotFound(alice, "GET", "/consumers/b-consumer", nil)
	if got := e.names(alice, "/services"); got["b-svc"] || !got["a-svc"] || !got["shared"] {
		t.Fatalf("alice lists %v, want a-svc and shared, not b-svc", got)
	}
	if got := e.names(alice, "/routes"); got["b-route"] {
		t.Fatalf("alice lists b-route: %v", got)
	}
	if got := e.names(alice, "/consumers"); got["b-consumer"] {
		t.Fatalf("alice lists b-consumer: %v", got)
	}
	if got := e.names(bob, "/services"); got["a-svc"] || !got["b-svc"] || !got["shared"] {
		t.Fatalf("bob lists %v", got)
	}
	// The service still exists: bob and the super-admin read it.
	e.want(bob, "GET", "/services/b-svc", nil, 200)
	if got := e.names(rootToken, "/services"); !got["a-svc"] || !got["b-svc"] || !got["shared"] {
		t.Fatalf("the super-admin lists %v", got)
	}
	// /tags hides B's entities from alice too.
	e.want(bob, "PATCH", "/services/b-svc", map[string]any{"tags": []string{"secret-tag"}}, 200)
	if r := e.want(alice, "GET", "/tags/secret-tag", nil, 200); len(r["data"].([]any)) != 0 {
		t.Fatalf("alice sees B's tagged service in /tags: %v", r["data"])
	}

	e.addMember("B", "alice")
	e.want(alice, "GET", "/services/"+bid, nil, 200)
	e.want(alice, "GET", "/services/b-svc/routes", nil, 200)
	e.want(alice, "PATCH", "/services/b-svc", map[string]any{"retries": 2}, 200)
	if got := e.names(alice, "/services"); !got["b-svc"] {
		t.Fatalf("alice, now in B, lists %v", got)
	}
	e.want(rootToken, "DELETE", "/teams/B/members/alice", nil, 204)
	e.wantNotFound(alice, "GET", "/services/b-svc", nil)
}

// TestTeamPrivilegesUnion: rights are the union of the member's roles and
// their teams' roles; a member of two teams names the owner of what they
// create with Gatehouse-Team, and is refused with 400 (nothing written)
// without it or with a team not theirs.
func TestTeamPrivilegesUnion(t *testing.T) {
	e := start(t, "on", "")
	carol := e.user("carol") // no role of her own
	dave := e.user("dave")
	e.team("readers", "read-only", "carol", "dave")
	e.team("writers", "admin")

	e.want(carol, "GET", "/services", nil, 200)
	e.want(carol, "POST", "/services", svc("c1"), 403)
	e.want(carol, "POST", "/rbac/users", map[string]any{"name": "x"}, 403)

	e.addMember("writers", "carol")
	// Two teams, no header: 400 before anything is written.
	r := e.want(carol, "POST", "/services", svc("c1"), 400)
	if msg, _ := r["message"].(string); !strings.Contains(msg, admin.TeamHeader) {
		t.Fatalf("message %q does not name the header", msg)
	}
	e.wantTeam(carol, "nobody", "POST", "/services", svc("c1"), 400)
	e.wantNotFound(rootToken, "GET", "/services/c1", nil)

	e.wantTeam(carol, "writers", "POST", "/services", svc("c1"), 201)
	if !e.names(carol, "/services")["c1"] {
		t.Fatal("carol does not list c1")
	}
	if _, ok := e.assets("writers")["c1"]; !ok {
		t.Fatalf("writers' assets: %v, want c1", e.assets("writers"))
	}
	if _, ok := e.assets("readers")["c1"]; ok {
		t.Fatal("readers own c1")
	}
	// dave, only in readers, does not see what writers own.
	e.wantNotFound(dave, "GET", "/services/c1", nil)
	// A PUT that creates is a create too.
	e.want(carol, "PUT", "/services/c2", svc("c2"), 400)
	e.wantTeam(carol, "writers", "PUT", "/services/c2", svc("c2"), 200)
	e.wantNotFound(dave, "GET", "/services/c2", nil)
	// The team's roles can be removed again.
	e.want(rootToken, "DELETE", "/teams/writers/roles", map[string]any{"roles": "admin"}, 204)
	e.wantTeam(carol, "writers", "POST", "/services", svc("c3"), 403)
	if r := e.want(rootToken, "GET", "/teams/writers/roles", nil, 200); len(r["roles"].([]any)) != 0 {
		t.Fatalf("writers' roles: %v", r["roles"])
	}
	e.want(rootToken, "POST", "/teams/writers/roles", map[string]any{"roles": "no-such-role"}, 400)
}

// TestTeamRules: a tag rule and a name rule assign the matching existing
// services when created, and the matching new ones; rule assignments
// cannot be removed.
func TestTeamRules(t *testing.T) {
	e := start(t, "on", "")
	pat := e.user("pat", "admin")
	e.team("prod", "", "pat")
	e.team("payments", "")
	e.want(rootToken, "POST", "/services", svc("api-1", "prod"), 201)
	e.want(rootToken, "POST", "/services", svc("pay-old"), 201)
	e.want(rootToken, "POST", "/services", svc("other", "dev"), 201)

	r := e.want(rootToken, "POST", "/teams/prod/rules", map[string]any{"entity_type": "services",
		"conditions": []any{map[string]any{"field": "tags", "op": "contains", "value": "prod"}}}, 201)
	if r["assigned"] != float64(1) {
		t.Fatalf("tag rule assigned %v, want 1", r["assigned"])
	}
	r = e.want(rootToken, "POST", "/teams/payments/rules", map[string]any{"entity_type": "services",
		"conditions": []any{"name starts_with pay"}}, 201)
	if r["assigned"] != float64(1) {
		t.Fatalf("name rule assigned %v, want 1", r["assigned"])
	}
	e.want(rootToken, "POST", "/teams/prod/rules", map[string]any{"entity_type": "services",
		"conditions": []any{map[string]any{"field": "tags", "op": "like", "value": "x"}}}, 400)
	e.want(rootToken, "POST", "/teams/prod/rules", map[string]any{"entity_type": "targets"}, 400)

	e.want(rootToken, "POST", "/services", svc("api-2", "prod"), 201)
	e.want(pat, "POST", "/services", svc("pay-new"), 201) // pat is in prod: prod owns it; the rule adds payments
	e.want(rootToken, "PATCH", "/services/other", map[string]any{"tags": []string{"prod"}}, 200)

	prod, pay := e.assets("prod"), e.assets("payments")
	for name, via := range map[string]bool{"api-1": true, "api-2": true, "other": true, "pay-new": false} {
		if got, ok := prod[name]; !ok || got != via {
			t.Errorf("prod's asset %s: present %v via_rule %v, want via_rule %v (%v)", name, ok, got, via, prod)
		}
	}
	if _, ok := prod["pay-old"]; ok {
		t.Errorf("prod owns pay-old")
	}
	if !pay["pay-old"] || !pay["pay-new"] || len(pay) != 2 {
		t.Errorf("payments' assets %v, want pay-old and pay-new by rule", pay)
	}
	api1 := e.want(rootToken, "GET", "/services/api-1", nil, 200)["id"].(string)
	e.want(rootToken, "DELETE", "/teams/prod/assets/services/"+api1, nil, 400)
	payNew := e.want(rootToken, "GET", "/services/pay-new", nil, 200)["id"].(string)
	e.want(rootToken, "DELETE", "/teams/prod/assets/services/"+payNew, nil, 204)
	rules := e.want(rootToken, "GET", "/teams/prod/rules", nil, 200)["data"].([]any)
	if len(rules) != 1 {
		t.Fatalf("prod's rules: %v", rules)
	}
	e.want(rootToken, "DELETE", "/teams/payments/rules/"+rules[0].(map[string]any)["id"].(string), nil, 404)
	e.want(rootToken, "DELETE", "/teams/prod/rules/"+rules[0].(map[string]any)["id"].(string), nil, 204)
	// With its rule gone, the assignment it made can be removed.
	e.want(rootToken, "DELETE", "/teams/prod/assets/services/"+api1, nil, 204)
}

// TestPredefinedTeams: Default and Administrators exist, cannot be deleted
// or renamed; Administrators owns every entity and cannot be removed from
// one; unknown teams answer Kong's 404; assigning needs membership.
func TestPredefinedTeams(t *testing.T) {
	e := start(t, "on", "")
	// una manages APIs and teams (webMethods' Manage user administration),
	// without seeing everything.
	e.want(rootToken, "POST", "/rbac/roles", map[string]any{"name": "team-manager",
		"privileges": []string{"manage-user-administration"}}, 201)
	una := e.user("una", "api-provider", "team-manager")
	e.team("ops", "", "una")
	e.team("sec", "")
	list := e.names(rootToken, "/teams")
	if !list["Default"] || !list["Administrators"] || !list["ops"] {
		t.Fatalf("teams %v", list)
	}
	e.want(rootToken, "DELETE", "/teams/Default", nil, 400)
	e.want(rootToken, "DELETE", "/teams/Administrators", nil, 400)
	e.want(rootToken, "PATCH", "/teams/Default", map[string]any{"name": "Other"}, 400)
	e.want(rootToken, "PATCH", "/teams/Default", map[string]any{"description": "all of us"}, 200)
	e.wantNotFound(rootToken, "GET", "/teams/nope", nil)
	e.wantNotFound(rootToken, "GET", "/teams/nope/assets", nil)
	e.wantNotFound(rootToken, "POST", "/teams/nope/members", map[string]any{"user": "una"})
	e.want(rootToken, "POST", "/teams", map[string]any{"name": "ops"}, 409)

	s := e.want(una, "POST", "/services", svc("ops-svc"), 201)
	id := s["id"].(string)
	if _, ok := e.assets("Administrators")["ops-svc"]; !ok {
		t.Fatal("Administrators does not own ops-svc")
	}
	e.want(rootToken, "DELETE", "/teams/Administrators/assets/services/"+id, nil, 400)
	// una may give her service to sec only if she belongs to it.
	e.want(una, "POST", "/teams/sec/assets", map[string]any{"entity": "services", "id": id}, 403)
	e.want(rootToken, "POST", "/teams/sec/assets", map[string]any{"entity": "services", "id": "ops-svc"}, 201)
	e.want(rootToken, "POST", "/teams/sec/assets", map[string]any{"entity": "services", "id": "ops-svc"}, 200)
	if _, ok := e.assets("sec")["ops-svc"]; !ok {
		t.Fatal("sec does not own ops-svc")
	}
	e.want(una, "DELETE", "/teams/sec/assets/services/"+id, nil, 403)
	e.want(rootToken, "DELETE", "/teams/sec/assets/services/"+id, nil, 204)
	e.want(rootToken, "DELETE", "/teams/sec/assets/services/"+id, nil, 404)
	// The last team cannot be removed: the entity would be no one's.
	e.want(una, "DELETE", "/teams/ops/assets/services/"+id, nil, 400)
	// A deleted team's entities go to Default: everyone sees them.
	vic := e.user("vic", "read-only")
	e.wantNotFound(vic, "GET", "/services/ops-svc", nil)
	e.want(rootToken, "DELETE", "/teams/ops", nil, 204)
	e.want(vic, "GET", "/services/ops-svc", nil, 200)
	if _, ok := e.assets("Default")["ops-svc"]; !ok {
		t.Fatal("Default does not own the deleted team's service")
	}
	// A deleted entity leaves the listings.
	e.want(rootToken, "DELETE", "/services/ops-svc", nil, 204)
	if _, ok := e.assets("Administrators")["ops-svc"]; ok {
		t.Fatal("a deleted service is still listed")
	}
}

// TestTeamAdministrators: a team's administrator manages its members,
// without /teams rights of their own, and only that team's.
func TestTeamAdministrators(t *testing.T) {
	e := start(t, "on", "")
	erin := e.user("erin", "read-only")
	frank := e.user("frank", "read-only")
	e.user("gina")
	e.team("E", "", "erin!", "frank")
	e.team("other", "")
	e.want(erin, "POST", "/teams/E/members", map[string]any{"user": "gina"}, 201)
	e.want(erin, "POST", "/teams/E/members", map[string]any{"user": "gina"}, 409)
	e.want(erin, "DELETE", "/teams/E/members/gina", nil, 204)
	e.want(erin, "POST", "/teams/other/members", map[string]any{"user": "gina"}, 403)
	e.want(erin, "POST", "/teams/E/roles", map[string]any{"roles": "admin"}, 403)
	e.want(erin, "DELETE", "/teams/E", nil, 403)
	e.want(frank, "POST", "/teams/E/members", map[string]any{"user": "gina"}, 403)
	e.want(erin, "POST", "/teams/E/members", map[string]any{"user": "nobody"}, 400)
	members := e.want(erin, "GET", "/teams/E/members", nil, 200)["data"].([]any)
	if len(members) != 2 {
		t.Fatalf("members of E: %v", members)
	}
}

// TestTeamsSwitchedOff: with enable_teams off every entity is visible
// again; on again, the kept assignments scope again.
func TestTeamsSwitchedOff(t *testing.T) {
	e := start(t, "on", "")
	alice, bob := e.user("alice", "admin"), e.user("bob", "admin")
	e.team("A", "", "alice")
	e.team("B", "", "bob")
	e.want(bob, "POST", "/services", svc("b-svc"), 201)
	e.wantNotFound(alice, "GET", "/services/b-svc", nil)
	prefix := e.prefix
	if err := e.node.Close(); err != nil {
		t.Fatal(err)
	}

	off := start(t, "off", prefix)
	off.want(alice, "GET", "/services/b-svc", nil, 200)
	if !off.names(alice, "/services")["b-svc"] {
		t.Fatal("teams off: alice does not list b-svc")
	}
	off.wantNotFound(rootToken, "GET", "/teams", nil)
	if eps := off.endpoints(); eps["/teams"] || len(eps) == 0 {
		t.Fatalf("teams off: /endpoints lists /teams (or nothing): %v", eps)
	}
	if err := off.node.Close(); err != nil {
		t.Fatal(err)
	}

	on := start(t, "on", prefix)
	if eps := on.endpoints(); !eps["/teams"] || !eps["/teams/{team}/members"] || eps["/teams/teams"] {
		t.Fatalf("teams on: /endpoints %v", eps)
	}
	on.wantNotFound(alice, "GET", "/services/b-svc", nil)
	if n := len(on.want(rootToken, "GET", "/teams", nil, 200)["data"].([]any)); n != 4 {
		t.Fatalf("%d teams after a restart, want Default, Administrators, A, B", n)
	}
}

// TestTeamsConcurrent: 8 members of 8 teams, each on its own keep-alive
// connection, create and list at once; each lists only its own services
// (and Default's).
func TestTeamsConcurrent(t *testing.T) {
	e := start(t, "on", "")
	const clients, each = 8, 6
	tokens := make([]string, clients)
	for i := range tokens {
		name := fmt.Sprintf("m%d", i)
		tokens[i] = e.user(name, "admin")
		e.team(fmt.Sprintf("t%d", i), "", name)
	}
	e.want(rootToken, "POST", "/services", svc("shared"), 201)
	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}
			do := func(method, path string, body any) (int, map[string]any, error) {
				var rd io.Reader
				if body != nil {
					b, _ := json.Marshal(body)
					rd = bytes.NewReader(b)
				}
				req, _ := http.NewRequest(method, e.admin+path, rd)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Kong-Admin-Token", tokens[i])
				res, err := c.Do(req)
				if err != nil {
					return 0, nil, err
				}
				defer res.Body.Close()
				out := map[string]any{}
				err = json.NewDecoder(res.Body).Decode(&out)
				return res.StatusCode, out, err
			}
			prefix := fmt.Sprintf("m%d-", i)
			for j := 0; j < each; j++ {
				if code, out, err := do("POST", "/services", svc(fmt.Sprintf("%s%d", prefix, j))); err != nil || code != 201 {
					errs <- fmt.Errorf("client %d create %d: %d %v %v", i, j, code, out, err)
					return
				}
				code, out, err := do("GET", "/services?size=1000", nil)
				if err != nil || code != 200 {
					errs <- fmt.Errorf("client %d list: %d %v", i, code, err)
					return
				}
				mine := 0
				for _, item := range out["data"].([]any) {
					name := item.(map[string]any)["name"].(string)
					switch {
					case strings.HasPrefix(name, prefix):
						mine++
					case name != "shared":
						errs <- fmt.Errorf("client %d sees %s", i, name)
						return
					}
				}
				if mine != j+1 {
					errs <- fmt.Errorf("client %d lists %d of its services after creating %d", i, mine, j+1)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(e.names(rootToken, "/services")); n != clients*each+1 {
		t.Fatalf("the super-admin lists %d services, want %d", n, clients*each+1)
	}
}

// TestTeamsNeedRBACAndDatabase: enable_teams without enforce_rbac, or
// without a database, is a clear start-up error.
func TestTeamsNeedRBACAndDatabase(t *testing.T) {
	base := map[string]string{"prefix": t.TempDir(), "admin_listen": "127.0.0.1:0", "proxy_listen": "127.0.0.1:0",
		"status_listen": "off", "admin_gui_listen": "off", "log_level": "crit"}
	if _, err := config.Load(config.LoadOptions{Flags: with(base, "enable_teams", "on")}); err == nil ||
		!strings.Contains(err.Error(), "enable_teams = on needs enforce_rbac = on") {
		t.Fatalf("config.Load: %v", err)
	}
	tests := []struct {
		name  string
		flags map[string]string
		tweak func(*config.Config)
		want  string
	}{
		{"rbac switched off after Load", with(with(base, "enable_teams", "on"), "enforce_rbac", "on"),
			func(c *config.Config) { c.EnforceRBAC = false }, "needs enforce_rbac"},
		{"DB-less", with(with(with(base, "enable_teams", "on"), "enforce_rbac", "on"), "database", "off"), nil, "needs a database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Load(config.LoadOptions{Flags: tt.flags})
			if err != nil {
				t.Fatal(err)
			}
			if tt.tweak != nil {
				tt.tweak(cfg)
			}
			n, err := app.StartWith(context.Background(), cfg, app.Options{})
			if err == nil {
				n.Close()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for key, val := range m {
		if key != k {
			out[key] = val
		}
	}
	return out
}
