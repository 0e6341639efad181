// Package adminsecurity_test walks issue 14's whole story through one real
// node over 127.0.0.1, on SQLite, with enforce_rbac, enable_teams and
// audit_log on: tokens, roles, teams and their assets, assignment rules, an
// admin rule written in Rego through /policies, then the audit log (every
// write of the walk recorded with its admin) and the secrets (no token in
// the audit log, the node's logs or the database files).
package adminsecurity_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/runtime/app"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
)

const rootToken = "walk-root-token-5d0c3b8e1a7f4c29"

// write is one write call of the walk, as the audit log must show it.
type write struct {
	method, path, admin string
	status              int
}

type walk struct {
	t      *testing.T
	admin  string
	prefix string
	logs   *testnode.LogBuffer
	client *http.Client
	// names maps tokens to admin names; writes lists every write sent.
	names  map[string]string
	writes []write
}

func start(t *testing.T) *walk {
	t.Setenv("GATEHOUSE_RBAC_BOOTSTRAP_TOKEN", rootToken)
	prefix := t.TempDir()
	logs := &testnode.LogBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n := testnode.StartWith(t, map[string]string{
		"prefix": prefix, "enforce_rbac": "on", "enable_teams": "on", "audit_log": "on", "log_level": "debug",
	}, app.Options{Logger: log})
	// Two keep-alive connections carry every admin's calls in turn.
	tr := &http.Transport{MaxConnsPerHost: 2, MaxIdleConnsPerHost: 2}
	t.Cleanup(tr.CloseIdleConnections)
	return &walk{t: t, admin: "http://" + n.Addr("admin"), prefix: prefix, logs: logs,
		client: &http.Client{Transport: tr}, names: map[string]string{rootToken: "kong_admin"}}
}

// call sends a request as the token's admin, with extra headers as
// name/value pairs, and returns the status and body.
func (w *walk) call(token, method, path string, body any, headers ...string) (int, []byte) {
	w.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, w.admin+path, rd)
	if err != nil {
		w.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Kong-Admin-Token", token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := w.client.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if method != "GET" && token != "" {
		w.writes = append(w.writes, write{method: method, path: path, admin: w.names[token], status: res.StatusCode})
	}
	return res.StatusCode, b
}

// want sends a call and fails the test unless it answers status; it
// returns the decoded body.
func (w *walk) want(token, method, path string, body any, status int, headers ...string) map[string]any {
	w.t.Helper()
	code, b := w.call(token, method, path, body, headers...)
	if code != status {
		w.t.Fatalf("%s %s as %s: %d %s, want %d", method, path, w.names[token], code, b, status)
	}
	out := map[string]any{}
	_ = json.Unmarshal(b, &out)
	return out
}

// user creates an RBAC user with roles ("" for none) and returns its token.
func (w *walk) user(name, roles string) string {
	w.t.Helper()
	u := w.want(rootToken, "POST", "/rbac/users", map[string]any{"name": name}, 201)
	tok, _ := u["user_token"].(string)
	if tok == "" {
		w.t.Fatalf("POST /rbac/users: no token in %v", u)
	}
	w.names[tok] = name
	if roles != "" {
		w.want(rootToken, "POST", "/rbac/users/"+name+"/roles", map[string]any{"roles": roles}, 201)
	}
	return tok
}

// names lists the names of a list answer's entities, following next.
func (w *walk) list(token, path string) []string {
	w.t.Helper()
	var names []string
	for path != "" {
		code, b := w.call(token, "GET", path, nil)
		if code != 200 {
			w.t.Fatalf("GET %s as %s: %d %s", path, w.names[token], code, b)
		}
		var page struct {
			Data []map[string]any `json:"data"`
			Next *string          `json:"next"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			w.t.Fatalf("GET %s: %v in %s", path, err, b)
		}
		for _, rec := range page.Data {
			n, _ := rec["name"].(string)
			names = append(names, n)
		}
		path = ""
		if page.Next != nil {
			path = *page.Next
		}
	}
	return names
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func svc(name string, tags ...string) map[string]any {
	m := map[string]any{"name": name, "url": "http://127.0.0.1:9/" + name}
	if len(tags) > 0 {
		m["tags"] = tags
	}
	return m
}

func TestAdminSecurityWalk(t *testing.T) {
	w := start(t)

	// Tokens: none, or a wrong one, is a 401 in Kong Enterprise's words.
	const unauthorized = `{"message":"Invalid credentials. Token or User credentials required"}`
	for _, tok := range []string{"", "not-a-token"} {
		if code, b := w.call(tok, "GET", "/services", nil); code != 401 || strings.TrimSpace(string(b)) != unauthorized {
			t.Fatalf("GET /services with token %q: %d %s", tok, code, b)
		}
	}

	// Roles: read-only lists but cannot create; an api-provider manages
	// services but not /rbac.
	reader := w.user("reader", "read-only")
	provider := w.user("provider", "api-provider")
	w.want(reader, "GET", "/services", nil, 200)
	if body := w.want(reader, "POST", "/services", svc("r1"), 403); body["message"] != "reader, you do not have permissions to create this resource" {
		t.Fatalf("read-only create: %v", body)
	}
	w.want(provider, "POST", "/services", svc("p1"), 201)
	w.want(provider, "POST", "/services/p1/routes", map[string]any{"name": "p1-route", "paths": []string{"/p1"}}, 201)
	// Applications: consumers and the credentials plugins declare.
	w.want(provider, "POST", "/consumers", map[string]any{"username": "app1"}, 201)
	w.want(provider, "POST", "/consumers/app1/key-auth", map[string]any{}, 201)
	w.want(provider, "POST", "/consumers/app1/basic-auth", map[string]any{"username": "app1", "password": "app1-password-walk"}, 201)
	w.want(provider, "GET", "/key-auths", nil, 200)
	w.want(provider, "POST", "/plugins", map[string]any{"name": "cors"}, 403)
	w.want(provider, "GET", "/rbac/users", nil, 403)
	w.want(provider, "POST", "/rbac/users", map[string]any{"name": "sneaky"}, 403)

	// Teams: alice in team-a, bob in team-b, each team an api-provider.
	alice := w.user("alice", "")
	bob := w.user("bob", "")
	for _, team := range []string{"team-a", "team-b"} {
		w.want(rootToken, "POST", "/teams", map[string]any{"name": team, "description": "walk"}, 201)
		w.want(rootToken, "POST", "/teams/"+team+"/roles", map[string]any{"roles": "api-provider"}, 201)
	}
	w.want(rootToken, "POST", "/teams/team-a/members", map[string]any{"user": "alice"}, 201)
	w.want(rootToken, "POST", "/teams/team-b/members", map[string]any{"user": "bob"}, 201)

	b1 := w.want(bob, "POST", "/services", svc("b-svc"), 201)
	w.want(bob, "POST", "/services/b-svc/routes", map[string]any{"name": "b-route", "paths": []string{"/b"}}, 201)
	w.want(alice, "POST", "/services", svc("a-svc"), 201)
	// Team A's member neither sees nor changes team B's service.
	for _, key := range []string{"b-svc", b1["id"].(string)} {
		w.want(alice, "GET", "/services/"+key, nil, 404)
		w.want(alice, "PATCH", "/services/"+key, map[string]any{"retries": 1}, 404)
		w.want(alice, "DELETE", "/services/"+key, nil, 404)
		w.want(alice, "GET", "/services/"+key+"/routes", nil, 404)
	}
	if got := w.list(alice, "/services"); contains(got, "b-svc") || !contains(got, "a-svc") {
		t.Fatalf("alice lists %v: want a-svc and not b-svc", got)
	}
	if got := w.list(alice, "/routes"); contains(got, "b-route") {
		t.Fatalf("alice lists routes %v: b-route is team B's", got)
	}
	if got := w.list(bob, "/services"); contains(got, "a-svc") || !contains(got, "b-svc") {
		t.Fatalf("bob lists %v: want b-svc and not a-svc", got)
	}
	// ... and can once added to team B.
	w.want(rootToken, "POST", "/teams/team-b/members", map[string]any{"user": "alice"}, 201)
	w.want(alice, "GET", "/services/b-svc", nil, 200)
	w.want(alice, "PATCH", "/services/b-svc", map[string]any{"retries": 2}, 200)
	if got := w.list(alice, "/services"); !contains(got, "b-svc") || !contains(got, "a-svc") {
		t.Fatalf("alice in both teams lists %v", got)
	}
	// A member of two teams names the owning team of what she creates.
	w.want(alice, "POST", "/services", svc("ambiguous"), 400)
	w.want(alice, "POST", "/services", svc("a2-svc"), 201, "Gatehouse-Team", "team-a")
	w.want(bob, "GET", "/services/a2-svc", nil, 404)

	// Union of privileges: carol's team-r grants reading consumers, her
	// team-w creating services; neither alone does both.
	w.want(rootToken, "POST", "/rbac/roles", map[string]any{"name": "consumer-reader"}, 201)
	w.want(rootToken, "POST", "/rbac/roles/consumer-reader/endpoints", map[string]any{"endpoint": "/consumers", "actions": "read"}, 201)
	w.want(rootToken, "POST", "/rbac/roles", map[string]any{"name": "service-creator"}, 201)
	w.want(rootToken, "POST", "/rbac/roles/service-creator/endpoints", map[string]any{"endpoint": "/services", "actions": "read,create"}, 201)
	carol := w.user("carol", "")
	w.want(rootToken, "POST", "/teams", map[string]any{"name": "team-r", "roles": []string{"consumer-reader"}}, 201)
	w.want(rootToken, "POST", "/teams", map[string]any{"name": "team-w", "roles": []string{"service-creator"}}, 201)
	w.want(rootToken, "POST", "/teams/team-r/members", map[string]any{"user": "carol"}, 201)
	w.want(carol, "GET", "/consumers", nil, 200)
	w.want(carol, "POST", "/services", svc("c-svc"), 403)
	w.want(rootToken, "POST", "/teams/team-w/members", map[string]any{"user": "carol"}, 201)
	w.want(carol, "GET", "/consumers", nil, 200)
	w.want(carol, "POST", "/services", svc("c-svc"), 201, "Gatehouse-Team", "team-w")

	// A tag rule gives team A the payments services, existing and new.
	w.want(bob, "POST", "/services", svc("pay-old", "payments"), 201)
	dave := w.user("dave", "")
	w.want(rootToken, "POST", "/teams/team-a/members", map[string]any{"user": "dave"}, 201)
	w.want(dave, "GET", "/services/pay-old", nil, 404)
	w.want(rootToken, "POST", "/teams/team-a/rules", map[string]any{"entity_type": "services",
		"conditions": []map[string]any{{"field": "tags", "op": "contains", "value": "payments"}}}, 201)
	w.want(dave, "GET", "/services/pay-old", nil, 200)
	w.want(bob, "POST", "/services", svc("pay-new", "payments"), 201)
	w.want(bob, "POST", "/services", svc("other-new", "billing"), 201)
	if got := w.list(dave, "/services"); !contains(got, "pay-old") || !contains(got, "pay-new") || contains(got, "other-new") {
		t.Fatalf("dave lists %v: want the payments services and not other-new", got)
	}
	// The Administrators team cannot be removed from an entity.
	w.want(rootToken, "DELETE", "/teams/Administrators/assets/services/"+b1["id"].(string), nil, 400)
	w.want(rootToken, "DELETE", "/teams/Administrators", nil, 400)

	adminRule(t, w, alice, bob)
	auditAndSecrets(t, w)
}

// auditAndSecrets checks that every write of the walk is in /audit/requests
// with its admin and status, and that no token appears in the audit log,
// the node's logs or the database files.
func auditAndSecrets(t *testing.T, w *walk) {
	type key struct {
		method, path, admin string
		status              int
	}
	sent := map[key]int{}
	for _, wr := range w.writes {
		sent[key(wr)]++
	}
	var all bytes.Buffer
	recorded := map[key]int{}
	path := "/audit/requests?size=1000"
	for path != "" {
		code, b := w.call(rootToken, "GET", path, nil)
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, b)
		}
		all.Write(b)
		var page struct {
			Data []map[string]any `json:"data"`
			Next *string          `json:"next"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Data {
			st, _ := r["status"].(float64)
			m, _ := r["method"].(string)
			p, _ := r["path"].(string)
			a, _ := r["rbac_user_name"].(string)
			recorded[key{m, p, a, int(st)}]++
		}
		path = ""
		if page.Next != nil {
			path = *page.Next
		}
	}
	for k, n := range sent {
		// The path as sent may carry a query; records keep the path.
		k2 := k
		k2.path = strings.SplitN(k.path, "?", 2)[0]
		if recorded[k2] < n {
			t.Errorf("write %s %s by %s (%d) sent %d times, recorded %d times", k.method, k.path, k.admin, k.status, n, recorded[k2])
		}
	}
	if len(sent) < 40 {
		t.Fatalf("the walk sent %d distinct writes: too few to be the walk", len(sent))
	}
	code, objs := w.call(rootToken, "GET", "/audit/objects?size=1000", nil)
	if code != 200 {
		t.Fatalf("GET /audit/objects: %d", code)
	}
	all.Write(objs)
	all.WriteString(w.logs.String())
	err := filepath.WalkDir(w.prefix, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		all.Write(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	dump := all.String()
	for tok, name := range w.names {
		if strings.Contains(dump, tok) {
			t.Errorf("%s's token appears in the audit log, the logs or the database", name)
		}
	}
	if strings.Contains(dump, "app1-password-walk") {
		t.Errorf("a basic-auth password appears in the audit log, the logs or the database")
	}
	t.Logf("%d distinct writes checked against %d audit records", len(sent), len(recorded))
}

// adminRule adds a Rego rule through /policies that reads the entity's
// teams: alice (in team-b, with api-provider's delete) can no longer
// delete team-b's services, bob still can; a broken rule is a 400.
func adminRule(t *testing.T, w *walk, alice, bob string) {
	src, err := os.ReadFile("testdata/team_b_guard.rego")
	if err != nil {
		t.Fatal(err)
	}
	broken, err := os.ReadFile("testdata/broken_rule.rego")
	if err != nil {
		t.Fatal(err)
	}
	if code, b := w.call(rootToken, "POST", "/policies", map[string]any{"name": "broken", "rego": string(broken)}); code != 400 || !strings.Contains(string(b), "line") {
		t.Fatalf("a broken admin rule: %d %s, want 400 naming its line", code, b)
	}
	// Before the rule alice deletes a team-b service.
	w.want(bob, "POST", "/services", svc("b-doomed"), 201)
	w.want(alice, "DELETE", "/services/b-doomed", nil, 204)
	w.want(rootToken, "POST", "/policies", map[string]any{"name": "team-b-guard", "rego": string(src)}, 201)
	// The rule joins the decisions with the next snapshot: probe until it
	// refuses.
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		name := fmt.Sprintf("b-probe-%d", i)
		w.want(bob, "POST", "/services", svc(name), 201)
		code, b := w.call(alice, "DELETE", "/services/"+name, nil)
		if code == 403 {
			if want := `{"message":"alice: only bob deletes team-b's services"}`; strings.TrimSpace(string(b)) != want {
				t.Fatalf("refusal %s, want %s", b, want)
			}
			w.want(bob, "DELETE", "/services/"+name, nil, 204)
			break
		}
		if code != 204 || time.Now().After(deadline) {
			t.Fatalf("DELETE of a team-b service by alice: %d %s", code, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Team A's services are not concerned.
	w.want(alice, "POST", "/services", svc("a-doomed"), 201, "Gatehouse-Team", "team-a")
	w.want(alice, "DELETE", "/services/a-doomed", nil, 204)
}
