// Package iprestriction is Gatehouse's native ip-restriction plugin,
// compatible with Kong 3.9's: it rejects requests whose client address
// (as trusted_ips and real_ip_header compute it) is in the deny list or
// outside the allow list. See README.md.
package iprestriction

import (
	"fmt"
	"net/netip"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin"
)

// Name, Priority and Version of the plugin, as Kong reports them.
const (
	Name     = "ip-restriction"
	Priority = 990
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
// schema's fields by plugin.Decode.
type Config struct {
	Allow []string `config:"allow"`
	Deny  []string `config:"deny"`
	// Status is nil when unset (403).
	Status *float64 `config:"status"`
	// Message is nil when unset ("IP address not allowed: <ip>").
	Message *string `config:"message"`
}

// ParseConfig decodes a configuration map.
func ParseConfig(m map[string]any) (Config, error) {
	return plugin.DecodeAs[Config](definition, m)
}

// Plugin is one configured ip-restriction instance; safe for concurrent
// use.
type Plugin struct {
	allow, deny []netip.Prefix
	status      int
	message     *string
}

// New creates an instance from a validated configuration.
func New(config map[string]any) (any, error) { return definition.New(config) }

// NewPlugin creates an instance from a parsed configuration; an entry that
// is neither an IP nor a CIDR range is an error.
func NewPlugin(c Config) (any, error) {
	p := &Plugin{status: 403, message: c.Message}
	if c.Status != nil {
		p.status = int(*c.Status)
	}
	var err error
	if p.allow, err = parseList(c.Allow); err != nil {
		return nil, err
	}
	if p.deny, err = parseList(c.Deny); err != nil {
		return nil, err
	}
	return p, nil
}

// parseList parses IPs (as /32 or /128) and CIDR ranges.
func parseList(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		pfx, err := ParseIPOrCIDR(s)
		if err != nil {
			return nil, err
		}
		out = append(out, pfx)
	}
	return out, nil
}

// ParseIPOrCIDR parses an IP address or a CIDR range into a masked prefix
// (IPv4-mapped IPv6 addresses become IPv4).
func ParseIPOrCIDR(s string) (netip.Prefix, error) {
	if pfx, err := netip.ParsePrefix(s); err == nil {
		if pfx.Addr().Is4In6() && pfx.Bits() >= 96 {
			pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
		}
		return pfx.Masked(), nil
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("ip-restriction: invalid ip or cidr range: '%s'", s)
	}
	addr = addr.Unmap().WithZone("")
	return netip.PrefixFrom(addr, addr.BitLen()), nil
}

func contains(list []netip.Prefix, a netip.Addr) bool {
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Access implements hostabi.Accessor: deny first, then allow.
func (p *Plugin) Access(k hostabi.Kong) error {
	ip := k.Client().ForwardedIP()
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		// Kong: no binary_remote_addr (a unix socket).
		k.Response().Error(403, "Cannot identify the client IP address, unix domain sockets are not supported.", nil)
		return nil
	}
	addr = addr.Unmap().WithZone("")
	if (len(p.deny) > 0 && contains(p.deny, addr)) || (len(p.allow) > 0 && !contains(p.allow, addr)) {
		msg := "IP address not allowed: " + ip
		if p.message != nil {
			msg = *p.message
		}
		k.Log().Warn(msg)
		k.Response().Error(p.status, msg, nil)
	}
	return nil
}
