package hmacauth

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/plugins/authn"
	"github.com/gatehouse/gatehouse/store"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "hmac-auth"
	Priority = 1030
	Version  = plugin.BundledVersion
)

// Kong 3.9's hmac-auth response messages.
const (
	msgUnauthorized = "Unauthorized"
	msgNoDate       = "HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication"
	msgNotValid     = "HMAC signature cannot be verified"
	msgNotSame      = "HMAC signature does not match"
)

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
	HideCredentials     bool     `config:"hide_credentials"`
	ClockSkew           float64  `config:"clock_skew"`
	Anonymous           string   `config:"anonymous"`
	ValidateRequestBody bool     `config:"validate_request_body"`
	EnforceHeaders      []string `config:"enforce_headers"`
	Algorithms          []string `config:"algorithms"`
	// Realm is "" when unset.
	Realm string `config:"realm"`
}

// ParseConfig decodes a configuration map; fields it leaves out take the
// schema's defaults. Values of the wrong type are an error.
func ParseConfig(m map[string]any) (Config, error) {
	return plugin.DecodeAs[Config](definition, m)
}

// Plugin is one configured hmac-auth instance. It holds no per-request
// state and is safe for concurrent use.
type Plugin struct {
	conf Config
	flow authn.Flow
}

// now is the clock the date headers are checked against (ngx.time).
var now = time.Now

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// NewPlugin creates an instance from a parsed configuration.
func NewPlugin(c Config) *Plugin {
	p := &Plugin{conf: c, flow: authn.Flow{Plugin: Name, Entity: CredentialEntity, Field: "username",
		IdentifierField: "username", Anonymous: c.Anonymous, Challenge: "hmac"}}
	if c.Realm != "" {
		p.flow.Challenge = `hmac realm="` + c.Realm + `"`
	}
	return p
}

// Access implements hostabi.Accessor.
func (p *Plugin) Access(k hostabi.Kong) error { return p.flow.Access(k, p.check) }

// Params are the fields of an hmac Authorization header.
type Params struct {
	Username, Algorithm, Signature string
	// Headers are the signed header names, split on single spaces.
	Headers []string
}

// ParseAuthorization reads an hmac Authorization header as Kong does with
// its unanchored, greedy expression
//
//	\s*[Hh]mac\s*username="(.+)",\s*algorithm="(.+)",\s*headers="(.+)",\s*signature="(.+)"
//
// giving the same fields a backtracking matcher gives (each group as long
// as the rest still matches, the leftmost "hmac" that matches), without
// backtracking: each (position, group) is tried once. ok is false when the
// value does not have the form.
func ParseAuthorization(v string) (Params, bool) {
	for i := 0; i+4 <= len(v); i++ {
		if (v[i] != 'H' && v[i] != 'h') || v[i+1:i+4] != "mac" {
			continue
		}
		j := skipSpace(v, i+4)
		if !strings.HasPrefix(v[j:], `username="`) {
			continue
		}
		m := &matcher{v: v}
		if m.group(j+len(`username="`), 0) {
			return Params{Username: m.g[0], Algorithm: m.g[1], Headers: strings.Split(m.g[2], " "), Signature: m.g[3]}, true
		}
	}
	return Params{}, false
}

// keywords follow each group but the last: `",\s*<keyword>="`.
var keywords = [3]string{`algorithm="`, `headers="`, `signature="`}

// matcher finds the four groups of ParseAuthorization.
type matcher struct {
	v    string
	g    [4]string
	memo map[[2]int]bool // (start, group) known to fail
}

// group matches group n (.+) starting at pos and everything after it,
// preferring the longest group, and records the groups on success.
func (m *matcher) group(pos, n int) bool {
	v := m.v
	end := strings.IndexByte(v[pos:], '\n') // '.' stops at a newline
	if end < 0 {
		end = len(v)
	} else {
		end += pos
	}
	if end <= pos {
		return false
	}
	if n == 3 {
		// The last group ends at the last quote it can reach.
		q := strings.LastIndexByte(v[pos+1:end], '"')
		if q < 0 {
			return false
		}
		m.g[3] = v[pos : pos+1+q]
		return true
	}
	key := [2]int{pos, n}
	if m.memo[key] {
		return false
	}
	for e := end - 1; e > pos; e-- {
		if v[e] != '"' || e+1 >= len(v) || v[e+1] != ',' {
			continue
		}
		k := skipSpace(v, e+2)
		if !strings.HasPrefix(v[k:], keywords[n]) {
			continue
		}
		if m.group(k+len(keywords[n]), n+1) {
			m.g[n] = v[pos:e]
			return true
		}
	}
	if m.memo == nil {
		m.memo = map[[2]int]bool{}
	}
	m.memo[key] = true
	return false
}

// skipSpace skips RE2's \s (tab, newline, form feed, carriage return,
// space) from i.
func skipSpace(v string, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\f' || v[i] == '\r') {
		i++
	}
	return i
}

// digests are the supported algorithms.
var digests = map[string]func() hash.Hash{
	"hmac-sha1": sha1.New, "hmac-sha256": sha256.New, "hmac-sha384": sha512.New384, "hmac-sha512": sha512.New,
}

// check verifies the request's signature (authn.Check).
func (p *Plugin) check(k hostabi.Kong) (hostabi.Entity, *authn.Failure, error) {
	req := k.Request()
	authz, hasAuthz := header(req, "authorization")
	proxyAuthz, hasProxy := header(req, "proxy-authorization")
	if !hasAuthz && !hasProxy {
		return nil, fail(msgUnauthorized), nil
	}
	if !p.dateOK(req, "x-date") && !p.dateOK(req, "date") {
		return nil, fail(msgNoDate), nil
	}
	params, ok := Params{}, false
	if hasProxy {
		params, ok = ParseAuthorization(proxyAuthz)
	}
	if !ok {
		if hasAuthz {
			params, ok = ParseAuthorization(authz)
		}
		if p.conf.HideCredentials {
			k.ServiceRequest().ClearHeader("Authorization")
		}
	} else if p.conf.HideCredentials {
		k.ServiceRequest().ClearHeader("Proxy-Authorization")
	}
	if !ok || !p.paramsOK(params) {
		return nil, fail(msgNotValid), nil
	}
	cred, err := p.flow.Credential(k, params.Username)
	if err != nil {
		return nil, nil, err
	}
	if cred == nil {
		return nil, fail(msgNotValid), nil
	}
	secret, _ := cred["secret"].(string)
	want, ok := decodeBase64(params.Signature)
	if !ok || !hmac.Equal(Sign(req, params, []byte(secret)), want) {
		return nil, fail(msgNotSame), nil
	}
	if p.conf.ValidateRequestBody && !bodyOK(k) {
		return nil, fail(msgNotSame), nil
	}
	return cred, nil, nil
}

func fail(msg string) *authn.Failure { return &authn.Failure{Status: 401, Message: msg} }

// header returns the first value of a request header and whether it was
// sent.
func header(req hostabi.Request, name string) (string, bool) {
	vs := req.HeaderValues(name)
	if len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// dateOK reports whether a date header parses (ngx.parse_http_time: the
// RFC 1123, RFC 850 and asctime forms) and lies within clock_skew of now.
func (p *Plugin) dateOK(req hostabi.Request, name string) bool {
	v, ok := header(req, name)
	if !ok {
		return false
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return false
	}
	return math.Abs(float64(now().Unix()-t.Unix())) <= p.conf.ClockSkew
}

// paramsOK is Kong's validate_params: username and signature present,
// every enforced header signed, the algorithm allowed.
func (p *Plugin) paramsOK(params Params) bool {
	if params.Username == "" || params.Signature == "" {
		return false
	}
	for _, h := range p.conf.EnforceHeaders {
		signed := false
		for _, s := range params.Headers {
			if s == h {
				signed = true
				break
			}
		}
		if !signed {
			return false
		}
	}
	for _, a := range p.conf.Algorithms {
		if a == params.Algorithm {
			return true
		}
	}
	return false
}

// SigningString builds the text a client signs: one line per signed
// header, "name: value" for a header sent, "@request-target: method uri"
// and the request line for those pseudo-headers, "name:" for any other
// header missing; lines joined by "\n".
func SigningString(req hostabi.Request, headers []string) string {
	var b strings.Builder
	for i, h := range headers {
		if v, ok := lookupHeader(req, h); ok {
			b.WriteString(h)
			b.WriteString(": ")
			b.WriteString(v)
		} else {
			switch h {
			case "@request-target":
				b.WriteString(h)
				b.WriteString(": ")
				b.WriteString(strings.ToLower(req.Method()))
				b.WriteByte(' ')
				b.WriteString(requestURI(req))
			case "request-line":
				b.WriteString(req.Method())
				b.WriteByte(' ')
				b.WriteString(requestURI(req))
				b.WriteString(" HTTP/")
				b.WriteString(strconv.FormatFloat(req.HTTPVersion(), 'f', 1, 64))
			default:
				b.WriteString(h)
				b.WriteByte(':')
			}
		}
		if i < len(headers)-1 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// lookupHeader is kong.request.get_header: case-insensitive, '_' read as
// '-', the first value.
func lookupHeader(req hostabi.Request, name string) (string, bool) {
	if name == "" {
		return "", false
	}
	vs := req.HeaderValues(strings.ReplaceAll(strings.ToLower(name), "_", "-"))
	if len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// requestURI is the path and query as the client sent them.
func requestURI(req hostabi.Request) string {
	if q := req.RawQuery(); q != "" {
		return req.RawPath() + "?" + q
	}
	return req.RawPath()
}

// Sign computes the HMAC of the request's signing string with secret.
func Sign(req hostabi.Request, params Params, secret []byte) []byte {
	newHash, ok := digests[params.Algorithm]
	if !ok {
		return nil
	}
	m := hmac.New(newHash, secret)
	m.Write([]byte(SigningString(req, params.Headers)))
	return m.Sum(nil)
}

// bodyOK is Kong's validate_body: with a Digest header it must be
// "SHA-256=" and the base64 SHA-256 of the body; without one the body
// must be empty.
func bodyOK(k hostabi.Kong) bool {
	body, err := k.Request().RawBody()
	if err != nil {
		k.Log().Debug("hmac-auth: reading body: " + err.Error())
		return false
	}
	digest, ok := header(k.Request(), "digest")
	if !ok {
		return len(body) == 0
	}
	sum := sha256.Sum256(body)
	return digest == "SHA-256="+base64.StdEncoding.EncodeToString(sum[:])
}

// decodeBase64 decodes as ngx.decode_base64 does: stop at the first '=',
// refuse bytes outside the standard alphabet and a length of 1 modulo 4.
func decodeBase64(s string) ([]byte, bool) {
	if i := strings.IndexByte(s, '='); i >= 0 {
		s = s[:i]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return nil, false
		}
	}
	if len(s)%4 == 1 {
		return nil, false
	}
	out, err := base64.RawStdEncoding.DecodeString(s)
	return out, err == nil
}

var _ hostabi.Accessor = (*Plugin)(nil)
