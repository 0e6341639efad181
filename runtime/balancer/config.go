package balancer

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Kong's defaults for upstream fields (kong/db/schema/entities/upstreams.lua).
const (
	defaultSlots        = 10000
	defaultTargetPort   = 8000 // Kong's DEFAULT_PORT for targets without a port
	defaultTargetWeight = 100
)

// Algorithm names as Kong spells them in upstream.algorithm.
const (
	AlgRoundRobin        = "round-robin"
	AlgConsistentHashing = "consistent-hashing"
	AlgLeastConnections  = "least-connections"
	AlgLatency           = "latency"
)

// statusSet is a bitset of HTTP status codes 0..1023 (Kong allows 100..999).
type statusSet [16]uint64

func (s *statusSet) add(code int) {
	if code >= 0 && code < 1024 {
		s[code>>6] |= 1 << (uint(code) & 63)
	}
}

func (s *statusSet) has(code int) bool {
	return code >= 0 && code < 1024 && s[code>>6]&(1<<(uint(code)&63)) != 0
}

func makeStatusSet(codes ...int) statusSet {
	var s statusSet
	for _, c := range codes {
		s.add(c)
	}
	return s
}

// checksConfig mirrors upstream.healthchecks.
type checksConfig struct {
	activeType    string // http | https | tcp | grpc | grpcs
	timeout       time.Duration
	concurrency   int
	httpPath      string
	httpsSNI      string
	httpsVerify   bool
	headers       http.Header
	activeHealthy struct {
		interval  time.Duration
		statuses  statusSet
		successes int
	}
	activeUnhealthy struct {
		interval                    time.Duration
		statuses                    statusSet
		tcpFailures, timeouts, http int
	}
	passiveType    string
	passiveHealthy struct {
		statuses  statusSet
		successes int
	}
	passiveUnhealthy struct {
		statuses                    statusSet
		tcpFailures, timeouts, http int
	}
	threshold float64
}

// enabled reports whether Kong would attach a health checker to the balancer
// (healthcheckers.lua is_upstream_using_healthcheck).
func (c *checksConfig) enabled() bool {
	return c.activeHealthy.interval != 0 || c.activeUnhealthy.interval != 0 ||
		c.passiveUnhealthy.tcpFailures != 0 || c.passiveUnhealthy.timeouts != 0 ||
		c.passiveUnhealthy.http != 0
}

// upstreamConfig is the parsed upstream record.
type upstreamConfig struct {
	id, name   string
	algorithm  string
	hostHeader string
	slots      int64

	hashOn, hashFallback                     string
	hashOnHeader, hashFallbackHeader         string
	hashOnCookie, hashOnCookiePath           string
	hashOnQueryArg, hashFallbackQueryArg     string
	hashOnURICapture, hashFallbackURICapture string

	checks checksConfig
}

func parseUpstream(m map[string]any) (upstreamConfig, error) {
	u := upstreamConfig{
		id:                     str(m, "id"),
		name:                   str(m, "name"),
		algorithm:              strOr(m, "algorithm", AlgRoundRobin),
		hostHeader:             str(m, "host_header"),
		slots:                  int64(numOr(m, "slots", defaultSlots)),
		hashOn:                 strOr(m, "hash_on", "none"),
		hashFallback:           strOr(m, "hash_fallback", "none"),
		hashOnHeader:           str(m, "hash_on_header"),
		hashFallbackHeader:     str(m, "hash_fallback_header"),
		hashOnCookie:           str(m, "hash_on_cookie"),
		hashOnCookiePath:       strOr(m, "hash_on_cookie_path", "/"),
		hashOnQueryArg:         str(m, "hash_on_query_arg"),
		hashFallbackQueryArg:   str(m, "hash_fallback_query_arg"),
		hashOnURICapture:       str(m, "hash_on_uri_capture"),
		hashFallbackURICapture: str(m, "hash_fallback_uri_capture"),
	}
	switch u.algorithm {
	case AlgRoundRobin, AlgConsistentHashing, AlgLeastConnections, AlgLatency:
	default:
		return u, fmt.Errorf("balancer: unknown algorithm %q", u.algorithm)
	}
	hc, _ := m["healthchecks"].(map[string]any)
	checks, err := parseChecks(hc)
	if err != nil {
		return u, err
	}
	u.checks = checks
	return u, nil
}

func parseChecks(hc map[string]any) (checksConfig, error) {
	var c checksConfig
	active := sub(hc, "active")
	passive := sub(hc, "passive")
	ah, au := sub(active, "healthy"), sub(active, "unhealthy")
	ph, pu := sub(passive, "healthy"), sub(passive, "unhealthy")

	c.activeType = strOr(active, "type", "http")
	switch c.activeType {
	case "http", "https", "tcp", "grpc", "grpcs":
	default:
		return c, fmt.Errorf("balancer: unknown healthchecks.active.type %q", c.activeType)
	}
	c.timeout = seconds(numOr(active, "timeout", 1))
	c.concurrency = int(numOr(active, "concurrency", 10))
	if c.concurrency < 1 {
		c.concurrency = 1
	}
	c.httpPath = strOr(active, "http_path", "/")
	if !strings.HasPrefix(c.httpPath, "/") {
		c.httpPath = "/" + c.httpPath
	}
	c.httpsSNI = str(active, "https_sni")
	c.httpsVerify = boolOr(active, "https_verify_certificate", true)
	c.headers = headersOf(active["headers"])

	c.activeHealthy.interval = interval(numOr(ah, "interval", 0))
	c.activeHealthy.statuses = statusesOr(ah, "http_statuses", 200, 302)
	c.activeHealthy.successes = int(numOr(ah, "successes", 0))

	c.activeUnhealthy.interval = interval(numOr(au, "interval", 0))
	c.activeUnhealthy.statuses = statusesOr(au, "http_statuses", 429, 404, 500, 501, 502, 503, 504, 505)
	c.activeUnhealthy.tcpFailures = int(numOr(au, "tcp_failures", 0))
	c.activeUnhealthy.timeouts = int(numOr(au, "timeouts", 0))
	c.activeUnhealthy.http = int(numOr(au, "http_failures", 0))

	c.passiveType = strOr(passive, "type", "http")
	c.passiveHealthy.statuses = statusesOr(ph, "http_statuses",
		200, 201, 202, 203, 204, 205, 206, 207, 208, 226,
		300, 301, 302, 303, 304, 305, 306, 307, 308)
	c.passiveHealthy.successes = int(numOr(ph, "successes", 0))
	c.passiveUnhealthy.statuses = statusesOr(pu, "http_statuses", 429, 500, 503)
	c.passiveUnhealthy.tcpFailures = int(numOr(pu, "tcp_failures", 0))
	c.passiveUnhealthy.timeouts = int(numOr(pu, "timeouts", 0))
	c.passiveUnhealthy.http = int(numOr(pu, "http_failures", 0))

	c.threshold = numOr(hc, "threshold", 0)
	return c, nil
}

// targetConfig is one parsed target record.
type targetConfig struct {
	id     string
	raw    string // the target as configured
	host   string // host name or IP literal, without brackets
	port   uint16
	weight int64
	ip     netip.Addr // valid when host is an IP literal
}

// key is the canonical form used to find duplicates.
func (t *targetConfig) key() string {
	h := strings.ToLower(t.host)
	return net.JoinHostPort(h, strconv.Itoa(int(t.port)))
}

func parseTarget(m map[string]any) (targetConfig, error) {
	t := targetConfig{
		id:     str(m, "id"),
		raw:    str(m, "target"),
		weight: int64(numOr(m, "weight", defaultTargetWeight)),
	}
	if t.raw == "" {
		return t, fmt.Errorf("balancer: target %q has no target field", t.id)
	}
	if t.weight < 0 {
		return t, fmt.Errorf("balancer: target %q has a negative weight", t.raw)
	}
	host, port, err := net.SplitHostPort(t.raw)
	if err != nil {
		// no port: Kong formats the target with its default port 8000
		host, port = strings.TrimSuffix(strings.TrimPrefix(t.raw, "["), "]"), strconv.Itoa(defaultTargetPort)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || host == "" {
		return t, fmt.Errorf("balancer: invalid target %q", t.raw)
	}
	t.host, t.port = host, uint16(p)
	if ip, err := netip.ParseAddr(host); err == nil {
		t.ip = ip.Unmap()
	}
	return t, nil
}

// ---- helpers for map[string]any records ----

func sub(m map[string]any, k string) map[string]any {
	v, _ := m[k].(map[string]any)
	return v
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func strOr(m map[string]any, k, def string) string {
	if s, ok := m[k].(string); ok && s != "" {
		return s
	}
	return def
}

func boolOr(m map[string]any, k string, def bool) bool {
	if b, ok := m[k].(bool); ok {
		return b
	}
	return def
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case float32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case interface{ Float64() (float64, error) }: // json.Number
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func numOr(m map[string]any, k string, def float64) float64 {
	if f, ok := toFloat(m[k]); ok && !math.IsNaN(f) {
		return f
	}
	return def
}

// minInterval keeps a nonzero probe interval from becoming a busy loop.
// The store refuses intervals below store.MinHealthcheckInterval (0.1 s) at
// write time; this lower safety net covers configurations stored before
// that check existed (1e-6 s kept an idle gateway's CPU at 109 %).
const minInterval = 10 * time.Millisecond

func interval(s float64) time.Duration {
	d := seconds(s)
	if d > 0 && d < minInterval {
		return minInterval
	}
	return d
}

func seconds(s float64) time.Duration {
	if s <= 0 {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

func statusesOr(m map[string]any, k string, def ...int) statusSet {
	switch l := m[k].(type) {
	case []any:
		var s statusSet
		for _, v := range l {
			if f, ok := toFloat(v); ok {
				s.add(int(f))
			}
		}
		return s
	case []int64:
		var s statusSet
		for _, v := range l {
			s.add(int(v))
		}
		return s
	case []int:
		return makeStatusSet(l...)
	case []float64:
		var s statusSet
		for _, v := range l {
			s.add(int(v))
		}
		return s
	}
	return makeStatusSet(def...)
}

// headersOf reads healthchecks.active.headers: Kong stores a map of header
// name to an array of values.
func headersOf(v any) http.Header {
	h := http.Header{}
	switch m := v.(type) {
	case map[string]any:
		for name, vals := range m {
			switch vv := vals.(type) {
			case string:
				h.Add(name, vv)
			case []any:
				for _, x := range vv {
					if s, ok := x.(string); ok {
						h.Add(name, s)
					}
				}
			case []string:
				for _, s := range vv {
					h.Add(name, s)
				}
			}
		}
	case map[string][]string:
		for name, vals := range m {
			for _, s := range vals {
				h.Add(name, s)
			}
		}
	}
	return h
}
