package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestGUISettings checks each Kong Manager and portal setting's
// parsing, normalization and validation.
func TestGUISettings(t *testing.T) {
	tests := []struct {
		name, value string
		wantErr     string // substring; "" means valid
		field       string // Config field to compare, when valid
		want        any
	}{
		{"admin_gui_listen", "0.0.0.0:8002, 0.0.0.0:8445 ssl", "", "AdminGUIListen",
			[]Listener{{Addr: "0.0.0.0:8002"}, {Addr: "0.0.0.0:8445", SSL: true, Flags: []string{"ssl"}}}},
		{"admin_gui_listen", "off", "", "AdminGUIListen", []Listener{}},
		{"admin_gui_listen", "0.0.0.0:8002 tls", "unknown flag", "", nil},
		{"portal_gui_listen", "127.0.0.1:8003 http2 ssl reuseport backlog=16384", "", "PortalGUIListen",
			[]Listener{{Addr: "127.0.0.1:8003", SSL: true, HTTP2: true, Flags: []string{"ssl", "http2", "reuseport", "backlog=16384"}}}},
		{"portal_api_listen", "0.0.0.0:70000", "out of range", "", nil},
		{"portal_api_listen", "off, 0.0.0.0:8004", "cannot be combined", "", nil},
		{"admin_gui_path", "/", "", "AdminGUIPath", "/"},
		{"admin_gui_path", "/manager", "", "AdminGUIPath", "/manager"},
		{"admin_gui_path", "/kong-manager/v_2", "", "AdminGUIPath", "/kong-manager/v_2"},
		{"admin_gui_path", "manager", "must start with a slash", "", nil},
		{"admin_gui_path", "/manager/", "must not end with a slash", "", nil},
		{"admin_gui_path", "/man ager", "can only contain", "", nil},
		{"admin_gui_path", "/a.b", "can only contain", "", nil},
		{"admin_gui_path", "/a//b", "continuous slashes", "", nil},
		{"admin_gui_url", "http://localhost:8002", "", "AdminGUIURL", []string{"http://localhost:8002"}},
		{"admin_gui_url", "https://a.test/manager, http://b.test:8002", "", "AdminGUIURL",
			[]string{"https://a.test/manager", "http://b.test:8002"}},
		{"admin_gui_url", "localhost:8002", "invalid URL", "", nil},
		{"admin_gui_url", "ftp://localhost", "invalid URL", "", nil},
		{"admin_gui_url", "http://localhost:99999", "bad port", "", nil},
		{"admin_gui_url", "http://u:p@localhost", "invalid URL", "", nil},
		{"admin_gui_api_url", "https://127.0.0.1:8444", "", "AdminGUIAPIURL", "https://127.0.0.1:8444"},
		{"admin_gui_api_url", "", "", "AdminGUIAPIURL", ""},
		{"admin_gui_api_url", "127.0.0.1:8444", "", "AdminGUIAPIURL", "127.0.0.1:8444"},
		{"admin_gui_api_url", "//api.test/admin", "", "AdminGUIAPIURL", "//api.test/admin"},
		{"admin_gui_api_url", "ftp://api.test", "invalid URL", "", nil},
		{"admin_gui_api_url", "api test:8001", "invalid URL", "", nil},
		{"admin_gui_api_url", "localhost:99999", "invalid URL", "", nil},
		{"admin_gui_auth", "basic-auth", "", "AdminGUIAuth", "basic-auth"},
		{"admin_gui_auth", "Basic-Auth", "", "AdminGUIAuth", "basic-auth"},
		{"admin_gui_auth", "openid-connect", "not supported by Gatehouse", "", nil},
		{"admin_gui_auth", "ldap-auth-advanced", "not supported by Gatehouse", "", nil},
		{"admin_gui_auth", "magic", "expected basic-auth", "", nil},
		{"portal_auth", "basic-auth", "", "PortalAuth", "basic-auth"},
		{"portal_auth", "key-auth", "not supported by Gatehouse", "", nil},
		{"portal", "on", "", "Portal", true},
		{"portal", "maybe", "expected a boolean", "", nil},
		{"portal_gui_host", "localhost:8003", "", "PortalGUIHost", "localhost:8003"},
		{"portal_gui_host", "portal.example.com", "", "PortalGUIHost", "portal.example.com"},
		{"portal_gui_host", "[::1]:8003", "", "PortalGUIHost", "[::1]:8003"},
		{"portal_gui_host", "http://localhost:8003", "without a scheme", "", nil},
		{"portal_gui_host", "localhost:8003/x", "without a scheme", "", nil},
		{"portal_gui_host", "localhost:0", "without a scheme", "", nil},
		{"portal_gui_host", "", "without a scheme", "", nil},
		{"portal_gui_protocol", "HTTPS", "", "PortalGUIProtocol", "https"},
		{"portal_gui_protocol", "ws", "expected one of http, https", "", nil},
		{"portal_api_url", "http://localhost:8004", "", "PortalAPIURL", "http://localhost:8004"},
		{"portal_api_url", "/files", "invalid URL", "", nil},
		{"admin_gui_session_conf", `{"secret":"SYS","storage":"kong","cookie_secure":false}`, "", "AdminGUISessionConf",
			`{"secret":"SYS","storage":"kong","cookie_secure":false}`},
		{"admin_gui_session_conf", `{"secret":`, "expected a JSON object", "", nil},
		{"admin_gui_session_conf", `["secret"]`, "expected a JSON object", "", nil},
		{"admin_gui_session_conf", `null`, "expected a JSON object", "", nil},
		{"portal_session_conf", `{"storage":"redis"}`, "storage: expected kong or cookie", "", nil},
		{"portal_session_conf", `{"cookie_secure":"no"}`, "cookie_secure: expected a", "", nil},
		{"portal_session_conf", `{"cookie_samesite":"Sometimes"}`, "cookie_samesite", "", nil},
		{"portal_session_conf", `{"cookie_name":"a b"}`, "invalid cookie name", "", nil},
		{"portal_session_conf", `{"cookie_lifetime":-1}`, "must not be negative", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			// Sessions with a secret, for the sign-in methods.
			flags := map[string]string{"admin_gui_session_conf": `{"secret":"s"}`, "portal_session_conf": `{"secret":"s"}`}
			flags[tt.name] = tt.value
			c, err := Load(LoadOptions{Flags: flags})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.name) {
					t.Errorf("error %v does not name the setting", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := reflect.ValueOf(c).Elem().FieldByName(tt.field).Interface(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.field, got, tt.want)
			}
		})
	}
}

// TestGUISettingsFromEnvironment: KONG_ and GATEHOUSE_ names both work
// (GATEHOUSE_ wins), as the training's docker-compose file sets them.
func TestGUISettingsFromEnvironment(t *testing.T) {
	env := []string{
		"KONG_PORTAL=on",
		"KONG_ADMIN_GUI_URL=http://localhost:8002",
		"KONG_ADMIN_GUI_AUTH=basic-auth",
		`KONG_ADMIN_GUI_SESSION_CONF={"secret":"SYS","storage":"kong","cookie_secure":false}`,
		"KONG_PORTAL_GUI_HOST=127.0.0.1:8003",
		"GATEHOUSE_PORTAL_GUI_HOST=localhost:9003",
		"GATEHOUSE_ADMIN_GUI_LISTEN=127.0.0.1:9002",
		"KONG_PORTAL_API_LISTEN=off",
	}
	c, err := Load(LoadOptions{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Portal || c.AdminGUIAuth != "basic-auth" || c.PortalGUIHost != "localhost:9003" ||
		!reflect.DeepEqual(c.AdminGUIURL, []string{"http://localhost:8002"}) ||
		!reflect.DeepEqual(c.AdminGUIListen, []Listener{{Addr: "127.0.0.1:9002"}}) || len(c.PortalAPIListen) != 0 {
		t.Errorf("from the environment: %+v", c)
	}
	sc, ok := c.AdminGUISession()
	if !ok || sc.Secret != "SYS" || sc.Storage != "kong" || sc.CookieSecure == nil || *sc.CookieSecure || sc.Raw["storage"] != "kong" {
		t.Errorf("AdminGUISession() = %+v, %v", sc, ok)
	}
	if _, ok := c.PortalSession(); ok {
		t.Error("PortalSession() reports a configuration that is not set")
	}
	if got := c.AdminGUIOrigins(); !reflect.DeepEqual(got, []string{"http://localhost:8002"}) {
		t.Errorf("AdminGUIOrigins() = %v", got)
	}
	if got := c.PortalGUIURL(); got != "http://localhost:9003" {
		t.Errorf("PortalGUIURL() = %q", got)
	}
}

// TestAuthNeedsSession: a sign-in method without a session secret is
// refused (sessions could not be signed).
func TestAuthNeedsSession(t *testing.T) {
	tests := []struct {
		flags   map[string]string
		wantErr string
	}{
		{map[string]string{"admin_gui_auth": "basic-auth"}, "admin_gui_auth = basic-auth needs admin_gui_session_conf"},
		{map[string]string{"admin_gui_auth": "basic-auth", "admin_gui_session_conf": `{"storage":"kong"}`}, `with a "secret"`},
		{map[string]string{"admin_gui_auth": "basic-auth", "admin_gui_session_conf": `{"secret":"s"}`}, ""},
		{map[string]string{"portal_auth": "basic-auth"}, "portal_auth = basic-auth needs portal_session_conf"},
		{map[string]string{"portal_auth": "basic-auth", "portal_session_conf": `{"secret":"SYS","cookie_name":"portal_session"}`}, ""},
		{map[string]string{"admin_gui_session_conf": `{"storage":"kong"}`}, ""}, // no auth, no need
	}
	for _, tt := range tests {
		_, err := Load(LoadOptions{Flags: tt.flags})
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%v: error %v, want %q", tt.flags, err, tt.wantErr)
		}
	}
}

// writePair writes a fresh self-signed certificate and key for name into
// dir and returns their paths and PEM.
func writePair(t *testing.T, dir, name string) (certPath, keyPath, certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	keyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	certPath, keyPath = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certPath, []byte(certPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, []byte(keyPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath, certPEM, keyPEM
}

// TestListenerCertificates checks Kong's certificate rules: paths,
// inline and base64 PEM; pairs counted and loaded only for kinds with an
// ssl listener; errors that never quote key material.
func TestListenerCertificates(t *testing.T) {
	dir := t.TempDir()
	aCert, aKey, aCertPEM, aKeyPEM := writePair(t, dir, "a.test")
	bCert, bKey, _, bKeyPEM := writePair(t, dir, "b.test")
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name    string
		flags   map[string]string
		kind    string
		wantCNs []string
		wantErr string
	}{
		{"none: the default certificate", map[string]string{}, KindProxy, nil, ""},
		{"files", map[string]string{"ssl_cert": aCert, "ssl_cert_key": aKey}, KindProxy, []string{"a.test"}, ""},
		{"two pairs", map[string]string{"admin_ssl_cert": aCert + "," + bCert, "admin_ssl_cert_key": aKey + "," + bKey},
			KindAdmin, []string{"a.test", "b.test"}, ""},
		{"inline PEM", map[string]string{"admin_gui_ssl_cert": aCertPEM, "admin_gui_ssl_cert_key": aKeyPEM},
			KindAdminGUI, []string{"a.test"}, ""},
		{"base64 PEM", map[string]string{"portal_gui_ssl_cert": b64(aCertPEM), "portal_gui_ssl_cert_key": b64(aKeyPEM),
			"portal_gui_listen": "0.0.0.0:8446 ssl"}, KindPortalGUI, []string{"a.test"}, ""},
		{"no key", map[string]string{"ssl_cert": aCert}, KindProxy, nil, "ssl_cert_key must be specified"},
		{"no cert", map[string]string{"status_ssl_cert_key": aKey, "status_listen": "127.0.0.1:8100 ssl"},
			KindStatus, nil, "status_ssl_cert must be specified"},
		{"counts differ", map[string]string{"ssl_cert": aCert + "," + bCert, "ssl_cert_key": aKey}, KindProxy, nil,
			"ssl_cert was specified 2 times while ssl_cert_key was specified 1 times"},
		{"missing file", map[string]string{"admin_ssl_cert": filepath.Join(dir, "nope.crt"), "admin_ssl_cert_key": aKey},
			KindAdmin, nil, "admin_ssl_cert: failed loading certificate from"},
		{"key of another certificate", map[string]string{"portal_api_ssl_cert": aCert, "portal_api_ssl_cert_key": bKeyPEM},
			KindPortalAPI, nil, "portal_api_ssl_cert_key: failed loading key from an inline value"},
		{"not checked without an ssl listener", map[string]string{"ssl_cert": aCert, "proxy_listen": "0.0.0.0:8000"},
			"", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(LoadOptions{Flags: tt.flags})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load: %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "PRIVATE KEY") {
					t.Errorf("the error quotes a key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.kind == "" {
				return
			}
			certs, err := c.ListenerCertificates(tt.kind)
			if err != nil {
				t.Fatal(err)
			}
			var cns []string
			for _, pair := range certs {
				leaf, err := x509.ParseCertificate(pair.Certificate[0])
				if err != nil {
					t.Fatal(err)
				}
				cns = append(cns, leaf.Subject.CommonName)
			}
			if !reflect.DeepEqual(cns, tt.wantCNs) {
				t.Errorf("certificates %v, want %v", cns, tt.wantCNs)
			}
		})
	}
	if _, err := Defaults().ListenerCertificates("cluster"); err == nil {
		t.Error("an unknown kind has certificates")
	}
}

// TestSensitiveValues: GET / never shows keys or session secrets.
func TestSensitiveValues(t *testing.T) {
	dir := t.TempDir()
	aCert, aKey, _, _ := writePair(t, dir, "a.test")
	c, err := Load(LoadOptions{Flags: map[string]string{"ssl_cert": aCert, "ssl_cert_key": aKey,
		"admin_gui_auth": "basic-auth", "admin_gui_session_conf": `{"secret":"hunter2"}`}})
	if err != nil {
		t.Fatal(err)
	}
	v := c.Values()
	if !reflect.DeepEqual(v["ssl_cert_key"], []string{"******"}) || v["admin_gui_session_conf"] != "******" ||
		!reflect.DeepEqual(v["ssl_cert"], []string{aCert}) || !reflect.DeepEqual(v["admin_ssl_cert_key"], []string{}) {
		t.Errorf("Values(): ssl_cert %v, ssl_cert_key %v, admin_gui_session_conf %v, admin_ssl_cert_key %v",
			v["ssl_cert"], v["ssl_cert_key"], v["admin_gui_session_conf"], v["admin_ssl_cert_key"])
	}
	if c.SSLCertKey[0] != aKey || !strings.Contains(c.AdminGUISessionConf, "hunter2") {
		t.Error("Values() redacted the configuration itself")
	}
}

// FuzzSessionConf feeds outside JSON to the session configuration parser:
// it never panics, and what it accepts is an object whose known keys have
// valid values.
func FuzzSessionConf(f *testing.F) {
	for _, s := range []string{`{"secret":"SYS","storage":"kong","cookie_secure":false}`, `{"cookie_name":"portal_session"}`,
		`{}`, `null`, `[]`, `{"cookie_lifetime":1e400}`, `{"storage":1}`, `{"cookie_samesite":"Lax","x":[1,{"y":null}]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := parseSessionConf(s)
		if err != nil || strings.TrimSpace(s) == "" {
			return
		}
		if sc.Raw == nil {
			t.Fatalf("%q accepted without an object", s)
		}
		if sc.Storage != "" && sc.Storage != "kong" && sc.Storage != "cookie" || sc.CookieLifetime < 0 {
			t.Fatalf("%q accepted with %+v", s, sc)
		}
	})
}

// FuzzHostPort: portal_gui_host's check never panics and accepts no
// scheme, path or space.
func FuzzHostPort(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8003", "localhost", "[::1]:8003", "::1", "http://x", "a/b", "", ":80", "x:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkHostPort(reflect.ValueOf(&s).Elem()) == nil && strings.ContainsAny(s, "/ \t\n@?#") {
			t.Fatalf("accepted %q", s)
		}
	})
}

// TestSessionConfNames: the session plugin's 3.x keys and their 2.x
// aliases give the effective values, with Kong's defaults; a 3.x key wins
// over its alias.
func TestSessionConfNames(t *testing.T) {
	type eff struct {
		name, sameSite, path    string
		rolling, idling, abs    time.Duration
		stale                   time.Duration
		secure, httpOnly, store bool
	}
	def := eff{"session", "Strict", "/", time.Hour, 15 * time.Minute, 24 * time.Hour, 10 * time.Second, true, true, false}
	for _, tc := range []struct {
		name, conf string
		want       func(e eff) eff
		err        string
	}{
		{"defaults", `{"secret":"x"}`, func(e eff) eff { return e }, ""},
		{"training", `{"secret":"SYS","storage":"kong","cookie_secure":false}`,
			func(e eff) eff { e.secure, e.store = false, true; return e }, ""},
		{"2.x names", `{"cookie_lifetime":600,"cookie_idletime":60,"cookie_samesite":"off","cookie_httponly":false,"cookie_discard":3}`,
			func(e eff) eff {
				e.rolling, e.idling, e.sameSite, e.httpOnly, e.stale = 10*time.Minute, time.Minute, "Lax", false, 3*time.Second
				return e
			}, ""},
		{"3.x names win", `{"cookie_lifetime":600,"rolling_timeout":120,"cookie_idletime":60,"idling_timeout":0,"absolute_timeout":7200,
			"cookie_samesite":"Lax","cookie_same_site":"None","cookie_httponly":true,"cookie_http_only":false,"stale_ttl":1,"cookie_discard":5,
			"cookie_path":"/manager","cookie_name":"admin_session"}`,
			func(e eff) eff {
				e.rolling, e.idling, e.abs, e.sameSite, e.httpOnly, e.stale, e.path, e.name =
					2*time.Minute, 0, 2*time.Hour, "None", false, time.Second, "/manager", "admin_session"
				return e
			}, ""},
		{"Default same site", `{"cookie_same_site":"Default"}`, func(e eff) eff { e.sameSite = ""; return e }, ""},
		{"bad same site", `{"cookie_same_site":"Sometimes"}`, nil, "cookie_same_site"},
		{"negative timeout", `{"idling_timeout":-1}`, nil, "idling_timeout"},
		{"huge timeout", `{"rolling_timeout":1e12}`, nil, "rolling_timeout"},
		{"relative path", `{"cookie_path":"manager"}`, nil, "cookie_path"},
		{"bad domain", `{"cookie_domain":"a;b"}`, nil, "cookie_domain"},
		{"timeout type", `{"absolute_timeout":"1h"}`, nil, "absolute_timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := parseSessionConf(tc.conf)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := eff{sc.Name(), sc.SameSite(), sc.Path(), sc.Rolling(), sc.Idling(), sc.Absolute(), sc.Stale(),
				sc.Secure(), sc.HTTPOnly(), sc.ServerSide()}
			if want := tc.want(def); got != want {
				t.Errorf("effective %+v, want %+v", got, want)
			}
		})
	}
}

// TestAdminGUISettings: admin_gui_auth_header, admin_invitation_expiry and
// admin_gui_auth_login_attempts, with Kong's defaults.
func TestAdminGUISettings(t *testing.T) {
	c, err := Load(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminGUIAuthHeader != "Kong-Admin-User" || c.AdminInvitationExpiry != 259200 || c.AdminGUIAuthLoginAttempts != 0 {
		t.Errorf("defaults: %q %d %d", c.AdminGUIAuthHeader, c.AdminInvitationExpiry, c.AdminGUIAuthLoginAttempts)
	}
	for _, tc := range []struct {
		flags map[string]string
		err   string
	}{
		{map[string]string{"admin_gui_auth_header": "X-Admin", "admin_invitation_expiry": "60", "admin_gui_auth_login_attempts": "5"}, ""},
		{map[string]string{"admin_gui_auth_header": "bad header"}, "admin_gui_auth_header"},
		{map[string]string{"admin_invitation_expiry": "0"}, "admin_invitation_expiry"},
		{map[string]string{"admin_gui_auth_login_attempts": "-1"}, "admin_gui_auth_login_attempts"},
	} {
		_, err := Load(LoadOptions{Flags: tc.flags})
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%v: error %v, want %q", tc.flags, err, tc.err)
		}
	}
}
