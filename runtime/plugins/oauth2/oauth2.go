// Package oauth2 is Gatehouse's native oauth2 plugin, compatible with Kong
// 3.9's: it answers the /oauth2/token and /oauth2/authorize endpoints
// under the route's paths (client_credentials, password, authorization
// code with PKCE, implicit and refresh grants), stores the tokens and
// authorization codes it issues as entities it owns, and authenticates
// requests bearing an access token as the consumer of the token's client
// application. See README.md for the configuration.
package oauth2

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/ngxargs"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/plugins/authn"
	"github.com/gatehouse/gatehouse/store"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "oauth2"
	Priority = 1400
	Version  = plugin.BundledVersion
)

// Owner is the name of the plugin that owns the entities (the plugin's).
const Owner = Name

// codeTTL is how long an authorization code lives (Kong: 300 s).
const codeTTL = 300

// Kong's token endpoint and header names.
const (
	headerScope  = "X-Authenticated-Scope"
	headerUserID = "X-Authenticated-UserId"
	msgInvalid   = "The access token is invalid or has expired"
)

var definition = plugin.Typed(&plugin.Definition{
	Name:     Name,
	Version:  Version,
	Priority: Priority,
	Phases:   []hostabi.Phase{hostabi.PhaseAccess},
	Schema:   Schema(),
	Entities: []*store.Entity{Credentials(), AuthorizationCodes(), Tokens()},
}, func(c Config) (any, error) { return NewPlugin(c), nil })

func init() { plugin.Register(definition) }

// Config is the plugin's validated configuration.
type Config struct {
	Scopes                        []string `config:"scopes"`
	MandatoryScope                bool     `config:"mandatory_scope"`
	ProvisionKey                  string   `config:"provision_key"`
	TokenExpiration               float64  `config:"token_expiration"`
	EnableAuthorizationCode       bool     `config:"enable_authorization_code"`
	EnableImplicitGrant           bool     `config:"enable_implicit_grant"`
	EnableClientCredentials       bool     `config:"enable_client_credentials"`
	EnablePasswordGrant           bool     `config:"enable_password_grant"`
	HideCredentials               bool     `config:"hide_credentials"`
	AcceptHTTPIfAlreadyTerminated bool     `config:"accept_http_if_already_terminated"`
	// Anonymous is a consumer id or username; "" when unset.
	Anonymous         string  `config:"anonymous"`
	GlobalCredentials bool    `config:"global_credentials"`
	AuthHeaderName    string  `config:"auth_header_name"`
	RefreshTokenTTL   float64 `config:"refresh_token_ttl"`
	ReuseRefreshToken bool    `config:"reuse_refresh_token"`
	PKCE              string  `config:"pkce"`
	Realm             string  `config:"realm"`
}

// ParseConfig decodes a configuration map; fields it leaves out take the
// schema's defaults.
func ParseConfig(m map[string]any) (Config, error) {
	return plugin.DecodeAs[Config](definition, m)
}

// Plugin is one configured oauth2 instance, safe for concurrent use.
type Plugin struct {
	conf   Config
	header string
	realm  string // ` realm="..."` or ""
	// lastPurge is when this instance last scheduled the purge of expired
	// tokens and codes (Unix seconds).
	lastPurge atomic.Int64
}

// purgeInterval is how often an instance purges expired tokens and codes
// from the store (Kong's TTL cleanup runs every minute).
const purgeInterval = 60

// purge schedules, at most once per purgeInterval, the deletion of the
// expired tokens and authorization codes, off the request's path.
func (p *Plugin) purge(k hostabi.Kong) {
	now := time.Now().Unix()
	last := p.lastPurge.Load()
	if now-last < purgeInterval || !p.lastPurge.CompareAndSwap(last, now) {
		return
	}
	st, err := entityStore(k)
	if err != nil {
		return
	}
	err = k.Timers().After(0, func(ctx context.Context, _ hostabi.HTTP) {
		// A failed purge is retried by the next one.
		for _, e := range []string{TokenEntity, CodeEntity} {
			if _, err := st.PurgeExpired(ctx, e); err != nil {
				return
			}
		}
	})
	if err != nil {
		k.Log().Warn("oauth2: cannot schedule the purge of expired tokens", "error", err)
	}
}

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// NewPlugin creates an instance from a parsed configuration.
func NewPlugin(c Config) *Plugin {
	p := &Plugin{conf: c, header: strings.ToLower(c.AuthHeaderName)}
	if p.header == "" {
		p.header = "authorization"
	}
	if c.Realm != "" {
		p.realm = ` realm="` + c.Realm + `"`
	}
	return p
}

// storeHolder is what the node's credential lookups offer native plugins
// that write their entities at request time.
type storeHolder interface{ Store() *store.Store }

// errNoStore is returned where the node offers no entity store.
var errNoStore = errors.New("oauth2: the node offers no entity store to write tokens to")

func entityStore(k hostabi.Kong) (*store.Store, error) {
	if h, ok := k.Credentials().(storeHolder); ok && h.Store() != nil {
		return h.Store(), nil
	}
	return nil, errNoStore
}

// Access implements hostabi.Accessor.
func (p *Plugin) Access(k hostabi.Kong) error {
	p.purge(k)
	path := k.Request().Path()
	trimmed := strings.TrimSuffix(path, "/")
	switch {
	case strings.HasSuffix(trimmed, "/oauth2/token") && len(path)-len(trimmed) <= 1:
		if k.Request().Method() != "POST" {
			return p.invalidMethod(k, "token")
		}
		return p.issueToken(k)
	case strings.HasSuffix(trimmed, "/oauth2/authorize"):
		if k.Request().Method() != "POST" {
			return p.invalidMethod(k, "authorization")
		}
		return p.authorize(k)
	}
	if p.conf.Anonymous != "" {
		if k.Client().Credential() != nil {
			k.ServiceRequest().ClearHeader(headerScope)
			k.ServiceRequest().ClearHeader(headerUserID)
			return nil
		}
		ok, err := p.authenticate(k)
		if err != nil || ok || k.Response().Exited() {
			return err
		}
		consumer, err := authn.LoadAnonymous(k, p.conf.Anonymous)
		if err != nil {
			return fmt.Errorf("oauth2: loading anonymous consumer: %w", err)
		}
		if consumer == nil {
			msg := "anonymous consumer " + p.conf.Anonymous + " is configured but doesn't exist"
			k.Log().Err(msg)
			k.Response().Error(500, msg, nil)
			return nil
		}
		p.identify(k, consumer, nil, nil)
		return nil
	}
	_, err := p.authenticate(k)
	return err
}

func (p *Plugin) invalidMethod(k hostabi.Kong, endpoint string) error {
	desc := "The HTTP method " + k.Request().Method() + " is invalid for the " + endpoint + " endpoint"
	hostabi.JSONExit(k.Response(), 405, map[string]any{"error": "invalid_method", "error_description": desc},
		map[string]string{"WWW-Authenticate": "Bearer" + p.realm + ` error="invalid_method" error_description="` + desc + `"`})
	return nil
}

// failure is an authentication failure's answer, sent as is without an
// anonymous consumer.
func (p *Plugin) failure(k hostabi.Kong, errCode, desc string, challenge string) {
	if p.conf.Anonymous != "" {
		return
	}
	hostabi.JSONExit(k.Response(), 401, map[string]any{"error": errCode, "error_description": desc},
		map[string]string{"WWW-Authenticate": challenge})
}

func (p *Plugin) invalidToken(k hostabi.Kong) {
	p.failure(k, "invalid_token", msgInvalid, "Bearer"+p.realm+` error="invalid_token" error_description="`+msgInvalid+`"`)
}

// authenticate is Kong's do_authentication: true when the request bears
// a valid token. A failure without an anonymous consumer ends the request.
func (p *Plugin) authenticate(k hostabi.Kong) (bool, error) {
	tok := p.accessToken(k)
	if tok == "" {
		p.failure(k, "invalid_request", "The access token is missing", "Bearer"+p.realm)
		return false, nil
	}
	token, err := k.Credentials().Credential(k.Context(), TokenEntity, "access_token", tok)
	if err != nil {
		return false, fmt.Errorf("oauth2: loading token: %w", err)
	}
	svcID := serviceID(k)
	tokSvc := authn.ForeignID(token["service"])
	if token != nil && !p.conf.GlobalCredentials {
		if tokSvc == "" {
			hostabi.JSONExit(k.Response(), 401, map[string]any{"error": "invalid_token",
				"error_description": "The access token is global, but the current plugin is configured without 'global_credentials'"},
				map[string]string{"WWW-Authenticate": "Bearer" + p.realm + ` error="invalid_token" error_description="` + msgInvalid + `"`})
			return false, nil
		}
		if tokSvc != svcID {
			token = nil
		}
	}
	if token == nil || (tokSvc != "" && tokSvc != svcID) {
		p.invalidToken(k)
		return false, nil
	}
	if exp := number(token["expires_in"]); exp > 0 {
		if float64(time.Now().UnixMilli())/1000-number(token["created_at"]) > exp {
			p.invalidToken(k)
			return false, nil
		}
	}
	cred, err := p.credentialByID(k, authn.ForeignID(token["credential"]))
	if err != nil {
		return false, err
	}
	if cred == nil {
		p.invalidToken(k)
		return false, nil
	}
	var consumer hostabi.Entity
	if id := authn.ForeignID(cred["consumer"]); id != "" {
		if consumer, err = k.Client().LoadConsumer(k.Context(), id, false); err != nil {
			return false, fmt.Errorf("oauth2: loading consumer: %w", err)
		}
	}
	p.identify(k, consumer, cred, token)
	return true, nil
}

// identify is Kong's set_consumer for oauth2.
func (p *Plugin) identify(k hostabi.Kong, consumer, cred, token hostabi.Entity) {
	authn.Identify(k, consumer, cred, "client_id")
	sr := k.ServiceRequest()
	if s, _ := token["scope"].(string); s != "" {
		sr.SetHeader(headerScope, s)
	} else {
		sr.ClearHeader(headerScope)
	}
	if s, _ := token["authenticated_userid"].(string); s != "" {
		sr.SetHeader(headerUserID, s)
	} else {
		sr.ClearHeader(headerUserID)
	}
}

// credentialTTL bounds how long a token's client application stays in
// the plugin's cache: the node's credential cache indexes unique fields,
// not ids, so a changed application is seen within this time (a deleted
// one at once, as its tokens go with it).
const credentialTTL = 5 * time.Second

// credentialByID loads a token's client application by id, through the
// node's cache.
func (p *Plugin) credentialByID(k hostabi.Kong, id string) (hostabi.Entity, error) {
	if id == "" {
		return nil, nil
	}
	v, err := hostabi.GetOrLoad(k.Context(), k.Cache(), "oauth2:credential:"+id, credentialTTL, func() (any, error) {
		st, err := entityStore(k)
		if err != nil {
			// A host without an entity store (a test double) may find
			// credentials by id.
			c, cerr := k.Credentials().Credential(k.Context(), CredentialEntity, "id", id)
			if cerr != nil || c == nil {
				return nil, cerr
			}
			return c, nil
		}
		rec, err := st.Get(k.Context(), CredentialEntity, id)
		if store.IsNotFound(err) {
			return nil, nil
		}
		return rec, err
	})
	if err != nil {
		return nil, fmt.Errorf("oauth2: loading credential: %w", err)
	}
	c, _ := v.(map[string]any)
	return c, nil
}

// accessToken is Kong's parse_access_token, hiding the token from the
// upstream with hide_credentials.
func (p *Plugin) accessToken(k hostabi.Kong) string {
	req := k.Request()
	var tok string
	inHeader := false
	if vs := req.HeaderValues(p.header); vs != nil {
		tok = vs[0]
		parts := strings.Fields(tok)
		if len(parts) == 2 && (strings.EqualFold(parts[0], "token") || strings.EqualFold(parts[0], "bearer")) {
			tok, inHeader = parts[1], true
		}
	} else {
		s, ok := parameters(k)["access_token"].(string)
		if !ok {
			return ""
		}
		tok = s
	}
	if p.conf.HideCredentials {
		if inHeader {
			k.ServiceRequest().ClearHeader(p.header)
		} else {
			if q, removed := ngxargs.Without(req.RawQuery(), "access_token"); removed {
				k.ServiceRequest().SetRawQuery(q)
			}
			if req.Method() != "GET" && strings.Contains(req.Header("Content-Type"), "application/x-www-form-urlencoded") {
				if body, _, err := req.Body(); err == nil && body != nil {
					if _, has := body["access_token"]; has {
						delete(body, "access_token")
						if err := k.ServiceRequest().SetBody(body, ""); err != nil {
							k.Log().Err("oauth2: cannot rewrite request body", "error", err)
						}
					}
				}
			}
		}
	}
	return tok
}

// parameters merges the query arguments and, for POST, PUT and PATCH, the
// body's (Kong's retrieve_parameters): a value is a string, true for a
// query flag, or []any when given more than once.
func parameters(k hostabi.Kong) map[string]any {
	out := map[string]any{}
	for _, a := range ngxargs.All(k.Request().RawQuery()) {
		if a.Key == "" {
			continue
		}
		var v any = a.Value
		if a.Flag {
			v = true
		}
		switch prev := out[a.Key].(type) {
		case nil:
			out[a.Key] = v
		case []any:
			out[a.Key] = append(prev, v)
		default:
			out[a.Key] = []any{prev, v}
		}
	}
	switch k.Request().Method() {
	case "POST", "PUT", "PATCH":
		if body, _, err := k.Request().Body(); err == nil {
			for key, v := range body {
				out[key] = v
			}
		}
	}
	return out
}

func str(params map[string]any, key string) (string, bool) {
	s, ok := params[key].(string)
	return s, ok
}

func serviceID(k hostabi.Kong) string {
	id, _ := k.Router().Service()["id"].(string)
	return id
}

func number(v any) float64 {
	switch t := v.(type) {
	case int64:
		return float64(t)
	case int:
		return float64(t)
	case float64:
		return t
	}
	return 0
}

// checkHTTPS is Kong's check_https: "" when the request came over HTTPS
// (or, with accept_http_if_already_terminated, from a trusted address
// whose X-Forwarded-Proto says https), else the error description.
func (p *Plugin) checkHTTPS(k hostabi.Kong) string {
	const msg = "You must use HTTPS"
	if strings.EqualFold(k.Request().Scheme(), "https") {
		return ""
	}
	if !p.conf.AcceptHTTPIfAlreadyTerminated || !k.IP().IsTrusted(k.Client().IP()) {
		return msg
	}
	vs := k.Request().HeaderValues("x-forwarded-proto")
	if len(vs) > 1 {
		return "Only one X-Forwarded-Proto header allowed"
	}
	if len(vs) == 1 && strings.EqualFold(vs[0], "https") {
		return ""
	}
	return msg
}

// oauthError is a {"error": ..., "error_description": ...} answer.
func oauthError(code, desc string) map[string]any {
	return map[string]any{"error": code, "error_description": desc}
}

var noStore = map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache"}

// scope is Kong's retrieve_scope: the space-joined valid scopes ("" for
// none), or an error answer.
func (p *Plugin) scope(params map[string]any) (string, map[string]any) {
	raw, given := params["scope"]
	if p.conf.Scopes != nil && given {
		s, ok := raw.(string)
		if !ok {
			return "", oauthError("invalid_scope", "scope must be a string")
		}
		var out []string
		for _, v := range strings.Fields(s) {
			if !slices.Contains(p.conf.Scopes, v) {
				return "", oauthError("invalid_scope", `"`+v+`" is an invalid scope`)
			}
			out = append(out, v)
		}
		return strings.Join(out, " "), nil
	}
	if !given && p.conf.MandatoryScope {
		return "", oauthError("invalid_scope", "You must specify a scope")
	}
	return "", nil
}

// client finds the client application of a client_id parameter.
func client(k hostabi.Kong, id any) (hostabi.Entity, error) {
	s, ok := id.(string)
	if !ok || s == "" {
		return nil, nil
	}
	c, err := k.Credentials().Credential(k.Context(), CredentialEntity, "client_id", s)
	if err != nil {
		return nil, fmt.Errorf("oauth2: loading client: %w", err)
	}
	return c, nil
}

func redirectURIs(c hostabi.Entity) ([]string, bool) {
	if c == nil {
		return nil, false
	}
	var out []string
	switch t := c["redirect_uris"].(type) {
	case []any:
		for _, v := range t {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = t
	case nil:
		return nil, false
	}
	return out, true
}

func first(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[0]
}

// requiresPKCE is Kong's requires_pkce.
func (p *Plugin) requiresPKCE(c hostabi.Entity, used bool) bool {
	if c == nil {
		return false
	}
	return used || (c["client_type"] == "public" && p.conf.PKCE != "none") ||
		(c["client_type"] == "confidential" && p.conf.PKCE == "strict")
}

var b64url = base64.RawURLEncoding

// codeChallenge is Kong's retrieve_code_challenge: the normalized
// challenge ("" when none) and its method, or an error description.
func codeChallenge(params map[string]any) (challenge, method, errDesc string) {
	rawC, hasC := params["code_challenge"]
	rawM, hasM := params["code_challenge_method"]
	if hasM && !hasC {
		return "", "", "code_challenge is required when code_method is present"
	}
	method = "S256"
	if hasC {
		challenge, _ = rawC.(string)
		if challenge == "" {
			challenge = fmt.Sprint(rawC)
		}
		std := strings.NewReplacer("-", "+", "_", "/").Replace(challenge)
		if dec, err := base64.StdEncoding.DecodeString(padBase64(std)); err == nil {
			challenge = b64url.EncodeToString(dec)
		}
		if hasM {
			m, _ := rawM.(string)
			if m != "S256" && m != "s256" {
				return "", "", "code_challenge_method is not supported, must be S256"
			}
		}
	}
	return challenge, method, ""
}

func padBase64(s string) string {
	if n := len(s) % 4; n != 0 {
		s += strings.Repeat("=", 4-n)
	}
	return s
}

// issued is a token response (Kong's generate_token result).
func (p *Plugin) generateToken(k hostabi.Kong, st *store.Store, cred hostabi.Entity, userID any, scope string,
	state any, disableRefresh bool, existing hostabi.Entity) (map[string]any, error) {
	exp := int64(p.conf.TokenExpiration)
	var ttl any
	if exp > 0 && p.conf.RefreshTokenTTL > 0 {
		ttl = int64(p.conf.RefreshTokenTTL)
	}
	var token map[string]any
	var refresh string
	var err error
	if existing != nil && p.conf.ReuseRefreshToken {
		token, err = st.Update(k.Context(), TokenEntity, existing["id"].(string), map[string]any{
			"access_token": store.RandomToken(), "expires_in": exp, "created_at": time.Now().Unix(), "ttl": ttl})
		refresh, _ = token["refresh_token"].(string)
	} else {
		if !disableRefresh && exp > 0 {
			refresh = store.RandomToken()
		}
		in := map[string]any{"credential": map[string]any{"id": cred["id"]}, "expires_in": exp, "ttl": ttl}
		if !p.conf.GlobalCredentials {
			if id := serviceID(k); id != "" {
				in["service"] = map[string]any{"id": id}
			}
		}
		if refresh != "" {
			in["refresh_token"] = refresh
		}
		if s, ok := userID.(string); ok {
			in["authenticated_userid"] = s
		}
		if scope != "" {
			in["scope"] = scope
		}
		token, err = st.Insert(k.Context(), TokenEntity, in)
	}
	if err != nil {
		return nil, fmt.Errorf("oauth2: storing token: %w", err)
	}
	out := map[string]any{"access_token": token["access_token"], "token_type": "bearer"}
	if exp > 0 {
		out["expires_in"] = number(token["expires_in"])
	}
	if refresh != "" {
		out["refresh_token"] = refresh
	}
	if state != nil {
		out["state"] = state
	}
	return out, nil
}

// authorize is Kong's /oauth2/authorize endpoint.
func (p *Plugin) authorize(k hostabi.Kong) error {
	params := parameters(k)
	state := params["state"]
	var resp map[string]any
	var redirect *url.URL
	implicit := false
	if e := p.checkHTTPS(k); e != "" {
		resp = oauthError("access_denied", e)
	} else if pk, ok := str(params, "provision_key"); !ok || pk != p.conf.ProvisionKey {
		resp = oauthError("invalid_provision_key", "Invalid provision_key")
	} else if uid, ok := str(params, "authenticated_userid"); !ok || strings.TrimSpace(uid) == "" {
		resp = oauthError("invalid_authenticated_userid", "Missing authenticated_userid parameter")
	} else {
		rt, _ := str(params, "response_type")
		if !(rt == "code" && p.conf.EnableAuthorizationCode || rt == "token" && p.conf.EnableImplicitGrant) {
			resp = oauthError("unsupported_response_type", "Invalid response_type")
		}
		scope, serr := p.scope(params)
		if serr != nil {
			resp = serr
		}
		c, err := client(k, params["client_id"])
		if err != nil {
			return err
		}
		allowed, hasURIs := redirectURIs(c)
		redirectURI := ""
		if !hasURIs {
			resp = oauthError("invalid_client", "Invalid client authentication")
		} else {
			redirectURI = first(allowed)
			if v, given := params["redirect_uri"]; given {
				redirectURI, _ = v.(string)
			}
			if !slices.Contains(allowed, redirectURI) {
				resp = oauthError("invalid_request", "Invalid redirect_uri that does not match with any redirect_uri created with the application")
				redirectURI = first(allowed)
			}
		}
		if redirectURI != "" {
			redirect, _ = url.Parse(redirectURI)
		}
		challenge, method, cerr := codeChallenge(params)
		switch {
		case cerr != "":
			resp = oauthError("invalid_request", cerr)
		case c != nil && challenge == "" && p.requiresPKCE(c, false):
			resp = oauthError("invalid_request", "code_challenge is required for "+fmt.Sprint(c["client_type"])+" clients")
		case challenge == "":
			method = ""
		}
		if resp == nil {
			st, err := entityStore(k)
			if err != nil {
				return err
			}
			if rt == "code" {
				in := map[string]any{"credential": map[string]any{"id": c["id"]},
					"authenticated_userid": uid, "ttl": int64(codeTTL),
					"plugin": map[string]any{"id": k.Plugin().ID()}}
				if !p.conf.GlobalCredentials {
					if id := serviceID(k); id != "" {
						in["service"] = map[string]any{"id": id}
					}
				}
				if scope != "" {
					in["scope"] = scope
				}
				if challenge != "" {
					in["challenge"], in["challenge_method"] = challenge, method
				}
				code, err := st.Insert(k.Context(), CodeEntity, in)
				if err != nil {
					return fmt.Errorf("oauth2: storing authorization code: %w", err)
				}
				resp = map[string]any{"code": code["code"]}
			} else {
				resp, err = p.generateToken(k, st, c, uid, scope, state, true, nil)
				if err != nil {
					return err
				}
				implicit = true
			}
		}
	}
	if state != nil {
		resp["state"] = state
	} else {
		delete(resp, "state")
	}
	status := 200
	if _, failed := resp["error"]; failed {
		status = 400
	}
	if redirect == nil {
		hostabi.JSONExit(k.Response(), status, resp, noStore)
		return nil
	}
	if implicit {
		redirect.Fragment = encodeArgs(redirect.Fragment, resp)
		redirect.RawFragment = ""
	} else {
		redirect.RawQuery = encodeArgs(redirect.RawQuery, resp)
	}
	loc := redirect.String()
	if implicit {
		// The fragment is already encoded.
		loc = strings.SplitN(loc, "#", 2)[0] + "#" + redirect.Fragment
	}
	hostabi.JSONExit(k.Response(), status, map[string]any{"redirect_uri": loc}, noStore)
	return nil
}

// encodeArgs merges params into the arguments of raw (decoded as
// ngx.decode_args does: a flag is true, a repeated key a list) and encodes
// them as Kong's encode_args does: keys sorted, keys and values escaped
// like socket.url's escape (everything but letters, digits and '_', in
// lower-case hex), true and false spelled out, an empty value as a bare
// key, lists as key[1]=…, objects as key.field=….
func encodeArgs(raw string, params map[string]any) string {
	merged := map[string]any{}
	for _, a := range ngxargs.All(raw) {
		if a.Key == "" {
			continue
		}
		var v any = a.Value
		if a.Flag {
			v = true
		}
		switch prev := merged[a.Key].(type) {
		case nil:
			merged[a.Key] = v
		case []any:
			merged[a.Key] = append(prev, v)
		default:
			merged[a.Key] = []any{prev, v}
		}
	}
	for k, v := range params {
		merged[k] = v
	}
	var parts []string
	for _, k := range sortedKeys(merged) {
		parts = appendArg(parts, k, merged[k], true)
	}
	return strings.Join(parts, "&")
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// appendArg encodes one argument; top is false inside a list or object,
// where Kong writes empty strings as "key=".
func appendArg(parts []string, key string, v any, top bool) []string {
	switch t := v.(type) {
	case []any:
		for i, e := range t {
			parts = appendArg(parts, fmt.Sprintf("%s[%d]", key, i+1), e, false)
		}
		return parts
	case map[string]any:
		for _, k := range sortedKeys(t) {
			parts = appendArg(parts, key+"."+k, t[k], false)
		}
		return parts
	}
	var s string
	switch t := v.(type) {
	case nil:
		s = ""
	case string:
		s = t
	case float64:
		s = strconv.FormatFloat(t, 'g', 14, 64)
	default:
		s = fmt.Sprint(t)
	}
	if s == "" && top && v != nil {
		return append(parts, urlEscape(key))
	}
	return append(parts, urlEscape(key)+"="+urlEscape(s))
}

// urlEscape is socket.url's escape: every byte but letters, digits and
// '_' as %xx in lower-case hex.
func urlEscape(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

var basicRE = regexp.MustCompile(`\s*[Bb]asic\s*(.+)`)

// clientCredentials is Kong's retrieve_client_credentials.
func (p *Plugin) clientCredentials(k hostabi.Kong, params map[string]any) (id, secret any, fromHeader bool) {
	_, hasID := params["client_id"]
	_, hasSecret := params["client_secret"]
	if hasID && hasSecret {
		return params["client_id"], params["client_secret"], false
	}
	if vs := k.Request().HeaderValues(p.header); vs != nil {
		if m := basicRE.FindStringSubmatch(vs[0]); m != nil {
			if dec, err := base64.StdEncoding.DecodeString(m[1]); err == nil {
				parts := strings.Split(string(dec), ":")
				id = parts[0]
				if len(parts) > 1 {
					secret = parts[1]
				}
			}
		}
		return id, secret, true
	}
	if hasID {
		return params["client_id"], nil, false
	}
	return nil, nil, false
}

// issueToken is Kong's /oauth2/token endpoint.
func (p *Plugin) issueToken(k hostabi.Kong) error {
	params := parameters(k)
	state := params["state"]
	resp, status, challenge, err := p.token(k, params, state)
	if err != nil {
		return err
	}
	if state != nil {
		resp["state"] = state
	}
	headers := map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache"}
	if challenge != "" {
		headers["WWW-Authenticate"] = challenge
	}
	hostabi.JSONExit(k.Response(), status, resp, headers)
	return nil
}

// token answers a token request: the body, its status and a
// WWW-Authenticate challenge ("" for none).
func (p *Plugin) token(k hostabi.Kong, params map[string]any, state any) (map[string]any, int, string, error) {
	if e := p.checkHTTPS(k); e != "" {
		return oauthError("access_denied", e), 400, "", nil
	}
	var resp map[string]any
	status, challenge := 400, ""
	fail := func(code, desc string) { resp = oauthError(code, desc) }
	unauthorized := func(fromHeader bool) {
		fail("invalid_client", "Invalid client authentication")
		if fromHeader {
			status, challenge = 401, `Basic realm="OAuth2.0"`
		}
	}
	grant, _ := str(params, "grant_type")
	if !(grant == "authorization_code" || grant == "refresh_token" ||
		p.conf.EnableClientCredentials && grant == "client_credentials" ||
		p.conf.EnablePasswordGrant && grant == "password") {
		fail("unsupported_grant_type", "Invalid grant_type")
	}
	rawID, rawSecret, fromHeader := p.clientCredentials(k, params)
	c, err := client(k, rawID)
	if err != nil {
		return nil, 0, "", err
	}
	allowed, hasURIs := redirectURIs(c)
	if grant != "client_credentials" {
		if hasURIs {
			uri := first(allowed)
			if v, given := params["redirect_uri"]; given {
				uri, _ = v.(string)
			}
			if !slices.Contains(allowed, uri) {
				fail("invalid_request", "Invalid redirect_uri that does not match with any redirect_uri created with the application")
			}
		} else {
			unauthorized(fromHeader)
		}
	}
	secret, _ := rawSecret.(string)
	if c != nil {
		stored, _ := c["client_secret"].(string)
		switch c["client_type"] {
		case "confidential":
			ok := false
			if c["hash_secret"] == true {
				ok = rawSecret != nil && VerifySecret(secret, stored)
			} else {
				ok = rawSecret != nil && secret == stored
			}
			if !ok {
				unauthorized(fromHeader)
			}
		case "public":
			if strings.TrimSpace(secret) != "" {
				fail("invalid_request", "client_secret is disallowed for public clients")
			}
		}
	}
	if resp != nil {
		return resp, status, challenge, nil
	}
	st, err := entityStore(k)
	if err != nil {
		return nil, 0, "", err
	}
	ctx := k.Context()
	switch grant {
	case "authorization_code":
		code, _ := str(params, "code")
		auth, err := findUnique(ctx, st, CodeEntity, "code", code)
		if err != nil {
			return nil, 0, "", err
		}
		svc := ""
		if !p.conf.GlobalCredentials {
			svc = serviceID(k)
		}
		if auth == nil || (svc != "" && svc != authn.ForeignID(auth["service"])) ||
			authn.ForeignID(auth["credential"]) != c["id"] {
			return oauthError("invalid_request", "Invalid code"), 400, "", nil
		}
		method, _ := auth["challenge_method"].(string)
		if p.requiresPKCE(c, method != "") {
			if e := verifyPKCE(params, auth); e != nil {
				return e, 400, "", nil
			}
		}
		if p.conf.GlobalCredentials {
			if pid := authn.ForeignID(auth["plugin"]); pid != "" && pid != k.Plugin().ID() {
				return oauthError("invalid_request", "Invalid code"), 400, "", nil
			}
		}
		scope, _ := auth["scope"].(string)
		out, err := p.generateToken(k, st, c, auth["authenticated_userid"], scope, state, false, nil)
		if err != nil {
			return nil, 0, "", err
		}
		if _, err := st.Delete(ctx, CodeEntity, auth["id"].(string)); err != nil {
			k.Log().Err("oauth2: deleting a used authorization code", "error", err)
		}
		return out, 200, "", nil
	case "client_credentials":
		if _, given := params["authenticated_userid"]; given {
			if pk, ok := str(params, "provision_key"); !ok || pk != p.conf.ProvisionKey {
				return oauthError("invalid_provision_key", "Invalid provision_key"), 400, "", nil
			}
		}
		if c == nil {
			return oauthError("invalid_client", "Invalid client authentication"), 400, "", nil
		}
		scope, serr := p.scope(params)
		if serr != nil {
			return serr, 400, "", nil
		}
		out, err := p.generateToken(k, st, c, params["authenticated_userid"], scope, state, true, nil)
		return out, 200, "", err
	case "password":
		if pk, ok := str(params, "provision_key"); !ok || pk != p.conf.ProvisionKey {
			return oauthError("invalid_provision_key", "Invalid provision_key"), 400, "", nil
		}
		uid, ok := str(params, "authenticated_userid")
		if !ok || strings.TrimSpace(uid) == "" {
			return oauthError("invalid_authenticated_userid", "Missing authenticated_userid parameter"), 400, "", nil
		}
		scope, serr := p.scope(params)
		if serr != nil {
			return serr, 400, "", nil
		}
		out, err := p.generateToken(k, st, c, uid, scope, state, false, nil)
		return out, 200, "", err
	default: // refresh_token
		rt, _ := str(params, "refresh_token")
		token, err := findUnique(ctx, st, TokenEntity, "refresh_token", rt)
		if err != nil {
			return nil, 0, "", err
		}
		svc := ""
		if !p.conf.GlobalCredentials {
			svc = serviceID(k)
		}
		if token == nil || (svc != "" && svc != authn.ForeignID(token["service"])) {
			return oauthError("invalid_request", "Invalid refresh_token"), 400, "", nil
		}
		if authn.ForeignID(token["credential"]) != c["id"] {
			return oauthError("invalid_client", "Invalid client authentication"), 400, "", nil
		}
		scope, _ := token["scope"].(string)
		for _, s := range strings.Fields(scope) {
			if !slices.Contains(p.conf.Scopes, s) {
				return oauthError("invalid_scope", "Scope mismatch"), 400, "", nil
			}
		}
		out, err := p.generateToken(k, st, c, token["authenticated_userid"], scope, state, false, token)
		if err != nil {
			return nil, 0, "", err
		}
		if !p.conf.ReuseRefreshToken {
			if _, err := st.Delete(ctx, TokenEntity, token["id"].(string)); err != nil {
				k.Log().Err("oauth2: deleting a refreshed token", "error", err)
			}
		}
		return out, 200, "", nil
	}
}

// findUnique finds an entity by a unique field; nil when there is none.
func findUnique(ctx context.Context, st *store.Store, entity, field, value string) (map[string]any, error) {
	if value == "" {
		return nil, nil
	}
	rec, err := st.FindUnique(ctx, entity, field, value)
	if store.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("oauth2: loading %s: %w", entity, err)
	}
	return rec, nil
}

// verifyPKCE is Kong's validate_pkce_verifier.
func verifyPKCE(params map[string]any, auth map[string]any) map[string]any {
	raw, given := params["code_verifier"]
	if !given {
		return oauthError("invalid_request", "code_verifier is required for PKCE authorization requests")
	}
	v, ok := raw.(string)
	if !ok {
		return oauthError("invalid_request", "code_verifier is not a string")
	}
	if len(v) < 43 || len(v) > 128 {
		return oauthError("invalid_request", "code_verifier must be between 43 and 128 characters")
	}
	sum := sha256.Sum256([]byte(v))
	want, _ := auth["challenge"].(string)
	if want == "" || b64url.EncodeToString(sum[:]) != want {
		return oauthError("invalid_grant", "Invalid code")
	}
	return nil
}

var _ hostabi.Accessor = (*Plugin)(nil)
