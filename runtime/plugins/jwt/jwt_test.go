package jwt_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"hash"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugins/jwt"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

const (
	bobID  = "5f4e3d2c-1b0a-4988-8776-655443322110"
	anonID = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"
)

// keys are the test key pairs by algorithm family.
type keys struct {
	rsa *rsa.PrivateKey
	ec  map[string]*ecdsa.PrivateKey
	ed  ed25519.PrivateKey
}

var testKeys = func() keys {
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	k := keys{rsa: r, ec: map[string]*ecdsa.PrivateKey{}}
	for alg, c := range map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()} {
		if k.ec[alg], err = ecdsa.GenerateKey(c, rand.Reader); err != nil {
			panic(err)
		}
	}
	_, k.ed, _ = ed25519.GenerateKey(rand.Reader)
	return k
}()

func pemOf(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func hashOf(alg string) (crypto.Hash, func() hash.Hash) {
	switch alg[len(alg)-3:] {
	case "384":
		return crypto.SHA384, sha512.New384
	case "512":
		return crypto.SHA512, sha512.New
	}
	return crypto.SHA256, sha256.New
}

// sign makes a token with the given header and claims, signed for alg
// with secret (HS*) or the test keys.
func sign(t testing.TB, header, claims map[string]any, secret string) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(header) + "." + enc(claims)
	alg, _ := header["alg"].(string)
	var sig []byte
	var err error
	switch {
	case strings.HasPrefix(alg, "HS"):
		_, h := hashOf(alg)
		m := hmac.New(h, []byte(secret))
		m.Write([]byte(input))
		sig = m.Sum(nil)
	case alg == "EdDSA":
		sig = ed25519.Sign(testKeys.ed, []byte(input))
	default:
		ch, h := hashOf(alg)
		d := h()
		d.Write([]byte(input))
		digest := d.Sum(nil)
		switch alg[:2] {
		case "RS":
			sig, err = rsa.SignPKCS1v15(rand.Reader, testKeys.rsa, ch, digest)
		case "PS":
			sig, err = rsa.SignPSS(rand.Reader, testKeys.rsa, ch, digest, nil)
		case "ES":
			key := testKeys.ec[alg]
			r, s, e := ecdsa.Sign(rand.Reader, key, digest)
			size := (key.Curve.Params().BitSize + 7) / 8
			sig = make([]byte, 2*size)
			r.FillBytes(sig[:size])
			s.FillBytes(sig[size:])
			err = e
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func hs(claims map[string]any, secret string) func(testing.TB) string {
	return func(t testing.TB) string {
		return sign(t, map[string]any{"typ": "JWT", "alg": "HS256"}, claims, secret)
	}
}

type fixture struct {
	env *plugintest.Env
}

func newFixture() *fixture {
	env := plugintest.NewEnv()
	bob := env.AddConsumer(hostabi.Entity{"id": bobID, "username": "bob", "custom_id": "bob-42"})
	env.AddConsumer(hostabi.Entity{"id": anonID, "username": "no-body"})
	env.AddCredential(jwt.SecretEntity, bob, hostabi.Entity{"key": "bob-key", "secret": "bob-secret", "algorithm": "HS256"})
	env.AddCredential(jwt.SecretEntity, bob, hostabi.Entity{"key": "b64", "secret": base64.RawURLEncoding.EncodeToString([]byte("raw\x00secret")), "algorithm": "HS256"})
	env.AddCredential(jwt.SecretEntity, bob, hostabi.Entity{"key": "hs512", "secret": "s512", "algorithm": "HS512"})
	for _, alg := range []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"} {
		env.AddCredential(jwt.SecretEntity, bob, hostabi.Entity{"key": alg, "algorithm": alg, "rsa_public_key": pemOf(&testKeys.rsa.PublicKey)})
	}
	for alg, k := range testKeys.ec {
		env.AddCredential(jwt.SecretEntity, bob, hostabi.Entity{"key": alg, "algorithm": alg, "rsa_public_key": pemOf(&k.PublicKey)})
	}
	env.AddCredential(jwt.SecretEntity, bob, hostabi.Entity{"key": "EdDSA", "algorithm": "EdDSA", "rsa_public_key": pemOf(testKeys.ed.Public())})
	env.AddCredential(jwt.SecretEntity, nil, hostabi.Entity{"key": "orphan", "secret": "o", "algorithm": "HS256"})
	return &fixture{env: env}
}

func TestAccess(t *testing.T) {
	now := time.Now().Unix()
	bobTok := hs(map[string]any{"iss": "bob-key"}, "bob-secret")
	const errChallenge = `Bearer error="invalid_token"`
	type want struct {
		status  int    // 0: authenticated as bob (or anon)
		body    string // exact JSON body
		wwwAuth string
		anon    bool
	}
	req := func(tok func(testing.TB) string, where string) func(testing.TB) *plugintest.Request {
		return func(t testing.TB) *plugintest.Request {
			s := tok(t)
			switch where {
			case "query":
				return plugintest.NewRequest("GET", "/?jwt="+s)
			case "cookie":
				return plugintest.NewRequest("GET", "/").WithHeader("Cookie", "a=b; crumble="+s)
			}
			return plugintest.NewRequest("GET", "/").WithHeader("Authorization", "Bearer "+s)
		}
	}
	plain := func(r *plugintest.Request) func(testing.TB) *plugintest.Request {
		return func(testing.TB) *plugintest.Request { return r }
	}
	msg := func(m string) string { return `{"message":"` + m + `"}` }
	cases := []struct {
		name string
		cfg  map[string]any
		req  func(testing.TB) *plugintest.Request
		want want
	}{
		{"header", nil, req(bobTok, "header"), want{}},
		{"query", nil, req(bobTok, "query"), want{}},
		{"cookie", map[string]any{"cookie_names": []any{"crumble"}}, req(bobTok, "cookie"), want{}},
		{"cookie not configured", nil, req(bobTok, "cookie"), want{401, msg("Unauthorized"), "Bearer", false}},
		{"custom header", map[string]any{"header_names": []any{"x_token"}},
			func(t testing.TB) *plugintest.Request {
				return plugintest.NewRequest("GET", "/").WithHeader("X-Token", "bearer "+bobTok(t))
			}, want{}},
		{"custom uri param", map[string]any{"uri_param_names": []any{"token"}},
			func(t testing.TB) *plugintest.Request { return plugintest.NewRequest("GET", "/?token="+bobTok(t)) }, want{}},
		{"no token", nil, plain(plugintest.NewRequest("GET", "/")), want{401, msg("Unauthorized"), "Bearer", false}},
		{"no token with realm", map[string]any{"realm": "kong"}, plain(plugintest.NewRequest("GET", "/")), want{401, msg("Unauthorized"), `Bearer realm="kong"`, false}},
		{"basic scheme ignored", nil, plain(plugintest.NewRequest("GET", "/").WithHeader("Authorization", "Basic abc")), want{401, msg("Unauthorized"), "Bearer", false}},
		{"multiple tokens", nil, func(t testing.TB) *plugintest.Request {
			return plugintest.NewRequest("GET", "/?jwt=a.b.c").WithHeader("Authorization", "Bearer "+bobTok(t))
		}, want{401, msg("Multiple tokens provided"), errChallenge, false}},
		{"same token twice", nil, func(t testing.TB) *plugintest.Request {
			s := bobTok(t)
			return plugintest.NewRequest("GET", "/?jwt="+s).WithHeader("Authorization", "Bearer "+s)
		}, want{}},
		{"flag arg", nil, plain(plugintest.NewRequest("GET", "/?jwt")), want{401, msg("Unrecognizable token"), errChallenge, false}},
		{"not a token", nil, plain(plugintest.NewRequest("GET", "/?jwt=abc")), want{401, msg("Bad token; invalid JSON"), errChallenge, false}},
		{"bad alg", nil, func(t testing.TB) *plugintest.Request {
			return plugintest.NewRequest("GET", "/?jwt="+sign(t, map[string]any{"alg": "HS256"}, map[string]any{"iss": "bob-key"}, "x")[0:0]+
				base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`))+"."+base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"bob-key"}`))+".")
		}, want{401, msg("Bad token; invalid alg"), errChallenge, false}},
		{"no iss", nil, req(hs(map[string]any{"sub": "x"}, "bob-secret"), "header"), want{401, msg("No mandatory 'iss' in claims"), errChallenge, false}},
		{"empty iss", nil, req(hs(map[string]any{"iss": ""}, "bob-secret"), "header"), want{401, msg("Invalid 'iss' in claims"), errChallenge, false}},
		{"unknown iss", nil, req(hs(map[string]any{"iss": "who"}, "bob-secret"), "header"), want{401, msg("No credentials found for given 'iss'"), errChallenge, false}},
		{"key claim name", map[string]any{"key_claim_name": "kid"}, req(hs(map[string]any{"kid": "bob-key"}, "bob-secret"), "header"), want{}},
		{"key claim in header", map[string]any{"key_claim_name": "kid"}, func(t testing.TB) *plugintest.Request {
			return plugintest.NewRequest("GET", "/?jwt="+sign(t, map[string]any{"alg": "HS256", "kid": "bob-key"}, map[string]any{}, "bob-secret"))
		}, want{}},
		{"false claim falls back to the header", nil, func(t testing.TB) *plugintest.Request {
			return plugintest.NewRequest("GET", "/?jwt="+sign(t, map[string]any{"alg": "HS256", "iss": "bob-key"}, map[string]any{"iss": false}, "bob-secret"))
		}, want{}},
		{"wrong alg for secret", nil, func(t testing.TB) *plugintest.Request {
			return plugintest.NewRequest("GET", "/?jwt="+sign(t, map[string]any{"alg": "HS384"}, map[string]any{"iss": "bob-key"}, "bob-secret"))
		}, want{401, msg("Invalid algorithm"), errChallenge, false}},
		{"bad signature", nil, req(hs(map[string]any{"iss": "bob-key"}, "nope"), "header"), want{401, msg("Invalid signature"), errChallenge, false}},
		{"base64 secret", map[string]any{"secret_is_base64": true}, req(hs(map[string]any{"iss": "b64"}, "raw\x00secret"), "header"), want{}},
		{"base64 secret off", nil, req(hs(map[string]any{"iss": "b64"}, "raw\x00secret"), "header"), want{401, msg("Invalid signature"), errChallenge, false}},
		{"exp ok", map[string]any{"claims_to_verify": []any{"exp"}}, req(hs(map[string]any{"iss": "bob-key", "exp": now + 60}, "bob-secret"), "header"), want{}},
		{"exp past", map[string]any{"claims_to_verify": []any{"exp"}}, req(hs(map[string]any{"iss": "bob-key", "exp": now - 1}, "bob-secret"), "header"),
			want{401, `{"exp":"token expired"}`, errChallenge, false}},
		{"exp not a number", map[string]any{"claims_to_verify": []any{"exp"}}, req(hs(map[string]any{"iss": "bob-key", "exp": "soon"}, "bob-secret"), "header"),
			want{401, `{"exp":"must be a number"}`, errChallenge, false}},
		{"exp past unchecked", nil, req(hs(map[string]any{"iss": "bob-key", "exp": now - 1}, "bob-secret"), "header"), want{}},
		{"nbf future", map[string]any{"claims_to_verify": []any{"nbf", "exp"}}, req(hs(map[string]any{"iss": "bob-key", "nbf": now + 100}, "bob-secret"), "header"),
			want{401, `{"exp":"must be a number","nbf":"token not valid yet"}`, errChallenge, false}},
		{"max expiration exceeded", map[string]any{"claims_to_verify": []any{"exp"}, "maximum_expiration": 60}, req(hs(map[string]any{"iss": "bob-key", "exp": now + 600}, "bob-secret"), "header"),
			want{401, `{"exp":"exceeds maximum allowed expiration"}`, errChallenge, false}},
		{"max expiration ok", map[string]any{"claims_to_verify": []any{"exp"}, "maximum_expiration": 600}, req(hs(map[string]any{"iss": "bob-key", "exp": now + 60}, "bob-secret"), "header"), want{}},
		{"realm error challenge", map[string]any{"realm": "r"}, req(hs(map[string]any{"iss": "x"}, "y"), "header"),
			want{401, msg("No credentials found for given 'iss'"), `Bearer realm="r", error="invalid_token"`, false}},
		{"anonymous on failure", map[string]any{"anonymous": anonID}, plain(plugintest.NewRequest("GET", "/")), want{anon: true}},
		{"anonymous by username", map[string]any{"anonymous": "no-body"}, req(hs(map[string]any{"iss": "bob-key"}, "bad"), "header"), want{anon: true}},
		{"anonymous, valid token", map[string]any{"anonymous": anonID}, req(bobTok, "header"), want{}},
		{"preflight runs", nil, plain(plugintest.NewRequest("OPTIONS", "/")), want{401, msg("Unauthorized"), "Bearer", false}},
		{"orphan secret", nil, req(hs(map[string]any{"iss": "orphan"}, "o"), "header"), want{401, msg("Could not find consumer for 'iss=orphan'"), "", false}},
	}
	for _, alg := range []string{"HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"} {
		key := alg
		if alg == "HS512" {
			key = "hs512"
		}
		cases = append(cases, struct {
			name string
			cfg  map[string]any
			req  func(testing.TB) *plugintest.Request
			want want
		}{"alg " + alg, nil, func(t testing.TB) *plugintest.Request {
			return plugintest.NewRequest("GET", "/").WithHeader("Authorization", "Bearer "+sign(t, map[string]any{"alg": alg, "typ": "JWT"}, map[string]any{"iss": key}, "s512"))
		}, want{}})
	}
	// A token signed with another key of the right kind fails.
	cases = append(cases, struct {
		name string
		cfg  map[string]any
		req  func(testing.TB) *plugintest.Request
		want want
	}{"ES256 token checked against the ES384 key", nil, func(t testing.TB) *plugintest.Request {
		tok := sign(t, map[string]any{"alg": "ES384"}, map[string]any{"iss": "ES384"}, "")
		parts := strings.Split(tok, ".")
		other := sign(t, map[string]any{"alg": "ES384"}, map[string]any{"iss": "ES384", "x": 1}, "")
		return plugintest.NewRequest("GET", "/?jwt="+parts[0]+"."+parts[1]+"."+strings.Split(other, ".")[2])
	}, want{401, msg("Invalid signature"), errChallenge, false}})

	f := newFixture()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := plugintest.New(t, jwt.Schema(), jwt.New, tc.cfg)
			res := f.env.Run(t, p, hostabi.PhaseAccess, tc.req(t))
			if res.Err != nil {
				t.Fatalf("error: %v", res.Err)
			}
			if tc.want.status != 0 {
				if !res.Exited || res.Status != tc.want.status || string(res.ExitBody) != tc.want.body {
					t.Fatalf("got exit=%v %d %s, want %d %s", res.Exited, res.Status, res.ExitBody, tc.want.status, tc.want.body)
				}
				if got := res.ExitHeaders["WWW-Authenticate"]; got != tc.want.wwwAuth {
					t.Errorf("WWW-Authenticate = %q, want %q", got, tc.want.wwwAuth)
				}
				return
			}
			if res.Exited {
				t.Fatalf("unexpected exit %d %s", res.Status, res.ExitBody)
			}
			if tc.want.anon {
				if res.Consumer["id"] != anonID || res.UpstreamHeader("X-Anonymous-Consumer") != "true" || res.HasUpstreamHeader("X-Credential-Identifier") {
					t.Fatalf("anonymous: consumer %v headers %v", res.Consumer, res.Header)
				}
				return
			}
			if res.Consumer["id"] != bobID || res.UpstreamHeader("X-Consumer-Username") != "bob" || res.UpstreamHeader("X-Consumer-Custom-ID") != "bob-42" {
				t.Fatalf("consumer %v headers %v", res.Consumer, res.Header)
			}
			if res.UpstreamHeader("X-Credential-Identifier") != res.Credential["key"] || res.HasUpstreamHeader("X-Anonymous-Consumer") {
				t.Errorf("credential headers %v", res.Header)
			}
			if tok, _ := res.Shared[jwt.SharedTokenKey].(string); strings.Count(tok, ".") != 2 {
				t.Errorf("kong.ctx.shared token = %v", res.Shared[jwt.SharedTokenKey])
			}
		})
	}
}

func TestRunOnPreflightOff(t *testing.T) {
	f := newFixture()
	p := plugintest.New(t, jwt.Schema(), jwt.New, map[string]any{"run_on_preflight": false})
	if res := f.env.Run(t, p, hostabi.PhaseAccess, plugintest.NewRequest("OPTIONS", "/")); res.Exited || res.Err != nil || res.Consumer != nil {
		t.Fatalf("preflight: %+v", res)
	}
	if res := f.env.Run(t, p, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/")); res.Status != 401 {
		t.Fatalf("GET: %+v", res)
	}
}

func TestParsePublicKey(t *testing.T) {
	for name, text := range map[string]string{
		"rsa": pemOf(&testKeys.rsa.PublicKey), "ec": pemOf(&testKeys.ec["ES256"].PublicKey), "ed25519": pemOf(testKeys.ed.Public()),
		"pkcs1": string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&testKeys.rsa.PublicKey)})),
	} {
		if _, err := jwt.ParsePublicKey(text); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, bad := range []string{"", "nope", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"} {
		if _, err := jwt.ParsePublicKey(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add(sign(f, map[string]any{"alg": "HS256"}, map[string]any{"iss": "a"}, "s"))
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJIUzI1NiJ9.e30.")
	f.Add("....")
	f.Add("eyJhbGciOiJIUzI1NiJ9=.e30=.=x")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := jwt.ParseToken(s)
		if err != nil {
			if tok != nil {
				t.Fatal("token with error")
			}
			return
		}
		if tok.Header == nil || tok.Claims == nil || tok.Alg == "" {
			t.Fatalf("incomplete token %+v", tok)
		}
		_ = tok.VerifyHMAC([]byte("k"))
		_ = tok.VerifyKey(&testKeys.rsa.PublicKey)
		_ = tok.VerifyKey(&testKeys.ec["ES256"].PublicKey)
		_ = tok.VerifyKey(testKeys.ed.Public())
	})
}

func BenchmarkAccess(b *testing.B) {
	f := newFixture()
	for _, alg := range []string{"HS256", "RS256", "ES256", "EdDSA"} {
		b.Run(alg, func(b *testing.B) {
			key := alg
			if alg == "HS256" {
				key = "bob-key"
			}
			tok := sign(b, map[string]any{"alg": alg}, map[string]any{"iss": key, "exp": time.Now().Unix() + 3600}, "bob-secret")
			inst, err := jwt.New(map[string]any{"claims_to_verify": []any{"exp"}})
			if err != nil {
				b.Fatal(err)
			}
			k := f.env.NewKong(plugintest.NewRequest("GET", "/orders").WithHeader("Authorization", "Bearer "+tok))
			b.ReportAllocs()
			for b.Loop() {
				k.Reset()
				if err := plugintest.Call(k, inst, hostabi.PhaseAccess); err != nil {
					b.Fatal(err)
				}
			}
			if res := k.Result(); res.Consumer["id"] != bobID {
				b.Fatalf("not authenticated: %+v", res)
			}
		})
	}
}

// bearerRE is Kong's expression, the reference for BearerToken.
var bearerRE = regexp.MustCompile(`\s*[Bb]earer\s+(.+)`)

func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  ", "Bearer ", "xBearer y", "Bearer\t\tz", "Bearer \n x", "Bearer\n\n", "BEARER a bearer b", "Bearerx bearer y", " \r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := jwt.BearerToken(s)
		m := bearerRE.FindStringSubmatch(s)
		if (m != nil) != ok || (m != nil && m[1] != got) {
			t.Fatalf("%q: BearerToken = %q, %v; expression = %q", s, got, ok, m)
		}
	})
}
