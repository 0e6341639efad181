package policy

import (
	"context"
	"encoding/binary"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/open-policy-agent/opa/v1/ast"
)

// Facts are what a request offers a policy. The input document a policy
// sees is built from them (see README.md, "The input document"):
//
//	input.consumer       {"id", "username", "custom_id"} (absent without a consumer)
//	input.authenticated  true when a credential identified the request
//	input.groups         the groups the plugin resolved, in order
//	input.request        {"method", "path", "host", "scheme",
//	                      "headers": {lower-case name: values joined with ", "},
//	                      "query": {name: first value}}
//	input.client         {"ip"}
//	input.route          {"id", "name"};  input.service {"id", "name"}
//	input.config         the plugin instance's configuration (static)
type Facts struct {
	// Consumer is the authenticated consumer, or nil.
	Consumer hostabi.Entity
	// Authenticated is set when a credential identified the request.
	Authenticated bool
	// Groups are the groups the decision is about.
	Groups []string
	// Request is the client's request; nil leaves input.request empty.
	Request hostabi.Request
	// Client gives input.client.ip (its IP, as trusted_ips and
	// real_ip_header compute it: ForwardedIP); nil leaves it "".
	Client hostabi.Client
	// Router gives input.route and input.service; nil leaves them out.
	Router hostabi.Router
}

// clientIP, route and service read the lazily given facts.
func (f *Facts) clientIP() string {
	if f.Client == nil {
		return ""
	}
	return f.Client.ForwardedIP()
}

func (f *Facts) route() hostabi.Entity {
	if f.Router == nil {
		return nil
	}
	return f.Router.Route()
}

func (f *Facts) service() hostabi.Entity {
	if f.Router == nil {
		return nil
	}
	return f.Router.Service()
}

// fact is one scalar input fact a decision can be keyed by.
type fact uint8

const (
	factConsumerID fact = iota
	factConsumerUsername
	factConsumerCustomID
	factAuthenticated
	factGroups
	factMethod
	factPath
	factHost
	factScheme
	factClientIP
	factRouteID
	factRouteName
	factServiceID
	factServiceName
)

// leafFacts are the scalar facts by input path.
var leafFacts = []struct {
	path []string
	f    fact
}{
	{[]string{"consumer", "id"}, factConsumerID},
	{[]string{"consumer", "username"}, factConsumerUsername},
	{[]string{"consumer", "custom_id"}, factConsumerCustomID},
	{[]string{"authenticated"}, factAuthenticated},
	{[]string{"groups"}, factGroups},
	{[]string{"request", "method"}, factMethod},
	{[]string{"request", "path"}, factPath},
	{[]string{"request", "host"}, factHost},
	{[]string{"request", "scheme"}, factScheme},
	{[]string{"client", "ip"}, factClientIP},
	{[]string{"route", "id"}, factRouteID},
	{[]string{"route", "name"}, factRouteName},
	{[]string{"service", "id"}, factServiceID},
	{[]string{"service", "name"}, factServiceName},
}

// The map facts: their entries are keyed one by one.
var (
	headersPath = []string{"request", "headers"}
	queryPath   = []string{"request", "query"}
)

// keyPlan is how a policy's decisions are keyed: by the facts its rules
// read. Paths outside the facts (input.config, paths the input never
// has) are the same for every request of a decider and key nothing.
type keyPlan struct {
	// cacheable is false when the policy reads the whole input, a whole
	// header or query map, or calls a non-deterministic built-in.
	cacheable bool
	// why says what made it uncacheable.
	why     string
	leaves  []fact
	headers []string // lower-case names
	query   []string
	// needHeaders and needQuery: the input carries the maps.
	needHeaders, needQuery bool
	// set holds the leaves (1 << fact); all is set when the policy reads
	// the whole input.
	set uint32
	all bool
}

func hasPrefix(p, prefix []string) bool {
	if len(prefix) > len(p) {
		return false
	}
	for i := range prefix {
		if p[i] != prefix[i] {
			return false
		}
	}
	return true
}

// planFor derives the key plan of a policy's reads.
func planFor(r Reads) *keyPlan {
	kp := &keyPlan{cacheable: true}
	if r.Whole {
		kp.cacheable, kp.why = false, "reads the whole input"
		kp.needHeaders, kp.needQuery, kp.all = true, true, true
	}
	if r.Nondeterministic {
		kp.cacheable, kp.why = false, "calls a non-deterministic built-in"
	}
	leaves := map[fact]bool{}
	headers, query := map[string]bool{}, map[string]bool{}
	for _, p := range r.Paths {
		for _, lf := range leafFacts {
			if hasPrefix(lf.path, p) || hasPrefix(p, lf.path) {
				leaves[lf.f] = true
			}
		}
		for _, m := range []struct {
			path    []string
			entries map[string]bool
			need    *bool
			lower   bool
		}{{headersPath, headers, &kp.needHeaders, true}, {queryPath, query, &kp.needQuery, false}} {
			switch {
			case hasPrefix(m.path, p): // reads the whole map (or above it)
				*m.need = true
				kp.cacheable, kp.why = false, "reads input."+strings.Join(p, ".")+" as a whole"
			case hasPrefix(p, m.path):
				*m.need = true
				name := p[len(m.path)]
				if m.lower {
					name = strings.ToLower(name)
				}
				m.entries[name] = true
			}
		}
	}
	for f := range leaves {
		kp.leaves = append(kp.leaves, f)
		kp.set |= 1 << f
	}
	sort.Slice(kp.leaves, func(i, j int) bool { return kp.leaves[i] < kp.leaves[j] })
	for h := range headers {
		kp.headers = append(kp.headers, h)
	}
	sort.Strings(kp.headers)
	for q := range query {
		kp.query = append(kp.query, q)
	}
	sort.Strings(kp.query)
	return kp
}

// KeyFacts describes what the policy's decisions are keyed by
// ("consumer.id, groups, request.method, header x-team"), or why they are
// not cached.
func (p *Policy) KeyFacts() string {
	kp := p.plan
	if !kp.cacheable {
		return "not cached: " + kp.why
	}
	var parts []string
	for _, f := range kp.leaves {
		for _, lf := range leafFacts {
			if lf.f == f {
				parts = append(parts, strings.Join(lf.path, "."))
			}
		}
	}
	for _, h := range kp.headers {
		parts = append(parts, "header "+h)
	}
	for _, q := range kp.query {
		parts = append(parts, "query "+q)
	}
	if len(parts) == 0 {
		return "constant"
	}
	return strings.Join(parts, ", ")
}

// Cacheable reports whether the policy's decisions are cached.
func (p *Policy) Cacheable() bool { return p.plan.cacheable }

func str(e hostabi.Entity, k string) string {
	s, _ := e[k].(string)
	return s
}

// appendString appends s length-prefixed, so that keys are injective.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendKey appends the key of the facts the plan reads. An entity's
// fact is keyed with its presence, so that a missing consumer and one with
// an empty field never share a key.
func (kp *keyPlan) appendKey(b []byte, f *Facts) []byte {
	for _, lf := range kp.leaves {
		switch lf {
		case factConsumerID:
			b = appendField(b, f.Consumer, "id")
		case factConsumerUsername:
			b = appendField(b, f.Consumer, "username")
		case factConsumerCustomID:
			b = appendField(b, f.Consumer, "custom_id")
		case factAuthenticated:
			if f.Authenticated {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		case factGroups:
			b = binary.AppendUvarint(b, uint64(len(f.Groups)))
			for _, g := range f.Groups {
				b = appendString(b, g)
			}
		case factMethod, factPath, factHost, factScheme:
			if f.Request == nil {
				b = append(b, 0)
			} else {
				b = append(b, 1)
				b = appendString(b, requestFact(f.Request, lf))
			}
		case factClientIP:
			b = appendString(b, f.clientIP())
		case factRouteID:
			b = appendField(b, f.route(), "id")
		case factRouteName:
			b = appendField(b, f.route(), "name")
		case factServiceID:
			b = appendField(b, f.service(), "id")
		case factServiceName:
			b = appendField(b, f.service(), "name")
		}
	}
	for _, h := range kp.headers {
		var vs []string
		if f.Request != nil {
			vs = f.Request.HeaderValues(h)
		}
		// absent (0) differs from present and empty (1 + "").
		if vs == nil {
			b = append(b, 0)
		} else {
			b = append(b, 1)
			b = appendString(b, strings.Join(vs, ", "))
		}
	}
	for _, q := range kp.query {
		v, ok := "", false
		if f.Request != nil {
			v, ok = f.Request.QueryArg(q)
		}
		if !ok {
			b = append(b, 0)
		} else {
			b = append(b, 1)
			b = appendString(b, v)
		}
	}
	return b
}

// appendField appends an entity's field with the entity's presence.
func appendField(b []byte, e hostabi.Entity, k string) []byte {
	if e == nil {
		return append(b, 0)
	}
	return appendString(append(b, 1), str(e, k))
}

func requestFact(r hostabi.Request, f fact) string {
	if r == nil {
		return ""
	}
	switch f {
	case factMethod:
		return r.Method()
	case factPath:
		return r.Path()
	case factHost:
		return r.Host()
	case factScheme:
		return r.Scheme()
	}
	return ""
}

// has reports whether the input must carry fact x: the policy reads it
// (or reads the whole input).
func (kp *keyPlan) has(x fact) bool { return kp.all || kp.set&(1<<x) != 0 }

// input builds the input document as ast values. Facts the policy does
// not read are left out: it cannot tell.
func (kp *keyPlan) input(f *Facts, config ast.Value) ast.Value {
	s := ast.StringTerm
	obj := ast.NewObject()
	field := func(o ast.Object, x fact, name, v string) {
		if kp.has(x) {
			o.Insert(s(name), s(v))
		}
	}
	if f.Consumer != nil && (kp.has(factConsumerID) || kp.has(factConsumerUsername) || kp.has(factConsumerCustomID)) {
		c := ast.NewObject()
		field(c, factConsumerID, "id", str(f.Consumer, "id"))
		field(c, factConsumerUsername, "username", str(f.Consumer, "username"))
		field(c, factConsumerCustomID, "custom_id", str(f.Consumer, "custom_id"))
		obj.Insert(s("consumer"), ast.NewTerm(c))
	}
	if kp.has(factAuthenticated) {
		obj.Insert(s("authenticated"), ast.BooleanTerm(f.Authenticated))
	}
	if kp.has(factGroups) {
		groups := make([]*ast.Term, len(f.Groups))
		for i, g := range f.Groups {
			groups[i] = s(g)
		}
		obj.Insert(s("groups"), ast.ArrayTerm(groups...))
	}
	if r := f.Request; r != nil && (kp.needHeaders || kp.needQuery || kp.has(factMethod) || kp.has(factPath) ||
		kp.has(factHost) || kp.has(factScheme)) {
		req := ast.NewObject()
		for _, x := range []fact{factMethod, factPath, factHost, factScheme} {
			if kp.has(x) {
				req.Insert(s(requestFactName[x]), s(requestFact(r, x)))
			}
		}
		if kp.needHeaders {
			h := ast.NewObject()
			for name, vs := range r.Headers() {
				h.Insert(s(strings.ToLower(name)), s(strings.Join(vs, ", ")))
			}
			req.Insert(s("headers"), ast.NewTerm(h))
		}
		if kp.needQuery {
			q := ast.NewObject()
			for name, vs := range r.Query() {
				if len(vs) > 0 {
					q.Insert(s(name), s(vs[0]))
				}
			}
			req.Insert(s("query"), ast.NewTerm(q))
		}
		obj.Insert(s("request"), ast.NewTerm(req))
	}
	if kp.has(factClientIP) {
		obj.Insert(s("client"), ast.ObjectTerm(ast.Item(s("ip"), s(f.clientIP()))))
	}
	for _, e := range []struct {
		name   string
		ent    hostabi.Entity
		id, nm fact
	}{{"route", f.route(), factRouteID, factRouteName}, {"service", f.service(), factServiceID, factServiceName}} {
		if e.ent != nil && (kp.has(e.id) || kp.has(e.nm)) {
			o := ast.NewObject()
			field(o, e.id, "id", str(e.ent, "id"))
			field(o, e.nm, "name", str(e.ent, "name"))
			obj.Insert(s(e.name), ast.NewTerm(o))
		}
	}
	if config != nil {
		obj.Insert(s("config"), ast.NewTerm(config))
	}
	return obj
}

var requestFactName = map[fact]string{factMethod: "method", factPath: "path", factHost: "host", factScheme: "scheme"}

// MaxCachedDecisions bounds one decider's cache; a full cache starts over.
const MaxCachedDecisions = 8192

// Decider decides requests with one policy and one static configuration
// (a plugin instance's), caching decisions by the facts the policy reads.
// It is safe for concurrent use.
type Decider struct {
	policy *Policy
	config ast.Value

	mu    sync.RWMutex
	cache map[string]any

	evals atomic.Uint64
}

// NewDecider returns a decider of p for a plugin instance whose
// configuration is config (input.config; nil leaves it out).
func NewDecider(p *Policy, config ast.Value) *Decider {
	return &Decider{policy: p, config: config, cache: map[string]any{}}
}

// Policy returns the decider's policy.
func (d *Decider) Policy() *Policy { return d.policy }

// Evaluations counts the Rego evaluations the decider ran (cache misses
// and uncacheable decisions).
func (d *Decider) Evaluations() uint64 { return d.evals.Load() }

// Decide returns the policy's value for the request's facts: from the
// cache when the same facts were decided before, by evaluating the
// prepared query otherwise. Errors are not cached.
func (d *Decider) Decide(ctx context.Context, f *Facts) (any, error) {
	kp := d.policy.plan
	if !kp.cacheable {
		return d.eval(ctx, f)
	}
	var arr [128]byte
	key := kp.appendKey(arr[:0], f)
	d.mu.RLock()
	v, ok := d.cache[string(key)]
	d.mu.RUnlock()
	if ok {
		return v, nil
	}
	v, err := d.eval(ctx, f)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if len(d.cache) >= MaxCachedDecisions {
		d.cache = make(map[string]any, len(d.cache))
	}
	d.cache[string(key)] = v
	d.mu.Unlock()
	return v, nil
}

// Allow is Decide for an allow rule: only the value true allows.
func (d *Decider) Allow(ctx context.Context, f *Facts) (bool, error) {
	v, err := d.Decide(ctx, f)
	if err != nil {
		return false, err
	}
	b, _ := v.(bool)
	return b, nil
}

func (d *Decider) eval(ctx context.Context, f *Facts) (any, error) {
	d.evals.Add(1)
	return d.policy.Eval(ctx, d.policy.plan.input(f, d.config))
}
