package kongenv

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/hostabi"
)

// reloading is the provider NewProvider returns. Its first Plugins call
// serves the plugins read at start; every later one (a node's plugin
// reload, `gatehouse start`'s SIGHUP) reads the plugin folders again, as
// `kong reload` picks up changed Lua files, into a new generation of
// luahost providers. A generation's providers close when it was replaced
// and the node closed the last of its factories (after the last request
// that used them).
type reloading struct {
	build func() (providers, error)

	mu     sync.Mutex
	cur    *generation
	served bool
}

// generation is one reading of the plugin folders.
type generation struct {
	ps      providers
	open    atomic.Int64 // factories handed out and not closed
	retired atomic.Bool
	once    sync.Once
}

func (g *generation) closeIfDone() {
	if g.retired.Load() && g.open.Load() == 0 {
		g.once.Do(func() { g.ps.Close() })
	}
}

// Plugins implements hostabi.Provider.
func (r *reloading) Plugins() ([]hostabi.ProvidedPlugin, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.cur
	if r.served {
		ps, err := r.build()
		if err != nil {
			return nil, err
		}
		g = &generation{ps: ps}
		old := r.cur
		r.cur = g
		old.retired.Store(true)
		old.closeIfDone()
	}
	r.served = true
	list, err := g.ps.Plugins()
	if err != nil {
		return nil, err
	}
	for i := range list {
		g.open.Add(1)
		list[i].Factory = &factory{inner: list[i].Factory, g: g}
	}
	return list, nil
}

// Close implements hostabi.Provider: the current generation closes now,
// older ones as their last factory closes.
func (r *reloading) Close() error {
	r.mu.Lock()
	g := r.cur
	r.mu.Unlock()
	var err error
	g.once.Do(func() { err = g.ps.Close() })
	return err
}

// factory wraps a luahost factory, counting it in its generation.
type factory struct {
	inner  hostabi.Factory
	g      *generation
	closed atomic.Bool
}

// New implements hostabi.Factory.
func (f *factory) New(config map[string]any) (any, error) { return f.inner.New(config) }

// Validate implements hostabi.Validator.
func (f *factory) Validate(config map[string]any) error {
	if v, ok := f.inner.(hostabi.Validator); ok {
		return v.Validate(config)
	}
	return nil
}

// InitWorker implements hostabi.WorkerIniter.
func (f *factory) InitWorker(ctx context.Context) error {
	if w, ok := f.inner.(hostabi.WorkerIniter); ok {
		return w.InitWorker(ctx)
	}
	return nil
}

// Configure implements hostabi.Configurer.
func (f *factory) Configure(ctx context.Context, configs []map[string]any) error {
	if c, ok := f.inner.(hostabi.Configurer); ok {
		return c.Configure(ctx, configs)
	}
	return nil
}

// ServeEndpoint implements hostabi.EndpointServer for a plugin whose
// api.lua declares endpoints.
func (f *factory) ServeEndpoint(ctx context.Context, host hostabi.EndpointHost, req hostabi.EndpointRequest) (hostabi.EndpointResponse, error) {
	if s, ok := f.inner.(hostabi.EndpointServer); ok {
		return s.ServeEndpoint(ctx, host, req)
	}
	return hostabi.EndpointResponse{}, errors.New("the plugin serves no Admin API endpoints")
}

// Close implements hostabi.Closer: the node is done with the factory.
func (f *factory) Close() error {
	if !f.closed.CompareAndSwap(false, true) {
		return nil
	}
	var err error
	if c, ok := f.inner.(hostabi.Closer); ok {
		err = c.Close()
	}
	f.g.open.Add(-1)
	f.g.closeIfDone()
	return err
}

var (
	_ hostabi.Provider       = (*reloading)(nil)
	_ hostabi.Validator      = (*factory)(nil)
	_ hostabi.WorkerIniter   = (*factory)(nil)
	_ hostabi.Configurer     = (*factory)(nil)
	_ hostabi.Closer         = (*factory)(nil)
	_ hostabi.EndpointServer = (*factory)(nil)
)
