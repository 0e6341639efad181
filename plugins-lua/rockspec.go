package luahost

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// MaxRockspecSize bounds the rockspec files ReadRockspec accepts.
const MaxRockspecSize = 1 << 20

// rockspecTimeout bounds the evaluation of one rockspec (a loop in one
// ends there; a loaded machine under -race takes over 100 ms for a sound
// one, so the bound is wide: it is paid at start only).
const rockspecTimeout = 2 * time.Second

// Rockspec is what luarocks make reads from a *.rockspec to install a
// rock's Lua modules.
type Rockspec struct {
	// Package and Version are the rock's name and version.
	Package, Version string
	// BuildType is build.type ("builtin", "none", ...; "builtin" when
	// absent).
	BuildType string
	// Modules maps module names to Lua files, relative to the folder
	// holding the rockspec, with '/' separators: build.modules (for the
	// builtin type) and build.install.lua (for every type).
	Modules map[string]string
	// Skipped lists the modules that are not a single Lua file (C
	// modules, built from sources): a Lua host cannot load them.
	Skipped []string
	// Autodetect is set for a builtin build without build.modules:
	// luarocks then finds the modules itself, in src/, lua/ or the
	// rock's folder (AutodetectModules).
	Autodetect bool
}

// ReadRockspec evaluates a rockspec the way luarocks does, as a Lua chunk
// that sets globals, in a state with the basic functions only (no io, os,
// require, load or dofile) and a deadline, and reads package, version,
// build.type, build.modules and build.install.lua. Module paths must stay
// inside the rockspec's folder. name names the chunk in errors.
func ReadRockspec(src []byte, name string) (*Rockspec, error) {
	if len(src) > MaxRockspecSize {
		return nil, fmt.Errorf("rockspec %s: larger than %d bytes", name, MaxRockspecSize)
	}
	L := lua.NewState(lua.Options{SkipOpenLibs: true, CallStackSize: 64, RegistrySize: 1024, RegistryMaxSize: 64 * 1024})
	defer L.Close()
	L.Push(L.NewFunction(lua.OpenBase))
	L.Push(lua.LString(lua.BaseLibName))
	L.Call(1, 0)
	for _, n := range []string{"dofile", "loadfile", "load", "loadstring", "require", "module", "collectgarbage", "print", "_printregs", "newproxy"} {
		L.SetGlobal(n, lua.LNil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), rockspecTimeout)
	defer cancel()
	L.SetContext(ctx)
	fn, err := L.Load(strings.NewReader(string(src)), name)
	if err != nil {
		return nil, fmt.Errorf("rockspec %s: %w", name, err)
	}
	L.Push(fn)
	if err := L.PCall(0, 0, nil); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("rockspec %s: evaluation took longer than %s", name, rockspecTimeout)
		}
		return nil, fmt.Errorf("rockspec %s: %s", name, luaMessage(err))
	}
	L.RemoveContext()
	rs := &Rockspec{Modules: map[string]string{}}
	str := func(v lua.LValue, what string) (string, error) {
		switch s := v.(type) {
		case lua.LString:
			return string(s), nil
		case *lua.LNilType:
			return "", nil
		}
		return "", fmt.Errorf("rockspec %s: %s: expected a string, got a %s", name, what, v.Type())
	}
	if rs.Package, err = str(L.GetGlobal("package"), "package"); err != nil {
		return nil, err
	}
	if rs.Version, err = str(L.GetGlobal("version"), "version"); err != nil {
		return nil, err
	}
	if rs.Package == "" {
		return nil, fmt.Errorf("rockspec %s: package: missing", name)
	}
	build, ok := L.GetGlobal("build").(*lua.LTable)
	if !ok {
		if L.GetGlobal("build") != lua.LNil {
			return nil, fmt.Errorf("rockspec %s: build: expected a table", name)
		}
		rs.BuildType = "builtin"
		rs.Autodetect = true
		return rs, nil
	}
	if rs.BuildType, err = str(build.RawGetString("type"), "build.type"); err != nil {
		return nil, err
	}
	if rs.BuildType == "" {
		rs.BuildType = "builtin"
	}
	add := func(t lua.LValue, what string) error {
		if t == lua.LNil {
			return nil
		}
		tbl, ok := t.(*lua.LTable)
		if !ok {
			return fmt.Errorf("rockspec %s: %s: expected a table", name, what)
		}
		var ferr error
		tbl.ForEach(func(k, v lua.LValue) {
			if ferr != nil {
				return
			}
			mod, ok := k.(lua.LString)
			if !ok {
				// luarocks accepts a list of files in install.lua
				// (module name from the file name); not for modules.
				ferr = fmt.Errorf("rockspec %s: %s: module names must be strings, got a %s key", name, what, k.Type())
				return
			}
			file, err := moduleFile(v)
			if err != nil {
				ferr = fmt.Errorf("rockspec %s: %s[%q]: %w", name, what, string(mod), err)
				return
			}
			if file == "" {
				rs.Skipped = append(rs.Skipped, string(mod))
				return
			}
			clean, err := cleanRel(file)
			if err != nil {
				ferr = fmt.Errorf("rockspec %s: %s[%q]: %w", name, what, string(mod), err)
				return
			}
			rs.Modules[string(mod)] = clean
		})
		return ferr
	}
	if rs.BuildType == "builtin" {
		if build.RawGetString("modules") == lua.LNil {
			rs.Autodetect = true
		}
		if err := add(build.RawGetString("modules"), "build.modules"); err != nil {
			return nil, err
		}
	}
	if inst, ok := build.RawGetString("install").(*lua.LTable); ok {
		if err := add(inst.RawGetString("lua"), "build.install.lua"); err != nil {
			return nil, err
		}
	}
	sort.Strings(rs.Skipped)
	return rs, nil
}

// moduleFile returns the Lua file a build.modules value names: a string
// path, or a list holding exactly one .lua file (luarocks' list form);
// "" for a C module (sources to compile).
func moduleFile(v lua.LValue) (string, error) {
	switch x := v.(type) {
	case lua.LString:
		s := string(x)
		if strings.HasSuffix(s, ".lua") {
			return s, nil
		}
		if strings.HasSuffix(s, ".c") {
			return "", nil
		}
		return s, nil
	case *lua.LTable:
		var luaFiles []string
		others := 0
		var ferr error
		collect := func(e lua.LValue) {
			s, ok := e.(lua.LString)
			if !ok {
				ferr = errors.New("expected a list of file names")
				return
			}
			if strings.HasSuffix(string(s), ".lua") {
				luaFiles = append(luaFiles, string(s))
			} else {
				others++
			}
		}
		if src, ok := x.RawGetString("sources").(*lua.LTable); ok {
			for i := 1; i <= src.Len(); i++ {
				collect(src.RawGetInt(i))
			}
		} else {
			for i := 1; i <= x.Len(); i++ {
				collect(x.RawGetInt(i))
			}
		}
		if ferr != nil {
			return "", ferr
		}
		if len(luaFiles) == 1 && others == 0 {
			return luaFiles[0], nil
		}
		return "", nil
	}
	return "", fmt.Errorf("expected a file name or a list of files, got a %s", v.Type())
}

// cleanRel cleans a rockspec-relative path and refuses one that leaves
// the rockspec's folder.
func cleanRel(p string) (string, error) {
	p = strings.ReplaceAll(p, "\\", "/")
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("file %q: expected a path relative to the rockspec", p)
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("file %q: leaves the rockspec's folder", p)
	}
	return c, nil
}

// luaMessage returns the message of an error raised by Lua, without the
// traceback.
func luaMessage(err error) string {
	var ae *lua.ApiError
	if errors.As(err, &ae) && ae.Object != nil {
		return ae.Object.String()
	}
	return err.Error()
}
