package gatehouse

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// TestBasicGuest: describe gives the definition, configure reads the
// configuration (and may refuse it), access reads two headers and writes
// one upstream header, header_filter sets a response header.
func TestBasicGuest(t *testing.T) {
	p := loadGuest(t, "basic", wasmhost.Options{})
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
