// Package responsetransformer is Gatehouse's native response-transformer
// plugin, compatible with Kong 3.9's: it changes the response sent to the
// client (headers, and members of a JSON body) with remove, rename,
// replace, add and append rules. See README.md.
package responsetransformer

import (
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/plugins/pluginkit"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "response-transformer"
	Priority = 800
	Version  = plugin.BundledVersion
)

var definition = plugin.Typed(&plugin.Definition{
	Name:     Name,
	Version:  Version,
	Priority: Priority,
	Phases:   []hostabi.Phase{hostabi.PhaseHeaderFilter, hostabi.PhaseBodyFilter},
	Schema:   Schema(),
}, func(c Config) (any, error) { return NewPlugin(c), nil })

func init() { plugin.Register(definition) }

// Rules is the remove or rename record: "name" or "old:new" entries.
type Rules struct {
	JSON    []string `config:"json"`
	Headers []string `config:"headers"`
}

// TypedRules is the replace, add or append record: "name:value" entries,
// and the JSON type of each json entry's value by position.
type TypedRules struct {
	JSON      []string `config:"json"`
	JSONTypes []string `config:"json_types"`
	Headers   []string `config:"headers"`
}

// Config is the plugin's validated configuration, decoded from the
// schema's fields (defaults included) by plugin.Decode.
type Config struct {
	Remove  Rules      `config:"remove"`
	Rename  Rules      `config:"rename"`
	Replace TypedRules `config:"replace"`
	Add     TypedRules `config:"add"`
	Append  TypedRules `config:"append"`
}

// ParseConfig decodes a configuration map; fields it leaves out take the
// schema's defaults.
func ParseConfig(m map[string]any) (Config, error) {
	return plugin.DecodeAs[Config](definition, m)
}

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// entry is one parsed rule entry.
type entry struct {
	name, value string
	// hasValue is false for "name" and "name:" (Kong's nil value).
	hasValue bool
	// jsonType is the entry's json_types element ("" when none).
	jsonType string
}

type rules struct{ json, headers []entry }

// Plugin is one configured response-transformer instance; safe for
// concurrent use.
type Plugin struct {
	remove, rename, replace, add, append rules
	// transformsBody is Kong's is_body_transform_set.
	transformsBody bool
}

// NewPlugin creates an instance from a parsed configuration.
func NewPlugin(c Config) *Plugin {
	p := &Plugin{
		remove:  rules{json: parse(c.Remove.JSON, nil), headers: parse(c.Remove.Headers, nil)},
		rename:  rules{json: parse(c.Rename.JSON, nil), headers: parse(c.Rename.Headers, nil)},
		replace: rules{json: parse(c.Replace.JSON, c.Replace.JSONTypes), headers: parse(c.Replace.Headers, nil)},
		add:     rules{json: parse(c.Add.JSON, c.Add.JSONTypes), headers: parse(c.Add.Headers, nil)},
		append:  rules{json: parse(c.Append.JSON, c.Append.JSONTypes), headers: parse(c.Append.Headers, nil)},
	}
	for _, r := range []rules{p.remove, p.rename, p.replace, p.add, p.append} {
		p.transformsBody = p.transformsBody || len(r.json) > 0
	}
	return p
}

func parse(list, types []string) []entry {
	out := make([]entry, 0, len(list))
	for i, s := range list {
		name, value, ok := pluginkit.SplitPair(s)
		if !ok {
			continue // Kong's pattern does not match: the rule does nothing
		}
		e := entry{name: name, value: value, hasValue: value != ""}
		if i < len(types) {
			e.jsonType = types[i]
		}
		out = append(out, e)
	}
	return out
}

// HeaderFilter implements hostabi.HeaderFilterer: the header rules, in
// Kong's order remove, rename, replace, add, append. Every condition is
// tested against the headers as the phase found them (Kong reads them
// once), and Content-Length goes when the JSON body will be rewritten.
func (p *Plugin) HeaderFilter(k hostabi.Kong) error {
	res := k.Response()
	before := res.Headers()
	get := func(name string) []string { return before[strings.ToLower(name)] }
	for _, e := range p.remove.headers {
		res.ClearHeader(e.name)
	}
	for _, e := range p.rename.headers {
		if vals := get(e.name); vals != nil && e.hasValue {
			setValues(res, e.value, vals)
			res.ClearHeader(e.name)
		}
	}
	for _, e := range p.replace.headers {
		if get(e.name) != nil && e.hasValue {
			res.SetHeader(e.name, e.value)
		}
	}
	for _, e := range p.add.headers {
		if get(e.name) == nil && e.hasValue {
			res.SetHeader(e.name, e.value)
		}
	}
	for _, e := range p.append.headers {
		if e.hasValue {
			res.AddHeader(e.name, e.value)
		}
	}
	if p.transformsBody && isJSON(first(get("Content-Type"))) {
		res.ClearHeader("Content-Length")
	}
	return nil
}

func setValues(res hostabi.Response, name string, vals []string) {
	for i, v := range vals {
		if i == 0 {
			res.SetHeader(name, v)
		} else {
			res.AddHeader(name, v)
		}
	}
}

func first(vals []string) string {
	if len(vals) == 0 {
		return ""
	}
	return vals[0]
}

// WantsBody implements hostabi.BodyWanter: the body is needed only when
// json rules are set and the response is JSON; any other streams on.
func (p *Plugin) WantsBody(k hostabi.Kong) bool {
	return p.transformsBody && isJSON(k.Response().Header("Content-Type"))
}

// BodyFilter implements hostabi.BodyFilterer: with JSON rules and a JSON
// response, the body is gathered to its end, transformed and sent whole.
// A body that is not a JSON object or array passes unchanged (Kong logs
// "body transform failed").
func (p *Plugin) BodyFilter(k hostabi.Kong, chunk []byte, eof bool) ([]byte, error) {
	if !p.transformsBody || !isJSON(k.Response().Header("Content-Type")) {
		return chunk, nil
	}
	body, complete := pluginkit.GatherBody(k, chunk, eof)
	if !complete {
		return nil, nil
	}
	out, err := p.TransformJSON(body)
	if err != nil {
		k.Log().Warn("body transform failed: " + err.Error())
		return body, nil
	}
	return out, nil
}

// castValue is Kong's json_value: the entry's value as cjson would
// render it inside a string (quotes and slashes unescaped), then cast to
// its json_types type. ok is false when a number does not parse (Kong's
// tonumber gives nil and the rule does nothing).
func castValue(e entry) (any, bool) {
	v := cjsonInner(e.value)
	switch e.jsonType {
	case "number":
		f, ok := luaToNumber(v)
		if !ok {
			return nil, false
		}
		return f, true
	case "boolean":
		return v == "true", true
	}
	return v, true
}

// cjsonInner is what Kong's json_value leaves of a string: lua-cjson's
// encoding without the surrounding quotes, with `\"` and `\/` turned back
// into `"` and `/` (other escapes stay, as in Kong).
func cjsonInner(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '/':
			b.WriteString(`\/`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			b.WriteString(`\u00`)
			b.WriteString(strconv.FormatUint(uint64(c)>>4, 16))
			b.WriteString(strconv.FormatUint(uint64(c)&15, 16))
		default:
			b.WriteByte(c)
		}
	}
	out := strings.ReplaceAll(b.String(), `\"`, `"`)
	return strings.ReplaceAll(out, `\/`, `/`)
}

// luaToNumber converts like Lua's tonumber on a string: decimal and
// hexadecimal numbers, surrounding whitespace allowed.
func luaToNumber(s string) (float64, bool) {
	t := strings.Trim(s, " \t\n\r\f\v")
	if t == "" {
		return 0, false
	}
	neg := false
	u := t
	if u[0] == '-' || u[0] == '+' {
		neg, u = u[0] == '-', u[1:]
	}
	if len(u) > 2 && u[0] == '0' && (u[1] == 'x' || u[1] == 'X') {
		n, err := strconv.ParseUint(u[2:], 16, 64)
		if err != nil {
			return 0, false
		}
		f := float64(n)
		if neg {
			f = -f
		}
		return f, true
	}
	lower := strings.ToLower(u)
	if strings.Contains(lower, "inf") || strings.Contains(lower, "nan") || strings.Contains(lower, "_") {
		return 0, false
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

// isJSON is Kong's is_json_body: one of the comma-separated media types
// of Content-Type is application/json or application/*+json.
func isJSON(contentType string) bool {
	for _, part := range strings.Split(contentType, ",") {
		typ, sub, _, ok := pluginkit.ParseMediaType(strings.TrimSpace(part))
		if ok && typ == "application" && (sub == "json" || strings.HasSuffix(sub, "+json")) {
			return true
		}
	}
	return false
}
