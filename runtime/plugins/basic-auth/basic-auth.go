// Package basicauth is Gatehouse's native basic-auth plugin, compatible with
// Kong 3.9's: clients authenticate with HTTP Basic credentials in the
// Proxy-Authorization or Authorization header, checked against the
// basicauth_credentials. See README.md for the configuration.
package basicauth

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/store"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "basic-auth"
	Priority = 1100
	Version  = "3.9.0"
)

const (
	credentialEntity = "basicauth_credentials"
	credentialField  = "username"
)

// Kong 3.9's basic-auth response messages.
const (
	msgUnauthorized = "Unauthorized"
	msgInvalidCred  = "Invalid authentication credentials"
	msgUnexpected   = "An unexpected error occurred"
)

// The upstream headers Kong's auth plugins set (kong.constants.HEADERS).
const (
	headerConsumerID       = "X-Consumer-ID"
	headerConsumerCustomID = "X-Consumer-Custom-ID"
	headerConsumerUsername = "X-Consumer-Username"
	headerCredentialID     = "X-Credential-Identifier"
	headerAnonymous        = "X-Anonymous-Consumer"
)

func init() {
	plugin.Register(&plugin.Definition{
		Name:     Name,
		Version:  Version,
		Priority: Priority,
		Schema:   Schema(),
		New:      New,
	})
}

// Config is the plugin's validated configuration.
type Config struct {
	// Anonymous is a consumer id or username; "" when unset.
	Anonymous       string
	HideCredentials bool
	Realm           string
}

// ParseConfig reads a configuration map as the store delivers it
// (validated, defaults filled). Values of the wrong type are an error.
func ParseConfig(m map[string]any) (Config, error) {
	c := Config{Realm: "service"}
	var errs []error
	if v, ok := m["anonymous"]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			errs = append(errs, fmt.Errorf("basic-auth: anonymous: expected a string, got %T", v))
		}
		c.Anonymous = s
	}
	if v, ok := m["hide_credentials"]; ok && v != nil {
		b, ok := v.(bool)
		if !ok {
			errs = append(errs, fmt.Errorf("basic-auth: hide_credentials: expected a boolean, got %T", v))
		}
		c.HideCredentials = b
	}
	if v, ok := m["realm"]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			errs = append(errs, fmt.Errorf("basic-auth: realm: expected a string, got %T", v))
		}
		c.Realm = s
	}
	return c, errors.Join(errs...)
}

// Plugin is one configured basic-auth instance; safe for concurrent use.
type Plugin struct {
	conf    Config
	wwwAuth string
}

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) {
	c, err := ParseConfig(config)
	if err != nil {
		return nil, err
	}
	return NewPlugin(c), nil
}

// NewPlugin creates an instance from a parsed configuration.
func NewPlugin(c Config) *Plugin {
	return &Plugin{conf: c, wwwAuth: `Basic realm="` + c.Realm + `"`}
}

type failure struct {
	status  int
	message string
	err     error // server-side failure
}

type messageBody struct {
	Message string `json:"message"`
}

// Access implements hostabi.Accessor.
func (p *Plugin) Access(k hostabi.Kong) error {
	if p.conf.Anonymous != "" {
		// Logical OR with other auth plugins.
		if k.Client().Credential() != nil {
			return nil
		}
		fail, err := p.authenticate(k)
		if err != nil {
			return err
		}
		if fail != nil {
			if fail.err != nil {
				k.Log().Err("basic-auth: authentication failed", "error", fail.err)
			}
			return setAnonymous(k, p.conf.Anonymous)
		}
		return nil
	}
	fail, err := p.authenticate(k)
	if err != nil {
		return err
	}
	if fail != nil {
		if fail.err != nil {
			return fail.err
		}
		k.Response().Exit(fail.status, messageBody{fail.message}, map[string]string{"WWW-Authenticate": p.wwwAuth})
	}
	return nil
}

func (p *Plugin) authenticate(k hostabi.Kong) (*failure, error) {
	headers := k.Request().Headers()
	authz, hasAuthz := first(headers, "authorization")
	proxy, hasProxy := first(headers, "proxy-authorization")
	if !hasAuthz && !hasProxy {
		return &failure{status: 401, message: msgUnauthorized}, nil
	}

	var cred hostabi.Entity
	var err error
	user, pass := p.retrieve(k, "Proxy-Authorization", proxy)
	if user != "" {
		if cred, err = p.load(k, user); err != nil {
			return nil, err
		}
	}
	if cred == nil {
		user, pass = p.retrieve(k, "Authorization", authz)
		if user != "" {
			if cred, err = p.load(k, user); err != nil {
				return nil, err
			}
		}
	}
	if cred == nil || !validPassword(cred, pass) {
		return &failure{status: 401, message: msgInvalidCred}, nil
	}

	var consumer hostabi.Entity
	if id := foreignID(cred["consumer"]); id != "" {
		consumer, err = k.Client().LoadConsumer(k.Context(), id, false)
		if err != nil {
			return &failure{status: 500, message: msgUnexpected, err: fmt.Errorf("basic-auth: loading consumer: %w", err)}, nil
		}
	}
	setConsumer(k, consumer, cred)
	return nil, nil
}

func first(h map[string][]string, name string) (string, bool) {
	vs, ok := h[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

func (p *Plugin) load(k hostabi.Kong, username string) (hostabi.Entity, error) {
	cred, err := k.Credentials().Credential(k.Context(), credentialEntity, credentialField, username)
	if err != nil {
		return nil, fmt.Errorf("basic-auth: loading credential: %w", err)
	}
	return cred, nil
}

// retrieve parses one header's Basic credentials and, with
// hide_credentials, removes the header from the upstream request.
func (p *Plugin) retrieve(k hostabi.Kong, name, value string) (user, pass string) {
	if value != "" {
		user, pass = ParseBasic(value)
	}
	if p.conf.HideCredentials {
		k.ServiceRequest().ClearHeader(name)
	}
	return user, pass
}

var (
	basicScheme = regexp.MustCompile(`\s*[Bb]asic\s*(.+)`)
	userPass    = regexp.MustCompile(`([^:]+):(.*)`)
)

// ParseBasic extracts the username and password of a Basic authorization
// header value as Kong does: the first "Basic"/"basic" token, a base64
// payload (nginx's lenient decoding: padding optional), then "user:pass"
// where the user is the first run of non-colon characters. user is ""
// when the value does not parse.
func ParseBasic(value string) (user, pass string) {
	m := basicScheme.FindStringSubmatch(value)
	if m == nil {
		return "", ""
	}
	decoded, ok := decodeBase64(m[1])
	if !ok {
		return "", ""
	}
	parts := userPass.FindStringSubmatch(decoded)
	if parts == nil {
		return "", ""
	}
	return parts[1], parts[2]
}

// decodeBase64 decodes like ngx.decode_base64: input stops at the first
// '=', every character before must be in the standard alphabet, and a
// length of 1 modulo 4 is invalid.
func decodeBase64(s string) (string, bool) {
	n := 0
	for n < len(s) && s[n] != '=' {
		c := s[n]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return "", false
		}
		n++
	}
	if n%4 == 1 {
		return "", false
	}
	b, err := base64.RawStdEncoding.DecodeString(s[:n])
	if err != nil {
		return "", false
	}
	return string(b), true
}

// validPassword compares the stored hash with sha1(password .. consumer_id).
func validPassword(cred hostabi.Entity, password string) bool {
	stored, _ := cred["password"].(string)
	digest := store.HashBasicAuthPassword(password, foreignID(cred["consumer"]))
	return subtle.ConstantTimeCompare([]byte(stored), []byte(digest)) == 1
}

func foreignID(v any) string {
	m, _ := v.(map[string]any)
	id, _ := m["id"].(string)
	return id
}

// setConsumer authenticates the request and sets the upstream identity
// headers; basic-auth identifies the credential by its username.
func setConsumer(k hostabi.Kong, consumer, credential hostabi.Entity) {
	k.Client().Authenticate(consumer, credential)
	sr := k.ServiceRequest()
	setOrClear(sr, headerConsumerID, stringOf(consumer, "id"))
	setOrClear(sr, headerConsumerCustomID, stringOf(consumer, "custom_id"))
	setOrClear(sr, headerConsumerUsername, stringOf(consumer, "username"))
	setOrClear(sr, headerCredentialID, stringOf(credential, "username"))
	if credential != nil {
		sr.ClearHeader(headerAnonymous)
	} else {
		sr.SetHeader(headerAnonymous, "true")
	}
}

func setOrClear(sr hostabi.ServiceRequest, name, value string) {
	if value != "" {
		sr.SetHeader(name, value)
	} else {
		sr.ClearHeader(name)
	}
}

func stringOf(e hostabi.Entity, field string) string {
	s, _ := e[field].(string)
	return s
}

func setAnonymous(k hostabi.Kong, anonymous string) error {
	consumer, err := loadAnonymous(k, anonymous)
	if err != nil {
		return fmt.Errorf("basic-auth: loading anonymous consumer: %w", err)
	}
	if consumer == nil {
		return fmt.Errorf("basic-auth: anonymous consumer %s is configured but doesn't exist", anonymous)
	}
	setConsumer(k, consumer, nil)
	return nil
}

// loadAnonymous finds the anonymous consumer by id, then by username, as
// kong.client.load_consumer(anonymous, true) does.
func loadAnonymous(k hostabi.Kong, anonymous string) (hostabi.Entity, error) {
	if isUUID(anonymous) {
		c, err := k.Client().LoadConsumer(k.Context(), anonymous, false)
		if err != nil || c != nil {
			return c, err
		}
	}
	return k.Client().LoadConsumer(k.Context(), anonymous, true)
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

var _ hostabi.Accessor = (*Plugin)(nil)
