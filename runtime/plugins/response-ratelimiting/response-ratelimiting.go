// Package responseratelimiting is Gatehouse's native response-ratelimiting
// plugin, compatible with Kong 3.9's: the upstream tells how much of each
// named limit a request used, in a response header ("x-kong-limit:
// videos=2, images=1"); the plugin counts those increments per identifier
// (consumer, credential or IP) in fixed UTC windows, reports what is left
// in X-RateLimit-Remaining-<name> (access) and
// X-RateLimit-Limit/Remaining-<name>-<period> (response headers), and
// refuses requests with 429 once a limit is used up. Counters live in the
// node's memory (policy local), in Redis (policy redis) or in the
// node's database (policy cluster), through
// runtime/plugins/ratecounter. See README.md.
package responseratelimiting

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/plugins/ratecounter"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "response-ratelimiting"
	Priority = 900
	Version  = plugin.BundledVersion
)

var definition = plugin.Typed(&plugin.Definition{
	Name:     Name,
	Version:  Version,
	Priority: Priority,
	Phases:   []hostabi.Phase{hostabi.PhaseAccess, hostabi.PhaseHeaderFilter, hostabi.PhaseLog},
	Schema:   Schema(),
}, func(c Config) (any, error) { return NewPlugin(c) })

func init() { plugin.Register(definition) }

// Limit is one named limit's allowance per period (0: none).
type Limit struct {
	Second float64 `config:"second"`
	Minute float64 `config:"minute"`
	Hour   float64 `config:"hour"`
	Day    float64 `config:"day"`
	Month  float64 `config:"month"`
	Year   float64 `config:"year"`
}

func (l Limit) values() [6]float64 {
	return [6]float64{l.Second, l.Minute, l.Hour, l.Day, l.Month, l.Year}
}

// Config is the plugin's configuration, decoded by plugin.Decode with the
// schema's defaults.
type Config struct {
	// Scope is the plugin entity's route and service, which Kong's
	// counter keys name.
	Scope                 plugin.Scope
	HeaderName            string                  `config:"header_name"`
	LimitBy               string                  `config:"limit_by"`
	Policy                string                  `config:"policy"`
	FaultTolerant         bool                    `config:"fault_tolerant"`
	Redis                 ratecounter.RedisConfig `config:"redis"`
	BlockOnFirstViolation bool                    `config:"block_on_first_violation"`
	HideClientHeaders     bool                    `config:"hide_client_headers"`
	Limits                map[string]Limit        `config:"limits"`
}

// window is one configured (limit name, period) pair.
type window struct {
	name      string
	period    int
	limit     float64
	limitText string
	// Header names, precomputed.
	limitHeader, remainingHeader string
}

// Plugin is one configured instance. Safe for concurrent use.
type Plugin struct {
	conf    Config
	names   []string // limit names, sorted
	windows map[string][]window
	store   ratecounter.Store
	now     func() time.Time
	// scope is the "<route id>:<service id>" of the counters' keys.
	scope string
}

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// NewPlugin creates an instance from a decoded configuration.
func NewPlugin(c Config) (*Plugin, error) {
	p := &Plugin{conf: c, windows: map[string][]window{}, now: time.Now, scope: ratecounter.KongScope(c.Scope)}
	for name, l := range c.Limits {
		for per, v := range l.values() {
			if v == 0 {
				continue
			}
			if !(v > 0) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%s: limits.%s.%s: value must be greater than 0", Name, name, ratecounter.Periods[per])
			}
			t := formatNumber(v)
			p.windows[name] = append(p.windows[name], window{
				name: name, period: per, limit: v, limitText: t,
				limitHeader:     "X-RateLimit-Limit-" + name + "-" + ratecounter.Periods[per],
				remainingHeader: "X-RateLimit-Remaining-" + name + "-" + ratecounter.Periods[per],
			})
		}
		p.names = append(p.names, name)
	}
	slices.Sort(p.names)
	switch c.Policy {
	case "local", "":
		p.store = ratecounter.NewLocal(func() time.Time { return p.now() })
	case "redis":
		r, err := ratecounter.NewRedis(c.Redis)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", Name, err)
		}
		p.store = r
	case "cluster":
		p.store = ratecounter.NewCluster(func() time.Time { return p.now() })
	default:
		return nil, fmt.Errorf("%s: unknown policy '%s'", Name, c.Policy)
	}
	return p, nil
}

// SetClock makes the instance read time from now; for tests. Call it
// before the instance serves requests.
func (p *Plugin) SetClock(now func() time.Time) { p.now = now }

// Close implements hostabi.Closer.
func (p *Plugin) Close() error { return p.store.Close() }

// usage is what access saw, kept for header_filter and log.
type usage struct {
	id    string
	now   int64
	keys  map[string][]string // by limit name, one key per window
	left  map[string][]float64
	stop  bool
	incrs map[string]float64
}

const ctxKey = "usage"

// identifier is Kong's get_identifier.
func (p *Plugin) identifier(k hostabi.Kong) string {
	var id string
	switch p.conf.LimitBy {
	case "consumer":
		if id = stringOf(k.Client().Consumer(), "id"); id == "" {
			id = stringOf(k.Client().Credential(), "id")
		}
	case "credential":
		id = stringOf(k.Client().Credential(), "id")
	}
	if id == "" {
		id = k.Client().ForwardedIP()
	}
	return id
}

func stringOf(e hostabi.Entity, f string) string {
	s, _ := e[f].(string)
	return s
}

// key names a window's counter: "response-ratelimit:<plugin id>:
// <identifier>:<window start in ms>:<limit name>:<period>".
func key(scope, id string, start int64, name string, per int) string {
	return "response-ratelimit:" + scope + ":" + id + ":" + strconv.FormatInt(start*1000, 10) + ":" + name + ":" + ratecounter.Periods[per]
}

// Access implements hostabi.Accessor: it reads the usage of every limit,
// sets X-RateLimit-Remaining-<name> and, with block_on_first_violation,
// refuses the request when a limit is used up.
func (p *Plugin) Access(k hostabi.Kong) error {
	if len(p.names) == 0 {
		return nil
	}
	u := &usage{id: p.identifier(k), now: p.now().Unix(), keys: map[string][]string{}, left: map[string][]float64{}}
	starts := ratecounter.WindowStarts(u.now)
	scope := p.scope
	var all []string
	for _, name := range p.names {
		for _, w := range p.windows[name] {
			kk := key(scope, u.id, starts[w.period], name, w.period)
			u.keys[name] = append(u.keys[name], kk)
			all = append(all, kk)
		}
	}
	var counts []int64
	err := p.bind(k)
	if err == nil {
		counts, err = p.store.Get(k.Context(), all)
	}
	if err != nil {
		if !p.conf.FaultTolerant {
			return fmt.Errorf("%s: failed to get usage: %w", Name, err)
		}
		k.Log().Err("failed to get usage", "error", err)
		return nil
	}
	i := 0
	for _, name := range p.names {
		remaining := math.Inf(1)
		for _, w := range p.windows[name] {
			left := w.limit - float64(counts[i])
			i++
			u.left[name] = append(u.left[name], left)
			// Kong blocks when a window's remaining is exactly 0; a
			// window overdrawn by a large increment is blocked too.
			if p.conf.BlockOnFirstViolation && left <= 0 {
				k.Response().Error(429, "API rate limit exceeded for '"+name+"'", nil)
				return nil
			}
			remaining = math.Min(remaining, left)
		}
		k.Response().SetHeader("X-RateLimit-Remaining-"+name, formatNumber(remaining))
	}
	k.Ctx().Plugin().Set(ctxKey, u)
	return nil
}

// parseIncrements reads the upstream's header: comma-separated
// "name=number" pairs (or several header lines), for configured names
// only; anything else is ignored, as in Kong.
func (p *Plugin) parseIncrements(values []string) map[string]float64 {
	incrs := map[string]float64{}
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			kv := strings.Split(part, "=")
			if len(kv) != 2 {
				continue
			}
			name := strings.TrimSpace(kv[0])
			if _, ok := p.windows[name]; !ok {
				continue
			}
			n, err := strconv.ParseFloat(strings.TrimSpace(kv[1]), 64)
			if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
				delete(incrs, name) // Lua's tonumber gives nil
				continue
			}
			incrs[name] = n
		}
	}
	return incrs
}

// HeaderFilter implements hostabi.HeaderFilterer: it reads the increments
// from the upstream's header, sends the limit headers, removes the
// upstream's header and answers 429 (no body) when a used-up limit was
// incremented.
func (p *Plugin) HeaderFilter(k hostabi.Kong) error {
	v, ok := k.Ctx().Plugin().Get(ctxKey)
	var values []string
	for n, vs := range k.ServiceResponse().Headers() {
		if strings.EqualFold(n, p.conf.HeaderName) {
			values = append(values, vs...)
		}
	}
	incrs := p.parseIncrements(values)
	if !ok {
		return nil
	}
	u := v.(*usage)
	u.incrs = incrs
	resp := k.Response()
	stop := false
	for _, name := range p.names {
		for i, w := range p.windows[name] {
			left := u.left[name][i]
			if !p.conf.HideClientHeaders {
				resp.SetHeader(w.limitHeader, w.limitText)
				resp.SetHeader(w.remainingHeader, formatNumber(math.Max(0, left-incrs[name])))
			}
			if incrs[name] > 0 && left <= 0 {
				stop = true
			}
		}
	}
	resp.ClearHeader(p.conf.HeaderName)
	if stop {
		u.stop = true
		resp.Exit(429, nil, nil)
	}
	return nil
}

// Log implements hostabi.LogPhaser: it adds the request's increments to
// the counters (not for a request refused in header_filter).
func (p *Plugin) Log(k hostabi.Kong) error {
	v, ok := k.Ctx().Plugin().Get(ctxKey)
	if !ok {
		return nil
	}
	u := v.(*usage)
	if u.stop {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, name := range p.names {
		n := u.incrs[name]
		if n == 0 {
			continue
		}
		exp := make([]int64, len(p.windows[name]))
		for i, w := range p.windows[name] {
			exp[i] = ratecounter.Expirations[w.period]
		}
		// Counters are integers: fractional increments are truncated.
		if err := p.store.Add(ctx, u.keys[name], int64(n), exp); err != nil {
			k.Log().Err("could not increment counters", "limit", name, "error", err)
		}
	}
	return nil
}

// bind gives the cluster policy's store the node's database.
func (p *Plugin) bind(k hostabi.Kong) error {
	if c, ok := p.store.(*ratecounter.Cluster); ok {
		return c.Bind(k)
	}
	return nil
}

// formatNumber renders a number as Lua's tostring does for these values.
func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', 14, 64)
}

var (
	_ hostabi.Accessor       = (*Plugin)(nil)
	_ hostabi.HeaderFilterer = (*Plugin)(nil)
	_ hostabi.LogPhaser      = (*Plugin)(nil)
	_ hostabi.Closer         = (*Plugin)(nil)
)
