// Package requestsizelimiting is Gatehouse's native request-size-limiting
// plugin, compatible with Kong 3.9's: it refuses request bodies larger than
// allowed_payload_size with 413 (417 for Expect: 100-continue), and
// without a Content-Length with 411 when require_content_length is set.
// Streamed bodies are counted as they go upstream, never buffered whole.
// See README.md.
package requestsizelimiting

import (
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "request-size-limiting"
	Priority = 951
	Version  = plugin.BundledVersion
)

var definition = plugin.Typed(&plugin.Definition{
	Name:     Name,
	Version:  Version,
	Priority: Priority,
	Phases:   []hostabi.Phase{hostabi.PhaseAccess},
	Schema:   Schema(),
}, func(c Config) (any, error) { return NewPlugin(c), nil })

func init() { plugin.Register(definition) }

// Config is the plugin's validated configuration, decoded from the
// schema's fields (defaults included) by plugin.Decode.
type Config struct {
	AllowedPayloadSize   int64  `config:"allowed_payload_size"`
	SizeUnit             string `config:"size_unit"`
	RequireContentLength bool   `config:"require_content_length"`
}

// ParseConfig decodes a configuration map; fields it leaves out take the
// schema's defaults.
func ParseConfig(m map[string]any) (Config, error) {
	return plugin.DecodeAs[Config](definition, m)
}

// unitFactor is Kong's unit_multiplication_factor.
var unitFactor = map[string]int64{"bytes": 1, "kilobytes": 1024, "megabytes": 1048576}

// The plugin's messages, as Kong words them.
const (
	msgTooLarge      = "Request size limit exceeded"
	msgLengthMissing = "A valid Content-Length header is required"
)

// Plugin is one configured request-size-limiting instance; safe for
// concurrent use.
type Plugin struct {
	conf Config
	// allowed is the limit in bytes.
	allowed int64
}

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// NewPlugin creates an instance from a parsed configuration.
func NewPlugin(c Config) *Plugin {
	f, ok := unitFactor[c.SizeUnit]
	if !ok {
		f = unitFactor["megabytes"]
	}
	return &Plugin{conf: c, allowed: c.AllowedPayloadSize * f}
}

// ParseContentLength parses a Content-Length value as Lua's tonumber does
// for Kong: surrounding spaces allowed, decimal (or hex "0x") numbers,
// fractions and exponents; ok is false when it is not a number.
func ParseContentLength(s string) (float64, bool) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, false
	}
	if u := strings.TrimPrefix(strings.TrimPrefix(t, "-"), "+"); len(u) > 2 && (u[:2] == "0x" || u[:2] == "0X") {
		n, err := strconv.ParseUint(u[2:], 16, 64)
		if err != nil {
			return 0, false
		}
		if t[0] == '-' {
			return -float64(n), true
		}
		if t[0] == '+' {
			return 0, false // Lua's tonumber refuses "+0x.."
		}
		return float64(n), true
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return 0, false // rejects "inf", "nan", "1_000"
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

// status is 417 when the client waits for 100-continue, else 413.
func status(req hostabi.Request) int {
	if strings.ToLower(strings.TrimSpace(req.Header("Expect"))) == "100-continue" {
		return 417
	}
	return 413
}

// Access implements hostabi.Accessor.
func (p *Plugin) Access(k hostabi.Kong) error {
	req := k.Request()
	if cl := req.HeaderValues("Content-Length"); len(cl) > 0 {
		if n, ok := ParseContentLength(cl[0]); ok {
			if n > float64(p.allowed) {
				k.Response().Error(status(req), msgTooLarge, nil)
			}
			return nil
		}
	}
	if p.conf.RequireContentLength && req.Header("Transfer-Encoding") != "chunked" {
		k.Response().Error(411, msgLengthMissing, nil)
		return nil
	}
	if l, ok := req.(hostabi.BodyLimiter); ok {
		if l.LimitBody(p.allowed, status(req), msgTooLarge) {
			k.Response().Error(status(req), msgTooLarge, nil)
		}
		return nil
	}
	body, err := req.RawBody()
	if err != nil {
		k.Log().Warn("missing request body")
		return nil
	}
	if int64(len(body)) > p.allowed {
		k.Response().Error(status(req), msgTooLarge, nil)
	}
	return nil
}
