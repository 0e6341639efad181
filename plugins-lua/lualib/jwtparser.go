package lualib

import (
	"encoding/base64"
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// ParsedJWT is a token split as Kong's jwt_parser does (header and claims
// JSON-decoded, signature base64url-decoded).
type ParsedJWT struct {
	Header64, Claims64, Signature64 string
	HeaderJSON, ClaimsJSON          []byte
	Signature                       []byte
}

// ParseKongJWT splits and decodes token as Kong 3.x's jwt_parser
// decode_token does, returning its error texts: "invalid JSON" (a part is
// missing or not base64url/JSON), "invalid alg", "invalid signature".
// header is the decoded header value, claims the decoded claims.
func ParseKongJWT(token string) (*ParsedJWT, any, any, error) {
	parts := strings.SplitN(token, ".", 3)
	if len(parts) < 3 {
		return nil, nil, nil, fmt.Errorf("invalid JSON")
	}
	h, ok1 := DecodeBase64(parts[0], base64.RawURLEncoding)
	cl, ok2 := DecodeBase64(parts[1], base64.RawURLEncoding)
	if !ok1 || !ok2 {
		return nil, nil, nil, fmt.Errorf("invalid JSON")
	}
	header, err := ParseJSON(string(h), 0, true)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("invalid JSON")
	}
	claims, err := ParseJSON(string(cl), 0, true)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("invalid JSON")
	}
	hm, isMap := header.(map[string]any)
	if !isMap {
		return nil, nil, nil, fmt.Errorf("invalid alg")
	}
	alg, isStr := hm["alg"].(string)
	if _, known := jwtAlgs[alg]; !isStr || !known {
		return nil, nil, nil, fmt.Errorf("invalid alg")
	}
	sig, ok := DecodeBase64(parts[2], base64.RawURLEncoding)
	if !ok {
		return nil, nil, nil, fmt.Errorf("invalid signature")
	}
	return &ParsedJWT{Header64: parts[0], Claims64: parts[1], Signature64: parts[2],
		HeaderJSON: h, ClaimsJSON: cl, Signature: sig}, header, claims, nil
}

// jwtParserLoader builds kong.plugins.jwt.jwt_parser: new (as
// jwt_parser:new(token)), verify_signature, verify_registered_claims,
// check_maximum_expiration, base64_decode and encode, with Kong's
// messages.
func jwtParserLoader(o *Options) lua.LGFunction {
	return func(L *lua.LState) int {
		mod := L.NewTable()
		mod.RawSetString("__index", mod)
		setFuncs(L, mod, map[string]lfunc{
			"new": func(c *call) int {
				tok, ok := c.L.Get(2).(lua.LString)
				if !ok {
					c.L.RaiseError("Token must be a string, got %s", luaToString(c.L.Get(2)))
				}
				p, _, _, err := ParseKongJWT(string(tok))
				if err != nil {
					return c.nilErr("%v", err)
				}
				header, _ := CJSONDecode(c.L, string(p.HeaderJSON), nil)
				claims, _ := CJSONDecode(c.L, string(p.ClaimsJSON), nil)
				t := c.L.NewTable()
				t.RawSetString("token", tok)
				t.RawSetString("header_64", lua.LString(p.Header64))
				t.RawSetString("claims_64", lua.LString(p.Claims64))
				t.RawSetString("signature_64", lua.LString(p.Signature64))
				t.RawSetString("header", header)
				t.RawSetString("claims", claims)
				t.RawSetString("signature", lua.LString(p.Signature))
				c.L.SetMetatable(t, mod)
				return c.push(t)
			},
			"verify_signature": func(c *call) int {
				self := c.table(1)
				key := c.str(2)
				header, _ := self.RawGetString("header").(*lua.LTable)
				if header == nil {
					c.L.RaiseError("invalid token object: no header")
				}
				alg := lua.LVAsString(header.RawGetString("alg"))
				a, known := jwtAlgs[alg]
				if !known {
					c.L.RaiseError("attempt to call a nil value (unsupported alg %q)", alg)
				}
				sig := []byte(lua.LVAsString(self.RawGetString("signature")))
				if a.family == "ES" && len(sig) != a.size {
					c.L.RaiseError("Signature must be %d bytes.", a.size)
				}
				if a.family == "PS" && len(sig) != 256 {
					c.L.RaiseError("Signature must be 256 bytes")
				}
				message := lua.LVAsString(self.RawGetString("header_64")) + "." + lua.LVAsString(self.RawGetString("claims_64"))
				good, err := JWTVerify(alg, []byte(message), sig, []byte(key))
				if err != nil {
					c.L.RaiseError("Consumer Public Key is Invalid")
				}
				return c.push(lua.LBool(good))
			},
			"base64_decode": func(c *call) int {
				out, ok := DecodeBase64(c.str(2), base64.RawURLEncoding)
				if !ok {
					return c.nilErr("invalid input")
				}
				return c.push(lua.LString(out))
			},
			"verify_registered_claims": func(c *call) int {
				self := c.table(1)
				list := c.optTable(2)
				claims, _ := self.RawGetString("claims").(*lua.LTable)
				errs := c.L.NewTable()
				has := false
				add := func(k, v string) {
					has = true
					switch prev := errs.RawGetString(k).(type) {
					case *lua.LNilType:
						errs.RawSetString(k, lua.LString(v))
					case *lua.LTable:
						prev.Append(lua.LString(v))
					default:
						t := c.L.NewTable()
						t.Append(prev)
						t.Append(lua.LString(v))
						errs.RawSetString(k, t)
					}
				}
				now := float64(o.now().Unix())
				if list != nil {
					list.ForEach(func(_, name lua.LValue) {
						claim := lua.LVAsString(name)
						if claim != "nbf" && claim != "exp" {
							c.L.RaiseError("attempt to index a nil value (unknown registered claim %q)", claim)
						}
						var v lua.LValue = lua.LNil
						if claims != nil {
							v = claims.RawGetString(claim)
						}
						n, isNum := v.(lua.LNumber)
						switch {
						case !isNum:
							add(claim, "must be a number")
						case claim == "nbf" && float64(n) > now:
							add(claim, "token not valid yet")
						case claim == "exp" && float64(n) <= now:
							add(claim, "token expired")
						}
					})
				}
				if !has {
					return c.push(lua.LTrue, lua.LNil)
				}
				return c.push(lua.LFalse, errs)
			},
			"check_maximum_expiration": func(c *call) int {
				self := c.table(1)
				max := c.num(2)
				if max <= 0 {
					return c.push(lua.LTrue)
				}
				claims, _ := self.RawGetString("claims").(*lua.LTable)
				var exp lua.LValue = lua.LNil
				if claims != nil {
					exp = claims.RawGetString("exp")
				}
				n, isNum := exp.(lua.LNumber)
				if exp == lua.LNil || (isNum && float64(n)-float64(o.now().Unix()) > max) {
					errs := c.L.NewTable()
					errs.RawSetString("exp", lua.LString("exceeds maximum allowed expiration"))
					return c.push(lua.LFalse, errs)
				}
				if !isNum {
					c.L.RaiseError("attempt to perform arithmetic on field 'exp' (a %s value)", exp.Type())
				}
				return c.push(lua.LTrue)
			},
			"encode": func(c *call) int {
				data, ok := c.L.Get(1).(*lua.LTable)
				if !ok {
					c.L.RaiseError("Argument #1 must be table")
				}
				key, ok := c.L.Get(2).(lua.LString)
				if !ok {
					c.L.RaiseError("Argument #2 must be string")
				}
				alg := c.optStr(3, "HS256")
				header := c.L.Get(4)
				if header != lua.LNil {
					if _, ok := header.(*lua.LTable); !ok {
						c.L.RaiseError("Argument #4 must be a table")
					}
				}
				if _, known := jwtAlgs[alg]; !known {
					c.L.RaiseError("Algorithm not supported")
				}
				if header == lua.LNil {
					h := c.L.NewTable()
					h.RawSetString("typ", lua.LString("JWT"))
					h.RawSetString("alg", lua.LString(alg))
					header = h
				}
				hj, err := CJSONEncode(c.L, header, nil)
				if err != nil {
					c.L.Error(lua.LString(err.Error()), 0)
				}
				dj, err := CJSONEncode(c.L, data, nil)
				if err != nil {
					c.L.Error(lua.LString(err.Error()), 0)
				}
				msg := b64url([]byte(hj)) + "." + b64url([]byte(dj))
				sig, err := JWTSign(alg, []byte(msg), []byte(key))
				if err != nil {
					c.L.RaiseError("assertion failed! (%v)", err)
				}
				return c.push(lua.LString(msg + "." + b64url(sig)))
			},
		})
		L.Push(mod)
		return 1
	}
}

func luaToString(v lua.LValue) string {
	if v == lua.LNil {
		return "nil"
	}
	return v.String()
}

// asnSequenceLoader is Kong 2.x's kong.plugins.jwt.asn_sequence (DER
// sequences of integers, used to convert ECDSA signatures).
func asnSequenceLoader(L *lua.LState) int {
	return moduleFuncs(map[string]lfunc{
		"create_simple_sequence": func(c *call) int {
			t, ok := c.L.Get(1).(*lua.LTable)
			if !ok {
				c.L.RaiseError("Argument #1 must be a table")
			}
			var keys []float64
			var bad bool
			t.ForEach(func(k, _ lua.LValue) {
				n, ok := k.(lua.LNumber)
				if !ok {
					bad = true
					return
				}
				keys = append(keys, float64(n))
			})
			if bad {
				c.L.RaiseError("Table must use numbers as keys")
			}
			sortFloats(keys)
			var body []byte
			for _, k := range keys {
				s, ok := t.RawGet(lua.LNumber(k)).(lua.LString)
				if !ok {
					c.L.RaiseError("Table contains non-string value.")
				}
				if len(s) > 0x7F {
					c.L.RaiseError("Mult-byte lengths are not supported")
				}
				body = append(body, 0x02, byte(len(s)))
				body = append(body, s...)
			}
			if len(body) > 0x7F {
				c.L.RaiseError("Multi-byte lengths are not supported")
			}
			return c.push(lua.LString(append([]byte{0x30, byte(len(body))}, body...)))
		},
		"parse_simple_sequence": func(c *call) int {
			in, ok := c.L.Get(1).(lua.LString)
			if !ok {
				c.L.RaiseError("Argument #1 must be string")
			}
			s := string(in)
			if s == "" {
				c.L.RaiseError("Argument #1 must not be empty")
			}
			if s[0] != 0x30 {
				c.L.RaiseError("Argument #1 is not a sequence")
			}
			if len(s) < 2 {
				c.L.RaiseError("Sequence is incomplete")
			}
			if s[1] > 0x7F {
				c.L.RaiseError("Multi-byte lengths are not supported")
			}
			if int(s[1]) != len(s)-2 {
				c.L.RaiseError("Sequence's asn length does not match expected length")
			}
			out := c.L.NewTable()
			pos := 2
			for pos < len(s) {
				if out.Len() >= 0xFF {
					c.L.RaiseError("Sequence is too long")
				}
				if s[pos] != 0x02 {
					c.L.RaiseError("Sequence did not contain integers")
				}
				if pos+1 >= len(s) {
					c.L.RaiseError("Sequence moved out of bounds.")
				}
				n := int(s[pos+1])
				if n > 0x7F {
					c.L.RaiseError("Multi-byte lengths are not supported.")
				}
				if n > len(s)-pos-2 {
					c.L.RaiseError("Integer is longer than remaining length")
				}
				out.Append(lua.LString(s[pos+2 : pos+2+n]))
				pos += 2 + n
			}
			return c.push(out)
		},
		"unsign_integer": func(c *call) int {
			in, ok := c.L.Get(1).(lua.LString)
			if !ok {
				c.L.RaiseError("Argument #1 must be string")
			}
			s := string(in)
			n := int(c.integer(2))
			if s == "" {
				c.L.RaiseError("Argument #1 must not be empty")
			}
			if s[0] != 0 && len(s) > n {
				c.L.RaiseError("Cannot unsign integer to length.")
			}
			if s[0] == 0 && len(s) == n+1 {
				return c.push(lua.LString(s[1:]))
			}
			if len(s) <= n {
				return c.push(lua.LString(strings.Repeat("\x00", n-len(s)) + s))
			}
			c.L.RaiseError("Unable to unsign integer")
			return 0
		},
		"resign_integer": func(c *call) int {
			in, ok := c.L.Get(1).(lua.LString)
			if !ok || len(in) == 0 {
				c.L.RaiseError("Argument #1 must be string")
			}
			s := string(in)
			if s[0] > 0x7F {
				s = "\x00" + s
			}
			for len(s) >= 2 && s[0] == 0 && s[1] <= 0x7F {
				s = s[1:]
			}
			return c.push(lua.LString(s))
		},
	})(L)
}
