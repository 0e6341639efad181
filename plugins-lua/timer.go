package luahost

import (
	"context"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/hostabi"
)

// maxTimersPerCall bounds the timers one call may create.
const maxTimersPerCall = 16

// timers is ngx.timer for one state. OpenResty runs a timer's callback,
// a closure of the state, in that state; here a state whose call created
// timers becomes theirs when the call ends: it goes back to the pool only
// once every callback ran (each under lua_timeout, through the node's
// bounded workers: hostabi.Timers). So the timers of a state run one at a
// time, after the call, never beside another call.
type timers struct {
	// k is the request of the call in progress (nil between calls and in
	// calls without a request).
	k hostabi.Kong
	// pending are the timers the call in progress created.
	pending []*timer
}

// timer is one ngx.timer.at callback, due at due.
type timer struct {
	fn   *lua.LFunction
	args []lua.LValue
	due  time.Time
}

// timerRun hands a state over to the callbacks of its call's timers.
type timerRun struct {
	mu     sync.Mutex
	ready  chan struct{} // closed when the call has ended
	left   int           // callbacks not run yet
	st     *state
	p      *plugin
	h      *Provider
	failed bool // the call discarded the state: the callbacks are dropped
}

// openTimer adds ngx.timer (at, running_count, pending_count) to the
// state's ngx table unless it has one.
func openTimer(L *lua.LState, ts *timers) {
	ngx, ok := L.GetGlobal("ngx").(*lua.LTable)
	if !ok || ngx.RawGetString("timer") != lua.LNil {
		return
	}
	t := L.NewTable()
	t.RawSetString("at", L.NewFunction(func(L *lua.LState) int {
		delay, ok := L.Get(1).(lua.LNumber)
		if !ok || delay < 0 {
			L.ArgError(1, "delay must be a number >= 0")
		}
		fn := L.CheckFunction(2)
		if ts.k == nil {
			L.Push(lua.LNil)
			L.Push(lua.LString("ngx.timer.at is only available in the request phases in Gatehouse"))
			return 2
		}
		if len(ts.pending) >= maxTimersPerCall {
			L.Push(lua.LNil)
			L.Push(lua.LString("too many pending timers"))
			return 2
		}
		args := make([]lua.LValue, 0, L.GetTop())
		for i := 3; i <= L.GetTop(); i++ {
			args = append(args, L.Get(i))
		}
		// Scheduled when the call ends (schedule), due delay from now.
		ts.pending = append(ts.pending, &timer{fn: fn, args: args,
			due: time.Now().Add(time.Duration(float64(delay) * float64(time.Second)))})
		L.Push(lua.LTrue)
		return 1
	}))
	t.RawSetString("running_count", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LNumber(0)); return 1 }))
	t.RawSetString("pending_count", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(len(ts.pending)))
		return 1
	}))
	ngx.RawSetString("timer", t)
}

// schedule hands st to the timers its call created, through k's
// hostabi.Timers; it reports false when there are none (the caller puts
// the state back). Once every callback ran, the state goes back to the
// pool. A timer the node cannot queue is dropped and logged.
func (h *Provider) schedule(p *plugin, st *state, k hostabi.Kong) bool {
	pending := st.timers.pending
	st.timers.pending = nil
	if len(pending) == 0 {
		return false
	}
	run := &timerRun{ready: make(chan struct{}), st: st, p: p, h: h}
	for _, tm := range pending {
		run.left++
		err := k.Timers().After(max(time.Until(tm.due), 0), func(ctx context.Context, _ hostabi.HTTP) { run.fire(ctx, tm) })
		if err != nil {
			run.left--
			h.opts.Logger.Warn("lua plugin: ngx.timer.at dropped", "plugin", p.spec.Name, "error", err)
		}
	}
	if run.left == 0 {
		return false
	}
	close(run.ready)
	return true
}

// fire runs one callback: handler-less, premature = false, under
// lua_timeout; the last one gives the state back.
func (r *timerRun) fire(ctx context.Context, tm *timer) {
	<-r.ready
	r.mu.Lock()
	defer r.mu.Unlock()
	h, p, st := r.h, r.p, r.st
	if !r.failed && !h.closed.Load() {
		err := h.plainCall(ctx, p, st, 0, func() error {
			st.L.Push(tm.fn)
			st.L.Push(lua.LFalse)
			for _, a := range tm.args {
				st.L.Push(a)
			}
			return st.L.PCall(1+len(tm.args), 0, nil)
		})
		// A timer's callback must not create timers (no request).
		st.timers.pending = nil
		if ce, ok := err.(*CallError); ok {
			h.opts.Logger.Error("lua plugin: timer callback failed", "plugin", p.spec.Name, "error", ce)
			if ce.Kind != FaultError {
				r.failed = true
				p.pool.discard(st)
			}
		}
	}
	r.left--
	if r.left > 0 || r.failed {
		return
	}
	if h.closed.Load() {
		p.pool.discard(st)
		return
	}
	p.pool.put(st)
}
