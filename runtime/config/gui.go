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
	"time"
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
// Gatehouse reads; the other keys are kept in Raw. Both the session
// plugin's 3.x keys (rolling_timeout, idling_timeout, absolute_timeout,
// stale_ttl, cookie_same_site, cookie_http_only, cookie_path,
// cookie_domain) and its 2.x names (cookie_lifetime, cookie_idletime,
// cookie_samesite, cookie_httponly, cookie_discard) are accepted; a 3.x
// key wins over its 2.x alias. The methods (Name, Rolling, ...) give the
// effective values with Kong's defaults.
type SessionConf struct {
	// Secret signs the session cookies.
	Secret string `json:"secret"`
	// Storage is "kong" (server-side sessions, Kong's) or "cookie"
	// ("": cookie, the session plugin's default).
	Storage string `json:"storage"`
	// CookieName is the session cookie's name ("session" by default).
	CookieName string `json:"cookie_name"`
	// CookieSecure sets the cookie's Secure flag (nil: the default, on).
	CookieSecure *bool `json:"cookie_secure"`
	// CookieLifetime is the 2.x name of rolling_timeout, in seconds (0:
	// not given).
	CookieLifetime float64 `json:"cookie_lifetime"`
	// CookieIdletime is the 2.x name of idling_timeout (nil: not given).
	CookieIdletime *float64 `json:"cookie_idletime"`
	// CookieDiscard is the 2.x name of stale_ttl (nil: not given).
	CookieDiscard *float64 `json:"cookie_discard"`
	// CookieSameSite is the 2.x cookie_samesite: Strict, Lax, None or
	// off ("": not given).
	CookieSameSite string `json:"cookie_samesite"`
	// CookieHttponly is the 2.x name of cookie_http_only.
	CookieHttponly *bool `json:"cookie_httponly"`
	// RollingTimeout is the 3.x rolling_timeout in seconds: a session
	// not renewed within it ends (nil: not given; 0: no limit).
	RollingTimeout *float64 `json:"rolling_timeout"`
	// IdlingTimeout is idling_timeout: a session unused for that long
	// ends (nil: not given; 0: no limit).
	IdlingTimeout *float64 `json:"idling_timeout"`
	// AbsoluteTimeout is absolute_timeout: no session outlives it (nil:
	// not given; 0: no limit).
	AbsoluteTimeout *float64 `json:"absolute_timeout"`
	// StaleTTL is stale_ttl (nil: not given).
	StaleTTL *float64 `json:"stale_ttl"`
	// CookieSameSite3 is the 3.x cookie_same_site: Strict, Lax, None or
	// Default ("": not given).
	CookieSameSite3 string `json:"cookie_same_site"`
	// CookieHTTPOnly is the 3.x cookie_http_only (nil: not given).
	CookieHTTPOnly *bool `json:"cookie_http_only"`
	// CookiePath is cookie_path ("": "/").
	CookiePath string `json:"cookie_path"`
	// CookieDomain is cookie_domain ("": none).
	CookieDomain string `json:"cookie_domain"`
	// Remember is the session plugin's remember: the cookie gets an
	// expiry and outlives the browser session.
	Remember bool `json:"remember"`
	// Raw is the whole JSON object.
	Raw map[string]any `json:"-"`
}

// The session plugin's 3.x defaults, in seconds.
const (
	DefaultRollingTimeout  = 3600
	DefaultIdlingTimeout   = 900
	DefaultAbsoluteTimeout = 86400
	DefaultStaleTTL        = 10
)

// seconds turns a number of seconds into a duration.
func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// Name returns the cookie name: cookie_name, else "session".
func (sc SessionConf) Name() string {
	if sc.CookieName != "" {
		return sc.CookieName
	}
	return "session"
}

// ServerSide reports whether sessions live in the database (storage
// "kong") rather than in the cookie.
func (sc SessionConf) ServerSide() bool { return sc.Storage == "kong" }

// Rolling returns the rolling timeout (rolling_timeout, else
// cookie_lifetime, else 3600 s); 0 means none.
func (sc SessionConf) Rolling() time.Duration {
	switch {
	case sc.RollingTimeout != nil:
		return seconds(*sc.RollingTimeout)
	case sc.CookieLifetime > 0:
		return seconds(sc.CookieLifetime)
	}
	return DefaultRollingTimeout * time.Second
}

// Idling returns the idling timeout (idling_timeout, else
// cookie_idletime, else 900 s); 0 means none.
func (sc SessionConf) Idling() time.Duration {
	switch {
	case sc.IdlingTimeout != nil:
		return seconds(*sc.IdlingTimeout)
	case sc.CookieIdletime != nil:
		return seconds(*sc.CookieIdletime)
	}
	return DefaultIdlingTimeout * time.Second
}

// Absolute returns the absolute timeout (absolute_timeout, else 86400
// s); 0 means none.
func (sc SessionConf) Absolute() time.Duration {
	if sc.AbsoluteTimeout != nil {
		return seconds(*sc.AbsoluteTimeout)
	}
	return DefaultAbsoluteTimeout * time.Second
}

// Stale returns stale_ttl (else cookie_discard, else 10 s).
func (sc SessionConf) Stale() time.Duration {
	switch {
	case sc.StaleTTL != nil:
		return seconds(*sc.StaleTTL)
	case sc.CookieDiscard != nil:
		return seconds(*sc.CookieDiscard)
	}
	return DefaultStaleTTL * time.Second
}

// SameSite returns the cookie's SameSite value: cookie_same_site, else
// cookie_samesite (off read as Lax), else Strict; "Default" leaves the
// attribute out ("").
func (sc SessionConf) SameSite() string {
	v := sc.CookieSameSite3
	if v == "" {
		v = sc.CookieSameSite
	}
	switch v {
	case "":
		return "Strict"
	case "off":
		return "Lax"
	case "Default":
		return ""
	}
	return v
}

// HTTPOnly returns the cookie's HttpOnly flag (cookie_http_only, else
// cookie_httponly, else on).
func (sc SessionConf) HTTPOnly() bool {
	switch {
	case sc.CookieHTTPOnly != nil:
		return *sc.CookieHTTPOnly
	case sc.CookieHttponly != nil:
		return *sc.CookieHttponly
	}
	return true
}

// Secure returns the cookie's Secure flag (cookie_secure, else on).
func (sc SessionConf) Secure() bool { return sc.CookieSecure == nil || *sc.CookieSecure }

// Path returns the cookie's path (cookie_path, else "/").
func (sc SessionConf) Path() string {
	if sc.CookiePath != "" {
		return sc.CookiePath
	}
	return "/"
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
	switch sc.CookieSameSite3 {
	case "", "Strict", "Lax", "None", "Default":
	default:
		return SessionConf{}, fmt.Errorf("cookie_same_site: expected Strict, Lax, None or Default, got %q", sc.CookieSameSite3)
	}
	if sc.CookieLifetime < 0 {
		return SessionConf{}, fmt.Errorf("cookie_lifetime: must not be negative, got %v", sc.CookieLifetime)
	}
	for _, n := range []struct {
		name string
		v    *float64
	}{
		{"rolling_timeout", sc.RollingTimeout}, {"idling_timeout", sc.IdlingTimeout},
		{"absolute_timeout", sc.AbsoluteTimeout}, {"stale_ttl", sc.StaleTTL},
		{"cookie_idletime", sc.CookieIdletime}, {"cookie_discard", sc.CookieDiscard},
	} {
		if n.v != nil && (*n.v < 0 || *n.v > 1e9) {
			return SessionConf{}, fmt.Errorf("%s: expected a number of seconds between 0 and 1e9, got %v", n.name, *n.v)
		}
	}
	if sc.CookieLifetime > 1e9 {
		return SessionConf{}, fmt.Errorf("cookie_lifetime: expected a number of seconds between 0 and 1e9, got %v", sc.CookieLifetime)
	}
	if strings.ContainsFunc(sc.CookieName, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r)
	}) {
		return SessionConf{}, fmt.Errorf("cookie_name: invalid cookie name %q", sc.CookieName)
	}
	if sc.CookiePath != "" && (!strings.HasPrefix(sc.CookiePath, "/") || strings.ContainsFunc(sc.CookiePath, func(r rune) bool {
		return r < ' ' || r >= 0x7f || r == ';'
	})) {
		return SessionConf{}, fmt.Errorf("cookie_path: expected a path starting with /, got %q", sc.CookiePath)
	}
	if strings.ContainsFunc(sc.CookieDomain, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || r == ';' || r == ','
	}) {
		return SessionConf{}, fmt.Errorf("cookie_domain: invalid domain %q", sc.CookieDomain)
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
