package admin_test

import (
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"testing"
)

// TestTraining walks the Admin API part of the IAM training
// (shared/seeds/001) over real HTTP, checking every response, on the
// embedded SQLite store and on Postgres.
func TestTraining(t *testing.T) {
	backends := map[string]func(t *testing.T) map[string]string{
		"sqlite":   func(t *testing.T) map[string]string { return nil },
		"postgres": pgSettings,
	}
	for name, settings := range backends {
		t.Run(name, func(t *testing.T) {
			node := startNode(t, settings(t))
			walkTraining(t, &client{t: t, base: "http://" + node.Addr("admin")})
		})
	}
}

func walkTraining(t *testing.T, c *client) {
	// 4.1 Create a service from its url.
	svc := c.form("POST", "/services/", "name=crud", "url=http://iris:52773/crud/")
	expect(t, svc, http.StatusCreated, "create service")
	for field, want := range map[string]any{"name": "crud", "protocol": "http", "host": "iris", "port": 52773.0,
		"path": "/crud/", "retries": 5.0, "connect_timeout": 60000.0, "write_timeout": 60000.0, "read_timeout": 60000.0,
		"enabled": true, "tags": nil, "client_certificate": nil, "tls_verify": nil, "ca_certificates": nil} {
		equal(t, "service."+field, svc.get(field), want)
	}
	if _, ok := svc.body["url"]; ok {
		t.Error("the url shorthand must not be returned")
	}
	serviceID := svc.str("id")

	// 4.2 Create a route under it; Kong stores `/persons/*` as a plain prefix path.
	route := c.form("POST", "/services/crud/routes", "name=crud-route", "paths=/persons/*", "strip_path=false")
	expect(t, route, http.StatusCreated, "create route")
	equal(t, "route.paths", route.get("paths"), []any{"/persons/*"})
	equal(t, "route.strip_path", route.get("strip_path"), false)
	equal(t, "route.service", route.get("service"), map[string]any{"id": serviceID})
	equal(t, "route.protocols", route.get("protocols"), []any{"http", "https"})
	equal(t, "route.preserve_host", route.get("preserve_host"), false)
	equal(t, "route.https_redirect_status_code", route.get("https_redirect_status_code"), 426.0)
	equal(t, "route.path_handling", route.get("path_handling"), "v0")

	// 5.1 request-transformer on the service with dotted form keys.
	rt := c.form("POST", "/services/crud/plugins", "name=request-transformer",
		"config.add.headers=Authorization:Basic U3VwZXJVc2VyOlNZUw==",
		"config.replace.headers=Authorization:Basic U3VwZXJVc2VyOlNZUw==")
	expect(t, rt, http.StatusCreated, "create request-transformer")
	equal(t, "config.add.headers", rt.get("config.add.headers"), []any{"Authorization:Basic U3VwZXJVc2VyOlNZUw=="})
	equal(t, "config.replace.headers", rt.get("config.replace.headers"), []any{"Authorization:Basic U3VwZXJVc2VyOlNZUw=="})
	equal(t, "config.remove.headers", rt.get("config.remove.headers"), []any{})
	equal(t, "plugin.service", rt.get("service"), map[string]any{"id": serviceID})
	equal(t, "plugin.route", rt.get("route"), nil)
	equal(t, "plugin.enabled", rt.get("enabled"), true)
	equal(t, "plugin.protocols", rt.get("protocols"), []any{"grpc", "grpcs", "http", "https"})
	// The same plugin twice on the same service is a unique violation.
	dup := c.form("POST", "/services/crud/plugins", "name=request-transformer")
	expect(t, dup, http.StatusConflict, "duplicate plugin")
	equal(t, "dup.code", dup.get("code"), 5.0)

	// 6.1 Consumers.
	anon := c.form("POST", "/consumers/", "username=anonymous", "custom_id=anonymous")
	expect(t, anon, http.StatusCreated, "create anonymous")
	user := c.form("POST", "/consumers/", "username=user", "custom_id=user")
	expect(t, user, http.StatusCreated, "create user")
	equal(t, "user.username", user.get("username"), "user")
	equal(t, "user.custom_id", user.get("custom_id"), "user")

	// 6.2 basic-auth on the route with the anonymous consumer.
	ba := c.form("POST", "/routes/crud-route/plugins", "name=basic-auth",
		"config.anonymous="+anon.str("id"), "config.hide_credentials=false")
	expect(t, ba, http.StatusCreated, "create basic-auth")
	equal(t, "basic-auth.config.anonymous", ba.get("config.anonymous"), anon.str("id"))
	equal(t, "basic-auth.config.hide_credentials", ba.get("config.hide_credentials"), false)
	equal(t, "basic-auth.route", ba.get("route"), map[string]any{"id": route.str("id")})

	// 6.4 ACL group and basic-auth credentials for user.
	acl := c.form("POST", "/consumers/user/acls", "group=user")
	expect(t, acl, http.StatusCreated, "create acl")
	equal(t, "acl.group", acl.get("group"), "user")
	equal(t, "acl.consumer", acl.get("consumer"), map[string]any{"id": user.str("id")})
	cred := c.form("POST", "/consumers/user/basic-auth", "username=user", "password=user")
	expect(t, cred, http.StatusCreated, "create basic-auth credential")
	sum := sha1.Sum([]byte("user" + user.str("id")))
	equal(t, "credential.password (hashed)", cred.get("password"), hex.EncodeToString(sum[:]))
	if cred.str("password") == "user" {
		t.Fatal("password returned in clear")
	}

	// 7.1 The anonymous consumer joins the group and is rate limited.
	expect(t, c.form("POST", "/consumers/anonymous/acls", "group=user"), http.StatusCreated, "anonymous acl")
	rl := c.form("POST", "/consumers/anonymous/plugins", "name=rate-limiting", "config.limit_by=consumer", "config.minute=2")
	expect(t, rl, http.StatusCreated, "create rate-limiting")
	equal(t, "rate-limiting.config.minute", rl.get("config.minute"), 2.0)
	equal(t, "rate-limiting.consumer", rl.get("consumer"), map[string]any{"id": anon.str("id")})

	// Reading back what the training built.
	list := c.get("/services/crud/plugins")
	expect(t, list, http.StatusOK, "list service plugins")
	equal(t, "service plugins", len(list.get("data").([]any)), 1)
	equal(t, "next", list.get("next"), nil)
	plugins := c.get("/plugins")
	equal(t, "all plugins", len(plugins.get("data").([]any)), 3)
	equal(t, "consumer acls", len(c.get("/consumers/user/acls").get("data").([]any)), 1)
	got := c.get("/consumers/user/acls/user")
	expect(t, got, http.StatusOK, "acl by group")
	equal(t, "acl by group id", got.get("id"), acl.get("id"))
	byCustomID := c.get("/consumers?custom_id=anonymous")
	equal(t, "custom_id filter", byCustomID.get("data.0.id"), anon.get("id"))
	expect(t, c.get("/routes/crud-route/service"), http.StatusOK, "route's service")
	equal(t, "route's service", c.get("/routes/crud-route/service").get("name"), "crud")
	// A credential of another consumer is not reachable under this one.
	expect(t, c.get("/consumers/anonymous/basic-auth/"+cred.str("id")), http.StatusNotFound, "foreign credential")

	// 12.1.2 Clean-up order matters: a service with routes cannot go first.
	del := c.do("DELETE", "/services/crud", "", nil)
	expect(t, del, http.StatusBadRequest, "delete service with routes")
	equal(t, "delete.code", del.get("code"), 4.0)
	equal(t, "delete.message", del.get("message"), "an existing 'routes' entity references this 'services' entity")
	equal(t, "delete.fields", del.get("fields"), map[string]any{"@referenced_by": "routes"})
	for _, p := range plugins.get("data").([]any) {
		id := p.(map[string]any)["id"].(string)
		expect(t, c.do("DELETE", "/plugins/"+id, "", nil), http.StatusNoContent, "delete plugin")
	}
	expect(t, c.do("DELETE", "/routes/crud-route", "", nil), http.StatusNoContent, "delete route")
	expect(t, c.do("DELETE", "/services/crud", "", nil), http.StatusNoContent, "delete service")
	expect(t, c.do("DELETE", "/consumers/user", "", nil), http.StatusNoContent, "delete consumer")
	expect(t, c.get("/consumers/user"), http.StatusNotFound, "deleted consumer")
	equal(t, "acls left", len(c.get("/acls").get("data").([]any)), 1)
	equal(t, "credentials left", len(c.get("/basic-auths").get("data").([]any)), 0)
}
