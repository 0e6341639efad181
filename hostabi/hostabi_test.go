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
		if strings.HasPrefix(line, "| `kong.") || strings.HasPrefix(line, "| `ngx.") {
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

// TestABIDocListsPhases: the phases table of ABI.md has one row per phase,
// in order, each naming its Go interface.
func TestABIDocListsPhases(t *testing.T) {
	raw, err := os.ReadFile("ABI.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(raw)
	start := strings.Index(section, "## Phases\n")
	if start < 0 {
		t.Fatal("ABI.md has no Phases section")
	}
	section = section[start:]
	section = section[:strings.Index(section[1:], "\n## ")+1]
	var rows [][]string
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| phase ") {
			cells := strings.Split(line, "|")
			rows = append(rows, []string{strings.TrimSpace(cells[1]), strings.TrimSpace(cells[2])})
		}
	}
	interfaces := map[hostabi.Phase]string{
		hostabi.PhaseRewrite: "Rewriter", hostabi.PhaseAccess: "Accessor", hostabi.PhaseResponse: "Responder",
		hostabi.PhaseHeaderFilter: "HeaderFilterer", hostabi.PhaseBodyFilter: "BodyFilterer", hostabi.PhaseLog: "LogPhaser",
		hostabi.PhaseInitWorker: "WorkerIniter", hostabi.PhaseConfigure: "Configurer",
	}
	all := (hostabi.AllPhases | hostabi.PluginPhases).List()
	if len(rows) != len(all) {
		t.Fatalf("ABI.md lists %d phases %v, the code %d", len(rows), rows, len(all))
	}
	for i, p := range all {
		if rows[i][0] != p.String() || !strings.Contains(rows[i][1], "`"+interfaces[p]+"`") {
			t.Errorf("ABI.md phase row %d is %q, want %s with %s", i, rows[i], p, interfaces[p])
		}
	}
	for _, op := range hostabi.Operations() {
		if op.Phases&hostabi.PluginPhases != 0 {
			t.Errorf("%s is allowed in %s, which get no Kong", op.Name, op.Phases&hostabi.PluginPhases)
		}
	}
}
