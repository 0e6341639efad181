package luahost_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	luahost "github.com/gatehouse/gatehouse/plugins-lua"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
	lua "github.com/yuin/gopher-lua"
)

// TestLayouts: every layout of testdata/plugins is found, with the
// handler's priority, version and phases.
func TestLayouts(t *testing.T) {
	h, _ := newProvider(t, nil)
	pps, err := h.Plugins()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]hostabi.Definition{}
	var names []string
	for _, pp := range pps {
		got[pp.Definition.Name] = pp.Definition
		names = append(names, pp.Definition.Name)
	}
	if want := []string{"crafter", "direct", "faulty", "installed", "modern", "sandbox", "timer-user"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("plugins %v, want %v", names, want)
	}
	cases := []struct {
		name     string
		priority int
		version  string
		phases   []hostabi.Phase
	}{
		{"crafter", 10, "1.0.0", []hostabi.Phase{hostabi.PhaseAccess, hostabi.PhaseLog}},
		{"modern", 900, "2.1.0", []hostabi.Phase{hostabi.PhaseRewrite, hostabi.PhaseAccess, hostabi.PhaseBodyFilter, hostabi.PhaseLog}},
		{"direct", 5, "0.1.0", []hostabi.Phase{hostabi.PhaseAccess}},
		{"installed", 1, "0.0.1", []hostabi.Phase{hostabi.PhaseHeaderFilter}},
	}
	for _, c := range cases {
		d := got[c.name]
		if d.Priority != c.priority || d.Version != c.version || !reflect.DeepEqual(d.Phases, c.phases) {
			t.Errorf("%s: priority %d version %q phases %v, want %d %q %v", c.name, d.Priority, d.Version, d.Phases, c.priority, c.version, c.phases)
		}
	}
	if e := got["crafter"].Entities; len(e) != 1 || e[0].Name != "crafter_keys" || e[0].AdminAPIName != "crafter-keys" ||
		e[0].EndpointKey != "key" || !reflect.DeepEqual(e[0].CacheKey, []string{"key"}) {
		t.Errorf("crafter entities: %+v", e)
	}
}

// TestNames: Options.Names restricts the plugins served; unknown names
// are left to the node.
func TestNames(t *testing.T) {
	h, _ := newProvider(t, func(o *luahost.Options) { o.Names = []string{"direct", "bundled", "key-auth"} })
	pps, _ := h.Plugins()
	if len(pps) != 1 || pps[0].Definition.Name != "direct" {
		t.Fatalf("got %d plugins", len(pps))
	}
}

// TestInstancePhases: instances implement exactly the handler's phases.
func TestInstancePhases(t *testing.T) {
	h, _ := newProvider(t, nil)
	inst := newInstance(t, h, "crafter", map[string]any{})
	if _, ok := inst.(hostabi.Accessor); !ok {
		t.Error("crafter: no Access")
	}
	if _, ok := inst.(hostabi.LogPhaser); !ok {
		t.Error("crafter: no Log")
	}
	for name, ok := range map[string]bool{
		"rewrite": implements[hostabi.Rewriter](inst), "response": implements[hostabi.Responder](inst),
		"header_filter": implements[hostabi.HeaderFilterer](inst), "body_filter": implements[hostabi.BodyFilterer](inst),
	} {
		if ok {
			t.Errorf("crafter implements %s, which only BasePlugin defines", name)
		}
	}
	modern := newInstance(t, h, "modern", map[string]any{})
	if !implements[hostabi.Rewriter](modern) || !implements[hostabi.BodyFilterer](modern) || implements[hostabi.HeaderFilterer](modern) {
		t.Errorf("modern: wrong phases %T", modern)
	}
}

func implements[I any](v any) bool { _, ok := v.(I); return ok }

// TestConfigPhases: Options.ConfigPhases narrows an instance's phases to
// those its configuration needs, per configuration.
func TestConfigPhases(t *testing.T) {
	h, _ := newProvider(t, func(o *luahost.Options) {
		o.ConfigPhases = func(plugin string, config map[string]any) hostabi.PhaseSet {
			if plugin == "modern" && config["mode"] == "terse" {
				return hostabi.Phases(hostabi.PhaseRewrite)
			}
			return hostabi.AllPhases
		}
	})
	lean := newInstance(t, h, "modern", map[string]any{"mode": "terse"})
	if !implements[hostabi.Rewriter](lean) || implements[hostabi.BodyFilterer](lean) || implements[hostabi.Accessor](lean) {
		t.Errorf("narrowed instance: wrong phases %T", lean)
	}
	full := newInstance(t, h, "modern", map[string]any{})
	if !implements[hostabi.Rewriter](full) || !implements[hostabi.BodyFilterer](full) {
		t.Errorf("full instance: wrong phases %T", full)
	}
}

// TestBasePluginAccess: a 0.x BasePlugin handler laid out with a
// rockspec changes the upstream request; the class is instantiated once
// per state and its helper module loaded once per state.
func TestBasePluginAccess(t *testing.T) {
	h, _ := newProvider(t, func(o *luahost.Options) { o.PoolSize = 1 })
	inst := newInstance(t, h, "crafter", map[string]any{"header": "x-token"})
	env := plugintest.NewEnv()
	var res *plugintest.Result
	for i := 0; i < 3; i++ {
		res = env.Run(t, inst, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/").WithHeader("X-User", "alice"))
		if res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	if got := res.UpstreamHeader("x-token"); got != "crafter:alice:28800" {
		t.Errorf("x-token = %q", got)
	}
	if got := res.UpstreamHeader("x-crafter-instances"); got != "1" {
		t.Errorf("instances = %q, want 1 (one handler() per state)", got)
	}
	if got := res.UpstreamHeader("x-util-loads"); got != "1" {
		t.Errorf("util loaded %q times, want once per state", got)
	}
	if st, _ := h.Stats("crafter"); st.Created != 1 || st.Live != 1 {
		t.Errorf("stats %+v, want one state reused", st)
	}
}

// TestExit: a call ended on purpose (Call.Exit) is a normal end.
func TestExit(t *testing.T) {
	h, _ := newProvider(t, nil)
	res := plugintest.Run(t, newInstance(t, h, "crafter", map[string]any{"mode": "exit"}), hostabi.PhaseAccess,
		plugintest.NewRequest("GET", "/").WithHeader("X-User", "bob"))
	if res.Err != nil || !res.Exited || res.Status != 200 || string(res.ExitBody) != `{"crafted":"bob"}` {
		t.Fatalf("err %v exited %v status %d body %s", res.Err, res.Exited, res.Status, res.ExitBody)
	}
}

// TestModernPhases: rewrite, access (with a helper module, init_worker's
// and configure's effects), body_filter (chunk through the Call).
func TestModernPhases(t *testing.T) {
	h, _ := newProvider(t, func(o *luahost.Options) { o.PoolSize = 1 })
	pp := plugin(t, h, "modern")
	cfg := map[string]any{"greeting": "gatehouse"}
	inst := newInstance(t, h, "modern", cfg)
	if err := pp.Factory.(hostabi.Configurer).Configure(context.Background(), []map[string]any{cfg, cfg}); err != nil {
		t.Fatal(err)
	}
	if err := pp.Factory.(hostabi.WorkerIniter).InitWorker(context.Background()); err != nil {
		t.Fatal(err)
	}
	req := plugintest.NewRequest("GET", "/")
	res := plugintest.Run(t, inst, hostabi.PhaseRewrite, req)
	if res.Err != nil || res.UpstreamHeader("x-rewrite") != "yes" {
		t.Fatalf("rewrite: %v %v", res.Err, res.Header)
	}
	res = plugintest.Run(t, inst, hostabi.PhaseAccess, req)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	for k, want := range map[string]string{"x-greeting": "hello gatehouse", "x-started": "true", "x-configured": "2", "x-limit": "60"} {
		if got := res.UpstreamHeader(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	req.ServiceBody = []byte("body")
	res = plugintest.Run(t, inst, hostabi.PhaseBodyFilter, req)
	if res.Err != nil || string(res.ResponseBody) != "BODY|eof" {
		t.Fatalf("body_filter: %v %q", res.Err, res.ResponseBody)
	}
}

// TestInstalledFolder: an installed plugin folder with a helper module.
func TestInstalledFolder(t *testing.T) {
	h, _ := newProvider(t, nil)
	res := plugintest.Run(t, newInstance(t, h, "installed", map[string]any{}), hostabi.PhaseHeaderFilter, plugintest.NewRequest("GET", "/"))
	if res.Err != nil || res.RespHeader("x-installed") != "from-folder" {
		t.Fatalf("%v %v", res.Err, res.ResponseHeader)
	}
}

// TestFaults: a Lua error fails the call with plugin, phase and
// traceback and keeps the state; a timeout and a Go panic fail it and
// discard the state; the next call works.
func TestFaults(t *testing.T) {
	h, logs := newProvider(t, func(o *luahost.Options) { o.Timeout = 50 * time.Millisecond; o.PoolSize = 1 })
	inst := newInstance(t, h, "faulty", map[string]any{})
	run := func(mode string) *plugintest.Result {
		return plugintest.Run(t, inst, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/").WithHeader("X-Mode", mode))
	}
	cases := []struct {
		mode, kind string
		discard    bool
		want       []string
	}{
		{"error", luahost.FaultError, false, []string{"lua plugin faulty, phase access", "faulty plugin exploded: on purpose", "kong/plugins/faulty/handler.lua", "stack traceback", "in function 'explode'"}},
		{"loop", luahost.FaultTimeout, true, []string{"lua plugin faulty, phase access: timeout", "lua_timeout (50ms)", "kong/plugins/faulty/handler.lua"}},
		{"pcall-loop", luahost.FaultTimeout, true, []string{"timeout"}},
		{"panic", luahost.FaultPanic, true, []string{"panic", "test panic from Go"}},
	}
	for _, c := range cases {
		before, _ := h.Stats("faulty")
		start := time.Now()
		res := run(c.mode)
		var ce *luahost.CallError
		if !errors.As(res.Err, &ce) {
			t.Fatalf("%s: error %v (%T), want a *CallError", c.mode, res.Err, res.Err)
		}
		if ce.Kind != c.kind || ce.Plugin != "faulty" || ce.Phase != hostabi.PhaseAccess {
			t.Errorf("%s: %+v", c.mode, ce)
		}
		for _, w := range c.want {
			if !strings.Contains(res.Err.Error(), w) {
				t.Errorf("%s: error lacks %q:\n%s", c.mode, w, res.Err)
			}
		}
		if time.Since(start) > 2*time.Second {
			t.Errorf("%s: took %s", c.mode, time.Since(start))
		}
		after, _ := h.Stats("faulty")
		if got := after.Discarded - before.Discarded; (got == 1) != c.discard {
			t.Errorf("%s: discarded %d states", c.mode, got)
		}
		if ok := run("none"); ok.Err != nil || ok.UpstreamHeader("x-faulty") != "fine" {
			t.Errorf("after %s: %v", c.mode, ok.Err)
		}
	}
	if !strings.Contains(logs.String(), "lua state discarded") {
		t.Errorf("no log line for discarded states:\n%s", logs)
	}
	// Exit through the binder: a normal end.
	if res := run("exit"); res.Err != nil || res.Status != 403 {
		t.Errorf("exit: %v %d", res.Err, res.Status)
	}
}

// TestPhaseErrorCause: an operation out of phase fails the call with the
// *hostabi.PhaseError as cause.
func TestPhaseErrorCause(t *testing.T) {
	h, _ := newProvider(t, nil)
	inst := newInstance(t, h, "direct", map[string]any{})
	k := plugintest.NewEnv().NewKong(plugintest.NewRequest("GET", "/"))
	k.SetPhase(hostabi.PhaseLog)
	err := inst.(hostabi.Accessor).Access(k) // access method run while the Kong says log
	var pe *hostabi.PhaseError
	if !errors.As(err, &pe) || pe.Op != hostabi.OpServiceRequestSetHeader {
		t.Fatalf("err = %v", err)
	}
}

// TestRequestDeadline: a call ends with the request's context too.
func TestRequestDeadline(t *testing.T) {
	h, _ := newProvider(t, func(o *luahost.Options) { o.Timeout = 5 * time.Second })
	inst := newInstance(t, h, "faulty", map[string]any{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	req := plugintest.NewRequest("GET", "/").WithHeader("X-Mode", "loop")
	req.Context = ctx
	start := time.Now()
	res := plugintest.Run(t, inst, hostabi.PhaseAccess, req)
	var ce *luahost.CallError
	if !errors.As(res.Err, &ce) || ce.Kind != luahost.FaultTimeout || time.Since(start) > time.Second {
		t.Fatalf("err %v after %s", res.Err, time.Since(start))
	}
}

// TestConcurrency: many goroutines share a small pool; each call gets a
// state of its own (the binder panics on a state entered twice) and its
// own request's values.
func TestConcurrency(t *testing.T) {
	h, _ := newProvider(t, func(o *luahost.Options) { o.PoolSize = 3 })
	inst := newInstance(t, h, "crafter", map[string]any{})
	env := plugintest.NewEnv()
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				user := fmt.Sprintf("u%d-%d", g, i)
				k := env.NewKong(plugintest.NewRequest("GET", "/").WithHeader("X-User", user))
				if err := plugintest.Call(k, inst, hostabi.PhaseAccess); err != nil {
					errs <- err
					return
				}
				if got, want := k.Result().UpstreamHeader("x-crafted"), "crafter:"+user+":28800"; got != want {
					errs <- fmt.Errorf("got %q, want %q", got, want)
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st, _ := h.Stats("crafter")
	if st.Created > 3 || st.Live > 3 || st.Discarded != 0 {
		t.Errorf("stats %+v, want at most 3 states", st)
	}
}

// TestSandbox: what the sandbox refuses and allows.
func TestSandbox(t *testing.T) {
	prefix := t.TempDir()
	outside := filepath.Join(t.TempDir(), "outside.txt")
	h, _ := newProvider(t, func(o *luahost.Options) { o.Prefix = prefix })
	inst := newInstance(t, h, "sandbox", map[string]any{"outside": outside, "inside": filepath.Join(prefix, "ok.txt")})
	res := plugintest.Run(t, inst, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/"))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := map[string]string{
		"x-os-execute": "refused", "x-io-popen": "refused", "x-os-exit": "refused", "x-os-remove": "refused",
		"x-loadlib": "refused", "x-debug-getinfo": "refused", "x-write-outside": "refused", "x-write-prefix": "allowed",
		"x-dofile-outside": "refused", "x-dofile-inside": "allowed", "x-os-time": "allowed", "x-traceback": "allowed",
	}
	for k, v := range want {
		if got := res.UpstreamHeader(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if _, err := os.Stat(outside); err == nil {
		t.Error("a file was written outside the prefix")
	}
	if b, err := os.ReadFile(filepath.Join(prefix, "ok.txt")); err != nil || string(b) != "ok" {
		t.Errorf("prefix write: %q %v", b, err)
	}
}

// TestValidate: the schema's Lua parts run through the factory's
// Validator with Kong's messages.
func TestValidate(t *testing.T) {
	h, _ := newProvider(t, nil)
	cases := []struct {
		plugin string
		input  map[string]any
		want   string
	}{
		{"crafter", map[string]any{"header": "x-ok"}, ""},
		{"crafter", map[string]any{"header": "bad"}, "header: header must start with x-"},
		{"crafter", map[string]any{"mode": "exit", "expires_in": 100000}, "exit mode tokens last at most a day"},
		{"modern", map[string]any{"greeting": "hi"}, ""},
		{"modern", map[string]any{"greeting": "admin"}, "greeting: the admin greeting is reserved"},
		{"modern", map[string]any{"greeting": "long greeting", "mode": "terse"}, "terse greetings are at most 5 characters"},
	}
	for _, c := range cases {
		pp := plugin(t, h, c.plugin)
		cfg := plugintest.Config(t, pluginSchema(t, pp), c.input)
		err := pp.Factory.(hostabi.Validator).Validate(cfg)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s %v: %v", c.plugin, c.input, err)
		case c.want != "" && (err == nil || err.Error() != c.want):
			t.Errorf("%s %v: %v, want %q", c.plugin, c.input, err, c.want)
		}
	}
}

// TestLoadErrors: broken plugins are refused at New with the plugin's
// name.
func TestLoadErrors(t *testing.T) {
	cases := map[string]struct {
		files map[string]string
		want  string
	}{
		"syntax":          {map[string]string{"kong/plugins/bad/handler.lua": "return {", "kong/plugins/bad/schema.lua": "return {fields={}}"}, "lua plugin bad: handler"},
		"not a table":     {map[string]string{"kong/plugins/bad/handler.lua": "return 1", "kong/plugins/bad/schema.lua": "return {fields={}}"}, "returned a number"},
		"no schema":       {map[string]string{"kong/plugins/bad/handler.lua": "return {}"}, "lua plugin bad: schema"},
		"missing helper":  {map[string]string{"kong/plugins/bad/handler.lua": "require 'kong.plugins.bad.nope' return {}", "kong/plugins/bad/schema.lua": "return {fields={}}"}, "module kong.plugins.bad.nope not found"},
		"load loop":       {map[string]string{"kong/plugins/bad/handler.lua": "while true do end", "kong/plugins/bad/schema.lua": "return {fields={}}"}, "lua plugin bad"},
		"rockspec escape": {map[string]string{"x/x-1.0-0.rockspec": `package="x" version="1.0-0" build={type="builtin",modules={["kong.plugins.bad.handler"]="../../etc/passwd"}}`}, "leaves the rockspec's folder"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, c.files)
			_, err := luahost.New(luahost.Options{PluginsDir: dir, Install: install})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

// writeFiles writes files (relative names) under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for f, src := range files {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRequireOrder: modules resolve through the plugin layouts, then
// lua_package_path, then package.preload (the Install hook's), and a
// module runs once per state.
func TestRequireOrder(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"plugins/kong/plugins/pp/handler.lua": `
local a = require "extra.lib"
local b = require "preloaded"
local c = require "kong.plugins.pp.own"
local again = require "extra.lib"
assert(a == again)
return { PRIORITY = 1, VERSION = a.v .. b.v .. c.v .. tostring(extra_lib_runs), access = function() end }`,
		"plugins/kong/plugins/pp/own.lua":    `return { v = "C" }`,
		"plugins/kong/plugins/pp/schema.lua": `return { name = "pp", fields = {} }`,
		"lib/extra/lib.lua":                  `extra_lib_runs = (extra_lib_runs or 0) + 1 return { v = "A" }`,
	})
	h, err := luahost.New(luahost.Options{
		PluginsDir:  filepath.Join(dir, "plugins"),
		PackagePath: filepath.Join(dir, "lib", "?.lua") + ";;",
		Install: func(L *lua.LState) (luahost.Binder, error) {
			preload := L.GetField(L.GetGlobal("package"), "preload").(*lua.LTable)
			L.SetField(preload, "preloaded", L.NewFunction(func(L *lua.LState) int {
				t := L.NewTable()
				t.RawSetString("v", lua.LString("B"))
				L.Push(t)
				return 1
			}))
			L.SetField(preload, "extra.lib", L.NewFunction(func(L *lua.LState) int {
				L.RaiseError("the file must win over package.preload")
				return 0
			}))
			return nil, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	pps, _ := h.Plugins()
	if len(pps) != 1 || pps[0].Definition.Version != "ABC1" {
		t.Fatalf("got %+v", pps)
	}
}

// TestCoroutines: coroutines cost no goroutine per creation, and a loop
// inside one is stopped by the timeout.
func TestCoroutines(t *testing.T) {
	// A generous limit for the calls that must finish (CI's machine is
	// loaded), a short one for the loop that must be stopped.
	h, _ := newProvider(t, func(o *luahost.Options) { o.Timeout = 10 * time.Second; o.PoolSize = 1 })
	inst := newInstance(t, h, "faulty", map[string]any{})
	short, _ := newProvider(t, func(o *luahost.Options) { o.Timeout = 50 * time.Millisecond; o.PoolSize = 1 })
	shortInst := newInstance(t, short, "faulty", map[string]any{})
	run := func(mode string) *plugintest.Result {
		i := inst
		if mode == "coroutine-loop" {
			i = shortInst
		}
		return plugintest.Run(t, i, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/").WithHeader("X-Mode", mode))
	}
	run("coroutines")
	before := runtime.NumGoroutine()
	for i := 0; i < 20; i++ {
		if res := run("coroutines"); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	if after := runtime.NumGoroutine(); after > before+5 {
		t.Errorf("goroutines grew from %d to %d over 1000 coroutines", before, after)
	}
	res := run("coroutine-loop")
	var ce *luahost.CallError
	if !errors.As(res.Err, &ce) || ce.Kind != luahost.FaultTimeout {
		t.Fatalf("coroutine loop: %v", res.Err)
	}
}

// TestSymlinkedProject: a project linked into the plugins folder loads.
func TestSymlinkedProject(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"elsewhere/kong/plugins/linked/handler.lua": `return { PRIORITY = 2, VERSION = "l", access = function() end }`,
		"elsewhere/kong/plugins/linked/schema.lua":  `return { name = "linked", fields = {} }`,
	})
	if err := os.MkdirAll(filepath.Join(dir, "plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "elsewhere"), filepath.Join(dir, "plugins", "linked-project")); err != nil {
		t.Fatal(err)
	}
	h, err := luahost.New(luahost.Options{PluginsDir: filepath.Join(dir, "plugins"), Install: install})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	pps, _ := h.Plugins()
	if len(pps) != 1 || pps[0].Definition.Name != "linked" {
		t.Fatalf("got %+v", pps)
	}
}
