// Package botdetection is Gatehouse's native bot-detection plugin,
// compatible with Kong 3.9's: requests whose User-Agent matches a deny
// regex or Kong's built-in bot list (and no allow regex) get 403. See
// README.md.
package botdetection

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "bot-detection"
	Priority = 2500
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
	Allow []string `config:"allow"`
	Deny  []string `config:"deny"`
}

// ParseConfig decodes a configuration map; fields it leaves out take the
// schema's defaults.
func ParseConfig(m map[string]any) (Config, error) {
	return plugin.DecodeAs[Config](definition, m)
}

// The outcomes of examining a User-Agent (Kong's MATCH_*).
const (
	matchNone = iota
	matchAllow
	matchDeny
	matchBot
)

// cacheSize bounds each instance's cache of examined User-Agents (Kong
// keeps 10^4 in an LRU; this one starts over when full).
const cacheSize = 10000

var (
	botsOnce sync.Once
	bots     []*regexp.Regexp
)

// builtin compiles the built-in list once.
func builtin() []*regexp.Regexp {
	botsOnce.Do(func() {
		for _, s := range builtinBots {
			bots = append(bots, regexp.MustCompile(s))
		}
	})
	return bots
}

// Plugin is one configured bot-detection instance; safe for concurrent
// use.
type Plugin struct {
	allow, deny []*regexp.Regexp

	mu    sync.RWMutex
	cache map[string]int
}

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// NewPlugin creates an instance from a parsed configuration; a regex that
// does not compile is an error.
func NewPlugin(c Config) (any, error) {
	p := &Plugin{cache: make(map[string]int)}
	var err error
	if p.allow, err = compile(c.Allow); err != nil {
		return nil, err
	}
	if p.deny, err = compile(c.Deny); err != nil {
		return nil, err
	}
	builtin()
	return p, nil
}

func compile(list []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(list))
	for _, s := range list {
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("bot-detection: not a valid regex: %s", s)
		}
		out = append(out, re)
	}
	return out, nil
}

// Examine classifies a User-Agent: allow rules first, then deny rules,
// then the built-in bots. It reports whether the agent is refused.
func (p *Plugin) Examine(userAgent string) bool {
	return p.examine(strings.TrimSpace(userAgent)) > matchAllow
}

func (p *Plugin) examine(ua string) int {
	for _, re := range p.allow {
		if re.MatchString(ua) {
			return matchAllow
		}
	}
	for _, re := range p.deny {
		if re.MatchString(ua) {
			return matchDeny
		}
	}
	for _, re := range builtin() {
		if re.MatchString(ua) {
			return matchBot
		}
	}
	return matchNone
}

// Access implements hostabi.Accessor.
func (p *Plugin) Access(k hostabi.Kong) error {
	uas := k.Request().HeaderValues("User-Agent")
	switch len(uas) {
	case 0:
		return nil
	case 1:
	default:
		k.Response().Error(400, "Only one User-Agent header allowed", nil)
		return nil
	}
	ua := uas[0]
	p.mu.RLock()
	match, ok := p.cache[ua]
	p.mu.RUnlock()
	if !ok {
		match = p.examine(strings.TrimSpace(ua))
		p.mu.Lock()
		if len(p.cache) >= cacheSize {
			clear(p.cache)
		}
		p.cache[ua] = match
		p.mu.Unlock()
	}
	if match > matchAllow {
		k.Response().Error(403, "", nil)
	}
	return nil
}
