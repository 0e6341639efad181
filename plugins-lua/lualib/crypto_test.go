package lualib

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"testing"
)

func TestCryptoModules(t *testing.T) {
	mac := func(key, msg string) string {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(msg))
		return hex.EncodeToString(m.Sum(nil))
	}
	s1 := sha1.Sum([]byte("abc"))
	s256 := sha256.Sum256([]byte("abcdef"))
	s512 := sha512.Sum512([]byte("abc"))
	m5 := md5.Sum([]byte("abc"))
	_, ecPriv, ecPub := ecPEM(t)
	_, rsaPriv, rsaPub := rsaPEM(t)
	L := newState(t, Options{})
	L.SetGlobal("ec_priv", luaString(ecPriv))
	L.SetGlobal("ec_pub", luaString(ecPub))
	L.SetGlobal("rsa_priv", luaString(rsaPriv))
	L.SetGlobal("rsa_pub", luaString(rsaPub))
	cases := []luaCase{
		{"hmac", `local hmac = require "resty.openssl.hmac" local str = require "resty.string"
			local h = hmac.new("key", "sha256") h:update("ab") h:update("c")
			return str.to_hex(h:final()), str.to_hex(hmac.new("key", "sha256"):final("abc"))`, mac("key", "abc") + "|" + mac("key", "abc")},
		{"hmac bad digest", `return require("resty.openssl.hmac").new("k", "nope")`, `nil|hmac.new: invalid digest type "nope"`},
		{"digest", `local d = require("resty.openssl.digest").new("sha256") d:update("abc", "def")
			return require("resty.string").to_hex(d:final())`, hex.EncodeToString(s256[:])},
		{"digest default sha1", `return require("resty.string").to_hex(require("resty.openssl.digest").new():final("abc"))`, hex.EncodeToString(s1[:])},
		{"resty.sha1", `local o = require("resty.sha1").new() o:update("abc") return require("resty.string").to_hex(o:final())`, hex.EncodeToString(s1[:])},
		{"resty.sha512", `local o = require("resty.sha512").new() o:update("a") o:update("bc") return require("resty.string").to_hex(o:final())`, hex.EncodeToString(s512[:])},
		{"resty.md5", `local o = require("resty.md5").new() o:update("abc") return require("resty.string").to_hex(o:final())`, hex.EncodeToString(m5[:])},
		{"resty.sha256 reset", `local o = require("resty.sha256").new() o:update("zzz") o:reset() o:update("abcdef") return require("resty.string").to_hex(o:final())`, hex.EncodeToString(s256[:])},
		{"atoi", `local s = require "resty.string" return s.atoi("42"), s.atoi("x")`, "42|nil"},
		{"random", `local r = require "resty.random" local a, b = r.bytes(16, true), r.bytes(16) return #a, #b, a ~= b`, "16|16|true"},
		{"pkey ec", `local pkey = require "resty.openssl.pkey"
			local k = assert(pkey.new(ec_priv)) local sig = assert(k:sign("data", "sha256"))
			local pub = assert(pkey.new(ec_pub))
			return pub:verify(sig, "data", "sha256"), pub:verify(sig, "datb", "sha256"), k:is_private(), pub:is_private(), k:get_key_type().sn`, "true|false|true|false|id-ecPublicKey"},
		{"pkey rsa", `local pkey = require "resty.openssl.pkey"
			local k = pkey.new(rsa_priv) local sig = k:sign("data", "sha512")
			return pkey.new(rsa_pub):verify(sig, "data", "sha512"), #sig, k:tostring("public") == pkey.new(rsa_pub):tostring("public")`, "true|256|true"},
		{"pkey generate", `local pkey = require "resty.openssl.pkey"
			local k = pkey.new({type = "EC", curve = "prime256v1"})
			local again = pkey.new(k:tostring("private"))
			return again:verify(k:sign("x"), "x"), k:tostring("public"):sub(1, 26)`, "true|-----BEGIN PUBLIC KEY-----"},
		{"pkey bad", `return require("resty.openssl.pkey").new("garbage")`, "nil|pkey.new: could not parse key (expected PEM or DER, private or public)"},
		{"pkey sign with public", `local pkey = require "resty.openssl.pkey" return pkey.new(ec_pub):sign("x")`, "nil|pkey:sign: the key is not a private key"},
	}
	for _, c := range cases {
		if got := eval(t, L, c.src); got != c.want {
			t.Errorf("%s: got %q\nwant %q", c.name, got, c.want)
		}
	}
}

func TestPkeyDigestObjectsAndRawECDSA(t *testing.T) {
	_, ecPriv, ecPub := ecPEM(t)
	L := newState(t, Options{})
	L.SetGlobal("ec_priv", luaString(ecPriv))
	L.SetGlobal("ec_pub", luaString(ecPub))
	runSrc := `local pkey = require "resty.openssl.pkey" local digest = require "resty.openssl.digest"
		local k, pub = pkey.new(ec_priv), pkey.new(ec_pub)
		local d = digest.new("sha256") d:update("hello ") d:update("world")
		local sig = k:sign(d)
		local raw = k:sign("hello world", "sha256", nil, {ecdsa_use_raw = true})
		local mac = require("resty.openssl.mac").new("key", "HMAC", nil, "sha256"):final("abc")
		local b64 = require "ngx.base64"
		return pub:verify(sig, "hello world", "sha256"), #raw, pub:verify(raw, "hello world", "sha256", nil, {ecdsa_use_raw = true}),
			pub:verify(raw, "hello wxrld", "sha256", nil, {ecdsa_use_raw = true}), mac == require("resty.openssl.hmac").new("key", "sha256"):final("abc"),
			b64.encode_base64url("\255\254"), b64.decode_base64url("__4")  == "\255\254", b64.decode_base64url("*")`
	if got := eval(t, L, runSrc); got != "true|64|true|false|true|__4|true|nil|invalid input" {
		t.Fatalf("got %q", got)
	}
}
