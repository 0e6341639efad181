package lualib

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/hostabi"
)

func TestRestyHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
			return
		case "/redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "%s %s?%s host=%s auth=%s body=%s", r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.Header.Get("Authorization"), body)
	}))
	defer srv.Close()
	L := newState(t, Options{})
	L.SetGlobal("base", luaString(srv.URL))
	cases := []luaCase{
		{"request_uri", `local http = require "resty.http"
			local res, err = http.new():request_uri(base .. "/echo", {method = "POST", body = "hi", query = {a = "1 2"}, headers = {Authorization = "Bearer x", Host = "api.test"}})
			return res.status, res.reason, res.body, res.headers["x-method"], res.headers.content_type, res.headers["X-Multi"][2]`,
			"201|Created|POST /echo?a=1%202 host=api.test auth=Bearer x body=hi|POST|text/plain|b"},
		{"default get", `local res = require("resty.http").new():request_uri(base .. "/p?q=1") return res.body`, "GET /p?q=1 host=" + strings.TrimPrefix(srv.URL, "http://") + " auth= body="},
		{"no redirect follow", `local res = require("resty.http").new():request_uri(base .. "/redirect") return res.status, res.headers.location`, "302|/elsewhere"},
		{"timeout", `local httpc = require("resty.http").new() httpc:set_timeout(50) return httpc:request_uri(base .. "/slow")`, "nil|timeout"},
		{"set_timeouts", `local httpc = require("resty.http").new() httpc:set_timeouts(50, 50, 50) return httpc:request_uri(base .. "/slow")`, "nil|timeout"},
		{"refused", `return require("resty.http").new():request_uri("http://127.0.0.1:1/")`, "nil|connection refused"},
		{"bad uri", `return require("resty.http").new():request_uri("nope")`, "nil|bad uri: nope"},
		{"streaming", `local httpc = require("resty.http").new()
			assert(httpc:connect("127.0.0.1", tonumber(base:match(":(%d+)$"))))
			local res = assert(httpc:request({path = "/s", method = "PUT", body = "b"}))
			local body = res:read_body() httpc:set_keepalive() return res.status, body`, "201|PUT /s? host=" + strings.TrimPrefix(srv.URL, "http://") + " auth= body=b"},
		{"parse_uri", `local p = require("resty.http"):parse_uri("https://example.com/a/b?x=1") return p[1], p[2], p[3], p[4], p[5]`, "https|example.com|443|/a/b|x=1"},
	}
	for _, c := range cases {
		if got := eval(t, L, c.src); got != c.want {
			t.Errorf("%s: got %q\nwant %q", c.name, got, c.want)
		}
	}
}

// TestRestyHTTPBoundedByContext checks that the state's context ends a
// request even when the Lua-side timeout is long.
func TestRestyHTTPBoundedByContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
	defer cancel()
	L := newState(t, Options{HTTPContext: func(*lua.LState) context.Context { return ctx }})
	L.SetGlobal("base", luaString(srv.URL))
	start := time.Now()
	got := eval(t, L, `return require("resty.http").new():request_uri(base)`)
	if got != "nil|timeout" || time.Since(start) > time.Second {
		t.Fatalf("got %q after %v", got, time.Since(start))
	}
}

// fakeOutbound is a hostabi.HTTP that records the request it got, or
// panics with a phase error as a host does out of phase.
type fakeOutbound struct {
	got   hostabi.HTTPRequest
	ctx   context.Context
	phase hostabi.Phase
}

func (f *fakeOutbound) Do(ctx context.Context, req hostabi.HTTPRequest) (hostabi.HTTPResponse, error) {
	hostabi.Check(hostabi.OpHTTPDo, f.phase)
	f.got, f.ctx = req, ctx
	if req.Timeout < time.Millisecond {
		return hostabi.HTTPResponse{}, context.DeadlineExceeded
	}
	return hostabi.HTTPResponse{Status: 202, Header: map[string][]string{"X-Multi": {"a", "b"}}, Body: []byte("via host")}, nil
}

// TestRestyHTTPOutbound: with a request bound, resty.http goes through the
// host's HTTP (Kong's cosockets), so the phase table and the request's
// deadline apply; the Lua side sees the same result shapes.
func TestRestyHTTPOutbound(t *testing.T) {
	type key struct{}
	reqCtx := context.WithValue(context.Background(), key{}, "request")
	out := &fakeOutbound{phase: hostabi.PhaseAccess}
	bound := true
	L := newState(t, Options{Outbound: func(*lua.LState) (context.Context, hostabi.HTTP) {
		if !bound {
			return nil, nil
		}
		return reqCtx, out
	}})
	cases := []luaCase{
		{"request_uri", `local httpc = require("resty.http").new() httpc:set_timeouts(10, 20, 30)
			local res, err = httpc:request_uri("http://up.test/p", {method = "post", body = "b", query = {q = "1"}, headers = {["X-A"] = "1"}})
			return res.status, res.reason, res.body, res.headers.x_multi[2], err`, "202|Accepted|via host|b|nil"},
		{"timeout", `local httpc = require("resty.http").new() httpc:set_timeout(0.000001)
			return httpc:request_uri("http://up.test/p")`, "nil|timeout"},
	}
	for _, c := range cases {
		if got := eval(t, L, c.src); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	L2 := newState(t, Options{Outbound: func(*lua.LState) (context.Context, hostabi.HTTP) { return reqCtx, out }})
	eval(t, L2, `local httpc = require("resty.http").new() httpc:set_timeouts(10, 20, 30)
		return httpc:request_uri("http://up.test/p", {method = "post", body = "b", query = {q = "1"}, headers = {["X-A"] = "1"}})`)
	if g := out.got; g.Method != "POST" || g.URL != "http://up.test/p?q=1" || string(g.Body) != "b" || g.Header["X-A"][0] != "1" ||
		g.Timeout != 60*time.Millisecond || out.ctx != reqCtx {
		t.Errorf("the host got %+v", g)
	}
	out.phase = hostabi.PhaseHeaderFilter
	msg := evalErr(t, L2, `return require("resty.http").new():request_uri("http://up.test/p")`)
	want := (&hostabi.PhaseError{Op: hostabi.OpHTTPDo, Phase: hostabi.PhaseHeaderFilter}).Error()
	if !strings.HasSuffix(msg, ": "+want) {
		t.Errorf("out of phase: %q, want %q", msg, want)
	}
	// Without a bound request, the request goes out directly.
	bound = false
	if got := eval(t, L, `return require("resty.http").new():request_uri("http://127.0.0.1:1/")`); got != "nil|connection refused" {
		t.Errorf("unbound: %q", got)
	}
}
