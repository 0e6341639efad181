// Package threatprotection is Gatehouse's threat-protection plugin (issue
// 13): denial-of-service limits over all requests (dos) and per client IP
// (dos_by_ip, which can add an offending IP to the denied_ips entity),
// and lockout of client IPs that fail authentication too often
// (auth_lockout). Every denial emits a threat event (runtime/threat). See
// README.md.
package threatprotection

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/threat"
	"github.com/gatehouse/gatehouse/store"
)

// Name, Priority and Version of the plugin. Priority 2600 runs it before
// every bundled auth plugin (Kong's highest, mtls-auth, is 1600; jwt 1450,
// key-auth 1250), before bot-detection (2500) and cors (2000), so a
// flood is refused before any of their work and before an auth plugin's
// 401 ends the request; it runs after correlation-id (100001), so a
// denied request still carries its id.
const (
	Name     = "threat-protection"
	Priority = 2600
	Version  = plugin.BundledVersion
)

var definition = plugin.Typed(&plugin.Definition{
	Name:      Name,
	Version:   Version,
	Priority:  Priority,
	Phases:    []hostabi.Phase{hostabi.PhaseAccess, hostabi.PhaseLog},
	Schema:    Schema(),
	Endpoints: endpoints,
}, NewPlugin)

func init() { plugin.Register(definition) }

// Limits is the dos and dos_by_ip configuration.
type Limits struct {
	MaxRequests   int      `config:"max_requests"`
	Window        int      `config:"window"`
	MaxInProgress int      `config:"max_in_progress"`
	BlockSeconds  int      `config:"block_seconds"`
	Message       string   `config:"message"`
	TrustedCIDRs  []string `config:"trusted_cidrs"`
}

// ByIPLimits is the dos_by_ip configuration.
type ByIPLimits struct {
	Limits
	// Action is "block" or "deny_list".
	Action string `config:"action"`
}

// Lockout is the auth_lockout configuration.
type Lockout struct {
	MaxFailures  int    `config:"max_failures"`
	Window       int    `config:"window"`
	BlockSeconds int    `config:"block_seconds"`
	Message      string `config:"message"`
}

// Config is the plugin's configuration, decoded from its schema.
type Config struct {
	DoS         Limits     `config:"dos"`
	DoSByIP     ByIPLimits `config:"dos_by_ip"`
	AuthLockout Lockout    `config:"auth_lockout"`
	Rules       []Rule     `config:"rules"`
}

// ParseConfig decodes a configuration map with the schema's defaults.
func ParseConfig(m map[string]any) (Config, error) { return plugin.DecodeAs[Config](definition, m) }

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// limits is a compiled Limits.
type limits struct {
	on      bool // any limit set
	lim     threat.Limits
	trusted []netip.Prefix
	// denyList: dos_by_ip's action deny_list.
	denyList bool
}

func compileLimits(c Limits, action string) (limits, error) {
	l := limits{denyList: action == "deny_list",
		lim: threat.Limits{MaxRequests: c.MaxRequests, Window: time.Duration(c.Window) * time.Second,
			MaxInProgress: c.MaxInProgress, Block: time.Duration(c.BlockSeconds) * time.Second}}
	l.on = c.MaxRequests >= 0 || c.MaxInProgress >= 0
	for _, s := range c.TrustedCIDRs {
		p, err := threat.ParsePrefix(s)
		if err != nil {
			return l, fmt.Errorf("%s: trusted_cidrs: %w", Name, err)
		}
		l.trusted = append(l.trusted, p)
	}
	return l, nil
}

func (l *limits) isTrusted(a netip.Addr, ok bool) bool {
	if !ok {
		return false
	}
	for _, p := range l.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Plugin is one configured instance; its counters live as long as the
// instance (a configuration change starts them over). Safe for concurrent
// use.
type Plugin struct {
	conf        Config
	dos, byIP   limits
	lockout     Lockout
	global      *threat.Limiter // one key: ""
	perIP       *threat.Limiter
	failures    *threat.Limiter
	events      *threat.Ring
	now         func() time.Time
	lockoutOn   bool
	lockWindow  time.Duration
	lockBlock   time.Duration
	denyListTTL time.Duration
	table       atomic.Pointer[decisions]
	rules       []*rule // deny rules first
}

// NewPlugin creates an instance from a parsed configuration.
func NewPlugin(c Config) (any, error) {
	p := &Plugin{conf: c, lockout: c.AuthLockout, events: threat.Events, now: time.Now,
		global: threat.NewLimiter(shardsMin), perIP: threat.NewLimiter(0), failures: threat.NewLimiter(0)}
	var err error
	if p.dos, err = compileLimits(c.DoS, ""); err != nil {
		return nil, err
	}
	if p.byIP, err = compileLimits(c.DoSByIP.Limits, c.DoSByIP.Action); err != nil {
		return nil, err
	}
	p.lockoutOn = c.AuthLockout.MaxFailures >= 0
	p.lockWindow = time.Duration(c.AuthLockout.Window) * time.Second
	p.lockBlock = time.Duration(c.AuthLockout.BlockSeconds) * time.Second
	p.denyListTTL = time.Duration(c.DoSByIP.BlockSeconds) * time.Second
	p.rules = compileRules(c.Rules)
	return p, nil
}

// shardsMin sizes the global limiter, which holds one key.
const shardsMin = 64

// Per-request marks in the plugin's context.
const (
	ctxGlobal = "threat.global" // admitted by dos: Done in log
	ctxIP     = "threat.ip"     // admitted by dos_by_ip: the key, Done in log
	ctxDenied = "threat.denied" // this plugin ended the request
)

// deny ends the request as the policy decided for the violation key and
// records the event; an error (no decision) fails the request closed.
func (p *Plugin) deny(k hostabi.Kong, key, ip string) error {
	d, err := p.lookup(key)
	if err != nil {
		return err
	}
	req := k.Request()
	ev := p.events.Record(threat.Event{Rule: d.Rule, Filter: d.Filter, Action: d.Action, Status: d.Status,
		Message: d.Message, ClientIP: ip, Host: req.Host(), Path: req.Path(), Method: req.Method()})
	k.Log().Warn("threat: request denied", "rule", ev.Rule, "filter", ev.Filter, "action", ev.Action,
		"status", d.Status, "client_ip", ip, "host", ev.Host, "path", ev.Path, "method", ev.Method)
	k.Ctx().Plugin().Set(ctxDenied, true)
	k.Response().Error(d.Status, d.Message, nil)
	return nil
}

// filterOf names the limit a verdict is about.
func filterOf(v threat.Verdict) string {
	switch v {
	case threat.Blocked:
		return "blocked"
	case threat.OverRate:
		return "max_requests"
	default:
		return "max_in_progress"
	}
}

// Access implements hostabi.Accessor: the auth lockout, then dos, then
// dos_by_ip.
func (p *Plugin) Access(k hostabi.Kong) error {
	if !p.dos.on && !p.byIP.on && !p.lockoutOn && len(p.rules) == 0 {
		return nil
	}
	ip := k.Client().ForwardedIP()
	addr, err := netip.ParseAddr(ip)
	parsed := err == nil
	if parsed {
		// One key per address, however the client IP was written.
		addr = addr.Unmap().WithZone("")
		ip = addr.String()
	}
	now := p.now()
	if p.lockoutOn && !p.failures.BlockedUntil(ip, now).IsZero() {
		return p.deny(k, limitKey("auth_lockout", "blocked"), ip)
	}
	if p.dos.on && !p.dos.isTrusted(addr, parsed) {
		switch v := p.global.Admit("", p.dos.lim, now); v {
		case threat.Admitted:
			k.Ctx().Plugin().Set(ctxGlobal, true)
		case threat.Untracked:
		default:
			return p.deny(k, limitKey("dos", filterOf(v)), ip)
		}
	}
	if p.byIP.on && !p.byIP.isTrusted(addr, parsed) {
		switch v := p.perIP.Admit(ip, p.byIP.lim, now); v {
		case threat.Admitted:
			k.Ctx().Plugin().Set(ctxIP, ip)
		case threat.Untracked:
		default:
			if v == threat.OverRate && p.byIP.denyList && parsed {
				if err := p.addDenied(k, addr, now); err != nil {
					k.Log().Err("threat: adding the IP to denied_ips failed", "client_ip", ip, "error", err)
				}
			}
			p.release(k)
			return p.deny(k, limitKey("dos_by_ip", filterOf(v)), ip)
		}
	}
	if len(p.rules) > 0 {
		return p.checkRules(k, ip)
	}
	return nil
}

// release ends the request's admissions (in the log phase, or when a
// later limit denies it).
func (p *Plugin) release(k hostabi.Kong) {
	vals := k.Ctx().Plugin()
	if _, ok := vals.Get(ctxGlobal); ok {
		vals.Delete(ctxGlobal)
		p.global.Done("")
	}
	if v, ok := vals.Get(ctxIP); ok {
		vals.Delete(ctxIP)
		if ip, _ := v.(string); ip != "" {
			p.perIP.Done(ip)
		}
	}
}

// storeHolder is what the node's credential lookups offer native plugins
// that write entities at request time.
type storeHolder interface{ Store() *store.Store }

// addDenied adds addr to the denied_ips entity (once: an existing entry
// is left as it is).
func (p *Plugin) addDenied(k hostabi.Kong, addr netip.Addr, now time.Time) error {
	h, ok := k.Credentials().(storeHolder)
	if !ok || h.Store() == nil {
		return fmt.Errorf("%s: the node offers no entity store", Name)
	}
	rec := map[string]any{"ip": addr.String(), "tags": []any{Name},
		"reason": fmt.Sprintf("%s dos_by_ip: more than %d requests in %d s", Name, p.conf.DoSByIP.MaxRequests, p.conf.DoSByIP.Window)}
	if p.denyListTTL > 0 {
		rec["expires_at"] = now.Add(p.denyListTTL).Unix()
	}
	ctx, cancel := context.WithTimeout(k.Context(), 5*time.Second)
	defer cancel()
	_, err := h.Store().Insert(ctx, "denied_ips", rec)
	if e, ok := store.AsError(err); ok && e.Code == store.CodeUniqueViolation {
		return nil
	}
	return err
}

// Log implements hostabi.Logger: the request is no longer in progress;
// a 401 or 403 another plugin ended it with counts as a failed
// authentication of the client IP.
func (p *Plugin) Log(k hostabi.Kong) error {
	p.release(k)
	if !p.lockoutOn {
		return nil
	}
	if _, ours := k.Ctx().Plugin().Get(ctxDenied); ours {
		return nil
	}
	resp := k.Response()
	if st := resp.Status(); (st == http.StatusUnauthorized || st == http.StatusForbidden) && resp.Source() == "exit" {
		ip := k.Client().ForwardedIP()
		if a, err := netip.ParseAddr(ip); err == nil {
			ip = a.Unmap().WithZone("").String()
		}
		if p.failures.Fail(ip, p.lockout.MaxFailures, p.lockWindow, p.lockBlock, p.now()) {
			req := k.Request()
			k.Log().Warn("threat: client IP locked out after failed authentications", "client_ip", ip,
				"max_failures", p.lockout.MaxFailures, "block_seconds", p.lockout.BlockSeconds,
				"host", req.Host(), "path", req.Path(), "method", req.Method())
		}
	}
	return nil
}
