package proxywasm

import (
	"context"
	"sync"

	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
	"github.com/tetratelabs/wazero/experimental"
)

// vm is the state the filters of one runtime share, as the filters of one
// vm_id do: shared data, shared queues and metrics. It is made when the
// runtime's env module is defined and dropped when the runtime closes (the
// env module's close notifier), so a node restarted in the same process
// starts with empty stores and the old ones are freed.
type vm struct {
	shared  *sharedData
	queues  *queues
	metrics *metrics
}

func newVM() *vm {
	return &vm{
		shared:  &sharedData{vals: map[string]sharedValue{}},
		queues:  &queues{byID: map[uint32]*queue{}, byName: map[string]uint32{}},
		metrics: &metrics{byName: map[string]uint32{}},
	}
}

var vms sync.Map // *wasmhost.Runtime -> *vm

// vmFor returns a runtime's stores; a runtime that closed (or never
// defined env) gets stores of its own that nothing keeps.
func vmFor(rt *wasmhost.Runtime) *vm {
	if v, ok := vms.Load(rt); ok {
		return v.(*vm)
	}
	return newVM()
}

// liveVMs returns the stores of every open runtime.
func liveVMs() []*vm {
	var out []*vm
	vms.Range(func(_, v any) bool {
		out = append(out, v.(*vm))
		return true
	})
	return out
}

// withRelease returns ctx carrying the close notifier that drops rt's
// stores: the env module closes with its runtime.
func withRelease(ctx context.Context, rt *wasmhost.Runtime) context.Context {
	return experimental.WithCloseNotifier(ctx, experimental.CloseNotifyFunc(func(context.Context, uint32) {
		vms.Delete(rt)
	}))
}
