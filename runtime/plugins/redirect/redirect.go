// Package redirect is Gatehouse's native redirect plugin, compatible with
// Kong 3.9's: it answers every request with a redirect to a configured
// location, optionally keeping the request's path and query string. See
// README.md.
package redirect

import (
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
)

// Name, Priority and Version of the plugin, as Kong reports them (779:
// after rate limiting, validation and transformation plugins).
const (
	Name     = "redirect"
	Priority = 779
	Version  = plugin.BundledVersion
)

var definition = plugin.Typed(&plugin.Definition{
	Name:     Name,
	Version:  Version,
	Priority: Priority,
	Phases:   []hostabi.Phase{hostabi.PhaseAccess},
	Schema:   Schema(),
}, NewPlugin)

func init() { plugin.Register(definition) }

// Config is the plugin's validated configuration, decoded from the
// schema's fields (defaults included) by plugin.Decode.
type Config struct {
	StatusCode       int64  `config:"status_code"`
	Location         string `config:"location"`
	KeepIncomingPath bool   `config:"keep_incoming_path"`
}

// ParseConfig decodes a configuration map; fields it leaves out take the
// schema's defaults.
func ParseConfig(m map[string]any) (Config, error) {
	return plugin.DecodeAs[Config](definition, m)
}

// body is the response body Kong sends with the redirect.
var body = []byte("redirecting")

// Plugin is one configured redirect instance; safe for concurrent use.
type Plugin struct {
	status   int
	location string
	// base is the parsed location when the incoming path is kept.
	base *url.URL
}

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// NewPlugin creates an instance from a parsed configuration.
func NewPlugin(c Config) (any, error) {
	p := &Plugin{status: int(c.StatusCode), location: c.Location}
	if c.KeepIncomingPath {
		u, err := url.Parse(c.Location)
		if err != nil {
			return nil, err
		}
		u.Scheme = strings.ToLower(u.Scheme)
		host, port := strings.ToLower(u.Hostname()), u.Port()
		if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
			port = ""
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		if port != "" {
			host += ":" + port
		}
		u.Host = host
		p.base = u
	}
	return p, nil
}

// Location is the redirect target for a request path and raw query: the
// configured location, or with keep_incoming_path that location with its
// path and query replaced (its fragment kept).
func (p *Plugin) Location(path, rawQuery string) string {
	if p.base == nil {
		return p.location
	}
	u := *p.base
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u.Path, u.RawPath = path, ""
	u.RawQuery = escapeQuery(rawQuery)
	u.ForceQuery = false
	return u.String()
}

// Access implements hostabi.Accessor.
func (p *Plugin) Access(k hostabi.Kong) error {
	loc := p.location
	if p.base != nil {
		req := k.Request()
		loc = p.Location(req.Path(), req.RawQuery())
	}
	k.Response().Exit(p.status, body, map[string]string{"Location": loc})
	return nil
}

// escapeQuery percent-encodes what the WHATWG query percent-encode set
// names (controls, space, '"', '#', '<', '>' and non-ASCII), as ada's
// set_search does; the rest of the raw query is kept as sent.
func escapeQuery(q string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '#' || c == '<' || c == '>' {
			if b.Len() == 0 {
				b.Grow(len(q) + 8)
				b.WriteString(q[:i])
			}
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return q
	}
	return b.String()
}
