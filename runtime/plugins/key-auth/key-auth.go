// Package keyauth is Gatehouse's native key-auth plugin, compatible with
// Kong 3.9's: clients authenticate with an API key sent in a header, a
// query argument or the body; the key is looked up among the
// keyauth_credentials and the request is identified as the credential's
// consumer. See README.md for the configuration.
package keyauth

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "key-auth"
	Priority = 1250
	Version  = "3.9.0"
)

// The credential entity and its unique field.
const (
	credentialEntity = "keyauth_credentials"
	credentialField  = "key"
)

// Kong 3.9's key-auth response messages.
const (
	msgDuplicateKey = "Duplicate API key found"
	msgNoKey        = "No API key found in request"
	msgInvalidCred  = "Unauthorized"
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
	KeyNames        []string
	HideCredentials bool
	// Anonymous is a consumer id or username; "" when unset.
	Anonymous      string
	KeyInHeader    bool
	KeyInQuery     bool
	KeyInBody      bool
	RunOnPreflight bool
	// Realm is "" when unset.
	Realm string
}

// ParseConfig reads a configuration map as the store delivers it
// (validated, defaults filled). Values of the wrong type are an error.
func ParseConfig(m map[string]any) (Config, error) {
	c := Config{KeyInHeader: true, KeyInQuery: true, RunOnPreflight: true, KeyNames: []string{"apikey"}}
	var err error
	if v, ok := m["key_names"]; ok && v != nil {
		list, ok := v.([]any)
		if !ok {
			return c, fmt.Errorf("key-auth: key_names: expected an array, got %T", v)
		}
		c.KeyNames = make([]string, 0, len(list))
		for _, e := range list {
			s, ok := e.(string)
			if !ok {
				return c, fmt.Errorf("key-auth: key_names: expected strings, got %T", e)
			}
			c.KeyNames = append(c.KeyNames, s)
		}
	}
	boolField(m, "hide_credentials", &c.HideCredentials, &err)
	boolField(m, "key_in_header", &c.KeyInHeader, &err)
	boolField(m, "key_in_query", &c.KeyInQuery, &err)
	boolField(m, "key_in_body", &c.KeyInBody, &err)
	boolField(m, "run_on_preflight", &c.RunOnPreflight, &err)
	stringField(m, "anonymous", &c.Anonymous, &err)
	stringField(m, "realm", &c.Realm, &err)
	return c, err
}

func boolField(m map[string]any, name string, dst *bool, err *error) {
	v, ok := m[name]
	if !ok || v == nil {
		return
	}
	b, ok := v.(bool)
	if !ok {
		*err = errors.Join(*err, fmt.Errorf("key-auth: %s: expected a boolean, got %T", name, v))
		return
	}
	*dst = b
}

func stringField(m map[string]any, name string, dst *string, err *error) {
	v, ok := m[name]
	if !ok || v == nil {
		return
	}
	s, ok := v.(string)
	if !ok {
		*err = errors.Join(*err, fmt.Errorf("key-auth: %s: expected a string, got %T", name, v))
		return
	}
	*dst = s
}

// Plugin is one configured key-auth instance. It holds no per-request
// state and is safe for concurrent use.
type Plugin struct {
	conf    Config
	wwwAuth string
	names   []keyName
}

// keyName is a key name with its header lookup keys precomputed.
type keyName struct {
	name string
	// header is the lower-cased name; alt the name with '_' turned into
	// '-' (nginx's header table finds "api-key" for "api_key"), or "".
	header, alt string
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
	p := &Plugin{conf: c, wwwAuth: "Key"}
	if c.Realm != "" {
		p.wwwAuth = `Key realm="` + c.Realm + `"`
	}
	for _, n := range c.KeyNames {
		kn := keyName{name: n, header: strings.ToLower(n)}
		if strings.Contains(kn.header, "_") {
			kn.alt = strings.ReplaceAll(kn.header, "_", "-")
		}
		p.names = append(p.names, kn)
	}
	return p
}

// failure is why authentication did not succeed.
type failure struct {
	status  int
	message string
	// err is set for server-side failures (status 500).
	err error
}

type messageBody struct {
	Message string `json:"message"`
}

// Access implements hostabi.Accessor.
func (p *Plugin) Access(k hostabi.Kong) error {
	if !p.conf.RunOnPreflight && k.Request().Method() == "OPTIONS" {
		return nil
	}
	if p.conf.Anonymous != "" {
		// Logical OR with other auth plugins: an earlier one already
		// identified a credential.
		if k.Client().Credential() != nil {
			return nil
		}
		fail, err := p.authenticate(k)
		if err != nil {
			return err
		}
		if fail != nil {
			if fail.err != nil {
				k.Log().Err("key-auth: authentication failed", "error", fail.err)
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

// authenticate finds the key and identifies the request. It returns a
// failure for client errors, and an error for a failed credential lookup.
func (p *Plugin) authenticate(k hostabi.Kong) (*failure, error) {
	req := k.Request()
	var headers map[string][]string
	var body map[string]any
	var bodyMime string
	bodyLoaded, bodyOK := false, false
	loadBody := func() {
		if bodyLoaded {
			return
		}
		bodyLoaded = true
		b, mt, err := req.Body()
		if err != nil {
			k.Log().Info("Cannot process request body: " + err.Error())
			return
		}
		body, bodyMime, bodyOK = b, mt, true
	}

	key := ""
	found := false
	for _, kn := range p.names {
		var val any // string, or a multi-valued marker
		if p.conf.KeyInHeader {
			if headers == nil {
				headers = req.Headers()
			}
			vs, ok := headers[kn.header]
			if !ok && kn.alt != "" {
				vs, ok = headers[kn.alt]
			}
			if ok && len(vs) == 1 {
				val = vs[0]
			} else if ok && len(vs) > 1 {
				val = duplicate{}
			}
		}
		if val == nil && p.conf.KeyInQuery {
			val = queryValue(req.RawQuery(), kn.name)
		}
		if val == nil && p.conf.KeyInBody {
			loadBody()
			if bodyOK {
				switch t := body[kn.name].(type) {
				case string:
					val = t
				case []any, map[string]any:
					val = duplicate{}
				}
			}
		}
		switch t := val.(type) {
		case string:
			key, found = t, true
			if p.conf.HideCredentials {
				if q, removed := removeQueryArg(req.RawQuery(), kn.name); removed {
					k.ServiceRequest().SetRawQuery(q)
				}
				k.ServiceRequest().ClearHeader(kn.name)
				if p.conf.KeyInBody {
					loadBody()
					if bodyOK {
						delete(body, kn.name)
						if err := k.ServiceRequest().SetBody(body, bodyMime); err != nil {
							k.Log().Err("key-auth: cannot rewrite request body", "error", err)
						}
					}
				}
			}
		case duplicate:
			return &failure{status: 401, message: msgDuplicateKey}, nil
		}
		if found {
			break
		}
	}
	if key == "" {
		return &failure{status: 401, message: msgNoKey}, nil
	}

	cred, err := k.Credentials().Credential(k.Context(), credentialEntity, credentialField, key)
	if err != nil {
		return nil, fmt.Errorf("key-auth: loading credential: %w", err)
	}
	if cred == nil || expired(cred) {
		return &failure{status: 401, message: msgInvalidCred}, nil
	}

	var consumer hostabi.Entity
	if id := foreignID(cred["consumer"]); id != "" {
		consumer, err = k.Client().LoadConsumer(k.Context(), id, false)
		if err != nil {
			return &failure{status: 500, message: msgUnexpected, err: fmt.Errorf("key-auth: loading consumer: %w", err)}, nil
		}
	}
	setConsumer(k, consumer, cred)
	return nil, nil
}

// duplicate marks a key given more than once (a Lua table in Kong).
type duplicate struct{}

// expired reports a credential whose ttl ran out (Kong: cred.ttl == 0).
func expired(cred hostabi.Entity) bool {
	switch t := cred["ttl"].(type) {
	case int64:
		return t == 0
	case int:
		return t == 0
	case float64:
		return t == 0
	}
	return false
}

func foreignID(v any) string {
	m, _ := v.(map[string]any)
	id, _ := m["id"].(string)
	return id
}

// setConsumer authenticates the request and sets the upstream identity
// headers, as Kong's auth plugins do.
func setConsumer(k hostabi.Kong, consumer, credential hostabi.Entity) {
	k.Client().Authenticate(consumer, credential)
	sr := k.ServiceRequest()
	setOrClear(sr, headerConsumerID, stringOf(consumer, "id"))
	setOrClear(sr, headerConsumerCustomID, stringOf(consumer, "custom_id"))
	setOrClear(sr, headerConsumerUsername, stringOf(consumer, "username"))
	setOrClear(sr, headerCredentialID, stringOf(credential, "id"))
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

// setAnonymous identifies the request as the anonymous consumer (by id,
// then by username, as kong.client.load_consumer does).
func setAnonymous(k hostabi.Kong, anonymous string) error {
	consumer, err := loadAnonymous(k, anonymous)
	if err != nil {
		return fmt.Errorf("key-auth: loading anonymous consumer: %w", err)
	}
	if consumer == nil {
		return fmt.Errorf("key-auth: anonymous consumer %s is configured but doesn't exist", anonymous)
	}
	setConsumer(k, consumer, nil)
	return nil
}

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

// queryValue returns a query argument as nginx's get_uri_args sees it: the
// string value, duplicate{} when given more than once, or nil when absent
// or given without "=" (a boolean in Kong, which key-auth skips).
func queryValue(raw, name string) any {
	var val any
	n := 0
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, hasValue := strings.Cut(part, "=")
		if unescape(k) != name {
			continue
		}
		n++
		if hasValue {
			val = unescape(v)
		} else {
			val = nil
		}
	}
	switch {
	case n > 1:
		return duplicate{}
	case n == 1:
		return val
	}
	return nil
}

// removeQueryArg drops every occurrence of an argument from a raw query,
// keeping the other arguments as they were sent.
func removeQueryArg(raw, name string) (string, bool) {
	if raw == "" {
		return raw, false
	}
	var b strings.Builder
	removed := false
	rest := raw
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, "&")
		if part == "" {
			continue
		}
		k, _, _ := strings.Cut(part, "=")
		if unescape(k) == name {
			removed = true
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(part)
	}
	if !removed {
		return raw, false
	}
	return b.String(), true
}

// unescape decodes "+" and "%XX" as nginx does, keeping malformed escapes.
func unescape(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

var _ hostabi.Accessor = (*Plugin)(nil)
