// Package ratelimiting is Gatehouse's native rate-limiting plugin,
// compatible with Kong 3.9's, with the "local", "cluster" and "redis" policies:
// requests are counted per identifier (consumer, credential, IP, service,
// header or path) in fixed second, minute, hour, day, month and year
// windows aligned on UTC boundaries, and rejected once a window's limit is
// reached. Local counters live in the plugin instance's memory, exact under
// concurrency; redis counters are shared by every node using the server
// (see redis.go), cluster counters by every node using the database (see
// cluster.go). See README.md.
package ratelimiting

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/plugins/ratecounter"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "rate-limiting"
	Priority = 910
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
}, func(c Config) (any, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	return NewPlugin(c)
})

func init() { plugin.Register(definition) }

// Period is a rate-limiting window.
type Period int

// The windows, shortest first.
const (
	Second Period = iota
	Minute
	Hour
	Day
	Month
	Year
	numPeriods
)

var periodNames = [numPeriods]string{"second", "minute", "hour", "day", "month", "year"}

// String returns the configuration field name of the period.
func (p Period) String() string {
	if p >= 0 && p < numPeriods {
		return periodNames[p]
	}
	return "unknown"
}

// expirations are Kong's window lengths in seconds (policies.EXPIRATIONS),
// used for RateLimit-Reset: a month counts as 30 days, a year as 365.
var expirations = [numPeriods]int64{1, 60, 3600, 86400, 2592000, 31536000}

// Kong's response headers.
var (
	headerLimit = [numPeriods]string{
		"X-RateLimit-Limit-Second", "X-RateLimit-Limit-Minute", "X-RateLimit-Limit-Hour",
		"X-RateLimit-Limit-Day", "X-RateLimit-Limit-Month", "X-RateLimit-Limit-Year",
	}
	headerRemaining = [numPeriods]string{
		"X-RateLimit-Remaining-Second", "X-RateLimit-Remaining-Minute", "X-RateLimit-Remaining-Hour",
		"X-RateLimit-Remaining-Day", "X-RateLimit-Remaining-Month", "X-RateLimit-Remaining-Year",
	}
)

const (
	headerRateLimitLimit     = "RateLimit-Limit"
	headerRateLimitRemaining = "RateLimit-Remaining"
	headerRateLimitReset     = "RateLimit-Reset"
	headerRetryAfter         = "Retry-After"
)

// Config is the plugin's validated configuration, decoded from the
// schema's fields (defaults included) by plugin.Decode.
type Config struct {
	// Scope is the plugin entity's route and service, which Kong's
	// counter keys name.
	Scope plugin.Scope
	// Limits per period; 0 means no limit for that period.
	Second float64 `config:"second"`
	Minute float64 `config:"minute"`
	Hour   float64 `config:"hour"`
	Day    float64 `config:"day"`
	Month  float64 `config:"month"`
	Year   float64 `config:"year"`
	// LimitBy is consumer, credential, ip, service, header or path.
	LimitBy    string `config:"limit_by"`
	HeaderName string `config:"header_name"`
	Path       string `config:"path"`
	// Policy is local, cluster or redis.
	Policy            string `config:"policy"`
	FaultTolerant     bool   `config:"fault_tolerant"`
	HideClientHeaders bool   `config:"hide_client_headers"`
	// ErrorCode is the status of rejected requests; one outside 100-599
	// makes rejections fail with an error (a 500), as in Kong.
	ErrorCode    float64 `config:"error_code"`
	ErrorMessage string  `config:"error_message"`
	SyncRate     float64 `config:"sync_rate"`
	// Redis is the shared redis record, used by the redis policy.
	Redis RedisConfig `config:"redis"`
}

// Limits returns the limits by period; 0 means no limit for that period.
func (c *Config) Limits() [numPeriods]float64 {
	return [numPeriods]float64{c.Second, c.Minute, c.Hour, c.Day, c.Month, c.Year}
}

// ParseConfig decodes a configuration map; fields it leaves out take the
// schema's defaults. Values of the wrong type, and limits that are not
// positive numbers, are an error.
func ParseConfig(m map[string]any) (Config, error) {
	c, err := plugin.DecodeAs[Config](definition, m)
	if err != nil {
		return c, err
	}
	return c, c.check()
}

// check refuses limits that are not positive finite numbers, for
// configurations the store did not validate.
func (c *Config) check() error {
	var errs []error
	for p, v := range c.Limits() {
		if v != 0 && (!(v > 0) || math.IsInf(v, 0)) {
			errs = append(errs, fmt.Errorf("%s: %s: value must be greater than 0", Name, Period(p)))
		}
	}
	return errors.Join(errs...)
}

// Plugin is one configured rate-limiting instance. It holds the counters
// of its windows; Close frees them. Safe for concurrent use.
type Plugin struct {
	conf    Config
	periods []Period // configured periods, shortest first
	// limits are the configured limits by period (0: none).
	limits [numPeriods]float64
	// limitText is each limit as sent in headers.
	limitText [numPeriods]string
	now       func() time.Time
	// calendar is set when a month or year window is configured: only
	// then do window starts need calendar arithmetic.
	calendar bool
	// sweepEvery is how often a shard drops expired counters (seconds).
	sweepEvery int64
	// cursor picks the shard a request also sweeps, round-robin, so that
	// shards no request hashes to are swept too.
	cursor atomic.Uint32
	shards [numShards]shard
	// shared counts on a Redis server or the database (nil: local policy).
	shared *sharedPolicy
	// scope is the "<route id>:<service id>" of the shared counters' keys.
	scope string
}

const numShards = 64

// shard holds the counters of the identifiers hashing to it; its mutex
// makes a request's check and increment of every window atomic.
type shard struct {
	mu        sync.Mutex
	m         map[string]*counters
	nextSweep int64
	_         [40]byte // keep shards on separate cache lines
}

// counters are one identifier's windows: the window start (Unix seconds)
// and the requests counted in it. They are updated in place under their
// shard's mutex, so a steady request does one map lookup and no write.
type counters struct {
	start [numPeriods]int64
	count [numPeriods]int64
}

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// NewPlugin creates an instance from a parsed configuration.
func NewPlugin(c Config) (*Plugin, error) {
	switch c.Policy {
	case "local", "", "redis", "cluster":
	default:
		return nil, fmt.Errorf("rate-limiting: unknown policy '%s'", c.Policy)
	}
	p := &Plugin{conf: c, limits: c.Limits(), now: time.Now, sweepEvery: 3600, scope: ratecounter.KongScope(c.Scope)}
	for per := Second; per < numPeriods; per++ {
		if p.limits[per] > 0 {
			p.periods = append(p.periods, per)
			p.limitText[per] = formatNumber(p.limits[per])
		}
	}
	p.calendar = p.limits[Month] > 0 || p.limits[Year] > 0
	if len(p.periods) == 0 {
		return nil, errors.New("rate-limiting: at least one of second, minute, hour, day, month or year must be set")
	}
	if e := expirations[p.periods[0]]; e < p.sweepEvery {
		p.sweepEvery = e
	}
	switch c.Policy {
	case "redis":
		r, err := newRedisPolicy(p, c.Redis, c.SyncRate)
		if err != nil {
			return nil, err
		}
		p.shared = r
	case "cluster":
		p.shared = newClusterPolicy(p, c.SyncRate)
	}
	return p, nil
}

// SetClock makes the instance read time from now; for tests. Call it
// before the instance is in use.
func (p *Plugin) SetClock(now func() time.Time) { p.now = now }

// Close implements hostabi.Closer: it frees the counters; with the redis
// and cluster policies it sends the pending increments first, and closes
// the redis connections.
func (p *Plugin) Close() error {
	if p.shared != nil {
		if err := p.shared.close(); err != nil {
			return fmt.Errorf("rate-limiting: closing %s policy: %w", p.conf.Policy, err)
		}
	}
	for i := range p.shards {
		s := &p.shards[i]
		s.mu.Lock()
		s.m = nil
		s.mu.Unlock()
	}
	return nil
}

// Len returns the number of identifiers with live counters.
func (p *Plugin) Len() int {
	n := 0
	for i := range p.shards {
		s := &p.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// windowStarts returns the start of every window containing now, in UTC
// (kong.tools.timestamp.get_timestamps).
func windowStarts(now int64) [numPeriods]int64 { return windowStartsOf(now, true) }

// windowStartsOf is windowStarts; without calendar, the month and year
// starts (calendar arithmetic) are left 0, for instances without those
// windows.
func windowStartsOf(now int64, calendar bool) [numPeriods]int64 {
	starts := [numPeriods]int64{
		now,
		now - mod(now, 60),
		now - mod(now, 3600),
		now - mod(now, 86400),
	}
	if calendar {
		y, mo, _ := time.Unix(now, 0).UTC().Date()
		starts[Month] = time.Date(y, mo, 1, 0, 0, 0, 0, time.UTC).Unix()
		starts[Year] = time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC).Unix()
	}
	return starts
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// Identifier returns the key the request is counted under, as Kong's
// get_identifier: the configured entity, falling back to the client IP.
func (p *Plugin) Identifier(k hostabi.Kong) string {
	var id string
	switch p.conf.LimitBy {
	case "consumer":
		if id = stringOf(k.Client().Consumer(), "id"); id == "" {
			id = stringOf(k.Client().Credential(), "id")
		}
	case "credential":
		id = stringOf(k.Client().Credential(), "id")
	case "service":
		id = stringOf(k.Router().Service(), "id")
	case "header":
		if p.conf.HeaderName != "" {
			id = k.Request().Header(p.conf.HeaderName)
		}
	case "path":
		if path := k.Request().Path(); p.conf.Path != "" && path == p.conf.Path {
			id = path
		}
	}
	if id == "" {
		id = k.Client().ForwardedIP()
	}
	return id
}

func stringOf(e hostabi.Entity, field string) string {
	s, _ := e[field].(string)
	return s
}

// usage is what one request saw: the requests counted in each window
// before it, and the first exhausted window (-1: none).
type usage struct {
	count  [numPeriods]int64
	starts [numPeriods]int64
	stop   Period
}

// take counts a request for id unless a window is exhausted.
func (p *Plugin) take(id string, now int64) usage {
	u := usage{starts: windowStartsOf(now, p.calendar), stop: -1}
	s := &p.shards[fnv(id)%numShards]
	s.mu.Lock()
	if s.m == nil {
		s.m = map[string]*counters{}
	}
	if now >= s.nextSweep {
		p.sweep(s, u.starts)
		s.nextSweep = now + p.sweepEvery
	}
	c := s.m[id]
	if c == nil {
		// The map keeps a copy: id may view a buffer the node reuses.
		c = new(counters)
		s.m[strings.Clone(id)] = c
	}
	for _, per := range p.periods {
		if c.start[per] != u.starts[per] {
			c.start[per], c.count[per] = u.starts[per], 0
		}
		u.count[per] = c.count[per]
		if u.stop < 0 && p.limits[per]-float64(c.count[per]) <= 0 {
			u.stop = per
		}
	}
	if u.stop < 0 {
		for _, per := range p.periods {
			c.count[per]++
		}
	}
	s.mu.Unlock()

	// Amortized cleanup: sweep one more shard, round-robin, if it is due
	// and free.
	if o := &p.shards[p.cursor.Add(1)%numShards]; o != s && o.mu.TryLock() {
		if now >= o.nextSweep {
			p.sweep(o, u.starts)
			o.nextSweep = now + p.sweepEvery
		}
		o.mu.Unlock()
	}
	return u
}

// sweep drops the identifiers whose every window has ended; the caller
// holds s.mu.
func (p *Plugin) sweep(s *shard, starts [numPeriods]int64) {
	for id, c := range s.m {
		live := false
		for _, per := range p.periods {
			if c.start[per] >= starts[per] {
				live = true
				break
			}
		}
		if !live {
			delete(s.m, id)
		}
	}
}

func fnv(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

type messageBody struct {
	Message string `json:"message"`
}

// Access implements hostabi.Accessor.
func (p *Plugin) Access(k hostabi.Kong) error {
	now := p.now().Unix()
	var u usage
	if p.shared != nil {
		var err error
		u, err = p.shared.take(k, p.scope, p.Identifier(k), now)
		if err != nil {
			if !p.conf.FaultTolerant {
				return err
			}
			// Kong proxies the request, without headers, when the store
			// fails and fault_tolerant is set.
			k.Log().Err("failed to get usage", "error", err)
			return nil
		}
	} else {
		u = p.take(p.Identifier(k), now)
	}

	var headers map[string]string
	if u.stop >= 0 {
		headers = make(map[string]string, 2*len(p.periods)+4)
	}
	var reset int64
	if !p.conf.HideClientHeaders {
		nt := getNumText()
		var limit, remainingText string
		var remaining float64
		var window int64
		chosen := false
		resp := k.Response()
		for _, per := range p.periods {
			lim := p.limits[per]
			rem := lim - float64(u.count[per])
			if u.stop < 0 || u.stop == per {
				rem--
			}
			rem = math.Max(0, rem)
			remText := nt.number(rem)
			if !chosen || rem < remaining || (rem == remaining && expirations[per] > window) {
				chosen, limit, remaining, remainingText, window = true, p.limitText[per], rem, remText, expirations[per]
				reset = max(1, window-(now-u.starts[per]))
			}
			if headers != nil {
				headers[headerLimit[per]] = p.limitText[per]
				headers[headerRemaining[per]] = remText
			} else {
				resp.SetHeader(headerLimit[per], p.limitText[per])
				resp.SetHeader(headerRemaining[per], remText)
			}
		}
		resetText := nt.int(reset)
		putNumText(nt)
		if headers != nil {
			headers[headerRateLimitLimit] = limit
			headers[headerRateLimitRemaining] = remainingText
			headers[headerRateLimitReset] = resetText
			headers[headerRetryAfter] = resetText
		} else {
			resp.SetHeader(headerRateLimitLimit, limit)
			resp.SetHeader(headerRateLimitRemaining, remainingText)
			resp.SetHeader(headerRateLimitReset, resetText)
		}
	}
	if u.stop >= 0 {
		code := p.conf.ErrorCode
		if code < 100 || code > 599 || code != math.Trunc(code) {
			return fmt.Errorf("rate-limiting: error_code %v is not an HTTP status code between 100 and 599", code)
		}
		hostabi.JSONExit(k.Response(), int(code), messageBody{p.conf.ErrorMessage}, headers)
	}
	return nil
}

// formatNumber renders a number as Lua's tostring does for these values:
// integers without a fraction.
func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', 14, 64)
}

var (
	_ hostabi.Accessor = (*Plugin)(nil)
	_ hostabi.Closer   = (*Plugin)(nil)
)
