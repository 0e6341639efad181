// Package chain decides which plugin instances apply to a request and runs
// their phases: Kong's scoping precedence (consumer, route and service
// combinations down to global), re-evaluated once an authentication plugin
// has identified the consumer, and execution by priority. A plugin that
// returns an error or panics ends the request; the caller answers 500.
package chain

import (
	"fmt"
	"runtime/debug"
	"sort"

	"github.com/gatehouse/gatehouse/hostabi"
)

// Instance is one configured plugin (one plugin entity) ready to run.
type Instance struct {
	// ID is the plugin entity's id.
	ID string
	// Name and Priority come from the plugin's definition.
	Name     string
	Priority int
	// RouteID, ServiceID and ConsumerID are the entity's scope ("" = any).
	RouteID, ServiceID, ConsumerID string
	// Protocols lists the request protocols the instance applies to.
	Protocols []string
	// Plugin is the instance created by the plugin's factory.
	Plugin any
	// Fingerprint identifies the entity content the instance was made
	// from; a rebuild reuses the instance while it is unchanged.
	Fingerprint string
	// RunsBefore and RunsAfter are the entity's `ordering` for the access
	// phase (Kong's dynamic plugin ordering): plugin names this instance
	// runs before, and after, whatever their priorities.
	RunsBefore, RunsAfter []string

	rewrite  hostabi.Rewriter
	access   hostabi.Accessor
	response hostabi.Responder
	header   hostabi.HeaderFilterer
	body     hostabi.BodyFilterer
	wanter   hostabi.BodyWanter
	log      hostabi.LogPhaser
}

// Bind records which phases the instance implements; call it once before
// adding the instance to an Index.
func (in *Instance) Bind() {
	in.rewrite, _ = in.Plugin.(hostabi.Rewriter)
	in.access, _ = in.Plugin.(hostabi.Accessor)
	in.response, _ = in.Plugin.(hostabi.Responder)
	in.header, _ = in.Plugin.(hostabi.HeaderFilterer)
	in.body, _ = in.Plugin.(hostabi.BodyFilterer)
	in.wanter, _ = in.Plugin.(hostabi.BodyWanter)
	in.log, _ = in.Plugin.(hostabi.LogPhaser)
}

// Has reports whether the instance runs in the phase.
func (in *Instance) Has(p hostabi.Phase) bool {
	switch p {
	case hostabi.PhaseRewrite:
		return in.rewrite != nil
	case hostabi.PhaseAccess:
		return in.access != nil
	case hostabi.PhaseResponse:
		return in.response != nil
	case hostabi.PhaseHeaderFilter:
		return in.header != nil
	case hostabi.PhaseBodyFilter:
		return in.body != nil
	case hostabi.PhaseLog:
		return in.log != nil
	}
	return false
}

// slot gathers every instance of one plugin name, by scope, for fast
// selection of the most specific one.
type slot struct {
	name     string
	priority int
	global   *Instance
	service  map[string]*Instance // service
	route    map[string]*Instance // route
	routeSvc map[[2]string]*Instance
	consumer map[string]*Instance // consumer
	conRoute map[[2]string]*Instance
	conSvc   map[[2]string]*Instance
	conRtSvc map[[3]string]*Instance
	// consumerScoped is true when some instance names a consumer.
	consumerScoped bool
}

// pick returns the most specific instance for the scope, or nil, in Kong's
// order: consumer+route+service, consumer+route, consumer+service,
// route+service, consumer, route, service, global.
func (s *slot) pick(route, service, consumer string) *Instance {
	if consumer != "" && s.consumerScoped {
		if in := s.conRtSvc[[3]string{consumer, route, service}]; in != nil {
			return in
		}
		if in := s.conRoute[[2]string{consumer, route}]; in != nil {
			return in
		}
		if in := s.conSvc[[2]string{consumer, service}]; in != nil {
			return in
		}
	}
	if in := s.routeSvc[[2]string{route, service}]; in != nil {
		return in
	}
	if consumer != "" && s.consumerScoped {
		if in := s.consumer[consumer]; in != nil {
			return in
		}
	}
	if in := s.route[route]; in != nil {
		return in
	}
	if in := s.service[service]; in != nil {
		return in
	}
	return s.global
}

// Index holds every enabled plugin instance of a configuration snapshot.
type Index struct {
	slots []*slot // by priority, highest first; ties by name
	// slotOf finds a slot by plugin name; ordered is set when some
	// instance carries an ordering, so Access may reorder.
	slotOf  map[string]int
	ordered bool
	// globalRewrite lists global instances with a rewrite phase, in order.
	globalRewrite []*Instance
	all           []*Instance
}

// NewIndex builds the index. Two instances with the same name and scope are
// a configuration error (the store prevents them).
func NewIndex(instances []*Instance) (*Index, error) {
	byName := map[string]*slot{}
	ix := &Index{all: instances}
	for _, in := range instances {
		s := byName[in.Name]
		if s == nil {
			s = &slot{name: in.Name, priority: in.Priority,
				service: map[string]*Instance{}, route: map[string]*Instance{}, routeSvc: map[[2]string]*Instance{},
				consumer: map[string]*Instance{}, conRoute: map[[2]string]*Instance{}, conSvc: map[[2]string]*Instance{},
				conRtSvc: map[[3]string]*Instance{}}
			byName[in.Name] = s
		}
		r, sv, c := in.RouteID, in.ServiceID, in.ConsumerID
		var dup bool
		switch {
		case c != "" && r != "" && sv != "":
			dup = s.conRtSvc[[3]string{c, r, sv}] != nil
			s.conRtSvc[[3]string{c, r, sv}] = in
		case c != "" && r != "":
			dup = s.conRoute[[2]string{c, r}] != nil
			s.conRoute[[2]string{c, r}] = in
		case c != "" && sv != "":
			dup = s.conSvc[[2]string{c, sv}] != nil
			s.conSvc[[2]string{c, sv}] = in
		case r != "" && sv != "":
			dup = s.routeSvc[[2]string{r, sv}] != nil
			s.routeSvc[[2]string{r, sv}] = in
		case c != "":
			dup = s.consumer[c] != nil
			s.consumer[c] = in
		case r != "":
			dup = s.route[r] != nil
			s.route[r] = in
		case sv != "":
			dup = s.service[sv] != nil
			s.service[sv] = in
		default:
			dup = s.global != nil
			s.global = in
			if in.Has(hostabi.PhaseRewrite) {
				ix.globalRewrite = append(ix.globalRewrite, in)
			}
		}
		if dup {
			return nil, fmt.Errorf("chain: two %q plugins configured on the same scope", in.Name)
		}
		if c != "" {
			s.consumerScoped = true
		}
		if len(in.RunsBefore)+len(in.RunsAfter) > 0 {
			ix.ordered = true
		}
	}
	for _, s := range byName {
		ix.slots = append(ix.slots, s)
	}
	sort.Slice(ix.slots, func(i, j int) bool {
		if ix.slots[i].priority != ix.slots[j].priority {
			return ix.slots[i].priority > ix.slots[j].priority
		}
		return ix.slots[i].name < ix.slots[j].name
	})
	sort.SliceStable(ix.globalRewrite, func(i, j int) bool { return ix.globalRewrite[i].Priority > ix.globalRewrite[j].Priority })
	ix.slotOf = make(map[string]int, len(ix.slots))
	for i, s := range ix.slots {
		ix.slotOf[s.name] = i
	}
	return ix, nil
}

// Instances returns every instance, for closing them when the snapshot
// retires.
func (ix *Index) Instances() []*Instance { return ix.all }

// Scope identifies what a request matched, for selecting instances.
type Scope struct {
	RouteID, ServiceID string
	// Protocol is the matched route protocol ("http", "https").
	Protocol string
}

// Plan is the list of instances a request runs, decided phase by phase. It
// is reused across requests (Reset) to avoid allocations.
type Plan struct {
	ran []*Instance
}

// Reset empties the plan for reuse.
func (p *Plan) Reset() { p.ran = p.ran[:0] }

// Ran returns the instances that ran in the access phase, for the later
// phases (Kong runs header_filter, body_filter and log for the plugins the
// request was resolved to).
func (p *Plan) Ran() []*Instance { return p.ran }

// Fault is a plugin failure: an error or a recovered panic.
type Fault struct {
	Plugin string
	Phase  hostabi.Phase
	Err    error
	// Panic is the value the plugin panicked with (nil for a returned
	// error or an out-of-phase call); Stack is where.
	Panic any
	Stack []byte
}

func (f *Fault) Error() string {
	return fmt.Sprintf("plugin %s failed in %s: %v", f.Plugin, f.Phase, f.Err)
}

func (f *Fault) Unwrap() error { return f.Err }

func guard(in *Instance, phase hostabi.Phase, fault **Fault) {
	if r := recover(); r != nil {
		if pe, ok := r.(*hostabi.PhaseError); ok {
			// An out-of-phase call: the plugin's failure, reported as
			// the typed error it is.
			*fault = &Fault{Plugin: in.Name, Phase: phase, Err: pe}
			return
		}
		*fault = &Fault{Plugin: in.Name, Phase: phase, Err: fmt.Errorf("panic: %v", r), Panic: r, Stack: debug.Stack()}
	}
}

// Tracker is implemented by hosts that keep per-instance state (kong.ctx.plugin):
// the chain tells them which instance is about to run.
type Tracker interface{ Running(*Instance) }

func call(in *Instance, phase hostabi.Phase, k hostabi.Kong) (fault *Fault) {
	defer guard(in, phase, &fault)
	if t, ok := k.(Tracker); ok {
		t.Running(in)
	}
	var err error
	switch phase {
	case hostabi.PhaseRewrite:
		err = in.rewrite.Rewrite(k)
	case hostabi.PhaseAccess:
		err = in.access.Access(k)
	case hostabi.PhaseResponse:
		err = in.response.Response(k)
	case hostabi.PhaseHeaderFilter:
		err = in.header.HeaderFilter(k)
	case hostabi.PhaseLog:
		err = in.log.Log(k)
	}
	if err != nil {
		return &Fault{Plugin: in.Name, Phase: phase, Err: err}
	}
	return nil
}

// Call runs one phase (not body_filter: CallBodyFilter) of one instance on
// k exactly as the chain runs every planned instance: the Tracker learns
// which instance runs, and an error, a panic or an out-of-phase call
// becomes a Fault. Hosts and harnesses that run a single plugin use it.
func Call(in *Instance, phase hostabi.Phase, k hostabi.Kong) *Fault {
	if phase == hostabi.PhaseBodyFilter || !in.Has(phase) {
		return &Fault{Plugin: in.Name, Phase: phase, Err: fmt.Errorf("chain: plugin %s has no %s phase", in.Name, phase)}
	}
	return call(in, phase, k)
}

// CallBodyFilter runs one instance's body filter on a chunk, as
// Plan.BodyFilter does for each planned instance.
func CallBodyFilter(in *Instance, k hostabi.Kong, chunk []byte, eof bool) ([]byte, *Fault) {
	if in.body == nil {
		return nil, &Fault{Plugin: in.Name, Phase: hostabi.PhaseBodyFilter, Err: fmt.Errorf("chain: plugin %s has no body_filter phase", in.Name)}
	}
	return bodyFilter(in, k, chunk, eof)
}

func bodyFilter(in *Instance, k hostabi.Kong, chunk []byte, eof bool) (out []byte, fault *Fault) {
	defer guard(in, hostabi.PhaseBodyFilter, &fault)
	if t, ok := k.(Tracker); ok {
		t.Running(in)
	}
	out, err := in.body.BodyFilter(k, chunk, eof)
	if err != nil {
		return nil, &Fault{Plugin: in.Name, Phase: hostabi.PhaseBodyFilter, Err: err}
	}
	return out, nil
}

// Exiter reports whether a plugin ended the request (Response.Exit).
type Exiter interface{ Exited() bool }

// Rewrite runs the global rewrite-phase plugins. It stops at an exit.
func (ix *Index) Rewrite(k hostabi.Kong, exited func() bool) *Fault {
	for _, in := range ix.globalRewrite {
		if f := call(in, hostabi.PhaseRewrite, k); f != nil {
			return f
		}
		if exited() {
			return nil
		}
	}
	return nil
}

// CollectGlobals puts the global instances (no route, service or
// consumer) into plan, by priority, for a request that ends before the
// access phase collected its plugins: an exit in rewrite, no route
// matched. Kong's later phases then run the global plugins (its
// collected iterator falls back to the global one), so a global log or
// prometheus plugin records those responses too. protocol is the
// request's ("" when unknown).
func (ix *Index) CollectGlobals(plan *Plan, protocol string) {
	if len(plan.ran) > 0 {
		return
	}
	for _, s := range ix.slots {
		if s.global != nil && appliesTo(s.global, protocol) {
			plan.ran = append(plan.ran, s.global)
		}
	}
}

// Access runs the access phase: for each plugin name by priority, the most
// specific instance for the scope and the consumer known at that moment
// (consumer() is asked again after each plugin, so authentication plugins
// bring consumer-scoped plugins into play). It records every instance that
// applies in plan. After an exit it runs no more access handlers but
// keeps collecting, as Kong's collecting iterator does, so the later
// plugins' header_filter, body_filter and log phases still run (a
// prometheus or log plugin records the exit's response).
//
// When the instances that apply carry an `ordering`, the access phase runs
// in the order it asks for (see accessOrder); the later phases keep the
// priority order, as in Kong.
func (ix *Index) Access(k hostabi.Kong, sc Scope, consumer func() string, exited func() bool, plan *Plan) *Fault {
	if ix.ordered {
		if order := ix.accessOrder(sc, consumer()); order != nil {
			defer plan.byPriority(ix)
			return ix.access(order, k, sc, consumer, exited, plan)
		}
	}
	return ix.access(ix.slots, k, sc, consumer, exited, plan)
}

func (ix *Index) access(slots []*slot, k hostabi.Kong, sc Scope, consumer func() string, exited func() bool, plan *Plan) *Fault {
	done := false
	for _, s := range slots {
		in := s.pick(sc.RouteID, sc.ServiceID, consumer())
		if in == nil || !appliesTo(in, sc.Protocol) {
			continue
		}
		plan.ran = append(plan.ran, in)
		if in.access == nil || done {
			continue
		}
		if f := call(in, hostabi.PhaseAccess, k); f != nil {
			return f
		}
		done = exited()
	}
	return nil
}

// accessOrder returns the slots in the order the access phase runs them
// when an instance that applies at the start of the phase carries an
// ordering, or nil when none does. It follows Kong's default ("legacy")
// algorithm: each rule is an edge, "A runs before B" and "B runs after A"
// alike making B depend on A; the walk visits plugins from the highest
// priority down and places each one's dependencies, recursively, right
// before it. A cycle is broken where the walk finds it. Rules naming
// plugins not configured are ignored; so are rules of consumer-scoped
// instances, which apply only once the consumer is known (each slot is
// picked again with the consumer of its turn).
func (ix *Index) accessOrder(sc Scope, consumer string) []*slot {
	var deps map[int][]int
	for i, s := range ix.slots {
		in := s.pick(sc.RouteID, sc.ServiceID, consumer)
		if in == nil || !appliesTo(in, sc.Protocol) {
			continue
		}
		for _, name := range in.RunsBefore {
			if j, ok := ix.slotOf[name]; ok && j != i {
				if deps == nil {
					deps = map[int][]int{}
				}
				deps[j] = append(deps[j], i)
			}
		}
		for _, name := range in.RunsAfter {
			if j, ok := ix.slotOf[name]; ok && j != i {
				if deps == nil {
					deps = map[int][]int{}
				}
				deps[i] = append(deps[i], j)
			}
		}
	}
	if deps == nil {
		return nil
	}
	for _, d := range deps {
		sort.Ints(d) // by priority: slots are in priority order
	}
	const (
		unseen = iota
		visiting
		placed
	)
	state := make([]uint8, len(ix.slots))
	order := make([]*slot, 0, len(ix.slots))
	var visit func(i int)
	visit = func(i int) {
		if state[i] != unseen {
			return // placed, or a cycle: broken here
		}
		state[i] = visiting
		for _, d := range deps[i] {
			visit(d)
		}
		state[i] = placed
		order = append(order, ix.slots[i])
	}
	for i := range ix.slots {
		visit(i)
	}
	return order
}

// byPriority puts the instances the access phase recorded back in
// priority order, the order of the later phases.
func (p *Plan) byPriority(ix *Index) {
	sort.SliceStable(p.ran, func(i, j int) bool { return ix.slotOf[p.ran[i].Name] < ix.slotOf[p.ran[j].Name] })
}

func appliesTo(in *Instance, protocol string) bool {
	if len(in.Protocols) == 0 || protocol == "" {
		return true
	}
	for _, p := range in.Protocols {
		if p == protocol {
			return true
		}
	}
	return false
}

// NeedsBuffering reports whether any planned instance has a Response phase.
func (p *Plan) NeedsBuffering() bool {
	for _, in := range p.ran {
		if in.response != nil {
			return true
		}
	}
	return false
}

// Run runs one later phase (response, header_filter, log) over the planned
// instances, in order. Response stops at an exit.
func (p *Plan) Run(phase hostabi.Phase, k hostabi.Kong, exited func() bool) *Fault {
	for _, in := range p.ran {
		if !in.Has(phase) {
			continue
		}
		if f := call(in, phase, k); f != nil {
			return f
		}
		if phase == hostabi.PhaseResponse && exited() {
			return nil
		}
	}
	return nil
}

// WantsBody reports whether a planned body filter needs the response body
// (hostabi.BodyWanter; one without it always does). Call it after the
// header_filter phase, in that phase; a panic in WantsBody is the
// plugin's fault, in the header_filter phase.
func (p *Plan) WantsBody(k hostabi.Kong) (bool, *Fault) {
	for _, in := range p.ran {
		if in.body == nil {
			continue
		}
		if in.wanter == nil {
			return true, nil
		}
		if want, f := wantsBody(in, k); f != nil || want {
			return want, f
		}
	}
	return false, nil
}

func wantsBody(in *Instance, k hostabi.Kong) (want bool, fault *Fault) {
	defer guard(in, hostabi.PhaseHeaderFilter, &fault)
	if t, ok := k.(Tracker); ok {
		t.Running(in)
	}
	return in.wanter.WantsBody(k), nil
}

// BodyFilter passes a body chunk through every planned body filter.
func (p *Plan) BodyFilter(k hostabi.Kong, chunk []byte, eof bool) (out []byte, fault *Fault) {
	out = chunk
	for _, in := range p.ran {
		if in.body == nil {
			continue
		}
		if out, fault = bodyFilter(in, k, out, eof); fault != nil {
			return nil, fault
		}
	}
	return out, nil
}
