package luavalue

import (
	"errors"
	"reflect"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

func eval(t *testing.T, L *lua.LState, src string) lua.LValue {
	t.Helper()
	if err := L.DoString("return " + src); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	v := L.Get(-1)
	L.Pop(1)
	return v
}

func TestToGo(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("null", Null(L))
	L.SetGlobal("array_mt", ArrayMetatable(L))
	cases := []struct {
		src  string
		want any
	}{
		{"nil", nil},
		{"null", nil},
		{"true", true},
		{"3", int64(3)},
		{"-2.5", -2.5},
		{"2^60", float64(1 << 60)},
		{"'x'", "x"},
		{"{}", map[string]any{}},
		{"setmetatable({}, array_mt)", []any{}},
		{"{1, 'a', true}", []any{int64(1), "a", true}},
		{"{1, nil, 3}", map[string]any{"1": int64(1), "3": int64(3)}},
		{"{a = {b = null}}", map[string]any{"a": map[string]any{"b": nil}}},
		{"{[1.5] = 'x'}", map[string]any{"1.5": "x"}},
		{"{[2] = 'x'}", map[string]any{"2": "x"}},
		{"{1, 2, k = 'v'}", map[string]any{"1": int64(1), "2": int64(2), "k": "v"}},
	}
	for _, c := range cases {
		got, err := ToGo(L, eval(t, L, c.src))
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.src, got, c.want)
		}
	}
}

func TestToGoErrors(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	for _, src := range []string{"print", "{f = print}", "coroutine.create(print)"} {
		if _, err := ToGo(L, eval(t, L, src)); err == nil {
			t.Errorf("%s: no error", src)
		}
	}
	cyclic := eval(t, L, "(function() local t = {} t.self = t return t end)()")
	if _, err := ToGo(L, cyclic); !errors.Is(err, ErrTooDeep) {
		t.Errorf("cyclic table: %v, want ErrTooDeep", err)
	}
}

func TestRoundTrip(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	values := []any{
		nil, true, "s", int64(7), 0.25,
		[]any{int64(1), "two", []any{}},
		map[string]any{"a": []any{map[string]any{"b": false}}, "n": int64(-1)},
	}
	for _, v := range values {
		lv, err := FromGo(L, v, Options{MarkArrays: true})
		if err != nil {
			t.Fatalf("%v: %v", v, err)
		}
		back, err := ToGo(L, lv)
		if err != nil {
			t.Fatalf("%v: %v", v, err)
		}
		if !reflect.DeepEqual(back, v) {
			t.Errorf("round trip of %#v gave %#v", v, back)
		}
	}
}

func TestFromGoNulls(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	in := map[string]any{"gone": nil, "list": []any{nil, "x"}}
	plain, err := FromGo(L, in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pt := plain.(*lua.LTable)
	if pt.RawGetString("gone") != lua.LNil {
		t.Errorf("nil field kept without NullInTables")
	}
	if s := pt.RawGetString("list").(*lua.LTable).RawGetInt(2); s != lua.LString("x") {
		t.Errorf("element after a nil moved: %v", s)
	}
	nulls, err := FromGo(L, in, Options{NullInTables: true})
	if err != nil {
		t.Fatal(err)
	}
	if v := nulls.(*lua.LTable).RawGetString("gone"); !IsNull(v) || v != Null(L) {
		t.Errorf("nil field is %v, want the state's null", v)
	}
	if _, err := FromGo(L, struct{}{}, Options{}); err == nil {
		t.Error("a struct converted without error")
	}
}
