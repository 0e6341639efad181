package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Listener is one parsed entry of a *_listen setting such as proxy_listen.
type Listener struct {
	// Addr is the normalized "host:port" address, usable with net.Listen.
	// IPv6 hosts are bracketed ("[::1]:8001") and the wildcard host "*"
	// is normalized to "0.0.0.0".
	Addr string
	// SSL reports whether the "ssl" flag was given.
	SSL bool
	// HTTP2 reports whether the "http2" flag was given.
	HTTP2 bool
	// Flags holds every flag of the entry, including "ssl" and "http2",
	// deduplicated and in Kong's canonical order: ssl, http2,
	// proxy_protocol, deferred, bind, reuseport, backlog=N.
	Flags []string
}

// listenFlags are the flags Kong accepts on HTTP listeners, in the order
// Kong uses when it renders a listener. "backlog=%d+" takes a number.
var listenFlags = []string{"ssl", "http2", "proxy_protocol", "deferred", "bind", "reuseport", "backlog=%d+"}

// listenUsage mirrors Kong's usage message for listener settings.
const listenUsage = "must be of form: [off] | <ip>:<port> [ssl] [http2] [proxy_protocol] [deferred] [bind] [reuseport] [backlog=%d+], [... next entry ...]"

// String renders the listener the way Kong does in its "listener" field:
// the address followed by the flags, separated by spaces.
func (l Listener) String() string {
	if len(l.Flags) == 0 {
		return l.Addr
	}
	return l.Addr + " " + strings.Join(l.Flags, " ")
}

// Host returns the host part of Addr without brackets.
func (l Listener) Host() string {
	host, _, err := net.SplitHostPort(l.Addr)
	if err != nil {
		return ""
	}
	return host
}

// Port returns the port part of Addr, or -1 if Addr is malformed.
func (l Listener) Port() int {
	_, port, err := net.SplitHostPort(l.Addr)
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return -1
	}
	return n
}

// HasFlag reports whether the listener carries the given flag. For
// "backlog" any "backlog=N" flag matches.
func (l Listener) HasFlag(flag string) bool {
	for _, f := range l.Flags {
		if f == flag || (flag == "backlog" && strings.HasPrefix(f, "backlog=")) {
			return true
		}
	}
	return false
}

// kongValue returns the listener in the shape Kong exposes in the
// "*_listeners" entries of GET / "configuration".
func (l Listener) kongValue() map[string]any {
	host := l.Host()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	m := map[string]any{
		"ip":       host,
		"port":     l.Port(),
		"listener": l.String(),
	}
	for _, f := range listenFlags {
		if f == "backlog=%d+" {
			continue
		}
		m[f] = l.HasFlag(f)
	}
	backlog := false
	for _, f := range l.Flags {
		if strings.HasPrefix(f, "backlog=") {
			m[f] = true
			backlog = true
		}
	}
	if !backlog {
		m["backlog=%d+"] = false
	}
	return m
}

// ParseListen parses a *_listen value in Kong's list syntax, for example
// "0.0.0.0:8000, 0.0.0.0:8443 ssl http2". The single value "off" yields an
// empty (non-nil) list, meaning no listener. Entries are "host:port"
// followed by optional flags; unknown flags, bad ports and an empty value
// are errors.
func ParseListen(value string) ([]Listener, error) {
	entries := splitList(value)
	if len(entries) == 0 {
		return nil, fmt.Errorf("empty value; %s", listenUsage)
	}
	if len(entries) == 1 && entries[0] == "off" {
		return []Listener{}, nil
	}
	out := make([]Listener, 0, len(entries))
	for _, e := range entries {
		l, err := parseListener(e)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// parseListener parses one "host:port flag..." entry.
func parseListener(entry string) (Listener, error) {
	fields := strings.Fields(entry)
	if len(fields) == 0 {
		return Listener{}, fmt.Errorf("empty entry; %s", listenUsage)
	}
	if fields[0] == "off" {
		return Listener{}, fmt.Errorf("\"off\" cannot be combined with other entries")
	}
	addr, err := parseListenAddr(fields[0])
	if err != nil {
		return Listener{}, fmt.Errorf("invalid entry %q: %v; %s", entry, err, listenUsage)
	}
	l := Listener{Addr: addr}
	seen := map[string]bool{}
	backlog := ""
	for _, f := range fields[1:] {
		switch {
		case f == "ssl" || f == "http2" || f == "proxy_protocol" || f == "deferred" || f == "bind" || f == "reuseport":
			seen[f] = true
		case strings.HasPrefix(f, "backlog="):
			n, err := strconv.Atoi(f[len("backlog="):])
			if err != nil || n <= 0 || !isDigits(f[len("backlog="):]) {
				return Listener{}, fmt.Errorf("invalid entry %q: bad backlog %q; %s", entry, f, listenUsage)
			}
			backlog = "backlog=" + strconv.Itoa(n)
		default:
			return Listener{}, fmt.Errorf("invalid entry %q: unknown flag %q; %s", entry, f, listenUsage)
		}
	}
	for _, f := range listenFlags {
		if f == "backlog=%d+" {
			if backlog != "" {
				l.Flags = append(l.Flags, backlog)
			}
			continue
		}
		if seen[f] {
			l.Flags = append(l.Flags, f)
		}
	}
	l.SSL = seen["ssl"]
	l.HTTP2 = seen["http2"]
	return l, nil
}

// parseListenAddr validates and normalizes a "host:port" listen address.
func parseListenAddr(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("expected <ip>:<port>")
	}
	if !isDigits(port) {
		return "", fmt.Errorf("bad port %q", port)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("port %s out of range 0-65535", port)
	}
	bracketed := strings.HasPrefix(s, "[")
	switch {
	case host == "":
		return "", fmt.Errorf("missing host")
	case host == "*":
		host = "0.0.0.0"
	default:
		if ip, err := netip.ParseAddr(host); err == nil {
			if bracketed != ip.Is6() {
				if bracketed {
					return "", fmt.Errorf("brackets are only allowed around IPv6 addresses")
				}
				return "", fmt.Errorf("IPv6 addresses must be bracketed")
			}
			host = ip.String()
		} else if bracketed || !validHostname(host) {
			return "", fmt.Errorf("invalid host %q", host)
		} else {
			host = strings.ToLower(host)
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), nil
}

// validHostname reports whether s is a syntactically valid DNS name. A
// name whose last label is numeric is rejected, as it is most likely a
// malformed IPv4 address.
func validHostname(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	labels := strings.Split(strings.TrimSuffix(s, "."), ".")
	if isDigits(labels[len(labels)-1]) {
		return false
	}
	for _, label := range labels {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// isDigits reports whether s is a non-empty string of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
