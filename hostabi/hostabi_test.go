package hostabi_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
)

// TestStandardLibraryOnly enforces the contract that hostabi depends on the
// standard library alone, so the guest SDK can compile it for wasip1.
func TestStandardLibraryOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/gatehouse/gatehouse/hostabi").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, ".") && dep != "github.com/gatehouse/gatehouse/hostabi" {
			t.Errorf("hostabi depends on %s", dep)
		}
	}
}

func TestPhaseNames(t *testing.T) {
	want := map[hostabi.Phase]string{hostabi.PhaseRewrite: "rewrite", hostabi.PhaseAccess: "access",
		hostabi.PhaseResponse: "response", hostabi.PhaseHeaderFilter: "header_filter",
		hostabi.PhaseBodyFilter: "body_filter", hostabi.PhaseLog: "log", hostabi.Phase(0): "", hostabi.Phase(99): "unknown"}
	for p, name := range want {
		if p.String() != name {
			t.Errorf("Phase(%d) = %q, want %q", p, p.String(), name)
		}
	}
}
