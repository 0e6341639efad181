package gatehouse

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// TestBasicGuest: describe gives the definition, configure reads the
// configuration (and may refuse it), access reads two headers and writes
// one upstream header, header_filter sets a response header.
func TestBasicGuest(t *testing.T) {
	p := loadGuest(t, "basic", wasmhost.Options{Timeout: 2 * time.Second})
	def := p.Definition()
	if def.Name != "basic" || def.Version != "1.2.3" || def.Priority != 1234 {
		t.Fatalf("definition %+v", def)
	}
	if got := hostabi.Phases(def.Phases...); got != hostabi.Phases(hostabi.PhaseAccess, hostabi.PhaseHeaderFilter) {
		t.Fatalf("phases %s", got)
	}
	inst, err := p.New(map[string]any{"prefix": "cfg"})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.(hostabi.Closer).Close()
	if _, ok := inst.(hostabi.Rewriter); ok {
		t.Fatal("the instance runs rewrite, which the guest does not export")
	}
	res := plugintest.Run(t, inst, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/x").WithHeader("X-A", "one").WithHeader("X-B", "two"))
	if got := res.UpstreamHeader("x-joined"); got != "cfg:one+two" {
		t.Fatalf("x-joined = %q", got)
	}
	res = plugintest.Run(t, inst, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/x").WithHeader("X-A", strings.Repeat("a", 1000)))
	if got := res.UpstreamHeader("x-joined"); got != "cfg:"+strings.Repeat("a", 1000)+"+-" {
		t.Fatalf("x-joined = %q", got)
	}
	if _, err := p.New(map[string]any{"prefix": "refuse"}); err == nil || err.Error() != "prefix must not be refuse" {
		t.Fatalf("refused configuration: %v", err)
	}
}

// TestCloseRetiresInstances: closing a configuration (its snapshot
// retired) closes its idle instances; an instance serving a request then
// closes when it comes back, and the configuration serves no more.
func TestCloseRetiresInstances(t *testing.T) {
	p := loadGuest(t, "basic", wasmhost.Options{Timeout: 2 * time.Second})
	inst, err := p.New(map[string]any{"prefix": "x"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := inst.(interface{ Config() *Config }).Config()
	if idle, busy := cfg.Pool().Stats(); idle != 1 || busy != 0 {
		t.Fatalf("a new configuration: idle %d busy %d", idle, busy)
	}
	held, err := cfg.Pool().Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.(hostabi.Closer).Close(); err != nil {
		t.Fatal(err)
	}
	if held.Broken() {
		t.Fatal("Close closed an instance in use")
	}
	cfg.Pool().Put(held)
	if !held.Broken() {
		t.Fatal("an instance returned after Close stayed open")
	}
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/"))
	k.SetPhase(hostabi.PhaseAccess)
	if err := inst.(hostabi.Accessor).Access(k); err == nil || !strings.Contains(err.Error(), "retired") {
		t.Fatalf("a retired configuration served: %v", err)
	}
}

// TestSlowNext: the safety net of pinning waits long only where the next
// phase may come long after the phase's context ended.
func TestSlowNext(t *testing.T) {
	R, A, H, B, L := hostabi.PhaseRewrite, hostabi.PhaseAccess, hostabi.PhaseHeaderFilter, hostabi.PhaseBodyFilter, hostabi.PhaseLog
	tests := []struct {
		phases hostabi.PhaseSet
		ph     hostabi.Phase
		want   bool
	}{
		{hostabi.Phases(A, H), A, false},
		{hostabi.Phases(A, L), A, true},
		{hostabi.Phases(A, H, L), H, true},
		{hostabi.Phases(A, L), L, false},
		{hostabi.Phases(R, A, H), R, false},
		{hostabi.Phases(R, H), R, true},
		{hostabi.Phases(R, B), R, true},
		{hostabi.Phases(R), R, false},
		{hostabi.Phases(H, B), H, false},
	}
	for _, tt := range tests {
		p := &Plugin{phases: tt.phases}
		if got := p.slowNext(tt.ph); got != tt.want {
			t.Errorf("phases %s, after %s: %v, want %v", tt.phases, tt.ph, got, tt.want)
		}
	}
}
