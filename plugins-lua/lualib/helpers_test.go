package lualib

import (
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// newState returns a fresh state with Preload and OpenNgx on a global ngx.
func newState(t testing.TB, opts Options) *lua.LState {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	Preload(L, opts)
	ngx := L.NewTable()
	OpenNgx(L, ngx, opts)
	L.SetGlobal("ngx", ngx)
	return L
}

// eval runs src (a chunk that returns values) and returns its results
// joined by "|" with tostring.
func eval(t testing.TB, L *lua.LState, src string) string {
	t.Helper()
	top := L.GetTop()
	if err := L.DoString(src); err != nil {
		t.Fatalf("lua error: %v\nsource:\n%s", err, src)
	}
	var parts []string
	for i := top + 1; i <= L.GetTop(); i++ {
		parts = append(parts, L.ToStringMeta(L.Get(i)).String())
	}
	L.SetTop(top)
	return strings.Join(parts, "|")
}

// evalErr runs src expecting a Lua error and returns its message.
func evalErr(t testing.TB, L *lua.LState, src string) string {
	t.Helper()
	err := L.DoString(src)
	if err == nil {
		t.Fatalf("no error from:\n%s", src)
	}
	if ae, ok := err.(*lua.ApiError); ok {
		return L.ToStringMeta(ae.Object).String()
	}
	return err.Error()
}

type luaCase struct {
	name string
	src  string
	want string
}

func runCases(t *testing.T, opts Options, cases []luaCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			L := newState(t, opts)
			if got := eval(t, L, c.src); got != c.want {
				t.Errorf("got  %q\nwant %q\nsource: %s", got, c.want, c.src)
			}
		})
	}
}

// fakeClock is a settable clock for Options.Now.
type fakeClock struct{ t time.Time }

func (f *fakeClock) now() time.Time          { return f.t }
func (f *fakeClock) advance(d time.Duration) { f.t = f.t.Add(d) }

func luaString(s string) lua.LString { return lua.LString(s) }
