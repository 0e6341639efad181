package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/declarative"
	"github.com/gatehouse/gatehouse/store/sqlite"
)

// portalServer is an Admin API on an in-memory SQLite store.
func portalServer(tb testing.TB) *Server {
	tb.Helper()
	bk, err := sqlite.Open(context.Background(), sqlite.Memory)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { bk.Close() })
	return New(Options{Store: store.New(bk, store.Options{})})
}

// call sends one request to s and returns the status and the decoded JSON
// body (nil when empty).
func call(tb testing.TB, s *Server, method, path, ctype string, body []byte) (int, map[string]any) {
	tb.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := s.App().Test(req, -1)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if len(raw) == 0 {
		return res.StatusCode, nil
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		tb.Fatalf("%s %s: body %q is not a JSON object: %v", method, path, raw, err)
	}
	return res.StatusCode, out
}

const (
	ctForm = "application/x-www-form-urlencoded"
	ctJSON = "application/json;charset=utf-8"
)

// multipartBody builds a multipart/form-data body like curl -F: the file
// fields are sent as file parts.
func multipartBody(tb testing.TB, fields, files map[string]string) ([]byte, string) {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			tb.Fatal(err)
		}
	}
	for k, v := range files {
		fw, err := mw.CreateFormFile(k, "spec.yml")
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := io.WriteString(fw, v); err != nil {
			tb.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

func TestStripWorkspace(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"/default", "/", true},
		{"/default/", "/", true},
		{"/default/services", "/services", true},
		{"/default/files/specs/a.yml", "/files/specs/a.yml", true},
		{"/defaults/services", "/defaults/services", false},
		{"/services/default", "/services/default", false},
		{"/", "/", false},
		{"/other/services", "/other/services", false},
	}
	for _, tc := range tests {
		got, ok := stripWorkspace(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("stripWorkspace(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestWorkspacePrefix: every route answers the same under /default; other
// workspaces and a doubled prefix are Kong's 404.
func TestWorkspacePrefix(t *testing.T) {
	s := portalServer(t)
	if st, body := call(t, s, "POST", "/default/services", ctForm, []byte("name=crud&url=http://example.test")); st != 201 || body["name"] != "crud" {
		t.Fatalf("POST /default/services: %d %v", st, body)
	}
	tests := []struct {
		method, path string
		status       int
		check        func(map[string]any) bool
	}{
		{"GET", "/services/crud", 200, func(b map[string]any) bool { return b["name"] == "crud" }},
		{"GET", "/default/services/crud", 200, func(b map[string]any) bool { return b["name"] == "crud" }},
		{"GET", "/default/services", 200, func(b map[string]any) bool { return len(b["data"].([]any)) == 1 }},
		{"GET", "/default", 200, func(b map[string]any) bool { return b["version"] == KongVersion }},
		{"GET", "/default/status", 200, func(b map[string]any) bool { return b["database"] != nil }},
		{"GET", "/other/services", 404, func(b map[string]any) bool { return b["message"] == "Not found" }},
		{"GET", "/default/default/services", 404, func(b map[string]any) bool { return b["message"] == "Not found" }},
		{"GET", "/defaults/services", 404, func(b map[string]any) bool { return b["message"] == "Not found" }},
		{"DELETE", "/default/services/crud", 204, nil},
		{"GET", "/services/crud", 404, func(b map[string]any) bool { return b["message"] == "Not found" }},
	}
	for _, tc := range tests {
		st, body := call(t, s, tc.method, tc.path, "", nil)
		if st != tc.status || (tc.check != nil && !tc.check(body)) {
			t.Errorf("%s %s: %d %v, want %d", tc.method, tc.path, st, body, tc.status)
		}
	}
}

// portalCase is one call of a table test against a portalServer: the
// request, the status it must answer and a check of its JSON body.
type portalCase struct {
	name, method, path, ctype, body string
	status                          int
	check                           func(map[string]any) bool
}

// runPortalCases makes the calls in order, each a subtest.
func runPortalCases(t *testing.T, s *Server, cases []portalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, body := call(t, s, tc.method, tc.path, tc.ctype, []byte(tc.body))
			if st != tc.status || !tc.check(body) {
				t.Fatalf("%s %s: %d %v, want %d", tc.method, tc.path, st, body, tc.status)
			}
		})
	}
}

func TestWorkspaces(t *testing.T) {
	s := portalServer(t)
	st, list := call(t, s, "GET", "/workspaces", "", nil)
	if st != 200 || len(list["data"].([]any)) != 1 {
		t.Fatalf("GET /workspaces: %d %v", st, list)
	}
	ws := list["data"].([]any)[0].(map[string]any)
	if ws["name"] != "default" || ws["config"].(map[string]any)["portal"] != false {
		t.Fatalf("default workspace: %v", ws)
	}
	id := ws["id"].(string)
	runPortalCases(t, s, []portalCase{
		{"training enables the portal", "PATCH", "/workspaces/default", ctForm, "config.portal=true", 200,
			func(b map[string]any) bool { return b["config"].(map[string]any)["portal"] == true }},
		{"form content type too", "PATCH", "/workspaces/default", ctForm, "config.portal_auth=basic-auth", 200,
			func(b map[string]any) bool {
				c := b["config"].(map[string]any)
				return c["portal"] == true && c["portal_auth"] == "basic-auth"
			}},
		{"json session conf keeps the rest", "PATCH", "/default/workspaces/" + id, ctJSON,
			`{"config":{"portal_session_conf":"{\"cookie_name\":\"portal_session\",\"secret\":\"SYS\",\"storage\":\"kong\",\"cookie_secure\":false}","portal_auto_approve":true},"meta":{"color":"#1155cc"}}`, 200,
			func(b map[string]any) bool {
				c := b["config"].(map[string]any)
				return c["portal"] == true && c["portal_auth"] == "basic-auth" && c["portal_auto_approve"] == true &&
					strings.Contains(c["portal_session_conf"].(string), "portal_session") &&
					b["meta"].(map[string]any)["color"] == "#1155cc"
			}},
		{"GET by name", "GET", "/workspaces/default", "", "", 200,
			func(b map[string]any) bool {
				return b["id"] == id && b["config"].(map[string]any)["portal_auto_approve"] == true
			}},
		{"bad portal_token_exp", "PATCH", "/workspaces/default", ctJSON, `{"config":{"portal_token_exp":-1}}`, 400,
			func(b map[string]any) bool { return b["name"] == "schema violation" && b["code"] == 2.0 }},
		{"bad boolean", "PATCH", "/workspaces/default", ctForm, "config.portal=maybe", 400,
			func(b map[string]any) bool { return b["name"] == "schema violation" }},
		{"unknown config field", "PATCH", "/workspaces/default", ctJSON, `{"config":{"nope":1}}`, 400,
			func(b map[string]any) bool { return b["name"] == "schema violation" }},
		{"rename refused", "PATCH", "/workspaces/default", ctJSON, `{"name":"prod"}`, 400,
			func(b map[string]any) bool { return b["message"] == "the default workspace cannot be renamed" }},
		{"create refused", "POST", "/workspaces", ctJSON, `{"name":"prod"}`, 400,
			func(b map[string]any) bool { return b["message"] == ErrOneWorkspace }},
		{"delete refused", "DELETE", "/workspaces/default", "", "", 400,
			func(b map[string]any) bool { return b["message"] == "the default workspace cannot be deleted" }},
		{"other workspace", "GET", "/workspaces/prod", "", "", 404,
			func(b map[string]any) bool { return b["message"] == "Not found" }},
		{"malformed json", "PATCH", "/workspaces/default", ctJSON, `{"config":`, 400,
			func(b map[string]any) bool { return b["message"] != nil }},
	})
}

func TestPortalFiles(t *testing.T) {
	s := portalServer(t)
	spec, err := os.ReadFile("testdata/portal/spec.yml")
	if err != nil {
		t.Fatal(err)
	}
	body, ct := multipartBody(t, map[string]string{"path": "specs/iam-training.yml"}, map[string]string{"contents": string(spec)})
	st, file := call(t, s, "POST", "/default/files", ct, body)
	if st != 201 || file["path"] != "specs/iam-training.yml" || file["contents"] != string(spec) || len(file["checksum"].(string)) != 64 {
		t.Fatalf("POST /default/files: %d %v", st, file)
	}
	sum := file["checksum"]
	runPortalCases(t, s, []portalCase{
		{"get by path", "GET", "/default/files/specs/iam-training.yml", "", "", 200,
			func(b map[string]any) bool { return b["id"] == file["id"] }},
		{"get by escaped path", "GET", "/files/specs%2Fiam-training.yml", "", "", 200,
			func(b map[string]any) bool { return b["id"] == file["id"] }},
		{"get by escaped path under /default", "GET", "/default/files/specs%2Fiam-training.yml", "", "", 200,
			func(b map[string]any) bool { return b["id"] == file["id"] }},
		{"get by id", "GET", "/files/" + file["id"].(string), "", "", 200,
			func(b map[string]any) bool { return b["path"] == "specs/iam-training.yml" }},
		{"list", "GET", "/default/files", "", "", 200,
			func(b map[string]any) bool { return len(b["data"].([]any)) == 1 && b["next"] == nil }},
		{"patch contents", "PATCH", "/default/files/specs/iam-training.yml", ctJSON,
			`{"contents":"x-headmatter:\n  readable_by:\n    - dev\n    - partner\nswagger: '2.0'\n"}`, 200,
			func(b map[string]any) bool {
				return b["checksum"] != sum && strings.Contains(b["contents"].(string), "partner")
			}},
		{"spec not an object", "POST", "/files", ctJSON, `{"path":"specs/bad.yml","contents":"- a\n- b\n"}`, 400,
			func(b map[string]any) bool {
				f, _ := b["fields"].(map[string]any)
				return b["name"] == "schema violation" && f["contents"] != nil
			}},
		{"spec not YAML", "POST", "/files", ctJSON, `{"path":"specs/bad.yml","contents":"a: [b\n"}`, 400,
			func(b map[string]any) bool { return b["name"] == "schema violation" }},
		{"readable_by not a list", "POST", "/files", ctJSON, `{"path":"specs/bad.json","contents":"{\"x-headmatter\":{\"readable_by\":5}}"}`, 400,
			func(b map[string]any) bool { return strings.Contains(b["message"].(string), "readable_by") }},
		{"json spec", "POST", "/files", ctJSON, `{"path":"specs/orders.json","contents":"{\"openapi\":\"3.0.0\",\"x-headmatter\":{\"readable_by\":\"*\"}}"}`, 201,
			func(b map[string]any) bool { return b["path"] == "specs/orders.json" }},
		{"content page", "POST", "/files", ctForm, "path=content/guides/intro.md&contents=---%0Atitle: Intro%0Areadable_by: [dev]%0A---%0A%23 Hello", 201,
			func(b map[string]any) bool { return b["path"] == "content/guides/intro.md" }},
		{"duplicate path", "POST", "/files", ctJSON, `{"path":"specs/orders.json","contents":"{}"}`, 409,
			func(b map[string]any) bool { return b["name"] == "unique constraint violation" }},
		{"missing contents", "POST", "/files", ctJSON, `{"path":"specs/x.yml"}`, 400,
			func(b map[string]any) bool {
				return b["fields"].(map[string]any)["contents"] == "required field missing"
			}},
		{"path traversal", "POST", "/files", ctJSON, `{"path":"specs/../../etc/passwd","contents":"a: 1"}`, 400,
			func(b map[string]any) bool { return b["fields"].(map[string]any)["path"] != nil }},
		{"absolute path", "POST", "/files", ctJSON, `{"path":"/specs/a.yml","contents":"a: 1"}`, 400,
			func(b map[string]any) bool { return b["fields"].(map[string]any)["path"] != nil }},
		{"checksum read-only", "POST", "/files", ctJSON, `{"path":"specs/c.yml","contents":"a: 1","checksum":"x"}`, 400,
			func(b map[string]any) bool { return b["fields"].(map[string]any)["checksum"] != nil }},
		{"missing file", "GET", "/files/specs/none.yml", "", "", 404,
			func(b map[string]any) bool { return b["message"] == "Not found" }},
		{"delete", "DELETE", "/default/files/specs/orders.json", "", "", 204, func(map[string]any) bool { return true }},
		{"deleted", "GET", "/files/specs/orders.json", "", "", 404, func(map[string]any) bool { return true }},
	})
}

func TestDevelopers(t *testing.T) {
	s := portalServer(t)
	st, role := call(t, s, "POST", "/default/developers/roles", ctForm, []byte("name=dev"))
	if st != 201 || role["name"] != "dev" {
		t.Fatalf("POST /default/developers/roles: %d %v", st, role)
	}
	st, dev := call(t, s, "POST", "/default/developers", ctJSON,
		[]byte(`{"email":"ada@example.test","password":"correct horse","meta":"{\"full_name\":\"Ada\"}"}`))
	if st != 201 || dev["status"] != 1.0 || dev["password"] != nil || dev["email"] != "ada@example.test" {
		t.Fatalf("POST /default/developers: %d %v", st, dev)
	}
	runPortalCases(t, s, []portalCase{
		{"pending listed", "GET", "/developers?status=1", "", "", 200,
			func(b map[string]any) bool { return len(b["data"].([]any)) == 1 }},
		{"none approved", "GET", "/developers?status=approved", "", "", 200,
			func(b map[string]any) bool { return len(b["data"].([]any)) == 0 }},
		{"approve by integer", "PATCH", "/default/developers/ada@example.test", ctJSON, `{"status":0}`, 200,
			func(b map[string]any) bool { d := wrapped(b); return d["status"] == 0.0 && d["password"] == nil }},
		{"revoke by name", "PATCH", "/developers/ada@example.test", ctForm, "status=revoked", 200,
			func(b map[string]any) bool { return wrapped(b)["status"] == 3.0 }},
		{"approve by form integer", "PATCH", "/developers/ada@example.test", ctForm, "status=0", 200,
			func(b map[string]any) bool { return wrapped(b)["status"] == 0.0 }},
		{"grant role", "PATCH", "/default/developers/ada@example.test", ctJSON, `{"roles":["dev"]}`, 200,
			func(b map[string]any) bool { r, _ := wrapped(b)["roles"].([]any); return len(r) == 1 && r[0] == "dev" }},
		{"unknown role", "PATCH", "/developers/ada@example.test", ctJSON, `{"roles":["ghost"]}`, 400,
			func(b map[string]any) bool {
				return strings.Contains(b["message"].(string), "role not found with name 'ghost'")
			}},
		{"bad status", "PATCH", "/developers/ada@example.test", ctJSON, `{"status":9}`, 400,
			func(b map[string]any) bool { return b["name"] == "schema violation" }},
		{"roles not a list", "PATCH", "/developers/ada@example.test", ctJSON, `{"roles":5}`, 400,
			func(b map[string]any) bool { return b["fields"].(map[string]any)["roles"] != nil }},
		{"roles holding a number", "PATCH", "/developers/ada@example.test", ctJSON, `{"roles":["dev",1]}`, 400,
			func(b map[string]any) bool { return b["fields"].(map[string]any)["roles"] != nil }},
		{"bad meta", "PATCH", "/developers/ada@example.test", ctJSON, `{"meta":"not json"}`, 400,
			func(b map[string]any) bool { return b["fields"].(map[string]any)["meta"] != nil }},
		{"training's PATCH on the collection", "PATCH", "/default/developers/", ctJSON, `{"roles":["dev"]}`, 405,
			func(b map[string]any) bool { return b["message"] == "Method not allowed" }},
		{"duplicate email", "POST", "/developers", ctJSON, `{"email":"ada@example.test","password":"x","meta":{"full_name":"Ada"}}`, 409,
			func(b map[string]any) bool { return b["name"] == "unique constraint violation" }},
		{"no full name", "POST", "/developers", ctJSON, `{"email":"bob@example.test","password":"x"}`, 400,
			func(b map[string]any) bool { return b["fields"].(map[string]any)["meta"] == "full_name is required" }},
		{"no password", "POST", "/developers", ctJSON, `{"email":"bob@example.test"}`, 400,
			func(b map[string]any) bool { return b["fields"].(map[string]any)["password"] != nil }},
		{"bad email", "POST", "/developers", ctJSON, `{"email":"bob","password":"x","meta":{"full_name":"Bob"}}`, 400,
			func(b map[string]any) bool { return b["fields"].(map[string]any)["email"] != nil }},
		{"role listed", "GET", "/developers/roles", "", "", 200,
			func(b map[string]any) bool { return len(b["data"].([]any)) == 1 }},
		{"duplicate role", "POST", "/developers/roles", ctJSON, `{"name":"dev"}`, 409,
			func(b map[string]any) bool { return b["name"] == "unique constraint violation" }},
		{"rename role", "PATCH", "/developers/roles/dev", ctJSON, `{"name":"devs"}`, 200,
			func(b map[string]any) bool { return b["name"] == "devs" }},
		{"rename followed", "GET", "/developers/ada@example.test", "", "", 200,
			func(b map[string]any) bool { r := b["roles"].([]any); return len(r) == 1 && r[0] == "devs" }},
		{"delete role", "DELETE", "/developers/roles/devs", "", "", 204, func(map[string]any) bool { return true }},
		{"grant removed", "GET", "/developers/" + dev["id"].(string), "", "", 200,
			func(b map[string]any) bool { return len(b["roles"].([]any)) == 0 }},
		{"delete developer", "DELETE", "/default/developers/ada@example.test", "", "", 204, func(map[string]any) bool { return true }},
		{"deleted", "GET", "/developers/ada@example.test", "", "", 404, func(map[string]any) bool { return true }},
	})
}

// TestDeveloperPasswordHashed: the stored password is a hash that checks
// against the clear one, and no answer shows it.
func TestDeveloperPasswordHashed(t *testing.T) {
	s := portalServer(t)
	st, _ := call(t, s, "POST", "/developers", ctForm, []byte("email=eve@example.test&password=s3cret-pw&meta=%7B%22full_name%22%3A%22Eve%22%7D"))
	if st != 201 {
		t.Fatalf("POST /developers: %d", st)
	}
	rec, err := s.store.Get(context.Background(), "developers", "eve@example.test")
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := rec["password"].(string)
	if hash == "" || strings.Contains(hash, "s3cret-pw") || !store.CheckDeveloperPassword(hash, "s3cret-pw") ||
		store.CheckDeveloperPassword(hash, "s3cret-px") {
		t.Fatalf("stored password %q is not a hash of the password", hash)
	}
	// A PATCH leaving the password alone keeps the hash; a new one rehashes.
	call(t, s, "PATCH", "/developers/eve@example.test", ctJSON, []byte(`{"meta":{"full_name":"Eve"}}`))
	rec, _ = s.store.Get(context.Background(), "developers", "eve@example.test")
	if rec["password"] != hash || rec["meta"] != `{"full_name":"Eve"}` {
		t.Fatalf("after a meta PATCH: %v", rec)
	}
	call(t, s, "PATCH", "/developers/eve@example.test", ctJSON, []byte(`{"password":"n3w"}`))
	rec, _ = s.store.Get(context.Background(), "developers", "eve@example.test")
	if !store.CheckDeveloperPassword(rec["password"].(string), "n3w") {
		t.Fatalf("the new password does not check")
	}
}

// TestAutoApprove: with config.portal_auto_approve a new developer is
// approved.
func TestAutoApprove(t *testing.T) {
	s := portalServer(t)
	if st, _ := call(t, s, "PATCH", "/workspaces/default", ctForm, []byte("config.portal_auto_approve=true")); st != 200 {
		t.Fatal(st)
	}
	st, dev := call(t, s, "POST", "/developers", ctJSON, []byte(`{"email":"al@example.test","password":"pw","meta":{"full_name":"Al"}}`))
	if st != 201 || dev["status"] != 0.0 {
		t.Fatalf("POST /developers: %d %v", st, dev)
	}
}

// TestDocumentObjects: the training's link of a service to a spec, its
// nested path, and the cascade when the service goes.
func TestDocumentObjects(t *testing.T) {
	s := portalServer(t)
	_, svc := call(t, s, "POST", "/services", ctForm, []byte("name=crud&url=http://example.test"))
	id := svc["id"].(string)
	st, doc := call(t, s, "POST", "/default/document_objects", ctJSON,
		[]byte(`{"service":{"id":"`+id+`"},"path":"specs/iam-training.yml"}`))
	if st != 201 || doc["path"] != "specs/iam-training.yml" || doc["service"].(map[string]any)["id"] != id {
		t.Fatalf("POST /default/document_objects: %d %v", st, doc)
	}
	if st, list := call(t, s, "GET", "/default/services/crud/document_objects", "", nil); st != 200 || len(list["data"].([]any)) != 1 {
		t.Fatalf("GET /services/crud/document_objects: %d %v", st, list)
	}
	st, bad := call(t, s, "POST", "/document_objects", ctJSON,
		[]byte(`{"service":{"id":"7bcef2e6-117c-487a-aab2-c7e57a0bf61a"},"path":"specs/iam-training.yml"}`))
	if st != 400 || bad["name"] != "foreign key violation" {
		t.Fatalf("unknown service: %d %v", st, bad)
	}
	if st, _ := call(t, s, "DELETE", "/services/crud", "", nil); st != 204 {
		t.Fatal(st)
	}
	if st, _ := call(t, s, "GET", "/document_objects/"+doc["id"].(string), "", nil); st != 404 {
		t.Fatalf("document object outlived its service: %d", st)
	}
}

// TestPortalEntitiesNotDeclarative: the workspace and portal entities
// stay out of declarative configuration.
func TestPortalEntitiesNotDeclarative(t *testing.T) {
	for _, e := range store.PortalEntities() {
		if !store.NotDeclarative(e.Name) {
			t.Errorf("%s is declarative", e.Name)
		}
	}
	s := portalServer(t)
	_, ep := call(t, s, "GET", "/endpoints", "", nil)
	b, _ := json.Marshal(ep)
	for _, want := range []string{`"/workspaces"`, `"/workspaces/{workspace}"`, `"/files"`, `"/files/{files}"`,
		`"/developers/roles"`, `"/developers/{developer}"`, `"/document_objects"`, `"/services/{services}/document_objects"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/endpoints lacks %s", want)
		}
	}
	if strings.Contains(string(b), "/files/files") || strings.Contains(string(b), "/developers/developers") {
		t.Errorf("/endpoints lists an internal path: %s", b)
	}
}

// TestPortalPreflight: a browser's CORS preflight (Kong Manager on :8002
// calling :8001) is answered on the portal paths, with or without
// /default, nested file paths included.
func TestPortalPreflight(t *testing.T) {
	s := portalServer(t)
	tests := []struct{ path, want string }{
		{"/default/files/specs/iam-training.yml", "DELETE, GET, HEAD, OPTIONS, PATCH"},
		{"/files/specs/a/b/c.yml", "DELETE, GET, HEAD, OPTIONS, PATCH"},
		{"/default/files", "GET, HEAD, OPTIONS, POST"},
		{"/default/developers/roles", "GET, HEAD, OPTIONS, POST"},
		{"/default/developers/ada@example.test", "DELETE, GET, HEAD, OPTIONS, PATCH"},
		{"/default/workspaces/default", "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"},
		{"/default/document_objects", "GET, HEAD, OPTIONS, POST"},
	}
	for _, tc := range tests {
		req := httptest.NewRequest("OPTIONS", tc.path, nil)
		req.Header.Set("Origin", "http://localhost:8002")
		req.Header.Set("Access-Control-Request-Method", "PATCH")
		res, err := s.App().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNoContent || res.Header.Get("Allow") != tc.want ||
			res.Header.Get("Access-Control-Allow-Origin") != "http://localhost:8002" {
			t.Errorf("OPTIONS %s: %d Allow %q, want 204 %q", tc.path, res.StatusCode, res.Header.Get("Allow"), tc.want)
		}
	}
}

// FuzzPortalBodies sends arbitrary bodies to the portal writes: each is
// answered with a 2xx or a 4xx in Kong's JSON shape, never a 5xx.
func FuzzPortalBodies(f *testing.F) {
	seeds := []struct{ route, ctype, body string }{
		{"POST /developers", ctJSON, `{"email":"a@b.test","password":"p","meta":{"full_name":"A"},"roles":[]}`},
		{"PATCH /developers/a@b.test", ctJSON, `{"status":"approved","roles":"dev"}`},
		{"POST /files", ctJSON, `{"path":"specs/a.yml","contents":"x-headmatter:\n  readable_by: [dev]\n"}`},
		{"PATCH /files/specs/a.yml", ctForm, "contents=a%3A+1"},
		{"PATCH /workspaces/default", ctForm, "config.portal=true&config.portal_cors_origins=http://a"},
		{"POST /developers/roles", ctJSON, `{"name":"dev","comment":"x"}`},
		{"PATCH /developers/roles/dev", ctJSON, `{"name":"ops"}`},
	}
	for _, s := range seeds {
		f.Add(s.route, s.ctype, s.body)
	}
	s := portalServer(f)
	call(f, s, "POST", "/developers/roles", ctForm, []byte("name=dev"))
	call(f, s, "POST", "/developers", ctJSON, []byte(`{"email":"a@b.test","password":"p","meta":{"full_name":"A"}}`))
	call(f, s, "POST", "/files", ctJSON, []byte(`{"path":"specs/a.yml","contents":"a: 1"}`))
	f.Fuzz(func(t *testing.T, route, ctype, body string) {
		method, path, ok := strings.Cut(route, " ")
		if !ok || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " ?#\r\n\t") {
			return
		}
		switch method {
		case "POST", "PATCH", "PUT", "DELETE", "GET":
		default:
			return
		}
		if _, err := url.ParseRequestURI("/default" + path); err != nil {
			return // not a request a client can send
		}
		if ctype != ctJSON && ctype != ctForm {
			ctype = ctJSON
		}
		req := httptest.NewRequest(method, "/default"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		res, err := s.App().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, res.StatusCode, raw)
		}
		if len(raw) > 0 && res.StatusCode != http.StatusUnsupportedMediaType && !json.Valid(raw) {
			t.Fatalf("%s %s: body %q is not JSON", method, path, raw)
		}
	})
}

// TestPortalEntitiesStayOutOfKongYML: the declarative export (db_export,
// GET /config) leaves the workspace and portal entities out, and a
// kong.yml giving them is refused.
func TestPortalEntitiesStayOutOfKongYML(t *testing.T) {
	s := portalServer(t)
	_, svc := call(t, s, "POST", "/services", ctForm, []byte("name=crud&url=http://example.test"))
	for _, c := range []struct{ method, path, body string }{
		{"PATCH", "/workspaces/default", `{"config":{"portal":true}}`},
		{"POST", "/files", `{"path":"specs/a.yml","contents":"a: 1"}`},
		{"POST", "/developers/roles", `{"name":"dev"}`},
		{"POST", "/developers", `{"email":"a@b.test","password":"secret-pw","meta":{"full_name":"A"}}`},
		{"POST", "/document_objects", `{"service":{"id":"` + svc["id"].(string) + `"},"path":"specs/a.yml"}`},
	} {
		if st, b := call(t, s, c.method, c.path, ctJSON, []byte(c.body)); st >= 300 {
			t.Fatalf("%s %s: %d %v", c.method, c.path, st, b)
		}
	}
	out, err := declarative.Export(context.Background(), s.store)
	if err != nil {
		t.Fatal(err)
	}
	for _, word := range []string{"workspaces", "files:", "developers", "developer_roles", "document_objects", "secret-pw", "pbkdf2"} {
		if bytes.Contains(out, []byte(word)) {
			t.Errorf("the export holds %q:\n%s", word, out)
		}
	}
	if !bytes.Contains(out, []byte("crud")) {
		t.Fatalf("the export lacks the service: %s", out)
	}
	for _, doc := range []string{
		"_format_version: \"3.0\"\nfiles:\n- path: specs/a.yml\n  contents: 'a: 1'\n",
		"_format_version: \"3.0\"\ndevelopers:\n- email: a@b.test\n",
		"_format_version: \"3.0\"\nworkspaces:\n- name: default\n",
	} {
		if _, err := declarative.Parse([]byte(doc), s.store.Registry()); err == nil {
			t.Errorf("kong.yml accepted:\n%s", doc)
		}
	}
}

// wrapped is the developer of a PATCH /developers/{d} answer, Kong's
// {"developer": {...}}; nil when the answer has another shape.
func wrapped(b map[string]any) map[string]any {
	if len(b) != 1 {
		return nil
	}
	d, _ := b["developer"].(map[string]any)
	return d
}
