package luahost_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	luahost "github.com/gatehouse/gatehouse/plugins-lua"
)

// TestReadRockspec: the rockspec forms luarocks make reads.
func TestReadRockspec(t *testing.T) {
	cases := []struct {
		name, src string
		want      luahost.Rockspec
		err       string
	}{
		{"builtin", `package = "kong-plugin-jwt-crafter"
version = "1.2-0"
build = { type = "builtin", modules = {
  ["kong.plugins.jwt-crafter.handler"] = "src/handler.lua",
  ["kong.plugins.jwt-crafter.schema"] = "./src/schema.lua",
} }`, luahost.Rockspec{Package: "kong-plugin-jwt-crafter", Version: "1.2-0", BuildType: "builtin",
			Modules: map[string]string{"kong.plugins.jwt-crafter.handler": "src/handler.lua", "kong.plugins.jwt-crafter.schema": "src/schema.lua"}}, ""},
		{"computed names and list values", `local p = "x"
package = "kong-plugin-" .. p
version = "0.1.0-1"
build = { type = "builtin", modules = {
  ["kong.plugins." .. p .. ".handler"] = { "kong/plugins/x/handler.lua" },
  ["kong.plugins." .. p .. ".native"] = { sources = { "src/native.c" } },
  ["kong.plugins." .. p .. ".both"] = { "a.lua", "b.c" },
} }`, luahost.Rockspec{Package: "kong-plugin-x", Version: "0.1.0-1", BuildType: "builtin",
			Modules: map[string]string{"kong.plugins.x.handler": "kong/plugins/x/handler.lua"},
			Skipped: []string{"kong.plugins.x.both", "kong.plugins.x.native"}}, ""},
		{"install.lua with another build type", `package = "p"
version = "1.0-0"
build = { type = "none", modules = { ["ignored"] = "no.lua" }, install = { lua = { ["kong.plugins.p.handler"] = "kong/plugins/p/handler.lua" } } }`,
			luahost.Rockspec{Package: "p", Version: "1.0-0", BuildType: "none",
				Modules: map[string]string{"kong.plugins.p.handler": "kong/plugins/p/handler.lua"}}, ""},
		{"no build", `package = "p" version = "1"`, luahost.Rockspec{Package: "p", Version: "1", BuildType: "builtin", Modules: map[string]string{}, Autodetect: true}, ""},
		{"no package", `version = "1"`, luahost.Rockspec{}, "package: missing"},
		{"escape", `package = "p" build = { modules = { m = "../x.lua" } }`, luahost.Rockspec{}, "leaves the rockspec's folder"},
		{"absolute", `package = "p" build = { modules = { m = "/etc/x.lua" } }`, luahost.Rockspec{}, "relative to the rockspec"},
		{"syntax", `package = `, luahost.Rockspec{}, "rockspec t"},
		{"runtime error", `package = nil .. "x"`, luahost.Rockspec{}, "cannot perform concat"},
		{"no io", `package = "p" io.open("/etc/passwd")`, luahost.Rockspec{}, "rockspec t"},
		{"no require", `package = require("os")`, luahost.Rockspec{}, "rockspec t"},
		{"endless", `package = "p" while true do end`, luahost.Rockspec{}, "took longer than"},
		{"bad build", `package = "p" build = 3`, luahost.Rockspec{}, "build: expected a table"},
		{"bad module value", `package = "p" build = { modules = { m = 3 } }`, luahost.Rockspec{}, "expected a file name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs, err := luahost.ReadRockspec([]byte(c.src), "t")
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*rs, c.want) {
				t.Errorf("got %+v\nwant %+v", *rs, c.want)
			}
		})
	}
}

// FuzzReadRockspec: no input panics the reader or escapes the folder.
func FuzzReadRockspec(f *testing.F) {
	f.Add([]byte(`package = "p" version = "1.0-0" build = { type = "builtin", modules = { ["kong.plugins.p.handler"] = "src/h.lua" } }`))
	f.Add([]byte(`package = "p" build = { install = { lua = { m = { "a.lua" } } } }`))
	f.Add([]byte(`local t = {} for i = 1, 10 do t[i] = i end package = tostring(#t)`))
	f.Add([]byte(`package = string.rep("x", 100) build = { modules = setmetatable({}, { __index = function() error("x") end }) }`))
	f.Fuzz(func(t *testing.T, src []byte) {
		rs, err := luahost.ReadRockspec(src, "fuzz")
		if err != nil {
			return
		}
		for m, p := range rs.Modules {
			if strings.HasPrefix(p, "/") || p == ".." || strings.HasPrefix(p, "../") {
				t.Fatalf("module %s maps outside: %q", m, p)
			}
		}
	})
}

// TestAutodetect: a builtin rockspec without build.modules gets luarocks'
// module autodetection, and the plugin loads.
func TestAutodetect(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"rock/auto-1.0-0.rockspec":                    `package = "auto" version = "1.0-0" build = { type = "builtin" }`,
		"rock/src/kong/plugins/auto/handler.lua":      `return { PRIORITY = 3, VERSION = require("kong.plugins.auto.lib").v, access = function() end }`,
		"rock/src/kong/plugins/auto/lib/init.lua":     `return { v = "auto-1" }`,
		"rock/src/kong/plugins/auto/schema.lua":       `return { name = "auto", fields = {} }`,
		"rock/src/kong/plugins/auto/spec/ignored.lua": `error("not a module")`,
		"rock/spec/auto_spec.lua":                     `error("tests are not modules")`,
	})
	got := luahost.AutodetectModules(filepath.Join(dir, "rock"))
	want := map[string]string{
		"kong.plugins.auto.handler": "src/kong/plugins/auto/handler.lua",
		"kong.plugins.auto.lib":     "src/kong/plugins/auto/lib/init.lua",
		"kong.plugins.auto.schema":  "src/kong/plugins/auto/schema.lua",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v", got)
	}
	h, err := luahost.New(luahost.Options{PluginsDir: dir, Install: install})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	pps, _ := h.Plugins()
	if len(pps) != 1 || pps[0].Definition.Name != "auto" || pps[0].Definition.Version != "auto-1" {
		t.Fatalf("got %+v", pps)
	}
}
