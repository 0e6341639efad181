package pdk

import (
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// BenchmarkHook measures the Lua hook round trip the issue targets
// (< 3 µs): check a prepared state out of a pool, Enter, run a Lua
// function doing 2 kong.request.get_header and 1
// kong.service.request.set_header, Leave, check the state back in.
func BenchmarkHook(b *testing.B) {
	L := lua.NewState()
	defer L.Close()
	bind, err := Install(L, Env{})
	if err != nil {
		b.Fatal(err)
	}
	if err := L.DoString(`
		function hook()
			local a = kong.request.get_header("x-a")
			local c = kong.request.get_header("x-c")
			kong.service.request.set_header("x-out", a)
		end`); err != nil {
		b.Fatal(err)
	}
	fn := L.GetGlobal("hook").(*lua.LFunction)
	type state struct {
		L *lua.LState
		b *Binding
	}
	pool := make(chan state, 1)
	pool <- state{L, bind}

	env := plugintest.NewEnv()
	k := env.NewKong(plugintest.NewRequest("GET", "/").WithHeader("X-A", "1").WithHeader("X-C", "2"))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k.Reset()
		k.SetPhase(hostabi.PhaseAccess)
		s := <-pool
		s.b.Enter(k, Call{Plugin: "bench"})
		s.L.Push(fn)
		if err := s.L.PCall(0, 0, nil); err != nil {
			b.Fatal(err)
		}
		if err := s.b.Leave(); err != nil {
			b.Fatal(err)
		}
		pool <- s
	}
	b.StopTimer()
	if got := k.Result().UpstreamHeader("x-out"); got != "1" {
		b.Fatalf("x-out %q", got)
	}
}
