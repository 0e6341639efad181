// Package threat holds what Gatehouse's threat protection shares between
// the proxy, the threat-protection plugin and the Admin API: the denied
// client addresses of a snapshot (IPSet), the per-key request counters
// and blocks the DoS limits keep (Limiter), and the threat events every
// denial or alert emits (Ring, the Prometheus counter
// gatehouse_threat_events_total). See README.md.
package threat

import (
	"strconv"
	"sync"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
)

// Actions an event records.
const (
	ActionDeny  = "deny"
	ActionAlert = "alert"
)

// Event is one threat denial or alert.
type Event struct {
	// ID orders events: a later event has a greater ID.
	ID uint64 `json:"id"`
	// Time is when the request was decided (epoch seconds, ms precision).
	Time float64 `json:"time"`
	// Rule names the limit or rule: "denied_ips", "dos", "dos_by_ip",
	// "auth_lockout" or a rule's name.
	Rule string `json:"rule"`
	// Filter names what crossed its limit (max_requests, max_in_progress,
	// blocked, max_failures, ip, a rule filter).
	Filter string `json:"filter"`
	// Action is "deny" or "alert".
	Action string `json:"action"`
	// Status is the response status of a denial (0 for an alert).
	Status  int    `json:"status,omitempty"`
	Message string `json:"message"`
	// ClientIP is the client address as trusted_ips and real_ip_header
	// compute it.
	ClientIP string `json:"client_ip"`
	Host     string `json:"host"`
	Path     string `json:"path"`
	Method   string `json:"method"`
}

// Counter counts threat events by rule, filter and action; it is
// registered with Prometheus's default registry, which the prometheus
// plugin's /metrics exports.
var Counter = prom.NewCounterVec(prom.CounterOpts{
	Name: "gatehouse_threat_events_total",
	Help: "Threat protection denials and alerts, by rule, filter and action.",
}, []string{"rule", "filter", "action"})

func init() { prom.MustRegister(Counter) }

// DefaultRingSize bounds the events Events keeps.
const DefaultRingSize = 1024

// Events is the node's ring of recent threat events, served at
// GET /threat-events.
var Events = NewRing(DefaultRingSize)

// Ring is a bounded ring of events, newest first; safe for concurrent
// use.
type Ring struct {
	mu   sync.Mutex
	buf  []Event
	next uint64 // ID of the next event; buf[(id-1) % len] holds event id
}

// NewRing returns a ring keeping the last size events (size < 1 keeps 1).
func NewRing(size int) *Ring {
	return &Ring{buf: make([]Event, max(size, 1)), next: 1}
}

// Record stamps e with an ID (and the current time when e.Time is zero),
// keeps it, counts it in Counter and returns it.
func (r *Ring) Record(e Event) Event {
	if e.Time == 0 {
		e.Time = float64(time.Now().UnixMilli()) / 1000
	}
	if e.Action == "" {
		e.Action = ActionDeny
	}
	r.mu.Lock()
	e.ID = r.next
	r.next++
	r.buf[(e.ID-1)%uint64(len(r.buf))] = e
	r.mu.Unlock()
	Counter.WithLabelValues(e.Rule, e.Filter, e.Action).Inc()
	return e
}

// List returns up to size events, newest first, with IDs below before (0:
// from the newest), and the ID to pass as before for the next page (0
// when there is none).
func (r *Ring) List(before uint64, size int) ([]Event, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	newest := r.next - 1
	oldest := uint64(1)
	if n := uint64(len(r.buf)); newest > n {
		oldest = newest - n + 1
	}
	start := newest
	if before != 0 && before-1 < start {
		start = before - 1
	}
	var out []Event
	id := start
	for ; id >= oldest && id > 0 && len(out) < size; id-- {
		out = append(out, r.buf[(id-1)%uint64(len(r.buf))])
	}
	if id >= oldest && id > 0 {
		return out, id + 1
	}
	return out, 0
}

// ParseOffset parses a page offset ("" is 0).
func ParseOffset(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseUint(s, 10, 64)
}
