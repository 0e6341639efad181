// Package oauth2_test runs Kong's oauth2 plugin flows against a real
// Gatehouse node over real sockets: the token and authorize endpoints
// under the route's paths (HTTPS listener, or HTTP terminated by a trusted
// proxy), tokens used on the proxied API, refresh, expiry, scopes, PKCE,
// and hostile input.
package oauth2_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/runtime/app"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
)

const (
	provision = "provision123"
	redirect  = "http://google.com/kong"
)

type node struct {
	t      testing.TB
	n      *app.Node
	admin  string
	proxy  string // plain HTTP
	secure string // HTTPS
	client *http.Client
}

func start(t testing.TB) *node {
	t.Helper()
	n := testnode.Start(t, map[string]string{"proxy_listen": "127.0.0.1:0, 127.0.0.1:0 ssl", "trusted_ips": "127.0.0.1/32"})
	up := upstream(t)
	nd := &node{t: t, n: n, admin: "http://" + n.Addr("admin"), proxy: "http://" + n.Addr("proxy"),
		secure: "https://" + n.Addr("proxy_ssl"),
		client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	routes := []struct {
		name string
		conf map[string]any
	}{
		{"api", map[string]any{"scopes": []string{"email", "profile", "user.email"}, "enable_authorization_code": true,
			"enable_implicit_grant": true, "enable_client_credentials": true, "enable_password_grant": true,
			"provision_key": provision, "token_expiration": 5}},
		{"short", map[string]any{"enable_client_credentials": true, "enable_password_grant": true, "provision_key": provision,
			"token_expiration": 1, "accept_http_if_already_terminated": true, "scopes": []string{"email"}}},
		{"anon", map[string]any{"enable_client_credentials": true, "anonymous": "guest"}},
		{"mand", map[string]any{"enable_authorization_code": true, "mandatory_scope": true, "scopes": []string{"email"},
			"pkce": "strict", "provision_key": provision, "realm": "gatehouse"}},
		{"reuse", map[string]any{"enable_password_grant": true, "provision_key": provision, "reuse_refresh_token": true,
			"hide_credentials": true, "scopes": []string{"email"}}},
	}
	for _, r := range routes {
		nd.admin201("POST", "/services", map[string]any{"name": r.name, "url": "http://" + up + "/up"})
		nd.admin201("POST", "/services/"+r.name+"/routes", map[string]any{"name": r.name, "paths": []string{"/" + r.name}})
		nd.admin201("POST", "/routes/"+r.name+"/plugins", map[string]any{"name": "oauth2", "config": r.conf})
	}
	nd.admin201("POST", "/consumers", map[string]any{"username": "bob", "custom_id": "bob-1"})
	nd.admin201("POST", "/consumers", map[string]any{"username": "guest"})
	nd.admin201("POST", "/consumers/bob/oauth2", map[string]any{"name": "app", "client_id": "clientid123",
		"client_secret": "secret123", "redirect_uris": []string{redirect, "http://example.com/cb?x=1"}})
	nd.admin201("POST", "/consumers/bob/oauth2", map[string]any{"name": "spa", "client_id": "public123",
		"client_type": "public", "redirect_uris": []string{redirect}})
	nd.admin201("POST", "/consumers/bob/oauth2", map[string]any{"name": "hashed", "client_id": "hashed123",
		"client_secret": "s3cret", "hash_secret": true, "redirect_uris": []string{redirect}})
	if err := n.Snapshots().Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	return nd
}

func upstream(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"headers": r.Header, "query": r.URL.RawQuery, "body": string(b)})
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

type result struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (nd *node) do(method, u string, body io.Reader, header map[string]string) *result {
	nd.t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		nd.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := nd.client.Do(req)
	if err != nil {
		nd.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := &result{status: res.StatusCode, header: res.Header, body: raw}
	json.Unmarshal(raw, &r.json)
	return r
}

func (nd *node) admin201(method, path string, body map[string]any) map[string]any {
	nd.t.Helper()
	b, _ := json.Marshal(body)
	r := nd.do(method, nd.admin+path, bytes.NewReader(b), map[string]string{"Content-Type": "application/json"})
	if r.status/100 != 2 {
		nd.t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
	}
	return r.json
}

// form posts a form to the HTTPS proxy.
func (nd *node) form(path string, v url.Values, header map[string]string) *result {
	nd.t.Helper()
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for k, val := range header {
		h[k] = val
	}
	return nd.do("POST", nd.secure+path, strings.NewReader(v.Encode()), h)
}

func (nd *node) get(path, token string) *result {
	nd.t.Helper()
	h := map[string]string{}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return nd.do("GET", nd.secure+path, nil, h)
}

// upstreamHeader reads a header the upstream received.
func (r *result) upstreamHeader(name string) string {
	hs, _ := r.json["headers"].(map[string]any)
	for k, v := range hs {
		if strings.EqualFold(k, name) {
			if l, _ := v.([]any); len(l) > 0 {
				s, _ := l[0].(string)
				return s
			}
		}
	}
	return ""
}

func wantError(t *testing.T, what string, r *result, status int, code, desc string) {
	t.Helper()
	if r.status != status || r.json["error"] != code || r.json["error_description"] != desc {
		t.Errorf("%s: %d %s, want %d %s %q", what, r.status, r.body, status, code, desc)
	}
}

func creds(extra url.Values) url.Values {
	v := url.Values{"client_id": {"clientid123"}, "client_secret": {"secret123"}}
	for k, val := range extra {
		v[k] = val
	}
	return v
}

func TestClientCredentials(t *testing.T) {
	nd := start(t)
	r := nd.form("/api/oauth2/token", creds(url.Values{"grant_type": {"client_credentials"}, "scope": {"email profile"}}), nil)
	tok, _ := r.json["access_token"].(string)
	if r.status != 200 || len(tok) != 32 || r.json["token_type"] != "bearer" || r.json["expires_in"] != float64(5) || r.json["refresh_token"] != nil {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Pragma") != "no-cache" {
		t.Errorf("token headers %v", r.header)
	}
	api := nd.get("/api/resource", tok)
	if api.status != 200 || api.upstreamHeader("X-Consumer-Username") != "bob" || api.upstreamHeader("X-Consumer-Custom-ID") != "bob-1" ||
		api.upstreamHeader("X-Credential-Identifier") != "clientid123" || api.upstreamHeader("X-Authenticated-Scope") != "email profile" ||
		api.upstreamHeader("X-Authenticated-Userid") != "" || api.upstreamHeader("Authorization") == "" {
		t.Errorf("proxied: %d %s", api.status, api.body)
	}
	// The token is the route's service's: another service refuses it.
	if r := nd.get("/short/x", tok); r.status != 401 || r.json["error"] != "invalid_token" {
		t.Errorf("token of another service: %d %s", r.status, r.body)
	}
	// Basic credentials in the header.
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("clientid123:secret123"))
	if r := nd.form("/api/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, map[string]string{"Authorization": basic}); r.status != 200 {
		t.Errorf("basic: %d %s", r.status, r.body)
	}
	bad := "Basic " + base64.StdEncoding.EncodeToString([]byte("clientid123:wrong"))
	r = nd.form("/api/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, map[string]string{"Authorization": bad})
	wantError(t, "bad basic", r, 401, "invalid_client", "Invalid client authentication")
	if got := r.header.Get("WWW-Authenticate"); got != `Basic realm="OAuth2.0"` {
		t.Errorf("bad basic challenge %q", got)
	}
	wantError(t, "bad secret", nd.form("/api/oauth2/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {"clientid123"}, "client_secret": {"nope"}}, nil), 400, "invalid_client", "Invalid client authentication")
	wantError(t, "bad grant", nd.form("/api/oauth2/token", creds(url.Values{"grant_type": {"magic"}}), nil),
		400, "unsupported_grant_type", "Invalid grant_type")
	wantError(t, "bad scope", nd.form("/api/oauth2/token", creds(url.Values{"grant_type": {"client_credentials"}, "scope": {"email admin"}}), nil),
		400, "invalid_scope", `"admin" is an invalid scope`)
	wantError(t, "userid without provision key", nd.form("/api/oauth2/token", creds(url.Values{"grant_type": {"client_credentials"},
		"authenticated_userid": {"u1"}}), nil), 400, "invalid_provision_key", "Invalid provision_key")
	// JSON bodies work as forms do, and state is echoed.
	jb, _ := json.Marshal(map[string]any{"grant_type": "client_credentials", "client_id": "clientid123", "client_secret": "secret123", "state": "xyz"})
	r = nd.do("POST", nd.secure+"/api/oauth2/token", bytes.NewReader(jb), map[string]string{"Content-Type": "application/json"})
	if r.status != 200 || r.json["state"] != "xyz" {
		t.Errorf("json body: %d %s", r.status, r.body)
	}
	// Hashed secrets.
	if r := nd.form("/api/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"hashed123"}, "client_secret": {"s3cret"}}, nil); r.status != 200 {
		t.Errorf("hashed secret: %d %s", r.status, r.body)
	}
	cred := nd.do("GET", nd.admin+"/oauth2/hashed123", nil, nil)
	if s, _ := cred.json["client_secret"].(string); !strings.HasPrefix(s, "$pbkdf2-sha512$i=10000,l=32$") {
		t.Errorf("stored secret %q", s)
	}
	// Tokens are listed at /oauth2_tokens.
	list := nd.do("GET", nd.admin+"/oauth2_tokens", nil, nil)
	if data, _ := list.json["data"].([]any); list.status != 200 || len(data) < 4 {
		t.Errorf("/oauth2_tokens: %d %s", list.status, list.body)
	}
	if one := nd.do("GET", nd.admin+"/oauth2_tokens/"+tok, nil, nil); one.status != 200 || one.json["scope"] != "email profile" {
		t.Errorf("token by access_token: %d %s", one.status, one.body)
	}
}

func TestAccessErrors(t *testing.T) {
	nd := start(t)
	r := nd.get("/api/x", "")
	wantError(t, "missing", r, 401, "invalid_request", "The access token is missing")
	if r.header.Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("challenge %q", r.header.Get("WWW-Authenticate"))
	}
	r = nd.get("/api/x", "nope")
	wantError(t, "unknown", r, 401, "invalid_token", "The access token is invalid or has expired")
	if got := r.header.Get("WWW-Authenticate"); got != `Bearer error="invalid_token" error_description="The access token is invalid or has expired"` {
		t.Errorf("challenge %q", got)
	}
	r = nd.get("/mand/x", "")
	if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="gatehouse"` {
		t.Errorf("realm challenge %q", got)
	}
	r = nd.do("GET", nd.secure+"/api/oauth2/token", nil, nil)
	wantError(t, "GET token", r, 405, "invalid_method", "The HTTP method GET is invalid for the token endpoint")
	r = nd.do("PUT", nd.secure+"/api/oauth2/authorize", nil, nil)
	wantError(t, "PUT authorize", r, 405, "invalid_method", "The HTTP method PUT is invalid for the authorization endpoint")
	// Plain HTTP is refused, unless a trusted proxy terminated TLS.
	r = nd.do("POST", nd.proxy+"/api/oauth2/token", strings.NewReader(creds(url.Values{"grant_type": {"client_credentials"}}).Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	wantError(t, "http", r, 400, "access_denied", "You must use HTTPS")
	body := creds(url.Values{"grant_type": {"client_credentials"}}).Encode()
	r = nd.do("POST", nd.proxy+"/short/oauth2/token", strings.NewReader(body),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-Proto": "https"})
	if r.status != 200 {
		t.Errorf("terminated https: %d %s", r.status, r.body)
	}
	r = nd.do("POST", nd.proxy+"/short/oauth2/token", strings.NewReader(body),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-Proto": "http"})
	wantError(t, "terminated http", r, 400, "access_denied", "You must use HTTPS")
}

func TestPasswordRefreshAndExpiry(t *testing.T) {
	nd := start(t)
	wantError(t, "no provision key", nd.form("/short/oauth2/token", creds(url.Values{"grant_type": {"password"}}), nil),
		400, "invalid_provision_key", "Invalid provision_key")
	wantError(t, "no user", nd.form("/short/oauth2/token", creds(url.Values{"grant_type": {"password"}, "provision_key": {provision},
		"authenticated_userid": {"  "}}), nil), 400, "invalid_authenticated_userid", "Missing authenticated_userid parameter")
	r := nd.form("/short/oauth2/token", creds(url.Values{"grant_type": {"password"}, "provision_key": {provision},
		"authenticated_userid": {"user-7"}, "scope": {"email"}}), nil)
	tok, _ := r.json["access_token"].(string)
	refresh, _ := r.json["refresh_token"].(string)
	if r.status != 200 || tok == "" || len(refresh) != 32 || r.json["expires_in"] != float64(1) {
		t.Fatalf("password: %d %s", r.status, r.body)
	}
	api := nd.get("/short/x", tok)
	if api.status != 200 || api.upstreamHeader("X-Authenticated-Userid") != "user-7" || api.upstreamHeader("X-Authenticated-Scope") != "email" {
		t.Errorf("proxied: %d %s", api.status, api.body)
	}
	time.Sleep(2100 * time.Millisecond)
	wantError(t, "expired", nd.get("/short/x", tok), 401, "invalid_token", "The access token is invalid or has expired")
	// The refresh token outlives the access token.
	r = nd.form("/short/oauth2/token", creds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}), nil)
	tok2, _ := r.json["access_token"].(string)
	if r.status != 200 || tok2 == "" || tok2 == tok || r.json["refresh_token"] == refresh {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	if api := nd.get("/short/x", tok2); api.status != 200 || api.upstreamHeader("X-Authenticated-Userid") != "user-7" {
		t.Errorf("refreshed token: %d %s", api.status, api.body)
	}
	wantError(t, "reused refresh", nd.form("/short/oauth2/token", creds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}), nil),
		400, "invalid_request", "Invalid refresh_token")
	wantError(t, "refresh by another client", nd.form("/short/oauth2/token", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {r.json["refresh_token"].(string)}, "client_id": {"hashed123"}, "client_secret": {"s3cret"}}, nil),
		400, "invalid_client", "Invalid client authentication")
}

func TestReuseRefreshTokenAndHideCredentials(t *testing.T) {
	nd := start(t)
	r := nd.form("/reuse/oauth2/token", creds(url.Values{"grant_type": {"password"}, "provision_key": {provision}, "authenticated_userid": {"u"}}), nil)
	refresh, _ := r.json["refresh_token"].(string)
	tok, _ := r.json["access_token"].(string)
	r = nd.form("/reuse/oauth2/token", creds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}), nil)
	if r.status != 200 || r.json["refresh_token"] != refresh || r.json["access_token"] == tok {
		t.Fatalf("reuse: %d %s", r.status, r.body)
	}
	tok2 := r.json["access_token"].(string)
	api := nd.get("/reuse/x", tok2)
	if api.status != 200 || api.upstreamHeader("Authorization") != "" {
		t.Errorf("hidden header: %d %s", api.status, api.body)
	}
	api = nd.do("GET", nd.secure+"/reuse/x?a=1&access_token="+tok2, nil, nil)
	if api.status != 200 || api.json["query"] != "a=1" {
		t.Errorf("hidden query: %d %s", api.status, api.body)
	}
	api = nd.do("POST", nd.secure+"/reuse/x", strings.NewReader("a=1&access_token="+tok2),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if api.status != 200 || api.json["body"] != "a=1" {
		t.Errorf("hidden form field: %d %s", api.status, api.body)
	}
	if r := nd.get("/reuse/x", tok); r.status != 401 {
		t.Errorf("replaced token still works: %d", r.status)
	}
}

func pkcePair() (verifier, challenge string) {
	verifier = strings.Repeat("v", 20) + "0123456789abcdefghijklmnopqrstuvwxyz"
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func authorize(nd *node, path string, v url.Values) *result {
	nd.t.Helper()
	base := url.Values{"provision_key": {provision}, "authenticated_userid": {"user-1"}}
	for k, val := range v {
		base[k] = val
	}
	return nd.form(path+"/oauth2/authorize", base, nil)
}

func redirectArgs(t *testing.T, r *result, fragment bool) url.Values {
	t.Helper()
	s, _ := r.json["redirect_uri"].(string)
	u, err := url.Parse(s)
	if err != nil || s == "" {
		t.Fatalf("redirect_uri: %d %s", r.status, r.body)
	}
	raw := u.RawQuery
	if fragment {
		raw = u.Fragment
	}
	v, _ := url.ParseQuery(raw)
	return v
}

func TestAuthorizationCode(t *testing.T) {
	nd := start(t)
	r := authorize(nd, "/api", url.Values{"client_id": {"clientid123"}, "response_type": {"code"}, "scope": {"email"}, "state": {"st 1"}})
	args := redirectArgs(t, r, false)
	code := args.Get("code")
	if r.status != 200 || len(code) != 32 || args.Get("state") != "st 1" || !strings.HasPrefix(r.json["redirect_uri"].(string), redirect+"?") {
		t.Fatalf("authorize: %d %s", r.status, r.body)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("authorize headers %v", r.header)
	}
	// Errors go back through the redirect URI.
	r = authorize(nd, "/api", url.Values{"client_id": {"clientid123"}, "response_type": {"code"}, "redirect_uri": {"http://evil.example/"}})
	if a := redirectArgs(t, r, false); r.status != 400 || a.Get("error") != "invalid_request" ||
		a.Get("error_description") != "Invalid redirect_uri that does not match with any redirect_uri created with the application" {
		t.Errorf("bad redirect_uri: %d %s", r.status, r.body)
	}
	r = authorize(nd, "/api", url.Values{"client_id": {"clientid123"}, "response_type": {"code"}, "redirect_uri": {"http://example.com/cb?x=1"}})
	if a := redirectArgs(t, r, false); r.status != 200 || a.Get("x") != "1" || a.Get("code") == "" {
		t.Errorf("second redirect_uri keeps its query: %d %s", r.status, r.body)
	}
	// Kong's encoding of the redirect URI's arguments, byte for byte.
	for _, c := range []struct {
		args url.Values
		want string
	}{
		{url.Values{"client_id": {"clientid123"}, "response_type": {"code"}, "scope": {"wot"}, "state": {"some-state,x"}},
			redirect + "?error=invalid_scope&error_description=%22wot%22%20is%20an%20invalid%20scope&state=some%2dstate%2cx"},
		{url.Values{"client_id": {"clientid123"}, "response_type": {"code"}, "code_challenge": {"abc"}, "code_challenge_method": {"plain"}, "state": {"hello"}},
			redirect + "?error=invalid_request&error_description=code_challenge_method%20is%20not%20supported%2c%20must%20be%20S256&state=hello"},
		{url.Values{"client_id": {"clientid123"}, "response_type": {"code"}, "code_challenge_method": {"S256"}, "redirect_uri": {"http://example.com/cb?x=1"}},
			"http://example.com/cb?error=invalid_request&error_description=code_challenge%20is%20required%20when%20code_method%20is%20present&x=1"},
	} {
		if r := authorize(nd, "/api", c.args); r.status != 400 || r.json["redirect_uri"] != c.want {
			t.Errorf("%v: %d %s\nwant %s", c.args, r.status, r.body, c.want)
		}
	}
	wantError(t, "unknown client", authorize(nd, "/api", url.Values{"client_id": {"nope"}, "response_type": {"code"}}),
		400, "invalid_client", "Invalid client authentication")
	wantError(t, "bad provision key", authorize(nd, "/api", url.Values{"client_id": {"clientid123"}, "provision_key": {"x"}}),
		400, "invalid_provision_key", "Invalid provision_key")
	r = authorize(nd, "/api", url.Values{"client_id": {"clientid123"}, "response_type": {"magic"}})
	if a := redirectArgs(t, r, false); a.Get("error") != "unsupported_response_type" || a.Get("error_description") != "Invalid response_type" {
		t.Errorf("bad response_type: %s", r.body)
	}
	// Exchange the code; then it is gone.
	tr := nd.form("/api/oauth2/token", creds(url.Values{"grant_type": {"authorization_code"}, "code": {code}}), nil)
	tok, _ := tr.json["access_token"].(string)
	if tr.status != 200 || tok == "" || tr.json["refresh_token"] == nil {
		t.Fatalf("code exchange: %d %s", tr.status, tr.body)
	}
	if api := nd.get("/api/x", tok); api.status != 200 || api.upstreamHeader("X-Authenticated-Userid") != "user-1" || api.upstreamHeader("X-Authenticated-Scope") != "email" {
		t.Errorf("proxied: %d %s", api.status, api.body)
	}
	wantError(t, "reused code", nd.form("/api/oauth2/token", creds(url.Values{"grant_type": {"authorization_code"}, "code": {code}}), nil),
		400, "invalid_request", "Invalid code")
	wantError(t, "code of another service", nd.form("/mand/oauth2/token", creds(url.Values{"grant_type": {"authorization_code"},
		"code": {redirectArgs(t, authorize(nd, "/api", url.Values{"client_id": {"clientid123"}, "response_type": {"code"}}), false).Get("code")}}), nil),
		400, "invalid_request", "Invalid code")
}

func TestPKCE(t *testing.T) {
	nd := start(t)
	verifier, challenge := pkcePair()
	// A public client must send a challenge (pkce lax).
	r := authorize(nd, "/api", url.Values{"client_id": {"public123"}, "response_type": {"code"}})
	if a := redirectArgs(t, r, false); a.Get("error_description") != "code_challenge is required for public clients" {
		t.Errorf("public without challenge: %s", r.body)
	}
	r = authorize(nd, "/api", url.Values{"client_id": {"public123"}, "response_type": {"code"}, "code_challenge": {challenge}, "code_challenge_method": {"plain"}})
	if a := redirectArgs(t, r, false); a.Get("error_description") != "code_challenge_method is not supported, must be S256" {
		t.Errorf("plain method: %s", r.body)
	}
	code := func() string {
		r := authorize(nd, "/api", url.Values{"client_id": {"public123"}, "response_type": {"code"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}})
		return redirectArgs(t, r, false).Get("code")
	}
	wantError(t, "secret from a public client", nd.form("/api/oauth2/token", url.Values{"grant_type": {"authorization_code"},
		"client_id": {"public123"}, "client_secret": {"x"}, "code": {code()}, "code_verifier": {verifier}}, nil),
		400, "invalid_request", "client_secret is disallowed for public clients")
	c := code()
	wantError(t, "no verifier", nd.form("/api/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {"public123"}, "code": {c}}, nil),
		400, "invalid_request", "code_verifier is required for PKCE authorization requests")
	wantError(t, "short verifier", nd.form("/api/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {"public123"},
		"code": {c}, "code_verifier": {"short"}}, nil), 400, "invalid_request", "code_verifier must be between 43 and 128 characters")
	wantError(t, "wrong verifier", nd.form("/api/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {"public123"},
		"code": {c}, "code_verifier": {strings.Repeat("w", 50)}}, nil), 400, "invalid_grant", "Invalid code")
	r = nd.form("/api/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {"public123"}, "code": {c}, "code_verifier": {verifier}}, nil)
	if r.status != 200 || r.json["access_token"] == nil {
		t.Errorf("pkce exchange: %d %s", r.status, r.body)
	}
	// The method defaults to S256 and may be spelled s256; a confidential
	// client that sent a challenge must verify it (pkce lax).
	for _, method := range []string{"", "s256"} {
		args := url.Values{"client_id": {"clientid123"}, "response_type": {"code"}, "code_challenge": {challenge}}
		if method != "" {
			args.Set("code_challenge_method", method)
		}
		c := redirectArgs(t, authorize(nd, "/api", args), false).Get("code")
		wantError(t, "confidential without verifier", nd.form("/api/oauth2/token", creds(url.Values{"grant_type": {"authorization_code"}, "code": {c}}), nil),
			400, "invalid_request", "code_verifier is required for PKCE authorization requests")
		if r := nd.form("/api/oauth2/token", creds(url.Values{"grant_type": {"authorization_code"}, "code": {c}, "code_verifier": {verifier}}), nil); r.status != 200 {
			t.Errorf("method %q: %d %s", method, r.status, r.body)
		}
	}
	// pkce strict: confidential clients need a challenge too; mandatory scope.
	r = authorize(nd, "/mand", url.Values{"client_id": {"clientid123"}, "response_type": {"code"}, "scope": {"email"}})
	if a := redirectArgs(t, r, false); a.Get("error_description") != "code_challenge is required for confidential clients" {
		t.Errorf("strict: %s", r.body)
	}
	r = authorize(nd, "/mand", url.Values{"client_id": {"clientid123"}, "response_type": {"code"}, "code_challenge": {challenge}})
	if a := redirectArgs(t, r, false); a.Get("error") != "invalid_scope" || a.Get("error_description") != "You must specify a scope" {
		t.Errorf("mandatory scope: %s", r.body)
	}
}

func TestImplicit(t *testing.T) {
	nd := start(t)
	r := authorize(nd, "/api", url.Values{"client_id": {"clientid123"}, "response_type": {"token"}, "state": {"s"}, "scope": {"profile"}})
	a := redirectArgs(t, r, true)
	if r.status != 200 || a.Get("access_token") == "" || a.Get("token_type") != "bearer" || a.Get("expires_in") != "5" ||
		a.Get("state") != "s" || a.Get("refresh_token") != "" {
		t.Fatalf("implicit: %d %s", r.status, r.body)
	}
	if api := nd.get("/api/x", a.Get("access_token")); api.status != 200 || api.upstreamHeader("X-Authenticated-Scope") != "profile" {
		t.Errorf("implicit token: %d %s", api.status, api.body)
	}
}

func TestAnonymous(t *testing.T) {
	nd := start(t)
	api := nd.get("/anon/x", "")
	if api.status != 200 || api.upstreamHeader("X-Consumer-Username") != "guest" || api.upstreamHeader("X-Anonymous-Consumer") != "true" {
		t.Errorf("anonymous: %d %s", api.status, api.body)
	}
	r := nd.form("/anon/oauth2/token", creds(url.Values{"grant_type": {"client_credentials"}}), nil)
	api = nd.get("/anon/x", r.json["access_token"].(string))
	if api.status != 200 || api.upstreamHeader("X-Consumer-Username") != "bob" || api.upstreamHeader("X-Anonymous-Consumer") != "" {
		t.Errorf("authenticated: %d %s", api.status, api.body)
	}
}

// TestHostileInput: malformed bodies, headers and parameters get Kong's
// 4xx answers, never a 500.
func TestHostileInput(t *testing.T) {
	nd := start(t)
	cases := []struct {
		name, path, ctype, body string
		header                  map[string]string
	}{
		{"bad json", "/api/oauth2/token", "application/json", `{"grant_type":`, nil},
		{"json array", "/api/oauth2/token", "application/json", `[1,2,3]`, nil},
		{"json types", "/api/oauth2/token", "application/json", `{"grant_type":["client_credentials"],"client_id":{"a":1},"client_secret":7,"scope":[1]}`, nil},
		{"repeated keys", "/api/oauth2/token", "application/x-www-form-urlencoded", "grant_type=password&grant_type=password&client_id=clientid123&client_id=x&client_secret=secret123", nil},
		{"binary", "/api/oauth2/token", "application/x-www-form-urlencoded", "\x00\xff%zz=%%&=&&&", nil},
		{"bad basic", "/api/oauth2/token", "application/x-www-form-urlencoded", "grant_type=client_credentials", map[string]string{"Authorization": "Basic !!!"}},
		{"basic no colon", "/api/oauth2/token", "application/x-www-form-urlencoded", "grant_type=client_credentials", map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("clientid123"))}},
		{"code types", "/api/oauth2/token", "application/json", `{"grant_type":"authorization_code","client_id":"clientid123","client_secret":"secret123","code":{"x":1}}`, nil},
		{"refresh types", "/api/oauth2/token", "application/json", `{"grant_type":"refresh_token","client_id":"clientid123","client_secret":"secret123","refresh_token":[1]}`, nil},
		{"verifier types", "/api/oauth2/token", "application/json", `{"grant_type":"authorization_code","client_id":"public123","code":"x","code_verifier":5}`, nil},
		{"authorize types", "/api/oauth2/authorize", "application/json", `{"provision_key":"provision123","authenticated_userid":["a"],"client_id":"clientid123","redirect_uri":{"a":1},"code_challenge":[1],"scope":5}`, nil},
		{"authorize redirect types", "/api/oauth2/authorize", "application/json", `{"provision_key":"provision123","authenticated_userid":"a","client_id":"clientid123","response_type":"code","redirect_uri":[1],"state":{"s":1}}`, nil},
		{"authorize flags", "/api/oauth2/authorize?provision_key&client_id&response_type", "text/plain", "x", nil},
		{"multipart junk", "/api/oauth2/token", "multipart/form-data; boundary=zz", "--zz\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--zz", nil},
	}
	for _, c := range cases {
		h := map[string]string{"Content-Type": c.ctype}
		for k, v := range c.header {
			h[k] = v
		}
		r := nd.do("POST", nd.secure+c.path, strings.NewReader(c.body), h)
		if r.status >= 500 || r.status < 400 || r.json == nil {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
		}
	}
	for _, auth := range []string{"Bearer", "Bearer a b", "bearer " + strings.Repeat("x", 4000), "Basic abc"} {
		if r := nd.do("GET", nd.secure+"/api/x", nil, map[string]string{"Authorization": auth}); r.status != 401 {
			t.Errorf("Authorization %.20q: %d %s", auth, r.status, r.body)
		}
	}
}

func TestSchemaAndProvisionKey(t *testing.T) {
	nd := start(t)
	r := nd.do("GET", nd.admin+"/schemas/plugins/oauth2", nil, nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"provision_key"`) || !strings.Contains(string(r.body), `"pkce"`) {
		t.Fatalf("schema: %d %s", r.status, r.body)
	}
	nd.admin201("POST", "/services", map[string]any{"name": "gen", "url": "http://127.0.0.1:1"})
	p := nd.admin201("POST", "/services/gen/plugins", map[string]any{"name": "oauth2", "config": map[string]any{"enable_password_grant": true}})
	cfg, _ := p["config"].(map[string]any)
	if pk, _ := cfg["provision_key"].(string); len(pk) != 32 || cfg["pkce"] != "lax" || cfg["token_expiration"] != float64(7200) ||
		cfg["refresh_token_ttl"] != float64(1209600) || cfg["auth_header_name"] != "authorization" {
		t.Errorf("defaults: %v", cfg)
	}
	patched := nd.admin201("PATCH", "/plugins/"+p["id"].(string), map[string]any{"config": map[string]any{"token_expiration": 10}})
	if pc, _ := patched["config"].(map[string]any); pc["provision_key"] != cfg["provision_key"] || pc["token_expiration"] != float64(10) {
		t.Errorf("PATCH changed the provision key: %v", pc)
	}
	b, _ := json.Marshal(map[string]any{"name": "oauth2", "config": map[string]any{}})
	r = nd.do("POST", nd.admin+"/services/gen/plugins", bytes.NewReader(b), map[string]string{"Content-Type": "application/json"})
	if r.status != 400 || !strings.Contains(string(r.body), "at least one of these fields must be true") {
		t.Errorf("no flow: %d %s", r.status, r.body)
	}
	b, _ = json.Marshal(map[string]any{"name": "oauth2", "config": map[string]any{"enable_password_grant": true, "mandatory_scope": true}})
	r = nd.do("POST", nd.admin+"/services/gen/plugins", bytes.NewReader(b), map[string]string{"Content-Type": "application/json"})
	if r.status != 400 || !strings.Contains(string(r.body), "failed conditional validation given value of field 'mandatory_scope'") {
		t.Errorf("mandatory scope without scopes: %d %s", r.status, r.body)
	}
	b, _ = json.Marshal(map[string]any{"name": "x", "redirect_uris": []string{"http://a.example/#frag"}})
	r = nd.do("POST", nd.admin+"/consumers/bob/oauth2", bytes.NewReader(b), map[string]string{"Content-Type": "application/json"})
	if r.status != 400 || !strings.Contains(string(r.body), "fragment not allowed in 'http://a.example/#frag'") {
		t.Errorf("fragment: %d %s", r.status, r.body)
	}
}

// BenchmarkTokenValidation measures a proxied request authenticated by an
// access token on a real node (HTTPS listener, SQLite store, the node's
// caches), keep-alive connections, parallel clients.
func BenchmarkTokenValidation(b *testing.B) {
	nd := start(b)
	r := nd.form("/reuse/oauth2/token", creds(url.Values{"grant_type": {"password"}, "provision_key": {provision}, "authenticated_userid": {"u"}}), nil)
	tok, _ := r.json["access_token"].(string)
	if tok == "" {
		b.Fatalf("token: %d %s", r.status, r.body)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", nd.secure+"/reuse/x", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			res, err := nd.client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
}

// TestGlobalCredentials: tokens issued by a plugin with global_credentials
// carry no service and work on every plugin with global_credentials;
// authorization codes stay bound to the plugin that issued them.
func TestGlobalCredentials(t *testing.T) {
	nd := start(t)
	up := upstream(t)
	for _, name := range []string{"g1", "g2"} {
		nd.admin201("POST", "/services", map[string]any{"name": name, "url": "http://" + up})
		nd.admin201("POST", "/services/"+name+"/routes", map[string]any{"paths": []string{"/" + name}})
		nd.admin201("POST", "/services/"+name+"/plugins", map[string]any{"name": "oauth2", "config": map[string]any{
			"global_credentials": true, "enable_client_credentials": true, "enable_authorization_code": true, "provision_key": provision}})
	}
	if err := nd.n.Snapshots().Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := nd.form("/g1/oauth2/token", creds(url.Values{"grant_type": {"client_credentials"}}), nil)
	tok, _ := r.json["access_token"].(string)
	if r.status != 200 || tok == "" {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	if stored := nd.do("GET", nd.admin+"/oauth2_tokens/"+tok, nil, nil); stored.json["service"] != nil {
		t.Errorf("global token bound to a service: %s", stored.body)
	}
	for _, p := range []string{"/g1/x", "/g2/x"} {
		if api := nd.get(p, tok); api.status != 200 || api.upstreamHeader("X-Consumer-Username") != "bob" {
			t.Errorf("%s: %d %s", p, api.status, api.body)
		}
	}
	wantError(t, "global token without global_credentials", nd.get("/api/x", tok), 401, "invalid_token",
		"The access token is global, but the current plugin is configured without 'global_credentials'")
	// A service-bound token is not valid on a global plugin's service.
	bound := nd.form("/api/oauth2/token", creds(url.Values{"grant_type": {"client_credentials"}}), nil).json["access_token"].(string)
	wantError(t, "bound token", nd.get("/g1/x", bound), 401, "invalid_token", "The access token is invalid or has expired")
	code := redirectArgs(t, authorize(nd, "/g1", url.Values{"client_id": {"clientid123"}, "response_type": {"code"}}), false).Get("code")
	wantError(t, "code of another plugin", nd.form("/g2/oauth2/token", creds(url.Values{"grant_type": {"authorization_code"}, "code": {code}}), nil),
		400, "invalid_request", "Invalid code")
	if r := nd.form("/g1/oauth2/token", creds(url.Values{"grant_type": {"authorization_code"}, "code": {code}}), nil); r.status != 200 {
		t.Errorf("code on its plugin: %d %s", r.status, r.body)
	}
}
