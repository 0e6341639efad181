package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gatehouse/gatehouse/store/routeregex"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// httpSubsystem lists the protocols Kong routes in its http subsystem
// (kong.constants PROTOCOLS_WITH_SUBSYSTEM).
var httpSubsystem = map[string]bool{"http": true, "https": true, "grpc": true, "grpcs": true, "ws": true, "wss": true}

const maxHeaderCount = 255

// parseRoute reads a stored route. skip is true for routes the http router
// does not carry (stream-only protocols).
func parseRoute(raw map[string]any, services map[string]map[string]any) (rt *Route, skip bool, err error) {
	if raw == nil {
		return nil, false, errors.New("route is nil")
	}
	rt = &Route{Raw: raw}
	if rt.ID, err = strField(raw, "id"); err != nil {
		return nil, false, err
	}
	if rt.ID == "" {
		return nil, false, errors.New("route has no id")
	}
	if rt.Name, err = strField(raw, "name"); err != nil {
		return nil, false, err
	}
	if rt.Protocols, _, err = strList(raw, "protocols"); err != nil {
		return nil, false, err
	}
	if rt.Protocols == nil {
		rt.Protocols = []string{"http", "https"}
	}
	http := false
	for _, p := range rt.Protocols {
		if httpSubsystem[p] {
			http = true
		}
	}
	if !http {
		return nil, true, nil
	}
	if e := raw["expression"]; e != nil {
		if s, ok := e.(string); !ok || s != "" {
			return nil, false, errors.New("expression routes need router_flavor = expressions")
		}
	}
	if rt.Methods, _, err = strList(raw, "methods"); err != nil {
		return nil, false, err
	}
	if rt.Hosts, _, err = strList(raw, "hosts"); err != nil {
		return nil, false, err
	}
	if rt.Paths, _, err = strList(raw, "paths"); err != nil {
		return nil, false, err
	}
	if rt.SNIs, _, err = strList(raw, "snis"); err != nil {
		return nil, false, err
	}
	for _, p := range rt.Paths {
		if p == "" {
			return nil, false, errors.New("empty path")
		}
	}
	if rt.Headers, err = headerMap(raw["headers"]); err != nil {
		return nil, false, err
	}
	if rt.StripPath, err = boolField(raw, "strip_path", true); err != nil {
		return nil, false, err
	}
	if rt.PreserveHost, err = boolField(raw, "preserve_host", false); err != nil {
		return nil, false, err
	}
	if rt.RequestBuffering, err = boolField(raw, "request_buffering", true); err != nil {
		return nil, false, err
	}
	if rt.ResponseBuffering, err = boolField(raw, "response_buffering", true); err != nil {
		return nil, false, err
	}
	if rt.PathHandling, err = strField(raw, "path_handling"); err != nil {
		return nil, false, err
	}
	if rt.PathHandling == "" {
		rt.PathHandling = "v0"
	}
	var n int64
	if n, err = intField(raw, "https_redirect_status_code", 426); err != nil {
		return nil, false, err
	}
	rt.HTTPSRedirectStatus = int(n)
	if n, err = intField(raw, "regex_priority", 0); err != nil {
		return nil, false, err
	}
	rt.RegexPriority = int(n)
	if rt.CreatedAt, err = intField(raw, "created_at", 0); err != nil {
		return nil, false, err
	}
	rt.servicePath = "/"
	switch s := raw["service"].(type) {
	case nil:
	case map[string]any:
		id, err := strField(s, "id")
		if err != nil {
			return nil, false, fmt.Errorf("service: %w", err)
		}
		if id != "" {
			svc, ok := services[id]
			if !ok || svc == nil {
				return nil, false, fmt.Errorf("service %s not found", id)
			}
			rt.ServiceID, rt.Service = id, svc
			rt.servicePath = servicePath(svc)
		}
	default:
		return nil, false, fmt.Errorf("service: want an object, got %T", s)
	}
	return rt, false, nil
}

// servicePath is get_service_info's path: the service's path for services
// of the http subsystem ("/" when unset), "/" for others.
func servicePath(svc map[string]any) string {
	proto, _ := svc["protocol"].(string)
	if !httpSubsystem[proto] {
		return "/"
	}
	if p, ok := svc["path"].(string); ok && p != "" {
		return p
	}
	return "/"
}

// buildMatchers turns a route into its matchers: one, or one per path
// group when the paths mix regexes and prefixes of different lengths.
func buildMatchers(rt *Route, opts Options) ([]matcher, []error) {
	base := matcher{route: rt, methods: rt.Methods, v1: opts.PathHandlingV1 && rt.PathHandling == "v1"}
	for _, h := range rt.Hosts {
		base.hosts = append(base.hosts, parseHostPat(h))
	}
	for _, s := range rt.SNIs {
		base.snis = append(base.snis, parseSNIPat(s))
	}
	names := make([]string, 0, len(rt.Headers))
	for name := range rt.Headers {
		names = append(names, name)
	}
	sort.Strings(names) // map order is random; keep checks deterministic
	for _, name := range names {
		c := headerCond{name: strings.ReplaceAll(routeregex.ASCIILower(name), "_", "-")}
		for _, v := range rt.Headers[name] {
			if strings.HasPrefix(v, "~*") {
				re, err := routeregex.CompileHeader(v[2:])
				if err != nil {
					return nil, []error{fmt.Errorf("header %s: regex %q: %w", name, v, err)}
				}
				c.regexes = append(c.regexes, re)
				continue
			}
			c.equals = append(c.equals, routeregex.ASCIILower(v))
		}
		base.headers = append(base.headers, c)
	}

	weight := 0
	for _, set := range []bool{len(rt.SNIs) > 0, len(rt.Methods) > 0, len(rt.Hosts) > 0, len(rt.Headers) > 0, len(rt.Paths) > 0} {
		if set {
			weight++
		}
	}
	if weight == 0 {
		return nil, []error{errors.New("no methods, hosts, headers, paths or snis to match on")}
	}
	plain := rt.Raw["hosts"] != nil // Kong: type(hosts) == "table", so [] counts
	for _, h := range rt.Hosts {
		if strings.Contains(h, "*") {
			plain = false
		}
	}
	headers := len(rt.Headers)
	if headers > maxHeaderCount {
		headers = maxHeaderCount
	}
	base.key = priority{weight: weight, plainHost: plain, headers: headers, idKey: idKey(rt.ID)}
	base.id = rt.ID

	if len(rt.Paths) == 0 {
		return []matcher{base}, nil
	}
	// group by "regex" or prefix length, in order of first appearance
	type group struct {
		key   int
		paths []string
	}
	var groups []group
	for _, p := range rt.Paths {
		k := len(p)
		if p[0] == '~' {
			k = 0
		}
		found := false
		for i := range groups {
			if groups[i].key == k {
				groups[i].paths = append(groups[i].paths, p)
				found = true
				break
			}
		}
		if !found {
			groups = append(groups, group{key: k, paths: []string{p}})
		}
	}
	var out []matcher
	var errs []error
	for gi, g := range groups {
		m := base
		if len(groups) > 1 {
			m.id = uuidV5(splitNamespace, rt.ID+"#"+strconv.Itoa(gi+1))
			m.key.idKey = m.id
		}
		if g.key == 0 {
			m.pathKind = pathRegex
			var err error
			for _, p := range g.paths {
				re, e := routeregex.CompilePath(p)
				if e != nil {
					err = fmt.Errorf("path %q: %w", p, e)
					break
				}
				m.regexes = append(m.regexes, re)
				m.literals = append(m.literals, literalPrefix(re.String()))
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			m.key.regex = true
			m.key.regexPrio = int64(rt.RegexPriority)
		} else {
			m.pathKind = pathPrefix
			m.prefixes = g.paths
			m.key.length = g.key & 0x7FFFF
		}
		out = append(out, m)
	}
	return out, errs
}

// sortMatchers returns ms in rank order (stable: equal keys keep their
// order). It sorts a permutation and moves each matcher once, not the
// large matchers at every step.
func sortMatchers(ms []matcher) []matcher {
	perm := make([]int32, len(ms))
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortStableFunc(perm, func(a, b int32) int {
		switch {
		case ms[a].key.before(&ms[b].key):
			return -1
		case ms[b].key.before(&ms[a].key):
			return 1
		}
		return 0
	})
	out := make([]matcher, len(ms))
	for i, p := range perm {
		out[i] = ms[p]
	}
	return out
}

// splitHostPort is Kong's split_host_port: the part after the first ":" is
// a port when it is a (decimal) number.
func splitHostPort(h string) (string, int) {
	i := strings.IndexByte(h, ':')
	if i < 0 {
		return h, -1
	}
	p := h[i+1:]
	if p == "" || len(p) > 9 {
		return h, -1
	}
	n := 0
	for j := 0; j < len(p); j++ {
		c := p[j]
		if c < '0' || c > '9' {
			return h, -1
		}
		n = n*10 + int(c-'0')
	}
	return h[:i], n
}

func parseHostPat(h string) hostPat {
	host, port := splitHostPort(h)
	switch {
	case strings.HasPrefix(host, "*"):
		return hostPat{kind: patSuffix, val: host[1:], port: port}
	case strings.HasSuffix(host, "*"):
		return hostPat{kind: patPrefix, val: host[:len(host)-1], port: port}
	}
	return hostPat{kind: patExact, val: host, port: port}
}

func parseSNIPat(s string) hostPat {
	if strings.HasSuffix(s, "*") && !strings.HasPrefix(s, "*") {
		return hostPat{kind: patPrefix, val: s[:len(s)-1], port: -1}
	}
	if len(s) > 1 && s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	if strings.HasPrefix(s, "*") {
		return hostPat{kind: patSuffix, val: s[1:], port: -1}
	}
	return hostPat{kind: patExact, val: s, port: -1}
}

// --- stored value readers ---

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strField(m map[string]any, k string) (string, error) {
	switch v := m[k].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("%s: want a string, got %T", k, v)
	}
}

func strList(m map[string]any, k string) ([]string, bool, error) {
	switch v := m[k].(type) {
	case nil:
		return nil, false, nil
	case []string:
		return v, true, nil
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, false, fmt.Errorf("%s[%d]: want a string, got %T", k, i, e)
			}
			out[i] = s
		}
		return out, true, nil
	default:
		return nil, false, fmt.Errorf("%s: want a list of strings, got %T", k, v)
	}
}

func headerMap(v any) (map[string][]string, error) {
	out := map[string][]string{}
	add := func(name string, vals any) error {
		switch vs := vals.(type) {
		case []string:
			out[name] = vs
		case []any:
			list := make([]string, len(vs))
			for i, e := range vs {
				s, ok := e.(string)
				if !ok {
					return fmt.Errorf("headers.%s[%d]: want a string, got %T", name, i, e)
				}
				list[i] = s
			}
			out[name] = list
		case string:
			out[name] = []string{vs}
		default:
			return fmt.Errorf("headers.%s: want a list of strings, got %T", name, vals)
		}
		return nil
	}
	switch h := v.(type) {
	case nil:
		return nil, nil
	case map[string][]any:
		for k, vs := range h {
			if err := add(k, vs); err != nil {
				return nil, err
			}
		}
	case map[string][]string:
		for k, vs := range h {
			if err := add(k, vs); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		for k, vs := range h {
			if err := add(k, vs); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("headers: want an object, got %T", v)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func boolField(m map[string]any, k string, def bool) (bool, error) {
	switch v := m[k].(type) {
	case nil:
		return def, nil
	case bool:
		return v, nil
	default:
		return false, fmt.Errorf("%s: want a boolean, got %T", k, v)
	}
}

func intField(m map[string]any, k string, def int64) (int64, error) {
	switch v := m[k].(type) {
	case nil:
		return def, nil
	case int:
		return int64(v), nil
	case int32:
		return int64(v), nil
	case int64:
		return v, nil
	case float64:
		if v != math.Trunc(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("%s: want an integer, got %v", k, v)
		}
		return int64(v), nil
	case json.Number:
		n, err := v.Int64()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", k, err)
		}
		return n, nil
	default:
		return 0, fmt.Errorf("%s: want a number, got %T", k, v)
	}
}
