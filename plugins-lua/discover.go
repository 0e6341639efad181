package luahost

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// pluginSpec is one plugin found in the plugins folder.
type pluginSpec struct {
	// Name is the plugin's name (kong.plugins.NAME.handler).
	Name string
	// Dir is the folder of the plugin's project: dofile and loadfile may
	// read inside it.
	Dir string
	// Layout says how it was found, for log lines and errors.
	Layout string
}

// layout names.
const (
	layoutRockspec = "rockspec"
	layoutProject  = "kong/plugins/NAME"
	layoutFolder   = "plugin folder"
)

// discovery is what a plugins folder holds: the plugins and where their
// modules are.
type discovery struct {
	plugins []pluginSpec
	// modules maps module names to files, from rockspecs.
	modules map[string]string
	// folders maps a plugin name to an installed plugin folder
	// (PluginsDir/NAME/handler.lua): kong.plugins.NAME.x is NAME/x.lua.
	folders map[string]string
	// roots are project folders holding kong/plugins/...: a module
	// a.b.c is ROOT/a/b/c.lua or ROOT/a/b/c/init.lua.
	roots []string
}

// discover finds the plugins of dir in the layouts of README.md.
func discover(dir string, log *slog.Logger) (*discovery, error) {
	d := &discovery{modules: map[string]string{}, folders: map[string]string{}}
	if dir == "" {
		return d, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("lua_plugins_dir %s: %w", dir, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("lua_plugins_dir: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("lua_plugins_dir %s: not a folder", dir)
	}
	seen := map[string]string{}
	add := func(p pluginSpec) {
		if prev, dup := seen[p.Name]; dup {
			log.Warn("lua plugin found twice; keeping the first", "plugin", p.Name, "kept", prev, "ignored", p.Dir)
			return
		}
		seen[p.Name] = p.Dir
		d.plugins = append(d.plugins, p)
	}
	if err := d.project(abs, abs, add); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, fmt.Errorf("lua_plugins_dir: %w", err)
	}
	for _, e := range entries {
		sub := filepath.Join(abs, e.Name())
		// Projects may be symbolic links to where they were cloned.
		if strings.HasPrefix(e.Name(), ".") || e.Name() == "kong" || !isDir(sub) {
			continue
		}
		if isFile(filepath.Join(sub, "handler.lua")) {
			d.folders[e.Name()] = sub
			add(pluginSpec{Name: e.Name(), Dir: sub, Layout: layoutFolder})
			continue
		}
		if err := d.project(abs, sub, add); err != nil {
			return nil, err
		}
	}
	sort.Slice(d.plugins, func(i, j int) bool { return d.plugins[i].Name < d.plugins[j].Name })
	return d, nil
}

// project reads one project folder: its rockspec (the newest version when
// there are several, as each names a release of the same rock) and its
// kong/plugins tree.
func (d *discovery) project(base, dir string, add func(pluginSpec)) error {
	specs, _ := filepath.Glob(filepath.Join(dir, "*.rockspec"))
	best := map[string]*Rockspec{}
	bestFile := map[string]string{}
	for _, f := range specs {
		src, err := readLimited(f, MaxRockspecSize)
		if err != nil {
			return fmt.Errorf("lua_plugins_dir: %w", err)
		}
		rs, err := ReadRockspec(src, rel(base, f))
		if err != nil {
			return err
		}
		if cur, ok := best[rs.Package]; !ok || compareVersions(rs.Version, cur.Version) > 0 {
			best[rs.Package], bestFile[rs.Package] = rs, f
		}
	}
	pkgs := make([]string, 0, len(best))
	for p := range best {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		d.addRock(dir, best[p], bestFile[p], add)
	}
	pl := filepath.Join(dir, "kong", "plugins")
	entries, err := os.ReadDir(pl)
	if err != nil {
		return nil
	}
	hasRoot := false
	for _, e := range entries {
		if e.IsDir() && isFile(filepath.Join(pl, e.Name(), "handler.lua")) {
			hasRoot = true
			pdir := dir
			if dir == base {
				pdir = filepath.Join(pl, e.Name())
			}
			add(pluginSpec{Name: e.Name(), Dir: pdir, Layout: layoutProject})
		}
	}
	if hasRoot || isDir(filepath.Join(dir, "kong")) {
		d.roots = append(d.roots, dir)
	}
	return nil
}

func (d *discovery) addRock(dir string, rs *Rockspec, file string, add func(pluginSpec)) {
	if rs.Autodetect {
		for mod, f := range AutodetectModules(dir) {
			if _, given := rs.Modules[mod]; !given {
				rs.Modules[mod] = f
			}
		}
	}
	names := []string{}
	for mod, f := range rs.Modules {
		abs := filepath.Join(dir, filepath.FromSlash(f))
		if _, dup := d.modules[mod]; !dup {
			d.modules[mod] = abs
		}
		if strings.HasPrefix(mod, "kong.plugins.") && strings.HasSuffix(mod, ".handler") {
			name := strings.TrimSuffix(strings.TrimPrefix(mod, "kong.plugins."), ".handler")
			if name != "" && !strings.Contains(name, ".") {
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	for _, n := range names {
		add(pluginSpec{Name: n, Dir: dir, Layout: layoutRockspec + " " + filepath.Base(file)})
	}
}

// compareVersions orders luarocks versions ("1.2-0" > "1.10-0" is false):
// numeric parts compare as numbers, then the revision.
func compareVersions(a, b string) int {
	split := func(v string) []string {
		return strings.FieldsFunc(v, func(r rune) bool { return r == '.' || r == '-' })
	}
	pa, pb := split(a), split(b)
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y string
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		nx, ex := strconv.Atoi(x)
		ny, ey := strconv.Atoi(y)
		switch {
		case ex == nil && ey == nil:
			if nx != ny {
				if nx < ny {
					return -1
				}
				return 1
			}
		case x != y:
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func rel(base, p string) string {
	if r, err := filepath.Rel(base, p); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return p
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// maxModuleSize bounds a Lua source file.
const maxModuleSize = 4 << 20

func readLimited(p string, limit int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: p, Err: fmt.Errorf("not a regular file")}
	}
	if st.Size() > limit {
		return nil, &fs.PathError{Op: "read", Path: p, Err: fmt.Errorf("larger than %d bytes", limit)}
	}
	return os.ReadFile(p)
}

// AutodetectModules finds a rock's Lua modules the way luarocks' builtin
// build does without build.modules: the .lua files under src/ or lua/
// when one exists (the folder is not part of the module name), else under
// the rock's folder, leaving out test and spec folders and hidden ones;
// a/b.lua is module a.b and a/init.lua is module a. Paths are relative,
// with '/'.
func AutodetectModules(dir string) map[string]string {
	out := map[string]string{}
	base := dir
	prefix := ""
	for _, sub := range []string{"src", "lua"} {
		if isDir(filepath.Join(dir, sub)) {
			base, prefix = filepath.Join(dir, sub), sub+"/"
			break
		}
	}
	filepath.WalkDir(base, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		name := e.Name()
		if e.IsDir() {
			if p != base && (strings.HasPrefix(name, ".") || name == "spec" || name == "test" || name == "tests" || name == "t") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".lua") || !e.Type().IsRegular() {
			return nil
		}
		r, err := filepath.Rel(base, p)
		if err != nil {
			return nil
		}
		r = filepath.ToSlash(r)
		mod := strings.TrimSuffix(r, ".lua")
		if mod == "init" {
			return nil
		}
		mod = strings.TrimSuffix(mod, "/init")
		if strings.HasSuffix(name, ".rockspec") || strings.Contains(mod, ".") {
			return nil
		}
		out[strings.ReplaceAll(mod, "/", ".")] = prefix + r
		return nil
	})
	return out
}
