package lualib

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// NewUUID returns a random (version 4) UUID in lower case.
func NewUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// RandomString returns Kong's random_string: 32 characters drawn from
// [A-Za-z0-9] (24 random bytes, base64, with '/', '+' and '=' replaced).
func RandomString() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	s := base64.StdEncoding.EncodeToString(b[:])
	var r [3]byte
	_, _ = rand.Read(r[:])
	s = strings.ReplaceAll(s, "/", string(rune('0'+r[0]%10)))
	s = strings.ReplaceAll(s, "+", string(rune('A'+r[1]%26)))
	return strings.ReplaceAll(s, "=", string(rune('a'+r[2]%26)))
}

func kongUUIDFuncs() map[string]lfunc {
	return map[string]lfunc{
		"uuid": func(c *call) int { return c.push(lua.LString(NewUUID())) },
		"is_valid_uuid": func(c *call) int {
			s, ok := c.L.Get(1).(lua.LString)
			return c.push(lua.LBool(ok && uuidRe.MatchString(string(s)) && string(s) != "00000000-0000-0000-0000-000000000000"))
		},
	}
}

func kongStringFuncs() map[string]lfunc {
	return map[string]lfunc{
		"strip": func(c *call) int {
			if c.L.Get(1) == lua.LNil {
				return c.push(lua.LString(""))
			}
			return c.push(lua.LString(strings.TrimSpace(c.str(1))))
		},
		"split": func(c *call) int {
			// Kong's split keeps empty fields (a plain separator).
			s, sep := c.str(1), c.str(2)
			if sep == "" {
				c.argError(2, "empty separator")
			}
			return c.push(listOf(c.L, strings.Split(s, sep)))
		},
		"validate_utf8": func(c *call) int {
			s := c.str(1)
			return c.push(lua.LBool(strings.ToValidUTF8(s, "\uFFFD") == s))
		},
		"bytes_to_str": func(c *call) int {
			n := c.num(1)
			unit := strings.ToLower(c.optStr(2, "b"))
			scale := map[string]float64{"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit]
			if scale == 0 {
				c.argError(2, "invalid unit '"+unit+"' (expected 'k/K', 'm/M', or 'g/G')")
			}
			if unit == "b" {
				return c.push(lua.LString(fmt.Sprintf("%d", int64(n))))
			}
			prec := int(c.optInt(3, 2))
			return c.push(lua.LString(fmt.Sprintf("%.*f %s", prec, n/scale, strings.ToUpper(unit)+"iB")))
		},
	}
}

func kongRandFuncs() map[string]lfunc {
	return map[string]lfunc{
		"random_string": func(c *call) int { return c.push(lua.LString(RandomString())) },
		"get_rand_bytes": func(c *call) int {
			return c.push(lua.LString(randomBytes(c, c.integer(1))))
		},
	}
}

func mergeFuncs(ms ...map[string]lfunc) map[string]lfunc {
	out := map[string]lfunc{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func kongUUIDLoader(L *lua.LState) int   { return moduleFuncs(kongUUIDFuncs())(L) }
func kongStringLoader(L *lua.LState) int { return moduleFuncs(kongStringFuncs())(L) }
func kongRandLoader(L *lua.LState) int   { return moduleFuncs(kongRandFuncs())(L) }

// kongUtilsLoader is the commonly used part of kong.tools.utils.
func kongUtilsLoader(L *lua.LState) int {
	return moduleFuncs(mergeFuncs(kongUUIDFuncs(), kongStringFuncs(), kongRandFuncs(), map[string]lfunc{
		"table_contains": func(c *call) int {
			t, ok := c.L.Get(1).(*lua.LTable)
			if !ok {
				return c.push(lua.LFalse)
			}
			v := c.L.Get(2)
			found := false
			t.ForEach(func(_, e lua.LValue) {
				if e == v {
					found = true
				}
			})
			return c.push(lua.LBool(found))
		},
		"deep_copy": func(c *call) int {
			return c.push(deepCopy(c.L, c.L.Get(1), map[*lua.LTable]*lua.LTable{}))
		},
		"shallow_copy": func(c *call) int {
			if t, ok := c.L.Get(1).(*lua.LTable); ok {
				return c.push(shallowCopy(c.L, t))
			}
			return c.push(c.L.Get(1))
		},
		"table_merge": func(c *call) int {
			out := c.L.NewTable()
			for i := 1; i <= 2; i++ {
				if t, ok := c.L.Get(i).(*lua.LTable); ok {
					t.ForEach(func(k, v lua.LValue) { out.RawSet(k, v) })
				}
			}
			return c.push(out)
		},
		"is_array": func(c *call) int {
			t, ok := c.L.Get(1).(*lua.LTable)
			if !ok {
				return c.push(lua.LFalse)
			}
			n, count := t.Len(), 0
			array := true
			t.ForEach(func(k, _ lua.LValue) {
				count++
				if num, ok := k.(lua.LNumber); !ok || int(num) < 1 || int(num) > n || float64(num) != float64(int(num)) {
					array = false
				}
			})
			return c.push(lua.LBool(array && count == n))
		},
		"encode_args": func(c *call) int {
			s, err := EncodeArgs(c.table(1))
			if err != nil {
				c.argError(1, err.Error())
			}
			return c.push(lua.LString(s))
		},
		"yield": func(c *call) int { return 0 },
	}))(L)
}
