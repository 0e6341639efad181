// Package proxycache is Gatehouse's native proxy-cache plugin, compatible
// with Kong 3.9's: it caches upstream responses in memory (ristretto,
// bounded in bytes) by a key of route, consumer, method, path, query and
// chosen headers, serves them again while fresh, honours Cache-Control
// when asked to, and marks responses with X-Cache-Status and X-Cache-Key.
// See README.md.
package proxycache

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/plugins/pluginkit"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "proxy-cache"
	Priority = 100
	Version  = plugin.BundledVersion
)

var definition = plugin.Typed(&plugin.Definition{
	Name:      Name,
	Version:   Version,
	Priority:  Priority,
	Phases:    []hostabi.Phase{hostabi.PhaseAccess, hostabi.PhaseHeaderFilter, hostabi.PhaseBodyFilter},
	Schema:    Schema(),
	Endpoints: endpoints,
}, func(c Config) (any, error) { return NewPlugin(c), nil })

func init() { plugin.Register(definition) }

// Config is the plugin's validated configuration.
type Config struct {
	ResponseCode    []int64           `config:"response_code"`
	RequestMethod   []string          `config:"request_method"`
	ContentType     []string          `config:"content_type"`
	CacheTTL        int64             `config:"cache_ttl"`
	Strategy        string            `config:"strategy"`
	CacheControl    bool              `config:"cache_control"`
	IgnoreURICase   bool              `config:"ignore_uri_case"`
	StorageTTL      *int64            `config:"storage_ttl"`
	Memory          MemoryRecord      `config:"memory"`
	VaryQueryParams []string          `config:"vary_query_params"`
	VaryHeaders     []string          `config:"vary_headers"`
	ResponseHeaders DiagnosticHeaders `config:"response_headers"`
}

// MemoryRecord is the memory record.
type MemoryRecord struct {
	DictionaryName string `config:"dictionary_name"`
}

// DiagnosticHeaders is the response_headers record: which diagnostic
// headers go out (all of them when the request carries Kong-Debug).
type DiagnosticHeaders struct {
	Age         bool `config:"age"`
	CacheStatus bool `config:"X-Cache-Status"`
	CacheKey    bool `config:"X-Cache-Key"`
}

// ParseConfig decodes a configuration map; fields it leaves out take the
// schema's defaults.
func ParseConfig(m map[string]any) (Config, error) {
	return plugin.DecodeAs[Config](definition, m)
}

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// mediaType is a parsed content_type entry.
type mediaType struct {
	typ, sub string
	params   map[string]string
}

// Plugin is one configured proxy-cache instance; safe for concurrent use.
type Plugin struct {
	conf    Config
	methods map[string]bool
	codes   map[int]bool
	types   []mediaType
	now     func() time.Time
}

// NewPlugin creates an instance from a parsed configuration.
func NewPlugin(c Config) *Plugin {
	p := &Plugin{conf: c, methods: map[string]bool{}, codes: map[int]bool{}, now: time.Now}
	for _, m := range c.RequestMethod {
		p.methods[m] = true
	}
	for _, code := range c.ResponseCode {
		p.codes[int(code)] = true
	}
	for _, ct := range c.ContentType {
		if t, s, params, ok := pluginkit.ParseMediaType(ct); ok {
			p.types = append(p.types, mediaType{t, s, params})
		}
	}
	return p
}

// The diagnostic headers.
const (
	hdrStatus = "X-Cache-Status"
	hdrKey    = "X-Cache-Key"
	hdrAge    = "Age"
)

func (p *Plugin) shows(k hostabi.Kong, header string) bool {
	if k.Request().HeaderValues("Kong-Debug") != nil {
		return true
	}
	switch header {
	case hdrStatus:
		return p.conf.ResponseHeaders.CacheStatus
	case hdrKey:
		return p.conf.ResponseHeaders.CacheKey
	}
	return p.conf.ResponseHeaders.Age
}

func (p *Plugin) setHeader(k hostabi.Kong, name, value string) {
	if p.shows(k, name) {
		k.Response().SetHeader(name, value)
	}
}

// pending is what access leaves for the response phases of a request
// whose response should be stored.
type pending struct {
	key     string
	reqBody string
	headers map[string][]string
	ttl     int64
}

const pendingKey = "proxy_cache"

// Access implements hostabi.Accessor: it serves a fresh cached response,
// or marks the request for storing (Miss, Refresh), or lets it through
// untouched (Bypass).
func (p *Plugin) Access(k hostabi.Kong) error {
	req := k.Request()
	cc := parseDirectives(req.HeaderValues("Cache-Control"))
	if !p.cacheableRequest(req, cc) {
		p.setHeader(k, hdrStatus, "Bypass")
		return nil
	}
	key := p.key(k)
	p.setHeader(k, hdrKey, key)
	e := memory.Fetch(p.conf.Memory.DictionaryName, key)
	if e == nil {
		if p.conf.CacheControl && has(cc, "only-if-cached") {
			k.Response().Exit(504, nil, nil)
			return nil
		}
		body, _ := req.RawBody()
		return p.signal(k, key, string(body), "Miss")
	}
	if e.Version != cacheVersion {
		memory.Purge(p.conf.Memory.DictionaryName, key)
		return p.signal(k, key, "", "Bypass")
	}
	now := p.now().Unix()
	age := float64(now - e.Timestamp)
	if p.conf.CacheControl {
		if v, ok := number(cc, "max-age"); ok && age > v {
			return p.signal(k, key, "", "Refresh")
		}
		if v, ok := number(cc, "max-stale"); ok && age-float64(e.TTL) > v {
			return p.signal(k, key, "", "Refresh")
		}
		if v, ok := number(cc, "min-fresh"); ok && float64(e.TTL)-age < v {
			return p.signal(k, key, "", "Refresh")
		}
	} else if now-e.Timestamp > p.conf.CacheTTL {
		return p.signal(k, key, "", "Refresh")
	}
	// A hit: the stored response with its headers, less the hop-by-hop
	// ones and the diagnostic ones of the request that stored it.
	k.Ctx().Shared().Set("proxy_cache_hit", map[string]any{"res": e, "req": map[string]any{"body": e.ReqBody}})
	res := k.Response()
	for name, values := range e.Headers {
		if !replayable(name) {
			continue
		}
		for i, v := range values {
			if i == 0 {
				res.SetHeader(name, v)
			} else {
				res.AddHeader(name, v)
			}
		}
	}
	for _, h := range []string{hdrAge, hdrStatus, hdrKey} {
		res.ClearHeader(h)
	}
	p.setHeader(k, hdrAge, strconv.FormatInt(now-e.Timestamp, 10))
	p.setHeader(k, hdrStatus, "Hit")
	p.setHeader(k, hdrKey, key)
	res.Exit(e.Status, []byte(e.Body), nil)
	return nil
}

func (p *Plugin) signal(k hostabi.Kong, key, reqBody, status string) error {
	k.Ctx().Plugin().Set(pendingKey, &pending{key: key, reqBody: reqBody})
	p.setHeader(k, hdrStatus, status)
	return nil
}

// cacheableRequest is Kong's cacheable_request.
func (p *Plugin) cacheableRequest(req hostabi.Request, cc map[string]directive) bool {
	if !p.methods[req.Method()] {
		return false
	}
	if p.conf.CacheControl && (has(cc, "no-store") || has(cc, "no-cache") || req.HeaderValues("Authorization") != nil) {
		return false
	}
	return true
}

var queryRe = regexp.MustCompile(`\?.*`)

// key is Kong's build_cache_key for the request: the uri is nginx's
// request line with everything from the first "?" removed.
func (p *Plugin) key(k hostabi.Kong) string {
	req := k.Request()
	var consumerID, routeID string
	if c := k.Client().Consumer(); c != nil {
		consumerID, _ = c["id"].(string)
	}
	if r := k.Router().Route(); r != nil {
		routeID, _ = r["id"].(string)
	}
	line, _ := req.Var("request")
	uri := queryRe.ReplaceAllString(line, "")
	if p.conf.IgnoreURICase {
		uri = strings.ToLower(uri)
	}
	return BuildKey(consumerID, routeID, req.Method(), uri,
		paramsKey(queryArgs(req.RawQuery()), p.conf.VaryQueryParams),
		headersKey(req.HeaderValues, p.conf.VaryHeaders))
}

// hopByHop are the headers a cached response never replays (Kong's list,
// Content-Length included: the body's length is sent anew).
var hopByHop = map[string]bool{"connection": true, "keep-alive": true, "proxy-authenticate": true,
	"proxy-authorization": true, "te": true, "trailers": true, "transfer-encoding": true,
	"upgrade": true, "content-length": true}

// replayable is Kong's overwritable_header.
func replayable(name string) bool {
	n := strings.ToLower(name)
	return !hopByHop[n] && !strings.Contains(n, "ratelimit-remaining")
}

// HeaderFilter implements hostabi.HeaderFilterer: a response to a request
// marked for storing is checked (status, content type, Cache-Control);
// its headers and TTL are kept for the body filter, or the request turns
// into a Bypass.
func (p *Plugin) HeaderFilter(k hostabi.Kong) error {
	v, _ := k.Ctx().Plugin().Get(pendingKey)
	pend, _ := v.(*pending)
	if pend == nil {
		return nil
	}
	res := k.Response()
	cc := parseDirectives(res.Headers()["cache-control"])
	if !p.cacheableResponse(k, cc) {
		p.setHeader(k, hdrStatus, "Bypass")
		k.Ctx().Plugin().Delete(pendingKey)
		return nil
	}
	pend.headers = res.Headers()
	pend.ttl = p.conf.CacheTTL
	if p.conf.CacheControl {
		pend.ttl = int64(resourceTTL(cc, pend.headers["expires"], p.now()))
	}
	return nil
}

// cacheableResponse is Kong's cacheable_response.
func (p *Plugin) cacheableResponse(k hostabi.Kong, cc map[string]directive) bool {
	res := k.Response()
	if !p.codes[res.Status()] {
		return false
	}
	cts := res.Headers()["content-type"]
	if len(cts) != 1 || cts[0] == "" {
		return false
	}
	t, s, params, ok := pluginkit.ParseMediaType(cts[0])
	if !ok {
		return false
	}
	match := false
	for _, want := range p.types {
		if (want.typ == "*" || want.typ == t) && (want.sub == "*" || want.sub == s) && sameParams(want.params, params) {
			match = true
			break
		}
	}
	if !match {
		return false
	}
	if p.conf.CacheControl {
		if has(cc, "private") || has(cc, "no-store") || has(cc, "no-cache") {
			return false
		}
		if resourceTTL(cc, res.Headers()["expires"], p.now()) <= 0 {
			return false
		}
	}
	return true
}

func sameParams(want, got map[string]string) bool {
	if len(want) != len(got) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// WantsBody implements hostabi.BodyWanter: only a response the header
// filter found cacheable is read whole; any other streams on.
func (p *Plugin) WantsBody(k hostabi.Kong) bool {
	v, _ := k.Ctx().Plugin().Get(pendingKey)
	pend, _ := v.(*pending)
	return pend != nil && pend.headers != nil
}

// BodyFilter implements hostabi.BodyFilterer: the whole body of a
// cacheable response is stored, for storage_ttl, else (with
// cache_control) the resource's TTL, else cache_ttl seconds.
func (p *Plugin) BodyFilter(k hostabi.Kong, chunk []byte, eof bool) ([]byte, error) {
	v, _ := k.Ctx().Plugin().Get(pendingKey)
	pend, _ := v.(*pending)
	if pend == nil || pend.headers == nil {
		return chunk, nil
	}
	body, complete := pluginkit.GatherBody(k, chunk, eof)
	if !complete {
		return nil, nil
	}
	k.Ctx().Plugin().Delete(pendingKey)
	e := &Entry{Status: k.Response().Status(), Headers: pend.headers, Body: string(body), BodyLen: len(body),
		Timestamp: p.now().Unix(), TTL: pend.ttl, Version: cacheVersion, ReqBody: pend.reqBody}
	ttl := p.conf.CacheTTL
	switch {
	case p.conf.StorageTTL != nil:
		ttl = *p.conf.StorageTTL
	case p.conf.CacheControl:
		ttl = pend.ttl
	}
	if !memory.Store(p.conf.Memory.DictionaryName, pend.key, e, time.Duration(ttl)*time.Second) {
		k.Log().Warn("proxy-cache: the memory strategy did not keep the response", "key", pend.key)
	}
	return body, nil
}
