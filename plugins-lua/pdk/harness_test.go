package pdk

import (
	"errors"
	"os"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

// prelude gives snippets an assertion helper.
const prelude = `
function eq(got, want, what)
  if got ~= want then
    error((what or "value") .. ": got " .. tostring(got) .. ", want " .. tostring(want), 2)
  end
end
`

// luaPlugin is a hostabi plugin whose every phase runs one Lua chunk on a
// state prepared with Install: Enter, call, Leave, as the Lua host does.
type luaPlugin struct {
	L  *lua.LState
	b  *Binding
	fn *lua.LFunction
	// logged collects Env.Logger lines (no request bound).
	logged []string
}

func newLuaPlugin(t testing.TB, src string, env Env) *luaPlugin {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	p := &luaPlugin{L: L}
	if env.Logger == nil {
		env.Logger = func(level, msg string) { p.logged = append(p.logged, level+": "+msg) }
	}
	b, err := Install(L, env)
	if err != nil {
		t.Fatal(err)
	}
	p.b = b
	if err := L.DoString(prelude); err != nil {
		t.Fatal(err)
	}
	fn, err := L.LoadString(src)
	if err != nil {
		t.Fatalf("compiling snippet: %v", err)
	}
	p.fn = fn
	return p
}

// fileSnippet reads testdata/name.
func fileSnippet(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (p *luaPlugin) run(k hostabi.Kong, call Call) error {
	call.Plugin = "lua-test"
	p.b.Enter(k, call)
	p.L.Push(p.fn)
	p.L.Push(lua.LString(k.Phase().String()))
	err := p.L.PCall(1, 0, nil)
	if IsExit(err) {
		err = nil
	} else if err != nil {
		p.b.Failed()
	}
	return errors.Join(err, p.b.Leave())
}

func (p *luaPlugin) Rewrite(k hostabi.Kong) error      { return p.run(k, Call{}) }
func (p *luaPlugin) Access(k hostabi.Kong) error       { return p.run(k, Call{}) }
func (p *luaPlugin) Response(k hostabi.Kong) error     { return p.run(k, Call{}) }
func (p *luaPlugin) HeaderFilter(k hostabi.Kong) error { return p.run(k, Call{}) }
func (p *luaPlugin) Log(k hostabi.Kong) error          { return p.run(k, Call{}) }
func (p *luaPlugin) BodyFilter(k hostabi.Kong, chunk []byte, eof bool) ([]byte, error) {
	err := p.run(k, Call{Chunk: chunk, EOF: eof})
	out, _ := p.b.Chunk()
	return out, err
}

// pdkCase is one table test: a snippet run in a phase on a request.
type pdkCase struct {
	name  string
	phase hostabi.Phase
	req   *plugintest.Request
	lua   string
	env   Env
	// setup prepares the plugintest Env (consumers, credentials).
	setup func(e *plugintest.Env)
	// wantErr, when set, is a substring of the plugin's error.
	wantErr string
	check   func(t *testing.T, r *plugintest.Result, p *luaPlugin)
}

func runCases(t *testing.T, cases []pdkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newLuaPlugin(t, tc.lua, tc.env)
			env := plugintest.NewEnv()
			if tc.setup != nil {
				tc.setup(env)
			}
			req := tc.req
			if req == nil {
				req = plugintest.NewRequest("GET", "/")
			}
			phase := tc.phase
			if phase == 0 {
				phase = hostabi.PhaseAccess
			}
			res := env.Run(t, p, phase, req)
			switch {
			case tc.wantErr == "" && res.Err != nil:
				t.Fatalf("unexpected error: %v", res.Err)
			case tc.wantErr != "" && res.Err == nil:
				t.Fatalf("no error, want one containing %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(res.Err.Error(), tc.wantErr):
				t.Fatalf("error %q does not contain %q", res.Err, tc.wantErr)
			}
			if tc.check != nil {
				tc.check(t, res, p)
			}
		})
	}
}

// logMsgs lists the result's log lines as "level: msg".
func logMsgs(r *plugintest.Result) []string {
	var out []string
	for _, l := range r.Logs {
		out = append(out, l.Level+": "+l.Msg)
	}
	return out
}

func hasLog(r *plugintest.Result, want string) bool {
	for _, l := range logMsgs(r) {
		if l == want {
			return true
		}
	}
	return false
}
