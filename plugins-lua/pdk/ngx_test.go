package pdk

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

func TestNgx(t *testing.T) {
	runCases(t, []pdkCase{
		{name: "constants and phase", lua: `
			eq(ngx.HTTP_OK, 200) eq(ngx.HTTP_FORBIDDEN, 403) eq(ngx.HTTP_GET, 2)
			eq(ngx.ERR, 4) eq(ngx.DEBUG, 8) eq(ngx.OK, 0)
			eq(ngx.get_phase(), "access")
		`},
		{name: "var", req: func() *plugintest.Request {
			r := plugintest.NewRequest("GET", "/p/q?a=1&b=x%20y&A2=z").WithHeader("X-Custom-Header", "h").
				WithHeader("Cookie", "sid=abc; theme=dark").WithClientIP("10.1.1.1")
			r.Host = "svc.test"
			return r
		}(), lua: `
			eq(ngx.var.uri, "/p/q")
			eq(ngx.var.request_uri, "/p/q?a=1&b=x%20y&A2=z")
			eq(ngx.var.host, "svc.test")
			eq(ngx.var.remote_addr, "10.1.1.1")
			eq(ngx.var.request_method, "GET")
			eq(ngx.var.scheme, "http")
			eq(ngx.var.args, "a=1&b=x%20y&A2=z")
			eq(ngx.var.is_args, "?")
			eq(ngx.var.http_x_custom_header, "h")
			eq(ngx.var.http_missing, nil)
			eq(ngx.var.arg_a, "1")
			eq(ngx.var.arg_b, "x%20y", "not decoded, as nginx")
			eq(ngx.var.arg_a2, "z", "case-insensitive")
			eq(ngx.var.cookie_theme, "dark")
			eq(ngx.var.cookie_none, nil)
			eq(ngx.var.no_such_variable, nil)
		`},
		{name: "var upstream writes", lua: `
			ngx.var.upstream_uri = "/new?x=1"
			ngx.var.upstream_host = "backend.test"
			ngx.var.upstream_scheme = "https"
			eq(ngx.var.upstream_uri, "/new?x=1")
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			if r.Path != "/new" || r.RawQuery != "x=1" || r.UpstreamHeader("host") != "backend.test" || r.Scheme != "https" {
				t.Fatalf("path %q query %q host %q scheme %q", r.Path, r.RawQuery, r.UpstreamHeader("host"), r.Scheme)
			}
		}},
		{name: "var not changeable", lua: `ngx.var.uri = "/x"`, wantErr: `variable "uri" not changeable`},
		{name: "req", req: plugintest.NewRequest("POST", "/r?k=v&k=w").WithHeader("X-In", "1").
			WithBody("application/x-www-form-urlencoded", []byte("f=1&g=a+b")), lua: `
			eq(ngx.req.get_method(), "POST")
			eq(ngx.req.get_headers()["x-in"], "1")
			eq(ngx.req.get_headers().X_In, "1")
			local args = ngx.req.get_uri_args()
			eq(args.k[2], "w")
			ngx.req.read_body()
			eq(ngx.req.get_body_data(), "f=1&g=a+b")
			eq(ngx.req.get_body_file(), nil)
			local post = ngx.req.get_post_args()
			eq(post.g, "a b")
			eq(type(ngx.req.start_time()), "number")
			eq(ngx.req.http_version(), 1.1)
			ngx.req.set_header("X-Set", "s")
			ngx.req.set_header("X-Arr", { "1", "2" })
			ngx.req.clear_header("X-In")
			ngx.req.set_uri("/rewritten")
			eq(ngx.var.uri, "/rewritten")
			ngx.req.set_uri_args({ z = "1" })
			eq(ngx.req.get_uri_args().z, "1")
			ngx.req.set_method(ngx.HTTP_PUT)
			eq(ngx.req.get_method(), "PUT")
			ngx.req.set_body_data("new body")
			eq(ngx.req.get_body_data(), "new body")
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			if r.UpstreamHeader("x-set") != "s" || r.HasUpstreamHeader("x-in") || len(r.UpstreamHeaderValues("x-arr")) != 2 {
				t.Fatalf("headers %v", r.Header)
			}
			if r.Path != "/rewritten" || r.RawQuery != "z=1" || r.Method != "PUT" || string(r.Body) != "new body" {
				t.Fatalf("path %q query %q method %q body %q", r.Path, r.RawQuery, r.Method, r.Body)
			}
		}},
		{name: "req set_uri_args string", lua: `ngx.req.set_uri_args("a=1&b")`,
			check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
				if r.RawQuery != "a=1&b" {
					t.Fatalf("query %q", r.RawQuery)
				}
			}},
		{name: "req set_uri empty", lua: `ngx.req.set_uri("")`, wantErr: "zero-length uri"},
		{name: "req set_method bad", lua: `ngx.req.set_method(3)`, wantErr: "unsupported HTTP method"},
		{name: "req set_header out of phase", phase: hostabi.PhaseLog, lua: `ngx.req.set_header("X", "1")`,
			wantErr: "kong.service.request.set_header cannot be called in log phase"},
		{name: "say and exit", lua: `
			ngx.header["Content-Type"] = "application/json"
			eq(ngx.header.content_type, "application/json", "read back in access")
			ngx.status = 201
			eq(ngx.status, 201)
			ngx.say('{"token":"t"}')
			ngx.print("a", 1, true, nil, { "x", "y" })
			return ngx.exit(201)
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			if !r.Exited || r.Status != 201 || string(r.ExitBody) != "{\"token\":\"t\"}\na1truenilxy" ||
				r.RespHeader("content-type") != "application/json" {
				t.Fatalf("exit %v %d %q %v", r.Exited, r.Status, r.ExitBody, r.ResponseHeader)
			}
		}},
		{name: "say without exit is the response", lua: `ngx.say("hi")`,
			check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
				if !r.Exited || r.Status != 200 || string(r.ExitBody) != "hi\n" {
					t.Fatalf("exit %v %d %q", r.Exited, r.Status, r.ExitBody)
				}
			}},
		{name: "say then error fails closed", lua: `ngx.say("partial") error("boom")`, wantErr: "boom",
			check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
				if r.Exited {
					t.Fatalf("buffered output sent after an error: %q", r.ExitBody)
				}
			}},
		{name: "exit without output uses Kong's error body", lua: `ngx.exit(ngx.HTTP_NOT_FOUND)`,
			check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
				if r.Status != 404 || r.ExitMessage() != "Not found" {
					t.Fatalf("exit %d %s", r.Status, r.ExitBody)
				}
			}},
		{name: "exit 200 without output", lua: `ngx.exit(200) error("not reached")`,
			check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
				if !r.Exited || r.Status != 200 || len(r.ExitBody) != 0 {
					t.Fatalf("exit %v %d %q", r.Exited, r.Status, r.ExitBody)
				}
			}},
		{name: "exit OK ends the handler only", lua: `ngx.exit(ngx.OK) error("not reached")`,
			check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
				if r.Exited {
					t.Fatal("ngx.exit(ngx.OK) ended the request")
				}
			}},
		{name: "exit ERROR fails", lua: `ngx.exit(ngx.ERROR)`, wantErr: "ngx.ERROR"},
		{name: "exit bad argument", lua: `ngx.exit("x")`, wantErr: "number expected"},
		{name: "say out of phase", phase: hostabi.PhaseLog, lua: `ngx.say("x")`, wantErr: "API disabled in the context of log"},
		{name: "header in header_filter", phase: hostabi.PhaseHeaderFilter,
			req: &plugintest.Request{ServiceHeader: map[string][]string{"X-Up": {"u"}}, ServiceStatus: 200}, lua: `
			eq(ngx.header["X-Up"], "u")
			ngx.header.x_added = "v"
			ngx.header["X-Up"] = nil
			eq(ngx.status, 200)
			ngx.status = 299
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
				if r.RespHeader("x-added") != "v" || r.Status != 299 {
					t.Fatalf("headers %v status %d", r.ResponseHeader, r.Status)
				}
				if _, ok := r.ResponseHeader["x-up"]; ok {
					t.Fatalf("x-up kept: %v", r.ResponseHeader)
				}
			}},
		{name: "status after headers only logs", phase: hostabi.PhaseLog, lua: `ngx.status = 500`,
			check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
				if !hasLog(r, "err: attempt to set ngx.status after sending out response headers") || r.Status == 500 {
					t.Fatalf("logs %v status %d", logMsgs(r), r.Status)
				}
			}},
		{name: "log", lua: `
			ngx.log(ngx.ERR, "a", 1, nil, true)
			ngx.log(ngx.WARN, "w")
			ngx.log(ngx.NOTICE, "n")
			ngx.log(ngx.INFO, "i")
			ngx.log(ngx.DEBUG, "d")
			ngx.log(ngx.CRIT, "c")
			ngx.log(ngx.ALERT, "al")
			ngx.log(ngx.EMERG, "em")
			ngx.log(ngx.ERR, ngx.null)
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			want := []string{"err: a1niltrue", "warn: w", "notice: n", "info: i", "debug: d", "crit: c", "crit: al",
				"crit: em", "err: null"}
			if strings.Join(logMsgs(r), "|") != strings.Join(want, "|") {
				t.Fatalf("logs %q", logMsgs(r))
			}
		}},
		{name: "log bad level", lua: `ngx.log("x", "y")`, wantErr: "number expected"},
		{name: "log table without tostring", lua: `ngx.log(ngx.ERR, {})`, wantErr: "__tostring"},
	})
}

func TestBodyFilter(t *testing.T) {
	p := newLuaPlugin(t, `
		local chunk, eof = ngx.arg[1], ngx.arg[2]
		eq(eof, true)
		ngx.arg[1] = chunk:upper()
	`, Env{})
	res := plugintest.Run(t, p, hostabi.PhaseBodyFilter, &plugintest.Request{ServiceBody: []byte("hello")})
	if res.Err != nil || string(res.ResponseBody) != "HELLO" {
		t.Fatalf("err %v body %q", res.Err, res.ResponseBody)
	}

	p = newLuaPlugin(t, `ngx.arg[1] = nil`, Env{})
	res = plugintest.Run(t, p, hostabi.PhaseBodyFilter, &plugintest.Request{ServiceBody: []byte("hello")})
	if res.Err != nil || len(res.ResponseBody) != 0 {
		t.Fatalf("err %v body %q", res.Err, res.ResponseBody)
	}

	p = newLuaPlugin(t, `ngx.arg[1] = "x"`, Env{})
	res = plugintest.Run(t, p, hostabi.PhaseAccess, nil)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "ngx.arg cannot be set in access phase") {
		t.Fatalf("err %v", res.Err)
	}
}

// TestOutsideRequest covers the functions called while no plugin call is
// bound (a module's top level): request functions raise, logs go to
// Env.Logger, ngx.get_phase answers "init".
func TestOutsideRequest(t *testing.T) {
	p := newLuaPlugin(t, `return`, Env{})
	L := p.L
	if err := L.DoString(`ngx.log(ngx.WARN, "loading") kong.log.err("top", "-level") assert(ngx.get_phase() == "init")`); err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.logged, "|") != "warn: loading|err: top-level" {
		t.Fatalf("logged %q", p.logged)
	}
	err := L.DoString(`kong.request.get_header("x")`)
	if err == nil || !strings.Contains(err.Error(), "kong.request.get_header cannot be called outside of a request") {
		t.Fatalf("err %v", err)
	}
	if err := p.b.Leave(); err == nil {
		t.Fatal("Leave without Enter did not fail")
	}
}
