// Package basicauth is Gatehouse's native basic-auth plugin, compatible with
// Kong 3.9's: clients authenticate with HTTP Basic credentials in the
// Proxy-Authorization or Authorization header, checked against the
// basicauth_credentials. See README.md for the configuration.
package basicauth

import (
	"crypto/subtle"
	"encoding/base64"
	"regexp"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/plugins/authn"
	"github.com/gatehouse/gatehouse/store"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "basic-auth"
	Priority = 1100
	Version  = plugin.BundledVersion
)

// Kong 3.9's basic-auth response messages.
const (
	msgUnauthorized = "Unauthorized"
	msgInvalidCred  = "Invalid authentication credentials"
)

// definition is the plugin as registered; its schema is the one every
// configuration is decoded against.
var definition = plugin.Typed(&plugin.Definition{
	Name:     Name,
	Version:  Version,
	Priority: Priority,
	Phases:   []hostabi.Phase{hostabi.PhaseAccess},
	Schema:   Schema(),
	Entities: []*store.Entity{Credentials()},
}, func(c Config) (any, error) { return NewPlugin(c), nil })

func init() { plugin.Register(definition) }

// Config is the plugin's validated configuration, decoded from the
// schema's fields (defaults included) by plugin.Decode.
type Config struct {
	// Anonymous is a consumer id or username; "" when unset.
	Anonymous       string `config:"anonymous"`
	HideCredentials bool   `config:"hide_credentials"`
	Realm           string `config:"realm"`
}

// ParseConfig decodes a configuration map; fields it leaves out take the
// schema's defaults. Values of the wrong type are an error.
func ParseConfig(m map[string]any) (Config, error) {
	return plugin.DecodeAs[Config](definition, m)
}

// Plugin is one configured basic-auth instance; safe for concurrent use.
type Plugin struct {
	conf Config
	flow authn.Flow
}

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// NewPlugin creates an instance from a parsed configuration. basic-auth
// identifies the credential upstream by its username.
func NewPlugin(c Config) *Plugin {
	return &Plugin{conf: c, flow: authn.Flow{Plugin: Name, Entity: CredentialEntity, Field: "username",
		IdentifierField: "username", Anonymous: c.Anonymous, Challenge: `Basic realm="` + c.Realm + `"`}}
}

// Access implements hostabi.Accessor.
func (p *Plugin) Access(k hostabi.Kong) error {
	return p.flow.Access(k, p.check)
}

// check reads the credentials of Proxy-Authorization, then of
// Authorization, and verifies the password (authn.Check).
func (p *Plugin) check(k hostabi.Kong) (hostabi.Entity, *authn.Failure, error) {
	req := k.Request()
	authz, hasAuthz := first(req.HeaderValues("Authorization"))
	proxy, hasProxy := first(req.HeaderValues("Proxy-Authorization"))
	if !hasAuthz && !hasProxy {
		return nil, &authn.Failure{Status: 401, Message: msgUnauthorized}, nil
	}

	var cred hostabi.Entity
	var err error
	user, pass := p.retrieve(k, "Proxy-Authorization", proxy)
	if user != "" {
		if cred, err = p.flow.Credential(k, user); err != nil {
			return nil, nil, err
		}
	}
	if cred == nil {
		user, pass = p.retrieve(k, "Authorization", authz)
		if user != "" {
			if cred, err = p.flow.Credential(k, user); err != nil {
				return nil, nil, err
			}
		}
	}
	if cred == nil || !validPassword(cred, pass) {
		return nil, &authn.Failure{Status: 401, Message: msgInvalidCred}, nil
	}
	return cred, nil, nil
}

// first returns a header's first value, and whether it was sent.
func first(vs []string) (string, bool) {
	if len(vs) == 0 {
		return "", false
	}
	return vs[0], true
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
	digest := HashPassword(password, authn.ForeignID(cred["consumer"]))
	return subtle.ConstantTimeCompare([]byte(stored), []byte(digest)) == 1
}

var _ hostabi.Accessor = (*Plugin)(nil)
