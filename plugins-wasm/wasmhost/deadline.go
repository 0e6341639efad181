package wasmhost

import (
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// The time limit without a watcher goroutine per call.
//
// wazero ends a spinning guest (WithCloseOnContextDone) in two parts: the
// compiled code checks, at every loop's back edge and function entry, the
// module's Closed word (in Go, FailIfClosed), and each call of an export
// starts a goroutine that watches the call's context and sets that word
// when the context ends. The goroutine, its channel and closures cost
// about a microsecond and three allocations per call, and a proxy-wasm
// request makes seven calls (its callbacks and the guest allocator).
//
// An instance whose module allows it (wazero's optimizing compiler at the
// version in go.mod) turns the per-call watcher off — the compiled checks
// stay — and its own timer (Instance.timer, armed per call as before)
// sets the Closed word itself, with the same exit code the watcher would
// set (sys.ExitCodeDeadlineExceeded) and the flag that defers closing the
// module's resources to the guest's goroutine, so that the guest ends at
// its next check exactly as with the watcher. Both fields are wazero's
// internals, found by reflection and checked by type; when any is missing
// or has changed (another engine, another wazero), the instance keeps the
// watcher and nothing changes but the cost. TestFastDeadline asserts that
// the fast path is on, so an upgrade that loses it is noticed.

// closedFlagResourceNotClosed is wazero's exitCodeFlagResourceNotClosed:
// the module is closed and its resources are closed by the next
// FailIfClosed, on the goroutine running the guest.
const closedFlagResourceNotClosed = 1 << 1

// deadlineClosed is the Closed word the timer stores.
const deadlineClosed = closedFlagResourceNotClosed | uint64(sys.ExitCodeDeadlineExceeded)<<32

// fastDeadlineMu orders the writes of compiled modules' flags (two first
// instantiations at once) before the reads of later instantiations.
var fastDeadlineMu sync.Mutex

// fastDeadline turns wazero's watcher off for mod's compiled module and
// returns the module's Closed word, or nil (the watcher stays) when
// wazero's internals are not the expected ones. The compiled module's flag
// is shared by every instance of the module: it is written once, at the
// first instantiation, before any call of an instance of it can run.
func fastDeadline(mod api.Module) *atomic.Uint64 {
	fastDeadlineMu.Lock()
	defer fastDeadlineMu.Unlock()
	v := reflect.ValueOf(mod)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	inst := v.Elem()
	closedF := inst.FieldByName("Closed")
	if !closedF.IsValid() || closedF.Type() != reflect.TypeFor[atomic.Uint64]() || !closedF.CanAddr() {
		return nil
	}
	engF := inst.FieldByName("Engine")
	if !engF.IsValid() || engF.Kind() != reflect.Interface || engF.IsNil() {
		return nil
	}
	eng := engF.Elem()
	if eng.Kind() != reflect.Pointer || eng.IsNil() || eng.Elem().Kind() != reflect.Struct {
		return nil
	}
	parent := eng.Elem().FieldByName("parent")
	if !parent.IsValid() || parent.Kind() != reflect.Pointer || parent.IsNil() || parent.Elem().Kind() != reflect.Struct {
		return nil
	}
	ensure := parent.Elem().FieldByName("ensureTermination")
	if !ensure.IsValid() || ensure.Kind() != reflect.Bool || !ensure.CanAddr() {
		return nil
	}
	flag := (*bool)(unsafe.Pointer(ensure.UnsafeAddr()))
	if *flag {
		*flag = false
	}
	return (*atomic.Uint64)(unsafe.Pointer(closedF.UnsafeAddr()))
}
