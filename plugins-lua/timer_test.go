package luahost_test

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	luahost "github.com/gatehouse/gatehouse/plugins-lua"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
	lua "github.com/yuin/gopher-lua"
)

// TestTimerAt: ngx.timer.at in a request phase runs its callback (a
// closure of the state, with premature = false and the extra arguments)
// through the request's hostabi.Timers, after the call; the state is the
// timers' until then, and back in the pool after. Callbacks have no
// request: ngx.timer.at in one returns nil, err.
func TestTimerAt(t *testing.T) {
	var mu sync.Mutex
	var recorded []string
	h, _ := newProvider(t, func(o *luahost.Options) {
		o.Install = func(L *lua.LState) (luahost.Binder, error) {
			b, err := install(L)
			L.SetGlobal("ngx", L.NewTable())
			L.SetGlobal("test_record", L.NewFunction(func(L *lua.LState) int {
				mu.Lock()
				recorded = append(recorded, L.CheckString(1))
				mu.Unlock()
				return 0
			}))
			return b, err
		}
	})
	inst := newInstance(t, h, "timer-user", nil)
	env := plugintest.NewEnv()
	res := env.Run(t, inst, hostabi.PhaseLog, nil)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if len(res.Timers) != 1 || res.Timers[0].Delay > time.Millisecond {
		t.Fatalf("timers %+v", res.Timers)
	}
	if st, _ := h.Stats("timer-user"); st.Live != 1 || st.Idle != 0 {
		t.Fatalf("before the timer ran, the state should be the timer's: %+v", st)
	}
	res.Timers[0].Run(time.Second, nil)
	mu.Lock()
	got := append([]string(nil), recorded...)
	mu.Unlock()
	want := []string{"at true nil pending 1",
		"false x 2 run 1 nested nil ngx.timer.at is only available in the request phases in Gatehouse"}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("recorded %q, want %q", got, want)
	}
	if st, _ := h.Stats("timer-user"); st.Live != 1 || st.Idle != 1 {
		t.Fatalf("after the timer, the state is back in the pool: %+v", st)
	}
	// The same state serves the next request: the closure's upvalue kept
	// counting.
	res = env.Run(t, inst, hostabi.PhaseLog, nil)
	res.Timers[0].Run(time.Second, nil)
	mu.Lock()
	last := recorded[len(recorded)-1]
	mu.Unlock()
	if last[:len("false x 2 run 2")] != "false x 2 run 2" {
		t.Fatalf("second run recorded %q", last)
	}
}
