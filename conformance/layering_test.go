package conformance_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/gatehouse/gatehouse"

// TestLayering holds ARCHITECTURE.md's dependency rules: hostabi imports
// the standard library only; store imports no runtime package and no plugin
// host; the plugin hosts import neither runtime nor store. store/storetest
// is exempt: it is the shared test suite of the backends and opens stores
// with the bundled plugins' entities.
func TestLayering(t *testing.T) {
	for _, c := range []struct {
		pkgs      string
		forbidden []string // module-relative prefixes; "" forbids every project package
		stdOnly   bool
	}{
		{pkgs: "./hostabi/...", stdOnly: true},
		{pkgs: "./store/...", forbidden: []string{"runtime", "plugins-wasm", "plugins-lua", "cmd"}},
		{pkgs: "./runtime/...", forbidden: []string{"plugins-wasm", "plugins-lua", "cmd"}},
		{pkgs: "./plugins-lua/...", forbidden: []string{"runtime", "store", "plugins-wasm", "cmd"}},
		{pkgs: "./plugins-wasm/...", forbidden: []string{"runtime", "store", "plugins-lua", "cmd"}},
	} {
		roots, err := exec.Command("go", "list", "../"+strings.TrimPrefix(c.pkgs, "./")).Output()
		if err != nil {
			t.Fatal(err)
		}
		if len(strings.Fields(string(roots))) == 0 {
			t.Fatalf("%s lists no packages", c.pkgs)
		}
		for _, root := range strings.Fields(string(roots)) {
			if strings.HasSuffix(root, "/storetest") {
				continue
			}
			deps, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}", root).Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v", root, err)
			}
			for _, line := range strings.Split(strings.TrimSpace(string(deps)), "\n") {
				path, std, _ := strings.Cut(line, " ")
				if path == root || std == "true" {
					continue
				}
				if c.stdOnly {
					t.Errorf("%s imports %s; it may import the standard library only", root, path)
					continue
				}
				rel, ours := strings.CutPrefix(path, module+"/")
				if !ours {
					continue
				}
				for _, f := range c.forbidden {
					if rel == f || strings.HasPrefix(rel, f+"/") {
						t.Errorf("%s depends on %s", root, path)
					}
				}
			}
		}
	}
}
