package lualib

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// maxRandomBytes bounds resty.random.bytes and friends.
const maxRandomBytes = 1 << 20

// digestByName maps OpenSSL digest names (any case, with or without
// dashes) to Go hashes.
func digestByName(name string) (crypto.Hash, bool) {
	switch strings.ReplaceAll(strings.ToLower(name), "-", "") {
	case "md5":
		return crypto.MD5, true
	case "sha1":
		return crypto.SHA1, true
	case "sha224":
		return crypto.SHA224, true
	case "sha256":
		return crypto.SHA256, true
	case "sha384":
		return crypto.SHA384, true
	case "sha512":
		return crypto.SHA512, true
	}
	return 0, false
}

func newHash(h crypto.Hash) hash.Hash {
	switch h {
	case crypto.MD5:
		return md5.New()
	case crypto.SHA1:
		return sha1.New()
	case crypto.SHA224:
		return sha256.New224()
	case crypto.SHA256:
		return sha256.New()
	case crypto.SHA384:
		return sha512.New384()
	}
	return sha512.New()
}

// hashObject is the state behind resty.sha*/md5, resty.openssl.digest and
// resty.openssl.hmac objects.
type hashObject struct {
	h    hash.Hash
	alg  crypto.Hash // 0 for HMAC objects
	data []byte      // what was fed so far (digest objects), for pkey:sign(digest)
}

// keepData bounds how much input a digest object keeps for a later
// pkey:sign(digest) / pkey:verify(sig, digest).
const keepData = 1 << 20

// newHashObjectTable builds a Lua object with update(...), final(s?) and
// reset() methods over h. It serves resty.sha*/md5 (final without data)
// and lua-resty-openssl's digest, hmac and mac (final(s) hashes s first).
func newHashObjectTable(L *lua.LState, h hash.Hash, module string) lua.LValue {
	return newHashObject(L, &hashObject{h: h}, module)
}

// newHashObject is newHashObjectTable for an object whose algorithm (and
// input, for pkey:sign(digest)) is known.
func newHashObject(L *lua.LState, obj *hashObject, module string) lua.LValue {
	t := L.NewTable()
	ud := L.NewUserData()
	ud.Value = obj
	t.RawSetString("_obj", ud)
	setFuncs(L, t, map[string]lfunc{
		"update": func(c *call) int {
			for i := 2; i <= c.L.GetTop(); i++ {
				b := []byte(c.str(i))
				obj.h.Write(b)
				if obj.alg != 0 && len(obj.data)+len(b) <= keepData {
					obj.data = append(obj.data, b...)
				}
			}
			return c.push(lua.LTrue)
		},
		"final": func(c *call) int {
			if c.L.GetTop() >= 2 && c.L.Get(2) != lua.LNil {
				obj.h.Write([]byte(c.str(2)))
			}
			sum := obj.h.Sum(nil)
			obj.h.Reset()
			return c.push(lua.LString(sum))
		},
		"reset": func(c *call) int {
			obj.h.Reset()
			obj.data = nil
			return c.push(lua.LTrue)
		},
	})
	t.RawSetString("_module", lua.LString(module))
	return t
}

func hashObjectLoader(alg string) lua.LGFunction {
	h, _ := digestByName(alg)
	return moduleFuncs(map[string]lfunc{
		"new": func(c *call) int {
			return c.push(newHashObject(c.L, &hashObject{h: newHash(h), alg: h}, "resty."+alg))
		},
	})
}

func digestLoader(L *lua.LState) int {
	return moduleFuncs(map[string]lfunc{
		"new": func(c *call) int {
			name := c.optStr(1, "sha1")
			h, ok := digestByName(name)
			if !ok {
				return c.nilErr("digest.new: invalid digest type \"%s\"", name)
			}
			return c.push(newHashObject(c.L, &hashObject{h: newHash(h), alg: h}, "resty.openssl.digest"))
		},
	})(L)
}

func hmacLoader(L *lua.LState) int {
	return moduleFuncs(map[string]lfunc{
		"new": func(c *call) int {
			key := c.str(1)
			name := c.optStr(2, "sha1")
			h, ok := digestByName(name)
			if !ok {
				return c.nilErr("hmac.new: invalid digest type \"%s\"", name)
			}
			return c.push(newHashObjectTable(c.L, hmac.New(func() hash.Hash { return newHash(h) }, []byte(key)), "resty.openssl.hmac"))
		},
	})(L)
}

// macLoader is resty.openssl.mac: new(key, "HMAC", nil, digest).
func macLoader(L *lua.LState) int {
	return moduleFuncs(map[string]lfunc{
		"new": func(c *call) int {
			key := c.str(1)
			typ := strings.ToUpper(c.optStr(2, "HMAC"))
			if typ != "HMAC" {
				return c.nilErr("mac.new: unsupported type \"%s\" (only HMAC)", typ)
			}
			name := c.optStr(4, "sha1")
			h, ok := digestByName(name)
			if !ok {
				return c.nilErr("mac.new: invalid digest type \"%s\"", name)
			}
			return c.push(newHashObjectTable(c.L, hmac.New(func() hash.Hash { return newHash(h) }, []byte(key)), "resty.openssl.mac"))
		},
	})(L)
}

// ngxBase64Loader is lua-resty-core's ngx.base64.
func ngxBase64Loader(L *lua.LState) int {
	return moduleFuncs(map[string]lfunc{
		"encode_base64url": func(c *call) int {
			return c.push(lua.LString(base64.RawURLEncoding.EncodeToString([]byte(c.str(1)))))
		},
		"decode_base64url": func(c *call) int {
			out, ok := DecodeBase64(c.str(1), base64.RawURLEncoding)
			if !ok {
				return c.nilErr("invalid input")
			}
			return c.push(lua.LString(out))
		},
	})(L)
}

func randomBytes(c *call, n int64) string {
	if n < 0 || n > maxRandomBytes {
		c.argError(1, fmt.Sprintf("number of bytes out of range (0..%d)", maxRandomBytes))
	}
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		c.L.RaiseError("random bytes: %v", err)
	}
	return string(buf)
}

func restyRandomLoader(L *lua.LState) int {
	return moduleFuncs(map[string]lfunc{
		"bytes": func(c *call) int { return c.push(lua.LString(randomBytes(c, c.integer(1)))) },
		"token": func(c *call) int {
			return c.push(lua.LString(hex.EncodeToString([]byte(randomBytes(c, c.integer(1))))))
		},
	})(L)
}

func opensslRandLoader(L *lua.LState) int {
	return moduleFuncs(map[string]lfunc{
		"bytes": func(c *call) int { return c.push(lua.LString(randomBytes(c, c.integer(1)))) },
	})(L)
}

func restyStringLoader(L *lua.LState) int {
	return moduleFuncs(map[string]lfunc{
		"to_hex": func(c *call) int { return c.push(lua.LString(hex.EncodeToString([]byte(c.str(1))))) },
		"atoi": func(c *call) int {
			n, err := strconv.ParseInt(strings.TrimSpace(c.str(1)), 10, 64)
			if err != nil {
				return c.push(lua.LNil)
			}
			return c.push(lua.LNumber(n))
		},
	})(L)
}

// pkeyObject wraps a private or public key.
type pkeyObject struct {
	priv crypto.Signer
	pub  crypto.PublicKey
}

// ParseKey reads a PEM (PKCS#1, PKCS#8, SEC1, PKIX, certificate) or DER
// key, private or public.
func ParseKey(data []byte) (crypto.Signer, crypto.PublicKey, error) {
	der := data
	if block, _ := pem.Decode(data); block != nil {
		der = block.Bytes
		if block.Type == "CERTIFICATE" {
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, nil, err
			}
			return nil, cert.PublicKey, nil
		}
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, s.Public(), nil
		}
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, k.Public(), nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, k.Public(), nil
	}
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		return nil, k, nil
	}
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return nil, k, nil
	}
	return nil, nil, errors.New("could not parse key (expected PEM or DER, private or public)")
}

func curveByName(name string) (elliptic.Curve, bool) {
	switch strings.ToLower(name) {
	case "prime256v1", "p-256", "secp256r1":
		return elliptic.P256(), true
	case "secp384r1", "p-384":
		return elliptic.P384(), true
	case "secp521r1", "p-521":
		return elliptic.P521(), true
	}
	return nil, false
}

// pkeySign signs data with the key's scheme: RSA PKCS#1 v1.5, ECDSA (DER
// signature, as OpenSSL gives) or Ed25519.
func pkeySign(k crypto.Signer, data []byte, h crypto.Hash) ([]byte, error) {
	if _, ok := k.(ed25519.PrivateKey); ok {
		return k.Sign(rand.Reader, data, crypto.Hash(0))
	}
	hh := newHash(h)
	hh.Write(data)
	return k.Sign(rand.Reader, hh.Sum(nil), h)
}

func pkeyVerify(pub crypto.PublicKey, sig, data []byte, h crypto.Hash) (bool, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return ed25519.Verify(k, data, sig), nil
	case *rsa.PublicKey:
		hh := newHash(h)
		hh.Write(data)
		return rsa.VerifyPKCS1v15(k, h, hh.Sum(nil), sig) == nil, nil
	case *ecdsa.PublicKey:
		hh := newHash(h)
		hh.Write(data)
		return ecdsa.VerifyASN1(k, hh.Sum(nil), sig), nil
	}
	return false, fmt.Errorf("unsupported key type %T", pub)
}

func keyTypeName(pub crypto.PublicKey) (string, int) {
	switch pub.(type) {
	case *rsa.PublicKey:
		return "rsaEncryption", 6
	case *ecdsa.PublicKey:
		return "id-ecPublicKey", 408
	case ed25519.PublicKey:
		return "ED25519", 1087
	}
	return "unknown", 0
}

func pkeyLoader(L *lua.LState) int {
	return moduleFuncs(map[string]lfunc{
		"new": func(c *call) int {
			var obj pkeyObject
			switch v := c.L.Get(1).(type) {
			case lua.LString:
				priv, pub, err := ParseKey([]byte(v))
				if err != nil {
					return c.nilErr("pkey.new: %v", err)
				}
				obj = pkeyObject{priv: priv, pub: pub}
			case *lua.LTable, *lua.LNilType:
				typ, bits, curve := "RSA", 2048, "prime256v1"
				if t, ok := v.(*lua.LTable); ok {
					if s, ok := t.RawGetString("type").(lua.LString); ok {
						typ = strings.ToUpper(string(s))
					}
					if n, ok := t.RawGetString("bits").(lua.LNumber); ok {
						bits = int(n)
					}
					if s, ok := t.RawGetString("curve").(lua.LString); ok {
						curve = string(s)
					}
				}
				switch typ {
				case "RSA":
					if bits < 1024 || bits > 4096 {
						return c.nilErr("pkey.new: invalid RSA bits %d", bits)
					}
					k, err := rsa.GenerateKey(rand.Reader, bits)
					if err != nil {
						return c.nilErr("pkey.new: %v", err)
					}
					obj = pkeyObject{priv: k, pub: k.Public()}
				case "EC":
					cv, ok := curveByName(curve)
					if !ok {
						return c.nilErr("pkey.new: unknown curve \"%s\"", curve)
					}
					k, err := ecdsa.GenerateKey(cv, rand.Reader)
					if err != nil {
						return c.nilErr("pkey.new: %v", err)
					}
					obj = pkeyObject{priv: k, pub: k.Public()}
				case "ED25519":
					_, k, err := ed25519.GenerateKey(rand.Reader)
					if err != nil {
						return c.nilErr("pkey.new: %v", err)
					}
					obj = pkeyObject{priv: k, pub: k.Public()}
				default:
					return c.nilErr("pkey.new: unsupported type \"%s\"", typ)
				}
			default:
				c.typeError(1, "string or table")
			}
			return c.push(newPkeyTable(c.L, &obj))
		},
	})(L)
}

// hashArg reads an optional digest name (default sha256), accepting a
// name string only.
func (c *call) hashArg(n int) (crypto.Hash, bool) {
	name := c.optStr(n, "sha256")
	return digestByName(name)
}

func newPkeyTable(L *lua.LState, k *pkeyObject) *lua.LTable {
	t := L.NewTable()
	setFuncs(L, t, map[string]lfunc{
		"sign": func(c *call) int {
			if k.priv == nil {
				return c.nilErr("pkey:sign: the key is not a private key")
			}
			data, h, ok := c.signInput(2, 3)
			if !ok {
				return c.nilErr("pkey:sign: invalid digest type \"%s\"", c.optStr(3, ""))
			}
			sig, err := pkeySign(k.priv, data, h)
			if err != nil {
				return c.nilErr("pkey:sign: %v", err)
			}
			if rawECDSA(c, 5) {
				if ec, isEC := k.pub.(*ecdsa.PublicKey); isEC {
					if sig, err = derToRaw(sig, ec); err != nil {
						return c.nilErr("pkey:sign: %v", err)
					}
				}
			}
			return c.push(lua.LString(sig))
		},
		"verify": func(c *call) int {
			sig := []byte(c.str(2))
			data, h, ok := c.signInput(3, 4)
			if !ok {
				return c.nilErr("pkey:verify: invalid digest type \"%s\"", c.optStr(4, ""))
			}
			if ec, isEC := k.pub.(*ecdsa.PublicKey); isEC && rawECDSA(c, 6) {
				der, err := rawToDER(sig, ec)
				if err != nil {
					return c.push(lua.LFalse)
				}
				sig = der
			}
			good, err := pkeyVerify(k.pub, sig, data, h)
			if err != nil {
				return c.nilErr("pkey:verify: %v", err)
			}
			return c.push(lua.LBool(good))
		},
		"is_private": func(c *call) int { return c.push(lua.LBool(k.priv != nil)) },
		"get_key_type": func(c *call) int {
			sn, id := keyTypeName(k.pub)
			r := c.L.NewTable()
			r.RawSetString("sn", lua.LString(sn))
			r.RawSetString("ln", lua.LString(sn))
			r.RawSetString("id", lua.LNumber(id))
			return c.push(r)
		},
		"tostring": func(c *call) int {
			which := strings.ToLower(c.optStr(2, "private"))
			format := strings.ToUpper(c.optStr(3, "PEM"))
			var der []byte
			var typ string
			var err error
			switch which {
			case "public", "publickey":
				der, err = x509.MarshalPKIXPublicKey(k.pub)
				typ = "PUBLIC KEY"
			case "private", "privatekey":
				if k.priv == nil {
					return c.nilErr("pkey:tostring: the key is not a private key")
				}
				der, err = x509.MarshalPKCS8PrivateKey(k.priv)
				typ = "PRIVATE KEY"
			default:
				return c.nilErr("pkey:tostring: unknown type \"%s\"", which)
			}
			if err != nil {
				return c.nilErr("pkey:tostring: %v", err)
			}
			if format == "DER" {
				return c.push(lua.LString(der))
			}
			return c.push(lua.LString(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})))
		},
	})
	t.RawSetString("to_PEM", t.RawGetString("tostring"))
	return t
}

// signInput reads the data to sign: a string with an optional digest name
// at argument m, or a resty.openssl.digest object (its input so far and
// its algorithm).
func (c *call) signInput(n, m int) ([]byte, crypto.Hash, bool) {
	if t, ok := c.L.Get(n).(*lua.LTable); ok {
		if ud, ok := t.RawGetString("_obj").(*lua.LUserData); ok {
			if obj, ok := ud.Value.(*hashObject); ok && obj.alg != 0 {
				return obj.data, obj.alg, true
			}
		}
		c.typeError(n, "string or digest")
	}
	data := []byte(c.str(n))
	h, ok := c.hashArg(m)
	return data, h, ok
}

// rawECDSA reads opts.ecdsa_use_raw from the options table at n.
func rawECDSA(c *call, n int) bool {
	t, ok := c.L.Get(n).(*lua.LTable)
	return ok && lua.LVAsBool(t.RawGetString("ecdsa_use_raw"))
}

func ecSize(pub *ecdsa.PublicKey) int { return (pub.Curve.Params().BitSize + 7) / 8 }

// derToRaw converts an ASN.1 ECDSA signature to r||s.
func derToRaw(der []byte, pub *ecdsa.PublicKey) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &sig); err != nil {
		return nil, err
	}
	n := ecSize(pub)
	out := make([]byte, 2*n)
	sig.R.FillBytes(out[:n])
	sig.S.FillBytes(out[n:])
	return out, nil
}

// rawToDER converts r||s to an ASN.1 ECDSA signature.
func rawToDER(raw []byte, pub *ecdsa.PublicKey) ([]byte, error) {
	n := ecSize(pub)
	if len(raw) != 2*n {
		return nil, fmt.Errorf("raw signature must be %d bytes", 2*n)
	}
	return asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:n]), new(big.Int).SetBytes(raw[n:])})
}
