package luahost_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	luahost "github.com/gatehouse/gatehouse/plugins-lua"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
	"github.com/gatehouse/gatehouse/store"
	lua "github.com/yuin/gopher-lua"
)

// fakeBinder is the tests' Install hook: a few globals over the bound
// request, in place of lua-pdk's kong and ngx.
type fakeBinder struct {
	k hostabi.Kong
	c *luahost.Call
	// goroutine-exclusivity check: set while a call is bound.
	busy bool
}

func (b *fakeBinder) Enter(k hostabi.Kong, c *luahost.Call) {
	if b.busy {
		panic("state entered twice")
	}
	b.busy, b.k, b.c = true, k, c
}

func (b *fakeBinder) Leave(c *luahost.Call) { b.busy, b.k, b.c = false, nil, nil }

func install(L *lua.LState) (luahost.Binder, error) {
	b := &fakeBinder{}
	set := func(name string, f func(L *lua.LState) int) {
		L.SetGlobal(name, L.NewFunction(func(L *lua.LState) int {
			defer func() {
				if r := recover(); r != nil {
					if pe, ok := r.(*hostabi.PhaseError); ok {
						b.c.Fail(pe)
					}
					panic(r)
				}
			}()
			return f(L)
		}))
	}
	set("test_set_header", func(L *lua.LState) int {
		b.k.ServiceRequest().SetHeader(L.CheckString(1), L.CheckString(2))
		return 0
	})
	set("test_set_response_header", func(L *lua.LState) int {
		b.k.Response().SetHeader(L.CheckString(1), L.CheckString(2))
		return 0
	})
	set("test_get_header", func(L *lua.LState) int {
		v := b.k.Request().Header(L.CheckString(1))
		if v == "" {
			L.Push(lua.LNil)
		} else {
			L.Push(lua.LString(v))
		}
		return 1
	})
	set("test_exit", func(L *lua.LState) int {
		b.k.Response().Exit(L.CheckInt(1), []byte(L.OptString(2, "")), nil)
		b.c.Exit()
		L.RaiseError("exit")
		return 0
	})
	set("test_chunk", func(L *lua.LState) int {
		L.Push(lua.LString(b.c.Chunk))
		L.Push(lua.LBool(b.c.EOF))
		return 2
	})
	set("test_set_chunk", func(L *lua.LState) int {
		b.c.SetChunk([]byte(L.CheckString(1)))
		return 0
	})
	set("test_panic", func(L *lua.LState) int { panic("test panic from Go") })
	return b, nil
}

// logBuffer collects the host's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newProvider loads testdata/plugins with the fake binder.
func newProvider(t testing.TB, mod func(*luahost.Options)) (*luahost.Provider, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	opts := luahost.Options{
		PluginsDir: "testdata/plugins",
		Install:    install,
		Timeout:    200 * time.Millisecond,
		PoolSize:   4,
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&opts)
	}
	h, err := luahost.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h, logs
}

// plugin returns a provided plugin by name.
func plugin(t testing.TB, h *luahost.Provider, name string) hostabi.ProvidedPlugin {
	t.Helper()
	pps, err := h.Plugins()
	if err != nil {
		t.Fatal(err)
	}
	for _, pp := range pps {
		if pp.Definition.Name == name {
			return pp
		}
	}
	t.Fatalf("plugin %s not provided", name)
	return hostabi.ProvidedPlugin{}
}

// pluginSchema loads a provided plugin's schema the way the node does.
func pluginSchema(t testing.TB, pp hostabi.ProvidedPlugin) *store.PluginSchema {
	t.Helper()
	data, err := json.Marshal(pp.Definition.Schema)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := store.PluginSchemaFromJSON(pp.Definition.Name, data)
	if err != nil {
		t.Fatalf("%s: the node refuses the converted schema: %v\n%s", pp.Definition.Name, err, data)
	}
	return ps
}

// newInstance validates input through the converted schema (and the
// factory's Validator) and creates an instance.
func newInstance(t testing.TB, h *luahost.Provider, name string, input map[string]any) any {
	t.Helper()
	pp := plugin(t, h, name)
	ps := pluginSchema(t, pp)
	cfg := plugintest.Config(t, ps, input)
	if v, ok := pp.Factory.(hostabi.Validator); ok {
		if err := v.Validate(cfg); err != nil {
			t.Fatalf("%s: Validate: %v", name, err)
		}
	}
	inst, err := pp.Factory.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}
