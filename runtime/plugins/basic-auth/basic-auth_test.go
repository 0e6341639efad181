package basicauth_test

import (
	"encoding/base64"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	basicauth "github.com/gatehouse/gatehouse/runtime/plugins/basic-auth"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

const (
	userID = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"
	anonID = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"
)

func basic(userpass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(userpass))
}

type fixture struct {
	env  *plugintest.Env
	user hostabi.Entity
	cred hostabi.Entity
}

func newFixture() *fixture {
	env := plugintest.NewEnv()
	f := &fixture{env: env}
	f.user = env.AddConsumer(hostabi.Entity{"id": userID, "username": "aladdin", "custom_id": "a-1"})
	f.cred = env.AddCredential(basicauth.CredentialEntity, f.user, hostabi.Entity{"username": "Aladdin", "password": "OpenSesame"})
	env.AddConsumer(hostabi.Entity{"id": anonID, "username": "anonymous"})
	colon := env.AddConsumer(hostabi.Entity{"username": "colon"})
	env.AddCredential(basicauth.CredentialEntity, colon, hostabi.Entity{"username": "user", "password": "pass:word"})
	return f
}

func newPlugin(t *testing.T, cfg map[string]any) any {
	t.Helper()
	return plugintest.New(t, basicauth.Schema(), basicauth.New, cfg)
}

func TestAccess(t *testing.T) {
	cases := []struct {
		name     string
		cfg      map[string]any
		headers  [][2]string
		status   int
		message  string
		wwwAuth  string
		consumer string
		anon     bool
		err      string
	}{
		{name: "valid Authorization", headers: [][2]string{{"Authorization", basic("Aladdin:OpenSesame")}}, consumer: "aladdin"},
		{name: "lower-case scheme", headers: [][2]string{{"Authorization", "basic " + base64.StdEncoding.EncodeToString([]byte("Aladdin:OpenSesame"))}}, consumer: "aladdin"},
		{name: "unpadded base64", headers: [][2]string{{"Authorization", "Basic " + base64.RawStdEncoding.EncodeToString([]byte("Aladdin:OpenSesame"))}}, consumer: "aladdin"},
		{name: "valid Proxy-Authorization", headers: [][2]string{{"Proxy-Authorization", basic("Aladdin:OpenSesame")}}, consumer: "aladdin"},
		{name: "password with colon", headers: [][2]string{{"Authorization", basic("user:pass:word")}}, consumer: "colon"},
		{name: "proxy falls back to Authorization", headers: [][2]string{{"Proxy-Authorization", basic("nobody:x")}, {"Authorization", basic("Aladdin:OpenSesame")}}, consumer: "aladdin"},
		{name: "missing headers", status: 401, message: "Unauthorized", wwwAuth: `Basic realm="service"`},
		{name: "custom realm", cfg: map[string]any{"realm": "kong"}, status: 401, message: "Unauthorized", wwwAuth: `Basic realm="kong"`},
		{name: "wrong password", headers: [][2]string{{"Authorization", basic("Aladdin:nope")}}, status: 401, message: "Invalid authentication credentials", wwwAuth: `Basic realm="service"`},
		{name: "unknown user", headers: [][2]string{{"Authorization", basic("Genie:OpenSesame")}}, status: 401, message: "Invalid authentication credentials", wwwAuth: `Basic realm="service"`},
		{name: "not basic", headers: [][2]string{{"Authorization", "Bearer abc"}}, status: 401, message: "Invalid authentication credentials", wwwAuth: `Basic realm="service"`},
		{name: "upper-case scheme is not recognised", headers: [][2]string{{"Authorization", "BASIC " + base64.StdEncoding.EncodeToString([]byte("Aladdin:OpenSesame"))}}, status: 401, message: "Invalid authentication credentials", wwwAuth: `Basic realm="service"`},
		{name: "bad base64", headers: [][2]string{{"Authorization", "Basic !!!"}}, status: 401, message: "Invalid authentication credentials", wwwAuth: `Basic realm="service"`},
		{name: "no colon", headers: [][2]string{{"Authorization", basic("Aladdin")}}, status: 401, message: "Invalid authentication credentials", wwwAuth: `Basic realm="service"`},
		{name: "empty username", headers: [][2]string{{"Authorization", basic(":OpenSesame")}}, status: 401, message: "Invalid authentication credentials", wwwAuth: `Basic realm="service"`},
		{name: "proxy credential found with wrong password", headers: [][2]string{{"Proxy-Authorization", basic("Aladdin:bad")}, {"Authorization", basic("Aladdin:OpenSesame")}}, status: 401, message: "Invalid authentication credentials", wwwAuth: `Basic realm="service"`},
		{name: "anonymous on missing headers", cfg: map[string]any{"anonymous": anonID}, consumer: "anonymous", anon: true},
		{name: "anonymous by username", cfg: map[string]any{"anonymous": "anonymous"}, headers: [][2]string{{"Authorization", basic("Aladdin:nope")}}, consumer: "anonymous", anon: true},
		{name: "anonymous with valid credentials", cfg: map[string]any{"anonymous": anonID}, headers: [][2]string{{"Authorization", basic("Aladdin:OpenSesame")}}, consumer: "aladdin"},
		{name: "unknown anonymous", cfg: map[string]any{"anonymous": "ghost"}, err: "anonymous consumer ghost is configured but doesn't exist"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			req := plugintest.NewRequest("GET", "/")
			for _, h := range tc.headers {
				req.WithHeader(h[0], h[1])
			}
			res := f.env.Run(t, newPlugin(t, tc.cfg), hostabi.PhaseAccess, req)
			if tc.err != "" {
				if res.Err == nil || !strings.Contains(res.Err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", res.Err, tc.err)
				}
				return
			}
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if tc.status != 0 {
				if !res.Exited || res.Status != tc.status || res.ExitMessage() != tc.message {
					t.Fatalf("exit %v %d %s, want %d %q", res.Exited, res.Status, res.ExitBody, tc.status, tc.message)
				}
				if got := res.ExitHeaders["WWW-Authenticate"]; got != tc.wwwAuth {
					t.Errorf("WWW-Authenticate = %q, want %q", got, tc.wwwAuth)
				}
				return
			}
			if res.Exited {
				t.Fatalf("unexpected exit %d %s", res.Status, res.ExitBody)
			}
			if got := res.UpstreamHeader("X-Consumer-Username"); got != tc.consumer || res.Consumer["username"] != tc.consumer {
				t.Fatalf("consumer %v, header %q, want %s", res.Consumer, got, tc.consumer)
			}
			if tc.anon {
				if res.UpstreamHeader("X-Anonymous-Consumer") != "true" || res.Credential != nil || res.HasUpstreamHeader("X-Credential-Identifier") {
					t.Errorf("anonymous headers %v", res.Header)
				}
			} else if res.HasUpstreamHeader("X-Anonymous-Consumer") || res.UpstreamHeader("X-Credential-Identifier") != res.Credential["username"] {
				t.Errorf("headers %v credential %v", res.Header, res.Credential)
			}
		})
	}
}

func TestConsumerHeaders(t *testing.T) {
	f := newFixture()
	res := f.env.Run(t, newPlugin(t, nil), hostabi.PhaseAccess,
		plugintest.NewRequest("GET", "/").WithHeader("Authorization", basic("Aladdin:OpenSesame")).WithHeader("X-Anonymous-Consumer", "true"))
	want := map[string]string{
		"X-Consumer-ID": userID, "X-Consumer-Custom-ID": "a-1", "X-Consumer-Username": "aladdin",
		"X-Credential-Identifier": "Aladdin",
	}
	for n, v := range want {
		if got := res.UpstreamHeader(n); got != v {
			t.Errorf("%s = %q, want %q", n, got, v)
		}
	}
	if res.HasUpstreamHeader("X-Anonymous-Consumer") {
		t.Error("X-Anonymous-Consumer kept")
	}
	if res.UpstreamHeader("Authorization") == "" {
		t.Error("Authorization removed without hide_credentials")
	}
	if len(res.AuthCalls) != 1 || res.Credential["id"] != f.cred["id"] {
		t.Errorf("auth calls %v", res.AuthCalls)
	}
}

func TestHideCredentials(t *testing.T) {
	f := newFixture()
	p := newPlugin(t, map[string]any{"hide_credentials": true})
	res := f.env.Run(t, p, hostabi.PhaseAccess,
		plugintest.NewRequest("GET", "/").WithHeader("Authorization", basic("Aladdin:OpenSesame")).WithHeader("Proxy-Authorization", "junk"))
	if res.Exited || res.HasUpstreamHeader("Authorization") || res.HasUpstreamHeader("Proxy-Authorization") {
		t.Errorf("exited %v headers %v", res.Exited, res.Header)
	}
	// Found through Proxy-Authorization: Authorization is left alone.
	res = f.env.Run(t, p, hostabi.PhaseAccess,
		plugintest.NewRequest("GET", "/").WithHeader("Proxy-Authorization", basic("Aladdin:OpenSesame")).WithHeader("Authorization", "Bearer x"))
	if res.Exited || res.HasUpstreamHeader("Proxy-Authorization") || res.UpstreamHeader("Authorization") != "Bearer x" {
		t.Errorf("exited %v headers %v", res.Exited, res.Header)
	}
}

func TestAnonymousLogicalOr(t *testing.T) {
	f := newFixture()
	req := plugintest.NewRequest("GET", "/").WithIdentity(f.user, hostabi.Entity{"id": "key-cred"})
	res := f.env.Run(t, newPlugin(t, map[string]any{"anonymous": anonID}), hostabi.PhaseAccess, req)
	if res.Exited || len(res.AuthCalls) != 0 || len(res.HeaderOps) != 0 {
		t.Errorf("acted on an authenticated request: %+v", res)
	}
	res = f.env.Run(t, newPlugin(t, nil), hostabi.PhaseAccess, req)
	if !res.Exited || res.Status != 401 {
		t.Errorf("logical AND: exited %v status %d", res.Exited, res.Status)
	}
}

func TestLookupErrors(t *testing.T) {
	boom := errors.New("database down")
	f := newFixture()
	f.env.CredentialErr = boom
	res := f.env.Run(t, newPlugin(t, nil), hostabi.PhaseAccess, plugintest.NewRequest("GET", "/").WithHeader("Authorization", basic("Aladdin:OpenSesame")))
	if !errors.Is(res.Err, boom) {
		t.Errorf("credential error: %v", res.Err)
	}
	f = newFixture()
	f.env.ConsumerErr = boom
	res = f.env.Run(t, newPlugin(t, nil), hostabi.PhaseAccess, plugintest.NewRequest("GET", "/").WithHeader("Authorization", basic("Aladdin:OpenSesame")))
	if !errors.Is(res.Err, boom) || len(res.AuthCalls) != 0 {
		t.Errorf("consumer error: %v", res.Err)
	}
}

func TestParseBasic(t *testing.T) {
	enc := base64.StdEncoding.EncodeToString
	cases := []struct{ in, user, pass string }{
		{"Basic " + enc([]byte("a:b")), "a", "b"},
		{"  basic   " + enc([]byte("a:")), "a", ""},
		{"Basic " + enc([]byte("a:b:c")), "a", "b:c"},
		{"Basic " + enc([]byte("::a:b")), "a", "b"}, // leftmost non-colon run, as Kong's regex
		{"Basic " + enc([]byte("a")), "", ""},
		{"Basic", "", ""},
		{"Basic x", "", ""}, // length 1 mod 4
		{"Digest abc", "", ""},
		{"", "", ""},
		{"Basic " + enc([]byte("é:ü")), "é", "ü"},
	}
	for _, c := range cases {
		u, p := basicauth.ParseBasic(c.in)
		if u != c.user || p != c.pass {
			t.Errorf("ParseBasic(%q) = %q, %q; want %q, %q", c.in, u, p, c.user, c.pass)
		}
	}
}

func TestSchema(t *testing.T) {
	cfg := plugintest.Config(t, basicauth.Schema(), nil)
	want := map[string]any{"anonymous": nil, "hide_credentials": false, "realm": "service"}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults = %v", cfg)
	}
	if !basicauth.Schema().NoConsumer || !slices.Contains(plugin.Bundled(), "basic-auth") {
		t.Error("schema or registration")
	}
	if _, err := basicauth.New(map[string]any{"realm": 5}); err == nil {
		t.Error("bad realm accepted")
	}
	// The stored hash is sha1(password .. consumer_id).
	if got := basicauth.HashPassword("OpenSesame", userID); got != newFixture().cred["password"] {
		t.Errorf("hash mismatch %s", got)
	}
}

// BenchmarkAccess measures an authenticated request whose credential is in
// the cache (the password check included).
func BenchmarkAccess(b *testing.B) {
	f := newFixture()
	inst := plugintest.New(b, basicauth.Schema(), basicauth.New, nil)
	k := f.env.NewKong(plugintest.NewRequest("GET", "/orders").WithHeader("Authorization", basic("Aladdin:OpenSesame")))
	b.ReportAllocs()
	for b.Loop() {
		k.Reset()
		if err := plugintest.Call(k, inst, hostabi.PhaseAccess); err != nil {
			b.Fatal(err)
		}
	}
	if res := k.Result(); res.Consumer["id"] != userID {
		b.Fatalf("not authenticated: %+v", res)
	}
}
