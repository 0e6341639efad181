package pdk

import (
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

func TestMisc(t *testing.T) {
	runCases(t, []pdkCase{
		{name: "header value normalization", lua: `
			kong.service.request.set_header("X-Empty", "")
			kong.service.request.set_header("X-Arr", { "a", "b" })
			kong.service.request.set_header("X-Bool", true)
			kong.service.request.add_header("X-Arr", { "c" })
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			if r.UpstreamHeader("x-empty") != " " || r.UpstreamHeader("x-bool") != "true" ||
				len(r.UpstreamHeaderValues("x-arr")) != 3 {
				t.Fatalf("headers %v", r.Header)
			}
		}},
		{name: "exit in header_filter with array header", phase: hostabi.PhaseHeaderFilter, lua: `
			kong.response.exit(502, "bad", { ["X-L"] = { "1", "2" } })
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			if r.Status != 502 || string(r.ExitBody) != "bad" || r.ExitHeaders["X-L"] != "1, 2" {
				t.Fatalf("exit %d %q %v", r.Status, r.ExitBody, r.ExitHeaders)
			}
		}},
		{name: "ngx.eof sends now, code goes on", lua: `
			ngx.status = 202
			ngx.print("early")
			eq(ngx.flush(), 1)
			eq(ngx.eof(), 1)
			kong.ctx.shared.after_eof = true
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			if r.Status != 202 || string(r.ExitBody) != "early" || r.Shared["after_eof"] != true {
				t.Fatalf("exit %d %q shared %v", r.Status, r.ExitBody, r.Shared)
			}
		}},
		{name: "ngx.exit in log ends the handler only", phase: hostabi.PhaseLog, lua: `
			kong.ctx.shared.before = 1
			ngx.exit(200)
			kong.ctx.shared.after = 1
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			if r.Exited || r.Shared["before"] != int64(1) || r.Shared["after"] != nil {
				t.Fatalf("exited %v shared %v", r.Exited, r.Shared)
			}
		}},
		{name: "ngx.arg outside body_filter", lua: `eq(ngx.arg[1], nil)`},
		{name: "forwarded path and prefix from a trusted proxy",
			req: (&plugintest.Request{Path: "/p", TrustedIPs: []string{"127.0.0.1"}}).
				WithHeader("X-Forwarded-Path", "/outer/p").WithHeader("X-Forwarded-Prefix", "/outer"),
			lua: `
			eq(kong.request.get_forwarded_path(), "/outer/p")
			eq(kong.request.get_forwarded_prefix(), "/outer")
		`},
		{name: "forwarded path ignored from an untrusted client",
			req: (&plugintest.Request{Path: "/p"}).WithHeader("X-Forwarded-Path", "/outer/p"),
			lua: `
			eq(kong.request.get_forwarded_path(), "/p")
			eq(kong.request.get_forwarded_prefix(), nil)
		`},
		{name: "ngx.req misc", lua: `
			ngx.req.discard_body()
			eq(ngx.req.is_internal(), false)
			local args, err = ngx.req.get_uri_args(1)
			eq(err, nil)
		`},
		{name: "kong.request in a coroutine", req: plugintest.NewRequest("GET", "/").WithHeader("X-A", "1"), lua: `
			local co = coroutine.create(function() coroutine.yield(kong.request.get_header("x-a")) end)
			local ok, v = coroutine.resume(co)
			eq(ok, true) eq(v, "1")
		`},
	})
}
