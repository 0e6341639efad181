// Package wasmbuild compiles Go guest sources to Wasm modules for tests and
// examples: `GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared`, into a
// cache directory keyed by the content of the sources and of every non-
// standard package they import, so a test run builds each guest once and
// later runs reuse it. It runs the go command found in GOROOT or PATH.
package wasmbuild

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// CacheDirEnv names the environment variable that overrides the cache
// directory (default: the user cache directory's gatehouse-wasm/build).
const CacheDirEnv = "GATEHOUSE_WASM_BUILD_CACHE"

// CacheDir returns the directory built modules are kept in, creating it.
func CacheDir() (string, error) {
	dir := os.Getenv(CacheDirEnv)
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "gatehouse-wasm", "build")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("wasmbuild: cache directory: %w", err)
	}
	return dir, nil
}

// CompilationCacheDir returns a directory for wazero's compilation cache
// shared by tests (beside the build cache), creating it.
func CompilationCacheDir() (string, error) {
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	cc := filepath.Join(filepath.Dir(dir), "compiled")
	if err := os.MkdirAll(cc, 0o755); err != nil {
		return "", fmt.Errorf("wasmbuild: compilation cache directory: %w", err)
	}
	return cc, nil
}

var (
	mu       sync.Mutex
	inflight = map[string]*build{}
)

type build struct {
	done chan struct{}
	path string
	err  error
}

// Build compiles the Go main package in dir (a directory holding a
// `package main` with //go:wasmexport functions) to a Wasm module and
// returns the module's path in the cache. Concurrent builds of one
// directory in a process share one go build; the module is written
// atomically, so concurrent test processes may share the cache.
func Build(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("wasmbuild: %w", err)
	}
	mu.Lock()
	if b, ok := inflight[abs]; ok {
		mu.Unlock()
		<-b.done
		return b.path, b.err
	}
	b := &build{done: make(chan struct{})}
	inflight[abs] = b
	mu.Unlock()
	b.path, b.err = buildDir(abs)
	close(b.done)
	if b.err != nil {
		mu.Lock()
		delete(inflight, abs) // a later call tries again
		mu.Unlock()
	}
	return b.path, b.err
}

func goCommand() string {
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return "go"
}

func wasmEnv() []string {
	env := os.Environ()
	out := env[:0:0]
	for _, e := range env {
		if strings.HasPrefix(e, "GOOS=") || strings.HasPrefix(e, "GOARCH=") || strings.HasPrefix(e, "CGO_ENABLED=") {
			continue
		}
		out = append(out, e)
	}
	return append(out, "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
}

func buildDir(dir string) (string, error) {
	key, err := contentKey(dir)
	if err != nil {
		return "", err
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	out := filepath.Join(cache, filepath.Base(dir)+"-"+key[:24]+".wasm")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	tmp, err := os.CreateTemp(cache, "build-*.wasm")
	if err != nil {
		return "", fmt.Errorf("wasmbuild: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.Command(goCommand(), "build", "-buildmode=c-shared", "-trimpath", "-o", tmp.Name(), ".")
	cmd.Dir = dir
	cmd.Env = wasmEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("wasmbuild: go build in %s: %v\n%s", dir, err, stderr.String())
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return "", fmt.Errorf("wasmbuild: %w", err)
	}
	return out, nil
}

// contentKey hashes the Go version and the files of every non-standard
// package the main package in dir depends on (itself included).
func contentKey(dir string) (string, error) {
	cmd := exec.Command(goCommand(), "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", ".")
	cmd.Dir = dir
	cmd.Env = wasmEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	listed, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("wasmbuild: go list in %s: %v\n%s", dir, err, stderr.String())
	}
	dirs := strings.Fields(string(listed))
	sort.Strings(dirs)
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", runtime.Version())
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			return "", fmt.Errorf("wasmbuild: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			name := e.Name()
			if !strings.HasSuffix(name, ".go") && name != "go.mod" && name != "go.sum" {
				continue
			}
			f, err := os.Open(filepath.Join(d, name))
			if err != nil {
				return "", fmt.Errorf("wasmbuild: %w", err)
			}
			fmt.Fprintf(h, "%s/%s\n", d, name)
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return "", fmt.Errorf("wasmbuild: %w", err)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
