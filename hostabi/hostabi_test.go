package hostabi_test

import (
	"os"
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

// TestABIDocMatchesTable: the phase table in ABI.md is the table in code,
// row for row, and the version in its title is Version.
func TestABIDocMatchesTable(t *testing.T) {
	raw, err := os.ReadFile("ABI.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	if !strings.HasPrefix(doc, "# Gatehouse host ABI, version "+hostabi.Version+"\n") {
		t.Errorf("ABI.md's title does not name version %s", hostabi.Version)
	}
	documented := map[string]string{}
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "| `kong.") {
			cells := strings.Split(line, "|")
			documented[strings.Trim(strings.TrimSpace(cells[1]), "`")] = strings.TrimSpace(cells[2])
		}
	}
	ops := hostabi.Operations()
	for _, op := range ops {
		want := op.Phases.String()
		if op.Phases == hostabi.AllPhases {
			want = "all"
		}
		if got, ok := documented[op.Name]; !ok || got != want {
			t.Errorf("ABI.md: %s is %q, the table says %q", op.Name, got, want)
		}
	}
	if len(documented) != len(ops) {
		t.Errorf("ABI.md lists %d operations, the table %d", len(documented), len(ops))
	}
}
