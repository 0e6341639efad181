// Package balancer is Gatehouse's upstream load balancer: Kong's ring-balancer
// for one upstream entity and its targets (kong/runloop/balancer), with
// Kong's health checker semantics (lua-resty-healthcheck).
//
// A Balancer is built from the upstream and target records as the store
// returns them. The proxy calls Pick for each try of a request and Report
// once for each Pick; the Admin API reads Health and BalancerHealth and calls
// SetHealthy. Active health checks and DNS refreshes run between Start and
// Close. When targets or the upstream change, build a new Balancer and Close
// the old one.
//
// Algorithms (upstream.algorithm):
//   - round-robin: smooth weighted round-robin over available addresses
//     (deterministic; Kong shuffles a weighted wheel instead, with the same
//     long-run proportions).
//   - consistent-hashing: Kong's ketama-like continuum of upstream.slots
//     points (xxhash32 of "ip::port i", 160 points per address scaled by
//     weight); the request value is hashed onto it and the ring is walked
//     counter-clockwise to the first available address.
//   - least-connections: lowest (in-flight+1)/weight.
//   - latency: power of two random choices, lowest EWMA(latency)/weight,
//     EWMA decaying with a 10 s time constant as in Kong.
//
// A target host name that resolves to several addresses contributes each
// address with the target's weight; targets with weight 0 are never picked;
// when the same target appears more than once the last record wins.
//
// Health checks (upstream.healthchecks) follow lua-resty-healthcheck: each
// address has a success counter and tcp_failures, timeouts and http_failures
// counters shared by active probes and passive reports (each check kind with
// its own thresholds; a zero threshold turns that counter off). A success
// clears the failure counters, a failure clears the success counter; reaching
// a threshold makes the address healthy or unhealthy. Active probes GET
// http_path (or connect, for type tcp) every healthy.interval seconds for
// healthy addresses and every unhealthy.interval seconds for unhealthy ones.
// The upstream itself is healthy while its available weight is above
// healthchecks.threshold percent; while it is not, Pick returns ErrNoPeer.
//
// Known differences from Kong: round-robin is smooth and deterministic rather
// than a shuffled wheel; retries avoid already-tried addresses for every
// algorithm while another is available (Kong's hashing retries the same
// point); active grpc/grpcs checks are a TCP connect; threshold 100 with
// every address available counts as healthy.
package balancer

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"
)

// ErrNoPeer is returned by Pick when no address can take the request: none is
// available, or the upstream's healthy weight is not above
// healthchecks.threshold. The proxy answers 503 with this message, as Kong.
var ErrNoPeer = errors.New("failure to get a peer from the ring-balancer")

// ErrUnknownTarget is returned by SetHealthy for a target (or address) that
// is not in the balancer.
var ErrUnknownTarget = errors.New("balancer: target not found")

// ErrHealthchecksOff is returned by SetHealthy when the upstream has no
// health checker (no active interval and no passive failure threshold set),
// in which case Kong cannot set a target's health either.
var ErrHealthchecksOff = errors.New("balancer: health checks are not enabled for this upstream")

// Options are a Balancer's dependencies; every field is optional.
type Options struct {
	// Resolver returns the addresses of a target host name. Default:
	// net.DefaultResolver.LookupNetIP with a 5 s timeout.
	Resolver func(host string) ([]netip.Addr, error)
	// Now is the clock for latency EWMAs. Default time.Now.
	Now func() time.Time
	// Client performs active HTTP(S) probes; redirects are never followed.
	// Default: a client without keep-alives or proxies, honouring
	// healthchecks.active.https_sni and https_verify_certificate.
	Client *http.Client
	// Logger receives health transitions. Default slog.Default().
	Logger *slog.Logger
	// DNSInterval is how often host-name targets are resolved again after
	// Start. Default 30 s (Kong's requery interval); negative disables.
	DNSInterval time.Duration
}

// Peer is the address chosen by Pick.
type Peer struct {
	// Addr is "ip:port" ("[ip]:port" for IPv6), the address to dial.
	Addr string
	IP   netip.Addr
	Port int
	// Target is the target as configured ("host:port").
	Target string
	// Hostname is the upstream's host_header when set, else the target's host:
	// the name Kong uses for the Host header when preserve_host is off.
	Hostname string
	// HashCookie is non-nil when the upstream hashes on a cookie the request
	// did not carry: the proxy must set it on the response (Set-Cookie:
	// HashCookie.String()).
	HashCookie *HashCookie

	a *address
}

// Result is the outcome of one proxied try, for Report.
type Result struct {
	// Status is the upstream's HTTP status. With neither TCPError nor Timeout
	// set, 0 counts as an invalid response (an HTTP failure), as in Kong.
	Status int
	// TCPError: connecting, sending or receiving failed.
	TCPError bool
	// Timeout: the try timed out.
	Timeout bool
	// Latency is the connect+response time; it feeds the latency algorithm's
	// EWMA when positive.
	Latency time.Duration
}

// Health values, as Kong reports them.
const (
	Healthy         = "HEALTHY"
	Unhealthy       = "UNHEALTHY"
	HealthchecksOff = "HEALTHCHECKS_OFF"
	DNSError        = "DNS_ERROR"
)

type hcState uint8

const (
	stHealthy hcState = iota
	stMostlyHealthy
	stUnhealthy
	stMostlyUnhealthy
)

func (s hcState) String() string {
	return [...]string{"healthy", "mostly_healthy", "unhealthy", "mostly_unhealthy"}[s]
}

const (
	ctrSuccess = iota
	ctrHTTP
	ctrTCP
	ctrTimeout
)

type target struct {
	cfg     targetConfig
	addrs   []*address
	dnsErr  string // non-empty when resolution failed
	dnsType string // "A", "AAAA" or the error
}

type address struct {
	t      *target
	ip     netip.Addr
	port   uint16
	addr   string // "ip:port"
	weight int64
	idx    int32 // position in Balancer.addrs

	// health checker state
	state     hcState
	available bool
	ctr       [4]int

	cur    int64 // smooth round-robin current weight
	conns  int64 // in-flight tries (Pick minus Report)
	ewma   float64
	ewmaAt time.Time
	fresh  bool // added by a DNS change, waiting for the latency slow start
}

// Balancer balances one upstream over its targets. It is safe for concurrent
// use.
type Balancer struct {
	cfg         upstreamConfig
	hcOn        bool
	resolve     func(string) ([]netip.Addr, error)
	now         func() time.Time
	client      *http.Client
	log         *slog.Logger
	dnsInterval time.Duration

	mu          sync.Mutex
	targets     []*target
	addrs       []*address
	ring        []int32 // consistent-hashing continuum, -1 = empty point
	total       int64   // weight of all addresses
	unavailable int64   // weight of unavailable addresses
	healthy     bool
	built       bool // New is done: health changes are logged from now on
	lcNext      int
	rng         *rand.Rand

	runMu   sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	clientsMu sync.Mutex
	clients   map[string]*http.Client
}

// New builds the balancer for upstream and its targets (records as the store
// returns them). Host names are resolved before New returns; a target whose
// name does not resolve stays in the balancer with no address (DNS_ERROR).
func New(upstream map[string]any, targets []map[string]any, opts Options) (*Balancer, error) {
	cfg, err := parseUpstream(upstream)
	if err != nil {
		return nil, err
	}
	b := &Balancer{
		cfg:         cfg,
		hcOn:        cfg.checks.enabled(),
		resolve:     opts.Resolver,
		now:         opts.Now,
		client:      opts.Client,
		log:         opts.Logger,
		dnsInterval: opts.DNSInterval,
		// seeded from the name: picks are reproducible per upstream
		rng: rand.New(rand.NewPCG(uint64(xxhash32(cfg.name)), 0x9e3779b97f4a7c15)),
	}
	if b.resolve == nil {
		b.resolve = defaultResolve
	}
	if b.now == nil {
		b.now = time.Now
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	b.log = b.log.With("upstream", cfg.name)
	if b.dnsInterval == 0 {
		b.dnsInterval = 30 * time.Second
	}

	// duplicates: the last record for a target wins (kept at the first
	// record's position)
	pos := map[string]int{}
	var list []*target
	for _, m := range targets {
		tc, err := parseTarget(m)
		if err != nil {
			return nil, err
		}
		t := &target{cfg: tc}
		if i, ok := pos[tc.key()]; ok {
			list[i] = t
			continue
		}
		pos[tc.key()] = len(list)
		list = append(list, t)
	}
	b.targets = list

	var wg sync.WaitGroup
	for _, t := range list {
		if t.cfg.ip.IsValid() {
			b.setAddresses(t, []netip.Addr{t.cfg.ip}, nil)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ips, err := b.resolve(t.cfg.host)
			b.setAddresses(t, ips, err)
		}()
	}
	wg.Wait()

	b.mu.Lock()
	b.rebuildLocked()
	b.built = true
	b.mu.Unlock()
	return b, nil
}

// setAddresses replaces t's addresses with ips, keeping the state of the
// addresses that stay. It reports whether the set changed. Callers hold b.mu
// or own t exclusively.
func (b *Balancer) setAddresses(t *target, ips []netip.Addr, err error) bool {
	if err == nil && len(ips) == 0 {
		err = errors.New("dns client error: 101 empty record received")
	}
	if err != nil {
		t.dnsErr, t.dnsType = err.Error(), err.Error()
		changed := len(t.addrs) > 0
		t.addrs = nil
		return changed
	}
	norm := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		norm = append(norm, ip.Unmap())
	}
	// Kong sorts A/AAAA answers by address
	slices.SortFunc(norm, func(x, y netip.Addr) int { return x.Compare(y) })
	norm = slices.Compact(norm)

	t.dnsErr = ""
	t.dnsType = "A"
	if !norm[0].Is4() {
		t.dnsType = "AAAA"
	}
	old := map[netip.Addr]*address{}
	for _, a := range t.addrs {
		old[a.ip] = a
	}
	changed := len(norm) != len(t.addrs)
	next := make([]*address, 0, len(norm))
	for _, ip := range norm {
		if a, ok := old[ip]; ok {
			next = append(next, a)
			continue
		}
		changed = true
		next = append(next, &address{
			t:         t,
			ip:        ip,
			port:      t.cfg.port,
			addr:      netip.AddrPortFrom(ip, t.cfg.port).String(),
			weight:    t.cfg.weight,
			state:     stHealthy, // Kong adds targets to the checker as healthy
			available: true,
			fresh:     true,
		})
	}
	t.addrs = next
	return changed
}

// rebuildLocked recomputes the flat address list, weights, balancer health and
// the algorithm's structures after the address set changed.
func (b *Balancer) rebuildLocked() {
	b.addrs = b.addrs[:0:0]
	b.total, b.unavailable = 0, 0
	for _, t := range b.targets {
		for _, a := range t.addrs {
			a.idx = int32(len(b.addrs))
			b.addrs = append(b.addrs, a)
			b.total += a.weight
			if !a.available {
				b.unavailable += a.weight
			}
		}
	}
	switch b.cfg.algorithm {
	case AlgConsistentHashing:
		b.buildRing()
	case AlgLatency:
		b.slowStartLocked()
	}
	for _, a := range b.addrs {
		a.fresh = false
	}
	b.updateHealthLocked()
}

// slowStartLocked gives addresses added by a DNS change the average EWMA of
// the others, as Kong's latency balancer does, so that they are not flooded.
func (b *Balancer) slowStartLocked() {
	now := b.now()
	var sum float64
	var n int
	for _, a := range b.addrs {
		if !a.fresh && a.available {
			sum += decayEWMA(a.ewma, a.ewmaAt, 0, now)
			n++
		}
	}
	if n == 0 {
		return
	}
	for _, a := range b.addrs {
		if a.fresh {
			a.ewma, a.ewmaAt = sum/float64(n), now
		}
	}
}

// Kong's continuum constants (consistent_hashing.lua).
const (
	minContinuum = 1000
	serverPoints = 160
	maxContinuum = 1 << 32
	latencyDecay = 10.0 // seconds
)

// buildRing builds Kong's consistent-hashing continuum.
func (b *Balancer) buildRing() {
	points := b.cfg.slots
	if points < minContinuum || points > maxContinuum {
		points = minContinuum
	}
	ring := make([]int32, points)
	for i := range ring {
		ring[i] = -1
	}
	b.ring = ring
	if b.total == 0 {
		return
	}
	// targets by name then port, addresses by "ip:port", so that the ring
	// is the same whatever the order the targets came in
	ts := slices.Clone(b.targets)
	slices.SortStableFunc(ts, func(x, y *target) int {
		if x.cfg.host != y.cfg.host {
			if x.cfg.host < y.cfg.host {
				return -1
			}
			return 1
		}
		return int(x.cfg.port) - int(y.cfg.port)
	})
	count := float64(len(b.targets))
	collisions := 0
	var key []byte
	for _, t := range ts {
		as := slices.Clone(t.addrs)
		slices.SortFunc(as, func(x, y *address) int {
			kx := x.ip.String() + ":" + strconv.Itoa(int(x.port))
			ky := y.ip.String() + ":" + strconv.Itoa(int(y.port))
			if kx < ky {
				return -1
			} else if kx > ky {
				return 1
			}
			return 0
		})
		for _, a := range as {
			entries := int64(math.Floor(float64(a.weight) / float64(b.total) * count * serverPoints))
			if a.weight > 0 && entries == 0 {
				entries = 1
			}
			// Kong's point name: ip .. ":" .. (":" .. port) .. " " .. i
			prefix := a.ip.String() + "::" + strconv.Itoa(int(a.port)) + " "
			for i := int64(1); i <= entries; {
				key = strconv.AppendInt(append(key[:0], prefix...), i, 10)
				idx := xxhash32(string(key)) % uint32(points)
				if ring[idx] < 0 {
					ring[idx] = a.idx
				} else {
					entries++ // move the problem forward
					collisions++
				}
				i++
				if i > points {
					b.log.Error("consistent hashing balancer requires more entries to add the number of hosts requested, please increase the wheel size (slots)")
					return
				}
			}
		}
	}
	if collisions > 0 {
		b.log.Debug("continuum updated", "points", points, "collisions", collisions)
	}
}

// updateHealthLocked recomputes the upstream health as Kong's updateStatus:
// healthy when the available weight is above threshold percent of the total.
// Unlike Kong, an upstream with all of its weight available is healthy even
// with threshold 100 (Kong's strict comparison would make it unhealthy
// forever; its round-robin and hashing balancers ignore that state anyway).
func (b *Balancer) updateHealthLocked() {
	old := b.healthy
	switch {
	case b.total == 0:
		b.healthy = false
	case b.unavailable == 0:
		b.healthy = true
	default:
		b.healthy = float64(b.total-b.unavailable)/float64(b.total)*100 > b.cfg.checks.threshold
	}
	if b.healthy != old && b.hcOn && b.built {
		status := Unhealthy
		if b.healthy {
			status = Healthy
		}
		b.log.Warn("[healthchecks] balancer reported health status changed", "health", status)
	}
}

func (a *address) usable() bool { return a.weight > 0 && a.available }

func isTried(a *address, tried []string) bool {
	for _, s := range tried {
		if s == a.addr {
			return true
		}
	}
	return false
}

// Pick chooses the address for one try of a request. in carries what the
// upstream may hash on (nil: nothing); tried lists the Addr of the peers
// already tried for this request, which are avoided while another address is
// available. Every successful Pick must be followed by one Report. Pick
// returns ErrNoPeer when no address can be used.
func (b *Balancer) Pick(in *HashInput, tried []string) (Peer, error) {
	value, cookie := b.cfg.hashValue(in)
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.healthy {
		return Peer{}, ErrNoPeer
	}
	var a *address
	switch b.cfg.algorithm {
	case AlgConsistentHashing:
		a = b.pickHash(value, tried)
	case AlgLeastConnections:
		a = b.pickLeastConn(tried)
	case AlgLatency:
		a = b.pickLatency(tried)
	default:
		a = b.pickRoundRobin(tried)
	}
	if a == nil {
		return Peer{}, ErrNoPeer
	}
	a.conns++
	host := b.cfg.hostHeader
	if host == "" {
		host = a.t.cfg.host
	}
	return Peer{
		Addr:       a.addr,
		IP:         a.ip,
		Port:       int(a.port),
		Target:     a.t.cfg.raw,
		Hostname:   host,
		HashCookie: cookie,
		a:          a,
	}, nil
}

// pickRoundRobin is smooth weighted round-robin (as nginx): every candidate
// gains its weight, the highest current weight wins and loses the total.
func (b *Balancer) pickRoundRobin(tried []string) *address {
	if a := b.rrPass(tried, true); a != nil || len(tried) == 0 {
		return a
	}
	return b.rrPass(nil, false)
}

func (b *Balancer) rrPass(tried []string, skip bool) *address {
	var best *address
	var total int64
	for _, a := range b.addrs {
		if !a.usable() || (skip && isTried(a, tried)) {
			continue
		}
		a.cur += a.weight
		total += a.weight
		if best == nil || a.cur > best.cur {
			best = a
		}
	}
	if best != nil {
		best.cur -= total
	}
	return best
}

// pickHash hashes value onto the continuum and walks it counter-clockwise to
// the first usable address (first one not tried, when there is one).
func (b *Balancer) pickHash(value string, tried []string) *address {
	points := len(b.ring)
	if points == 0 {
		return nil
	}
	start := int(xxhash32(value) % uint32(points))
	for pass := 0; pass < 2; pass++ {
		skip := pass == 0 && len(tried) > 0
		idx := start
		for n := 0; n < points; n++ {
			if ai := b.ring[idx]; ai >= 0 {
				if a := b.addrs[ai]; a.usable() && (!skip || !isTried(a, tried)) {
					return a
				}
			}
			idx--
			if idx < 0 {
				idx = points - 1
			}
		}
		if len(tried) == 0 {
			break
		}
	}
	return nil
}

// pickLeastConn picks the lowest (in-flight+1)/weight; ties go to the next
// address in turn.
func (b *Balancer) pickLeastConn(tried []string) *address {
	n := len(b.addrs)
	if n == 0 {
		return nil
	}
	start := b.lcNext % n
	b.lcNext = start + 1
	for pass := 0; pass < 2; pass++ {
		skip := pass == 0 && len(tried) > 0
		var best *address
		for i := 0; i < n; i++ {
			a := b.addrs[(start+i)%n]
			if !a.usable() || (skip && isTried(a, tried)) {
				continue
			}
			if best == nil || (a.conns+1)*best.weight < (best.conns+1)*a.weight {
				best = a
			}
		}
		if best != nil || len(tried) == 0 {
			return best
		}
	}
	return nil
}

// pickLatency is Kong's latency algorithm: among two random candidates, the
// lower decayed EWMA / weight wins.
func (b *Balancer) pickLatency(tried []string) *address {
	for pass := 0; pass < 2; pass++ {
		skip := pass == 0 && len(tried) > 0
		n := 0
		for _, a := range b.addrs {
			if a.usable() && (!skip || !isTried(a, tried)) {
				n++
			}
		}
		if n == 0 {
			if len(tried) == 0 {
				return nil
			}
			continue
		}
		i, j := b.rng.IntN(n), -1
		if n > 1 {
			j = b.rng.IntN(n - 1)
			if j >= i {
				j++
			}
		}
		var first, second *address
		k := 0
		for _, a := range b.addrs {
			if !a.usable() || (skip && isTried(a, tried)) {
				continue
			}
			if k == i {
				first = a
			} else if k == j {
				second = a
			}
			k++
		}
		if second == nil {
			return first
		}
		now := b.now()
		s1 := decayEWMA(first.ewma, first.ewmaAt, 0, now) / float64(first.weight)
		s2 := decayEWMA(second.ewma, second.ewmaAt, 0, now) / float64(second.weight)
		if s2 < s1 {
			return second
		}
		return first
	}
	return nil
}

// decayEWMA is Kong's decay_ewma: the old value's weight fades with a 10 s
// time constant since it was last touched.
func decayEWMA(ewma float64, at time.Time, rtt float64, now time.Time) float64 {
	td := 0.0
	if at.IsZero() {
		td = math.Inf(1)
	} else if d := now.Sub(at).Seconds(); d > 0 {
		td = d
	}
	w := math.Exp(-td / latencyDecay)
	return ewma*w + rtt*(1-w)
}

// Report records the outcome of a try made on p: it releases the in-flight
// count Pick took (least-connections), feeds the latency EWMA, and counts
// towards the passive health checks when they are on. TCP errors count as
// tcp_failures, timeouts as timeouts, and otherwise the status is matched
// against healthchecks.passive.healthy/unhealthy.http_statuses.
func (b *Balancer) Report(p Peer, r Result) {
	a := p.a
	if a == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if a.conns > 0 {
		a.conns--
	}
	if r.Latency > 0 {
		now := b.now()
		a.ewma = decayEWMA(a.ewma, a.ewmaAt, r.Latency.Seconds(), now)
		a.ewmaAt = now
	}
	if !b.hcOn {
		return
	}
	c := &b.cfg.checks
	switch {
	case r.TCPError:
		b.incrLocked(a, false, c.passiveUnhealthy.tcpFailures, ctrTCP, "passive")
	case r.Timeout:
		b.incrLocked(a, false, c.passiveUnhealthy.timeouts, ctrTimeout, "passive")
	case c.passiveType == "tcp":
		b.incrLocked(a, true, c.passiveHealthy.successes, ctrSuccess, "passive")
	case c.passiveHealthy.statuses.has(r.Status):
		b.incrLocked(a, true, c.passiveHealthy.successes, ctrSuccess, "passive")
	case c.passiveUnhealthy.statuses.has(r.Status) || r.Status == 0:
		b.incrLocked(a, false, c.passiveUnhealthy.http, ctrHTTP, "passive")
	}
}

// incrLocked is lua-resty-healthcheck's incr_counter: a success clears the
// failure counters, a failure clears the success counter, and reaching the
// limit flips the address's health. A zero limit disables the counter.
func (b *Balancer) incrLocked(a *address, healthy bool, limit, ctr int, check string) {
	if limit == 0 || a.weight == 0 || a.addrOrphan(b) {
		return
	}
	cur := a.state
	if (healthy && cur == stHealthy) || (!healthy && cur == stUnhealthy) {
		return
	}
	if a.ctr[ctr] < 255 {
		a.ctr[ctr]++
	}
	n := a.ctr[ctr]
	if ctr == ctrSuccess {
		a.ctr[ctrHTTP], a.ctr[ctrTCP], a.ctr[ctrTimeout] = 0, 0, 0
	} else {
		a.ctr[ctrSuccess] = 0
	}
	next := cur
	switch {
	case n >= limit && healthy:
		next = stHealthy
	case n >= limit:
		next = stUnhealthy
	case cur == stHealthy && a.ctr[ctrHTTP]+a.ctr[ctrTCP]+a.ctr[ctrTimeout] > 0:
		next = stMostlyHealthy
	case cur == stUnhealthy && a.ctr[ctrSuccess] > 0:
		next = stMostlyUnhealthy
	}
	if next != cur {
		b.setStateLocked(a, next, check)
	}
}

// addrOrphan reports whether a no longer belongs to the balancer (a Peer
// picked before a DNS change removed its address).
func (a *address) addrOrphan(b *Balancer) bool {
	return int(a.idx) >= len(b.addrs) || b.addrs[a.idx] != a
}

// setStateLocked moves a to state; the balancer follows only the healthy and
// unhealthy events, as Kong's (mostly_* keep the address as it was).
func (b *Balancer) setStateLocked(a *address, s hcState, check string) {
	a.state = s
	switch s {
	case stHealthy:
		b.setAvailableLocked(a, true, check)
	case stUnhealthy:
		b.setAvailableLocked(a, false, check)
	}
}

func (b *Balancer) setAvailableLocked(a *address, v bool, check string) {
	if a.available == v {
		return
	}
	a.available = v
	if v {
		b.unavailable -= a.weight
	} else {
		b.unavailable += a.weight
	}
	b.log.Warn("[healthchecks] target health changed", "target", a.t.cfg.raw,
		"address", a.addr, "healthy", v, "check", check)
	b.updateHealthLocked()
}

// SetHealthy forces the health of every address of a target (its id or its
// "host:port"), clearing the health counters, as Kong's POST
// /upstreams/{u}/targets/{t}/healthy|unhealthy. The status lasts until the
// health checks change it.
func (b *Balancer) SetHealthy(target string, healthy bool) error {
	return b.SetAddressHealthy(target, "", healthy)
}

// SetAddressHealthy is SetHealthy for one address ("ip:port", or "ip" for the
// target's port) of a target, as Kong's POST
// /upstreams/{u}/targets/{t}/{address}/healthy|unhealthy. An empty address
// means all of the target's addresses.
func (b *Balancer) SetAddressHealthy(target, addr string, healthy bool) error {
	if !b.hcOn {
		return ErrHealthchecksOff
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.findTargetLocked(target)
	if t == nil {
		return ErrUnknownTarget
	}
	s := stUnhealthy
	if healthy {
		s = stHealthy
	}
	found := addr == ""
	for _, a := range t.addrs {
		if addr != "" && !matchAddr(a, addr) {
			continue
		}
		found = true
		if a.weight == 0 {
			continue // not in the health checker, as in Kong
		}
		a.ctr = [4]int{}
		a.state = s
		b.setAvailableLocked(a, healthy, "admin")
	}
	if !found {
		return ErrUnknownTarget
	}
	return nil
}

func matchAddr(a *address, s string) bool {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap() == a.ip && ap.Port() == a.port
	}
	ip, err := netip.ParseAddr(trimBrackets(s))
	return err == nil && ip.Unmap() == a.ip
}

func trimBrackets(s string) string {
	if len(s) > 1 && s[0] == '[' && s[len(s)-1] == ']' {
		return s[1 : len(s)-1]
	}
	return s
}

func (b *Balancer) findTargetLocked(s string) *target {
	for _, t := range b.targets {
		if t.cfg.id != "" && t.cfg.id == s {
			return t
		}
	}
	for _, t := range b.targets {
		if t.cfg.raw == s {
			return t
		}
	}
	if tc, err := parseTarget(map[string]any{"target": s}); err == nil {
		for _, t := range b.targets {
			if t.cfg.key() == tc.key() {
				return t
			}
		}
	}
	return nil
}
