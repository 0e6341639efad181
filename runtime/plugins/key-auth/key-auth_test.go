package keyauth_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	keyauth "github.com/gatehouse/gatehouse/runtime/plugins/key-auth"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
)

const (
	bobID  = "5f4e3d2c-1b0a-4988-8776-655443322110"
	anonID = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"
)

// fixture is an environment with consumer bob (key "kong") and an
// anonymous consumer.
type fixture struct {
	env  *plugintest.Env
	bob  hostabi.Entity
	cred hostabi.Entity
	anon hostabi.Entity
}

func newFixture() *fixture {
	env := plugintest.NewEnv()
	f := &fixture{env: env}
	f.bob = env.AddConsumer(hostabi.Entity{"id": bobID, "username": "bob", "custom_id": "bob-42"})
	f.cred = env.AddCredential(keyauth.CredentialEntity, f.bob, hostabi.Entity{"key": "kong"})
	f.anon = env.AddConsumer(hostabi.Entity{"id": anonID, "username": "no-body"})
	expired := env.AddConsumer(hostabi.Entity{"username": "late"})
	env.AddCredential("keyauth_credentials", expired, hostabi.Entity{"key": "expired", "ttl": int64(0)})
	orphan := env.AddCredential("keyauth_credentials", nil, hostabi.Entity{"key": "orphan"})
	_ = orphan
	return f
}

func newPlugin(t *testing.T, cfg map[string]any) any {
	t.Helper()
	return plugintest.New(t, keyauth.Schema(), keyauth.New, cfg)
}

func TestAccess(t *testing.T) {
	type want struct {
		status   int    // 0: not exited
		message  string // exit message
		wwwAuth  string
		consumer string // username of the authenticated consumer
		anon     bool   // X-Anonymous-Consumer: true upstream
		err      string // substring of the returned error
	}
	cases := []struct {
		name string
		cfg  map[string]any
		req  *plugintest.Request
		want want
	}{
		{"key in header", nil, plugintest.NewRequest("GET", "/").WithHeader("apikey", "kong"), want{consumer: "bob"}},
		{"header name is case-insensitive", nil, plugintest.NewRequest("GET", "/").WithHeader("ApiKey", "kong"), want{consumer: "bob"}},
		{"key in query", nil, plugintest.NewRequest("GET", "/?apikey=kong"), want{consumer: "bob"}},
		{"escaped key in query", nil, plugintest.NewRequest("GET", "/?api%6Bey=k%6Fng"), want{consumer: "bob"}},
		{"missing key", nil, plugintest.NewRequest("GET", "/"), want{status: 401, message: "No API key found in request", wwwAuth: "Key"}},
		{"missing key with realm", map[string]any{"realm": "kong"}, plugintest.NewRequest("GET", "/"),
			want{status: 401, message: "No API key found in request", wwwAuth: `Key realm="kong"`}},
		{"invalid key", nil, plugintest.NewRequest("GET", "/").WithHeader("apikey", "nope"),
			want{status: 401, message: "Unauthorized", wwwAuth: "Key"}},
		{"invalid key with realm", map[string]any{"realm": "service"}, plugintest.NewRequest("GET", "/?apikey=123"),
			want{status: 401, message: "Unauthorized", wwwAuth: `Key realm="service"`}},
		{"expired key", nil, plugintest.NewRequest("GET", "/").WithHeader("apikey", "expired"),
			want{status: 401, message: "Unauthorized", wwwAuth: "Key"}},
		{"empty header value", nil, plugintest.NewRequest("GET", "/?apikey=kong").WithHeader("apikey", ""),
			want{status: 401, message: "No API key found in request", wwwAuth: "Key"}},
		{"empty query value", nil, plugintest.NewRequest("GET", "/?apikey="),
			want{status: 401, message: "No API key found in request", wwwAuth: "Key"}},
		{"query key without value is skipped", nil, plugintest.NewRequest("GET", "/?apikey"),
			want{status: 401, message: "No API key found in request", wwwAuth: "Key"}},
		{"duplicate header", nil, plugintest.NewRequest("GET", "/").WithHeader("apikey", "kong").WithHeader("apikey", "kong"),
			want{status: 401, message: "Duplicate API key found", wwwAuth: "Key"}},
		{"duplicate query", nil, plugintest.NewRequest("GET", "/?apikey=kong&apikey=kong"),
			want{status: 401, message: "Duplicate API key found", wwwAuth: "Key"}},
		{"header wins over query", nil, plugintest.NewRequest("GET", "/?apikey=nope").WithHeader("apikey", "kong"), want{consumer: "bob"}},
		{"key_in_header off", map[string]any{"key_in_header": false}, plugintest.NewRequest("GET", "/").WithHeader("apikey", "kong"),
			want{status: 401, message: "No API key found in request", wwwAuth: "Key"}},
		{"key_in_query off", map[string]any{"key_in_query": false}, plugintest.NewRequest("GET", "/?apikey=kong"),
			want{status: 401, message: "No API key found in request", wwwAuth: "Key"}},
		{"body not read by default", nil, plugintest.NewRequest("POST", "/").WithJSON(map[string]any{"apikey": "kong"}),
			want{status: 401, message: "No API key found in request", wwwAuth: "Key"}},
		{"key in JSON body", map[string]any{"key_in_body": true}, plugintest.NewRequest("POST", "/").WithJSON(map[string]any{"apikey": "kong"}),
			want{consumer: "bob"}},
		{"key in form body", map[string]any{"key_in_body": true}, plugintest.NewRequest("POST", "/").WithForm(url.Values{"apikey": {"kong"}}),
			want{consumer: "bob"}},
		{"duplicate key in form body", map[string]any{"key_in_body": true},
			plugintest.NewRequest("POST", "/").WithBody("application/x-www-form-urlencoded", []byte("apikey=kong&apikey=kong")),
			want{status: 401, message: "Duplicate API key found", wwwAuth: "Key"}},
		{"array key in JSON body", map[string]any{"key_in_body": true},
			plugintest.NewRequest("POST", "/").WithJSON(map[string]any{"apikey": []string{"kong", "kong"}}),
			want{status: 401, message: "Duplicate API key found", wwwAuth: "Key"}},
		{"number key in JSON body is ignored", map[string]any{"key_in_body": true},
			plugintest.NewRequest("POST", "/").WithJSON(map[string]any{"apikey": 5}),
			want{status: 401, message: "No API key found in request", wwwAuth: "Key"}},
		{"unsupported body is skipped", map[string]any{"key_in_body": true},
			plugintest.NewRequest("POST", "/").WithBody("text/plain", []byte("apikey=kong")),
			want{status: 401, message: "No API key found in request", wwwAuth: "Key"}},
		{"underscore key name matches hyphen header", map[string]any{"key_names": []string{"api_key"}},
			plugintest.NewRequest("GET", "/").WithHeader("api-key", "kong"), want{consumer: "bob"}},
		{"underscore key name matches underscore header", map[string]any{"key_names": []string{"api_key"}},
			plugintest.NewRequest("GET", "/").WithHeader("api_key", "kong"), want{consumer: "bob"}},
		{"second key name", map[string]any{"key_names": []string{"x-token", "apikey"}},
			plugintest.NewRequest("GET", "/?apikey=kong"), want{consumer: "bob"}},
		{"preflight authenticated by default", nil, plugintest.NewRequest("OPTIONS", "/"),
			want{status: 401, message: "No API key found in request", wwwAuth: "Key"}},
		{"preflight skipped", map[string]any{"run_on_preflight": false}, plugintest.NewRequest("OPTIONS", "/"), want{}},
		{"credential without consumer", nil, plugintest.NewRequest("GET", "/").WithHeader("apikey", "orphan"), want{}},
		{"anonymous by id", map[string]any{"anonymous": anonID}, plugintest.NewRequest("GET", "/"),
			want{consumer: "no-body", anon: true}},
		{"anonymous by username", map[string]any{"anonymous": "no-body"}, plugintest.NewRequest("GET", "/").WithHeader("apikey", "bad"),
			want{consumer: "no-body", anon: true}},
		{"anonymous with a valid key", map[string]any{"anonymous": anonID}, plugintest.NewRequest("GET", "/?apikey=kong"),
			want{consumer: "bob"}},
		{"anonymous unknown", map[string]any{"anonymous": "ghost"}, plugintest.NewRequest("GET", "/"),
			want{err: "anonymous consumer ghost is configured but doesn't exist"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			res := f.env.Run(t, newPlugin(t, tc.cfg), hostabi.PhaseAccess, tc.req)
			w := tc.want
			if w.err != "" {
				if res.Err == nil || !strings.Contains(res.Err.Error(), w.err) {
					t.Fatalf("err = %v, want %q", res.Err, w.err)
				}
				return
			}
			if res.Err != nil {
				t.Fatalf("unexpected error: %v", res.Err)
			}
			if w.status != 0 {
				if !res.Exited || res.Status != w.status {
					t.Fatalf("exited=%v status=%d, want exit %d", res.Exited, res.Status, w.status)
				}
				if got := string(res.ExitBody); got != `{"message":"`+w.message+`"}` {
					t.Errorf("body = %s, want message %q", got, w.message)
				}
				if got := res.ExitHeaders["WWW-Authenticate"]; got != w.wwwAuth {
					t.Errorf("WWW-Authenticate = %q, want %q", got, w.wwwAuth)
				}
				if len(res.AuthCalls) != 0 {
					t.Errorf("authenticated on failure: %v", res.AuthCalls)
				}
				return
			}
			if res.Exited {
				t.Fatalf("unexpected exit %d %s", res.Status, res.ExitBody)
			}
			if w.consumer == "" {
				return
			}
			if got, _ := res.Consumer["username"].(string); got != w.consumer {
				t.Fatalf("consumer = %v, want %s", res.Consumer, w.consumer)
			}
			if got := res.UpstreamHeader("X-Consumer-Username"); got != w.consumer {
				t.Errorf("X-Consumer-Username = %q", got)
			}
			if got := res.UpstreamHeader("X-Consumer-ID"); got != res.Consumer["id"] {
				t.Errorf("X-Consumer-ID = %q", got)
			}
			if w.anon {
				if res.UpstreamHeader("X-Anonymous-Consumer") != "true" || res.Credential != nil || res.HasUpstreamHeader("X-Credential-Identifier") {
					t.Errorf("anonymous: headers %v credential %v", res.Header, res.Credential)
				}
			} else {
				if res.HasUpstreamHeader("X-Anonymous-Consumer") {
					t.Errorf("X-Anonymous-Consumer sent for an authenticated consumer")
				}
				if got := res.UpstreamHeader("X-Credential-Identifier"); got != f.cred["id"] || res.Credential["id"] != f.cred["id"] {
					t.Errorf("credential = %v, X-Credential-Identifier = %q", res.Credential, got)
				}
			}
		})
	}
}

func TestConsumerHeaders(t *testing.T) {
	f := newFixture()
	req := plugintest.NewRequest("GET", "/").WithHeader("apikey", "kong").
		WithHeader("X-Anonymous-Consumer", "true").WithHeader("X-Consumer-ID", "spoofed")
	res := f.env.Run(t, newPlugin(t, nil), hostabi.PhaseAccess, req)
	want := map[string]string{
		"x-consumer-id":           bobID,
		"x-consumer-custom-id":    "bob-42",
		"x-consumer-username":     "bob",
		"x-credential-identifier": f.cred["id"].(string),
	}
	for n, v := range want {
		if got := res.UpstreamHeader(n); got != v {
			t.Errorf("%s = %q, want %q", n, got, v)
		}
	}
	if res.HasUpstreamHeader("X-Anonymous-Consumer") {
		t.Error("X-Anonymous-Consumer not cleared")
	}
	if len(res.AuthCalls) != 1 || res.AuthCalls[0].Consumer["id"] != bobID || res.AuthCalls[0].Credential["key"] != "kong" {
		t.Errorf("auth calls = %v", res.AuthCalls)
	}
	// A consumer without custom_id clears a spoofed header.
	f.env.AddCredential(keyauth.CredentialEntity, f.anon, hostabi.Entity{"key": "anon-key"})
	res = f.env.Run(t, newPlugin(t, nil), hostabi.PhaseAccess,
		plugintest.NewRequest("GET", "/").WithHeader("apikey", "anon-key").WithHeader("X-Consumer-Custom-ID", "spoofed"))
	if res.HasUpstreamHeader("X-Consumer-Custom-ID") {
		t.Error("X-Consumer-Custom-ID not cleared")
	}
}

func TestHideCredentials(t *testing.T) {
	cfg := map[string]any{"hide_credentials": true}
	t.Run("header", func(t *testing.T) {
		f := newFixture()
		res := f.env.Run(t, newPlugin(t, cfg), hostabi.PhaseAccess,
			plugintest.NewRequest("GET", "/?a=1").WithHeader("apikey", "kong").WithHeader("other", "x"))
		if res.HasUpstreamHeader("apikey") || res.UpstreamHeader("other") != "x" || res.QuerySet {
			t.Errorf("headers %v query set %v", res.Header, res.QuerySet)
		}
	})
	t.Run("query", func(t *testing.T) {
		f := newFixture()
		res := f.env.Run(t, newPlugin(t, cfg), hostabi.PhaseAccess, plugintest.NewRequest("GET", "/?a=1&apikey=kong&b=%20x"))
		if res.RawQuery != "a=1&b=%20x" {
			t.Errorf("query = %q", res.RawQuery)
		}
	})
	t.Run("shown by default", func(t *testing.T) {
		f := newFixture()
		res := f.env.Run(t, newPlugin(t, nil), hostabi.PhaseAccess, plugintest.NewRequest("GET", "/?apikey=kong").WithHeader("apikey", "kong"))
		if res.RawQuery != "apikey=kong" || res.UpstreamHeader("apikey") != "kong" || res.QuerySet {
			t.Errorf("query %q headers %v", res.RawQuery, res.Header)
		}
	})
	t.Run("JSON body", func(t *testing.T) {
		f := newFixture()
		res := f.env.Run(t, newPlugin(t, map[string]any{"hide_credentials": true, "key_in_body": true}), hostabi.PhaseAccess,
			plugintest.NewRequest("POST", "/").WithJSON(map[string]any{"apikey": "kong", "foo": "bar"}))
		var got map[string]any
		if err := json.Unmarshal(res.Body, &got); err != nil || !reflect.DeepEqual(got, map[string]any{"foo": "bar"}) {
			t.Errorf("body = %s (%v)", res.Body, err)
		}
		if ct := res.UpstreamHeader("Content-Type"); ct != "application/json" {
			t.Errorf("content-type = %q", ct)
		}
	})
	t.Run("form body", func(t *testing.T) {
		f := newFixture()
		res := f.env.Run(t, newPlugin(t, map[string]any{"hide_credentials": true, "key_in_body": true}), hostabi.PhaseAccess,
			plugintest.NewRequest("POST", "/").WithForm(url.Values{"apikey": {"kong"}, "foo": {"bar"}}))
		if string(res.Body) != "foo=bar" || res.UpstreamHeader("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("body = %q ct %q", res.Body, res.UpstreamHeader("Content-Type"))
		}
	})
}

func TestAnonymousLogicalOr(t *testing.T) {
	f := newFixture()
	p := newPlugin(t, map[string]any{"anonymous": anonID})
	// Another auth plugin already identified a credential: nothing to do.
	req := plugintest.NewRequest("GET", "/").WithIdentity(f.bob, hostabi.Entity{"id": "other-cred"})
	res := f.env.Run(t, p, hostabi.PhaseAccess, req)
	if res.Exited || len(res.AuthCalls) != 0 || len(res.HeaderOps) != 0 {
		t.Errorf("acted on an authenticated request: %+v", res)
	}
	// An anonymous identity (no credential) does not count.
	req = plugintest.NewRequest("GET", "/?apikey=kong").WithIdentity(f.anon, nil)
	res = f.env.Run(t, p, hostabi.PhaseAccess, req)
	if res.Consumer["id"] != bobID {
		t.Errorf("consumer = %v", res.Consumer)
	}
	// Without anonymous (logical AND) an earlier credential does not help.
	req = plugintest.NewRequest("GET", "/").WithIdentity(f.bob, hostabi.Entity{"id": "other-cred"})
	res = f.env.Run(t, newPlugin(t, nil), hostabi.PhaseAccess, req)
	if !res.Exited || res.Status != 401 {
		t.Errorf("logical AND: exited=%v status=%d", res.Exited, res.Status)
	}
}

func TestLookupErrors(t *testing.T) {
	boom := errors.New("database down")
	t.Run("credential", func(t *testing.T) {
		for _, cfg := range []map[string]any{nil, {"anonymous": anonID}} {
			f := newFixture()
			f.env.CredentialErr = boom
			res := f.env.Run(t, newPlugin(t, cfg), hostabi.PhaseAccess, plugintest.NewRequest("GET", "/?apikey=kong"))
			if !errors.Is(res.Err, boom) || res.Exited {
				t.Errorf("cfg %v: err = %v exited %v", cfg, res.Err, res.Exited)
			}
		}
	})
	t.Run("consumer", func(t *testing.T) {
		f := newFixture()
		f.env.ConsumerErr = boom
		res := f.env.Run(t, newPlugin(t, nil), hostabi.PhaseAccess, plugintest.NewRequest("GET", "/?apikey=kong"))
		if !errors.Is(res.Err, boom) || len(res.AuthCalls) != 0 {
			t.Errorf("err = %v auth %v", res.Err, res.AuthCalls)
		}
	})
	t.Run("consumer with anonymous", func(t *testing.T) {
		// Kong falls back to the anonymous consumer, whose load fails too.
		f := newFixture()
		f.env.ConsumerErr = boom
		res := f.env.Run(t, newPlugin(t, map[string]any{"anonymous": anonID}), hostabi.PhaseAccess, plugintest.NewRequest("GET", "/?apikey=kong"))
		if !errors.Is(res.Err, boom) {
			t.Errorf("err = %v", res.Err)
		}
	})
}

func TestSchema(t *testing.T) {
	cfg := plugintest.Config(t, keyauth.Schema(), nil)
	want := map[string]any{
		"key_names": []any{"apikey"}, "hide_credentials": false, "anonymous": nil,
		"key_in_header": true, "key_in_query": true, "key_in_body": false,
		"run_on_preflight": true, "realm": nil,
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults = %v\nwant %v", cfg, want)
	}
	_, errs := plugintest.ValidateConfig(keyauth.Schema(), map[string]any{"key_names": []string{"api key"}})
	if got := errs.Flatten(); !slices.Contains(got, "key_names.1: bad header name 'api key', allowed characters are A-Z, a-z, 0-9, '_', and '-'") {
		t.Errorf("errors = %v", got)
	}
	if !keyauth.Schema().NoConsumer {
		t.Error("key-auth must not be scoped to consumers")
	}
	if !slices.Contains(plugin.Bundled(), "key-auth") {
		t.Error("key-auth not registered")
	}
	cat, err := plugin.NewCatalog([]string{"key-auth"})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := cat.Get("key-auth")
	if d.Priority != 1250 || d.New == nil {
		t.Errorf("definition = %+v", d)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []map[string]any{
		{"key_names": "apikey"},
		{"key_names": []any{1}},
		{"hide_credentials": "yes"},
		{"anonymous": 5},
	} {
		if _, err := keyauth.New(cfg); err == nil {
			t.Errorf("New(%v) accepted", cfg)
		}
	}
	if _, err := keyauth.New(map[string]any{}); err != nil {
		t.Errorf("New(empty) = %v", err)
	}
}

// BenchmarkAccess measures a request whose key is in the cache.
func BenchmarkAccess(b *testing.B) {
	f := newFixture()
	inst, err := keyauth.New(map[string]any{"key_names": []any{"apikey"}, "key_in_header": true, "key_in_query": true, "run_on_preflight": true})
	if err != nil {
		b.Fatal(err)
	}
	k := f.env.NewKong(plugintest.NewRequest("GET", "/orders").WithHeader("apikey", "kong").WithHeader("accept", "*/*"))
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
