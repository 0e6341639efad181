package balancer

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"time"
)

// Start launches the background work: active health checks (every
// healthchecks.active.healthy.interval seconds for healthy addresses and every
// unhealthy.interval seconds for unhealthy ones, the first round one interval
// after Start) and the periodic resolution of host-name targets. Start after
// Close, or a second Start, does nothing.
func (b *Balancer) Start() {
	b.runMu.Lock()
	defer b.runMu.Unlock()
	if b.started || b.closed {
		return
	}
	b.started = true
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	c := &b.cfg.checks
	if b.hcOn {
		if c.activeHealthy.interval > 0 {
			b.wg.Add(1)
			go b.activeLoop(ctx, true, c.activeHealthy.interval)
		}
		if c.activeUnhealthy.interval > 0 {
			b.wg.Add(1)
			go b.activeLoop(ctx, false, c.activeUnhealthy.interval)
		}
	}
	if b.dnsInterval > 0 {
		for _, t := range b.targets {
			if !t.cfg.ip.IsValid() {
				b.wg.Add(1)
				go b.dnsLoop(ctx, b.dnsInterval)
				break
			}
		}
	}
}

// Close stops the background work and waits for it to end. The balancer
// still answers Pick, Report and Health after Close.
func (b *Balancer) Close() {
	b.runMu.Lock()
	b.closed = true
	cancel := b.cancel
	b.runMu.Unlock()
	if cancel != nil {
		cancel()
	}
	b.wg.Wait()
	b.clientsMu.Lock()
	for _, c := range b.clients {
		c.CloseIdleConnections()
	}
	b.clientsMu.Unlock()
}

func (b *Balancer) activeLoop(ctx context.Context, healthyMode bool, interval time.Duration) {
	defer b.wg.Done()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			b.activeRound(ctx, healthyMode)
		}
	}
}

// activeRound probes the addresses in the round's health mode (healthy and
// mostly healthy, or unhealthy and mostly unhealthy), at most
// healthchecks.active.concurrency at a time.
func (b *Balancer) activeRound(ctx context.Context, healthyMode bool) {
	b.mu.Lock()
	var list []*address
	for _, a := range b.addrs {
		if a.weight == 0 {
			continue
		}
		inHealthy := a.state == stHealthy || a.state == stMostlyHealthy
		if inHealthy == healthyMode {
			list = append(list, a)
		}
	}
	b.mu.Unlock()
	if len(list) == 0 {
		return
	}
	sem := make(chan struct{}, b.cfg.checks.concurrency)
	var wg sync.WaitGroup
	for _, a := range list {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			b.probe(ctx, a)
		}()
	}
	wg.Wait()
}

type probeOutcome uint8

const (
	probeStatus probeOutcome = iota
	probeSuccess
	probeTCPFailure
	probeTimeout
	probeCanceled
)

// probe runs one active check of a and records its outcome.
func (b *Balancer) probe(ctx context.Context, a *address) {
	c := &b.cfg.checks
	pctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var out probeOutcome
	var status int
	switch c.activeType {
	case "http", "https":
		out, status = b.probeHTTP(ctx, pctx, a)
	default: // tcp; grpc and grpcs are probed as a TCP connect
		out = b.probeTCP(ctx, pctx, a)
	}
	if out == probeCanceled {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch out {
	case probeSuccess:
		b.incrLocked(a, true, c.activeHealthy.successes, ctrSuccess, "active")
	case probeTCPFailure:
		b.incrLocked(a, false, c.activeUnhealthy.tcpFailures, ctrTCP, "active")
	case probeTimeout:
		b.incrLocked(a, false, c.activeUnhealthy.timeouts, ctrTimeout, "active")
	case probeStatus:
		switch {
		case c.activeHealthy.statuses.has(status):
			b.incrLocked(a, true, c.activeHealthy.successes, ctrSuccess, "active")
		case c.activeUnhealthy.statuses.has(status) || status == 0:
			b.incrLocked(a, false, c.activeUnhealthy.http, ctrHTTP, "active")
		}
	}
}

func classify(parent context.Context, err error) probeOutcome {
	if parent.Err() != nil {
		return probeCanceled
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout()) {
		return probeTimeout
	}
	return probeTCPFailure
}

func (b *Balancer) probeTCP(parent, ctx context.Context, a *address) probeOutcome {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", a.addr)
	if err != nil {
		return classify(parent, err)
	}
	conn.Close()
	return probeSuccess
}

// probeHTTP sends GET http_path to the address with the Host header Kong
// uses (upstream host_header, else the target's host) and the configured
// headers; the status is matched by the caller.
func (b *Balancer) probeHTTP(parent, ctx context.Context, a *address) (probeOutcome, int) {
	c := &b.cfg.checks
	scheme := c.activeType
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+a.addr+c.httpPath, nil)
	if err != nil {
		return probeStatus, 0 // a path Go cannot send: an invalid response
	}
	for k, vs := range c.headers {
		req.Header[k] = vs
	}
	host := b.cfg.hostHeader
	if host == "" {
		host = a.t.cfg.host
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() {
		host = "[" + host + "]"
	}
	if h := c.headers.Get("Host"); h != "" {
		host = h // a Host among the configured headers replaces Kong's default
	}
	req.Host = host
	sni := c.httpsSNI
	if sni == "" {
		sni = a.t.cfg.host
	}
	resp, err := b.probeClient(scheme, sni).Do(req)
	if err != nil {
		return classify(parent, err), 0
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
	return probeStatus, resp.StatusCode
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// probeClient returns the client for probes: Options.Client when given (with
// redirects off), else one per TLS server name.
func (b *Balancer) probeClient(scheme, sni string) *http.Client {
	key := ""
	if scheme == "https" && b.client == nil {
		key = sni
	}
	b.clientsMu.Lock()
	defer b.clientsMu.Unlock()
	if c, ok := b.clients[key]; ok {
		return c
	}
	var c *http.Client
	if b.client != nil {
		cp := *b.client
		cp.CheckRedirect = noRedirect
		c = &cp
	} else {
		tr := &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{}).DialContext,
			DisableKeepAlives:   true,
			TLSHandshakeTimeout: 0, // bounded by the probe's context
			TLSClientConfig: &tls.Config{
				ServerName:         sni,
				InsecureSkipVerify: !b.cfg.checks.httpsVerify,
			},
		}
		c = &http.Client{Transport: tr, CheckRedirect: noRedirect}
	}
	if b.clients == nil {
		b.clients = map[string]*http.Client{}
	}
	b.clients[key] = c
	return c
}

// ---- DNS ----

func defaultResolve(host string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// dnsLoop resolves host-name targets again every interval and rebuilds the
// balancer when an address set changed; addresses that stay keep their
// health, counters and statistics.
func (b *Balancer) dnsLoop(ctx context.Context, interval time.Duration) {
	defer b.wg.Done()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			b.refreshDNS(ctx)
		}
	}
}

func (b *Balancer) refreshDNS(ctx context.Context) {
	b.mu.Lock()
	targets := append([]*target(nil), b.targets...)
	b.mu.Unlock()
	type answer struct {
		t   *target
		ips []netip.Addr
		err error
	}
	var answers []answer
	for _, t := range targets {
		if t.cfg.ip.IsValid() {
			continue
		}
		if ctx.Err() != nil {
			return
		}
		ips, err := b.resolve(t.cfg.host)
		answers = append(answers, answer{t, ips, err})
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	changed := false
	for _, an := range answers {
		if an.err != nil && len(an.t.addrs) > 0 {
			// keep the last good answer while the name server fails
			b.log.Warn("DNS resolution failed, keeping previous addresses", "target", an.t.cfg.raw, "error", an.err)
			continue
		}
		if b.setAddresses(an.t, an.ips, an.err) {
			changed = true
		}
	}
	if changed {
		b.rebuildLocked()
	}
}
