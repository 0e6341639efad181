package abi

import (
	"sync"

	"github.com/gatehouse/gatehouse/hostabi"
)

// Plugin is the native probe plugin: in every phase it performs the probe
// the request names in ProbeHeader, reporting to Rec. Native hosts
// configure it globally under PluginName.
type Plugin struct{ Rec Recorder }

var byName = func() map[string]Probe {
	m := map[string]Probe{}
	for _, p := range Probes() {
		m[p.Name] = p
	}
	return m
}()

func (p *Plugin) run(k hostabi.Kong, phase hostabi.Phase) {
	if pr, ok := byName[k.Request().Header(ProbeHeader)]; ok {
		pr.Perform(k, phase, p.Rec)
	}
}

// Rewrite implements hostabi.Rewriter.
func (p *Plugin) Rewrite(k hostabi.Kong) error { p.run(k, hostabi.PhaseRewrite); return nil }

// Access implements hostabi.Accessor.
func (p *Plugin) Access(k hostabi.Kong) error { p.run(k, hostabi.PhaseAccess); return nil }

// Response implements hostabi.Responder.
func (p *Plugin) Response(k hostabi.Kong) error { p.run(k, hostabi.PhaseResponse); return nil }

// HeaderFilter implements hostabi.HeaderFilterer.
func (p *Plugin) HeaderFilter(k hostabi.Kong) error {
	p.run(k, hostabi.PhaseHeaderFilter)
	return nil
}

// BodyFilter implements hostabi.BodyFilterer; it passes the chunk on.
func (p *Plugin) BodyFilter(k hostabi.Kong, chunk []byte, _ bool) ([]byte, error) {
	p.run(k, hostabi.PhaseBodyFilter)
	return chunk, nil
}

// Log implements hostabi.LogPhaser.
func (p *Plugin) Log(k hostabi.Kong) error { p.run(k, hostabi.PhaseLog); return nil }

// MemRecorder is a Recorder in memory, safe for concurrent use.
type MemRecorder struct {
	mu    sync.Mutex
	calls map[string]*record
}

type record struct {
	returned bool
	observed string
}

// NewRecorder returns an empty MemRecorder.
func NewRecorder() *MemRecorder { return &MemRecorder{calls: map[string]*record{}} }

// Called implements Recorder.
func (r *MemRecorder) Called(probe string) {
	r.mu.Lock()
	r.calls[probe] = &record{}
	r.mu.Unlock()
}

// Returned implements Recorder.
func (r *MemRecorder) Returned(probe, observed string) {
	r.mu.Lock()
	if c := r.calls[probe]; c != nil {
		c.returned, c.observed = true, observed
	}
	r.mu.Unlock()
}

// Result reports what the recorder saw of a probe.
func (r *MemRecorder) Result(probe string) (called, returned bool, observed string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.calls[probe]; c != nil {
		return true, c.returned, c.observed
	}
	return false, false, ""
}

// Forget drops what the recorder saw of a probe.
func (r *MemRecorder) Forget(probe string) {
	r.mu.Lock()
	delete(r.calls, probe)
	r.mu.Unlock()
}

var (
	_ hostabi.Rewriter       = (*Plugin)(nil)
	_ hostabi.Accessor       = (*Plugin)(nil)
	_ hostabi.Responder      = (*Plugin)(nil)
	_ hostabi.HeaderFilterer = (*Plugin)(nil)
	_ hostabi.BodyFilterer   = (*Plugin)(nil)
	_ hostabi.LogPhaser      = (*Plugin)(nil)
	_ Recorder               = (*MemRecorder)(nil)
)
