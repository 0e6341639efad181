package oauth2_test

import (
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin/catalogtest"
	"github.com/gatehouse/gatehouse/runtime/plugins/oauth2"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
	"github.com/gatehouse/gatehouse/store"
)

const (
	bobID  = "5f4e3d2c-1b0a-4988-8776-655443322110"
	anonID = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"
	svcID  = "11111111-2222-4333-8444-555555555555"
	appID  = "66666666-7777-4888-8999-aaaaaaaaaaaa"
)

func TestConfigDefaults(t *testing.T) {
	got, err := oauth2.ParseConfig(plugintest.Config(t, oauth2.Schema(), map[string]any{"enable_password_grant": true, "provision_key": "pk"}))
	want := oauth2.Config{ProvisionKey: "pk", TokenExpiration: 7200, EnablePasswordGrant: true, AuthHeaderName: "authorization",
		RefreshTokenTTL: 1209600, PKCE: "lax"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseConfig = %+v, %v\nwant %+v", got, err, want)
	}
	for _, c := range []struct {
		cfg  map[string]any
		want string
	}{
		{map[string]any{}, "at least one of these fields must be true"},
		{map[string]any{"enable_password_grant": true, "mandatory_scope": true}, "failed conditional validation given value of field 'mandatory_scope'"},
		{map[string]any{"enable_password_grant": true, "pkce": "always"}, "expected one of: none, lax, strict"},
		{map[string]any{"enable_password_grant": true, "refresh_token_ttl": -1}, "value should be between 0 and 100000000"},
	} {
		_, errs := plugintest.ValidateConfig(oauth2.Schema(), c.cfg)
		if !strings.Contains(strings.Join(errs.Flatten(), "; "), c.want) {
			t.Errorf("%v: errors %v, want %q", c.cfg, errs.Flatten(), c.want)
		}
	}
}

func TestSecretHash(t *testing.T) {
	h, err := oauth2.HashSecret("s3cret")
	if err != nil || !strings.HasPrefix(h, "$pbkdf2-sha512$i=10000,l=32$") || len(strings.Split(h, "$")) != 5 {
		t.Fatalf("HashSecret = %q, %v", h, err)
	}
	h2, _ := oauth2.HashSecret("s3cret")
	if h == h2 {
		t.Error("two hashes share a salt")
	}
	for _, c := range []struct {
		secret, hash string
		want         bool
	}{
		{"s3cret", h, true}, {"s3cret", h2, true}, {"S3cret", h, false}, {"", h, false},
		{"s3cret", "s3cret", false}, {"s3cret", "$pbkdf2-sha512$i=x$a$b", false},
		{"s3cret", "$pbkdf2-sha512$i=10000,l=32$!!$b", false}, {"s3cret", "$pbkdf2-sha512$i=99999999,l=32$YQ$b", false},
	} {
		if got := oauth2.VerifySecret(c.secret, c.hash); got != c.want {
			t.Errorf("VerifySecret(%q, %q) = %v", c.secret, c.hash, got)
		}
	}
}

// fixture is an env with consumer bob, his application and tokens.
func fixture(t testing.TB) *plugintest.Env {
	env := plugintest.NewEnv()
	bob := env.AddConsumer(hostabi.Entity{"id": bobID, "username": "bob"})
	env.AddConsumer(hostabi.Entity{"id": anonID, "username": "anon"})
	env.AddCredential(oauth2.CredentialEntity, bob, hostabi.Entity{"id": appID, "client_id": "cid", "client_secret": "sec", "name": "app"})
	now := time.Now().Unix()
	token := func(tok string, fields hostabi.Entity) {
		rec := hostabi.Entity{"access_token": tok, "credential": map[string]any{"id": appID}, "service": map[string]any{"id": svcID},
			"expires_in": int64(60), "created_at": now, "token_type": "bearer"}
		for k, v := range fields {
			rec[k] = v
		}
		env.AddCredential(oauth2.TokenEntity, nil, rec)
	}
	token("good", hostabi.Entity{"scope": "email", "authenticated_userid": "u1"})
	token("old", hostabi.Entity{"created_at": now - 120})
	token("forever", hostabi.Entity{"created_at": now - 1e6, "expires_in": int64(0)})
	token("global", hostabi.Entity{"service": nil})
	token("elsewhere", hostabi.Entity{"service": map[string]any{"id": "99999999-2222-4333-8444-555555555555"}})
	return env
}

func newPlugin(t testing.TB, cfg map[string]any) any {
	t.Helper()
	full := map[string]any{"enable_client_credentials": true, "provision_key": "pk"}
	for k, v := range cfg {
		full[k] = v
	}
	p, err := oauth2.New(plugintest.Config(t, oauth2.Schema(), full))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func req(path, auth string) *plugintest.Request {
	r := plugintest.NewRequest("GET", path).WithService(hostabi.Entity{"id": svcID})
	if auth != "" {
		r = r.WithHeader("Authorization", auth)
	}
	return r
}

func TestAccess(t *testing.T) {
	const invalid = `{"error":"invalid_token","error_description":"The access token is invalid or has expired"}`
	const challenge = `Bearer error="invalid_token" error_description="The access token is invalid or has expired"`
	cases := []struct {
		name      string
		cfg       map[string]any
		req       *plugintest.Request
		status    int
		body      string
		challenge string
		consumer  string
	}{
		{"bearer", nil, req("/", "Bearer good"), 0, "", "", bobID},
		{"token scheme", nil, req("/", "token good"), 0, "", "", bobID},
		{"query", nil, req("/?access_token=good", ""), 0, "", "", bobID},
		{"never expires", nil, req("/", "bearer forever"), 0, "", "", bobID},
		{"missing", nil, req("/", ""), 401, `{"error":"invalid_request","error_description":"The access token is missing"}`, "Bearer", ""},
		{"missing realm", map[string]any{"realm": "r"}, req("/", ""), 401, "", `Bearer realm="r"`, ""},
		{"unknown", nil, req("/", "Bearer nope"), 401, invalid, challenge, ""},
		{"three parts", nil, req("/", "Bearer good x"), 401, invalid, challenge, ""},
		{"expired", nil, req("/", "Bearer old"), 401, invalid, challenge, ""},
		{"other service", nil, req("/", "Bearer elsewhere"), 401, invalid, challenge, ""},
		{"global token", nil, req("/", "Bearer global"), 401,
			`{"error":"invalid_token","error_description":"The access token is global, but the current plugin is configured without 'global_credentials'"}`, challenge, ""},
		{"global credentials", map[string]any{"global_credentials": true}, req("/", "Bearer global"), 0, "", "", bobID},
		{"custom header", map[string]any{"auth_header_name": "x-token"}, req("/", "").WithHeader("X-Token", "bearer good"), 0, "", "", bobID},
		{"anonymous", map[string]any{"anonymous": anonID}, req("/", "Bearer nope"), 0, "", "", anonID},
		{"anonymous by name", map[string]any{"anonymous": "anon"}, req("/", ""), 0, "", "", anonID},
		{"anonymous missing", map[string]any{"anonymous": "ghost"}, req("/", ""), 500,
			`{"message":"anonymous consumer ghost is configured but doesn't exist","request_id":"plugintest-request"}`, "", ""},
		{"token endpoint method", nil, req("/api/oauth2/token", ""), 405,
			`{"error":"invalid_method","error_description":"The HTTP method GET is invalid for the token endpoint"}`,
			`Bearer error="invalid_method" error_description="The HTTP method GET is invalid for the token endpoint"`, ""},
		{"authorize endpoint method", nil, req("/oauth2/authorize/", ""), 405,
			`{"error":"invalid_method","error_description":"The HTTP method GET is invalid for the authorization endpoint"}`, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := fixture(t)
			res := env.Run(t, newPlugin(t, c.cfg), hostabi.PhaseAccess, c.req)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if c.status == 0 {
				if res.Exited || res.Consumer["id"] != c.consumer {
					t.Errorf("exited %v %d %s consumer %v", res.Exited, res.Status, res.ExitBody, res.Consumer)
				}
				return
			}
			if !res.Exited || res.Status != c.status || (c.body != "" && !jsonEqual(res.ExitBody, c.body)) {
				t.Errorf("%d %s, want %d %s", res.Status, res.ExitBody, c.status, c.body)
			}
			if c.challenge != "" && res.ExitHeaders["WWW-Authenticate"] != c.challenge {
				t.Errorf("challenge %q, want %q", res.ExitHeaders["WWW-Authenticate"], c.challenge)
			}
		})
	}
}

func TestIdentityHeaders(t *testing.T) {
	env := fixture(t)
	res := env.Run(t, newPlugin(t, map[string]any{"hide_credentials": true}), hostabi.PhaseAccess,
		req("/", "Bearer good").WithHeader("X-Authenticated-Scope", "spoofed"))
	for name, want := range map[string]string{"x-consumer-id": bobID, "x-consumer-username": "bob", "x-credential-identifier": "cid",
		"x-authenticated-scope": "email", "x-authenticated-userid": "u1"} {
		if got := res.UpstreamHeader(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if res.UpstreamHeader("authorization") != "" {
		t.Error("hide_credentials kept the Authorization header")
	}
	// Logical OR: an earlier credential clears the oauth2 headers.
	res = env.Run(t, newPlugin(t, map[string]any{"anonymous": anonID}), hostabi.PhaseAccess,
		req("/", "").WithIdentity(hostabi.Entity{"id": bobID}, hostabi.Entity{"id": "c"}).WithHeader("X-Authenticated-Userid", "spoofed"))
	if res.Exited || res.UpstreamHeader("x-authenticated-userid") != "" {
		t.Errorf("logical OR: %+v", res.HeaderOps)
	}
}

func jsonEqual(a []byte, b string) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

// endpointFixture is a store with bob's application and an env with bob.
func endpointFixture(t testing.TB) (*plugintest.Env, *store.Store) {
	st, _ := catalogtest.OpenStore(t, oauth2.Owner)
	ctx := context.Background()
	if _, err := st.Insert(ctx, "consumers", map[string]any{"id": bobID, "username": "bob"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Insert(ctx, "services", map[string]any{"id": svcID, "host": "up.test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Insert(ctx, oauth2.CredentialEntity, map[string]any{"id": appID, "consumer": map[string]any{"id": bobID},
		"name": "app", "client_id": "cid", "client_secret": "sec", "redirect_uris": []any{"https://cb.test/"}}); err != nil {
		t.Fatal(err)
	}
	env := plugintest.NewEnv()
	env.AddConsumer(hostabi.Entity{"id": bobID, "username": "bob"})
	return env, st
}

func tokenRequest(body, ctype, auth string) *plugintest.Request {
	r := plugintest.NewRequest("POST", "/api/oauth2/token").WithService(hostabi.Entity{"id": svcID}).WithBody(ctype, []byte(body))
	r.Scheme = "https"
	if auth != "" {
		r = r.WithHeader("Authorization", auth)
	}
	return r
}

func TestTokenEndpointWithStore(t *testing.T) {
	env, st := endpointFixture(t)
	p := plugintest.OnStore{Plugin: newPlugin(t, map[string]any{"scopes": []any{"email"}}), Store: st}
	res := env.Run(t, p, hostabi.PhaseAccess, tokenRequest(url.Values{"grant_type": {"client_credentials"}, "client_id": {"cid"},
		"client_secret": {"sec"}, "scope": {"email"}}.Encode(), "application/x-www-form-urlencoded", ""))
	var out map[string]any
	json.Unmarshal(res.ExitBody, &out)
	tok, _ := out["access_token"].(string)
	if res.Err != nil || res.Status != 200 || tok == "" || out["expires_in"] != float64(7200) {
		t.Fatalf("token: %v %d %s", res.Err, res.Status, res.ExitBody)
	}
	rec, err := st.FindUnique(context.Background(), oauth2.TokenEntity, "access_token", tok)
	if err != nil || rec["scope"] != "email" || store.ForeignID(rec["service"]) != svcID || rec["ttl"] == nil {
		t.Errorf("stored token %v, %v", rec, err)
	}
	// Plain HTTP is refused.
	r := tokenRequest("grant_type=client_credentials", "application/x-www-form-urlencoded", "")
	r.Scheme = "http"
	res = env.Run(t, p, hostabi.PhaseAccess, r)
	if !jsonEqual(res.ExitBody, `{"error":"access_denied","error_description":"You must use HTTPS"}`) || res.Status != 400 {
		t.Errorf("http: %d %s", res.Status, res.ExitBody)
	}
}

// FuzzTokenEndpoint: whatever the body, content type and Authorization
// header, the token endpoint answers 200, 400 or 401 with a JSON body,
// never an error (500) or a panic.
func FuzzTokenEndpoint(f *testing.F) {
	f.Add("grant_type=client_credentials&client_id=cid&client_secret=sec", "application/x-www-form-urlencoded", "")
	f.Add(`{"grant_type":"password","provision_key":"pk","authenticated_userid":["x"]}`, "application/json", "")
	f.Add("grant_type=refresh_token&refresh_token=%00", "application/x-www-form-urlencoded", "Basic Y2lkOnNlYw==")
	f.Add("grant_type=authorization_code&code=x&code_verifier=y", "application/x-www-form-urlencoded", "Basic !!")
	f.Add("--b\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\npassword\r\n--b--", "multipart/form-data; boundary=b", "basic")
	env, st := endpointFixture(f)
	p := plugintest.OnStore{Plugin: newPlugin(f, map[string]any{"enable_password_grant": true, "enable_authorization_code": true}), Store: st}
	f.Fuzz(func(t *testing.T, body, ctype, auth string) {
		if strings.ContainsAny(auth, "\r\n\x00") {
			return
		}
		res := env.Run(t, p, hostabi.PhaseAccess, tokenRequest(body, ctype, auth))
		if res.Err != nil || res.Panic != nil {
			t.Fatalf("err %v panic %v", res.Err, res.Panic)
		}
		var out map[string]any
		if !res.Exited || (res.Status != 200 && res.Status != 400 && res.Status != 401) || json.Unmarshal(res.ExitBody, &out) != nil {
			t.Fatalf("%d %s", res.Status, res.ExitBody)
		}
	})
}

func BenchmarkAccess(b *testing.B) {
	env := fixture(b)
	p := newPlugin(b, nil)
	k := env.NewKong(req("/orders", "Bearer good"))
	b.ReportAllocs()
	for b.Loop() {
		k.Reset()
		if err := plugintest.Call(k, p, hostabi.PhaseAccess); err != nil {
			b.Fatal(err)
		}
	}
	if res := k.Result(); res.Consumer["id"] != bobID {
		b.Fatalf("not authenticated: %+v", res)
	}
}

// TestPurgeExpired: the first request schedules the purge of expired
// tokens and codes, which deletes their rows; live ones stay.
func TestPurgeExpired(t *testing.T) {
	env, st := endpointFixture(t)
	ctx := context.Background()
	cred := map[string]any{"id": appID}
	for _, in := range []map[string]any{
		{"credential": cred, "expires_in": 1, "access_token": "short", "ttl": 1},
		{"credential": cred, "expires_in": 1, "access_token": "long", "ttl": 100},
		{"credential": cred, "expires_in": 1, "access_token": "forever"},
	} {
		if _, err := st.Insert(ctx, oauth2.TokenEntity, in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Insert(ctx, oauth2.CodeEntity, map[string]any{"credential": cred, "code": "c", "ttl": 1}); err != nil {
		t.Fatal(err)
	}
	rows := func(entity string) int {
		n := 0
		st.Backend().View(ctx, func(tx store.Tx) error {
			var err error
			n, err = tx.Count(entity)
			return err
		})
		return n
	}
	time.Sleep(1100 * time.Millisecond)
	if rows(oauth2.TokenEntity) != 3 || rows(oauth2.CodeEntity) != 1 {
		t.Fatalf("rows before purge: %d tokens %d codes", rows(oauth2.TokenEntity), rows(oauth2.CodeEntity))
	}
	p := plugintest.OnStore{Plugin: newPlugin(t, nil), Store: st}
	res := env.Run(t, p, hostabi.PhaseAccess, req("/", "Bearer long"))
	if len(res.Timers) != 1 {
		t.Fatalf("timers %d", len(res.Timers))
	}
	res.Timers[0].Run(time.Second, nil)
	if rows(oauth2.TokenEntity) != 2 || rows(oauth2.CodeEntity) != 0 {
		t.Errorf("rows after purge: %d tokens %d codes", rows(oauth2.TokenEntity), rows(oauth2.CodeEntity))
	}
	if _, err := st.FindUnique(ctx, oauth2.TokenEntity, "access_token", "long"); err != nil {
		t.Errorf("live token purged: %v", err)
	}
	// Within the interval no other purge is scheduled.
	if res := env.Run(t, p, hostabi.PhaseAccess, req("/", "Bearer long")); len(res.Timers) != 0 {
		t.Errorf("second purge scheduled")
	}
}

// FuzzAccessToken: whatever the Authorization header and query string,
// authentication passes or answers 401 with a JSON body, never an error.
func FuzzAccessToken(f *testing.F) {
	f.Add("Bearer good", "")
	f.Add("", "access_token=good&access_token=x")
	f.Add("token", "access_token")
	f.Add("Bearer  good  ", "%zz=%00")
	env := fixture(f)
	p := newPlugin(f, map[string]any{"hide_credentials": true})
	f.Fuzz(func(t *testing.T, auth, query string) {
		if strings.ContainsAny(auth, "\r\n\x00") {
			return
		}
		r := plugintest.NewRequest("GET", "/").WithService(hostabi.Entity{"id": svcID})
		r.RawQuery = query
		if auth != "" {
			r = r.WithHeader("Authorization", auth)
		}
		res := env.Run(t, p, hostabi.PhaseAccess, r)
		if res.Err != nil || res.Panic != nil {
			t.Fatalf("err %v panic %v", res.Err, res.Panic)
		}
		var out map[string]any
		if res.Exited && (res.Status != 401 || json.Unmarshal(res.ExitBody, &out) != nil) {
			t.Fatalf("%d %s", res.Status, res.ExitBody)
		}
		if !res.Exited && res.Consumer["id"] != bobID {
			t.Fatalf("passed without bob: %v", res.Consumer)
		}
	})
}
