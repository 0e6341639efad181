package luahost

import (
	"bytes"
	"fmt"

	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// modules resolves and compiles the Lua modules of a provider's plugins:
// the lookup of a name and the compilation of a file happen once, and
// every state instantiates the cached prototype.
type modules struct {
	base      string
	d         *discovery
	templates []string

	mu     sync.Mutex
	protos map[string]*protoEntry
	// resolved caches name -> file ("" when no file provides it).
	resolved sync.Map
	// compiles counts the files compiled.
	compiles atomic.Int64
}

type protoEntry struct {
	once  sync.Once
	proto *lua.FunctionProto
	err   error
}

func newModules(base string, d *discovery, packagePath string) *modules {
	m := &modules{base: base, d: d, protos: map[string]*protoEntry{}}
	var defaults []string
	if base != "" {
		defaults = []string{filepath.Join(base, "?.lua"), filepath.Join(base, "?", "init.lua")}
	}
	if packagePath == "" {
		packagePath = ";;"
	}
	for _, t := range strings.Split(strings.ReplaceAll(packagePath, ";;", ";\x00;"), ";") {
		switch t = strings.TrimSpace(t); t {
		case "":
		case "\x00":
			m.templates = append(m.templates, defaults...)
		default:
			m.templates = append(m.templates, t)
		}
	}
	return m
}

// packagePath is package.path as Lua code sees it.
func (m *modules) packagePath() string { return strings.Join(m.templates, ";") }

// safeModuleName reports whether a module name can be mapped onto a
// plugin folder without leaving it.
func safeModuleName(name string) bool {
	if name == "" || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// resolve returns the file of a module: rockspec module maps, the plugin
// layouts, then the lua_package_path templates; "" when none has it.
func (m *modules) resolve(name string) string {
	if v, ok := m.resolved.Load(name); ok {
		return v.(string)
	}
	p := m.lookup(name)
	m.resolved.Store(name, p)
	return p
}

func (m *modules) lookup(name string) string {
	if p, ok := m.d.modules[name]; ok && isFile(p) {
		return p
	}
	if safeModuleName(name) {
		if rest, ok := strings.CutPrefix(name, "kong.plugins."); ok {
			if plugin, sub, ok := strings.Cut(rest, "."); ok {
				if dir, ok := m.d.folders[plugin]; ok {
					if p := fileIn(dir, sub); p != "" {
						return p
					}
				}
			}
		}
		for _, root := range m.d.roots {
			if p := fileIn(root, name); p != "" {
				return p
			}
		}
	}
	slashed := strings.ReplaceAll(name, ".", string(filepath.Separator))
	for _, t := range m.templates {
		p := strings.ReplaceAll(t, "?", slashed)
		if isFile(p) {
			return p
		}
	}
	return ""
}

// fileIn returns dir/a/b.lua or dir/a/b/init.lua for the module a.b.
func fileIn(dir, name string) string {
	p := filepath.Join(dir, filepath.FromSlash(strings.ReplaceAll(name, ".", "/")))
	if isFile(p + ".lua") {
		return p + ".lua"
	}
	if isFile(filepath.Join(p, "init.lua")) {
		return filepath.Join(p, "init.lua")
	}
	return ""
}

// proto returns the compiled prototype of a file, compiling it on first
// use.
func (m *modules) proto(path string) (*lua.FunctionProto, error) {
	m.mu.Lock()
	e, ok := m.protos[path]
	if !ok {
		e = &protoEntry{}
		m.protos[path] = e
	}
	m.mu.Unlock()
	e.once.Do(func() {
		m.compiles.Add(1)
		e.proto, e.err = compileFile(path, m.chunkName(path))
	})
	return e.proto, e.err
}

// chunkName names a file in tracebacks: relative to the plugins folder
// when inside it.
func (m *modules) chunkName(path string) string {
	if m.base != "" {
		return rel(m.base, path)
	}
	return path
}

// compileFile parses and compiles one Lua file.
func compileFile(path, chunk string) (*lua.FunctionProto, error) {
	src, err := readLimited(path, maxModuleSize)
	if err != nil {
		return nil, err
	}
	return compileSource(src, chunk)
}

func compileSource(src []byte, chunk string) (*lua.FunctionProto, error) {
	if bytes.HasPrefix(src, []byte("#")) { // a shebang line, as lua(1) skips it
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			src = append([]byte("--"), src[i:]...)
		} else {
			src = nil
		}
	}
	stmts, err := parse.Parse(bytes.NewReader(src), chunk)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", chunk, err)
	}
	proto, err := lua.Compile(stmts, chunk)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", chunk, err)
	}
	return proto, nil
}

// loader is the package.loaders entry that finds modules in the plugins
// folder and lua_package_path.
func (m *modules) loader(L *lua.LState) int {
	name := L.CheckString(1)
	p := m.resolve(name)
	if p == "" {
		L.Push(lua.LString(fmt.Sprintf("no file for module '%s' in lua_plugins_dir, rockspecs or lua_package_path", name)))
		return 1
	}
	proto, err := m.proto(p)
	if err != nil {
		L.RaiseError("error loading module '%s' from file '%s':\n\t%v", name, m.chunkName(p), err)
	}
	L.Push(L.NewFunctionFromProto(proto))
	return 1
}
