// Package conformance_test enforces the repository's conventions.
package conformance_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/admin"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
)

const pluginsImport = "github.com/gatehouse/gatehouse/runtime/plugins/"

// TestPluginFolders: every native plugin folder has its implementation,
// schema, README and tests, as runtime/plugins' convention says; a folder
// with only an entities.go declares a plugin's entities ahead of its
// handler; shared helper packages (neither) are exempt but still need
// tests. runtime/plugins/bundle imports exactly the plugin and entity
// folders, so the `bundled` list is the folder list.
func TestPluginFolders(t *testing.T) {
	root := filepath.Join("..", "runtime", "plugins")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	plugins := 0
	var want []string
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
		if has["entities.go"] && !has["schema.go"] {
			want = append(want, e.Name())
			continue // a plugin's entities only; its handler comes later
		}
		if !has["schema.go"] {
			continue // a shared helper package, not a plugin
		}
		plugins++
		want = append(want, e.Name())
		for _, want := range []string{e.Name() + ".go", "README.md"} {
			if !has[want] {
				t.Errorf("plugin %s lacks %s", e.Name(), want)
			}
		}
	}
	if plugins == 0 {
		t.Fatal("found no plugin folders")
	}
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, "bundle", "bundle.go"), nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if !strings.HasPrefix(p, pluginsImport) {
			t.Errorf("bundle imports %s, not a plugin folder", p)
			continue
		}
		got = append(got, strings.TrimPrefix(p, pluginsImport))
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("bundle links %v, the plugin folders are %v", got, want)
	}
}

// corePackages are the folders that must work with any set of plugins: they
// may not name a bundled plugin or an entity a plugin owns.
var corePackages = []string{
	"store", "store/schema", "store/declarative", "store/sqlite", "store/postgres", "store/sqlstore",
	"runtime/admin", "runtime/proxy", "runtime/chain", "runtime/snapshot", "runtime/app",
	"sdk/plugintest", "hostabi",
}

// pluginWords returns the names a core package must not spell: every
// bundled plugin and entity owner, and the name, Admin API paths and
// kong.yml key of every entity they own.
func pluginWords() map[string]string {
	words := map[string]string{}
	for _, n := range plugin.Bundled() {
		words[n] = "plugin " + n
	}
	for _, n := range plugin.EntityOwners() {
		words[n] = "plugin " + n
	}
	for _, e := range plugin.LinkedEntities() {
		for _, w := range []string{e.Name, e.Path, e.NestedSegment(), e.DeclarativeKey} {
			if w != "" {
				words[w] = "entity " + e.Name
			}
		}
	}
	return words
}

var wordSplit = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// namedPlugins reports the string literals of one Go file that spell a word
// of words (as a whole token: "acls" in "/consumers/{c}/acls" counts, "acl"
// in "oracle" does not). Comments are not looked at.
func namedPlugins(src []byte, words map[string]string) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "src.go", src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		if imp, ok := n.(*ast.ImportSpec); ok {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, pluginsImport) {
				out = append(out, fset.Position(imp.Pos()).String()+": imports "+p)
			}
			return false
		}
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			return true
		}
		for _, tok := range wordSplit.Split(s, -1) {
			if what, bad := words[tok]; bad {
				out = append(out, fmt.Sprintf("%s: %q names %s", fset.Position(lit.Pos()), s, what))
			}
		}
		return true
	})
	return out, nil
}

// TestCorePackagesNameNoPlugin: a plugin's entities and behaviour come from
// its declaration, so no core package spells a bundled plugin's name or one
// of its entities outside comments and tests (store/storetest, the shared
// store test suite, exercises the bundled credentials on purpose).
func TestCorePackagesNameNoPlugin(t *testing.T) {
	words := pluginWords()
	for _, w := range []string{"key-auth", "keyauth_credentials", "acls", "jwt_secrets", "basic-auths"} {
		if words[w] == "" {
			t.Fatalf("%q is not among the plugin words %v: the registry lost a bundled plugin", w, words)
		}
	}
	for _, pkg := range corePackages {
		dir := filepath.Join("..", filepath.FromSlash(pkg))
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files (%v)", pkg, err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			found, err := namedPlugins(src, words)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			for _, f := range found {
				t.Errorf("%s: %s", file, f)
			}
		}
	}
}

// TestNamedPluginsCatches: the check above finds what it is meant to find.
func TestNamedPluginsCatches(t *testing.T) {
	words := map[string]string{"key-auth": "plugin key-auth", "acls": "entity acls"}
	for _, c := range []struct {
		src  string
		want int
	}{
		{"package p\n// key-auth and acls in a comment are fine\nvar x = 1\n", 0},
		{"package p\nvar x = \"key-auth\"\n", 1},
		{"package p\nvar x = \"/consumers/{c}/acls\"\n", 1},
		{"package p\nvar x = `monkey-authors racls`\n", 0},
		{"package p\nimport _ \"github.com/gatehouse/gatehouse/runtime/plugins/anything\"\n", 1},
		{"package p\nfunc f() { switch s := \"\"; s { case \"acls\", \"key-auth\": } }\n", 2},
	} {
		got, err := namedPlugins([]byte(c.src), words)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != c.want {
			t.Errorf("%q: found %v, want %d findings", c.src, got, c.want)
		}
	}
}

// TestBundledPluginsReportKongsVersion: as in Kong, every bundled plugin
// carries the version of the release (kong_meta.version), which is the
// version `GET /` reports.
func TestBundledPluginsReportKongsVersion(t *testing.T) {
	if plugin.BundledVersion != admin.KongVersion {
		t.Fatalf("plugin.BundledVersion %s, admin.KongVersion %s", plugin.BundledVersion, admin.KongVersion)
	}
	cat, err := plugin.NewCatalog([]string{"bundled"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range cat.Definitions() {
		if d.Version != admin.KongVersion {
			t.Errorf("%s reports version %q, want %s", d.Name, d.Version, admin.KongVersion)
		}
	}
}

// TestPluginsHaveAccessBenchmarks: every plugin folder (one with a
// schema.go) has a Benchmark of its access phase (BenchmarkAccess), or of
// the phase it does its work in for plugins without an access phase
// (BenchmarkHeaderFilter, BenchmarkBodyFilter, BenchmarkLog).
func TestPluginsHaveAccessBenchmarks(t *testing.T) {
	root := filepath.Join("..", "runtime", "plugins")
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	bench := regexp.MustCompile(`(?m)^func Benchmark(Access|HeaderFilter|BodyFilter|Log)\b`)
	for _, d := range dirs {
		dir := filepath.Join(root, d.Name())
		if _, err := os.Stat(filepath.Join(dir, "schema.go")); err != nil {
			continue
		}
		tests, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
		found := false
		for _, f := range tests {
			src, err := os.ReadFile(f)
			if err == nil && bench.Match(src) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("plugin %s has no BenchmarkAccess (or BenchmarkHeaderFilter/BodyFilter/Log)", d.Name())
		}
	}
}
