package luahost

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/hostabi"
	lua "github.com/yuin/gopher-lua"
)

// Binder connects one Lua state to the request of each call. Options.Install
// returns one per state; lua-pdk implements it (the kong global and the
// request-bound ngx.* functions).
//
// For every call into the plugin the host calls Enter, runs the Lua
// method, then calls Leave, all on the goroutine that holds the state:
// a state is never used by two goroutines at once, and never by two calls
// at once. Between Leave and the next Enter the binder must keep no
// reference to the Kong or the Call.
type Binder interface {
	// Enter binds the state to a call before the handler's method runs.
	// k is the request's Kong for the request phases (rewrite, access,
	// response, header_filter, body_filter, log) and nil for the calls
	// that have no request: init_worker, configure and schema validation
	// (c.Phase is hostabi.PhaseInitWorker, hostabi.PhaseConfigure or 0).
	Enter(k hostabi.Kong, c *Call)
	// Leave unbinds the state after the method returned, failed or timed
	// out.
	Leave(c *Call)
}

// Call is one call into a plugin's Lua code, as its Binder sees it. The
// host reuses one Call per state: Binders must not keep it after Leave.
type Call struct {
	// Plugin is the plugin's name; Phase the phase being run (0 for
	// schema validation).
	Plugin string
	Phase  hostabi.Phase
	// L is the state the call runs in.
	L *lua.LState
	// Chunk and EOF are body_filter's arguments: what Kong hands the
	// handler as ngx.arg[1] and ngx.arg[2]. SetChunk replaces the chunk
	// (ngx.arg[1] = ...); the host sends the final Chunk.
	Chunk []byte
	EOF   bool

	ctx     context.Context
	exited  bool
	cause   error
	chunked bool
	failed  bool
}

// Failed reports, in the Binder's Leave, whether the call failed (a Lua
// error, a timeout, a panic; not an exit): its output must not reach the
// client, the host answers with its 500.
func (c *Call) Failed() bool { return c.failed }

// Context is the call's context: the request's, bounded by lua_timeout.
// Go functions that wait (outbound HTTP, cache loads) use it.
func (c *Call) Context() context.Context {
	if c.ctx == nil {
		return context.Background()
	}
	return c.ctx
}

// SetChunk replaces the body_filter chunk (Lua's ngx.arg[1] = v).
func (c *Call) SetChunk(b []byte) { c.Chunk, c.chunked = b, true }

// Exit marks the call as ended on purpose (ngx.exit, kong.response.exit
// unwinding the Lua stack): whatever error the Lua code ends with after
// Exit, the call is a normal end. The binder raises a Lua error right
// after it to unwind.
func (c *Call) Exit() { c.exited = true }

// Fail records err as the cause of the call's failure and raises it as a
// Lua error in c.L (it does not return). The chain's fault then wraps
// err, so errors.As finds a *hostabi.PhaseError a PDK function failed
// with. Binders call it rather than panicking: a Go panic discards the
// state.
func (c *Call) Fail(err error) {
	c.cause = err
	c.L.RaiseError("%s", err.Error())
}

func (c *Call) reset(plugin string, phase hostabi.Phase, L *lua.LState, ctx context.Context) {
	*c = Call{Plugin: plugin, Phase: phase, L: L, ctx: ctx}
}

// Fault kinds of a CallError.
const (
	// FaultError is a Lua error (error(), a runtime error).
	FaultError = "error"
	// FaultTimeout is a call stopped at lua_timeout or at the request's
	// deadline.
	FaultTimeout = "timeout"
	// FaultPanic is a Go panic in a Go function called from Lua.
	FaultPanic = "panic"
)

// CallError is a failed call of a Lua plugin: the chain turns it into
// the request's 500 and logs it.
type CallError struct {
	Plugin string
	Phase  hostabi.Phase
	// Kind is FaultError, FaultTimeout or FaultPanic.
	Kind string
	// Message is the Lua error's message.
	Message string
	// Traceback is the Lua stack at the error.
	Traceback string
	// Cause is what a Binder passed to Call.Fail, or the context error of
	// a timeout.
	Cause error
}

// Error names the plugin and the phase, then the message, then the Lua
// traceback.
func (e *CallError) Error() string {
	s := fmt.Sprintf("lua plugin %s, phase %s: %s", e.Plugin, phaseName(e.Phase), e.Message)
	if e.Kind != FaultError {
		s = fmt.Sprintf("lua plugin %s, phase %s: %s: %s", e.Plugin, phaseName(e.Phase), e.Kind, e.Message)
	}
	if e.Traceback != "" {
		s += "\n" + e.Traceback
	}
	return s
}

// Unwrap returns the cause.
func (e *CallError) Unwrap() error { return e.Cause }

func phaseName(p hostabi.Phase) string {
	switch p {
	case 0:
		return "schema validation"
	case phaseAdmin:
		return "admin_api"
	case phaseMigrations:
		return "migrations"
	}
	return p.String()
}

// fault classifies the error a PCall ended with. It returns nil for a
// normal end (an exit), and whether the state must be discarded.
func (h *Provider) fault(c *Call, err error, ctx, parent context.Context) (*CallError, bool) {
	if err == nil {
		return nil, false
	}
	timedOut := ctx != nil && ctx.Err() != nil
	if !timedOut && (c.exited || (h.opts.IsExit != nil && h.opts.IsExit(err))) {
		return nil, false
	}
	ce := &CallError{Plugin: c.Plugin, Phase: c.Phase, Kind: FaultError, Message: err.Error(), Cause: c.cause}
	var ae *lua.ApiError
	if errors.As(err, &ae) {
		ce.Message = ae.Object.String()
		ce.Traceback = ae.StackTrace
		if ae.Type == lua.ApiErrorPanic {
			ce.Kind = FaultPanic
		}
	}
	if timedOut {
		ce.Kind = FaultTimeout
		ce.Cause = ctx.Err()
		if parent != nil && parent.Err() != nil {
			ce.Cause = parent.Err()
			ce.Message = "the request ended while the plugin ran (" + parent.Err().Error() + ")"
		} else {
			ce.Message = fmt.Sprintf("stopped after lua_timeout (%s)", h.opts.Timeout)
		}
	}
	return ce, ce.Kind != FaultError
}
