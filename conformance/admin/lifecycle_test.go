package admin_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/config"
)

// TestRestartKeepsEntities stops a node and starts another on the same
// database: every entity is still there, on SQLite and on Postgres.
func TestRestartKeepsEntities(t *testing.T) {
	backends := map[string]func(t *testing.T) map[string]string{
		"sqlite":   func(t *testing.T) map[string]string { return map[string]string{"prefix": t.TempDir()} },
		"postgres": pgSettings,
	}
	for name, settings := range backends {
		t.Run(name, func(t *testing.T) {
			s := settings(t)
			node := startNode(t, s)
			c := &client{t: t, base: "http://" + node.Addr("admin")}
			expect(t, c.form("POST", "/services", "name=kept", "url=https://example.com/v1"), http.StatusCreated, "service")
			expect(t, c.form("POST", "/consumers", "username=kept"), http.StatusCreated, "consumer")
			expect(t, c.form("POST", "/consumers/kept/basic-auth", "username=kept", "password=secret"), http.StatusCreated, "credential")
			before := snapshot(c)
			node.Close()
			node2 := startNode(t, s)
			c2 := &client{t: t, base: "http://" + node2.Addr("admin")}
			if after := snapshot(c2); !reflect.DeepEqual(before, after) {
				t.Fatalf("after restart:\n%v\nbefore:\n%v", after, before)
			}
		})
	}
}

func snapshot(c *client) map[string]any {
	out := map[string]any{}
	for _, p := range []string{"/services", "/consumers", "/basic-auths"} {
		out[p] = c.get(p).get("data")
	}
	return out
}

// TestExportImport exports a database with `config db_export` and imports
// the file into an empty one with `config db_import`: same entities.
func TestExportImport(t *testing.T) {
	prefix := t.TempDir()
	node := startNode(t, map[string]string{"prefix": prefix})
	c := &client{t: t, base: "http://" + node.Addr("admin")}
	expect(t, c.form("POST", "/services", "name=crud", "url=http://iris:52773/crud/", "tags=a", "tags=b"), http.StatusCreated, "service")
	expect(t, c.form("POST", "/services/crud/routes", "name=crud-route", "paths=/persons", "strip_path=false"), http.StatusCreated, "route")
	expect(t, c.form("POST", "/services/crud/plugins", "name=request-transformer", "config.add.headers=x:y"), http.StatusCreated, "plugin")
	expect(t, c.form("POST", "/consumers", "username=user"), http.StatusCreated, "consumer")
	expect(t, c.form("POST", "/consumers/user/basic-auth", "username=user", "password=user"), http.StatusCreated, "credential")
	expect(t, c.form("POST", "/consumers/user/acls", "group=user"), http.StatusCreated, "acl")
	expect(t, c.form("POST", "/consumers/user/key-auth", "key=k1"), http.StatusCreated, "key")
	before := fullSnapshot(c)
	node.Close()

	ctx := context.Background()
	cfgA, err := config.Load(config.LoadOptions{Flags: map[string]string{"prefix": prefix}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "kong.yml")
	if err := app.DBExport(ctx, cfgA, file, io.Discard); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(file)
	if bytes.Contains(data, []byte("password: user")) {
		t.Fatal("export holds a clear password")
	}
	prefixB := t.TempDir()
	cfgB, err := config.Load(config.LoadOptions{Flags: map[string]string{"prefix": prefixB}})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.DBImport(ctx, cfgB, file, io.Discard); err != nil {
		t.Fatal(err)
	}
	nodeB := startNode(t, map[string]string{"prefix": prefixB})
	after := fullSnapshot(&client{t: t, base: "http://" + nodeB.Addr("admin")})
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("imported:\n%v\nexported:\n%v", after, before)
	}
}

func fullSnapshot(c *client) map[string]any {
	out := map[string]any{}
	for _, p := range []string{"/services", "/routes", "/plugins", "/consumers", "/basic-auths", "/acls", "/key-auths"} {
		out[p] = c.get(p).get("data")
	}
	return out
}

// TestDBLess serves a declarative file with database=off: reads work,
// writes answer 405 as Kong does, and POST /config replaces the config.
func TestDBLess(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kong.yml")
	os.WriteFile(file, []byte(`_format_version: "3.0"
services:
- name: crud
  url: http://iris:52773/crud/
  routes:
  - name: crud-route
    paths: ["/persons"]
consumers:
- username: user
`), 0o644)
	node := startNode(t, map[string]string{"database": "off", "declarative_config": file})
	c := &client{t: t, base: "http://" + node.Addr("admin")}
	svc := c.get("/services/crud")
	expect(t, svc, http.StatusOK, "declared service")
	equal(t, "host", svc.get("host"), "iris")
	equal(t, "route service", c.get("/routes/crud-route").get("service.id"), svc.get("id"))
	root := c.get("/")
	equal(t, "database", root.get("configuration.database"), "off")
	w := c.form("POST", "/services", "name=x", "host=y")
	expect(t, w, http.StatusMethodNotAllowed, "write in DB-less mode")
	equal(t, "code", w.get("code"), 12.0)
	equal(t, "message", w.get("message"), "cannot create 'services' entities when not using a database")
	d := c.do("DELETE", "/services/crud", "", nil)
	expect(t, d, http.StatusMethodNotAllowed, "delete in DB-less mode")
	equal(t, "message", d.get("message"), "cannot remove 'services' entities when not using a database")
	hash := c.get("/status").str("configuration_hash")
	if len(hash) != 32 || hash == strings.Repeat("0", 32) {
		t.Errorf("configuration_hash = %q", hash)
	}

	up := c.form("POST", "/config", "config=_format_version: \"3.0\"\nservices:\n- name: other\n  host: other.test\n")
	expect(t, up, http.StatusCreated, "POST /config")
	expect(t, c.get("/services/crud"), http.StatusNotFound, "replaced service")
	expect(t, c.get("/services/other"), http.StatusOK, "new service")
	if c.get("/status").str("configuration_hash") == hash {
		t.Error("configuration_hash did not change")
	}
	bad := c.form("POST", "/config", "config=_format_version: \"3.0\"\nservices:\n- name: broken\n")
	expect(t, bad, http.StatusBadRequest, "invalid config")
	equal(t, "code", bad.get("code"), 14.0)
	expect(t, c.get("/services/other"), http.StatusOK, "config kept after a bad upload")
}

// TestBodies sends the same entity as JSON, form and multipart, and checks
// Kong's form conventions and node information.
func TestBodies(t *testing.T) {
	node := startNode(t, nil)
	c := &client{t: t, base: "http://" + node.Addr("admin")}
	expect(t, c.form("POST", "/services", "name=s", "host=example.com"), http.StatusCreated, "service")

	j := c.json("POST", "/routes", map[string]any{"name": "j", "paths": []string{"/j1", "/j2"}, "methods": []string{"GET"}, "service": map[string]any{"name": "s"}})
	expect(t, j, http.StatusCreated, "json route")
	f := c.form("POST", "/routes", "name=f", "paths[1]=/f1", "paths[2]=/f2", "methods=GET", "service.name=s")
	expect(t, f, http.StatusCreated, "form route")
	equal(t, "form paths", f.get("paths"), []any{"/f1", "/f2"})
	equal(t, "form service", f.get("service"), j.get("service"))

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("name", "m")
	mw.WriteField("paths[]", "/m")
	mw.WriteField("service.id", j.str("service.id"))
	mw.Close()
	m := c.do("POST", "/routes", mw.FormDataContentType(), buf.Bytes())
	expect(t, m, http.StatusCreated, "multipart route")
	equal(t, "multipart paths", m.get("paths"), []any{"/m"})

	patched := c.form("PATCH", "/routes/f", "strip_path=false", "hosts=a.example.com")
	expect(t, patched, http.StatusOK, "patch route")
	equal(t, "patched strip_path", patched.get("strip_path"), false)
	equal(t, "patched hosts", patched.get("hosts"), []any{"a.example.com"})
	equal(t, "kept paths", patched.get("paths"), []any{"/f1", "/f2"})

	put := c.json("PUT", "/consumers/bob", map[string]any{})
	expect(t, put, http.StatusOK, "put consumer by name")
	equal(t, "put username", put.get("username"), "bob")

	for i := 0; i < 5; i++ {
		expect(t, c.form("POST", "/consumers", "username=u"+string(rune('a'+i)), "tags=team", "tags=t"+string(rune('a'+i))), http.StatusCreated, "consumer")
	}
	page := c.get("/consumers?size=2&tags=team")
	expect(t, page, http.StatusOK, "page")
	equal(t, "page size", len(page.get("data").([]any)), 2)
	next := page.str("next")
	if !strings.HasPrefix(next, "/consumers?") || !strings.Contains(next, "offset=") || !strings.Contains(next, "tags=team") {
		t.Fatalf("next = %q", next)
	}
	seen := 2
	for next != "" {
		p := c.get(next)
		seen += len(p.get("data").([]any))
		next = p.str("next")
	}
	equal(t, "tagged consumers", seen, 5)
	equal(t, "any-tag filter", len(c.get("/consumers?tags=ta/tb").get("data").([]any)), 2)
	tags := c.get("/tags/team")
	equal(t, "tags entity", tags.get("data.0.entity_name"), "consumers")

	root := c.get("/")
	equal(t, "version", root.get("version"), "3.9.3")
	equal(t, "database", root.get("configuration.database"), "sqlite")
	equal(t, "router_flavor", root.get("configuration.router_flavor"), "traditional_compatible")
	if root.str("node_id") == "" || root.str("gatehouse_version") == "" || root.get("plugins.available_on_server") == nil {
		t.Errorf("node info incomplete: %s", root.raw)
	}
	status := c.get("/status")
	equal(t, "reachable", status.get("database.reachable"), true)
	if status.get("server.total_requests") == nil {
		t.Errorf("no server counters: %s", status.raw)
	}
	sch := c.get("/schemas/services")
	equal(t, "schema first field", sch.get("fields.0.id.type"), "string")
	ps := c.get("/schemas/plugins/request-transformer")
	expect(t, ps, http.StatusOK, "plugin schema")
	valid := c.form("POST", "/schemas/plugins/validate", "name=rate-limiting", "config.minute=5")
	expect(t, valid, http.StatusOK, "validate plugin")
	equal(t, "validate message", valid.get("message"), "schema validation successful")
	expect(t, c.form("POST", "/schemas/plugins/validate", "name=rate-limiting", "config.minute=-1"), http.StatusBadRequest, "invalid plugin")
	eps := c.get("/endpoints")
	if !strings.Contains(string(eps.raw), `"/services/{services}/routes"`) {
		t.Errorf("endpoints lack nested routes: %s", eps.raw)
	}
	statusOnly := (&client{t: t, base: "http://" + node.Addr("status")}).get("/status")
	expect(t, statusOnly, http.StatusOK, "status listener")
}
