package wasmplugins

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
)

// leb appends v as a signed LEB128.
func leb(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func section(id byte, body []byte) []byte {
	return append(append([]byte{id}, leb(nil, int64(len(body)))...), body...)
}

func name(s string) []byte { return append([]byte{byte(len(s))}, s...) }

// versionModule is a minimal module with a memory and, unless export is
// "", a function of that name returning version.
func versionModule(export string, version uint64) []byte {
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, section(1, []byte{1, 0x60, 0, 1, 0x7e})...) // type: () -> i64
	m = append(m, section(3, []byte{1, 0})...)                // one function of type 0
	m = append(m, section(5, []byte{1, 0, 1})...)             // one memory, min 1 page
	exports := []byte{2}
	exports = append(append(exports, name(export)...), 0, 0)
	exports = append(append(exports, name("memory")...), 2, 0)
	m = append(m, section(7, exports)...)
	body := leb([]byte{0, 0x42}, int64(version)) // no locals; i64.const
	body = append(body, 0x0b)
	m = append(m, section(10, append([]byte{1}, append(leb(nil, int64(len(body))), body...)...))...)
	return m
}

// TestLoadErrors: modules the host cannot serve are refused at load with
// an error naming the file and, for a version mismatch, both versions.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name   string
		module []byte
		want   string
	}{
		{"newer-major", versionModule(hostabi.WasmExportABIVersion, hostabi.PackWasmVersion(3, 0, 0)),
			"newer-major.wasm: built for Gatehouse ABI 3.0.0; this host speaks " + hostabi.Version},
		{"older-major", versionModule(hostabi.WasmExportABIVersion, hostabi.PackWasmVersion(1, 9, 0)),
			"older-major.wasm: built for Gatehouse ABI 1.9.0; this host speaks " + hostabi.Version},
		{"newer-minor", versionModule(hostabi.WasmExportABIVersion, hostabi.PackWasmVersion(2, 99, 1)),
			"newer-minor.wasm: built for Gatehouse ABI 2.99.1; this host speaks " + hostabi.Version},
		{"no-version", versionModule("something_else", 0),
			"no-version.wasm: not a Gatehouse plugin (no gatehouse_abi_version export)"},
		{"garbage", []byte("\x00asm\x01\x00\x00\x00\xff"), "garbage.wasm: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tt.name+".wasm"), tt.module, 0o644); err != nil {
				t.Fatal(err)
			}
			p, err := New(Options{PluginsDir: dir, Names: []string{tt.name}})
			if err == nil {
				p.Close()
				t.Fatal("loaded")
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error %q, want %q", err, tt.want)
			}
		})
	}
}

// TestLoadCompatibleVersions: an older minor or patch of the same major
// loads; a module without describe gets the defaults and no phases.
func TestLoadCompatibleVersions(t *testing.T) {
	dir := t.TempDir()
	for n, v := range map[string]uint64{"old-minor": hostabi.PackWasmVersion(2, 0, 0), "same": hostabi.WasmABIVersion()} {
		if err := os.WriteFile(filepath.Join(dir, n+".wasm"), versionModule(hostabi.WasmExportABIVersion, v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := New(Options{PluginsDir: dir, Prefix: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pps, err := p.Plugins()
	if err != nil {
		t.Fatal(err)
	}
	if len(pps) != 2 || pps[0].Definition.Name != "old-minor" || pps[1].Definition.Name != "same" {
		t.Fatalf("plugins %+v", pps)
	}
	d := pps[0].Definition
	if d.Version != "0.1.0" || d.Priority != 0 || len(d.Phases) != 0 || d.Schema == nil {
		t.Fatalf("defaults %+v", d)
	}
	again, err := p.Plugins()
	if err != nil || again[0].Factory != pps[0].Factory {
		t.Fatalf("a reload of unchanged modules loads them again: %v", err)
	}
}

// TestMissingModule: a name in Names without its module is an error.
func TestMissingModule(t *testing.T) {
	_, err := New(Options{PluginsDir: t.TempDir(), Names: []string{"ghost"}})
	if err == nil || !strings.Contains(err.Error(), "wasm plugin ghost:") {
		t.Fatalf("err = %v", err)
	}
}

// TestOpen: one file loads as a provider of its plugin; a path not
// naming a .wasm file is refused.
func TestOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "one.wasm")
	if err := os.WriteFile(path, versionModule(hostabi.WasmExportABIVersion, hostabi.WasmABIVersion()), 0o644); err != nil {
		t.Fatal(err)
	}
	p, pp, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if pp.Definition.Name != "one" || pp.Factory == nil {
		t.Fatalf("%+v", pp)
	}
	if _, _, err := Open(filepath.Join(t.TempDir(), "x.txt"), Options{}); err == nil || !strings.Contains(err.Error(), "want a NAME.wasm file") {
		t.Fatalf("Open(x.txt): %v", err)
	}
}

// TestPriorityOverride: wasm_plugin_priorities replaces the priority of
// the plugins it names, after a reload too, leaves the others' and the
// rest of the definition alone, and a name the provider does not serve is
// logged once at start.
func TestPriorityOverride(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"one", "two"} {
		if err := os.WriteFile(filepath.Join(dir, n+".wasm"), versionModule(hostabi.WasmExportABIVersion, hostabi.WasmABIVersion()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plain, err := New(Options{PluginsDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	base, _ := plain.Plugins()
	var logged bytes.Buffer
	p, err := New(Options{PluginsDir: dir, Priorities: map[string]int{"one": 4242, "ghost": 3},
		Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for round := range 2 { // the second is a reload reusing the modules
		pps, err := p.Plugins()
		if err != nil {
			t.Fatal(err)
		}
		for i, pp := range pps {
			want := base[i].Definition.Priority
			if pp.Definition.Name == "one" {
				want = 4242
			}
			if pp.Definition.Priority != want || pp.Definition.Name != base[i].Definition.Name || pp.Factory == nil {
				t.Fatalf("round %d: %s priority %d, want %d", round, pp.Definition.Name, pp.Definition.Priority, want)
			}
		}
	}
	if base[0].Definition.Priority == 4242 {
		t.Fatal("the override leaked into another provider's definition")
	}
	out := logged.String()
	if strings.Count(out, "wasm_plugin_priorities") != 1 || !strings.Contains(out, "plugin=ghost") {
		t.Fatalf("log: %s", out)
	}
}
