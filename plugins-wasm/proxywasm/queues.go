package proxywasm

import (
	"context"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
	"github.com/tetratelabs/wazero/api"
)

// maxQueueItems bounds a shared queue; an enqueue past it is refused.
const maxQueueItems = 10000

// queues are the shared queues of a runtime (one vm_id): by id, and ids
// by name.
type queues struct {
	mu     sync.Mutex
	byID   map[uint32]*queue
	byName map[string]uint32
	last   uint32
}

// queue is one shared queue; its registering instance's root context gets
// proxy_on_queue_ready.
type queue struct {
	id    uint32
	items [][]byte
	owner *Config
	in    *wasmhost.Instance
}

func queuesFor(c *call) *queues { return c.config.filter.vm.queues }

func registerQueue(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	name := wasmhost.ReadString(m, uint32(stack[0]), uint32(stack[1]))
	qs := queuesFor(c)
	qs.mu.Lock()
	id, ok := qs.byName[name]
	if !ok {
		qs.last++
		id = qs.last
		qs.byName[name] = id
		qs.byID[id] = &queue{id: id}
	}
	q := qs.byID[id]
	q.owner, q.in = c.config, c.in // the last registration is notified
	qs.mu.Unlock()
	putU32(m, uint32(stack[2]), id)
	ret(stack, statusOK)
}

func resolveQueue(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	vm := wasmhost.ViewString(m, uint32(stack[0]), uint32(stack[1]))
	name := wasmhost.ReadString(m, uint32(stack[2]), uint32(stack[3]))
	if vm != "" {
		ret(stack, statusNotFound) // one VM: vm_id ""
		return
	}
	qs := queuesFor(c)
	qs.mu.Lock()
	id, ok := qs.byName[name]
	qs.mu.Unlock()
	if !ok {
		ret(stack, statusNotFound)
		return
	}
	putU32(m, uint32(stack[4]), id)
	ret(stack, statusOK)
}

func enqueueQueue(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	id := uint32(stack[0])
	data := append([]byte(nil), wasmhost.Read(m, uint32(stack[1]), uint32(stack[2]))...)
	qs := queuesFor(c)
	qs.mu.Lock()
	q := qs.byID[id]
	if q == nil {
		qs.mu.Unlock()
		ret(stack, statusNotFound)
		return
	}
	if len(q.items) >= maxQueueItems {
		qs.mu.Unlock()
		ret(stack, statusBadArgument)
		return
	}
	q.items = append(q.items, data)
	owner, in := q.owner, q.in
	qs.mu.Unlock()
	if owner != nil && in != nil && owner.filter.module.Exports("proxy_on_queue_ready") {
		go owner.queueReady(in, id)
	}
	ret(stack, statusOK)
}

func dequeueQueue(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	id := uint32(stack[0])
	qs := queuesFor(c)
	qs.mu.Lock()
	q := qs.byID[id]
	if q == nil {
		qs.mu.Unlock()
		ret(stack, statusNotFound)
		return
	}
	if len(q.items) == 0 {
		qs.mu.Unlock()
		ret(stack, statusEmpty)
		return
	}
	data := q.items[0]
	q.items[0] = nil
	q.items = q.items[1:]
	qs.mu.Unlock()
	give(ctx, m, data, uint32(stack[1]), uint32(stack[2]))
	ret(stack, statusOK)
}

// queueReady runs proxy_on_queue_ready on the registering instance's root
// context once a request using the instance is done with it (an instance
// or configuration gone meanwhile: no call).
func (c *Config) queueReady(in *wasmhost.Instance, id uint32) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	got, err := c.pool.Take(ctx, in)
	cancel()
	if err != nil {
		return
	}
	cl := &call{config: c, in: in, ctxID: RootContextID, where: "queue"}
	_, err = got.Call(context.Background(), "queue", cl, "proxy_on_queue_ready", RootContextID, uint64(id))
	c.pool.Put(got)
	if err != nil {
		c.filter.module.Runtime().Logger().Error("wasm filter queue callback failed", "plugin", c.filter.module.Name, "error", err)
		return
	}
	c.dispatchRoot(in, cl.rootPending)
}
