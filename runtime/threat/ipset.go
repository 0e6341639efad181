package threat

import (
	"fmt"
	"net/netip"
	"time"
)

// Denied is one denied_ips entry.
type Denied struct {
	ID string
	// Prefix is the address (as a /32 or /128) or range denied.
	Prefix netip.Prefix
	// ExpiresAt is when the entry stops applying; zero: never.
	ExpiresAt time.Time
	Reason    string
}

// IPSet is the denied client addresses of one snapshot; immutable.
// Expiry is checked at lookup time, so an entry stops applying at its
// expires_at without a new snapshot.
type IPSet struct {
	exact  map[netip.Addr]Denied
	ranges []Denied
}

// ParsePrefix parses an IP address (as a /32 or /128) or a CIDR range,
// masked, with IPv4-mapped IPv6 addresses made IPv4 and zones dropped.
func ParsePrefix(s string) (netip.Prefix, error) {
	if pfx, err := netip.ParsePrefix(s); err == nil {
		if pfx.Addr().Is4In6() && pfx.Bits() >= 96 {
			pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
		}
		return pfx.Masked(), nil
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("threat: invalid ip or cidr range %q", s)
	}
	addr = addr.Unmap().WithZone("")
	return netip.PrefixFrom(addr, addr.BitLen()), nil
}

// NewIPSet builds a set from entries.
func NewIPSet(entries []Denied) *IPSet {
	s := &IPSet{exact: map[netip.Addr]Denied{}}
	for _, e := range entries {
		if e.Prefix.IsSingleIP() {
			s.exact[e.Prefix.Addr()] = e
		} else {
			s.ranges = append(s.ranges, e)
		}
	}
	return s
}

// Len counts the entries (expired ones included).
func (s *IPSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.exact) + len(s.ranges)
}

// Lookup returns the entry denying ip at now, if any; an address that
// does not parse is never denied (the caller decides about it).
func (s *IPSet) Lookup(ip string, now time.Time) (Denied, bool) {
	if s.Len() == 0 {
		return Denied{}, false
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return Denied{}, false
	}
	return s.LookupAddr(addr, now)
}

// LookupAddr is Lookup for a parsed address.
func (s *IPSet) LookupAddr(addr netip.Addr, now time.Time) (Denied, bool) {
	if s.Len() == 0 {
		return Denied{}, false
	}
	addr = addr.Unmap().WithZone("")
	live := func(d Denied) bool { return d.ExpiresAt.IsZero() || now.Before(d.ExpiresAt) }
	if d, ok := s.exact[addr]; ok && live(d) {
		return d, true
	}
	for _, d := range s.ranges {
		if d.Prefix.Contains(addr) && live(d) {
			return d, true
		}
	}
	return Denied{}, false
}
