// Package conformance_test enforces the repository's conventions.
package conformance_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPluginFolders: every native plugin folder has its implementation,
// schema, README and tests, as runtime/plugins' convention says; shared
// helper packages (no schema) are exempt but still need tests.
func TestPluginFolders(t *testing.T) {
	root := filepath.Join("..", "runtime", "plugins")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	plugins := 0
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "bundle" {
			continue
		}
		dir := filepath.Join(root, e.Name())
		files, _ := os.ReadDir(dir)
		has := map[string]bool{}
		tests := false
		for _, f := range files {
			has[f.Name()] = true
			tests = tests || strings.HasSuffix(f.Name(), "_test.go")
		}
		if !tests {
			t.Errorf("%s has no tests", dir)
		}
		if !has["schema.go"] {
			continue // a shared helper package, not a plugin
		}
		plugins++
		for _, want := range []string{e.Name() + ".go", "README.md"} {
			if !has[want] {
				t.Errorf("plugin %s lacks %s", e.Name(), want)
			}
		}
		bundle, err := os.ReadFile(filepath.Join(root, "bundle", "bundle.go"))
		if err != nil || !strings.Contains(string(bundle), "runtime/plugins/"+e.Name()+"\"") {
			t.Errorf("plugin %s is not linked in runtime/plugins/bundle", e.Name())
		}
	}
	if plugins == 0 {
		t.Fatal("found no plugin folders")
	}
}
