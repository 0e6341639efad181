package lualib

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"net/http"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// JWT algorithms: hash, and family (HS, RS, PS, ES, EdDSA).
type jwtAlg struct {
	family string
	hash   crypto.Hash
	size   int // ES: signature bytes
}

var jwtAlgs = map[string]jwtAlg{
	"HS256": {"HS", crypto.SHA256, 0}, "HS384": {"HS", crypto.SHA384, 0}, "HS512": {"HS", crypto.SHA512, 0},
	"RS256": {"RS", crypto.SHA256, 0}, "RS384": {"RS", crypto.SHA384, 0}, "RS512": {"RS", crypto.SHA512, 0},
	"PS256": {"PS", crypto.SHA256, 0}, "PS384": {"PS", crypto.SHA384, 0}, "PS512": {"PS", crypto.SHA512, 0},
	"ES256": {"ES", crypto.SHA256, 64}, "ES384": {"ES", crypto.SHA384, 96}, "ES512": {"ES", crypto.SHA512, 132},
	"EdDSA": {"EdDSA", 0, 0},
}

// errBadKey reports a key that does not parse or does not fit the alg.
var errBadKey = errors.New("invalid key")

// JWTSign signs message (header64.payload64) with alg; key is the HMAC
// secret or a PEM private key. ES signatures are raw r||s (JWS form).
func JWTSign(alg string, message, key []byte) ([]byte, error) {
	a, ok := jwtAlgs[alg]
	if !ok {
		return nil, fmt.Errorf("unsupported alg: %s", alg)
	}
	if a.family == "HS" {
		m := hmac.New(func() hash.Hash { return newHash(a.hash) }, key)
		m.Write(message)
		return m.Sum(nil), nil
	}
	priv, _, err := ParseKey(key)
	if err != nil || priv == nil {
		return nil, errBadKey
	}
	var digest []byte
	if a.hash != 0 {
		h := newHash(a.hash)
		h.Write(message)
		digest = h.Sum(nil)
	}
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		switch a.family {
		case "RS":
			return rsa.SignPKCS1v15(rand.Reader, k, a.hash, digest)
		case "PS":
			return rsa.SignPSS(rand.Reader, k, a.hash, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
	case *ecdsa.PrivateKey:
		if a.family == "ES" {
			r, s, err := ecdsa.Sign(rand.Reader, k, digest)
			if err != nil {
				return nil, err
			}
			half := a.size / 2
			out := make([]byte, a.size)
			r.FillBytes(out[:half])
			s.FillBytes(out[half:])
			return out, nil
		}
	case ed25519.PrivateKey:
		if a.family == "EdDSA" {
			return ed25519.Sign(k, message), nil
		}
	}
	return nil, errBadKey
}

// JWTVerify checks sig over message with alg; key is the HMAC secret or a
// PEM public key, certificate or private key. It returns errBadKey when
// the key does not parse or does not fit alg.
func JWTVerify(alg string, message, sig, key []byte) (bool, error) {
	a, ok := jwtAlgs[alg]
	if !ok {
		return false, fmt.Errorf("unsupported alg: %s", alg)
	}
	if a.family == "HS" {
		want, _ := JWTSign(alg, message, key)
		return hmac.Equal(want, sig), nil
	}
	_, pub, err := ParseKey(key)
	if err != nil || pub == nil {
		return false, errBadKey
	}
	var digest []byte
	if a.hash != 0 {
		h := newHash(a.hash)
		h.Write(message)
		digest = h.Sum(nil)
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch a.family {
		case "RS":
			return rsa.VerifyPKCS1v15(k, a.hash, digest, sig) == nil, nil
		case "PS":
			return rsa.VerifyPSS(k, a.hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil, nil
		}
	case *ecdsa.PublicKey:
		if a.family == "ES" {
			if len(sig) != a.size {
				return false, nil
			}
			half := a.size / 2
			r := new(big.Int).SetBytes(sig[:half])
			s := new(big.Int).SetBytes(sig[half:])
			return ecdsa.Verify(k, digest, r, s), nil
		}
	case ed25519.PublicKey:
		if a.family == "EdDSA" {
			return ed25519.Verify(k, message, sig), nil
		}
	}
	return false, errBadKey
}

// b64url encodes without padding.
func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// b64urlDecode decodes base64url with or without padding, the way
// ngx.decode_base64 does after lua-resty-jwt's alphabet swap.
func b64urlDecode(s string) ([]byte, bool) {
	return DecodeBase64(s, base64.RawURLEncoding)
}

// jwtReason raises lua-resty-jwt's error({reason = ...}).
func jwtReason(L *lua.LState, format string, args ...any) {
	t := L.NewTable()
	t.RawSetString("reason", lua.LString(fmt.Sprintf(format, args...)))
	L.Error(t, 0)
}

// rawPart returns jwt_obj.raw_<part>, or the encoding of jwt_obj[part].
func rawPart(c *call, obj *lua.LTable, part string) string {
	if s, ok := obj.RawGetString("raw_" + part).(lua.LString); ok {
		return string(s)
	}
	v := obj.RawGetString(part)
	if v == lua.LNil {
		jwtReason(c.L, "missing part %s", part)
	}
	if s, ok := v.(lua.LString); ok {
		return b64url([]byte(s))
	}
	js, err := CJSONEncode(c.L, v, nil)
	if err != nil {
		c.L.Error(lua.LString(err.Error()), 0)
	}
	return b64url([]byte(js))
}

// jwtSecret resolves a secret that may be a function of the kid.
func jwtSecret(c *call, secret lua.LValue, header *lua.LTable, alg string) string {
	switch s := secret.(type) {
	case lua.LString:
		return string(s)
	case *lua.LFunction:
		if !strings.HasPrefix(alg, "HS") {
			jwtReason(c.L, "secret function can only be used with hmac alg: %s", alg)
		}
		kid := header.RawGetString("kid")
		if kid == lua.LNil {
			jwtReason(c.L, "secret function specified without kid in header")
		}
		c.L.Push(s)
		c.L.Push(kid)
		c.L.Call(1, 1)
		out := c.L.Get(-1)
		c.L.Pop(1)
		if str, ok := out.(lua.LString); ok {
			return string(str)
		}
		jwtReason(c.L, "function returned nil for kid: %s", lua.LVAsString(kid))
	}
	jwtReason(c.L, "invalid secret type (must be string or function)")
	return ""
}

// jwtSignObj is lua-resty-jwt's sign(): it returns the token or raises
// {reason = ...}.
func jwtSignObj(c *call, secret lua.LValue, obj *lua.LTable) string {
	header, ok := obj.RawGetString("header").(*lua.LTable)
	if !ok {
		jwtReason(c.L, "missing part header")
	}
	if typ, ok := header.RawGetString("typ").(lua.LString); ok && typ != "JWT" && typ != "JWE" {
		jwtReason(c.L, "invalid typ: %s", string(typ))
	}
	if header.RawGetString("typ") == lua.LString("JWE") || header.RawGetString("enc") != lua.LNil {
		jwtReason(c.L, "JWE is not supported")
	}
	message := rawPart(c, obj, "header") + "." + rawPart(c, obj, "payload")
	alg := lua.LVAsString(header.RawGetString("alg"))
	a, known := jwtAlgs[alg]
	if !known || a.family == "EdDSA" || a.family == "PS" {
		jwtReason(c.L, "unsupported alg: %s", alg)
	}
	var key string
	if a.family == "HS" {
		key = jwtSecret(c, secret, header, alg)
	} else {
		s, ok := secret.(lua.LString)
		if !ok {
			jwtReason(c.L, "signer error: private key must be a string")
		}
		key = string(s)
	}
	sig, err := JWTSign(alg, []byte(message), []byte(key))
	if err != nil {
		jwtReason(c.L, "signer error: %v", err)
	}
	return message + "." + b64url(sig)
}

// loadJWT is lua-resty-jwt's load_jwt.
func loadJWT(c *call, token string) *lua.LTable {
	fail := func(reason string) *lua.LTable {
		t := c.L.NewTable()
		t.RawSetString("valid", lua.LFalse)
		t.RawSetString("verified", lua.LFalse)
		t.RawSetString("reason", lua.LString(reason))
		return t
	}
	var parts []string
	for _, p := range strings.Split(token, ".") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	switch len(parts) {
	case 3:
	case 4, 5:
		return fail("JWE is not supported")
	default:
		return fail("invalid jwt string")
	}
	decodePart := func(raw, name string) (lua.LValue, string) {
		data, ok := b64urlDecode(raw)
		if !ok {
			return nil, "invalid " + name + ": " + raw
		}
		v, err := CJSONDecode(c.L, string(data), nil)
		if err != nil {
			return nil, "invalid jwt string"
		}
		return v, ""
	}
	header, reason := decodePart(parts[0], "header")
	if reason != "" {
		return fail(reason)
	}
	payload, reason := decodePart(parts[1], "payload")
	if reason != "" {
		return fail(reason)
	}
	if _, ok := header.(*lua.LTable); !ok {
		return fail("invalid header: " + parts[0])
	}
	t := c.L.NewTable()
	t.RawSetString("raw_header", lua.LString(parts[0]))
	t.RawSetString("raw_payload", lua.LString(parts[1]))
	t.RawSetString("header", header)
	t.RawSetString("payload", payload)
	t.RawSetString("signature", lua.LString(parts[2]))
	t.RawSetString("verified", lua.LFalse)
	t.RawSetString("valid", lua.LTrue)
	return t
}

const jwtAwesome = "everything is awesome~ :p"

// jwtState holds resty.jwt's module-level settings (alg whitelist) and
// jwt-validators' leeway and clock, per state.
type jwtState struct {
	o      *Options
	leeway float64
	clock  *lua.LFunction
}

func (s *jwtState) now(L *lua.LState) float64 {
	if s.clock != nil {
		L.Push(s.clock)
		L.Call(0, 1)
		v := L.Get(-1)
		L.Pop(1)
		if n, ok := v.(lua.LNumber); ok {
			return float64(n)
		}
	}
	return float64(s.o.now().UnixMilli()) / 1000
}

func jwtStateOf(L *lua.LState, o *Options) *jwtState {
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	if ud, ok := reg.RawGetString("gatehouse.jwt_state").(*lua.LUserData); ok {
		return ud.Value.(*jwtState)
	}
	s := &jwtState{o: o}
	ud := L.NewUserData()
	ud.Value = s
	reg.RawSetString("gatehouse.jwt_state", ud)
	return s
}

func jwtLoader(o *Options) lua.LGFunction {
	return func(L *lua.LState) int {
		mod := L.NewTable()
		mod.RawSetString("_VERSION", lua.LString("0.2.3"))
		setFuncs(L, mod, map[string]lfunc{
			"sign": func(c *call) int {
				secret := c.L.Get(2)
				obj := c.table(3)
				return c.push(lua.LString(jwtSignObj(c, secret, obj)))
			},
			"load_jwt": func(c *call) int {
				return c.push(loadJWT(c, c.str(2)))
			},
			"verify": func(c *call) int {
				self := c.optTable(1)
				secret := c.L.Get(2)
				token := c.str(3)
				obj := loadJWT(c, token)
				if obj.RawGetString("valid") != lua.LTrue {
					r := c.L.NewTable()
					r.RawSetString("verified", lua.LFalse)
					r.RawSetString("reason", obj.RawGetString("reason"))
					return c.push(r)
				}
				return c.push(jwtVerifyObj(c, o, self, secret, obj, 4))
			},
			"verify_jwt_obj": func(c *call) int {
				return c.push(jwtVerifyObj(c, o, c.optTable(1), c.L.Get(2), c.table(3), 4))
			},
			"jwt_encode": func(c *call) int {
				v := c.L.Get(2)
				if _, ok := v.(*lua.LTable); ok {
					js, err := CJSONEncode(c.L, v, nil)
					if err != nil {
						c.L.Error(lua.LString(err.Error()), 0)
					}
					return c.push(lua.LString(b64url([]byte(js))))
				}
				return c.push(lua.LString(b64url([]byte(c.str(2)))))
			},
			"jwt_decode": func(c *call) int {
				data, ok := b64urlDecode(c.str(2))
				if !ok {
					return c.push(lua.LNil)
				}
				if lua.LVAsBool(c.L.Get(3)) {
					v, err := CJSONDecode(c.L, string(data), nil)
					if err != nil {
						c.L.Error(lua.LString(err.Error()), 0)
					}
					return c.push(v)
				}
				return c.push(lua.LString(data))
			},
			"set_alg_whitelist": func(c *call) int {
				self := c.table(1)
				self.RawSetString("alg_whitelist", c.L.Get(2))
				return 0
			},
			"set_trusted_certs_file": func(c *call) int {
				c.L.RaiseError("set_trusted_certs_file: certificate chains (x5c) are not supported")
				return 0
			},
		})
		L.Push(mod)
		return 1
	}
}

// jwtVerifyObj is verify_jwt_obj: claim validation (claim specs from
// argument first on), then the signature.
func jwtVerifyObj(c *call, o *Options, self *lua.LTable, secret lua.LValue, obj *lua.LTable, specArg int) *lua.LTable {
	if obj.RawGetString("valid") != lua.LTrue {
		return obj
	}
	if !validateClaims(c, o, obj, specArg) {
		return obj
	}
	header, _ := obj.RawGetString("header").(*lua.LTable)
	if header == nil {
		obj.RawSetString("reason", lua.LString("invalid jwt string"))
		return obj
	}
	if header.RawGetString("enc") != lua.LNil {
		obj.RawSetString("reason", lua.LString("JWE is not supported"))
		return obj
	}
	alg := lua.LVAsString(header.RawGetString("alg"))
	if self != nil {
		if wl, ok := self.RawGetString("alg_whitelist").(*lua.LTable); ok && wl.RawGetString(alg) == lua.LNil {
			r := c.L.NewTable()
			r.RawSetString("verified", lua.LFalse)
			r.RawSetString("reason", lua.LString("whitelist unsupported alg: "+alg))
			return r
		}
	}
	sig := lua.LVAsString(obj.RawGetString("signature"))
	a, known := jwtAlgs[alg]
	switch {
	case known && a.family == "HS":
		token, err := protectedSign(c, secret, obj)
		if err != "" {
			obj.RawSetString("reason", lua.LString(err))
		} else if token != lua.LVAsString(obj.RawGetString("raw_header"))+"."+lua.LVAsString(obj.RawGetString("raw_payload"))+"."+sig {
			obj.RawSetString("reason", lua.LString("signature mismatch: "+sig))
		}
	case known && (a.family == "RS" || a.family == "ES"):
		key, ok := secret.(lua.LString)
		raw, decoded := b64urlDecode(sig)
		switch {
		case !ok:
			obj.RawSetString("reason", lua.LString("Decode secret is not a valid cert/public key: "+lua.LVAsString(secret)))
		case !decoded:
			obj.RawSetString("reason", lua.LString("Wrongly encoded signature"))
		default:
			message := lua.LVAsString(obj.RawGetString("raw_header")) + "." + lua.LVAsString(obj.RawGetString("raw_payload"))
			good, err := JWTVerify(alg, []byte(message), raw, []byte(key))
			switch {
			case errors.Is(err, errBadKey):
				obj.RawSetString("reason", lua.LString("Decode secret is not a valid cert/public key: "+string(key)))
			case err != nil:
				obj.RawSetString("reason", lua.LString(err.Error()))
			case !good:
				obj.RawSetString("reason", lua.LString("Verification failed"))
			}
		}
	default:
		obj.RawSetString("reason", lua.LString("Unsupported algorithm "+alg))
	}
	if obj.RawGetString("reason") == lua.LNil {
		obj.RawSetString("verified", lua.LTrue)
		obj.RawSetString("reason", lua.LString(jwtAwesome))
	}
	return obj
}

// protectedSign runs jwtSignObj catching its {reason=...} error.
func protectedSign(c *call, secret lua.LValue, obj *lua.LTable) (string, string) {
	fn := c.L.NewFunction(wrap("sign", func(c2 *call) int {
		return c2.push(lua.LString(jwtSignObj(c2, secret, obj)))
	}))
	c.L.Push(fn)
	if err := c.L.PCall(0, 1, nil); err != nil {
		if ae, ok := err.(*lua.ApiError); ok {
			if t, ok := ae.Object.(*lua.LTable); ok {
				if r, ok := t.RawGetString("reason").(lua.LString); ok {
					return "", string(r)
				}
			}
		}
		return "", "internal error"
	}
	out := lua.LVAsString(c.L.Get(-1))
	c.L.Pop(1)
	return out, ""
}

// validateClaims applies the claim specs passed from argument n on (or the
// defaults: exp and nbf checked when present). It sets obj.reason and
// returns false on the first failure.
func validateClaims(c *call, o *Options, obj *lua.LTable, n int) bool {
	var specs []*lua.LTable
	for i := n; i <= c.L.GetTop(); i++ {
		if t, ok := c.L.Get(i).(*lua.LTable); ok {
			specs = append(specs, t)
		}
	}
	st := jwtStateOf(c.L, o)
	payload, _ := obj.RawGetString("payload").(*lua.LTable)
	if len(specs) == 0 {
		return checkDates(c, st, obj, payload, false, false, 0)
	}
	jsonText, err := CJSONEncode(c.L, obj, nil)
	if err != nil {
		jsonText = "{}"
	}
	for _, spec := range specs {
		if legacy, ok := legacyOptions(spec); ok {
			if !applyLegacy(c, st, obj, payload, legacy) {
				return false
			}
			continue
		}
		var failed bool
		spec.ForEach(func(k, fx lua.LValue) {
			if failed {
				return
			}
			fn, ok := fx.(*lua.LFunction)
			if !ok {
				c.L.Error(lua.LString("Claim spec value must be a function - see jwt-validators.lua for helper functions"), 0)
			}
			claim := lua.LVAsString(k)
			var val lua.LValue = lua.LNil
			if claim == "__jwt" {
				val, _ = CJSONDecode(c.L, jsonText, nil)
			} else if payload != nil {
				val = payload.RawGetString(claim)
			}
			c.L.Push(fn)
			c.L.Push(val)
			c.L.Push(lua.LString(claim))
			c.L.Push(lua.LString(jsonText))
			if err := c.L.PCall(3, 1, nil); err != nil {
				reason := err.Error()
				if ae, ok := err.(*lua.ApiError); ok {
					if t, ok := ae.Object.(*lua.LTable); ok {
						reason = lua.LVAsString(t.RawGetString("reason"))
					} else {
						reason = stripPosition(lua.LVAsString(ae.Object))
					}
				}
				obj.RawSetString("reason", lua.LString(reason))
				failed = true
				return
			}
			ret := c.L.Get(-1)
			c.L.Pop(1)
			if ret == lua.LFalse {
				obj.RawSetString("reason", lua.LString(fmt.Sprintf("Claim '%s' ('%s') returned failure", claim, lua.LVAsString(val))))
				failed = true
			}
		})
		if failed {
			return false
		}
	}
	return true
}

// stripPosition removes a leading "chunk:line: " as lua-resty-jwt does.
func stripPosition(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j > i+1 && strings.HasPrefix(s[j:], ": ") {
				return s[j+2:]
			}
		}
	}
	return s
}

type legacyOpts struct {
	issuers                *lua.LTable
	leeway                 lua.LValue
	requireNbf, requireExp lua.LValue
}

// legacyOptions recognises the pre-validator options table
// (valid_issuers, lifetime_grace_period, require_nbf_claim,
// require_exp_claim).
func legacyOptions(t *lua.LTable) (legacyOpts, bool) {
	var o legacyOpts
	isLegacy, other := false, false
	t.ForEach(func(k, v lua.LValue) {
		switch lua.LVAsString(k) {
		case "valid_issuers":
			o.issuers, _ = v.(*lua.LTable)
			isLegacy = true
		case "lifetime_grace_period":
			o.leeway = v
			isLegacy = true
		case "require_nbf_claim":
			o.requireNbf = v
			isLegacy = true
		case "require_exp_claim":
			o.requireExp = v
			isLegacy = true
		default:
			other = true
		}
	})
	return o, isLegacy && !other
}

func applyLegacy(c *call, st *jwtState, obj, payload *lua.LTable, l legacyOpts) bool {
	fail := func(reason string) bool {
		obj.RawSetString("reason", lua.LString(reason))
		return false
	}
	for _, v := range []struct {
		name string
		val  lua.LValue
	}{{"require_nbf_claim", l.requireNbf}, {"require_exp_claim", l.requireExp}} {
		if v.val != nil && v.val != lua.LNil {
			if _, ok := v.val.(lua.LBool); !ok {
				c.L.Error(lua.LString(fmt.Sprintf("'%s' validation option is expected to be a boolean.", v.name)), 0)
			}
		}
	}
	if l.issuers != nil {
		iss := lua.LNil
		if payload != nil {
			iss = payload.RawGetString("iss")
		}
		found := false
		l.issuers.ForEach(func(_, v lua.LValue) {
			if v == iss {
				found = true
			}
		})
		if !found {
			if iss == lua.LNil {
				return fail("'iss' claim is required.")
			}
			return fail(fmt.Sprintf("Claim 'iss' ('%s') returned failure", lua.LVAsString(iss)))
		}
	}
	leeway := 0.0
	if n, ok := l.leeway.(lua.LNumber); ok {
		leeway = float64(n)
		st.leeway = leeway
	}
	reqNbf := l.requireNbf == lua.LTrue
	reqExp := l.requireExp == lua.LTrue
	if l.leeway != nil && l.leeway != lua.LNil && !reqNbf && !reqExp {
		if payload == nil || payload.RawGetString("nbf") == lua.LNil && payload.RawGetString("exp") == lua.LNil {
			return fail("Missing one of claims - [ nbf, exp ].")
		}
	}
	return checkDates(c, st, obj, payload, reqNbf, reqExp, leeway)
}

// checkDates validates nbf and exp as jwt-validators' (opt_)is_not_before
// and (opt_)is_not_expired do.
func checkDates(c *call, st *jwtState, obj, payload *lua.LTable, reqNbf, reqExp bool, leeway float64) bool {
	if leeway == 0 {
		leeway = st.leeway
	}
	now := st.now(c.L)
	check := func(claim string, required bool, ok func(v float64) bool, msg string) bool {
		var v lua.LValue = lua.LNil
		if payload != nil {
			v = payload.RawGetString(claim)
		}
		if v == lua.LNil {
			if required {
				obj.RawSetString("reason", lua.LString(fmt.Sprintf("'%s' claim is required.", claim)))
				return false
			}
			return true
		}
		n, isNum := v.(lua.LNumber)
		if !isNum || n < 0 {
			obj.RawSetString("reason", lua.LString(fmt.Sprintf("'%s' is malformed.  Expected to be a positive numeric value.", claim)))
			return false
		}
		if !ok(float64(n)) {
			when := time.Unix(int64(n), 0).UTC().Format(http.TimeFormat)
			obj.RawSetString("reason", lua.LString(fmt.Sprintf("'%s' claim %s %s", claim, msg, when)))
			return false
		}
		return true
	}
	if !check("nbf", reqNbf, func(v float64) bool { return v <= now+leeway }, "not valid until") {
		return false
	}
	return check("exp", reqExp, func(v float64) bool { return v > now-leeway }, "expired at")
}

// jwtValidatorsLoader provides the commonly used part of
// resty.jwt-validators: (opt_)is_not_expired, (opt_)is_not_before,
// (opt_)equals, (opt_)equals_any_of, required, set_system_leeway,
// set_system_clock.
func jwtValidatorsLoader(o *Options) lua.LGFunction {
	return func(L *lua.LState) int {
		st := jwtStateOf(L, o)
		mod := L.NewTable()
		validator := func(name string, required bool, check func(c *call, v lua.LValue, claim string) (bool, string)) lfunc {
			return func(c *call) int {
				captured := []lua.LValue{}
				for i := 1; i <= c.L.GetTop(); i++ {
					captured = append(captured, c.L.Get(i))
				}
				return c.push(c.L.NewFunction(wrap(name, func(c2 *call) int {
					v := c2.L.Get(1)
					claim := c2.optStr(2, "")
					if v == lua.LNil {
						if required {
							c2.L.Error(lua.LString(fmt.Sprintf("'%s' claim is required.", claim)), 0)
						}
						return c2.push(lua.LTrue)
					}
					_ = captured
					ok, msg := check(c2, v, claim)
					if msg != "" {
						c2.L.Error(lua.LString(msg), 0)
					}
					return c2.push(lua.LBool(ok))
				})))
			}
		}
		dateCheck := func(cmp func(v, now float64) bool, msg string) func(c *call, v lua.LValue, claim string) (bool, string) {
			return func(c *call, v lua.LValue, claim string) (bool, string) {
				n, ok := v.(lua.LNumber)
				if !ok || n < 0 {
					return false, fmt.Sprintf("'%s' is malformed.  Expected to be a positive numeric value.", claim)
				}
				if !cmp(float64(n), st.now(c.L)) {
					return false, fmt.Sprintf("'%s' claim %s %s", claim, msg, time.Unix(int64(n), 0).UTC().Format(http.TimeFormat))
				}
				return true, ""
			}
		}
		notExpired := dateCheck(func(v, now float64) bool { return v > now-st.leeway }, "expired at")
		notBefore := dateCheck(func(v, now float64) bool { return v <= now+st.leeway }, "not valid until")
		fns := map[string]lfunc{
			"is_not_expired":     validator("is_not_expired", true, notExpired),
			"opt_is_not_expired": validator("opt_is_not_expired", false, notExpired),
			"is_not_before":      validator("is_not_before", true, notBefore),
			"opt_is_not_before":  validator("opt_is_not_before", false, notBefore),
			"required": func(c *call) int {
				return c.push(c.L.NewFunction(wrap("required", func(c2 *call) int {
					if c2.L.Get(1) == lua.LNil {
						c2.L.Error(lua.LString(fmt.Sprintf("'%s' claim is required.", c2.optStr(2, ""))), 0)
					}
					return c2.push(lua.LTrue)
				})))
			},
			"set_system_leeway": func(c *call) int {
				n := c.num(1)
				if n < 0 {
					c.L.Error(lua.LString("leeway must be a non-negative number"), 0)
				}
				st.leeway = n
				return 0
			},
			"set_system_clock": func(c *call) int {
				fn, ok := c.L.Get(1).(*lua.LFunction)
				if !ok {
					c.L.Error(lua.LString("clock must be a function"), 0)
				}
				st.clock = fn
				return 0
			},
		}
		for _, req := range []bool{true, false} {
			prefix := "opt_"
			if req {
				prefix = ""
			}
			req := req
			fns[prefix+"equals"] = func(c *call) int {
				want := c.L.Get(1)
				if want == lua.LNil {
					c.L.Error(lua.LString("Cannot create validator for nil check_val."), 0)
				}
				return validator(prefix+"equals", req, func(_ *call, v lua.LValue, _ string) (bool, string) {
					return v == want, ""
				})(c)
			}
			fns[prefix+"equals_any_of"] = func(c *call) int {
				list, ok := c.L.Get(1).(*lua.LTable)
				if !ok {
					c.L.Error(lua.LString("Cannot create validator for non-table check_values."), 0)
				}
				return validator(prefix+"equals_any_of", req, func(_ *call, v lua.LValue, _ string) (bool, string) {
					found := false
					list.ForEach(func(_, e lua.LValue) {
						if e == v {
							found = true
						}
					})
					return found, ""
				})(c)
			}
		}
		setFuncs(L, mod, fns)
		L.Push(mod)
		return 1
	}
}
