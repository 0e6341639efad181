// Package cors is Gatehouse's native cors plugin, compatible with Kong
// 3.9's: it answers CORS preflight requests itself (or lets them through
// with preflight_continue) and adds the Access-Control-* headers, and
// Vary: Origin, to every other response. See README.md.
package cors

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "cors"
	Priority = 2000
	Version  = plugin.BundledVersion
)

var definition = plugin.Typed(&plugin.Definition{
	Name:     Name,
	Version:  Version,
	Priority: Priority,
	Phases:   []hostabi.Phase{hostabi.PhaseAccess, hostabi.PhaseHeaderFilter},
	Schema:   Schema(),
}, func(c Config) (any, error) { return NewPlugin(c), nil })

func init() { plugin.Register(definition) }

// Config is the plugin's validated configuration, decoded from the
// schema's fields (defaults included) by plugin.Decode.
type Config struct {
	Origins        []string `config:"origins"`
	Headers        []string `config:"headers"`
	ExposedHeaders []string `config:"exposed_headers"`
	Methods        []string `config:"methods"`
	// MaxAge is nil when unset.
	MaxAge            *float64 `config:"max_age"`
	Credentials       bool     `config:"credentials"`
	PrivateNetwork    bool     `config:"private_network"`
	PreflightContinue bool     `config:"preflight_continue"`
	AllowOriginAbsent bool     `config:"allow_origin_absent"`
}

// ParseConfig decodes a configuration map; fields it leaves out take the
// schema's defaults.
func ParseConfig(m map[string]any) (Config, error) {
	return plugin.DecodeAs[Config](definition, m)
}

// allowedOrigin is one entry of config.origins, prepared for matching.
type allowedOrigin struct {
	// re is set for a regex entry; domain for a plain one.
	re     *regexp.Regexp
	domain string
	// byHost: the regex is matched against the request origin's host (the
	// entry has no ":"), else against its scheme://host[:port].
	byHost bool
}

// Plugin is one configured cors instance; safe for concurrent use.
type Plugin struct {
	conf Config
	// allowAll: no origins, or the single origin "*".
	allowAll bool
	// literal is the single plain origin sent as is, "" otherwise.
	literal string
	// star: the list holds "*" (any provided origin gets "*").
	star    bool
	origins []allowedOrigin

	allowHeaders, exposeHeaders, allowMethods, maxAge string
}

// plainOrigin is Kong's test for an origin that is not a regex.
var plainOrigin = regexp.MustCompile(`^[A-Za-z0-9.:/-]+$`)

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// NewPlugin creates an instance from a parsed configuration.
func NewPlugin(c Config) *Plugin {
	p := &Plugin{conf: c,
		allowHeaders:  strings.Join(c.Headers, ","),
		exposeHeaders: strings.Join(c.ExposedHeaders, ","),
		allowMethods:  strings.Join(c.Methods, ","),
	}
	if c.Methods == nil {
		p.allowMethods = strings.Join(methods, ",")
	}
	if c.MaxAge != nil {
		p.maxAge = luaNumber(*c.MaxAge)
	}
	n := len(c.Origins)
	switch {
	case n == 0 || (n == 1 && c.Origins[0] == "*"):
		p.allowAll = true
		return p
	case n == 1 && plainOrigin.MatchString(c.Origins[0]):
		p.literal = c.Origins[0]
		return p
	}
	for _, entry := range c.Origins {
		if entry == "*" {
			// Kong stops at the first "*" and answers "*" to any origin.
			p.star = true
			break
		}
		o := allowedOrigin{byHost: !strings.Contains(entry, ":")}
		if plainOrigin.MatchString(entry) {
			o.domain = normalizeOrigin(entry).domain
		} else {
			// Kong anchors the regex at both ends: a trailing "$" is added
			// when missing and a leading "^" is dropped (the match is
			// anchored anyway).
			if !strings.HasSuffix(entry, "$") {
				entry += "$"
			}
			entry = strings.TrimPrefix(entry, "^")
			re, err := regexp.Compile("^(?:" + entry + ")")
			if err != nil {
				continue // the schema rejects these; never matches
			}
			o.re = re
		}
		p.origins = append(p.origins, o)
	}
	return p
}

// luaNumber formats a number as Lua's tostring does.
func luaNumber(f float64) string {
	if f == float64(int64(f)) && f < 1e15 && f > -1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', 14, 64)
}

// origin is a request origin split as Kong's normalize_origin does.
type origin struct{ domain, host string }

// normalizeOrigin parses s as LuaSocket's url.parse does and rebuilds
// scheme://host[:port], dropping the default port of http and https.
// Without an authority the domain and host are s itself.
func normalizeOrigin(s string) origin {
	rest := s
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	scheme := ""
	if i := schemeEnd(rest); i > 0 {
		scheme, rest = rest[:i], rest[i+1:]
	}
	if !strings.HasPrefix(rest, "//") {
		return origin{domain: s, host: s}
	}
	authority := rest[2:]
	if i := strings.IndexByte(authority, '/'); i >= 0 {
		authority = authority[:i]
	}
	if i := strings.IndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	port, hasPort := "", false
	if i := strings.LastIndexByte(authority, ':'); i >= 0 && !strings.ContainsAny(authority[i+1:], "]") {
		port, hasPort, authority = authority[i+1:], true, authority[:i]
	}
	if authority == "" {
		return origin{domain: s, host: s}
	}
	host := authority
	if len(host) > 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		hasPort = false
	}
	var b strings.Builder
	if scheme != "" {
		b.WriteString(scheme)
		b.WriteString("://")
	}
	b.WriteString(host)
	if hasPort {
		b.WriteByte(':')
		b.WriteString(port)
	}
	return origin{domain: b.String(), host: host}
}

// schemeEnd returns the index of the ':' ending a leading URL scheme
// (Lua's "^[%w][%w+%-.]*:"), or -1.
func schemeEnd(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		switch {
		case alnum:
		case i > 0 && (c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return i
		default:
			return -1
		}
	}
	return -1
}

// requestOrigin is the request's Origin header and whether it is set and
// not empty.
func requestOrigin(k hostabi.Kong) (string, bool) {
	o := k.Request().Header("Origin")
	return o, o != ""
}

func addVary(k hostabi.Kong, headerFilter bool) {
	if headerFilter {
		k.Response().AddHeader("Vary", "Origin")
	} else {
		k.Response().SetHeader("Vary", "Origin")
	}
}

// configureOrigin sets Access-Control-Allow-Origin (and Vary) as Kong's
// configure_origin does; it reports whether every origin is allowed.
func (p *Plugin) configureOrigin(k hostabi.Kong, headerFilter bool, reqOrigin string, provided bool) bool {
	res := k.Response()
	if p.allowAll {
		res.SetHeader("Access-Control-Allow-Origin", "*")
		return true
	}
	addVary(k, headerFilter)
	if p.literal != "" {
		res.SetHeader("Access-Control-Allow-Origin", p.literal)
		return false
	}
	if provided {
		if p.star {
			res.SetHeader("Access-Control-Allow-Origin", "*")
			return true
		}
		req := normalizeOrigin(reqOrigin)
		for _, o := range p.origins {
			var found bool
			if o.re != nil {
				subject := req.domain
				if o.byHost {
					subject = req.host
				}
				found = o.re.MatchString(subject)
			} else {
				found = req.domain == o.domain
			}
			if found {
				res.SetHeader("Access-Control-Allow-Origin", req.domain)
				return false
			}
		}
	}
	res.ClearHeader("Access-Control-Allow-Origin")
	return false
}

// configureCredentials is Kong's configure_credentials.
func (p *Plugin) configureCredentials(k hostabi.Kong, allowAll, headerFilter bool, reqOrigin string, provided bool) {
	if !p.conf.Credentials {
		return
	}
	res := k.Response()
	if !allowAll {
		res.SetHeader("Access-Control-Allow-Credentials", "true")
		return
	}
	// "*" cannot go with credentials: echo the request's origin instead.
	if provided {
		addVary(k, headerFilter)
		res.SetHeader("Access-Control-Allow-Origin", reqOrigin)
		res.SetHeader("Access-Control-Allow-Credentials", "true")
	}
}

// skipKey marks, in the plugin's context, a preflight whose response
// headers the header_filter phase leaves alone.
const skipKey = "skip_response_headers"

// Access implements hostabi.Accessor: a preflight (OPTIONS with Origin and
// Access-Control-Request-Method) is answered with 200 and the CORS
// headers, unless preflight_continue proxies it.
func (p *Plugin) Access(k hostabi.Kong) error {
	req := k.Request()
	reqOrigin, provided := requestOrigin(k)
	if req.Method() != "OPTIONS" || !provided || len(req.HeaderValues("Access-Control-Request-Method")) == 0 {
		return nil
	}
	k.Ctx().Plugin().Set(skipKey, true)
	if p.conf.PreflightContinue {
		return nil
	}
	allowAll := p.configureOrigin(k, false, reqOrigin, provided)
	p.configureCredentials(k, allowAll, false, reqOrigin, provided)
	res := k.Response()
	if len(p.conf.Headers) > 0 {
		res.SetHeader("Access-Control-Allow-Headers", p.allowHeaders)
	} else if acrh := req.HeaderValues("Access-Control-Request-Headers"); len(acrh) > 0 {
		res.SetHeader("Access-Control-Allow-Headers", acrh[0])
	} else {
		res.ClearHeader("Access-Control-Allow-Headers")
	}
	res.SetHeader("Access-Control-Allow-Methods", p.allowMethods)
	if p.maxAge != "" {
		res.SetHeader("Access-Control-Max-Age", p.maxAge)
	}
	if p.conf.PrivateNetwork && req.Header("Access-Control-Request-Private-Network") == "true" {
		res.SetHeader("Access-Control-Allow-Private-Network", "true")
	}
	res.Exit(200, nil, nil)
	return nil
}

// HeaderFilter implements hostabi.HeaderFilterer: the CORS headers of
// every response but a handled preflight.
func (p *Plugin) HeaderFilter(k hostabi.Kong) error {
	if skip, _ := k.Ctx().Plugin().Get(skipKey); skip == true {
		return nil
	}
	reqOrigin, provided := requestOrigin(k)
	if !provided && !p.conf.AllowOriginAbsent {
		return nil
	}
	allowAll := p.configureOrigin(k, true, reqOrigin, provided)
	p.configureCredentials(k, allowAll, true, reqOrigin, provided)
	if len(p.conf.ExposedHeaders) > 0 {
		k.Response().SetHeader("Access-Control-Expose-Headers", p.exposeHeaders)
	}
	return nil
}
