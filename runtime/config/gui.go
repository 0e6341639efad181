package config

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// Listener kinds, as ListenerCertificates and ListenKinds name them: each
// is its *_listen setting without "_listen".
const (
	KindProxy     = "proxy"
	KindAdmin     = "admin"
	KindStatus    = "status"
	KindAdminGUI  = "admin_gui"
	KindPortalGUI = "portal_gui"
	KindPortalAPI = "portal_api"
)

// certSettings maps each listener kind to its certificate setting's
// prefix: Kong calls the proxy's plain ssl_cert.
var certSettings = []struct{ kind, prefix string }{
	{KindProxy, "ssl"}, {KindAdmin, "admin_ssl"}, {KindAdminGUI, "admin_gui_ssl"},
	{KindStatus, "status_ssl"}, {KindPortalGUI, "portal_gui_ssl"}, {KindPortalAPI, "portal_api_ssl"},
}

// Listen returns the listeners of a kind (KindProxy, ...), as
// configured: whether they are opened also depends on other settings (see
// the app package: Kong Manager needs admin_listen, the portal needs
// portal = on).
func (c *Config) Listen(kind string) []Listener {
	switch kind {
	case KindProxy:
		return c.ProxyListen
	case KindAdmin:
		return c.AdminListen
	case KindStatus:
		return c.StatusListen
	case KindAdminGUI:
		return c.AdminGUIListen
	case KindPortalGUI:
		return c.PortalGUIListen
	case KindPortalAPI:
		return c.PortalAPIListen
	}
	return nil
}

// certPair returns the certificate and key lists of a kind.
func (c *Config) certPair(kind string) (certs, keys []string, prefix string) {
	rv := reflect.ValueOf(c).Elem()
	for _, cs := range certSettings {
		if cs.kind == kind {
			certs = rv.Field(settings[settingByID[cs.prefix+"_cert"]].field).Interface().([]string)
			keys = rv.Field(settings[settingByID[cs.prefix+"_cert_key"]].field).Interface().([]string)
			return certs, keys, cs.prefix
		}
	}
	return nil, nil, ""
}

// ListenerCertificates returns the certificates configured for a kind's
// TLS listeners (ssl_cert/ssl_cert_key for the proxy, admin_ssl_cert/...,
// admin_gui_ssl_cert/..., status_ssl_cert/..., portal_gui_ssl_cert/...,
// portal_api_ssl_cert/...), in order; none when the settings are empty,
// which means the node's default certificate. Each value is a PEM file's
// path, inline PEM, or base64-encoded PEM, as in Kong.
func (c *Config) ListenerCertificates(kind string) ([]tls.Certificate, error) {
	certs, keys, prefix := c.certPair(kind)
	if prefix == "" {
		return nil, fmt.Errorf("unknown listener kind %q", kind)
	}
	if len(certs) != len(keys) {
		return nil, pairCountError(prefix, len(certs), len(keys))
	}
	var out []tls.Certificate
	for i := range certs {
		pair, err := loadPair(prefix, certs[i], keys[i])
		if err != nil {
			return nil, err
		}
		out = append(out, pair)
	}
	return out, nil
}

// pairCountError is Kong's message for unpaired certificates and keys.
func pairCountError(prefix string, certs, keys int) error {
	switch {
	case certs > 0 && keys == 0:
		return fmt.Errorf("%s_cert_key must be specified", prefix)
	case keys > 0 && certs == 0:
		return fmt.Errorf("%s_cert must be specified", prefix)
	}
	return fmt.Errorf("%s_cert was specified %d times while %s_cert_key was specified %d times", prefix, certs, prefix, keys)
}

// pemValue reads a certificate setting's value: the file it names if one
// exists, else the value base64-decoded if that gives PEM, else the value
// itself. inline reports that the value was not a file.
func pemValue(v string) (data []byte, inline bool, err error) {
	if st, serr := os.Stat(v); serr == nil && !st.IsDir() {
		data, err = os.ReadFile(v)
		return data, false, err
	}
	if dec, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(v)); derr == nil && bytes.Contains(dec, []byte("-----BEGIN")) {
		return dec, true, nil
	}
	return []byte(v), true, nil
}

// describe names a value in an error without quoting inline key material.
func describe(v string, inline bool) string {
	if inline {
		return "an inline value"
	}
	return v
}

// loadPair loads certificate cert with key key.
func loadPair(prefix, cert, key string) (tls.Certificate, error) {
	certPEM, inline, err := pemValue(cert)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s_cert: failed loading certificate from %s: %v", prefix, cert, err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return tls.Certificate{}, fmt.Errorf("%s_cert: failed loading certificate from %s: no PEM certificate", prefix, describe(cert, inline))
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return tls.Certificate{}, fmt.Errorf("%s_cert: failed loading certificate from %s: %v", prefix, describe(cert, inline), err)
	}
	keyPEM, kinline, err := pemValue(key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s_cert_key: failed loading key from %s: %v", prefix, key, err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s_cert_key: failed loading key from %s: %v", prefix, describe(key, kinline), err)
	}
	return pair, nil
}

// checkCertificates is Kong's check of the certificate settings: for
// every kind with an "ssl" listener, certificates and keys come in pairs
// and load.
func (c *Config) checkCertificates() error {
	var errs []error
	for _, cs := range certSettings {
		ssl := false
		for _, l := range c.Listen(cs.kind) {
			ssl = ssl || l.SSL
		}
		if !ssl {
			continue
		}
		if _, err := c.ListenerCertificates(cs.kind); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// checkAuth: a sign-in method needs a session configuration with a
// secret, which signs the session cookies (Kong Enterprise's session
// plugin needs one shared by all nodes).
func (c *Config) checkAuth() error {
	var errs []error
	for _, a := range []struct{ auth, conf, authName, confName string }{
		{c.AdminGUIAuth, c.AdminGUISessionConf, "admin_gui_auth", "admin_gui_session_conf"},
		{c.PortalAuth, c.PortalSessionConf, "portal_auth", "portal_session_conf"},
	} {
		if a.auth == "" {
			continue
		}
		sc, _ := parseSessionConf(a.conf)
		if a.conf == "" || sc.Secret == "" {
			errs = append(errs, fmt.Errorf("%s = %s needs %s with a \"secret\"", a.authName, a.auth, a.confName))
		}
	}
	return errors.Join(errs...)
}

// checkGUIURLs accepts admin_gui_url's entries:
// <scheme>://<host>(:<port>(/<path>)) with scheme http or https.
func checkGUIURLs(v reflect.Value) error {
	for _, u := range v.Interface().([]string) {
		if err := checkHTTPURL(u); err != nil {
			return err
		}
	}
	return nil
}

// checkOptionalURL accepts "" or an http(s) URL.
func checkOptionalURL(v reflect.Value) error {
	if v.String() == "" {
		return nil
	}
	return checkHTTPURL(v.String())
}

// checkAPIURL accepts admin_gui_api_url: Kong calls it the hierarchical
// part of a URI, so besides <scheme>://<host>[:<port>][/<path>] it takes
// <host>[:<port>][/<path>] and //<host>..., to which Kong Manager adds the
// page's scheme.
func checkAPIURL(v reflect.Value) error {
	s := v.String()
	if s == "" || strings.Contains(s, "://") {
		return checkOptionalURL(v)
	}
	if err := checkHTTPURL("http://" + strings.TrimPrefix(s, "//")); err != nil {
		return fmt.Errorf("invalid URL %q, expected [<scheme>://]<host>[:<port>][/<path>] with scheme http or https", s)
	}
	return nil
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(s, " \t") {
		return fmt.Errorf("invalid URL %q, expected <scheme>://<host>[:<port>][/<path>] with scheme http or https", s)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("invalid URL %q: bad port %q", s, p)
		}
	}
	return nil
}

var guiPathChars = regexp.MustCompile(`^[A-Za-z0-9\-_/]*$`)

// checkGUIPath is Kong's admin_gui_path check.
func checkGUIPath(v reflect.Value) error {
	p := v.String()
	switch {
	case !strings.HasPrefix(p, "/"):
		return errors.New("admin_gui_path must start with a slash ('/')")
	case len(p) > 1 && strings.HasSuffix(p, "/"):
		return errors.New("admin_gui_path must not end with a slash ('/')")
	case !guiPathChars.MatchString(p):
		return errors.New("admin_gui_path can only contain letters, digits, hyphens ('-'), underscores ('_'), and slashes ('/')")
	case strings.Contains(p, "//"):
		return errors.New("admin_gui_path must not contain continuous slashes ('/')")
	}
	return nil
}

// guiAuthMethods are the sign-in methods of admin_gui_auth and
// portal_auth Gatehouse implements; Kong Enterprise's others are refused
// rather than left open.
var guiAuthMethods = []string{"basic-auth"}

// unsupportedAuth are Kong Enterprise's other methods.
var unsupportedAuth = []string{"key-auth", "ldap-auth-advanced", "openid-connect"}

func checkGUIAuth(v reflect.Value) error {
	s := strings.ToLower(v.String())
	switch {
	case s == "":
		return nil
	case s == "basic-auth":
		v.SetString(s)
		return nil
	}
	for _, u := range unsupportedAuth {
		if s == u {
			return fmt.Errorf("%q is not supported by Gatehouse (supported: %s)", v.String(), strings.Join(guiAuthMethods, ", "))
		}
	}
	return fmt.Errorf("expected %s or nothing, got %q", strings.Join(guiAuthMethods, ", "), v.String())
}

// SessionConf is the part of an admin_gui_session_conf or
// portal_session_conf (the session plugin's configuration, as JSON) that
// Gatehouse reads; the other keys are kept in Raw.
type SessionConf struct {
	// Secret signs the session cookies.
	Secret string `json:"secret"`
	// Storage is "kong" (server-side sessions, Kong's) or "cookie".
	Storage string `json:"storage"`
	// CookieName is the session cookie's name ("session" by default).
	CookieName string `json:"cookie_name"`
	// CookieSecure sets the cookie's Secure flag (nil: the default, on).
	CookieSecure *bool `json:"cookie_secure"`
	// CookieLifetime is the session's lifetime in seconds (0: the
	// default, 3600).
	CookieLifetime float64 `json:"cookie_lifetime"`
	// CookieSameSite is Strict, Lax, None or off ("": Strict).
	CookieSameSite string `json:"cookie_samesite"`
	// Raw is the whole JSON object.
	Raw map[string]any `json:"-"`
}

// parseSessionConf parses a session configuration; "" gives the zero
// value.
func parseSessionConf(s string) (SessionConf, error) {
	var sc SessionConf
	if strings.TrimSpace(s) == "" {
		return sc, nil
	}
	if err := json.Unmarshal([]byte(s), &sc.Raw); err != nil || sc.Raw == nil {
		return SessionConf{}, errors.New("expected a JSON object")
	}
	if err := json.Unmarshal([]byte(s), &sc); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return SessionConf{}, fmt.Errorf("%s: expected a %s", te.Field, te.Type)
		}
		return SessionConf{}, err
	}
	switch sc.Storage {
	case "", "kong", "cookie":
	default:
		return SessionConf{}, fmt.Errorf("storage: expected kong or cookie, got %q", sc.Storage)
	}
	switch sc.CookieSameSite {
	case "", "Strict", "Lax", "None", "off":
	default:
		return SessionConf{}, fmt.Errorf("cookie_samesite: expected Strict, Lax, None or off, got %q", sc.CookieSameSite)
	}
	if sc.CookieLifetime < 0 {
		return SessionConf{}, fmt.Errorf("cookie_lifetime: must not be negative, got %v", sc.CookieLifetime)
	}
	if strings.ContainsFunc(sc.CookieName, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r)
	}) {
		return SessionConf{}, fmt.Errorf("cookie_name: invalid cookie name %q", sc.CookieName)
	}
	return sc, nil
}

func checkSessionConf(v reflect.Value) error {
	_, err := parseSessionConf(v.String())
	return err
}

// AdminGUISession returns admin_gui_session_conf parsed; ok is false
// when it is not set.
func (c *Config) AdminGUISession() (sc SessionConf, ok bool) {
	sc, _ = parseSessionConf(c.AdminGUISessionConf)
	return sc, c.AdminGUISessionConf != ""
}

// PortalSession returns portal_session_conf parsed; ok is false when it
// is not set.
func (c *Config) PortalSession() (sc SessionConf, ok bool) {
	sc, _ = parseSessionConf(c.PortalSessionConf)
	return sc, c.PortalSessionConf != ""
}

// checkHostPort accepts host or host:port (portal_gui_host), without a
// scheme or path.
func checkHostPort(v reflect.Value) error {
	s := v.String()
	bad := fmt.Errorf("invalid value %q, expected <host>[:<port>] without a scheme or path", s)
	if s == "" {
		return bad
	}
	host := s
	if h, p, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || !isDigits(p) {
			return bad
		}
		host = h
	}
	if host == "" {
		return bad
	}
	if strings.HasPrefix(s, "[") || strings.Contains(host, ":") {
		if _, err := parseListenAddr(net.JoinHostPort(host, "1")); err != nil {
			return bad
		}
		return nil
	}
	if _, err := parseListenAddr(host + ":1"); err != nil {
		return bad
	}
	return nil
}

// AdminGUIOrigins returns the origins (scheme://host[:port]) of
// admin_gui_url, Kong's admin_gui_origin: the Admin API allows them in
// CORS.
func (c *Config) AdminGUIOrigins() []string {
	out := []string{}
	for _, s := range c.AdminGUIURL {
		if u, err := url.Parse(s); err == nil {
			out = append(out, u.Scheme+"://"+u.Host)
		}
	}
	return out
}

// PortalGUIURL returns the portal's URL from portal_gui_protocol and
// portal_gui_host, e.g. http://127.0.0.1:8003.
func (c *Config) PortalGUIURL() string {
	return c.PortalGUIProtocol + "://" + c.PortalGUIHost
}

// sensitive are the settings GET / shows as "******" when set, as Kong
// does: certificate keys and session secrets.
var sensitive = []string{
	"pg_password", "ssl_cert_key", "admin_ssl_cert_key", "admin_gui_ssl_cert_key", "status_ssl_cert_key",
	"portal_gui_ssl_cert_key", "portal_api_ssl_cert_key", "admin_gui_session_conf", "portal_session_conf",
}
