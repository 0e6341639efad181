// Package luaplugins_test runs Kong Lua plugins, unmodified, on real
// nodes: the training's jwt-crafter flow with a plugin written as 0.x
// plugins were (BasePlugin, kong.singletons, kong.tools.responses,
// resty.jwt, ngx.say, a rockspec mapping src/ files), and with one
// written as Kong 3.x plugins are (kong.db, kong.cache, Penlight,
// resty.openssl, an entity of its own in daos.lua).
package luaplugins_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/testnode"
	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-lua/kongenv"
	"github.com/gatehouse/gatehouse/runtime/app"
	"github.com/gatehouse/gatehouse/runtime/config"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
)

type node struct {
	t            *testing.T
	n            *app.Node
	admin, proxy string
}

// start runs a node serving the Lua plugins of testdata/plugins.
func start(t *testing.T, names ...string) *node {
	t.Helper()
	settings := map[string]string{"plugins": "bundled," + strings.Join(names, ",")}
	// kong.configuration is the node's settings, as gatehouse start gives.
	cfg, err := config.Load(config.LoadOptions{Flags: settings})
	if err != nil {
		t.Fatal(err)
	}
	p, err := kongenv.NewProvider(kongenv.Options{PluginsDir: "testdata/plugins", Names: names, Prefix: t.TempDir(),
		Configuration: cfg.Values(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	n := testnode.StartWith(t, settings, app.Options{Providers: []hostabi.Provider{p}})
	return &node{t: t, n: n, admin: "http://" + n.Addr("admin"), proxy: "http://" + n.Addr("proxy")}
}

// form sends an Admin API request as the training's curl --data does.
func (nd *node) form(method, path string, pairs ...string) map[string]any {
	nd.t.Helper()
	v := url.Values{}
	for _, p := range pairs {
		k, val, _ := strings.Cut(p, "=")
		v.Add(k, val)
	}
	req, _ := http.NewRequest(method, nd.admin+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		nd.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		nd.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func (nd *node) get(path string, header map[string]string) (int, http.Header, []byte) {
	nd.t.Helper()
	req, _ := http.NewRequest("GET", nd.proxy+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		nd.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

// eventually retries the request until want comes or 5 s pass: the proxy
// follows Admin API changes through a new configuration snapshot.
func (nd *node) eventually(path string, header map[string]string, want int) (http.Header, []byte) {
	nd.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		status, h, b := nd.get(path, header)
		if status == want {
			return h, b
		}
		if time.Now().After(deadline) {
			nd.t.Fatalf("GET %s: %d %s, want %d", path, status, b, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// setup is the training's chapter 11 flow up to the token: a protected
// API with the jwt plugin, a log-in route with basic-auth and the
// crafting plugin, and consumer test with its group and credentials.
func setup(t *testing.T, nd *node, crafter string) (consumerID string) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"persons":["ada"]}`)
	}))
	t.Cleanup(up.Close)
	nd.form("POST", "/services/", "name=crud-persons", "url="+up.URL+"/crud/persons/")
	nd.form("POST", "/services/crud-persons/routes", "name=crud-route-jwt", "paths=/crud/persons", "strip_path=true")
	nd.form("POST", "/services/", "name=jwt-login", "url=http://neverinvoked/")
	nd.form("POST", "/services/jwt-login/routes", "name=jwt-login-route", "paths=/jwt/log-in")
	nd.form("POST", "/routes/jwt-login-route/plugins", "name=basic-auth", "config.hide_credentials=false")
	nd.form("POST", "/routes/jwt-login-route/plugins", "name="+crafter, "config.expires_in=86400")
	c := nd.form("POST", "/consumers/", "username=test")
	nd.form("POST", "/consumers/test/acls", "group=test")
	nd.form("POST", "/consumers/test/basic-auth", "username=test", "password=test")
	nd.form("POST", "/consumers/test/jwt", "key=test", "algorithm=HS256")
	nd.form("POST", "/routes/crud-route-jwt/plugins", "name=jwt")
	nd.eventually("/crud/persons/all", nil, 401) // the jwt plugin guards the API
	return c["id"].(string)
}

// craftAndUse logs in with basic auth, checks the crafted token's claims
// and uses it on the protected API.
func craftAndUse(t *testing.T, nd *node, consumerID string) string {
	t.Helper()
	// test:test, base64-encoded, as in the training
	h, body := nd.eventually("/jwt/log-in", map[string]string{"Authorization": "basic dGVzdDp0ZXN0"}, 200)
	if !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Errorf("log-in Content-Type %q", h.Get("Content-Type"))
	}
	var out struct {
		Token     string  `json:"access_token"`
		Type      string  `json:"token_type"`
		ExpiresIn float64 `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Type != "Bearer" || out.ExpiresIn != 86400 {
		t.Fatalf("log-in answer %s: %v", body, err)
	}
	parts := strings.Split(out.Token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q", out.Token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	json.Unmarshal(payload, &claims)
	roles, _ := claims["rol"].([]any)
	exp, _ := claims["exp"].(float64)
	if claims["nam"] != "test" || claims["sub"] != consumerID || claims["iss"] != "test" || len(roles) != 1 || roles[0] != "test" ||
		exp < float64(time.Now().Unix()+86000) {
		t.Fatalf("claims %s", payload)
	}

	// The bundled jwt plugin accepts the crafted token.
	status, _, b := nd.get("/crud/persons/all", map[string]string{"Authorization": "Bearer " + out.Token})
	if status != 200 || !bytes.Contains(b, []byte("ada")) {
		t.Fatalf("protected API with the crafted token: %d %s", status, b)
	}
	// And refuses none or a forged one.
	if status, _, _ := nd.get("/crud/persons/all", nil); status != 401 {
		t.Errorf("without a token: %d", status)
	}
	forged := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString([]byte("forged-signature-bytes-000000000"))
	if status, _, _ := nd.get("/crud/persons/all", map[string]string{"Authorization": "Bearer " + forged}); status != 401 {
		t.Errorf("forged token: %d", status)
	}
	// Without basic-auth credentials there is no token.
	if status, _, _ := nd.get("/jwt/log-in", map[string]string{"Authorization": "basic dGVzdDp3cm9uZw=="}); status != 401 {
		t.Errorf("log-in with a wrong password: %d", status)
	}
	return out.Token
}

// TestJWTCrafterLegacy: the 0.x-style plugin, laid out with a rockspec.
func TestJWTCrafterLegacy(t *testing.T) {
	nd := start(t, "jwt-crafter")
	id := setup(t, nd, "jwt-crafter")
	craftAndUse(t, nd, id)
	// Its 0.x schema was converted: the default shows in the schema.
	res, err := http.Get(nd.admin + "/schemas/plugins/jwt-crafter")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !bytes.Contains(b, []byte(`"expires_in"`)) || !bytes.Contains(b, []byte(`28800`)) {
		t.Errorf("/schemas/plugins/jwt-crafter: %d %s", res.StatusCode, b)
	}
}

// TestJWTMinterModern: the Kong 3.x-style plugin, which also records
// each token in its own entity (daos.lua), served on the Admin API.
func TestJWTMinterModern(t *testing.T) {
	nd := start(t, "jwt-minter")
	id := setup(t, nd, "jwt-minter")
	craftAndUse(t, nd, id)
	res, err := http.Get(nd.admin + "/jwt-minter-tokens")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var page struct {
		Data []map[string]any `json:"data"`
	}
	json.NewDecoder(res.Body).Decode(&page)
	if res.StatusCode != 200 || len(page.Data) != 1 {
		t.Fatalf("/jwt-minter-tokens: %d %v", res.StatusCode, page.Data)
	}
	row := page.Data[0]
	consumer, _ := row["consumer"].(map[string]any)
	if consumer["id"] != id || row["jti"] == nil || row["expires_at"] == nil {
		t.Fatalf("token row %v", row)
	}
}
