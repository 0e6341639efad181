// Package requesttermination is Gatehouse's native request-termination
// plugin, compatible with Kong 3.9's: it answers requests itself with a
// configured status and message or body, optionally only when a trigger
// header or query argument is present, or echoes the request back. See
// README.md.
package requesttermination

import (
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "request-termination"
	Priority = 2
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
	StatusCode int64 `config:"status_code"`
	// Message, ContentType, Body and Trigger are nil when unset.
	Message     *string `config:"message"`
	ContentType *string `config:"content_type"`
	Body        *string `config:"body"`
	Echo        bool    `config:"echo"`
	Trigger     *string `config:"trigger"`
}

// ParseConfig decodes a configuration map; fields it leaves out take the
// schema's defaults.
func ParseConfig(m map[string]any) (Config, error) {
	return plugin.DecodeAs[Config](definition, m)
}

// defaultMessages is Kong's DEFAULT_RESPONSE.
var defaultMessages = map[int]string{
	401: "Unauthorized",
	404: "Not found",
	405: "Method not allowed",
	500: "An unexpected error occurred",
	502: "Bad Gateway",
	503: "Service unavailable",
}

// Plugin is one configured request-termination instance; safe for
// concurrent use.
type Plugin struct {
	conf   Config
	status int
	// message is the message of the default and echo bodies; hasMessage
	// is false when there is none (no body at all).
	message    string
	hasMessage bool
	// exit is the prepared default body, nil for none.
	exit    []byte
	headers map[string]string
}

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// NewPlugin creates an instance from a parsed configuration.
func NewPlugin(c Config) *Plugin {
	p := &Plugin{conf: c, status: int(c.StatusCode)}
	if c.Message != nil {
		p.message, p.hasMessage = *c.Message, true
	} else {
		p.message, p.hasMessage = defaultMessages[p.status]
	}
	switch {
	case c.Body != nil:
		p.exit = []byte(*c.Body)
		if c.ContentType != nil {
			p.headers = map[string]string{"Content-Type": *c.ContentType}
		}
	case p.hasMessage:
		p.exit = []byte(`{"message":` + strconv.Quote(p.message) + `}`)
		p.headers = map[string]string{"Content-Type": "application/json; charset=utf-8"}
	}
	return p
}

// Access implements hostabi.Accessor.
func (p *Plugin) Access(k hostabi.Kong) error {
	req := k.Request()
	if p.conf.Trigger != nil {
		t := *p.conf.Trigger
		if len(req.HeaderValues(t)) == 0 {
			if _, ok := queryArgs(req.RawQuery())[t]; !ok {
				return nil // trigger set but not found
			}
		}
	}
	if p.conf.Echo {
		hostabi.JSONExit(k.Response(), p.status, p.echo(k), nil)
		return nil
	}
	if p.conf.Body == nil && !p.hasMessage {
		k.Response().Exit(p.status, nil, nil)
		return nil
	}
	k.Response().Exit(p.status, p.exit, p.headers)
	return nil
}

// echo builds Kong's echo body: the message, the node, the request and
// the matched route and service.
func (p *Plugin) echo(k hostabi.Kong) map[string]any {
	req := k.Request()
	headers := map[string]any{}
	for name, vals := range req.Headers() {
		headers[strings.ToLower(name)] = oneOrMany(vals)
	}
	request := map[string]any{
		"scheme":       req.Scheme(),
		"host":         req.Host(),
		"port":         req.Port(),
		"headers":      headers,
		"query":        queryArgs(req.RawQuery()),
		"method":       req.Method(),
		"path":         req.Path(),
		"uri_captures": captures(k.Router().URICaptures()),
	}
	raw, err := req.RawBody()
	if err != nil {
		raw = nil
	}
	request["raw_body"] = string(raw)
	if body, _, err := req.Body(); err == nil && body != nil {
		request["body"] = body
	}
	out := map[string]any{
		"kong": map[string]any{
			"node_id":    k.Node().ID(),
			"worker_pid": os.Getpid(),
			"hostname":   k.Node().Hostname(),
		},
		"request": request,
	}
	if p.hasMessage {
		out["message"] = p.message
	}
	if r := k.Router().Route(); r != nil {
		out["matched_route"] = r
	}
	if s := k.Router().Service(); s != nil {
		out["matched_service"] = s
	}
	return out
}

// oneOrMany is a string for one value, a list for more (Kong's tables).
func oneOrMany(vals []string) any {
	if len(vals) == 1 {
		return vals[0]
	}
	return vals
}

// queryArgs parses a query string as kong.request.get_query does: "a" is
// true, "a=" is "", repeated names are lists.
func queryArgs(raw string) map[string]any {
	out := map[string]any{}
	if raw == "" {
		return out
	}
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		name, value, hasValue := strings.Cut(part, "=")
		name = unescape(name)
		if name == "" {
			continue
		}
		var v any = true
		if hasValue {
			v = unescape(value)
		}
		switch cur := out[name].(type) {
		case nil:
			out[name] = v
		case []any:
			out[name] = append(cur, v)
		default:
			out[name] = []any{cur, v}
		}
	}
	return out
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// captures is kong.request.get_uri_captures: numbered captures as a list,
// named ones as a map.
func captures(c map[string]string) map[string]any {
	named := map[string]any{}
	var nums []int
	for k, v := range c {
		if n, err := strconv.Atoi(k); err == nil {
			nums = append(nums, n)
		} else {
			named[k] = v
		}
	}
	sort.Ints(nums)
	unnamed := make([]any, 0, len(nums))
	for _, n := range nums {
		unnamed = append(unnamed, c[strconv.Itoa(n)])
	}
	out := map[string]any{"named": named}
	if len(unnamed) > 0 {
		out["unnamed"] = unnamed
	} else {
		out["unnamed"] = map[string]any{}
	}
	return out
}
