// Package abi is the conformance kit of the host ABI (hostabi), after
// http-wasm's TCK: a probe per operation of the phase table, called once
// in a phase where it is allowed (the result must be the same on every
// host) and once outside its phases (the call must fail the plugin with
// the phase error, never return a zero value), and a runner that drives
// any host through the Host interface. The proxy and sdk/plugintest run
// it in this package's tests; the Lua and Wasm hosts implement Host with
// a guest that performs the same operations.
package abi

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
)

// The fixed world every host sets up for the probes.
const (
	// PluginName and PluginID name the probe plugin's instance.
	PluginName = "abi-probe"
	PluginID   = "a0000000-0000-4000-8000-0000000000b1"
	// ProbeHeader carries the probe's name on every request.
	ProbeHeader = "X-Abi-Probe"
	// Path is the request path; the route is the regex RoutePath.
	Path      = "/abi/probe"
	RoutePath = `~/abi/(?<what>\w+)$`
	// RequestHost is the request's Host header.
	RequestHost = "abi.test"
	// Query and Body are the request's query string and JSON body.
	Query = "a=1&a=2&b=x"
	Body  = `{"k":"v"}`
	// UpstreamName is an upstream whose one target is the service's
	// upstream server; TrustedCIDR is the node's trusted_ips.
	UpstreamName = "abi-upstream"
	TrustedCIDR  = "10.0.0.0/8"
	// ConsumerName and CredentialKey are a consumer and its key-auth
	// credential.
	ConsumerName  = "abi-user"
	CredentialKey = "abi-key"
	// UpstreamStatus, UpstreamHeader (with value UpstreamValue) and
	// UpstreamBody are the upstream's answer.
	UpstreamStatus = 200
	UpstreamHeader = "X-Upstream"
	UpstreamValue  = "abi"
	UpstreamBody   = "upstream-body"
	// ServiceTimeout is the service's connect, write and read timeout
	// each (so a request's deadline is three of them).
	ServiceTimeout = 2 * time.Second
)

// RequestHeaders are the request's headers besides Host and ProbeHeader.
var RequestHeaders = map[string][]string{"X-Multi": {"1", "2"}, "Content-Type": {"application/json"}}

// Outcome is what a host reports of one probe's request.
type Outcome struct {
	// Called and Returned report whether the probe reached the operation
	// and whether the operation returned; Observed is what the probe
	// made of its result.
	Called, Returned bool
	Observed         string
	// Fault is the plugin failure the host recorded ("" if none): the
	// error's text.
	Fault string
	// Status, Header (lower-cased names) and Body are the response the
	// client got (for the plugintest host: the recorded result).
	Status int
	Header map[string][]string
	Body   string
	// Upstream is the request the upstream got: method, path, raw
	// query, headers (lower-cased names) and body. Proxied is false when
	// nothing reached it.
	Proxied  bool
	Upstream UpstreamRequest
	// LogPlugins are the plugin names attached to the probe's kong.log
	// lines.
	LogPlugins []string
}

// UpstreamRequest is what reached the upstream.
type UpstreamRequest struct {
	Method, Path, RawQuery string
	Header                 map[string][]string
	Body                   string
}

// Host runs the probe plugin on a host.
type Host interface {
	// Run sends the standard request with ProbeHeader set to probe.Name
	// through a host whose probe plugin (PluginName) performs probe in
	// probe.Phase, and reports what happened.
	Run(t testing.TB, probe Probe) Outcome
}

// Run runs every probe on host, each as a subtest.
func Run(t *testing.T, host Host) {
	for _, p := range Probes() {
		t.Run(p.Name, func(t *testing.T) {
			o := host.Run(t, p)
			if !o.Called {
				t.Fatalf("the probe never reached %s in %s: %+v", p.Op, p.Phase, o)
			}
			if p.OutOfPhase {
				want := (&hostabi.PhaseError{Op: p.Op, Phase: p.Phase}).Error()
				if o.Returned || !strings.Contains(o.Fault, want) {
					t.Fatalf("out of phase: returned=%v observed=%q fault=%q, want the plugin failed with %q", o.Returned, o.Observed, o.Fault, want)
				}
				return
			}
			if !o.Returned || o.Fault != "" {
				t.Fatalf("in phase: returned=%v fault=%q", o.Returned, o.Fault)
			}
			if o.Observed != p.Want {
				t.Errorf("observed %q, want %q", o.Observed, p.Want)
			}
			if p.Check != nil {
				if err := p.Check(o); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// Covered returns the operations the probes call in phase and out of
// phase, for a test that the table is covered.
func Covered() (in, out map[hostabi.Op]bool) {
	in, out = map[hostabi.Op]bool{}, map[hostabi.Op]bool{}
	for _, p := range Probes() {
		if p.OutOfPhase {
			out[p.Op] = true
		} else {
			in[p.Op] = true
		}
	}
	return in, out
}

// Probes returns every probe: for each operation one call in a phase that
// allows it, and one in a phase that does not (unless it is allowed in
// every phase).
func Probes() []Probe {
	var out []Probe
	for _, s := range specs {
		p := Probe{Op: s.op, Phase: s.phase, Want: s.want, Call: s.call, Check: s.check}
		p.Name = fmt.Sprintf("%s/%s", s.op, s.phase)
		if s.variant != "" {
			p.Name += "/" + s.variant
		}
		out = append(out, p)
	}
	seen := map[hostabi.Op]bool{}
	for _, s := range specs {
		if seen[s.op] || s.op.Phases() == hostabi.AllPhases {
			continue
		}
		seen[s.op] = true
		ph := outPhase(s.op.Phases())
		out = append(out, Probe{Op: s.op, Phase: ph, OutOfPhase: true, Call: s.call,
			Name: fmt.Sprintf("%s/%s/out_of_phase", s.op, ph)})
	}
	return out
}

// outPhase picks a phase the set does not allow, preferring those that
// come before the response is sent (their fault is the client's 500).
func outPhase(s hostabi.PhaseSet) hostabi.Phase {
	for _, p := range []hostabi.Phase{hostabi.PhaseRewrite, hostabi.PhaseHeaderFilter, hostabi.PhaseAccess,
		hostabi.PhaseResponse, hostabi.PhaseBodyFilter, hostabi.PhaseLog} {
		if !s.Has(p) {
			return p
		}
	}
	return 0
}

// Probe is one call of one operation in one phase.
type Probe struct {
	Name  string
	Op    hostabi.Op
	Phase hostabi.Phase
	// OutOfPhase probes must fail the plugin with a *hostabi.PhaseError.
	OutOfPhase bool
	// Call performs the operation and returns the observation.
	Call func(k hostabi.Kong) string
	// Want is the observation every host must produce in phase.
	Want string
	// Check, when set, checks the request's outcome too.
	Check func(o Outcome) error
}

// Perform runs the probe in a plugin's phase method: when the phase is the
// probe's, it reports the call to rec, calls the operation and reports its
// return. A host's probe plugin calls it from every phase.
func (p Probe) Perform(k hostabi.Kong, phase hostabi.Phase, rec Recorder) {
	if phase != p.Phase {
		return
	}
	rec.Called(p.Name)
	obs := p.Call(k)
	rec.Returned(p.Name, obs)
}

// Recorder collects what a probe plugin did.
type Recorder interface {
	Called(probe string)
	Returned(probe, observed string)
}

func sortedValues(m map[string][]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s;", k, strings.Join(m[k], ","))
	}
	return b.String()
}
