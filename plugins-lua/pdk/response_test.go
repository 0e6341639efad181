package pdk

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

func TestServiceRequest(t *testing.T) {
	runCases(t, []pdkCase{
		{name: "rewrite upstream request", req: plugintest.NewRequest("GET", "/a?x=1").WithHeader("X-Old", "1"), lua: `
			kong.service.request.set_scheme("https")
			kong.service.request.set_path("/b")
			kong.service.request.set_method("PUT")
			kong.service.request.set_header("X-New", "v")
			kong.service.request.set_header("X-Num", 5)
			kong.service.request.add_header("X-Multi", "1")
			kong.service.request.add_header("X-Multi", "2")
			kong.service.request.clear_header("X-Old")
			kong.service.request.set_query({ b = "2", a = { "x y", "z" }, flag = true, off = false })
			kong.service.request.set_raw_body("raw")
			kong.service.request.enable_buffering()
			kong.service.set_target("10.0.0.1", 8080)
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			if r.Scheme != "https" || r.Path != "/b" || r.Method != "PUT" {
				t.Fatalf("scheme %q path %q method %q", r.Scheme, r.Path, r.Method)
			}
			if r.UpstreamHeader("x-new") != "v" || r.UpstreamHeader("x-num") != "5" || r.HasUpstreamHeader("x-old") {
				t.Fatalf("headers %v", r.Header)
			}
			if got := r.UpstreamHeaderValues("x-multi"); !reflect.DeepEqual(got, []string{"1", "2"}) {
				t.Fatalf("x-multi %v", got)
			}
			if r.RawQuery != "a=x%20y&a=z&b=2&flag" {
				t.Fatalf("query %q", r.RawQuery)
			}
			if string(r.Body) != "raw" || !r.Buffering || r.Target != "10.0.0.1:8080" {
				t.Fatalf("body %q buffering %v target %q", r.Body, r.Buffering, r.Target)
			}
		}},
		{name: "set_raw_query and set_headers", lua: `
			kong.service.request.set_raw_query("q=1&r")
			kong.service.request.set_headers({ ["X-A"] = "1", ["X-B"] = { "2", "3" } })
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			if r.RawQuery != "q=1&r" || r.UpstreamHeader("x-a") != "1" || len(r.UpstreamHeaderValues("x-b")) != 2 {
				t.Fatalf("query %q headers %v", r.RawQuery, r.Header)
			}
		}},
		{name: "set_body json", req: plugintest.NewRequest("POST", "/").WithJSON(map[string]any{}), lua: `
			local ok, err = kong.service.request.set_body({ a = 1, b = { "x" } }, "application/json")
			eq(ok, true) eq(err, nil)
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			var v map[string]any
			if err := json.Unmarshal(r.Body, &v); err != nil || v["a"] != float64(1) {
				t.Fatalf("body %s", r.Body)
			}
		}},
		{name: "set_upstream", req: &plugintest.Request{Upstreams: []string{"pool"}}, lua: `
			eq(kong.service.set_upstream("pool"), true)
			local ok, err = kong.service.set_upstream("nope")
			eq(ok, nil)
			eq(type(err), "string")
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			if r.Upstream != "pool" {
				t.Fatalf("upstream %q", r.Upstream)
			}
		}},
		{name: "bad scheme", lua: `kong.service.request.set_scheme("ftp")`, wantErr: "invalid scheme: ftp"},
		{name: "bad path", lua: `kong.service.request.set_path("x")`, wantErr: "path must start with /"},
		{name: "bad method", lua: `kong.service.request.set_method("FETCH")`, wantErr: "invalid method: FETCH"},
		{name: "bad header value", lua: `kong.service.request.set_header("X", print)`,
			wantErr: `invalid header value for "X": got function, expected array of string, string, number or boolean`},
		{name: "bad header array", lua: `kong.service.request.set_header("X", { "a", 1 })`,
			wantErr: `invalid header value in array "X": got number, expected string`},
		{name: "bad header in table", lua: `kong.service.request.set_headers({ X = false and 1 or function() end })`,
			wantErr: `invalid header value for "X": got function, expected string, number, boolean or array of strings`},
		{name: "bad header name", lua: `kong.service.request.set_header(nil, "v")`, wantErr: "invalid header name nil: got nil, expected string"},
		{name: "bad clear_header", lua: `kong.service.request.clear_header(1)`, wantErr: "header must be a string"},
		{name: "bad query", lua: `kong.service.request.set_query("a=1")`, wantErr: "args must be a table"},
		{name: "bad port", lua: `kong.service.set_target("h", 70000)`, wantErr: "port must be an integer between 0 and 65535: given 70000"},
		{name: "fractional port", lua: `kong.service.set_target("h", 80.5)`, wantErr: "port must be an integer"},
		{name: "bad host", lua: `kong.service.set_target(1, 80)`, wantErr: "host must be a string"},
		{name: "set_header out of phase", phase: hostabi.PhaseHeaderFilter, lua: `kong.service.request.set_header("X", "1")`,
			wantErr: "kong.service.request.set_header cannot be called in header_filter phase (only in: rewrite, access)"},
		{name: "set_query out of phase", phase: hostabi.PhaseLog, lua: `kong.service.request.set_query({a = "1"})`,
			wantErr: "kong.service.request.set_query cannot be called in log phase"},
		{name: "set_upstream out of phase", phase: hostabi.PhaseRewrite, lua: `kong.service.set_upstream("x")`,
			wantErr: "kong.service.set_upstream cannot be called in rewrite phase"},
	})
}

func TestServiceResponseAndResponse(t *testing.T) {
	upstream := &plugintest.Request{ServiceStatus: 201,
		ServiceHeader: map[string][]string{"Content-Type": {"application/json"}, "X-Up": {"1", "2"}},
		ServiceBody:   []byte(`{"id":5}`)}
	runCases(t, []pdkCase{
		{name: "service response", phase: hostabi.PhaseResponse, req: upstream, lua: `
			eq(kong.service.response.get_status(), 201)
			eq(kong.service.response.get_header("x-up"), "1")
			eq(kong.service.response.get_header("Content-Type"), "application/json")
			local h = kong.service.response.get_headers()
			eq(h.X_Up[2], "2")
			eq(kong.service.response.get_raw_body(), '{"id":5}')
			local body, err, mt = kong.service.response.get_body()
			eq(body.id, 5) eq(err, nil) eq(mt, "application/json")
		`},
		{name: "response readers and setters", phase: hostabi.PhaseHeaderFilter, req: upstream, lua: `
			eq(kong.response.get_status(), 201)
			eq(kong.response.get_source(), "service")
			eq(kong.response.get_header("X-Up"), "1")
			kong.response.set_status(202)
			kong.response.set_header("X-Set", "a")
			kong.response.add_header("X-Add", "1")
			kong.response.add_header("X-Add", "2")
			kong.response.clear_header("X-Up")
			kong.response.set_headers({ ["X-Many"] = { "m1", "m2" } })
			eq(kong.response.get_headers()["x-set"], "a")
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			if r.Status != 202 || r.RespHeader("x-set") != "a" || len(r.ResponseHeader["x-add"]) != 2 ||
				len(r.ResponseHeader["x-many"]) != 2 {
				t.Fatalf("status %d headers %v", r.Status, r.ResponseHeader)
			}
			if _, ok := r.ResponseHeader["x-up"]; ok {
				t.Fatalf("x-up not cleared: %v", r.ResponseHeader)
			}
		}},
		{name: "response body", phase: hostabi.PhaseResponse, req: upstream, lua: `
			eq(kong.response.get_raw_body(), '{"id":5}')
			kong.response.set_raw_body("new")
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			if string(r.ResponseBody) != "new" {
				t.Fatalf("body %q", r.ResponseBody)
			}
		}},
		{name: "exit with table ends the handler", lua: `
			kong.response.exit(403, { message = "no" }, { ["X-Why"] = "test" })
			error("not reached")
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			if !r.Exited || r.Status != 403 || r.ExitMessage() != "no" || r.ExitHeaders["X-Why"] != "test" ||
				!strings.HasPrefix(r.ExitHeaders["Content-Type"], "application/json") {
				t.Fatalf("exit %v %d %s %v", r.Exited, r.Status, r.ExitBody, r.ExitHeaders)
			}
		}},
		{name: "exit with string, not caught by pcall", lua: `
			local ok = pcall(kong.response.exit, 200, "hello")
			error("not reached")
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			if !r.Exited || r.Status != 200 || string(r.ExitBody) != "hello" {
				t.Fatalf("exit %v %d %q", r.Exited, r.Status, r.ExitBody)
			}
		}},
		{name: "exit not caught by xpcall", lua: `
			xpcall(function() kong.response.exit(204) end, function(e) return "handled" end)
			error("not reached")
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			if !r.Exited || r.Status != 204 || len(r.ExitBody) != 0 {
				t.Fatalf("exit %v %d %q", r.Exited, r.Status, r.ExitBody)
			}
		}},
		{name: "pcall still catches errors", lua: `
			local ok, err = pcall(function() error("boom", 0) end)
			eq(ok, false)
			eq(err, "boom")
			local ok2, v = xpcall(function() error("x") end, function(e) return "handled" end)
			eq(v, "handled")
		`},
		{name: "error", req: plugintest.NewRequest("GET", "/").WithHeader("Accept", "application/json"), lua: `
			kong.response.error(401)
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			if r.Status != 401 || r.ExitMessage() != "Unauthorized" {
				t.Fatalf("exit %d %s", r.Status, r.ExitBody)
			}
		}},
		{name: "error with message", lua: `kong.response.error(429, "slow down")`,
			check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
				if r.Status != 429 || r.ExitMessage() != "slow down" {
					t.Fatalf("exit %d %s", r.Status, r.ExitBody)
				}
			}},
		{name: "exit bad status", lua: `kong.response.exit("200")`, wantErr: "code must be a number"},
		{name: "exit status out of range", lua: `kong.response.exit(600)`, wantErr: "code must be a number between 100 and 599"},
		{name: "exit bad body", lua: `kong.response.exit(200, 5)`, wantErr: "body must be a nil, string or table"},
		{name: "exit bad headers", lua: `kong.response.exit(200, "x", "h")`, wantErr: "headers must be a nil or table"},
		{name: "error bad status", lua: `kong.response.error(302)`, wantErr: "code must be a number between 400 and 599"},
		{name: "exit out of phase", phase: hostabi.PhaseLog, lua: `kong.response.exit(200)`,
			wantErr: "kong.response.exit cannot be called in log phase (only in: rewrite, access, response, header_filter)"},
		{name: "get_header out of phase names get_header", lua: `kong.response.get_header("x")`,
			wantErr: "kong.response.get_header cannot be called in access phase"},
		{name: "service get_header out of phase names get_header", phase: hostabi.PhaseRewrite, lua: `kong.service.response.get_header("x")`,
			wantErr: "kong.service.response.get_header cannot be called in rewrite phase"},
		{name: "get_status out of phase", lua: `kong.response.get_status()`,
			wantErr: "kong.response.get_status cannot be called in access phase"},
		{name: "set_raw_body out of phase", phase: hostabi.PhaseHeaderFilter, lua: `kong.response.set_raw_body("x")`,
			wantErr: "kong.response.set_raw_body cannot be called in header_filter phase"},
		{name: "service response out of phase", lua: `kong.service.response.get_status()`,
			wantErr: "kong.service.response.get_status cannot be called in access phase"},
	})
}

func TestLegacyResponses(t *testing.T) {
	runCases(t, []pdkCase{
		{name: "send_HTTP_OK with a string", lua: `
			local responses = require "kong.tools.responses"
			eq(responses.status_codes.HTTP_FORBIDDEN, 403)
			return responses.send_HTTP_OK("done")
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			if r.Status != 200 || string(r.ExitBody) != "{\"message\":\"done\"}\n" ||
				r.ExitHeaders["Content-Type"] != "application/json; charset=utf-8" {
				t.Fatalf("exit %d %q %v", r.Status, r.ExitBody, r.ExitHeaders)
			}
		}},
		{name: "send with a table and headers", lua: `
			require("kong.tools.responses").send(201, { token = "t" }, { ["X-A"] = "1" })
			error("not reached")
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			if r.Status != 201 || string(r.ExitBody) != "{\"token\":\"t\"}\n" || r.ExitHeaders["X-A"] != "1" {
				t.Fatalf("exit %d %q %v", r.Status, r.ExitBody, r.ExitHeaders)
			}
		}},
	})
	defaults := map[string]string{
		"send_HTTP_UNAUTHORIZED":           `401 {"message":"Unauthorized"}`,
		"send_HTTP_FORBIDDEN":              `403 `,
		"send_HTTP_NOT_FOUND":              `404 {"message":"Not found"}`,
		"send_HTTP_INTERNAL_SERVER_ERROR":  `500 {"message":"An unexpected error occurred"}`,
		"send_HTTP_METHOD_NOT_ALLOWED":     `405 {"message":"Method not allowed"}`,
		"send_HTTP_SERVICE_UNAVAILABLE":    `503 {"message":"Service unavailable"}`,
		"send_HTTP_NO_CONTENT":             `204 `,
		"send_HTTP_BAD_REQUEST":            `400 `,
		"send_HTTP_CONFLICT":               `409 `,
		"send_HTTP_CREATED":                `201 `,
		"send_HTTP_UNSUPPORTED_MEDIA_TYPE": `415 `,
	}
	var cases []pdkCase
	for fn, want := range defaults {
		want := want
		cases = append(cases, pdkCase{name: fn + " default", lua: `require("kong.tools.responses").` + fn + `()`,
			check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
				got := strings.TrimSuffix(strconvItoa(r.Status)+" "+string(r.ExitBody), "\n")
				if got != want {
					t.Fatalf("got %q, want %q", got, want)
				}
			}})
	}
	cases = append(cases,
		pdkCase{name: "500 logs the content", lua: `require("kong.tools.responses").send_HTTP_INTERNAL_SERVER_ERROR("db exploded")`,
			check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
				if !hasLog(r, "err: db exploded") || r.ExitMessage() != "An unexpected error occurred" {
					t.Fatalf("logs %v body %s", logMsgs(r), r.ExitBody)
				}
			}},
		pdkCase{name: "send_HTTP_FORBIDDEN message", lua: `require("kong.tools.responses").send_HTTP_FORBIDDEN("nope")`,
			check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
				if r.Status != 403 || r.ExitMessage() != "nope" {
					t.Fatalf("exit %d %s", r.Status, r.ExitBody)
				}
			}},
		pdkCase{name: "send in log phase", phase: hostabi.PhaseLog, lua: `require("kong.tools.responses").send_HTTP_OK()`,
			wantErr: "kong.response.exit cannot be called in log phase"},
		pdkCase{name: "send bad headers", lua: `require("kong.tools.responses").send_HTTP_OK("x", 5)`,
			wantErr: "headers must be a nil or table"},
	)
	runCases(t, cases)
}

func strconvItoa(n int) string { return strconv.Itoa(n) }
