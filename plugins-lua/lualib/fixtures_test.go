package lualib

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFixtures runs every testdata/*.lua script in a fresh state; each
// asserts its own expectations and returns "ok".
func TestFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/*.lua")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			L := newState(t, Options{Dicts: NewDicts(map[string]int64{"counters": 1 << 20})})
			if got := eval(t, L, string(src)); got != "ok" {
				t.Fatalf("got %q", got)
			}
		})
	}
}

// TestPreloadAll requires every module Preload registers.
func TestPreloadAll(t *testing.T) {
	L := newState(t, Options{})
	names := ModuleNames()
	if len(names) < 20 {
		t.Fatalf("only %d modules", len(names))
	}
	for _, name := range names {
		if err := L.DoString(`local m = require("` + name + `") assert(type(m) == "table")`); err != nil {
			t.Errorf("require %s: %v", name, err)
		}
	}
}

// TestGoPanicBecomesLuaError checks the wrapper's recovery.
func TestGoPanicBecomesLuaError(t *testing.T) {
	L := newState(t, Options{})
	L.SetGlobal("boom", L.NewFunction(wrap("boom", func(c *call) int { panic("kaput") })))
	msg := evalErr(t, L, `boom()`)
	if msg != "<string>:1: boom: internal error: kaput" {
		t.Fatalf("got %q", msg)
	}
}
