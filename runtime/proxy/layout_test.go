package proxy

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNothingOfTheAdminAPI: the proxy shares body decoding with the
// Admin API through runtime/internal/reqbody, and depends on no package of the Admin
// API, directly or through another package.
func TestImportsNothingOfTheAdminAPI(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 || deps[len(deps)-1] != "github.com/gatehouse/gatehouse/runtime/proxy" {
		t.Fatalf("go list -deps listed %d packages, ending %q", len(deps), deps[len(deps)-1:])
	}
	for _, p := range deps {
		if p == "github.com/gatehouse/gatehouse/runtime/admin" || strings.HasPrefix(p, "github.com/gatehouse/gatehouse/runtime/admin/") {
			t.Errorf("runtime/proxy depends on %s", p)
		}
	}
}
