// Package requesttransformer is Gatehouse's native request-transformer
// plugin, compatible with Kong 3.9's: it changes the request sent upstream
// (method, path, headers, query string, JSON and form bodies) with remove,
// rename, replace, add and append rules. See README.md.
package requesttransformer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/ngxargs"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/plugins/pluginkit"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "request-transformer"
	Priority = 801
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
}, func(c Config) (any, error) { return NewPlugin(c), nil })

func init() { plugin.Register(definition) }

// Rules is one of the remove, rename, replace, add and append records:
// "name" or "name:value" entries.
type Rules struct {
	Body        []string `config:"body"`
	Headers     []string `config:"headers"`
	Querystring []string `config:"querystring"`
}

// ReplaceRules is the replace record: rules and the new path.
type ReplaceRules struct {
	Rules
	// URI is replace.uri, "" when unset.
	URI string `config:"uri"`
}

// Config is the plugin's validated configuration, decoded from the
// schema's fields (defaults included) by plugin.Decode.
type Config struct {
	// HTTPMethod is "" when unset.
	HTTPMethod string       `config:"http_method"`
	Remove     Rules        `config:"remove"`
	Rename     Rules        `config:"rename"`
	Replace    ReplaceRules `config:"replace"`
	Add        Rules        `config:"add"`
	Append     Rules        `config:"append"`
}

// ParseConfig decodes a configuration map; fields it leaves out take the
// schema's defaults. Values of the wrong type are an error.
func ParseConfig(m map[string]any) (Config, error) {
	return plugin.DecodeAs[Config](definition, m)
}

// pair is one parsed rule entry.
type pair struct {
	name, lname string
	// value is "" and hasValue false for "name" or "name:".
	value    string
	hasValue bool
	// lvalue is the lower-cased value (rename targets).
	lvalue string
	// values is []string{value}, shared read-only.
	values []string
	// slot and slot2 index the header table for name and lvalue.
	slot, slot2 int
}

type rules struct{ body, headers, query []pair }

func parseRules(r Rules) rules {
	return rules{body: parsePairs(r.Body), headers: parsePairs(r.Headers), query: parsePairs(r.Querystring)}
}

func parsePairs(list []string) []pair {
	out := make([]pair, 0, len(list))
	for _, s := range list {
		name, value, ok := splitPair(s)
		if !ok {
			continue // Kong's pattern does not match: nothing to do
		}
		out = append(out, pair{name: name, lname: strings.ToLower(name), value: value, hasValue: value != "",
			lvalue: strings.ToLower(value), values: []string{value}})
	}
	return out
}

// Plugin is one configured request-transformer instance; safe for
// concurrent use.
type Plugin struct {
	conf                                 Config
	method                               string
	remove, rename, replace, add, append rules
	hasHeaders, hasQuery, hasBody        bool
	// headerNames are the lower-cased header names the rules mention.
	headerNames []string
}

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// NewPlugin creates an instance from a parsed configuration.
func NewPlugin(c Config) *Plugin {
	p := &Plugin{conf: c, method: strings.ToUpper(c.HTTPMethod),
		remove: parseRules(c.Remove), rename: parseRules(c.Rename), replace: parseRules(c.Replace.Rules),
		add: parseRules(c.Add), append: parseRules(c.Append)}
	for _, r := range []rules{p.remove, p.rename, p.replace, p.add, p.append} {
		p.hasHeaders = p.hasHeaders || len(r.headers) > 0
		p.hasQuery = p.hasQuery || len(r.query) > 0
		p.hasBody = p.hasBody || len(r.body) > 0
	}
	p.indexHeaders()
	return p
}

// The methods kong.service.request.set_method accepts.
var acceptedMethods = map[string]bool{
	"GET": true, "HEAD": true, "PUT": true, "POST": true, "DELETE": true, "OPTIONS": true,
	"MKCOL": true, "COPY": true, "MOVE": true, "PROPFIND": true, "PROPPATCH": true,
	"LOCK": true, "UNLOCK": true, "PATCH": true, "TRACE": true,
}

// Access implements hostabi.Accessor. The steps run in Kong's order: uri,
// method, headers, body, query string.
func (p *Plugin) Access(k hostabi.Kong) error {
	if p.conf.Replace.URI != "" {
		if !strings.HasPrefix(p.conf.Replace.URI, "/") {
			// kong.service.request.set_path raises "path must start with /".
			return fmt.Errorf("request-transformer: replace.uri %q: path must start with /", p.conf.Replace.URI)
		}
		k.ServiceRequest().SetPath(p.conf.Replace.URI)
	}
	var q *args
	if p.method != "" {
		if !acceptedMethods[p.method] {
			return fmt.Errorf("request-transformer: invalid method: %s", p.method)
		}
		k.ServiceRequest().SetMethod(p.method)
		if p.conf.HTTPMethod == "GET" || p.conf.HTTPMethod == "HEAD" || p.conf.HTTPMethod == "TRACE" {
			q = p.bodyToQuery(k)
		}
	}
	contentType, ctTouched := "", false
	if p.hasHeaders {
		contentType, ctTouched = p.transformHeaders(k)
	}
	if p.hasBody {
		if !ctTouched {
			contentType = k.Request().Header("Content-Type")
		}
		p.transformBody(k, contentType)
	}
	if p.hasQuery {
		if q == nil {
			q = parseArgs(k.Request().RawQuery())
		}
		p.transformQuery(k, q)
	}
	return nil
}

// bodyToQuery copies a form body's arguments into the query string when
// the method becomes GET, HEAD or TRACE. It returns the new query, or nil
// when it did not change it.
func (p *Plugin) bodyToQuery(k hostabi.Kong) *args {
	req := k.Request()
	if contentKind(req.Header("Content-Type")) != kindForm {
		return nil
	}
	raw, err := req.RawBody()
	if err != nil || len(raw) == 0 {
		return nil
	}
	form := parseArgs(string(raw))
	if len(form.keys) == 0 {
		return nil
	}
	q := parseArgs(req.RawQuery())
	for _, key := range form.keys {
		fv := form.vals[key]
		if cur, ok := q.vals[key]; ok {
			cur.values = append(cur.values, fv.values...)
			cur.flag = cur.flag && len(cur.values) == 0
		} else {
			q.set(key, fv)
		}
	}
	k.ServiceRequest().SetRawQuery(q.encodeSorted())
	return q
}

// ---- headers ----

// headerEntry is one header as the rules see it: the client's values,
// overlaid with the rules' changes.
type headerEntry struct {
	name    string
	values  []string
	present bool
	// clear: the header is removed upstream before being set again (Kong's
	// headers_to_remove); set: the values are sent upstream.
	clear, set bool
}

// indexHeaders gives every header name the rules mention a slot; slot 0
// is Host.
func (p *Plugin) indexHeaders() {
	p.headerNames = []string{"host"}
	slot := func(lname string) int {
		for i, n := range p.headerNames {
			if n == lname {
				return i
			}
		}
		p.headerNames = append(p.headerNames, lname)
		return len(p.headerNames) - 1
	}
	for _, r := range []*rules{&p.remove, &p.rename, &p.replace, &p.add, &p.append} {
		for i := range r.headers {
			h := &r.headers[i]
			h.slot = slot(h.lname)
			h.slot2 = slot(h.lvalue)
		}
	}
}

// transformHeaders applies the header rules. It returns the Content-Type
// the rules left, when they touched it, for the body step (Kong reads the
// request's current headers there).
func (p *Plugin) transformHeaders(k hostabi.Kong) (contentType string, touched bool) {
	orig := k.Request().Headers()
	var buf [8]headerEntry
	var h []headerEntry
	if len(p.headerNames) <= len(buf) {
		h = buf[:len(p.headerNames)]
	} else {
		h = make([]headerEntry, len(p.headerNames))
	}
	for i, n := range p.headerNames {
		if i == 0 {
			// Kong drops Host from the table: rules see it as absent.
			h[i] = headerEntry{name: n}
			continue
		}
		vs, ok := orig[n]
		h[i] = headerEntry{name: n, values: vs, present: ok}
	}

	for _, r := range p.remove.headers {
		if e := &h[r.slot]; e.present {
			e.values, e.present, e.set, e.clear = nil, false, false, true
		}
	}
	for _, r := range p.rename.headers {
		e := &h[r.slot]
		if !r.hasValue || r.name == r.value || !e.present {
			continue
		}
		if r.slot == r.slot2 {
			// Only the case changes: same header, new spelling.
			e.name, e.set, e.clear = r.value, true, true
			continue
		}
		vs := e.values
		e.values, e.present, e.set, e.clear = nil, false, false, true
		t := &h[r.slot2]
		t.name, t.values, t.present, t.set = r.lvalue, vs, true, true
	}
	for _, r := range p.replace.headers {
		e := &h[r.slot]
		if !e.present && r.slot != 0 {
			continue
		}
		if r.hasValue {
			e.name, e.values, e.present, e.set = r.lname, r.values, true, true
		} else {
			// Kong assigns nil without clear_header: the header just stops
			// being one this plugin sends.
			e.values, e.present, e.set = nil, false, false
		}
	}
	for _, r := range p.add.headers {
		if e := &h[r.slot]; !e.present && r.slot != 0 && r.hasValue {
			e.name, e.values, e.present, e.set = r.name, r.values, true, true
		}
	}
	for _, r := range p.append.headers {
		if !r.hasValue {
			continue
		}
		// Host is not guarded here, as in Kong: appending to the (dropped)
		// Host header sets it.
		e := &h[r.slot]
		nv := make([]string, 0, len(e.values)+1)
		nv = append(append(nv, e.values...), r.value)
		e.name, e.values, e.present, e.set = r.name, nv, true, true
	}

	sr := k.ServiceRequest()
	for i := range h {
		e := &h[i]
		if p.headerNames[i] == "content-type" && (e.clear || e.set) {
			touched = true
			if e.present && len(e.values) > 0 {
				contentType = e.values[0]
			}
		}
		if e.clear {
			sr.ClearHeader(e.name)
		}
		if e.set && e.present {
			for j, v := range e.values {
				if j == 0 {
					sr.SetHeader(e.name, v)
				} else {
					sr.AddHeader(e.name, v)
				}
			}
		}
	}
	return contentType, touched
}

// ---- query string and form arguments ----

// args is an ordered argument table, as nginx decodes query strings and
// form bodies: a value list per key, or a flag for "key" without "=".
type args struct {
	keys []string
	vals map[string]*argValue
}

type argValue struct {
	values []string
	flag   bool // given without "=" (Lua true)
}

func parseArgs(raw string) *args {
	a := &args{vals: map[string]*argValue{}}
	for _, arg := range ngxargs.Parse(raw) {
		cur, ok := a.vals[arg.Key]
		if !ok {
			cur = &argValue{}
			a.vals[arg.Key] = cur
			a.keys = append(a.keys, arg.Key)
		}
		if !arg.Flag {
			cur.values = append(cur.values, arg.Value)
			cur.flag = false
		} else if len(cur.values) == 0 {
			cur.flag = true
		}
	}
	return a
}

func (a *args) has(key string) bool {
	_, ok := a.vals[key]
	return ok
}

func (a *args) set(key string, v *argValue) {
	if _, ok := a.vals[key]; !ok {
		a.keys = append(a.keys, key)
	}
	a.vals[key] = v
}

func (a *args) del(key string) {
	if _, ok := a.vals[key]; !ok {
		return
	}
	delete(a.vals, key)
	for i, k := range a.keys {
		if k == key {
			a.keys = append(a.keys[:i], a.keys[i+1:]...)
			break
		}
	}
}

// rename moves old to new (Kong's rename helper): nothing when the names
// are equal or old is absent.
func (a *args) rename(old, new string) bool {
	if old == new {
		return false
	}
	v, ok := a.vals[old]
	if !ok {
		return false
	}
	a.del(old)
	a.set(new, v)
	return true
}

// appendValue is Kong's append_value: a string becomes a list, a list
// grows, anything else (a flag) is replaced by a one-element list.
func (a *args) appendValue(key, value string) {
	cur, ok := a.vals[key]
	if !ok || cur.flag {
		a.set(key, &argValue{values: []string{value}})
		return
	}
	cur.values = append(cur.values, value)
}

// encodeSorted encodes the arguments as kong.service.request.set_query
// does: keys sorted, values URL-encoded, flags as bare keys.
func (a *args) encodeSorted() string {
	keys := append([]string(nil), a.keys...)
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := a.vals[k]
		if v.flag || len(v.values) == 0 {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(ngxargs.Escape(k))
			continue
		}
		for _, s := range v.values {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(ngxargs.Escape(k))
			b.WriteByte('=')
			b.WriteString(ngxargs.Escape(s))
		}
	}
	return b.String()
}

func (p *Plugin) transformQuery(k hostabi.Kong, q *args) {
	for _, r := range p.remove.query {
		q.del(r.name)
	}
	for _, r := range p.rename.query {
		q.rename(r.name, r.value)
	}
	for _, r := range p.replace.query {
		if q.has(r.name) {
			q.set(r.name, &argValue{values: r.values})
		}
	}
	for _, r := range p.add.query {
		if !q.has(r.name) {
			q.set(r.name, &argValue{values: r.values})
		}
	}
	for _, r := range p.append.query {
		q.appendValue(r.name, r.value)
	}
	k.ServiceRequest().SetRawQuery(q.encodeSorted())
}

// ---- body ----

type bodyKind int

const (
	kindOther bodyKind = iota
	kindJSON
	kindForm
	kindMultipart
)

// contentKind classifies a Content-Type as Kong does (substring match).
func contentKind(ct string) bodyKind {
	if ct == "" {
		return kindOther
	}
	ct = strings.ToLower(ct)
	switch {
	case strings.Contains(ct, "application/json"):
		return kindJSON
	case strings.Contains(ct, "multipart/form-data"):
		return kindMultipart
	case strings.Contains(ct, "application/x-www-form-urlencoded"):
		return kindForm
	}
	return kindOther
}

func (p *Plugin) transformBody(k hostabi.Kong, contentType string) {
	req := k.Request()
	kind := contentKind(contentType)
	if kind != kindJSON && kind != kindForm {
		// Multipart bodies are not transformed by Gatehouse (yet).
		return
	}
	raw, err := req.RawBody()
	if err != nil {
		k.Log().Warn("request-transformer: cannot read request body", "error", err)
	}
	var out []byte
	var changed bool
	if kind == kindJSON {
		out, changed = p.transformJSON(raw)
	} else {
		out, changed = p.transformForm(raw)
	}
	if changed {
		k.ServiceRequest().SetRawBody(out)
		k.ServiceRequest().SetHeader("Content-Length", strconv.Itoa(len(out)))
	}
}

func (p *Plugin) transformJSON(raw []byte) ([]byte, bool) {
	params := map[string]any{}
	hasContent := len(raw) > 0
	if hasContent {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false // not an object: left alone
		}
		params = m
	}
	changed := false
	if hasContent && len(p.remove.body) > 0 {
		for _, r := range p.remove.body {
			delete(params, r.name)
		}
		changed = true
	}
	if hasContent {
		for _, r := range p.rename.body {
			if r.name != r.value && pluginkit.LuaTruthy(params, r.name) {
				params[r.value] = params[r.name]
				delete(params, r.name)
				changed = true
			}
		}
		for _, r := range p.replace.body {
			if pluginkit.LuaTruthy(params, r.name) {
				params[r.name] = r.value
				changed = true
			}
		}
	}
	for _, r := range p.add.body {
		if !pluginkit.LuaTruthy(params, r.name) {
			params[r.name] = r.value
			changed = true
		}
	}
	for _, r := range p.append.body {
		switch cur := params[r.name].(type) {
		case string:
			params[r.name] = []any{cur, r.value}
		case []any:
			params[r.name] = append(cur, r.value)
		default:
			params[r.name] = []any{r.value}
		}
		changed = true
	}
	if !changed {
		return nil, false
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(params); err != nil {
		return nil, false
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), true
}

func (p *Plugin) transformForm(raw []byte) ([]byte, bool) {
	params := parseArgs(string(raw))
	hasContent := len(raw) > 0
	changed := false
	if hasContent && len(p.remove.body) > 0 {
		for _, r := range p.remove.body {
			params.del(r.name)
		}
		changed = true
	}
	if hasContent {
		for _, r := range p.rename.body {
			if params.rename(r.name, r.value) {
				changed = true
			}
		}
		for _, r := range p.replace.body {
			if params.has(r.name) {
				params.set(r.name, &argValue{values: r.values})
				changed = true
			}
		}
	}
	for _, r := range p.add.body {
		if !params.has(r.name) {
			params.set(r.name, &argValue{values: r.values})
			changed = true
		}
	}
	for _, r := range p.append.body {
		params.appendValue(r.name, r.value)
		changed = true
	}
	if !changed {
		return nil, false
	}
	return []byte(params.encodeSorted()), true
}

var _ hostabi.Accessor = (*Plugin)(nil)
