package hmacauth_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	hmacauth "github.com/gatehouse/gatehouse/runtime/plugins/hmac-auth"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

const (
	bobID  = "5f4e3d2c-1b0a-4988-8776-655443322110"
	anonID = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"
)

func newEnv() *plugintest.Env {
	env := plugintest.NewEnv()
	bob := env.AddConsumer(hostabi.Entity{"id": bobID, "username": "bob"})
	env.AddConsumer(hostabi.Entity{"id": anonID, "username": "no-body"})
	env.AddCredential(hmacauth.CredentialEntity, bob, hostabi.Entity{"username": "bob", "secret": "secret"})
	return env
}

var algs = map[string]func() hash.Hash{"hmac-sha1": sha1.New, "hmac-sha256": sha256.New, "hmac-sha384": sha512.New384, "hmac-sha512": sha512.New}

// sig is the base64 HMAC of text, as a client computes it.
func sig(alg, secret, text string) string {
	m := hmac.New(algs[alg], []byte(secret))
	m.Write([]byte(text))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func authz(user, alg, headers, signature string) string {
	return `hmac username="` + user + `", algorithm="` + alg + `", headers="` + headers + `", signature="` + signature + `"`
}

func TestAccess(t *testing.T) {
	date := time.Now().UTC().Format(http.TimeFormat)
	old := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	good := sig("hmac-sha256", "secret", "date: "+date)
	body := []byte(`{"a":1}`)
	sum := sha256.Sum256(body)
	digest := "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
	msg := func(m string) string { return `{"message":"` + m + `"}` }
	type want struct {
		status  int
		body    string
		wwwAuth string
		anon    bool
	}
	cases := []struct {
		name string
		cfg  map[string]any
		req  *plugintest.Request
		want want
	}{
		{"valid", nil, plugintest.NewRequest("GET", "/").WithHeader("Date", date).WithHeader("Authorization", authz("bob", "hmac-sha256", "date", good)), want{}},
		{"valid proxy-authorization", nil, plugintest.NewRequest("GET", "/").WithHeader("Date", date).WithHeader("Proxy-Authorization", authz("bob", "hmac-sha256", "date", good)), want{}},
		{"x-date", nil, plugintest.NewRequest("GET", "/").WithHeader("X-Date", date).WithHeader("Date", old).
			WithHeader("Authorization", authz("bob", "hmac-sha1", "x-date", sig("hmac-sha1", "secret", "x-date: "+date))), want{}},
		{"no header", nil, plugintest.NewRequest("GET", "/"), want{401, msg("Unauthorized"), "hmac", false}},
		{"no header realm", map[string]any{"realm": "r"}, plugintest.NewRequest("GET", "/"), want{401, msg("Unauthorized"), `hmac realm="r"`, false}},
		{"no date", nil, plugintest.NewRequest("GET", "/").WithHeader("Authorization", authz("bob", "hmac-sha256", "date", good)),
			want{401, msg("HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication"), "hmac", false}},
		{"old date", nil, plugintest.NewRequest("GET", "/").WithHeader("Date", old).WithHeader("Authorization", authz("bob", "hmac-sha256", "date", good)),
			want{401, msg("HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication"), "hmac", false}},
		{"wider clock skew", map[string]any{"clock_skew": 7200}, plugintest.NewRequest("GET", "/").WithHeader("Date", old).
			WithHeader("Authorization", authz("bob", "hmac-sha256", "date", sig("hmac-sha256", "secret", "date: "+old))), want{}},
		{"malformed", nil, plugintest.NewRequest("GET", "/").WithHeader("Date", date).WithHeader("Authorization", "hmac nope"),
			want{401, msg("HMAC signature cannot be verified"), "hmac", false}},
		{"unknown user", nil, plugintest.NewRequest("GET", "/").WithHeader("Date", date).WithHeader("Authorization", authz("eve", "hmac-sha256", "date", good)),
			want{401, msg("HMAC signature cannot be verified"), "hmac", false}},
		{"algorithm not allowed", map[string]any{"algorithms": []any{"hmac-sha512"}}, plugintest.NewRequest("GET", "/").WithHeader("Date", date).WithHeader("Authorization", authz("bob", "hmac-sha256", "date", good)),
			want{401, msg("HMAC signature cannot be verified"), "hmac", false}},
		{"unknown algorithm", nil, plugintest.NewRequest("GET", "/").WithHeader("Date", date).WithHeader("Authorization", authz("bob", "hmac-md5", "date", good)),
			want{401, msg("HMAC signature cannot be verified"), "hmac", false}},
		{"enforced header missing", map[string]any{"enforce_headers": []any{"date", "x-custom"}}, plugintest.NewRequest("GET", "/").WithHeader("Date", date).WithHeader("Authorization", authz("bob", "hmac-sha256", "date", good)),
			want{401, msg("HMAC signature cannot be verified"), "hmac", false}},
		{"enforced header signed", map[string]any{"enforce_headers": []any{"date", "@request-target"}}, plugintest.NewRequest("GET", "/a?b=1").WithHeader("Date", date).
			WithHeader("Authorization", authz("bob", "hmac-sha512", "date @request-target", sig("hmac-sha512", "secret", "date: "+date+"\n@request-target: get /a?b=1"))), want{}},
		{"request-line and absent header", nil, plugintest.NewRequest("POST", "/p").WithHeader("Date", date).
			WithHeader("Authorization", authz("bob", "hmac-sha384", "request-line x-none date", sig("hmac-sha384", "secret", "POST /p HTTP/1.1\nx-none:\ndate: "+date))), want{}},
		{"wrong secret", nil, plugintest.NewRequest("GET", "/").WithHeader("Date", date).WithHeader("Authorization", authz("bob", "hmac-sha256", "date", sig("hmac-sha256", "nope", "date: "+date))),
			want{401, msg("HMAC signature does not match"), "hmac", false}},
		{"signature not base64", nil, plugintest.NewRequest("GET", "/").WithHeader("Date", date).WithHeader("Authorization", authz("bob", "hmac-sha256", "date", "!!")),
			want{401, msg("HMAC signature does not match"), "hmac", false}},
		{"body digest ok", map[string]any{"validate_request_body": true}, plugintest.NewRequest("POST", "/").WithBody("application/json", body).WithHeader("Date", date).WithHeader("Digest", digest).
			WithHeader("Authorization", authz("bob", "hmac-sha256", "date", good)), want{}},
		{"body digest wrong", map[string]any{"validate_request_body": true}, plugintest.NewRequest("POST", "/").WithBody("application/json", []byte("{}")).WithHeader("Date", date).WithHeader("Digest", digest).
			WithHeader("Authorization", authz("bob", "hmac-sha256", "date", good)), want{401, msg("HMAC signature does not match"), "hmac", false}},
		{"body without digest", map[string]any{"validate_request_body": true}, plugintest.NewRequest("POST", "/").WithBody("application/json", body).WithHeader("Date", date).
			WithHeader("Authorization", authz("bob", "hmac-sha256", "date", good)), want{401, msg("HMAC signature does not match"), "hmac", false}},
		{"no body no digest", map[string]any{"validate_request_body": true}, plugintest.NewRequest("GET", "/").WithHeader("Date", date).
			WithHeader("Authorization", authz("bob", "hmac-sha256", "date", good)), want{}},
		{"anonymous", map[string]any{"anonymous": anonID}, plugintest.NewRequest("GET", "/"), want{anon: true}},
		{"anonymous by username", map[string]any{"anonymous": "no-body"}, plugintest.NewRequest("GET", "/").WithHeader("Date", date).WithHeader("Authorization", "hmac x"), want{anon: true}},
	}
	env := newEnv()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := plugintest.New(t, hmacauth.Schema(), hmacauth.New, tc.cfg)
			res := env.Run(t, p, hostabi.PhaseAccess, tc.req)
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
				if res.Consumer["id"] != anonID || res.UpstreamHeader("X-Anonymous-Consumer") != "true" {
					t.Fatalf("anonymous: %v %v", res.Consumer, res.Header)
				}
				return
			}
			if res.Consumer["id"] != bobID || res.UpstreamHeader("X-Credential-Identifier") != "bob" || res.UpstreamHeader("X-Consumer-Username") != "bob" {
				t.Fatalf("consumer %v headers %v", res.Consumer, res.Header)
			}
		})
	}
}

func TestHideCredentials(t *testing.T) {
	date := time.Now().UTC().Format(http.TimeFormat)
	good := authz("bob", "hmac-sha256", "date", sig("hmac-sha256", "secret", "date: "+date))
	env := newEnv()
	for _, hdr := range []string{"Authorization", "Proxy-Authorization"} {
		for _, hide := range []bool{false, true} {
			p := plugintest.New(t, hmacauth.Schema(), hmacauth.New, map[string]any{"hide_credentials": hide})
			res := env.Run(t, p, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/").WithHeader("Date", date).WithHeader(hdr, good))
			if res.Exited || res.Consumer["id"] != bobID {
				t.Fatalf("%s hide=%v: not authenticated: %+v", hdr, hide, res)
			}
			if got := res.HasUpstreamHeader(hdr); got == hide {
				t.Errorf("%s hide=%v: header upstream = %v", hdr, hide, got)
			}
		}
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add(authz("bob", "hmac-sha256", "date @request-target", "c2ln"))
	f.Add(`hmac username="",algorithm="",headers="",signature=""`)
	f.Add(`Hmac username="a"b", algorithm="x", headers="a  b", signature="=="`)
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := hmacauth.ParseAuthorization(s)
		if !ok {
			return
		}
		if p.Username == "" || p.Algorithm == "" || p.Signature == "" || len(p.Headers) == 0 {
			t.Fatalf("empty field in %+v from %q", p, s)
		}
		if !strings.Contains(s, p.Username) || !strings.Contains(s, p.Signature) {
			t.Fatalf("fields not from the input: %+v", p)
		}
		env := newEnv()
		inst, err := hmacauth.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		res := env.Run(t, inst, hostabi.PhaseAccess, plugintest.NewRequest("GET", "/").WithHeader("Date", time.Now().UTC().Format(http.TimeFormat)).WithHeader("Authorization", s))
		if res.Err != nil || (res.Exited && res.Status != 401) {
			t.Fatalf("%q: %v %d", s, res.Err, res.Status)
		}
	})
}

// kongExpression is Kong's expression, the reference for
// ParseAuthorization.
var kongExpression = regexp.MustCompile(`\s*[Hh]mac\s*username="(.+)",\s*algorithm="(.+)",\s*headers="(.+)",\s*signature="(.+)"`)

func FuzzParseAuthorizationAsKong(f *testing.F) {
	for _, s := range []string{
		authz("bob", "hmac-sha256", "date", "c2ln"),
		`hmac username="a", algorithm="b", headers="c", signature="d", algorithm="e", headers="f", signature="g"`,
		`xhmac username="a",algorithm="b",headers="c",signature="d"" trailing"`,
		`Hmac username="a\n", algorithm="b", headers="c", signature="d"`,
		`hmac username="a",` + "\n" + `algorithm="b",headers="c",signature="d"`,
		`hmac hmac username="u", algorithm="a", headers="h", signature="s"`,
		`hmac username=""", algorithm=""", headers=""", signature="""`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := hmacauth.ParseAuthorization(s)
		m := kongExpression.FindStringSubmatch(s)
		if ok != (m != nil) {
			t.Fatalf("%q: parsed %v, expression %q", s, ok, m)
		}
		if m != nil && (p.Username != m[1] || p.Algorithm != m[2] || strings.Join(p.Headers, " ") != m[3] || p.Signature != m[4]) {
			t.Fatalf("%q: parsed %+v, expression %q", s, p, m[1:])
		}
	})
}

// TestParseAuthorizationAdversarial: a header made of separators that a
// backtracking matcher would explore exponentially parses in bounded time.
func TestParseAuthorizationAdversarial(t *testing.T) {
	h := `hmac username="` + strings.Repeat(`",algorithm="",headers="",`, 300) + "x"
	start := time.Now()
	p, ok := hmacauth.ParseAuthorization(h)
	if m := kongExpression.FindStringSubmatch(h); ok != (m != nil) {
		t.Fatalf("parsed %v %+v, expression %v", ok, p, m != nil)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
}

func BenchmarkParseAuthorization(b *testing.B) {
	h := authz("alice-hmac", "hmac-sha256", "date @request-target digest", "dGhpcyBpcyBhIHNpZ25hdHVyZSBvZiBzb21lIGxlbmd0aA==")
	for b.Loop() {
		if _, ok := hmacauth.ParseAuthorization(h); !ok {
			b.Fatal("not parsed")
		}
	}
}

func BenchmarkAccess(b *testing.B) {
	env := newEnv()
	inst, err := hmacauth.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	date := time.Now().UTC().Format(http.TimeFormat)
	k := env.NewKong(plugintest.NewRequest("GET", "/orders").WithHeader("Date", date).
		WithHeader("Authorization", authz("bob", "hmac-sha256", "date @request-target", sig("hmac-sha256", "secret", "date: "+date+"\n@request-target: get /orders"))))
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
}
