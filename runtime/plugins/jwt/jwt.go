package jwt

import (
	"crypto"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/ngxargs"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/plugins/authn"
	"github.com/gatehouse/gatehouse/store"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "jwt"
	Priority = 1450
	Version  = plugin.BundledVersion
)

// definition is the plugin as registered; its schema is the one every
// configuration is decoded against.
var definition = plugin.Typed(&plugin.Definition{
	Name:     Name,
	Version:  Version,
	Priority: Priority,
	Phases:   []hostabi.Phase{hostabi.PhaseAccess},
	Schema:   Schema(),
	Entities: []*store.Entity{Secrets()},
}, func(c Config) (any, error) { return NewPlugin(c), nil })

func init() { plugin.Register(definition) }

// Config is the plugin's validated configuration, decoded from the
// schema's fields (defaults included) by plugin.Decode.
type Config struct {
	URIParamNames  []string `config:"uri_param_names"`
	CookieNames    []string `config:"cookie_names"`
	KeyClaimName   string   `config:"key_claim_name"`
	SecretIsBase64 bool     `config:"secret_is_base64"`
	// ClaimsToVerify holds "exp" and/or "nbf"; nil when unset.
	ClaimsToVerify []string `config:"claims_to_verify"`
	// Anonymous is a consumer id or username; "" when unset.
	Anonymous         string   `config:"anonymous"`
	RunOnPreflight    bool     `config:"run_on_preflight"`
	MaximumExpiration float64  `config:"maximum_expiration"`
	HeaderNames       []string `config:"header_names"`
	// Realm is "" when unset.
	Realm string `config:"realm"`
}

// ParseConfig decodes a configuration map; fields it leaves out take the
// schema's defaults. Values of the wrong type are an error.
func ParseConfig(m map[string]any) (Config, error) {
	return plugin.DecodeAs[Config](definition, m)
}

// Plugin is one configured jwt instance. It holds no per-request state
// and is safe for concurrent use.
type Plugin struct {
	conf Config
	flow authn.Flow
	// challengeErr is the WWW-Authenticate header once a token was found.
	challengeErr string
	headers      []headerName
}

// headerName is a header_names entry as kong.request.get_headers finds
// it: lower-cased, '_' also tried as '-'.
type headerName struct{ name, alt string }

// SharedTokenKey is the kong.ctx.shared key the authenticated token is
// left under, as Kong's handler does.
const SharedTokenKey = "authenticated_jwt_token"

// now is the clock claims are checked against (ngx.time); tests replace it.
var now = time.Now

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// NewPlugin creates an instance from a parsed configuration.
func NewPlugin(c Config) *Plugin {
	p := &Plugin{conf: c, flow: authn.Flow{Plugin: Name, Entity: SecretEntity, Field: "key",
		IdentifierField: "key", Anonymous: c.Anonymous, Challenge: "Bearer"},
		challengeErr: `Bearer error="invalid_token"`}
	if c.Realm != "" {
		p.flow.Challenge = `Bearer realm="` + c.Realm + `"`
		p.challengeErr = p.flow.Challenge + `, error="invalid_token"`
	}
	for _, n := range c.HeaderNames {
		h := headerName{name: strings.ToLower(n)}
		if strings.Contains(h.name, "_") {
			h.alt = strings.ReplaceAll(h.name, "_", "-")
		}
		p.headers = append(p.headers, h)
	}
	return p
}

// Access implements hostabi.Accessor.
func (p *Plugin) Access(k hostabi.Kong) error {
	if !p.conf.RunOnPreflight && k.Request().Method() == "OPTIONS" {
		return nil
	}
	return p.flow.Access(k, p.check)
}

// BearerToken returns what Kong's unanchored expression
// `\s*[Bb]earer\s+(.+)` captures in a header value (PCRE and RE2 agree
// on it): after the first "Bearer" or "bearer" followed by white space
// and at least one more character, the rest of the line; the white space
// itself is kept only as the one character needed at the end of the
// value.
func BearerToken(v string) (string, bool) {
	for i := 0; i+6 <= len(v); i++ {
		if (v[i] != 'B' && v[i] != 'b') || v[i+1:i+6] != "earer" {
			continue
		}
		j := i + 6
		k := j
		for k < len(v) && isSpace(v[k]) {
			k++
		}
		n := k - j
		if n == 0 {
			continue
		}
		if k < len(v) && v[k] != '\n' {
			rest := v[k:]
			if e := strings.IndexByte(rest, '\n'); e >= 0 {
				rest = rest[:e]
			}
			return rest, true
		}
		// The run reaches the end: \s+ gives back the last character
		// (.+) can take, one that is not a newline.
		for m := k - 1; m > j; m-- {
			if v[m] != '\n' {
				return v[m : m+1], true
			}
		}
	}
	return "", false
}

// isSpace is RE2's \s: tab, newline, form feed, carriage return, space.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// tokens collects the distinct non-empty tokens of the query arguments,
// cookies and headers, in Kong's order. flag reports a query argument
// given without a value (a boolean in Kong, an unrecognizable token).
func (p *Plugin) tokens(req hostabi.Request) (set []string, flag bool) {
	add := func(t string) {
		if t != "" {
			for _, s := range set {
				if s == t {
					return
				}
			}
			set = append(set, t)
		}
	}
	if len(p.conf.URIParamNames) > 0 {
		if raw := req.RawQuery(); raw != "" {
			for _, a := range ngxargs.All(raw) {
				for _, n := range p.conf.URIParamNames {
					if a.Key == n {
						if a.Flag {
							flag = true
						} else {
							add(a.Value)
						}
					}
				}
			}
		}
	}
	if len(p.conf.CookieNames) > 0 {
		cookies := req.HeaderValues("cookie")
		for _, n := range p.conf.CookieNames {
			add(cookieValue(cookies, n))
		}
	}
	for _, h := range p.headers {
		vs := req.HeaderValues(h.name)
		if vs == nil && h.alt != "" {
			vs = req.HeaderValues(h.alt)
		}
		if len(vs) == 0 {
			continue
		}
		if tok, ok := BearerToken(vs[0]); ok {
			add(tok)
		}
	}
	return set, flag
}

// cookieValue returns the first cookie called name (ngx.var.cookie_NAME:
// names compared without case), or "".
func cookieValue(headers []string, name string) string {
	for _, h := range headers {
		for part := range strings.SplitSeq(h, ";") {
			k, v, ok := strings.Cut(strings.TrimLeft(part, " \t"), "=")
			if ok && strings.EqualFold(k, name) {
				return strings.TrimRight(v, " \t")
			}
		}
	}
	return ""
}

// check finds the token and its secret and verifies both (authn.Check).
func (p *Plugin) check(k hostabi.Kong) (hostabi.Entity, *authn.Failure, error) {
	set, flag := p.tokens(k.Request())
	n := len(set)
	if flag {
		n++
	}
	switch {
	case n == 0:
		return nil, &authn.Failure{Status: 401, Message: "Unauthorized"}, nil
	case n > 1:
		return nil, p.fail("Multiple tokens provided"), nil
	case flag:
		return nil, p.fail("Unrecognizable token"), nil
	}
	tok, err := ParseToken(set[0])
	if err != nil {
		return nil, p.fail("Bad token; " + err.Error()), nil
	}
	claim := p.conf.KeyClaimName
	// Lua's `claims[name] or header[name]`: null and false fall through.
	v := tok.Claims[claim]
	if v == nil || v == false {
		v = tok.Header[claim]
	}
	if v == nil || v == false {
		return nil, p.fail("No mandatory '" + claim + "' in claims"), nil
	}
	key := luaString(v)
	if key == "" {
		if s, isStr := v.(string); isStr && s == "" {
			return nil, p.fail("Invalid '" + claim + "' in claims"), nil
		}
		return nil, p.fail("No credentials found for given '" + claim + "'"), nil
	}
	secret, err := p.flow.Credential(k, key)
	if err != nil {
		return nil, nil, err
	}
	if secret == nil {
		return nil, p.fail("No credentials found for given '" + claim + "'"), nil
	}
	alg, _ := secret["algorithm"].(string)
	if alg == "" {
		alg = "HS256"
	}
	if tok.Alg != alg {
		return nil, p.fail("Invalid algorithm"), nil
	}
	if strings.HasPrefix(alg, "HS") {
		s, _ := secret["secret"].(string)
		value := []byte(s)
		if p.conf.SecretIsBase64 {
			b, ok := decodeBase64URL(s)
			if !ok {
				return nil, p.fail("Invalid key/secret"), nil
			}
			value = b
		}
		if _, isStr := secret["secret"].(string); !isStr {
			return nil, p.fail("Invalid key/secret"), nil
		}
		if !tok.VerifyHMAC(value) {
			return nil, p.fail("Invalid signature"), nil
		}
	} else {
		pem, _ := secret["rsa_public_key"].(string)
		if pem == "" {
			return nil, p.fail("Invalid key/secret"), nil
		}
		pub, err := keys.get(pem)
		if err != nil || !tok.VerifyKey(pub) {
			return nil, p.fail("Invalid signature"), nil
		}
	}
	if errs := p.verifyClaims(tok); errs != nil {
		return nil, &authn.Failure{Status: 401, Body: errs, Challenge: p.challengeErr}, nil
	}
	if secret["consumer"] == nil {
		return nil, &authn.Failure{Status: 401, Message: "Could not find consumer for '" + claim + "=" + key + "'", NoChallenge: true}, nil
	}
	// Kong leaves the token for later plugins (kong.ctx.shared).
	k.Ctx().Shared().Set(SharedTokenKey, set[0])
	return secret, nil, nil
}

// fail is a 401 with the invalid_token challenge.
func (p *Plugin) fail(msg string) *authn.Failure {
	return &authn.Failure{Status: 401, Message: msg, Challenge: p.challengeErr}
}

// verifyClaims checks claims_to_verify and maximum_expiration as Kong's
// verify_registered_claims and check_maximum_expiration do, returning the
// errors by claim name, or nil.
func (p *Plugin) verifyClaims(tok *Token) map[string]any {
	var errs map[string]any
	addErr := func(k, msg string) {
		if errs == nil {
			errs = map[string]any{}
		}
		switch prev := errs[k].(type) {
		case nil:
			errs[k] = msg
		case string:
			errs[k] = []string{prev, msg}
		case []string:
			errs[k] = append(prev, msg)
		}
	}
	t := float64(now().Unix())
	for _, c := range p.conf.ClaimsToVerify {
		num, ok := number(tok.Claims[c])
		if !ok {
			addErr(c, "must be a number")
			continue
		}
		switch {
		case c == "exp" && num <= t:
			addErr(c, "token expired")
		case c == "nbf" && num > t:
			addErr(c, "token not valid yet")
		}
	}
	if errs != nil {
		return errs
	}
	if p.conf.MaximumExpiration > 0 {
		exp, ok := number(tok.Claims["exp"])
		if !ok || exp-t > p.conf.MaximumExpiration {
			return map[string]any{"exp": "exceeds maximum allowed expiration"}
		}
	}
	return nil
}

// number returns a JSON number claim's value.
func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// luaString is a key claim as Kong uses it to look up the secret: a
// string, or a number in its textual form; "" for anything else.
func luaString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	}
	return ""
}

// keyCache keeps parsed public keys by their PEM text, so a request does
// not parse its secret's key again. It is bounded: past maxKeys entries it
// starts over.
type keyCache struct {
	mu sync.Mutex
	m  map[string]cachedKey
}

type cachedKey struct {
	key crypto.PublicKey
	err error
}

const maxKeys = 4096

var keys = &keyCache{m: map[string]cachedKey{}}

func (c *keyCache) get(text string) (crypto.PublicKey, error) {
	c.mu.Lock()
	e, ok := c.m[text]
	c.mu.Unlock()
	if ok {
		return e.key, e.err
	}
	k, err := ParsePublicKey(text)
	c.mu.Lock()
	if len(c.m) >= maxKeys {
		clear(c.m)
	}
	c.m[text] = cachedKey{k, err}
	c.mu.Unlock()
	return k, err
}

var _ hostabi.Accessor = (*Plugin)(nil)
