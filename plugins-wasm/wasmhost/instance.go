package wasmhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

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
	stdout *lineLogger
	stderr *lineLogger
	broken bool

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
	if in.mod == nil {
		return nil
	}
	return in.mod.Close(ctx)
}

type stateKey struct{}

// callState is what a host function finds in its context.
type callState struct {
	in    *Instance
	state any
}

// State returns the state given to the Call that is running; host
// functions call it with the context they receive. nil outside a Call.
func State(ctx context.Context) any {
	if cs, ok := ctx.Value(stateKey{}).(*callState); ok {
		return cs.state
	}
	return nil
}

// Call runs an export with the time limit (Options.Timeout, or parent's
// deadline when sooner) and state for the host functions (State). phase
// names the call in faults ("access", "configure"). Any failure is a
// *Fault, and the instance is then broken, except FaultMissing (no such
// export), which leaves the instance usable.
func (in *Instance) Call(parent context.Context, phase string, state any, fn string, params ...uint64) ([]uint64, error) {
	if in.broken {
		return nil, &Fault{Plugin: in.module.Name, Phase: phase, Kind: FaultTrap, Err: errors.New("the instance was closed")}
	}
	f := in.fns[fn]
	if f == nil {
		f = in.mod.ExportedFunction(fn)
		if f == nil {
			return nil, &Fault{Plugin: in.module.Name, Phase: phase, Kind: FaultMissing, Err: fmt.Errorf("no export %q", fn)}
		}
		in.fns[fn] = f
	}
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithTimeout(parent, in.module.rt.opts.Timeout)
	defer cancel()
	cs := &callState{in: in, state: state}
	res, err := f.Call(context.WithValue(ctx, stateKey{}, cs), params...)
	if err != nil {
		return nil, in.fault(phase, err, ctx)
	}
	return res, nil
}

// fault maps a call's error to a Fault and breaks the instance.
func (in *Instance) fault(phase string, err error, ctx context.Context) *Fault {
	in.broken = true
	if in.mod != nil {
		_ = in.mod.Close(context.Background())
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
		f.Kind, f.Err = FaultTimeout, fmt.Errorf("time limit (%s) exceeded", in.module.rt.opts.Timeout)
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeContextCanceled:
		f.Kind, f.Err = FaultTimeout, errors.New("the request was cancelled")
	case in.stderr != nil && in.stderr.saw("out of memory"), isMemoryError(err):
		f.Kind, f.Err = FaultMemory, fmt.Errorf("memory limit (%d MiB) exceeded: %w", in.module.rt.opts.MemoryLimit>>20, err)
	case errors.As(err, &exit):
		msg := fmt.Sprintf("the guest exited with code %d", exit.ExitCode())
		if in.stderr != nil {
			if last := in.stderr.last(); last != "" {
				msg += ": " + last
			}
		}
		f.Kind, f.Err = FaultExit, errors.New(msg)
	default:
		f.Err = errors.New(firstLine(err.Error()))
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
	l.lines = append(l.lines, line)
	if len(l.lines) > 8 {
		l.lines = l.lines[len(l.lines)-8:]
	}
}

func (l *lineLogger) saw(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return bytes.Contains(l.buf, []byte(s))
}

func (l *lineLogger) last() string {
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
