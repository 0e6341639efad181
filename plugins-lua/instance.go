package luahost

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-lua/luavalue"
	lua "github.com/yuin/gopher-lua"
)

// instance is one configured plugin entity. Its phase methods come from
// the generated wrapper types (typed), which carry exactly the phases the
// handler defines.
type instance struct {
	p      *plugin
	config map[string]any
}

// configTable converts a configuration to Lua: arrays keep their array
// marker, so cjson encodes an empty list as [] again.
func configTable(L *lua.LState, config map[string]any) (*lua.LTable, error) {
	v, err := luavalue.FromGo(L, config, luavalue.Options{MarkArrays: true})
	if err != nil {
		return nil, err
	}
	t, ok := v.(*lua.LTable)
	if !ok {
		return L.NewTable(), nil
	}
	return t, nil
}

func (in *instance) run(k hostabi.Kong, phase hostabi.Phase) error {
	_, err := in.p.h.call(in.p, in, k, phase, nil, false)
	return err
}

func (in *instance) bodyFilter(k hostabi.Kong, chunk []byte, eof bool) ([]byte, error) {
	return in.p.h.call(in.p, in, k, hostabi.PhaseBodyFilter, chunk, eof)
}

// call runs one phase method of p's handler in a pooled state:
// handler:<phase>(conf), with the request bound through the Binder and a
// deadline of lua_timeout within the request's context.
func (h *Provider) call(p *plugin, in *instance, k hostabi.Kong, phase hostabi.Phase, chunk []byte, eof bool) ([]byte, error) {
	parent := k.Context()
	if parent == nil {
		parent = context.Background()
	}
	st := p.pool.tryGet()
	if st == nil {
		ctx, cancel := context.WithTimeout(parent, h.opts.Timeout)
		var err error
		st, err = p.pool.get(ctx)
		timedOut := ctx.Err() != nil
		cancel()
		if err != nil {
			kind := FaultError // a new state failed to load
			if timedOut {
				kind = FaultTimeout
			}
			return chunk, &CallError{Plugin: p.spec.Name, Phase: phase, Kind: kind, Message: err.Error(), Cause: err}
		}
	}
	if gen := p.configGen.Load(); gen != st.configGen && p.phases.Has(hostabi.PhaseConfigure) {
		if err := h.plainCall(parent, p, st, hostabi.PhaseConfigure, func() error { return p.configureState(st, gen) }); err != nil {
			h.opts.Logger.Error("lua plugin configure failed", "plugin", p.spec.Name, "error", err)
		}
	}
	L := st.L
	ctx := st.cctx
	ctx.arm(parent, h.opts.Timeout)
	c := &st.call
	c.reset(p.spec.Name, phase, L, ctx)
	c.Chunk, c.EOF = chunk, eof
	var conf lua.LValue = lua.LNil
	if in != nil {
		t, err := st.confFor(in)
		if err != nil {
			h.release(p, st)
			return chunk, &CallError{Plugin: p.spec.Name, Phase: phase, Kind: FaultError, Message: "configuration: " + err.Error(), Cause: err}
		}
		conf = t
	}
	fn, ok := L.GetField(st.handler, phase.String()).(*lua.LFunction)
	if !ok {
		h.release(p, st)
		return chunk, &CallError{Plugin: p.spec.Name, Phase: phase, Kind: FaultError, Message: fmt.Sprintf("the handler has no %s method", phase)}
	}
	perr := h.protected(st, k, c, ctx, func() error {
		L.Push(fn)
		L.Push(st.handler)
		L.Push(conf)
		return L.PCall(2, 0, nil)
	})
	out := c.Chunk
	ce, discard := h.fault(c, perr, ctx, parent)
	c.reset("", 0, nil, nil)
	if ctx.disarm() {
		discard = true
	}
	if discard {
		kind := "expired"
		if ce != nil {
			kind = ce.Kind
		}
		h.opts.Logger.Warn("lua state discarded", "plugin", p.spec.Name, "phase", phaseName(phase), "reason", kind)
		st.timers.pending = nil
		p.pool.discard(st)
	} else if !h.schedule(p, st, k) {
		// a state whose call created timers is theirs until they ran
		p.pool.put(st)
	}
	if ce != nil {
		return chunk, ce
	}
	return out, nil
}

// protected runs fn between the Binder's Enter and Leave, with ctx on the
// state; a Go panic outside Lua's own protection (in Enter or Leave)
// becomes a panic error too.
func (h *Provider) protected(st *state, k hostabi.Kong, c *Call, ctx context.Context, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &lua.ApiError{Type: lua.ApiErrorPanic, Object: lua.LString(fmt.Sprint(r))}
		}
	}()
	st.binder.Enter(k, c)
	st.timers.k = k
	defer func() {
		st.timers.k = nil
		// The binder learns how the call ended before it unbinds.
		c.failed = err != nil && !c.exited && (h.opts.IsExit == nil || !h.opts.IsExit(err))
		st.binder.Leave(c)
	}()
	st.L.SetContext(ctx)
	defer st.L.RemoveContext()
	return fn()
}

// release returns a state whose call did not run.
func (h *Provider) release(p *plugin, st *state) {
	if st.cctx.disarm() {
		p.pool.discard(st)
		return
	}
	p.pool.put(st)
}
