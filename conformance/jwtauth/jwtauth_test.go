// Package jwtauth_test drives the jwt and hmac-auth plugins through a real
// node over 127.0.0.1: credentials created with the Admin API, plugins on
// routes, requests through the proxy to a real upstream that echoes the
// headers it received.
package jwtauth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/runtime/app"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
)

// env is a node with an echoing upstream.
type env struct {
	t            *testing.T
	node         *app.Node
	admin, proxy string
}

func start(t *testing.T) *env {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"headers": r.Header, "path": r.URL.RequestURI()})
	}))
	t.Cleanup(up.Close)
	n := testnode.Start(t, nil)
	e := &env{t: t, node: n, admin: "http://" + n.Addr("admin"), proxy: "http://" + n.Addr("proxy")}
	e.form("POST", "/services", 201, "name=crud-persons", "url="+up.URL+"/crud/")
	return e
}

// form sends an Admin API form request and checks its status.
func (e *env) form(method, path string, status int, kv ...string) map[string]any {
	e.t.Helper()
	v := url.Values{}
	for _, p := range kv {
		k, val, _ := strings.Cut(p, "=")
		v.Add(k, val)
	}
	req, _ := http.NewRequest(method, e.admin+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	code, body, _ := do(e.t, req)
	if code != status {
		e.t.Fatalf("%s %s: %d %s, want %d", method, path, code, body, status)
	}
	var m map[string]any
	json.Unmarshal(body, &m)
	return m
}

func do(t *testing.T, req *http.Request) (int, []byte, http.Header) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b, res.Header
}

// call sends a proxy request, once the node serves the latest
// configuration.
func (e *env) call(method, path string, headers map[string]string, body string) (int, []byte, http.Header) {
	e.t.Helper()
	if err := e.node.Snapshots().Rebuild(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	req, _ := http.NewRequest(method, e.proxy+path, strings.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return do(e.t, req)
}

// upstreamHeader reads a header the upstream echoed.
func upstreamHeader(t *testing.T, body []byte, name string) string {
	t.Helper()
	var m struct{ Headers http.Header }
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("upstream body %s: %v", body, err)
	}
	return m.Headers.Get(name)
}

func hs256(claims map[string]any, secret string) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	in := enc(map[string]any{"alg": "HS256", "typ": "JWT"}) + "." + enc(claims)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// TestTrainingFlow is the seed's jwt flow: consumer test, a jwt secret
// with key=test and HS256, the jwt plugin on the route; a token signed
// with the returned secret passes, a forged one gets 401.
func TestTrainingFlow(t *testing.T) {
	e := start(t)
	e.form("POST", "/services/crud-persons/routes", 201, "name=crud-route-jwt", "paths=/crud/persons", "strip_path=true")
	e.form("POST", "/consumers/", 201, "username=test")
	cred := e.form("POST", "/consumers/test/jwt", 201, "key=test", "algorithm=HS256")
	secret, _ := cred["secret"].(string)
	if cred["key"] != "test" || cred["algorithm"] != "HS256" || len(secret) != 32 || cred["rsa_public_key"] != nil {
		t.Fatalf("credential %v", cred)
	}
	e.form("POST", "/routes/crud-route-jwt/plugins", 201, "name=jwt")

	exp := time.Now().Unix() + 86400
	code, body, _ := e.call("GET", "/crud/persons/all", map[string]string{"Authorization": "Bearer " + hs256(map[string]any{"iss": "test", "exp": exp, "nam": "test"}, secret)}, "")
	if code != 200 {
		t.Fatalf("signed token: %d %s", code, body)
	}
	for h, want := range map[string]string{"X-Consumer-Username": "test", "X-Credential-Identifier": "test", "X-Consumer-Id": cred["consumer"].(map[string]any)["id"].(string)} {
		if got := upstreamHeader(t, body, h); got != want {
			t.Errorf("upstream %s = %q, want %q", h, got, want)
		}
	}
	if got := upstreamHeader(t, body, "X-Anonymous-Consumer"); got != "" {
		t.Errorf("X-Anonymous-Consumer = %q", got)
	}

	cases := []struct {
		name, token, body, challenge string
	}{
		{"forged", hs256(map[string]any{"iss": "test"}, "not-the-secret"), `{"message":"Invalid signature"}`, `Bearer error="invalid_token"`},
		{"unknown key", hs256(map[string]any{"iss": "nobody"}, secret), `{"message":"No credentials found for given 'iss'"}`, `Bearer error="invalid_token"`},
		{"garbage", "abc", `{"message":"Bad token; invalid JSON"}`, `Bearer error="invalid_token"`},
		{"none", "", `{"message":"Unauthorized"}`, "Bearer"},
	}
	for _, tc := range cases {
		h := map[string]string{}
		if tc.token != "" {
			h["Authorization"] = "Bearer " + tc.token
		}
		code, body, hdr := e.call("GET", "/crud/persons/all", h, "")
		if code != 401 || strings.TrimSpace(string(body)) != tc.body || hdr.Get("WWW-Authenticate") != tc.challenge {
			t.Errorf("%s: %d %s %q", tc.name, code, body, hdr.Get("WWW-Authenticate"))
		}
		if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: content-type %q", tc.name, ct)
		}
	}
	// The token in the query string works as well (uri_param_names jwt).
	if code, body, _ := e.call("GET", "/crud/persons/all?jwt="+hs256(map[string]any{"iss": "test"}, secret), nil, ""); code != 200 {
		t.Errorf("query token: %d %s", code, body)
	}
}

// TestJWTConfig covers the configuration over the proxy: cookies, custom
// headers, claims, maximum expiration, realm, preflight and anonymous.
func TestJWTConfig(t *testing.T) {
	e := start(t)
	e.form("POST", "/consumers", 201, "username=alice")
	e.form("POST", "/consumers", 201, "username=guest")
	secret := base64.StdEncoding.EncodeToString([]byte("shared"))
	e.form("POST", "/consumers/alice/jwt", 201, "key=alice-key", "secret="+strings.NewReplacer("+", "-", "/", "_").Replace(secret))
	route := func(name string, cfg ...string) {
		e.form("POST", "/services/crud-persons/routes", 201, "name="+name, "paths=/"+name)
		e.form("POST", "/routes/"+name+"/plugins", 201, append([]string{"name=jwt"}, cfg...)...)
	}
	route("strict", "config.claims_to_verify=exp", "config.claims_to_verify=nbf", "config.maximum_expiration=600", "config.secret_is_base64=true",
		"config.cookie_names=session", "config.header_names=x-jwt", "config.realm=gatehouse", "config.run_on_preflight=false", "config.key_claim_name=kid")
	route("anon", "config.anonymous=guest")
	now := time.Now().Unix()
	tok := func(claims map[string]any) string { return hs256(claims, "shared") }
	good := tok(map[string]any{"kid": "alice-key", "exp": now + 60, "nbf": now - 10})
	challenge := `Bearer realm="gatehouse", error="invalid_token"`
	cases := []struct {
		name    string
		path    string
		headers map[string]string
		method  string
		status  int
		body    string
		user    string
	}{
		{"cookie", "/strict", map[string]string{"Cookie": "a=1; session=" + good}, "GET", 200, "", "alice"},
		{"custom header", "/strict", map[string]string{"X-Jwt": "Bearer " + good}, "GET", 200, "", "alice"},
		{"authorization not configured", "/strict", map[string]string{"Authorization": "Bearer " + good}, "GET", 401, `{"message":"Unauthorized"}`, ""},
		{"expired", "/strict", map[string]string{"X-Jwt": "Bearer " + tok(map[string]any{"kid": "alice-key", "exp": now - 5, "nbf": now - 10})}, "GET", 401, `{"exp":"token expired"}`, ""},
		{"not yet", "/strict", map[string]string{"X-Jwt": "Bearer " + tok(map[string]any{"kid": "alice-key", "exp": now + 60, "nbf": now + 100})}, "GET", 401, `{"nbf":"token not valid yet"}`, ""},
		{"too long", "/strict", map[string]string{"X-Jwt": "Bearer " + tok(map[string]any{"kid": "alice-key", "exp": now + 6000, "nbf": now})}, "GET", 401, `{"exp":"exceeds maximum allowed expiration"}`, ""},
		{"missing kid", "/strict", map[string]string{"X-Jwt": "Bearer " + tok(map[string]any{"exp": now + 60, "nbf": now})}, "GET", 401, `{"message":"No mandatory 'kid' in claims"}`, ""},
		{"multiple", "/strict", map[string]string{"X-Jwt": "Bearer " + good, "Cookie": "session=x.y.z"}, "GET", 401, `{"message":"Multiple tokens provided"}`, ""},
		{"preflight skipped", "/strict", nil, "OPTIONS", 200, "", ""},
		{"anonymous", "/anon", nil, "GET", 200, "", "guest"},
		{"anonymous, bad token", "/anon", map[string]string{"Authorization": "Bearer x"}, "GET", 200, "", "guest"},
	}
	for _, tc := range cases {
		code, body, hdr := e.call(tc.method, tc.path, tc.headers, "")
		if code != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.status)
			continue
		}
		if tc.status == 401 {
			if strings.TrimSpace(string(body)) != tc.body {
				t.Errorf("%s: body %s, want %s", tc.name, body, tc.body)
			}
			want := challenge
			if tc.body == `{"message":"Unauthorized"}` {
				want = `Bearer realm="gatehouse"`
			}
			if got := hdr.Get("WWW-Authenticate"); got != want {
				t.Errorf("%s: WWW-Authenticate %q, want %q", tc.name, got, want)
			}
			continue
		}
		if got := upstreamHeader(t, body, "X-Consumer-Username"); got != tc.user {
			t.Errorf("%s: consumer %q, want %q", tc.name, got, tc.user)
		}
		if tc.user == "guest" && upstreamHeader(t, body, "X-Anonymous-Consumer") != "true" {
			t.Errorf("%s: no X-Anonymous-Consumer", tc.name)
		}
	}
}

// TestSecretsValidated: an RS256 secret needs a PEM key OpenSSL reads.
func TestSecretsValidated(t *testing.T) {
	e := start(t)
	e.form("POST", "/consumers", 201, "username=bob")
	r := e.form("POST", "/consumers/bob/jwt", 400, "algorithm=RS256")
	if f, _ := r["fields"].(map[string]any); f["rsa_public_key"] != "required field missing" {
		t.Errorf("missing key: %v", r)
	}
	r = e.form("POST", "/consumers/bob/jwt", 400, "algorithm=RS256", "rsa_public_key=nope")
	if f, _ := r["fields"].(map[string]any); f["rsa_public_key"] != "invalid key" {
		t.Errorf("bad key: %v", r)
	}
	r = e.form("POST", "/plugins", 400, "name=jwt", "config.maximum_expiration=60", "config.claims_to_verify=nbf")
	if msg, _ := r["message"].(string); !strings.Contains(msg, "failed conditional validation given value of field 'config.maximum_expiration'") {
		t.Errorf("maximum_expiration without exp: %v", r)
	}
}
