package pdk

import (
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

func TestRequest(t *testing.T) {
	req := func() *plugintest.Request {
		r := plugintest.NewRequest("POST", "/orders/7?limit=5&tag=a&tag=b&flag&empty=&sp=a+b%21")
		r.Scheme, r.Host, r.Port = "https", "api.example.test", 8443
		return r.WithHeader("X-Thing", "one").WithHeader("X-Thing", "two").
			WithHeader("Content-Type", "application/json").WithHeader("X_Under", "u").
			WithBody("application/json", []byte(`{"a":1,"list":[1,2],"n":null}`))
	}
	runCases(t, []pdkCase{
		{name: "scalars", req: req(), lua: `
			eq(kong.request.get_scheme(), "https", "scheme")
			eq(kong.request.get_host(), "api.example.test", "host")
			eq(kong.request.get_port(), 8443, "port")
			eq(kong.request.get_forwarded_scheme(), "https", "fwd scheme")
			eq(kong.request.get_forwarded_host(), "api.example.test", "fwd host")
			eq(kong.request.get_forwarded_port(), 8443, "fwd port")
			eq(kong.request.get_http_version(), 1.1, "version")
			eq(kong.request.get_method(), "POST", "method")
			eq(kong.request.get_path(), "/orders/7", "path")
			eq(kong.request.get_raw_path(), "/orders/7", "raw path")
			eq(kong.request.get_path_with_query(), "/orders/7?limit=5&tag=a&tag=b&flag&empty=&sp=a+b%21", "pwq")
			eq(kong.request.get_raw_query(), "limit=5&tag=a&tag=b&flag&empty=&sp=a+b%21", "raw query")
			eq(type(kong.request.get_start_time()), "number", "start time")
		`},
		{name: "query", req: req(), lua: `
			eq(kong.request.get_query_arg("limit"), "5")
			eq(kong.request.get_query_arg("tag"), "a", "first of repeated")
			eq(kong.request.get_query_arg("flag"), true, "bare")
			eq(kong.request.get_query_arg("empty"), "", "empty")
			eq(kong.request.get_query_arg("nope"), nil, "absent")
			local q = kong.request.get_query()
			eq(q.limit, "5")
			eq(#q.tag, 2, "repeated is array")
			eq(q.tag[2], "b")
			eq(q.flag, true)
			eq(q.sp, "a b!", "decoded")
			local q2, err = kong.request.get_query(2)
			eq(err, "truncated")
			eq(q2.limit, "5")
			eq(q2.sp, nil)
		`},
		{name: "headers", req: req(), lua: `
			eq(kong.request.get_header("x-thing"), "one", "first value")
			eq(kong.request.get_header("X-THING"), "one", "case-insensitive")
			eq(kong.request.get_header("x_thing"), "one", "underscore")
			eq(kong.request.get_header("missing"), nil)
			local h = kong.request.get_headers()
			eq(type(h["x-thing"]), "table", "repeated header is an array")
			eq(h["x-thing"][2], "two")
			eq(h["Content-Type"], "application/json", "case-insensitive lookup")
			eq(h.content_type, "application/json", "underscore lookup")
			local h2, err = kong.request.get_headers(1)
			eq(err, "truncated")
		`},
		{name: "body json", req: req(), lua: `
			eq(kong.request.get_raw_body(), '{"a":1,"list":[1,2],"n":null}')
			local body, err, mt = kong.request.get_body()
			eq(err, nil)
			eq(mt, "application/json")
			eq(body.a, 1)
			eq(body.list[2], 2)
			eq(body.n, ngx.null, "json null is ngx.null")
		`},
		{name: "body form and forced mimetype",
			req: plugintest.NewRequest("POST", "/").WithBody("application/x-www-form-urlencoded", []byte("a=1&b=x+y&b=z")),
			lua: `
			local body, err, mt = kong.request.get_body()
			eq(mt, "application/x-www-form-urlencoded")
			eq(body.a, "1")
			eq(body.b[1], "x y")
			local j, jerr, jmt = kong.request.get_body("application/json")
			eq(j, nil)
			eq(jerr, "invalid json body")
			eq(jmt, "application/json")
		`},
		{name: "body multipart",
			req: plugintest.NewRequest("POST", "/").WithBody("multipart/form-data; boundary=XyZ",
				[]byte("--XyZ\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nvalue\r\n--XyZ--\r\n")),
			lua: `
			local body, err, mt = kong.request.get_body()
			eq(err, nil)
			eq(mt, "multipart/form-data")
			eq(body.field, "value")
		`},
		{name: "body form max_args checked",
			req: plugintest.NewRequest("POST", "/").WithBody("application/x-www-form-urlencoded", []byte("a=1")),
			lua: `kong.request.get_body(nil, 1001)`, wantErr: "max_args must be <= 1000"},
		{name: "body type with parameters",
			req: plugintest.NewRequest("POST", "/").WithBody("Application/JSON; charset=utf-8", []byte("[1]")),
			lua: `
			local body, err, mt = kong.request.get_body()
			eq(body[1], 1) eq(mt, "application/json")
		`},
		{name: "body without content type",
			req: &plugintest.Request{Method: "POST", Path: "/", Body: []byte("x")},
			lua: `
			local body, err = kong.request.get_body()
			eq(body, nil)
			eq(err, "missing content type")
		`},
		{name: "body unsupported type",
			req: plugintest.NewRequest("POST", "/").WithBody("Text/Plain; charset=x", []byte("x")),
			lua: `
			local body, err, mt = kong.request.get_body()
			eq(err, "unsupported content type 'Text/Plain; charset=x'")
			eq(mt, "text/plain")
		`},
		{name: "uri captures",
			req: &plugintest.Request{URICaptures: map[string]string{"0": "/u/42", "1": "42", "id": "42"}},
			lua: `
			local c = kong.request.get_uri_captures()
			eq(c.unnamed[0], "/u/42")
			eq(c.unnamed[1], "42")
			eq(c.named.id, "42")
		`},
		{name: "get_header bad argument", lua: `kong.request.get_header(1)`, wantErr: "header name must be a string"},
		{name: "get_headers bad max", lua: `kong.request.get_headers("x")`, wantErr: "max_headers must be a number"},
		{name: "get_query max too big", lua: `kong.request.get_query(1001)`, wantErr: "max_args must be <= 1000"},
		{name: "get_query max too small", lua: `kong.request.get_query(0)`, wantErr: "max_args must be >= 1"},
		{name: "get_body out of phase", phase: hostabi.PhaseLog, lua: `kong.request.get_body()`,
			req:     plugintest.NewRequest("POST", "/").WithJSON(map[string]any{"a": 1}),
			wantErr: "kong.request.get_body cannot be called in log phase"},
		{name: "get_raw_body out of phase", phase: hostabi.PhaseHeaderFilter, lua: `kong.request.get_raw_body()`,
			wantErr: "kong.request.get_raw_body cannot be called in header_filter phase"},
		{name: "captures out of phase", phase: hostabi.PhaseRewrite, lua: `kong.request.get_uri_captures()`,
			wantErr: "kong.request.get_uri_captures cannot be called in rewrite phase"},
	})
}

func TestClient(t *testing.T) {
	const aliceID = "5d6c9a7e-1111-4222-8333-444455556666"
	var cred hostabi.Entity
	setup := func(e *plugintest.Env) {
		alice := e.AddConsumer(hostabi.Entity{"id": aliceID, "username": "alice"})
		cred = e.AddCredential("keyauth_credentials", alice, hostabi.Entity{"key": "k1"})
		useStore(t, e, "consumers", alice, "keyauth_credentials", cred)
	}
	runCases(t, []pdkCase{
		{name: "addresses", req: (&plugintest.Request{ClientPort: 4242, Protocol: "https"}).WithClientIP("10.0.0.9"), lua: `
			eq(kong.client.get_ip(), "10.0.0.9")
			eq(kong.client.get_forwarded_ip(), "10.0.0.9")
			eq(kong.client.get_port(), 4242)
			eq(kong.client.get_forwarded_port(), 4242)
			eq(kong.client.get_protocol(), "https")
		`},
		{name: "identity from an earlier plugin",
			req: (&plugintest.Request{}).WithIdentity(hostabi.Entity{"id": aliceID, "username": "alice"},
				hostabi.Entity{"id": "c1", "consumer": map[string]any{"id": aliceID}}),
			lua: `
			eq(kong.client.get_consumer().username, "alice")
			local c = kong.client.get_credential()
			eq(c.consumer.id, "` + aliceID + `")
			eq(c.consumer_id, "` + aliceID + `", "0.x field name")
			eq(ngx.ctx.authenticated_consumer.username, "alice")
			eq(ngx.ctx.authenticated_credential.consumer_id, "` + aliceID + `")
		`},
		{name: "load and authenticate", setup: setup, lua: `
			local c, err = kong.client.load_consumer("` + aliceID + `")
			eq(err, nil)
			eq(c.username, "alice")
			local byname = kong.client.load_consumer("alice", true)
			eq(byname.id, "` + aliceID + `")
			eq(kong.client.load_consumer("7d6c9a7e-1111-4222-8333-444455556666"), nil, "unknown consumer")
			local cred = kong.db.keyauth_credentials:select_by_key("k1")
			kong.client.authenticate(c, cred)
			eq(kong.client.get_consumer().username, "alice")
			eq(ngx.ctx.authenticated_credential.key, "k1")
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			if len(r.AuthCalls) != 1 || r.Consumer["username"] != "alice" || r.Credential["key"] != "k1" {
				t.Fatalf("auth calls %v, consumer %v, credential %v", r.AuthCalls, r.Consumer, r.Credential)
			}
			if r.Credential["id"] != cred["id"] {
				t.Fatalf("credential id %v, want %v", r.Credential["id"], cred["id"])
			}
		}},
		{name: "legacy ngx.ctx authentication", setup: setup, lua: `
			local c = kong.client.load_consumer("` + aliceID + `")
			ngx.ctx.authenticated_consumer = c
			ngx.ctx.authenticated_credential = { id = "legacy-cred", consumer_id = c.id }
			eq(kong.client.get_consumer().username, "alice", "visible in the same call")
			eq(ngx.ctx.authenticated_credential.id, "legacy-cred")
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			if len(r.AuthCalls) != 1 || r.Consumer["username"] != "alice" || r.Credential["id"] != "legacy-cred" {
				t.Fatalf("auth calls %v", r.AuthCalls)
			}
		}},
		{name: "authenticate needs an identity", lua: `kong.client.authenticate(nil, nil)`,
			wantErr: "either credential or consumer must be provided"},
		{name: "authenticate bad consumer", lua: `kong.client.authenticate("x")`, wantErr: "consumer must be a table or nil"},
		{name: "load_consumer not a uuid", lua: `kong.client.load_consumer("alice")`,
			wantErr: "cannot load a consumer with an id that is not a uuid"},
		{name: "load_consumer bad id", lua: `kong.client.load_consumer(5)`, wantErr: "consumer_id must be a string"},
		{name: "load_consumer error", setup: func(e *plugintest.Env) { e.ConsumerErr = errString("db down") }, lua: `
			local c, err = kong.client.load_consumer("alice", true)
			eq(c, nil)
			eq(err, "db down")
		`},
		{name: "authenticate out of phase", phase: hostabi.PhaseLog, lua: `kong.client.authenticate({id = "x"})`,
			wantErr: "kong.client.authenticate cannot be called in log phase"},
		{name: "get_consumer out of phase", phase: hostabi.PhaseRewrite, lua: `kong.client.get_consumer()`,
			wantErr: "kong.client.get_consumer cannot be called in rewrite phase"},
		{name: "ngx.ctx consumer in rewrite is nil", phase: hostabi.PhaseRewrite, lua: `
			eq(ngx.ctx.authenticated_consumer, nil)
		`},
	})
}

type errString string

func (e errString) Error() string { return string(e) }

func TestNodeRouterIPPluginTable(t *testing.T) {
	runCases(t, []pdkCase{
		{name: "node", setup: func(e *plugintest.Env) { e.NodeID, e.Hostname = "node-1", "gw.local" }, lua: `
			eq(kong.node.get_id(), "node-1")
			eq(kong.node.get_hostname(), "gw.local")
		`},
		{name: "router", req: &plugintest.Request{Route: hostabi.Entity{"id": "r1", "name": "orders",
			"service": map[string]any{"id": "s1"}}, Service: hostabi.Entity{"id": "s1", "host": "up"}}, lua: `
			local r = kong.router.get_route()
			eq(r.name, "orders")
			eq(r.service_id, "s1", "0.x name")
			eq(kong.router.get_service().host, "up")
		`},
		{name: "router out of phase", phase: hostabi.PhaseRewrite, lua: `kong.router.get_route()`,
			wantErr: "kong.router.get_route cannot be called in rewrite phase"},
		{name: "ip", req: &plugintest.Request{TrustedIPs: []string{"10.0.0.0/8"}}, lua: `
			eq(kong.ip.is_trusted("10.1.2.3"), true)
			eq(kong.ip.is_trusted("192.168.1.1"), false)
		`},
		{name: "ip bad argument", lua: `kong.ip.is_trusted({})`, wantErr: "address must be a string"},
		{name: "plugin id", req: &plugintest.Request{PluginID: "p-1"}, lua: `eq(kong.plugin.get_id(), "p-1")`},
		{name: "table", lua: `
			local t = kong.table.new(4, 4)
			eq(type(t), "table")
			local m = kong.table.merge({ a = 1, b = 2 }, { b = 3, c = 4 })
			eq(m.a, 1) eq(m.b, 3) eq(m.c, 4)
			local copy = kong.table.merge({ x = 1 })
			eq(copy.x, 1)
			local c = { 1, 2, k = "v" }
			kong.table.clear(c)
			eq(next(c), nil, "cleared")
		`},
		{name: "table merge bad argument", lua: `kong.table.merge(1)`, wantErr: "table expected"},
	})
}

// TestClientTLSAndDBPhases: kong.client.tls.get_full_client_certificate_chain
// (nil without a certificate, the PEM chain with one), and kong.db reads
// confined to the phases with cosockets, as Kong's DAO is.
func TestClientTLSAndDBPhases(t *testing.T) {
	runCases(t, []pdkCase{
		{name: "no client certificate", lua: `
			local chain, err = kong.client.tls.get_full_client_certificate_chain()
			eq(chain, nil) eq(err, nil)
		`},
		{name: "client certificate", req: &plugintest.Request{ClientCertificates: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"}, lua: `
			local chain = kong.client.tls.get_full_client_certificate_chain()
			assert(chain:find("BEGIN CERTIFICATE", 1, true), chain)
		`},
		{name: "tls chain out of phase", phase: hostabi.PhaseHeaderFilter, lua: `kong.client.tls.get_full_client_certificate_chain()`,
			wantErr: "kong.client.tls.get_full_client_certificate_chain cannot be called in header_filter phase"},
		{name: "select in header_filter", phase: hostabi.PhaseHeaderFilter, lua: `kong.db.consumers:select({ id = "x" })`,
			wantErr: "kong.db.select cannot be called in header_filter phase (only in: rewrite, access, response)"},
		{name: "select_by in log", phase: hostabi.PhaseLog, lua: `kong.db.consumers:select_by_username("x")`,
			wantErr: "kong.db.select_by cannot be called in log phase (only in: rewrite, access, response)"},
	})
}
