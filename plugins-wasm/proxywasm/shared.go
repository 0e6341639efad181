package proxywasm

import (
	"context"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
	"github.com/tetratelabs/wazero/api"
)

// sharedData is the key-value store proxy_get/set_shared_data share: one
// per runtime (every filter of the node, as one vm_id; see vm), each value
// with its CAS number.
type sharedData struct {
	mu   sync.Mutex
	vals map[string]sharedValue
	cas  uint32
}

type sharedValue struct {
	data []byte
	cas  uint32
}

// get returns a key's value and CAS.
func (s *sharedData) get(key string) ([]byte, uint32, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vals[key]
	return v.data, v.cas, ok
}

// set stores a value when cas is 0 or the key's current CAS.
func (s *sharedData) set(key string, data []byte, cas uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vals[key]
	if cas != 0 && (!ok || v.cas != cas) {
		return false
	}
	s.cas++
	if s.cas == 0 {
		s.cas = 1
	}
	s.vals[key] = sharedValue{data: append([]byte(nil), data...), cas: s.cas}
	return true
}

func getSharedData(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	key := wasmhost.ViewString(m, uint32(stack[0]), uint32(stack[1]))
	v, cas, ok := c.config.filter.vm.shared.get(key)
	if !ok {
		ret(stack, statusNotFound)
		return
	}
	give(ctx, m, v, uint32(stack[2]), uint32(stack[3]))
	putU32(m, uint32(stack[4]), cas)
	ret(stack, statusOK)
}

func setSharedData(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	key := wasmhost.ReadString(m, uint32(stack[0]), uint32(stack[1]))
	data := wasmhost.Read(m, uint32(stack[2]), uint32(stack[3]))
	if !c.config.filter.vm.shared.set(key, data, uint32(stack[4])) {
		ret(stack, statusCasMismatch)
		return
	}
	ret(stack, statusOK)
}

// ticker calls an instance's proxy_on_tick every period.
type ticker struct {
	period time.Duration
	t      *time.Ticker
	done   chan struct{}
	once   sync.Once
}

func (t *ticker) stop() { t.once.Do(func() { close(t.done) }) }

func setTickPeriod(ctx context.Context, _ api.Module, stack []uint64) {
	c := current(ctx)
	if c.st != nil {
		ret(stack, statusBadArgument)
		return
	}
	ms := uint32(stack[0])
	c.tick = ms
	c.config.mu.Lock()
	t := c.config.ticks[c.in]
	c.config.mu.Unlock()
	if t != nil { // from a tick: a new period
		if ms == 0 {
			t.stop()
		} else {
			t.t.Reset(time.Duration(ms) * time.Millisecond)
		}
	}
	ret(stack, statusOK)
}

// startTick runs the instance's proxy_on_tick every ms milliseconds while
// the instance lives (a tick waits for a request using it to finish).
func (c *Config) startTick(in *wasmhost.Instance, ms uint32) {
	if !c.filter.module.Exports("proxy_on_tick") {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.ticks[in] != nil {
		return
	}
	t := &ticker{period: time.Duration(ms) * time.Millisecond, done: make(chan struct{})}
	t.t = time.NewTicker(t.period)
	c.ticks[in] = t
	go c.runTicks(in, t)
}

func (c *Config) runTicks(in *wasmhost.Instance, t *ticker) {
	defer func() {
		t.t.Stop()
		c.mu.Lock()
		if c.ticks[in] == t {
			delete(c.ticks, in)
		}
		c.mu.Unlock()
	}()
	for {
		select {
		case <-t.done:
			return
		case <-t.t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), t.period+time.Second)
		got, err := c.pool.Take(ctx, in)
		cancel()
		if err != nil {
			if err == context.DeadlineExceeded {
				continue // busy for a long request: the next tick
			}
			return // the instance or the configuration is gone
		}
		cl := &call{config: c, in: in, ctxID: RootContextID, where: "tick"}
		_, err = got.Call(context.Background(), "tick", cl, "proxy_on_tick", RootContextID)
		c.pool.Put(got)
		if err != nil {
			c.filter.module.Runtime().Logger().Error("wasm filter tick failed", "plugin", c.filter.module.Name, "error", err)
			return
		}
		c.dispatchRoot(in, cl.rootPending)
	}
}
