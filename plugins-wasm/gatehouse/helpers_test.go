package gatehouse

import (
	"context"
	"os"
	"testing"

	"github.com/gatehouse/gatehouse/plugins-wasm/wasmbuild"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
)

// loadGuest builds testdata/<dir>, compiles it on a runtime with the given
// options and loads it as a Gatehouse plugin.
func loadGuest(t testing.TB, dir string, opts wasmhost.Options) *Plugin {
	t.Helper()
	p, err := tryLoadGuest(t, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tryLoadGuest(t testing.TB, dir string, opts wasmhost.Options) (*Plugin, error) {
	t.Helper()
	path, err := wasmbuild.Build("testdata/" + dir)
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if opts.CacheDir == "" {
		if opts.CacheDir, err = wasmbuild.CompilationCacheDir(); err != nil {
			t.Fatal(err)
		}
	}
	rt, err := wasmhost.NewRuntime(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	m, err := rt.Compile(context.Background(), dir, wasm)
	if err != nil {
		t.Fatal(err)
	}
	return Load(context.Background(), m)
}
