package wasmbuild

import (
	"bytes"
	"os"
	"testing"
)

// TestBuildCachesByContent: a build yields a Wasm module, and a second
// build of the same sources returns the same cached file without
// rebuilding it.
func TestBuildCachesByContent(t *testing.T) {
	t.Setenv(CacheDirEnv, t.TempDir())
	inflight = map[string]*build{} // an earlier run's result names another cache dir
	p1, err := Build("testdata/hello")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\x00asm")) {
		t.Fatalf("%s is not a Wasm module", p1)
	}
	st1, _ := os.Stat(p1)
	inflight = map[string]*build{} // forget the in-process result
	p2, err := Build("testdata/hello")
	if err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(p2)
	if p1 != p2 || !st1.ModTime().Equal(st2.ModTime()) {
		t.Fatalf("second build %s (%v) is not the cached %s (%v)", p2, st2.ModTime(), p1, st1.ModTime())
	}
}

// TestBuildReportsCompileErrors: a guest that does not compile is an error
// carrying the compiler's message.
func TestBuildReportsCompileErrors(t *testing.T) {
	t.Setenv(CacheDirEnv, t.TempDir())
	dir := t.TempDir()
	os.WriteFile(dir+"/go.mod", []byte("module broken\n\ngo 1.24\n"), 0o644)
	os.WriteFile(dir+"/main.go", []byte("package main\nfunc main() { undefined() }\n"), 0o644)
	_, err := Build(dir)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("undefined")) {
		t.Fatalf("err = %v, want the compiler's message", err)
	}
}
