package lualib

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

// hs256 builds a token with Go's crypto only.
func hs256(t *testing.T, secret string, header, payload map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(header)
	p, _ := json.Marshal(payload)
	msg := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return msg + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func rsaPEM(t *testing.T) (*rsa.PrivateKey, string, string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	pubDER, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	return k, string(priv), string(pub)
}

func ecPEM(t *testing.T) (*ecdsa.PrivateKey, string, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalECPrivateKey(k)
	priv := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	pubDER, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	return k, string(priv), string(pub)
}

func TestRestyJWTSignVerify(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	L := newState(t, Options{Now: clock.now})
	_, rsaPriv, rsaPub := rsaPEM(t)
	_, ecPriv, ecPub := ecPEM(t)
	L.SetGlobal("rsa_priv", luaString(rsaPriv))
	L.SetGlobal("rsa_pub", luaString(rsaPub))
	L.SetGlobal("ec_priv", luaString(ecPriv))
	L.SetGlobal("ec_pub", luaString(ecPub))
	L.SetGlobal("go_token", luaString(hs256(t, "s3cret", map[string]any{"alg": "HS256", "typ": "JWT"}, map[string]any{"sub": "alice", "exp": 1_700_000_100})))
	cases := []luaCase{
		{"hs256 exact token", `local jwt = require "resty.jwt"
			return jwt:sign("s3cret", {header = {typ = "JWT", alg = "HS256"}, payload = {sub = "alice", exp = 1700000100}})`,
			hs256(t, "s3cret", map[string]any{"alg": "HS256", "typ": "JWT"}, map[string]any{"exp": 1_700_000_100, "sub": "alice"})},
		{"verify go token", `local jwt = require "resty.jwt"
			local o = jwt:verify("s3cret", go_token)
			return o.verified, o.valid, o.reason, o.header.alg, o.payload.sub, o.signature == go_token:match("[^.]+$"), o.raw_header == go_token:match("^[^.]+")`,
			"true|true|everything is awesome~ :p|HS256|alice|true|true"},
		{"wrong secret", `local jwt = require "resty.jwt"
			local o = jwt:verify("other", go_token) return o.verified, o.reason == "signature mismatch: " .. go_token:match("[^.]+$")`, "false|true"},
		{"tampered payload", `local jwt = require "resty.jwt"
			local h, p, s = go_token:match("^([^.]+)%.([^.]+)%.([^.]+)$")
			local forged = h .. "." .. ngx.encode_base64('{"sub":"mallory","exp":1700000100}', true):gsub("+", "-"):gsub("/", "_") .. "." .. s
			local o = jwt:verify("s3cret", forged) return o.verified, o.reason:sub(1, 19)`, "false|signature mismatch:"},
		{"hs512 round trip", `local jwt = require "resty.jwt"
			local tok = jwt:sign("k", {header = {alg = "HS512"}, payload = {a = 1}})
			local o = jwt:verify("k", tok) return o.verified, #tok:match("[^.]+$")`, "true|86"},
		{"hs384 round trip", `local jwt = require "resty.jwt"
			return jwt:verify("k", jwt:sign("k", {header = {alg = "HS384"}, payload = {a = 1}})).verified`, "true"},
		{"rs256 round trip", `local jwt = require "resty.jwt"
			local tok = jwt:sign(rsa_priv, {header = {alg = "RS256", typ = "JWT"}, payload = {sub = "x"}})
			local o = jwt:verify(rsa_pub, tok) return o.verified, o.reason`, "true|everything is awesome~ :p"},
		{"rs512 wrong key", `local jwt = require "resty.jwt"
			local tok = jwt:sign(rsa_priv, {header = {alg = "RS512"}, payload = {sub = "x"}})
			local o = jwt:verify(ec_pub, tok) return o.verified`, "false"},
		{"es256 round trip", `local jwt = require "resty.jwt"
			local tok = jwt:sign(ec_priv, {header = {alg = "ES256"}, payload = {sub = "x"}})
			local o = jwt:verify(ec_pub, tok) return o.verified, #ngx.decode_base64((tok:match("[^.]+$"):gsub("-", "+"):gsub("_", "/")))`, "true|64"},
		{"bad public key", `local jwt = require "resty.jwt"
			local tok = jwt:sign(rsa_priv, {header = {alg = "RS256"}, payload = {}})
			return jwt:verify("nope", tok).reason`, "Decode secret is not a valid cert/public key: nope"},
		{"expired", `local jwt = require "resty.jwt"
			local tok = jwt:sign("k", {header = {alg = "HS256"}, payload = {exp = 1699999999}})
			local o = jwt:verify("k", tok) return o.verified, o.reason`, "false|'exp' claim expired at Tue, 14 Nov 2023 22:13:19 GMT"},
		{"not yet valid", `local jwt = require "resty.jwt"
			local tok = jwt:sign("k", {header = {alg = "HS256"}, payload = {nbf = 1700000500}})
			return jwt:verify("k", tok).reason`, "'nbf' claim not valid until Tue, 14 Nov 2023 22:21:40 GMT"},
		{"leeway", `local jwt = require "resty.jwt"
			local tok = jwt:sign("k", {header = {alg = "HS256"}, payload = {exp = 1699999999}})
			return jwt:verify("k", tok, {lifetime_grace_period = 10}).verified`, "true"},
		{"require exp", `local jwt = require "resty.jwt"
			local tok = jwt:sign("k", {header = {alg = "HS256"}, payload = {}})
			return jwt:verify("k", tok, {require_exp_claim = true}).reason`, "'exp' claim is required."},
		{"valid issuers", `local jwt = require "resty.jwt"
			local tok = jwt:sign("k", {header = {alg = "HS256"}, payload = {iss = "a"}})
			return jwt:verify("k", tok, {valid_issuers = {"a"}}).verified, jwt:verify("k", tok, {valid_issuers = {"b"}}).reason`, "true|Claim 'iss' ('a') returned failure"},
		{"claim spec", `local jwt = require "resty.jwt" local v = require "resty.jwt-validators"
			local tok = jwt:sign("k", {header = {alg = "HS256"}, payload = {role = "admin", exp = 1700000100}})
			local ok = jwt:verify("k", tok, {role = v.equals("admin"), exp = v.is_not_expired()}).verified
			local bad = jwt:verify("k", tok, {role = v.equals("user")}).reason
			local fn = jwt:verify("k", tok, {role = function(val) error("nope: " .. val) end}).reason
			return ok, bad, fn`, "true|Claim 'role' ('admin') returned failure|nope: admin"},
		{"secret function", `local jwt = require "resty.jwt"
			local tok = jwt:sign(function(kid) return "key-" .. kid end, {header = {alg = "HS256", kid = "7"}, payload = {}})
			return jwt:verify("key-7", tok).verified`, "true"},
		{"alg whitelist", `local jwt = require "resty.jwt"
			local tok = jwt:sign("k", {header = {alg = "HS256"}, payload = {}})
			jwt:set_alg_whitelist({RS256 = 1}) local r = jwt:verify("k", tok).reason jwt:set_alg_whitelist(nil) return r`, "whitelist unsupported alg: HS256"},
		{"unsupported alg sign", `local jwt = require "resty.jwt"
			local ok, err = pcall(jwt.sign, jwt, "k", {header = {alg = "none"}, payload = {}}) return ok, err.reason`, "false|unsupported alg: none"},
		{"load_jwt", `local jwt = require "resty.jwt"
			local o = jwt:load_jwt(go_token) return o.valid, o.verified, o.header.typ, o.payload.exp, o.reason`, "true|false|JWT|1700000100|nil"},
		{"load garbage", `local jwt = require "resty.jwt" local o = jwt:load_jwt("abc") return o.valid, o.verified, o.reason`, "false|false|invalid jwt string"},
		{"load bad base64", `local jwt = require "resty.jwt" return jwt:load_jwt("!!!.e30.x").reason`, "invalid header: !!!"},
		{"verify garbage", `local jwt = require "resty.jwt" local o = jwt:verify("k", "a.b") return o.verified, o.valid, o.reason`, "false|nil|invalid jwt string"},
	}
	for _, c := range cases {
		if got := eval(t, L, c.src); got != c.want {
			t.Errorf("%s: got %q\nwant %q", c.name, got, c.want)
		}
	}
}

func TestJWTParser(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	L := newState(t, Options{Now: clock.now})
	ecKey, ecPriv, ecPub := ecPEM(t)
	L.SetGlobal("ec_priv", luaString(ecPriv))
	L.SetGlobal("ec_pub", luaString(ecPub))
	L.SetGlobal("go_token", luaString(hs256(t, "s3cret", map[string]any{"alg": "HS256", "typ": "JWT"}, map[string]any{"iss": "key1", "exp": 1_700_000_100, "nbf": 1_699_999_000})))
	// An ES256 token signed with Go's crypto (raw r||s).
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","typ":"JWT"}`))
	p := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"k"}`))
	digest := sha256.Sum256([]byte(h + "." + p))
	r, s, _ := ecdsa.Sign(rand.Reader, ecKey, digest[:])
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	L.SetGlobal("es_token", luaString(h+"."+p+"."+base64.RawURLEncoding.EncodeToString(sig)))
	_ = crypto.SHA256
	_ = big.NewInt
	cases := []luaCase{
		{"parse", `local p = require "kong.plugins.jwt.jwt_parser"
			local j = assert(p:new(go_token))
			return j.header.alg, j.claims.iss, #j.signature, j.header_64 .. "." .. j.claims_64 .. "." .. j.signature_64 == go_token, j.token == go_token`,
			"HS256|key1|32|true|true"},
		{"verify signature", `local p = require "kong.plugins.jwt.jwt_parser"
			local j = p:new(go_token) return j:verify_signature("s3cret"), j:verify_signature("wrong")`, "true|false"},
		{"registered claims ok", `local p = require "kong.plugins.jwt.jwt_parser"
			return p:new(go_token):verify_registered_claims({"exp", "nbf"})`, "true|nil"},
		{"registered claims errors", `local p = require "kong.plugins.jwt.jwt_parser"
			local j = p:new(p.encode({exp = 1699999000, nbf = "x"}, "k"))
			local ok, errs = j:verify_registered_claims({"exp", "nbf"}) return ok, errs.exp, errs.nbf`, "false|token expired|must be a number"},
		{"not valid yet", `local p = require "kong.plugins.jwt.jwt_parser"
			local ok, errs = p:new(p.encode({nbf = 1700000001}, "k")):verify_registered_claims({"nbf"}) return ok, errs.nbf`, "false|token not valid yet"},
		{"maximum expiration", `local p = require "kong.plugins.jwt.jwt_parser"
			local j = p:new(go_token)
			local a = j:check_maximum_expiration(0)
			local b = j:check_maximum_expiration(1000)
			local c, errs = j:check_maximum_expiration(50)
			return a, b, c, errs.exp`, "true|true|false|exceeds maximum allowed expiration"},
		{"encode default header", `local p = require "kong.plugins.jwt.jwt_parser"
			local tok = p.encode({sub = "a"}, "k") local j = p:new(tok) return j.header.typ, j.header.alg, j:verify_signature("k")`, "JWT|HS256|true"},
		{"es256 from go", `local p = require "kong.plugins.jwt.jwt_parser"
			return p:new(es_token):verify_signature(ec_pub)`, "true"},
		{"es256 encode", `local p = require "kong.plugins.jwt.jwt_parser"
			return p:new(p.encode({a = 1}, ec_priv, "ES256")):verify_signature(ec_pub)`, "true"},
		{"invalid public key", `local p = require "kong.plugins.jwt.jwt_parser"
			local ok, err = pcall(p:new(es_token).verify_signature, p:new(es_token), "garbage") return ok, err:match("Consumer Public Key is Invalid") ~= nil`, "false|true"},
		{"malformed: two parts", `local p = require "kong.plugins.jwt.jwt_parser" return p:new("a.b")`, "nil|invalid JSON"},
		{"malformed: bad json", `local p = require "kong.plugins.jwt.jwt_parser" return p:new("e30x.e30.abc")`, "nil|invalid JSON"},
		{"malformed: no alg", `local p = require "kong.plugins.jwt.jwt_parser" return p:new("e30.e30.abc")`, "nil|invalid alg"},
		{"malformed: unknown alg", `local p = require "kong.plugins.jwt.jwt_parser" return p:new(ngx.encode_base64('{"alg":"none"}', true) .. ".e30.")`, "nil|invalid alg"},
		{"malformed: bad signature", `local p = require "kong.plugins.jwt.jwt_parser" return p:new(ngx.encode_base64('{"alg":"HS256"}', true) .. ".e30.a")`, "nil|invalid signature"},
		{"not a string", `local p = require "kong.plugins.jwt.jwt_parser" return select(2, pcall(p.new, p, 42))`, "<string>:1: Token must be a string, got 42"},
		{"base64_decode", `local p = require "kong.plugins.jwt.jwt_parser" return p:base64_decode("aGk")`, "hi"},
		{"asn sequence", `local a = require "kong.plugins.jwt.asn_sequence"
			local seq = a.create_simple_sequence({[1] = "\1\2", [2] = "\3"})
			local back = a.parse_simple_sequence(seq)
			return #seq, back[1] == "\1\2", back[2] == "\3", a.unsign_integer("\0\255", 1) == "\255", a.resign_integer("\255") == "\0\255"`, "9|true|true|true|true"},
		{"asn errors", `local a = require "kong.plugins.jwt.asn_sequence" return select(2, pcall(a.parse_simple_sequence, "\49\0"))`, "<string>:1: Argument #1 is not a sequence"},
	}
	for _, c := range cases {
		if got := eval(t, L, c.src); got != c.want {
			t.Errorf("%s: got %q\nwant %q", c.name, got, c.want)
		}
	}
	if strings.Count(eval(t, L, `return go_token`), ".") != 2 {
		t.Fatal("fixture token malformed")
	}
}
