package luahost

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	lua "github.com/yuin/gopher-lua"
)

// TestTypedPhases: the wrapper of every phase mask implements exactly
// the phase interfaces of its bits.
func TestTypedPhases(t *testing.T) {
	in := &instance{}
	for mask := 0; mask < 64; mask++ {
		v := typed(in, mask)
		has := []bool{
			implements[hostabi.Rewriter](v), implements[hostabi.Accessor](v), implements[hostabi.Responder](v),
			implements[hostabi.HeaderFilterer](v), implements[hostabi.BodyFilterer](v), implements[hostabi.LogPhaser](v),
		}
		for bit, ok := range has {
			if ok != (mask&(1<<bit) != 0) {
				t.Errorf("mask %06b: phase bit %d implemented = %v", mask, bit, ok)
			}
		}
		if implements[hostabi.BodyWanter](v) {
			t.Errorf("mask %06b: a BodyWanter", mask)
		}
	}
}

func implements[I any](v any) bool { _, ok := v.(I); return ok }

// TestCompareVersions: luarocks version order.
func TestCompareVersions(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"1.2-0", "1.10-0", -1}, {"1.0-1", "1.0-0", 1}, {"2.0-0", "2.0-0", 0}, {"1.0.1-0", "1.0-0", 1}, {"scm-1", "1.0-0", 1},
	}
	for _, c := range cases {
		if got := compareVersions(c.a, c.b); got != c.want {
			t.Errorf("compare(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// TestPackagePath: ";;" inserts the default templates; resolution order
// is rockspecs, layouts, templates.
func TestPackagePath(t *testing.T) {
	m := newModules("/plugins", &discovery{modules: map[string]string{}, folders: map[string]string{}}, "/a/?.lua;;/b/?.lua")
	want := "/a/?.lua;/plugins/?.lua;/plugins/?/init.lua;/b/?.lua"
	if got := m.packagePath(); got != want {
		t.Errorf("package.path = %q, want %q", got, want)
	}
	if m := newModules("", &discovery{}, ""); m.packagePath() != "" {
		t.Errorf("no plugins dir, no path: %q", m.packagePath())
	}
}

// TestCompiledOnce: new states instantiate the cached prototypes; no
// file is compiled (or read) again.
func TestCompiledOnce(t *testing.T) {
	h, err := New(Options{PluginsDir: "testdata/plugins", PoolSize: 3, Names: []string{"crafter"},
		Install: func(L *lua.LState) (Binder, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	p := h.plugins[0]
	before := h.mods.compiles.Load()
	if before < 4 { // handler, util, schema, daos
		t.Fatalf("%d files compiled at load", before)
	}
	var states []*state
	for i := 0; i < 3; i++ {
		st, err := p.pool.get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		states = append(states, st)
	}
	if states[0] == states[1] || states[1] == states[2] || states[0].L == states[2].L {
		t.Fatal("states shared")
	}
	if _, err := requireModule(states[2].L, "kong.plugins.crafter.schema"); err != nil {
		t.Fatal(err)
	}
	if after := h.mods.compiles.Load(); after != before {
		t.Errorf("compiled %d files for new states", after-before)
	}
	for _, st := range states {
		p.pool.put(st)
	}
}
