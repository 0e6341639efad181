package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins-wasm/wasmbuild"
	"github.com/gatehouse/gatehouse/runtime/config"
)

// TestWasmProviderSettings: the node's wasm_* settings reach the Wasm
// provider: wasm_plugin_priorities overrides the guest's priority and
// names no served plugin with a warning; a wasm_grant_dir that is not a
// directory fails the start; with no Wasm plugin there is no provider and
// the priorities are reported as ignored.
func TestWasmProviderSettings(t *testing.T) {
	built, err := wasmbuild.Build("../../plugins-wasm/gatehouse/testdata/basic")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(built)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "basic.wasm"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	load := func(flags map[string]string) *config.Config {
		t.Helper()
		flags["prefix"] = t.TempDir()
		flags["wasm_plugins_dir"] = dir
		c, err := config.Load(config.LoadOptions{Flags: flags})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))

	p, err := wasmProvider(load(map[string]string{"plugins": "bundled,basic", "wasm_plugin_priorities": "basic:7, ghost:1",
		"wasm_grant_env": "HOME", "wasm_grant_dir": dir}), log)
	if err != nil || p == nil {
		t.Fatalf("provider: %v", err)
	}
	defer p.Close()
	pps, err := p.Plugins()
	if err != nil || len(pps) != 1 || pps[0].Definition.Priority != 7 {
		t.Fatalf("plugins: %v %+v", err, pps)
	}
	if !strings.Contains(logged.String(), "plugin=ghost") || strings.Contains(logged.String(), "plugin=basic") {
		t.Fatalf("log: %s", logged.String())
	}

	if _, err := wasmProvider(load(map[string]string{"plugins": "basic", "wasm_grant_dir": built}), log); err == nil ||
		!strings.Contains(err.Error(), "wasm_grant_dir") {
		t.Fatalf("a file as wasm_grant_dir: %v", err)
	}

	logged.Reset()
	if p, err := wasmProvider(load(map[string]string{"plugins": "bundled", "wasm_plugin_priorities": "basic:7"}), log); p != nil || err != nil {
		t.Fatalf("no Wasm plugin enabled: %v %v", p, err)
	}
	if !strings.Contains(logged.String(), "plugin=basic") {
		t.Fatalf("log: %s", logged.String())
	}
}
