// Package pluginentity_test proves that a plugin brings its own entities
// the way Kong plugins do with daos.lua: a plugin declared only in this
// test, token-auth, owns a credential entity, and without any change to a
// core package it gets Admin API CRUD under its own paths, kong.yml import
// and export, cache invalidation on change, and proxy requests
// authenticated with its credentials — all through real HTTP. Each test
// runs twice: with the plugin given to the node as a Go definition, and
// delivered as data by a hostabi.Provider (schemas in Kong's JSON
// rendering), as the Lua and Wasm hosts will deliver theirs.
package pluginentity_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/config"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/declarative"
	"github.com/gatehouse/gatehouse/store/schema"
	"gopkg.in/yaml.v3"
)

const (
	pluginName = "token-auth"
	entityName = "tokenauth_credentials"
)

// definition declares token-auth: clients send a token in a header; the
// token must be one of the plugin's credentials.
func definition() *plugin.Definition {
	return &plugin.Definition{
		Name: pluginName, Version: "0.0.1", Priority: 1234,
		Phases: []hostabi.Phase{hostabi.PhaseAccess},
		Schema: &store.PluginSchema{Name: pluginName, Config: &schema.Schema{Fields: []*schema.Field{
			{Name: "header_name", Type: schema.String, Default: "x-token"},
		}}},
		Entities: []*store.Entity{{
			Name: entityName, Path: "token-auths", NestedPath: "token-auth", EndpointKey: "token",
			KongCacheKey: []string{"token"},
			Schema: &schema.Schema{Fields: []*schema.Field{
				store.IDField(), store.CreatedAtField(), store.ConsumerField(),
				{Name: "token", Type: schema.String, Required: true, Unique: true},
				store.TagsField(),
			}},
		}},
		New: func(config map[string]any) (any, error) {
			h, _ := config["header_name"].(string)
			return &tokenAuth{header: h}, nil
		},
	}
}

type tokenAuth struct{ header string }

func (p *tokenAuth) Access(k hostabi.Kong) error {
	tok := k.Request().Header(p.header)
	if tok == "" {
		k.Response().Error(http.StatusUnauthorized, "no token", nil)
		return nil
	}
	cred, err := k.Credentials().Credential(k.Context(), entityName, "token", tok)
	if err != nil {
		return err
	}
	if cred == nil {
		k.Response().Error(http.StatusUnauthorized, "bad token", nil)
		return nil
	}
	consumer, err := k.Client().LoadConsumer(k.Context(), store.ForeignID(cred["consumer"]), false)
	if err != nil {
		return err
	}
	k.Client().Authenticate(consumer, cred)
	name, _ := consumer["username"].(string)
	k.ServiceRequest().SetHeader("X-Token-Consumer", name)
	return nil
}

var _ hostabi.Accessor = (*tokenAuth)(nil)

// upstream answers with the consumer the plugin identified.
func upstream(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "consumer=%s", r.Header.Get("X-Token-Consumer"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// provider delivers token-auth as data, the way the Lua and Wasm hosts
// deliver the plugins they find: schemas in Kong's JSON rendering, the
// entity as a daos.lua-like declaration, a factory.
type provider struct{ closed int }

// The schemas as a Lua plugin's schema.lua and daos.lua render them.
const (
	pluginSchemaJSON = `{"fields": [
		{"protocols": {"type": "set", "required": true, "default": ["grpc", "grpcs", "http", "https"],
			"elements": {"type": "string", "one_of": ["grpc", "grpcs", "http", "https"]}}},
		{"config": {"type": "record", "required": true, "fields": [
			{"header_name": {"type": "string", "default": "x-token"}}]}}]}`
	entitySchemaJSON = `{"fields": [
		{"id": {"type": "string", "uuid": true, "auto": true}},
		{"created_at": {"type": "integer", "timestamp": true, "auto": true}},
		{"consumer": {"type": "foreign", "reference": "consumers", "required": true, "on_delete": "cascade"}},
		{"token": {"type": "string", "required": true, "unique": true}},
		{"tags": {"type": "set", "elements": {"type": "string"}}}]}`
)

func (p *provider) Plugins() ([]hostabi.ProvidedPlugin, error) {
	var ps, es map[string]any
	if err := json.Unmarshal([]byte(pluginSchemaJSON), &ps); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(entitySchemaJSON), &es); err != nil {
		return nil, err
	}
	return []hostabi.ProvidedPlugin{{
		Definition: hostabi.Definition{Name: pluginName, Version: "0.0.1", Priority: 1234,
			Phases: []hostabi.Phase{hostabi.PhaseAccess}, Schema: ps,
			Entities: []hostabi.EntityDefinition{{Name: entityName, AdminAPIName: "token-auths",
				AdminAPINestedName: "token-auth", EndpointKey: "token", CacheKey: []string{"token"}, Schema: es}}},
		Factory: factory{},
	}}, nil
}

func (p *provider) Close() error { p.closed++; return nil }

type factory struct{}

func (factory) New(config map[string]any) (any, error) { return definition().New(config) }

// modes are the two ways a plugin reaches a node: a Go definition, and a
// provider delivering it as data.
func modes() []struct {
	name string
	opts func() (app.Options, *provider)
} {
	return []struct {
		name string
		opts func() (app.Options, *provider)
	}{
		{"definition", func() (app.Options, *provider) {
			return app.Options{Plugins: []*plugin.Definition{definition()}}, nil
		}},
		{"provider", func() (app.Options, *provider) {
			p := &provider{}
			return app.Options{Providers: []hostabi.Provider{p}}, p
		}},
	}
}

// start starts a node with token-auth given to app by opts.
func start(t *testing.T, settings map[string]string, opts app.Options) *app.Node {
	t.Helper()
	flags := map[string]string{
		"prefix": t.TempDir(), "admin_listen": "127.0.0.1:0", "proxy_listen": "127.0.0.1:0",
		"status_listen": "off", "admin_gui_listen": "off", "log_level": "crit", "plugins": "bundled," + pluginName,
	}
	for k, v := range settings {
		flags[k] = v
	}
	cfg, err := config.Load(config.LoadOptions{Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	n, err := app.StartWith(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

type client struct {
	t    *testing.T
	base string
}

// do sends a request and returns the status and the body.
func (c client) do(method, path string, body any, header ...string) (int, string) {
	c.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/yaml"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd, ct = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}

// want sends a request and fails unless the status is status; it returns
// the decoded JSON body (nil for an empty one).
func (c client) want(status int, method, path string, body any) map[string]any {
	c.t.Helper()
	got, text := c.do(method, path, body)
	if got != status {
		c.t.Fatalf("%s %s = %d %s, want %d", method, path, got, text, status)
	}
	if text == "" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		c.t.Fatalf("%s %s: %v in %s", method, path, err, text)
	}
	return m
}

// eventually retries a proxy request until it answers status and body, or
// fails after a few seconds: configuration rebuilds and invalidation run
// off the Admin API's request (the cache's own TTL is ten minutes, so
// only invalidation can pass this in time).
func (c client) eventually(token string, status int, body string) {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var header []string
		if token != "" {
			header = []string{"x-token", token}
		}
		got, text := c.do("GET", "/t", nil, header...)
		if got == status && (body == "" || text == body) {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("proxy with token %q = %d %s, want %d %s", token, got, text, status, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPluginOwnedCredentialThroughAdminAPIAndProxy(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			opts, p := m.opts()
			n := start(t, nil, opts)
			credentialLifecycle(t, n)
			if p != nil {
				n.Close()
				if p.closed != 1 {
					t.Errorf("the node closed its provider %d times", p.closed)
				}
			}
		})
	}
}

func credentialLifecycle(t *testing.T, n *app.Node) {
	admin := client{t, "http://" + n.Addr("admin")}
	proxy := client{t, "http://" + n.Addr("proxy")}

	admin.want(201, "POST", "/services", map[string]any{"name": "echo", "url": upstream(t)})
	admin.want(201, "POST", "/services/echo/routes", map[string]any{"name": "t", "paths": []string{"/t"}})
	admin.want(201, "POST", "/routes/t/plugins", map[string]any{"name": pluginName})
	alice := admin.want(201, "POST", "/consumers", map[string]any{"username": "alice"})

	// Create under the nested path, read under both.
	cred := admin.want(201, "POST", "/consumers/alice/token-auth", map[string]any{"token": "t1"})
	if cred["token"] != "t1" || store.ForeignID(cred["consumer"]) != alice["id"] {
		t.Fatalf("created %v", cred)
	}
	admin.want(200, "GET", "/token-auths/t1", nil)
	admin.want(200, "GET", "/consumers/alice/token-auth/"+cred["id"].(string), nil)
	if list := admin.want(200, "GET", "/token-auths", nil); len(list["data"].([]any)) != 1 {
		t.Errorf("GET /token-auths = %v", list)
	}
	if list := admin.want(200, "GET", "/consumers/alice/token-auth", nil); len(list["data"].([]any)) != 1 {
		t.Errorf("GET /consumers/alice/token-auth = %v", list)
	}
	dup := admin.want(409, "POST", "/token-auths", map[string]any{"token": "t1", "consumer": map[string]any{"id": alice["id"]}})
	if dup["name"] != "unique constraint violation" {
		t.Errorf("duplicate token: %v", dup)
	}
	missing := admin.want(400, "POST", "/consumers/alice/token-auth", map[string]any{})
	if fields, _ := missing["fields"].(map[string]any); fields["token"] != "required field missing" {
		t.Errorf("missing token: %v", missing)
	}
	if sch := admin.want(200, "GET", "/schemas/"+entityName, nil); sch["fields"] == nil {
		t.Errorf("GET /schemas/%s = %v", entityName, sch)
	}

	// The proxy authenticates with it; the cached credential follows
	// every change.
	proxy.eventually("t1", 200, "consumer=alice")
	proxy.eventually("", 401, "")
	proxy.eventually("nope", 401, "")
	admin.want(200, "PATCH", "/consumers/alice/token-auth/t1", map[string]any{"token": "t2"})
	proxy.eventually("t1", 401, "")
	proxy.eventually("t2", 200, "consumer=alice")
	admin.want(200, "PUT", "/token-auths/t3", map[string]any{"consumer": map[string]any{"id": alice["id"]}})
	proxy.eventually("t3", 200, "consumer=alice")
	admin.want(204, "DELETE", "/token-auths/t2", nil)
	proxy.eventually("t2", 401, "")
	admin.want(404, "GET", "/token-auths/t2", nil)

	// Deleting the consumer deletes its credentials (the declared cascade).
	admin.want(204, "DELETE", "/consumers/alice", nil)
	admin.want(404, "GET", "/token-auths/t3", nil)
	proxy.eventually("t3", 401, "")
}

func TestPluginOwnedCredentialInKongYML(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			opts, _ := m.opts()
			kongYML(t, start(t, map[string]string{"database": "off"}, opts))
		})
	}
}

func kongYML(t *testing.T, n *app.Node) {
	admin := client{t, "http://" + n.Addr("admin")}
	proxy := client{t, "http://" + n.Addr("proxy")}
	file := func(token string) string {
		return fmt.Sprintf(`_format_version: "3.0"
services:
- name: echo
  url: %s
  routes:
  - name: t
    paths: [/t]
    plugins:
    - name: %s
consumers:
- username: bob
  %s:
  - token: %s
`, upstream(t), pluginName, entityName, token)
	}

	// Import (nested under its consumer, as Kong allows for credentials).
	admin.want(201, "POST", "/config", file("b1"))
	cred := admin.want(200, "GET", "/token-auths/b1", nil)
	wantID := declarative.GenerateID(entityName, entityName+":*:b1")
	if cred["id"] != wantID {
		t.Errorf("id %v, want Kong's id from the declared cache key, %s", cred["id"], wantID)
	}
	proxy.eventually("b1", 200, "consumer=bob")

	// Export, and the export loads back as the same configuration.
	exported := admin.want(200, "GET", "/config", nil)["config"].(string)
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(exported), &doc); err != nil {
		t.Fatal(err)
	}
	creds, _ := doc[entityName].([]any)
	if len(creds) != 1 {
		t.Fatalf("export has %s %v:\n%s", entityName, doc[entityName], exported)
	}
	if c := creds[0].(map[string]any); c["token"] != "b1" || c["id"] != wantID || c["consumer"] == nil {
		t.Errorf("exported credential %v", c)
	}
	admin.want(201, "POST", "/config", exported)
	admin.want(200, "GET", "/token-auths/"+wantID, nil)

	// A reload replaces the credential; the cached one goes with it.
	admin.want(201, "POST", "/config", file("b2"))
	proxy.eventually("b1", 401, "")
	proxy.eventually("b2", 200, "consumer=bob")

	// kong.yml errors name the plugin's entity by its place in the file.
	got, text := admin.do("POST", "/config", strings.Replace(file("b3"), "  - token: b3", "  - tags: [x]", 1))
	if got != 400 || !strings.Contains(text, entityName) || !strings.Contains(text, "required field missing") {
		t.Errorf("invalid credential in kong.yml: %d %s", got, text)
	}
}

// TestPluginNotEnabledHasNoEntities: the entity comes with the plugin; a
// node that does not enable it serves none of its paths and refuses its
// kong.yml key.
func TestPluginNotEnabledHasNoEntities(t *testing.T) {
	n := start(t, map[string]string{"plugins": "bundled", "database": "off"},
		app.Options{Plugins: []*plugin.Definition{definition()}})
	admin := client{t, "http://" + n.Addr("admin")}
	admin.want(404, "GET", "/token-auths", nil)
	got, text := admin.do("POST", "/config", "_format_version: \"3.0\"\n"+entityName+": []\n")
	if got != 400 || !strings.Contains(text, "unknown field") {
		t.Errorf("kong.yml with %s on a node without %s: %d %s", entityName, pluginName, got, text)
	}
}
