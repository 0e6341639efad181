package wasmhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gatehouse/gatehouse/hostabi"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// Instance is one instantiated guest. It runs one call at a time; a pool
// hands it to one request at a time.
type Instance struct {
	module *Module
	mod    api.Module
	mem    api.Memory
	fns    map[string]api.Function
	// calls holds the exports CallWithin ran, with the size of the
	// stack their parameters and results need.
	calls map[string]export
	// stack is the parameter and result stack of the outermost call,
	// reused by every call (CallWithStack), so that a call allocates
	// neither its parameters nor its results; depth counts the calls
	// running (a host function may call the guest again).
	stack []uint64
	depth int
	// closed is the module's Closed word that the timer sets when the
	// time limit strikes (deadline.go); nil: wazero's per-call watcher
	// ends the call.
	closed *atomic.Uint64
	// names interns the names guests write (Name), lowers their lower
	// case (Lower).
	names  map[string]string
	lowers map[string]string
	stdout *lineLogger
	stderr *lineLogger
	broken bool
	ctx    *callCtx
	timer  *time.Timer
	lease  Lease // the lease of a request's only phase
	gone   bool  // closed by its pool (under the pool's lock)
	// idleSince is when the instance last came back to its pool (under
	// the pool's lock).
	idleSince time.Time
	// holds counts Pool.Hold without Release: a held instance is never
	// trimmed (under the pool's lock).
	holds int

	// Data is the flavour's per-instance state (its configuration, its
	// held results); the runtime does not touch it.
	Data any
}

// Module returns the instance's compiled module.
func (in *Instance) Module() *Module { return in.module }

// Memory returns the instance's exported memory.
func (in *Instance) Memory() api.Memory { return in.mem }

// Broken reports whether a call trapped, timed out or hit a limit: the
// instance must not run again (pools discard it).
func (in *Instance) Broken() bool { return in.broken }

// Close closes the instance.
func (in *Instance) Close(ctx context.Context) error {
	in.broken = true
	if in.timer != nil {
		in.timer.Stop()
	}
	if in.mod == nil {
		return nil
	}
	return in.closeModule(ctx)
}

// closeModule closes the guest's module. A Closed word the timer set
// (which wazero's own Close would take for a close done, leaving the
// module in its store) is cleared first; the timer has run by then (the
// callers wait for it), so it cannot set the word again.
func (in *Instance) closeModule(ctx context.Context) error {
	if in.closed != nil {
		in.closed.CompareAndSwap(deadlineClosed, 0)
	}
	return in.mod.Close(ctx)
}

type stateKey struct{}

// callCtx is the context a call runs under and host functions get: the
// running call's state, and a Done channel the instance's timer closes
// when the time limit strikes. The timer marks the module exited itself
// (deadline.go), or, when wazero's internals are not the expected ones,
// wazero's watcher (WithCloseOnContextDone) does on Done; the guest stops
// at its next check. Nothing is closed on the timer's goroutine, so a
// guest inside a host or WASI function is never raced. One per instance,
// reused by every call: the channel is closed at most once, and an
// instance whose limit struck never runs again.
type callCtx struct {
	context.Context
	state any
	done  chan struct{}
}

// Done is closed when the call's time limit struck.
func (c *callCtx) Done() <-chan struct{} { return c.done }

// Err reports context.DeadlineExceeded once the time limit struck.
func (c *callCtx) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

func (c *callCtx) Value(key any) any {
	if key == (stateKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// State returns the state given to the Call that is running; host
// functions call it with the context they receive. nil outside a Call.
func State(ctx context.Context) any {
	if cc, ok := ctx.(*callCtx); ok {
		return cc.state
	}
	if cc, ok := ctx.Value(stateKey{}).(*callCtx); ok {
		return cc.state
	}
	return nil
}

// Call runs an export with the time limit (Options.Timeout, or parent's
// deadline when sooner) and state for the host functions (State). phase
// names the call in faults ("access", "configure"). Any failure is a
// *Fault, and the instance is then broken, except FaultMissing (no such
// export), which leaves the instance usable. An instance runs one call at
// a time. The results are a view of the instance's reused stack, valid
// until its next call.
func (in *Instance) Call(parent context.Context, phase string, state any, fn string, params ...uint64) ([]uint64, error) {
	return in.CallWithin(parent, in.module.rt.opts.Timeout, phase, state, fn, params...)
}

// Export returns the instance's exported function name (nil when it has
// none), looked up once per instance: wazero builds a call engine for
// every lookup, about 20 KiB, so host functions that call back into the
// guest (an allocator) use this instead of api.Module.ExportedFunction.
// Like the instance, it is used by one goroutine at a time.
func (in *Instance) Export(name string) api.Function {
	if f := in.fns[name]; f != nil {
		return f
	}
	f := in.mod.ExportedFunction(name)
	if f != nil {
		in.fns[name] = f
	}
	return f
}

// export is an exported function with the sizes of its parameters and
// results.
type export struct {
	f        api.Function
	params   int
	results  int
	stackLen int // max(params, results)
}

// lookup returns the export fn, looked up once per instance.
func (in *Instance) lookup(fn string) (export, bool) {
	if e, ok := in.calls[fn]; ok {
		return e, true
	}
	f := in.Export(fn)
	if f == nil {
		return export{}, false
	}
	def := f.Definition()
	e := export{f: f, params: len(def.ParamTypes()), results: len(def.ResultTypes())}
	e.stackLen = max(e.params, e.results, 1)
	if in.calls == nil {
		in.calls = map[string]export{}
	}
	in.calls[fn] = e
	return e, true
}

// CallWithin is Call with another time limit than Options.Timeout: a
// flavour's start function, or a timer that waits on the network.
//
// The results are a view of the instance's reused stack: valid until the
// next call on the instance (copy them to keep them longer).
func (in *Instance) CallWithin(parent context.Context, limit time.Duration, phase string, state any, fn string, params ...uint64) ([]uint64, error) {
	if in.broken {
		return nil, &Fault{Plugin: in.module.Name, Phase: phase, Kind: FaultTrap, Err: errors.New("the instance was closed")}
	}
	rt := in.module.rt
	if !rt.enter() {
		return nil, &Fault{Plugin: in.module.Name, Phase: phase, Kind: FaultTrap, Err: errRuntimeClosed}
	}
	defer rt.leave()
	e, ok := in.lookup(fn)
	if !ok {
		return nil, &Fault{Plugin: in.module.Name, Phase: phase, Kind: FaultMissing, Err: fmt.Errorf("no export %q", fn)}
	}
	if len(params) != e.params {
		return nil, in.fault(phase, fmt.Errorf("export %q takes %d parameters, not %d", fn, e.params, len(params)), limit, false)
	}
	byRequest := false
	if parent != nil {
		if err := parent.Err(); err != nil {
			return nil, &Fault{Plugin: in.module.Name, Phase: phase, Kind: FaultTimeout, Err: fmt.Errorf("the request's context ended: %w", err)}
		}
		if dl, ok := parent.Deadline(); ok {
			if left := time.Until(dl); left < limit {
				limit, byRequest = left, true
			}
		}
	}
	if in.ctx == nil {
		done := make(chan struct{})
		in.ctx = &callCtx{Context: context.Background(), done: done}
		closed := in.closed
		in.timer = time.AfterFunc(time.Hour, func() {
			if closed != nil {
				closed.CompareAndSwap(0, deadlineClosed) // the guest ends at its next check
			}
			close(done)
		})
		in.timer.Stop()
	}
	// The outermost call uses the instance's stack; a call from inside a
	// host function (the outer call's stack holds its results to come)
	// gets its own.
	var stack []uint64
	if in.depth == 0 {
		if cap(in.stack) < e.stackLen {
			in.stack = make([]uint64, e.stackLen)
		}
		stack = in.stack[:e.stackLen]
	} else {
		stack = make([]uint64, e.stackLen)
	}
	copy(stack, params)
	prevState := in.ctx.state
	in.ctx.state = state
	// The outermost call arms the time limit; a nested call runs within
	// it (re-arming it would extend it, and stopping it would leave the
	// outer call unbounded).
	outer := in.depth == 0
	if outer {
		in.timer.Reset(limit)
	}
	in.depth++
	err := e.f.CallWithStack(in.ctx, stack)
	in.depth--
	fired := false
	if outer && !in.timer.Stop() {
		fired = true
		<-in.ctx.done // the timer's function ran to its end
	}
	in.ctx.state = prevState
	if err != nil {
		return nil, in.fault(phase, err, limit, byRequest)
	}
	if fired { // the limit struck as the call returned: the instance is done
		in.broken = true
		_ = in.closeModule(context.Background())
	}
	return stack[:e.results], nil
}

// fault maps a call's error to a Fault and breaks the instance.
func (in *Instance) fault(phase string, err error, limit time.Duration, byRequest bool) *Fault {
	in.broken = true
	if in.mod != nil {
		_ = in.closeModule(context.Background())
	}
	f := &Fault{Plugin: in.module.Name, Phase: phase, Kind: FaultTrap, Err: err}
	var exit *sys.ExitError
	var host *HostError
	var pe *hostabi.PhaseError
	switch {
	case errors.As(err, &host):
		f.Kind, f.Err = FaultHost, host.Err
	case errors.As(err, &pe):
		f.Kind, f.Err = FaultHost, pe
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded:
		f.Kind, f.Err = FaultTimeout, fmt.Errorf("time limit (%s) exceeded", limit)
		if byRequest {
			f.Err = fmt.Errorf("the request's deadline passed (%s left at the call)", limit.Round(time.Millisecond))
		}
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeContextCanceled:
		f.Kind, f.Err = FaultTimeout, errors.New("the request was cancelled")
	case strings.Contains(in.stderr.fatalLine(), "out of memory"), isMemoryError(err):
		cause := in.stderr.fatalLine()
		if cause == "" {
			cause = firstLine(err.Error())
		}
		f.Kind, f.Err = FaultMemory, fmt.Errorf("memory limit (%d MiB) exceeded (%s)", in.module.rt.opts.MemoryLimit>>20, cause)
	case errors.As(err, &exit):
		msg := fmt.Sprintf("the guest exited with code %d", exit.ExitCode())
		if fatal := in.stderr.fatalLine(); fatal != "" {
			msg += " (" + fatal + ")"
		} else if last := in.stderr.last(); last != "" {
			msg += " (" + last + ")"
		}
		f.Kind, f.Err = FaultExit, errors.New(msg)
	default:
		msg := firstLine(err.Error())
		if fatal := in.stderr.fatalLine(); fatal != "" {
			msg += " (" + fatal + ")"
		}
		f.Err = errors.New(msg)
	}
	return f
}

func isMemoryError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "memory limit") || strings.Contains(s, "out of memory")
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// FaultKind classifies a fault.
type FaultKind string

// The fault kinds.
const (
	// FaultTrap is a Wasm trap (unreachable, an out-of-bounds access, a Go
	// panic in the guest...).
	FaultTrap FaultKind = "trap"
	// FaultHost is a host function that refused the call: a pointer
	// outside memory, bad arguments, an operation outside its phases.
	FaultHost FaultKind = "host"
	// FaultTimeout is the time limit, or the request's end.
	FaultTimeout FaultKind = "timeout"
	// FaultMemory is the memory limit.
	FaultMemory FaultKind = "memory"
	// FaultExit is the guest calling proc_exit (a Go guest's fatal error).
	FaultExit FaultKind = "exit"
	// FaultFailed is a guest export that returned non-zero: the plugin's
	// own error; the instance stays usable.
	FaultFailed FaultKind = "failed"
	// FaultMissing is a call of an export the guest lacks.
	FaultMissing FaultKind = "missing"
)

// Fault is a failed guest call: plugin, phase and cause. Unwrap gives the
// cause (a *hostabi.PhaseError for an out-of-phase operation).
type Fault struct {
	Plugin string
	Phase  string
	Kind   FaultKind
	Err    error
}

// AsFault returns err as a *Fault: err itself when it is (or wraps) one,
// else a trap of plugin's phase (a pool that could not lend an instance,
// say), so every failure of a flavour reaches the chain the same way.
func AsFault(plugin, phase string, err error) *Fault {
	var f *Fault
	if errors.As(err, &f) {
		return f
	}
	return &Fault{Plugin: plugin, Phase: phase, Kind: FaultTrap, Err: err}
}

func (f *Fault) Error() string {
	switch f.Kind {
	case FaultFailed, FaultHost:
		return fmt.Sprintf("wasm plugin %s: %s: %v", f.Plugin, f.Phase, f.Err)
	}
	return fmt.Sprintf("wasm plugin %s: %s: %s: %v", f.Plugin, f.Phase, f.Kind, f.Err)
}

func (f *Fault) Unwrap() error { return f.Err }

// Breaks reports whether the fault leaves the instance unusable.
func (f *Fault) Breaks() bool { return f.Kind != FaultFailed && f.Kind != FaultMissing }

// HostError is what host functions panic with to trap the guest
// (Trap); Call reports it as a FaultHost with Err as the cause.
type HostError struct{ Err error }

func (e *HostError) Error() string { return e.Err.Error() }
func (e *HostError) Unwrap() error { return e.Err }

// Trap ends the running call from inside a host function with err as the
// cause; the instance is discarded. It does not return.
func Trap(err error) {
	panic(&HostError{Err: err})
}

// Trapf is Trap with a formatted message.
func Trapf(format string, args ...any) {
	Trap(fmt.Errorf(format, args...))
}

// Read returns len bytes of the guest's memory at ptr (a view: copy it to
// keep it past the call), trapping when the range is outside memory.
func Read(m api.Module, ptr, n uint32) []byte {
	if n == 0 {
		return nil
	}
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		Trapf("pointer out of memory: [%d, %d) is outside the guest's %d bytes", ptr, uint64(ptr)+uint64(n), m.Memory().Size())
	}
	return b
}

// ReadString is Read as a string (a copy).
func ReadString(m api.Module, ptr, n uint32) string {
	return string(Read(m, ptr, n))
}

// ViewString is Read as a string sharing the guest's memory: valid only
// until the host function returns, for lookups that keep nothing (a
// header name to read). Everything stored must use ReadString.
func ViewString(m api.Module, ptr, n uint32) string {
	b := Read(m, ptr, n)
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Out writes v to the guest's buffer (buf, limit) by the pull convention:
// it returns len(v), and writes v only when it fits. The buffer's range
// must be inside memory whether or not v fits, else the call traps.
func Out(m api.Module, buf, limit uint32, v []byte) int64 {
	if limit > 0 {
		if uint64(buf)+uint64(limit) > uint64(m.Memory().Size()) {
			Trapf("pointer out of memory: buffer [%d, %d) is outside the guest's %d bytes", buf, uint64(buf)+uint64(limit), m.Memory().Size())
		}
		if len(v) <= int(limit) && len(v) > 0 {
			m.Memory().Write(buf, v)
		}
	}
	return int64(len(v))
}

// OutString is Out for a string.
func OutString(m api.Module, buf, limit uint32, v string) int64 {
	if limit > 0 {
		if uint64(buf)+uint64(limit) > uint64(m.Memory().Size()) {
			Trapf("pointer out of memory: buffer [%d, %d) is outside the guest's %d bytes", buf, uint64(buf)+uint64(limit), m.Memory().Size())
		}
		if len(v) <= int(limit) && len(v) > 0 {
			m.Memory().WriteString(buf, v)
		}
	}
	return int64(len(v))
}

// lineLogger sends a guest's output to the log, a line at a time, and
// keeps the last lines for fault messages.
type lineLogger struct {
	log    *slog.Logger
	plugin string
	level  slog.Level
	stream string

	mu    sync.Mutex
	buf   []byte
	lines []string
	// fatal is the first line of a Go runtime's panic or fatal error.
	fatal string
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.emit(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 4096 { // a line too long is cut
		l.emit(string(l.buf))
		l.buf = l.buf[:0]
	}
	return len(p), nil
}

func (l *lineLogger) emit(line string) {
	l.log.Log(context.Background(), l.level, "wasm guest output", "plugin", l.plugin, "stream", l.stream, "line", line)
	if l.fatal == "" && (strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ")) {
		l.fatal = line
	}
	l.lines = append(l.lines, line)
	if len(l.lines) > 8 {
		l.lines = l.lines[len(l.lines)-8:]
	}
}

// fatalLine returns the first panic or fatal error line the guest wrote
// ("" for none, or a nil logger).
func (l *lineLogger) fatalLine() string {
	if l == nil {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fatal
}

func (l *lineLogger) last() string {
	if l == nil {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		return string(l.buf)
	}
	for i := len(l.lines) - 1; i >= 0; i-- {
		if strings.TrimSpace(l.lines[i]) != "" {
			return l.lines[i]
		}
	}
	return ""
}

// Name returns the guest's bytes at ptr (n bytes) as a string to keep, as
// ReadString, but interned per instance: a header name a guest writes on
// every request is copied once, not per call. Names longer than 64 bytes,
// and any beyond the first 256 distinct ones, are plain copies. The
// instance must be the one running (the intern table is not locked).
func (in *Instance) Name(ptr, n uint32) string {
	b := Read(in.mod, ptr, n)
	if len(b) == 0 {
		return ""
	}
	if len(b) > 64 {
		return string(b)
	}
	if s, ok := in.names[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	if len(in.names) < 256 {
		if in.names == nil {
			in.names = map[string]string{}
		}
		in.names[s] = s
	}
	return s
}

// Lower returns strings.ToLower(s), interned per instance like Name: a
// header name a guest writes in mixed case on every request is lowered
// once. The instance must be the one running.
func (in *Instance) Lower(s string) string {
	if l, ok := in.lowers[s]; ok {
		return l
	}
	l := strings.ToLower(s)
	if l == s || len(s) > 64 {
		return l // nothing to save, or too long to keep
	}
	if len(in.lowers) < 256 {
		if in.lowers == nil {
			in.lowers = map[string]string{}
		}
		in.lowers[s] = l
	}
	return l
}
