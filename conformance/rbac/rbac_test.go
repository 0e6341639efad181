// Package rbac_test drives the Admin API's RBAC through real nodes over
// 127.0.0.1: enforce_rbac off and on, the bootstrapped super-admin,
// /rbac/users and their roles, Kong-Admin-Token on keep-alive connections,
// and the database never holding a clear token.
package rbac_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/config"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
)

const rootToken = "bootstrap-token-3c1e7d0a9f2b4e65"

const unauthorized = `{"message":"Invalid credentials. Token or User credentials required"}`

type env struct {
	t      *testing.T
	admin  string
	prefix string
	client *http.Client
}

func start(t *testing.T, enforce string) *env {
	t.Setenv("GATEHOUSE_RBAC_BOOTSTRAP_TOKEN", rootToken)
	prefix := t.TempDir()
	n := testnode.Start(t, map[string]string{"enforce_rbac": enforce, "prefix": prefix})
	// One connection for every call: tokens change from call to call on
	// the same keep-alive connection.
	tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}
	t.Cleanup(tr.CloseIdleConnections)
	return &env{t: t, admin: "http://" + n.Addr("admin"), prefix: prefix, client: &http.Client{Transport: tr}}
}

// call sends a request with the token ("" for none) and returns the status
// and body.
func (e *env) call(token, method, path string, body any) (int, []byte) {
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
	if token != "" {
		req.Header.Set("Kong-Admin-Token", token)
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func (e *env) want(token, method, path string, body any, status int) map[string]any {
	e.t.Helper()
	code, b := e.call(token, method, path, body)
	if code != status {
		e.t.Fatalf("%s %s (token %q): %d %s, want %d", method, path, token, code, b, status)
	}
	out := map[string]any{}
	_ = json.Unmarshal(b, &out)
	return out
}

// createUser creates an RBAC user with roles and returns its token.
func (e *env) createUser(name, roles string) string {
	e.t.Helper()
	u := e.want(rootToken, "POST", "/rbac/users", map[string]any{"name": name, "comment": "test"}, 201)
	tok, _ := u["user_token"].(string)
	if len(tok) < 32 {
		e.t.Fatalf("POST /rbac/users: token %q, want a high-entropy one", tok)
	}
	r := e.want(rootToken, "POST", "/rbac/users/"+name+"/roles", map[string]any{"roles": roles}, 201)
	if len(r["roles"].([]any)) != len(strings.Split(roles, ",")) {
		e.t.Fatalf("roles of %s: %v, want %s", name, r["roles"], roles)
	}
	return tok
}

func TestRBACOffEverythingOpen(t *testing.T) {
	e := start(t, "off")
	e.want("", "GET", "/services", nil, 200)
	e.want("", "POST", "/services", map[string]any{"name": "s1", "url": "http://example.test"}, 201)
	e.want("wrong", "GET", "/services/s1", nil, 200)
}

func TestRBACEnforced(t *testing.T) {
	e := start(t, "on")
	reader := e.createUser("reader", "read-only")
	adm := e.createUser("operator", "admin")

	tests := []struct {
		name, token, method, path string
		body                      any
		status                    int
		exact                     string
	}{
		{"no token", "", "GET", "/services", nil, 401, unauthorized},
		{"no token on /", "", "GET", "/", nil, 401, unauthorized},
		{"wrong token", "not-a-token", "GET", "/services", nil, 401, unauthorized},
		{"token's digest is no token", "", "GET", "/rbac/users", nil, 401, unauthorized},
		{"super-admin creates", rootToken, "POST", "/services", map[string]any{"name": "s1", "url": "http://example.test"}, 201, ""},
		{"read-only lists", reader, "GET", "/services", nil, 200, ""},
		{"read-only reads", reader, "GET", "/services/s1", nil, 200, ""},
		{"read-only cannot create", reader, "POST", "/services", map[string]any{"name": "s2", "url": "http://example.test"}, 403,
			`{"message":"reader, you do not have permissions to create this resource"}`},
		{"read-only cannot delete", reader, "DELETE", "/services/s1", nil, 403,
			`{"message":"reader, you do not have permissions to delete this resource"}`},
		{"read-only reads /rbac, as Kong Enterprise's", reader, "GET", "/rbac/users", nil, 200, ""},
		{"read-only cannot write /rbac", reader, "POST", "/rbac/users", map[string]any{"name": "x"}, 403, ""},
		{"admin creates", adm, "POST", "/services", map[string]any{"name": "s3", "url": "http://example.test"}, 201, ""},
		{"admin cannot manage /rbac", adm, "POST", "/rbac/users", map[string]any{"name": "x"}, 403, ""},
		{"super-admin manages /rbac", rootToken, "GET", "/rbac/users", nil, 200, ""},
	}
	for _, tt := range tests {
		token := tt.token
		if tt.name == "token's digest is no token" {
			token = sha256hex(rootToken)
			tt.exact = unauthorized
		}
		code, b := e.call(token, tt.method, tt.path, tt.body)
		if code != tt.status {
			t.Errorf("%s: %s %s: %d %s, want %d", tt.name, tt.method, tt.path, code, b, tt.status)
			continue
		}
		if tt.exact != "" && strings.TrimSpace(string(b)) != tt.exact {
			t.Errorf("%s: body %s, want %s", tt.name, b, tt.exact)
		}
	}

	// A disabled user is refused like an unknown one, enabled again it
	// is let in; a deleted one is refused.
	e.want(rootToken, "PATCH", "/rbac/users/reader", map[string]any{"enabled": false}, 200)
	if code, b := e.call(reader, "GET", "/services", nil); code != 401 || strings.TrimSpace(string(b)) != unauthorized {
		t.Errorf("disabled user: %d %s, want 401", code, b)
	}
	e.want(rootToken, "PATCH", "/rbac/users/reader", map[string]any{"enabled": true}, 200)
	e.want(reader, "GET", "/services", nil, 200)
	// A new token replaces the old one.
	u := e.want(rootToken, "PATCH", "/rbac/users/reader", map[string]any{"user_token": "replacement-token-5b7f0c2e9d41"}, 200)
	if u["user_token"] != "replacement-token-5b7f0c2e9d41" {
		t.Errorf("PATCH answered token %v", u["user_token"])
	}
	e.want(reader, "GET", "/services", nil, 401)
	e.want("replacement-token-5b7f0c2e9d41", "GET", "/services", nil, 200)
	e.want(rootToken, "DELETE", "/rbac/users/reader", nil, 204)
	e.want("replacement-token-5b7f0c2e9d41", "GET", "/services", nil, 401)
}

func TestRBACTokenShownOnceAndStoredHashed(t *testing.T) {
	e := start(t, "on")
	tok := e.createUser("alice", "read-only")
	for _, path := range []string{"/rbac/users", "/rbac/users/alice", "/rbac/users/alice/roles"} {
		code, b := e.call(rootToken, "GET", path, nil)
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, b)
		}
		if bytes.Contains(b, []byte(tok)) || bytes.Contains(b, []byte("user_token")) || bytes.Contains(b, []byte(sha256hex(tok))) {
			t.Errorf("GET %s shows the token or its digest: %s", path, b)
		}
	}
	// No file under the prefix (the SQLite database, its WAL) holds a
	// clear token; the digest is there, so the grep reads the right files.
	var sawDigest bool
	err := filepath.WalkDir(e.prefix, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, clear := range []string{tok, rootToken} {
			if bytes.Contains(data, []byte(clear)) {
				t.Errorf("%s holds a clear token", path)
			}
		}
		sawDigest = sawDigest || bytes.Contains(data, []byte(sha256hex(tok)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sawDigest {
		t.Errorf("no file under %s holds alice's token digest: the grep read no database", e.prefix)
	}
}

func TestRBACKeepAliveTokens(t *testing.T) {
	e := start(t, "on")
	reader := e.createUser("reader", "read-only")
	// Alternate tokens on one connection: each call is judged by its own.
	for i := 0; i < 20; i++ {
		svc := map[string]any{"url": "http://example.test"}
		switch i % 4 {
		case 0:
			e.want(rootToken, "GET", "/services", nil, 200)
		case 1:
			e.want(reader, "POST", "/services", svc, 403)
		case 2:
			e.want("", "GET", "/services", nil, 401)
		case 3:
			e.want(reader, "GET", "/services", nil, 200)
		}
	}
}

func TestRBACUsersNotExported(t *testing.T) {
	e := start(t, "on")
	tok := e.createUser("alice", "read-only")
	cfg, err := config.Load(config.LoadOptions{Flags: map[string]string{"prefix": e.prefix}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := app.DBExport(context.Background(), cfg, "-", &out); err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"rbac_users", "alice", tok, sha256hex(tok)} {
		if strings.Contains(out.String(), leak) {
			t.Errorf("db_export holds %q:\n%s", leak, out.String())
		}
	}
}

func TestRBACBootstrapCommand(t *testing.T) {
	prefix := t.TempDir()
	cfg, err := config.Load(config.LoadOptions{Flags: map[string]string{"prefix": prefix}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := app.RBACBootstrap(context.Background(), cfg, &out); err != nil {
		t.Fatalf("rbac bootstrap: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	tok := lines[len(lines)-1]
	if len(tok) < 32 {
		t.Fatalf("rbac bootstrap printed %q, want a token on its last line", out.String())
	}
	// A second bootstrap refuses: the token is shown once.
	if err := app.RBACBootstrap(context.Background(), cfg, &bytes.Buffer{}); err == nil {
		t.Fatal("second rbac bootstrap succeeded")
	}
	// The printed token is the super-admin's on a node enforcing RBAC.
	n := testnode.Start(t, map[string]string{"enforce_rbac": "on", "prefix": prefix})
	e := &env{t: t, admin: "http://" + n.Addr("admin"), prefix: prefix, client: &http.Client{}}
	e.want(tok, "POST", "/rbac/users", map[string]any{"name": "bob"}, 201)
	e.want("", "GET", "/rbac/users", nil, 401)
}

// TestRBACUsersNotDeclarative: a kong.yml cannot create administrators (an
// admin allowed POST /config would otherwise make itself a super-admin).
func TestRBACUsersNotDeclarative(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kong.yml")
	yml := "_format_version: \"3.0\"\nrbac_users:\n- name: evil\n  user_token: " + sha256hex("evil-token") + "\n  roles: [super-admin]\n"
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.LoadOptions{Flags: map[string]string{"prefix": dir}})
	if err != nil {
		t.Fatal(err)
	}
	err = app.ParseDeclarative(context.Background(), cfg, path, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "rbac_users") {
		t.Fatalf("parse of a kong.yml with rbac_users: %v, want an unknown-field error naming it", err)
	}
}
