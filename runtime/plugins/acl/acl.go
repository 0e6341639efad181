package acl

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/policy"
	"github.com/gatehouse/gatehouse/store"
	"github.com/open-policy-agent/opa/v1/ast"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "acl"
	Priority = 950
	Version  = plugin.BundledVersion
)

// The upstream headers Kong's acl plugin sets (kong.constants.HEADERS).
const (
	HeaderConsumerGroups      = "X-Consumer-Groups"
	HeaderAuthenticatedGroups = "X-Authenticated-Groups"
)

// SharedAuthenticatedGroups is the kong.ctx.shared key under which an
// authentication plugin leaves the groups it authenticated (Kong's
// ldap-auth, session, ...): a list of group names.
const SharedAuthenticatedGroups = "authenticated_groups"

// MsgForbidden is Kong's 403 message.
const MsgForbidden = "You cannot consume this service"

// ShippedPolicy names the shipped policy the plugin decides with when its
// configuration names none.
const ShippedPolicy = "acl"

var definition = plugin.Typed(&plugin.Definition{
	Name:     Name,
	Version:  Version,
	Priority: Priority,
	Phases:   []hostabi.Phase{hostabi.PhaseAccess},
	Schema:   Schema(),
	Entities: []*store.Entity{Groups()},
}, func(c Config) (any, error) { return NewPlugin(c) })

func init() { plugin.Register(definition) }

// Config is the plugin's validated configuration.
type Config struct {
	Allow                        []string `config:"allow"`
	Deny                         []string `config:"deny"`
	HideGroupsHeader             bool     `config:"hide_groups_header"`
	AlwaysUseAuthenticatedGroups bool     `config:"always_use_authenticated_groups"`
	IncludeConsumerGroups        bool     `config:"include_consumer_groups"`
	// Policy names a stored policy; "" decides with the shipped acl rule.
	Policy string `config:"policy"`
	// Scope is the plugin entity's scope (its id keys nothing today; it
	// names the instance in log lines).
	Scope plugin.Scope
}

// ParseConfig decodes a configuration map.
func ParseConfig(m map[string]any) (Config, error) {
	return plugin.DecodeAs[Config](definition, m)
}

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// Plugin is one configured acl instance: its decisions come from a policy
// (the shipped acl rule, or config.policy) through a policy.Decider bound
// to the serving snapshot's policies. It is safe for concurrent use.
type Plugin struct {
	conf Config
	// denyMode is Kong's config.type == DENY: a non-empty deny list.
	denyMode bool
	// config is input.config, built once.
	config ast.Value

	bound atomic.Pointer[binding]
}

// binding is the plugin's decider for one policy set.
type binding struct {
	set     *policy.Set
	decider *policy.Decider
	err     error
}

// NewPlugin creates an instance from a parsed configuration.
func NewPlugin(c Config) (*Plugin, error) {
	p := &Plugin{conf: c, denyMode: len(c.Deny) > 0}
	allow, deny := c.Allow, c.Deny
	if allow == nil {
		allow = []string{}
	}
	if deny == nil {
		deny = []string{}
	}
	cfg := map[string]any{
		"allow": allow, "deny": deny,
		"hide_groups_header":              c.HideGroupsHeader,
		"always_use_authenticated_groups": c.AlwaysUseAuthenticatedGroups,
		"include_consumer_groups":         c.IncludeConsumerGroups,
	}
	if c.Policy != "" {
		cfg["policy"] = c.Policy
	}
	v, err := ast.InterfaceToValue(cfg)
	if err != nil {
		return nil, fmt.Errorf("acl: configuration as policy input: %w", err)
	}
	p.config = v
	return p, nil
}

// shippedSet is the set an instance uses before any snapshot binds it
// (an instance run outside a node, by sdk/plugintest): the shipped
// policies only.
var shippedSet = sync.OnceValues(func() (*policy.Set, error) {
	return policy.NewCompiler(policy.Options{}).Build(0, nil)
})

// BindPolicies implements policy.Binder: the instance decides with set's
// version of its policy from now on. The decision cache is kept when the
// policy did not change.
func (p *Plugin) BindPolicies(set *policy.Set) {
	var pol *policy.Policy
	var err error
	if p.conf.Policy != "" {
		pol, err = set.Policy(p.conf.Policy)
	} else {
		pol, err = set.Shipped(ShippedPolicy)
	}
	b := &binding{set: set, err: err}
	if err == nil {
		if old := p.bound.Load(); old != nil && old.decider != nil && old.decider.Policy() == pol {
			b.decider = old.decider
		} else {
			b.decider = policy.NewDecider(pol, p.config)
		}
	}
	p.bound.Store(b)
}

// decider returns the bound decider, binding the shipped set first when
// no snapshot did.
func (p *Plugin) decider() (*policy.Decider, error) {
	b := p.bound.Load()
	if b == nil {
		set, err := shippedSet()
		if err != nil {
			return nil, err
		}
		p.BindPolicies(set)
		b = p.bound.Load()
	}
	if b.err != nil {
		return nil, fmt.Errorf("acl: %w", b.err)
	}
	return b.decider, nil
}

// Decider returns the decider the instance uses now (for tests and
// benchmarks).
func (p *Plugin) Decider() (*policy.Decider, error) { return p.decider() }

// Access implements hostabi.Accessor, as Kong's acl handler does: the
// groups are the authenticated groups when there is no consumer (or the
// consumer is anonymous, or always_use_authenticated_groups), the
// consumer's acls otherwise; the policy decides; a denial is a 403, no
// identity at all a 401; an allowed request carries its groups upstream
// in X-Consumer-Groups (X-Authenticated-Groups for authenticated groups)
// unless hide_groups_header. A policy that errors or times out fails the
// request (500).
func (p *Plugin) Access(k hostabi.Kong) error {
	client := k.Client()
	consumer, cred := client.Consumer(), client.Credential()
	consumerID := str(consumer, "id")
	if consumerID == "" {
		consumerID = foreignID(cred["consumer"])
		if consumerID == "" {
			consumerID = str(cred, "consumer_id")
		}
	}
	var groups []string
	header := HeaderConsumerGroups
	if consumerID == "" {
		auth, ok := authenticatedGroups(k)
		if !ok {
			if cred != nil {
				k.Response().Error(403, MsgForbidden, nil)
				return nil
			}
			k.Response().Error(401, "", nil)
			return nil
		}
		groups, header = auth, HeaderAuthenticatedGroups
	} else {
		var auth []string
		ok := false
		if cred == nil || p.conf.AlwaysUseAuthenticatedGroups {
			auth, ok = authenticatedGroups(k)
		}
		if ok {
			groups, header = auth, HeaderAuthenticatedGroups
		} else {
			var err error
			if groups, err = consumerGroups(k, consumerID); err != nil {
				return err
			}
			if len(groups) == 0 && !p.denyMode && p.conf.Policy == "" {
				// Kong: a consumer without groups never passes an allow list.
				if cred != nil {
					k.Response().Error(403, MsgForbidden, nil)
					return nil
				}
				k.Response().Error(401, "", nil)
				return nil
			}
		}
	}
	d, err := p.decider()
	if err != nil {
		return err
	}
	allowed, err := d.Allow(k.Context(), &policy.Facts{Consumer: consumer, Authenticated: cred != nil,
		Groups: groups, Request: k.Request(), Client: client, Router: k.Router()})
	if err != nil {
		return fmt.Errorf("acl: %w", err)
	}
	if !allowed {
		k.Response().Error(403, MsgForbidden, nil)
		return nil
	}
	if !p.conf.HideGroupsHeader {
		k.ServiceRequest().SetHeader(header, strings.Join(groups, ", "))
	}
	return nil
}

// consumerGroups returns the groups of the consumer's acls, through the
// node's credential cache.
func consumerGroups(k hostabi.Kong, consumerID string) ([]string, error) {
	acls, err := k.Credentials().ConsumerCredentials(k.Context(), GroupEntity, consumerID)
	if err != nil {
		return nil, fmt.Errorf("acl: loading the groups of consumer %s: %w", consumerID, err)
	}
	groups := make([]string, 0, len(acls))
	for _, a := range acls {
		if g, ok := a["group"].(string); ok {
			groups = append(groups, g)
		}
	}
	return groups, nil
}

// authenticatedGroups reads kong.ctx.shared.authenticated_groups: a list
// of group names (ok is false when unset or not a list, as Kong
// ignores a non-table with a warning).
func authenticatedGroups(k hostabi.Kong) ([]string, bool) {
	v, set := k.Ctx().Shared().Get(SharedAuthenticatedGroups)
	if !set || v == nil {
		return nil, false
	}
	switch t := v.(type) {
	case []string:
		return t, true
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out, true
	}
	k.Log().Warn("invalid authenticated_groups, a table was expected")
	return nil, false
}

func str(e map[string]any, k string) string {
	s, _ := e[k].(string)
	return s
}

func foreignID(v any) string {
	m, _ := v.(map[string]any)
	id, _ := m["id"].(string)
	return id
}

var (
	_ hostabi.Accessor = (*Plugin)(nil)
	_ policy.Binder    = (*Plugin)(nil)
)
