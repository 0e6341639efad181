package balancer

// TargetHealth is one entry of GET /upstreams/{u}/health: the target with
// Kong's computed health and the balancer's data for it.
type TargetHealth struct {
	ID     string           `json:"id"`
	Target string           `json:"target"`
	Weight int64            `json:"weight"`
	Health string           `json:"health"` // HEALTHY, UNHEALTHY, HEALTHCHECKS_OFF or DNS_ERROR
	Data   TargetHealthData `json:"data"`
}

// TargetHealthData is Kong's per-target balancer status ("data").
type TargetHealthData struct {
	Host       string          `json:"host"`
	Port       int             `json:"port"`
	DNS        string          `json:"dns"` // "A", "AAAA", or the resolution error
	NodeWeight int64           `json:"nodeWeight"`
	Weight     WeightSummary   `json:"weight"`
	Addresses  []AddressHealth `json:"addresses"`
}

// WeightSummary splits a weight into available and unavailable parts.
type WeightSummary struct {
	Total       int64 `json:"total"`
	Available   int64 `json:"available"`
	Unavailable int64 `json:"unavailable"`
}

// AddressHealth is one resolved address of a target.
type AddressHealth struct {
	IP     string `json:"ip"`
	Port   int    `json:"port"`
	Weight int64  `json:"weight"`
	Health string `json:"health"` // HEALTHY, UNHEALTHY or HEALTHCHECKS_OFF
}

// BalancerHealth is GET /upstreams/{u}/health?balancer_health=1 "data".
type BalancerHealth struct {
	ID string `json:"id"`
	// Health is HEALTHY when the available weight is above
	// healthchecks.threshold percent of the total, else UNHEALTHY;
	// HEALTHCHECKS_OFF when the upstream has no health checker.
	Health  string           `json:"health"`
	Details *BalancerDetails `json:"details,omitempty"` // nil with HEALTHCHECKS_OFF, as Kong
}

// BalancerDetails is Kong's balancer status.
type BalancerDetails struct {
	Healthy bool          `json:"healthy"`
	Weight  WeightSummary `json:"weight"`
	Hosts   []HostStatus  `json:"hosts"`
}

// HostStatus is one target in BalancerDetails.
type HostStatus struct {
	Host       string          `json:"host"`
	Port       int             `json:"port"`
	DNS        string          `json:"dns"`
	NodeWeight int64           `json:"nodeWeight"`
	Weight     WeightSummary   `json:"weight"`
	Addresses  []AddressStatus `json:"addresses"`
}

// AddressStatus is one address in HostStatus.
type AddressStatus struct {
	IP      string `json:"ip"`
	Port    int    `json:"port"`
	Weight  int64  `json:"weight"`
	Healthy bool   `json:"healthy"`
}

func (t *target) weights() WeightSummary {
	var w WeightSummary
	for _, a := range t.addrs {
		w.Total += a.weight
		if !a.available {
			w.Unavailable += a.weight
		}
	}
	w.Available = w.Total - w.Unavailable
	return w
}

// Health reports every target (in the order given to New) with its health as
// Kong computes it: DNS_ERROR without addresses; else HEALTHY when one
// address is healthy, UNHEALTHY when all are unhealthy, HEALTHCHECKS_OFF when
// the upstream has no health checker.
func (b *Balancer) Health() []TargetHealth {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]TargetHealth, 0, len(b.targets))
	for _, t := range b.targets {
		th := TargetHealth{
			ID:     t.cfg.id,
			Target: t.cfg.raw,
			Weight: t.cfg.weight,
			Data: TargetHealthData{
				Host:       t.cfg.host,
				Port:       int(t.cfg.port),
				DNS:        t.dnsType,
				NodeWeight: t.cfg.weight,
				Weight:     t.weights(),
				Addresses:  make([]AddressHealth, 0, len(t.addrs)),
			},
		}
		for _, a := range t.addrs {
			h := HealthchecksOff
			if b.hcOn {
				h = Unhealthy
				if a.available {
					h = Healthy
				}
			}
			th.Data.Addresses = append(th.Data.Addresses, AddressHealth{
				IP: a.ip.String(), Port: int(a.port), Weight: a.weight, Health: h,
			})
		}
		if len(t.addrs) == 0 {
			th.Health = DNSError
		} else {
			th.Health = HealthchecksOff
			for _, ah := range th.Data.Addresses {
				if ah.Health == Healthy {
					th.Health = Healthy
					break
				} else if ah.Health == Unhealthy {
					th.Health = Unhealthy
				}
			}
		}
		out = append(out, th)
	}
	return out
}

// BalancerHealth reports the upstream's own health (Kong's
// get_balancer_health).
func (b *Balancer) BalancerHealth() BalancerHealth {
	b.mu.Lock()
	defer b.mu.Unlock()
	bh := BalancerHealth{ID: b.cfg.id, Health: HealthchecksOff}
	if !b.hcOn {
		return bh
	}
	bh.Health = Unhealthy
	if b.healthy {
		bh.Health = Healthy
	}
	d := &BalancerDetails{
		Healthy: b.healthy,
		Weight:  WeightSummary{Total: b.total, Available: b.total - b.unavailable, Unavailable: b.unavailable},
		Hosts:   make([]HostStatus, 0, len(b.targets)),
	}
	for _, t := range b.targets {
		hs := HostStatus{
			Host:       t.cfg.host,
			Port:       int(t.cfg.port),
			DNS:        t.dnsType,
			NodeWeight: t.cfg.weight,
			Weight:     t.weights(),
			Addresses:  make([]AddressStatus, 0, len(t.addrs)),
		}
		for _, a := range t.addrs {
			hs.Addresses = append(hs.Addresses, AddressStatus{
				IP: a.ip.String(), Port: int(a.port), Weight: a.weight, Healthy: a.available,
			})
		}
		d.Hosts = append(d.Hosts, hs)
	}
	bh.Details = d
	return bh
}
