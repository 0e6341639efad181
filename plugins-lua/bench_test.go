package luahost_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	luahost "github.com/gatehouse/gatehouse/plugins-lua"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
	lua "github.com/yuin/gopher-lua"
)

// benchBinder reads two request headers and writes one upstream header
// per call: the Lua hook round trip of the target.
type benchBinder struct{ k hostabi.Kong }

func (b *benchBinder) Enter(k hostabi.Kong, _ *luahost.Call) { b.k = k }
func (b *benchBinder) Leave(*luahost.Call)                   { b.k = nil }

func benchInstall(L *lua.LState) (luahost.Binder, error) {
	b := &benchBinder{}
	L.SetGlobal("test_get_header", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(b.k.Request().Header(L.CheckString(1))))
		return 1
	}))
	L.SetGlobal("test_set_header", L.NewFunction(func(L *lua.LState) int {
		b.k.ServiceRequest().SetHeader(L.CheckString(1), L.CheckString(2))
		return 0
	}))
	return b, nil
}

// BenchmarkCall: one access call with state checkout, the handler doing
// two header reads and one write through the binder.
func BenchmarkCall(b *testing.B) {
	dir := b.TempDir()
	writeFiles(b, dir, map[string]string{
		"kong/plugins/bench/handler.lua": `
local H = { PRIORITY = 1, VERSION = "1" }
local get, set = test_get_header, test_set_header
function H:access(conf)
  local a = get("x-a")
  local b = get("x-b")
  set("x-c", a)
end
return H`,
		"kong/plugins/bench/schema.lua": `return { name = "bench", fields = { { config = { type = "record", fields = {} } } } }`,
	})
	h, err := luahost.New(luahost.Options{PluginsDir: dir, Install: benchInstall, PoolSize: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	pps, _ := h.Plugins()
	inst, err := pps[0].Factory.New(map[string]any{})
	if err != nil {
		b.Fatal(err)
	}
	acc := inst.(hostabi.Accessor)
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/").WithHeader("X-A", "1").WithHeader("X-B", "2"))
	k.SetPhase(hostabi.PhaseAccess)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k.Reset()
		k.SetPhase(hostabi.PhaseAccess)
		if err := acc.Access(k); err != nil {
			b.Fatal(err)
		}
	}
}
