package pdk

import (
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// TestInstallKeepsExisting checks that Install adds to the ngx and kong
// tables the libraries filled first and replaces none of their fields
// (ngx.get_phase is wrapped: the earlier function answers outside calls).
func TestInstallKeepsExisting(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	if err := L.DoString(`
		ngx = { HTTP_OK = 999, time = function() return 42 end, get_phase = function() return "init_worker" end,
		        req = { custom = function() return "mine" end } }
		setmetatable(ngx, { __index = { from_meta = "m" } })
		kong = { version = "3.4.0" }
		package.preload["kong.constants"] = function() return { mine = true } end
	`); err != nil {
		t.Fatal(err)
	}
	b, err := Install(L, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if err := L.DoString(`
		assert(ngx.HTTP_OK == 999, "HTTP_OK replaced")
		assert(ngx.time() == 42, "ngx.time replaced")
		assert(ngx.from_meta == "m", "earlier metatable lost")
		assert(ngx.req.custom() == "mine", "ngx.req replaced")
		assert(type(ngx.req.get_headers) == "function", "ngx.req not filled")
		assert(ngx.HTTP_FORBIDDEN == 403, "constants not added")
		assert(kong.version == "3.4.0", "kong.version lost")
		assert(type(kong.request.get_header) == "function")
		assert(require("kong.constants").mine, "preload replaced")
		assert(ngx.get_phase() == "init_worker", "earlier get_phase not used outside calls")
		ngx.custom_field = 1
		assert(rawget(ngx, "custom_field") == 1)
	`); err != nil {
		t.Fatal(err)
	}
	k := plugintest.NewEnv().NewKong(nil)
	k.SetPhase(hostabi.PhaseHeaderFilter)
	b.Enter(k, Call{})
	if err := L.DoString(`assert(ngx.get_phase() == "header_filter")`); err != nil {
		t.Fatal(err)
	}
	if err := b.Leave(); err != nil {
		t.Fatal(err)
	}
}
