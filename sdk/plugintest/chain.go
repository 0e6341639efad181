package plugintest

import (
	"testing"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/chain"
)

// ChainPlugin is one configured plugin for RunChain: an instance (what the
// plugin's factory returned) with its name, priority and scope, as a
// plugin entity gives them to the node.
type ChainPlugin struct {
	// ID defaults to DefaultPluginID.
	ID       string
	Name     string
	Priority int
	// RouteID, ServiceID and ConsumerID scope the instance ("" = any).
	RouteID, ServiceID, ConsumerID string
	// Protocols limits the request protocols it applies to (nil: all).
	Protocols []string
	Instance  any
}

// RunChain runs req through several plugins with the node's own chain
// (runtime/chain): the global plugins' rewrite phase; access for each
// plugin name by priority, the most specific instance for the request's
// route (Request.Route "id"), service (Request.Service "id") and the
// consumer known at its turn, stopping at an exit or a failure; then, for
// the plugins that applied, response (when one has it and nothing exited),
// header_filter, body_filter (on ServiceBody, or the exit body) and log.
// The result's Err is the first failure's error; a panic is reported as a
// test error and recorded in Result.Panic, as Run does. Invalid plugins
// (two of a name on one scope) fail the test.
func (e *Env) RunChain(t testing.TB, plugins []ChainPlugin, req *Request) *Result {
	t.Helper()
	instances := make([]*chain.Instance, len(plugins))
	for i, p := range plugins {
		id := p.ID
		if id == "" {
			id = DefaultPluginID
		}
		in := &chain.Instance{ID: id, Name: p.Name, Priority: p.Priority, RouteID: p.RouteID,
			ServiceID: p.ServiceID, ConsumerID: p.ConsumerID, Protocols: p.Protocols, Plugin: p.Instance}
		in.Bind()
		instances[i] = in
	}
	ix, err := chain.NewIndex(instances)
	if err != nil {
		t.Fatal(err)
	}
	k := e.NewKong(req)
	exited := func() bool { return k.exited }
	consumer := func() string {
		id, _ := k.consumer["id"].(string)
		return id
	}
	route, _ := k.req.Route["id"].(string)
	service, _ := k.req.Service["id"].(string)
	protocol := k.req.Protocol
	if protocol == "" {
		protocol = k.req.scheme()
	}
	var plan chain.Plan
	fault := func() *chain.Fault {
		k.phase = hostabi.PhaseRewrite
		if f := ix.Rewrite(k, exited); f != nil || k.exited {
			return f
		}
		k.phase = hostabi.PhaseAccess
		if f := ix.Access(k, chain.Scope{RouteID: route, ServiceID: service, Protocol: protocol}, consumer, exited, &plan); f != nil {
			return f
		}
		if plan.NeedsBuffering() && !k.exited {
			k.phase = hostabi.PhaseResponse
			if f := plan.Run(hostabi.PhaseResponse, k, exited); f != nil {
				return f
			}
		}
		k.phase = hostabi.PhaseHeaderFilter
		if f := plan.Run(hostabi.PhaseHeaderFilter, k, exited); f != nil {
			return f
		}
		k.phase = hostabi.PhaseBodyFilter
		body := k.respBody
		if k.exited {
			body = k.exitBody
		}
		out, f := plan.BodyFilter(k, body, true)
		if f != nil {
			return f
		}
		if k.exited {
			k.exitBody = out
		} else {
			k.respBody = out
		}
		return nil
	}()
	k.phase = hostabi.PhaseLog
	if lf := plan.Run(hostabi.PhaseLog, k, exited); fault == nil {
		fault = lf
	}
	res := k.Result()
	if fault != nil {
		res.Err, res.Panic = fault.Err, fault.Panic
		if fault.Panic != nil {
			t.Errorf("plugin %s panicked in %s: %v\n%s", fault.Plugin, fault.Phase, fault.Panic, fault.Stack)
		}
	}
	return res
}
