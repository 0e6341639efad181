// Package luavalue converts values between gopher-lua and the JSON-shaped Go
// values the host ABI carries (nil, bool, int64, float64, string, []any,
// map[string]any). Every part of the Lua host that crosses that boundary
// (the kong.* PDK, cjson, kong.db rows, ngx.ctx) converts through here, so
// they agree on the edge cases: the null sentinel (cjson.null, ngx.null),
// empty tables, arrays with holes, non-string keys and cycles.
package luavalue

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"

	lua "github.com/yuin/gopher-lua"
)

// MaxDepth bounds how deep nested tables are converted; deeper (or cyclic)
// values are an error rather than a stack overflow.
const MaxDepth = 100

const (
	nullKey    = "gatehouse.null"
	arrayMTKey = "gatehouse.array_mt"
)

// ErrTooDeep is returned for tables nested deeper than MaxDepth, which
// includes every table that contains itself.
var ErrTooDeep = errors.New("table nested too deep (or cyclic)")

// Null returns the state's null sentinel: one light userdata per state,
// exposed to Lua as cjson.null and ngx.null. ToGo turns it into nil.
func Null(L *lua.LState) lua.LValue {
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	if v := reg.RawGetString(nullKey); v != lua.LNil {
		return v
	}
	ud := L.NewUserData()
	ud.Value = nullMarker{}
	mt := L.NewTable()
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("userdata: NULL"))
		return 1
	}))
	ud.Metatable = mt
	reg.RawSetString(nullKey, ud)
	return ud
}

type nullMarker struct{}

// IsNull reports whether v is the null sentinel of any state.
func IsNull(v lua.LValue) bool {
	ud, ok := v.(*lua.LUserData)
	if !ok {
		return false
	}
	_, ok = ud.Value.(nullMarker)
	return ok
}

// ArrayMetatable returns the state's array marker metatable (cjson's
// array_mt): a table carrying it is converted to a JSON array even when
// empty.
func ArrayMetatable(L *lua.LState) *lua.LTable {
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	if v, ok := reg.RawGetString(arrayMTKey).(*lua.LTable); ok {
		return v
	}
	mt := L.NewTable()
	mt.RawSetString("__name", lua.LString("array"))
	reg.RawSetString(arrayMTKey, mt)
	return mt
}

// NewArray returns an empty table marked as an array.
func NewArray(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	L.SetMetatable(t, ArrayMetatable(L))
	return t
}

// ToGo converts a Lua value to its JSON-shaped Go form. Numbers that hold
// an integer (within ±2^53) become int64, others float64; a table whose
// keys are exactly 1..n (n > 0), or that carries the array metatable,
// becomes []any; any other table becomes map[string]any, number keys
// written in decimal. Functions, threads, channels and userdata other than
// the null sentinel are an error naming their type.
func ToGo(L *lua.LState, v lua.LValue) (any, error) {
	return toGo(L, v, 0)
}

func toGo(L *lua.LState, v lua.LValue, depth int) (any, error) {
	switch x := v.(type) {
	case *lua.LNilType:
		return nil, nil
	case lua.LBool:
		return bool(x), nil
	case lua.LNumber:
		return number(float64(x)), nil
	case lua.LString:
		return string(x), nil
	case *lua.LTable:
		if depth >= MaxDepth {
			return nil, ErrTooDeep
		}
		return tableToGo(L, x, depth+1)
	case *lua.LUserData:
		if IsNull(x) {
			return nil, nil
		}
	}
	return nil, fmt.Errorf("cannot convert a Lua %s", v.Type())
}

func number(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
		return int64(f)
	}
	return f
}

func tableToGo(L *lua.LState, t *lua.LTable, depth int) (any, error) {
	n := t.Len()
	marked := L != nil && L.GetMetatable(t) == ArrayMetatable(L)
	if isArray(t, n) || marked {
		out := make([]any, 0, n)
		for i := 1; i <= n; i++ {
			e, err := toGo(L, t.RawGetInt(i), depth)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		return out, nil
	}
	out := make(map[string]any)
	var err error
	t.ForEach(func(k, val lua.LValue) {
		if err != nil {
			return
		}
		var key string
		switch kk := k.(type) {
		case lua.LString:
			key = string(kk)
		case lua.LNumber:
			key = strconv.FormatFloat(float64(kk), 'f', -1, 64)
		case lua.LBool:
			key = kk.String()
		default:
			err = fmt.Errorf("cannot convert a table key of type %s", k.Type())
			return
		}
		var e any
		e, err = toGo(L, val, depth)
		if err == nil {
			out[key] = e
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// isArray reports whether t's keys are exactly 1..n with n > 0.
func isArray(t *lua.LTable, n int) bool {
	if n == 0 {
		return false
	}
	count := 0
	array := true
	t.ForEach(func(k, _ lua.LValue) {
		count++
		num, ok := k.(lua.LNumber)
		if !ok || float64(num) != math.Trunc(float64(num)) || num < 1 || int(num) > n {
			array = false
		}
	})
	return array && count == n
}

// Options tune FromGo.
type Options struct {
	// NullInTables, when set, converts nil elements of slices and maps to
	// the state's null sentinel (what cjson.decode and kong.db rows give)
	// instead of dropping them.
	NullInTables bool
	// MarkArrays sets the array metatable on every converted slice, so an
	// empty one encodes back as [] rather than {}.
	MarkArrays bool
}

// FromGo converts a JSON-shaped Go value to Lua. Besides the ToGo forms it
// accepts the other Go integer and float types, []string, map[string]string,
// []map[string]any and error (as its message). Other types are an error.
func FromGo(L *lua.LState, v any, opts Options) (lua.LValue, error) {
	return fromGo(L, v, opts, 0)
}

func fromGo(L *lua.LState, v any, opts Options, depth int) (lua.LValue, error) {
	if depth > MaxDepth {
		return lua.LNil, ErrTooDeep
	}
	switch x := v.(type) {
	case nil:
		return lua.LNil, nil
	case lua.LValue:
		return x, nil
	case bool:
		return lua.LBool(x), nil
	case string:
		return lua.LString(x), nil
	case []byte:
		return lua.LString(x), nil
	case int:
		return lua.LNumber(x), nil
	case int8:
		return lua.LNumber(x), nil
	case int16:
		return lua.LNumber(x), nil
	case int32:
		return lua.LNumber(x), nil
	case int64:
		return lua.LNumber(x), nil
	case uint:
		return lua.LNumber(x), nil
	case uint8:
		return lua.LNumber(x), nil
	case uint16:
		return lua.LNumber(x), nil
	case uint32:
		return lua.LNumber(x), nil
	case uint64:
		return lua.LNumber(x), nil
	case float32:
		return lua.LNumber(x), nil
	case float64:
		return lua.LNumber(x), nil
	case error:
		return lua.LString(x.Error()), nil
	case []string:
		t := L.CreateTable(len(x), 0)
		for _, s := range x {
			t.Append(lua.LString(s))
		}
		if opts.MarkArrays {
			L.SetMetatable(t, ArrayMetatable(L))
		}
		return t, nil
	case map[string]string:
		t := L.CreateTable(0, len(x))
		for k, s := range x {
			t.RawSetString(k, lua.LString(s))
		}
		return t, nil
	case []map[string]any:
		list := make([]any, len(x))
		for i := range x {
			list[i] = x[i]
		}
		return fromGo(L, list, opts, depth)
	case []any:
		t := L.CreateTable(len(x), 0)
		for i, e := range x {
			lv, err := fromGo(L, e, opts, depth+1)
			if err != nil {
				return lua.LNil, err
			}
			if lv == lua.LNil && opts.NullInTables {
				lv = Null(L)
			}
			// RawSetInt keeps the positions of later elements after a nil.
			t.RawSetInt(i+1, lv)
		}
		if opts.MarkArrays {
			L.SetMetatable(t, ArrayMetatable(L))
		}
		return t, nil
	case map[string]any:
		t := L.CreateTable(0, len(x))
		// Sorted keys make table iteration order stable across runs.
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			lv, err := fromGo(L, x[k], opts, depth+1)
			if err != nil {
				return lua.LNil, err
			}
			if lv == lua.LNil {
				if !opts.NullInTables {
					continue
				}
				lv = Null(L)
			}
			t.RawSetString(k, lv)
		}
		return t, nil
	}
	return lua.LNil, fmt.Errorf("cannot convert a Go %T to Lua", v)
}
