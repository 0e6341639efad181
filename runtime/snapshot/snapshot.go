// Package snapshot builds the immutable configuration the proxy serves from:
// the compiled router, services, upstream balancers and plugin instances,
// made from the store's entities. A Builder rebuilds it on every change
// event and swaps it atomically; requests in flight finish on the snapshot
// they started with, and a retired snapshot's plugin instances and
// balancers are closed once no request holds it.
package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/balancer"
	"github.com/gatehouse/gatehouse/runtime/chain"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	"github.com/gatehouse/gatehouse/runtime/policy"
	"github.com/gatehouse/gatehouse/runtime/router"
	"github.com/gatehouse/gatehouse/runtime/threat"
	"github.com/gatehouse/gatehouse/store"
)

// Service is a service ready for proxying.
type Service struct {
	ID       string
	Name     string
	Protocol string
	Host     string
	Port     int
	Path     string
	// Addr is host:port, for services that do not name an upstream.
	Addr string
	// HostHeader is the Host header Kong sends to such a service: the host,
	// with the port unless it is the protocol's default.
	HostHeader string
	Retries    int
	// Timeouts in milliseconds, as Kong stores them.
	ConnectTimeout, WriteTimeout, ReadTimeout time.Duration
	Enabled                                   bool
	// Upstream is set when the service's host names an upstream.
	Upstream *balancer.Balancer
	// Raw is the stored entity (kong.router.get_service()).
	Raw map[string]any
}

// Snapshot is one immutable configuration.
type Snapshot struct {
	// Version increases with every build.
	Version   uint64
	Router    *router.Router
	Services  map[string]*Service
	Plugins   *chain.Index
	Upstreams map[string]*balancer.Balancer
	// Certificates serves TLS: by SNI name, exact or wildcard.
	Certificates *CertificateIndex
	// FilterChains are the enabled proxy-wasm filter chains of routes and
	// services (empty when wasm is off); FilterChains.For resolves a
	// request's filters.
	FilterChains *FilterChains
	// Policies are the compiled policies (policies.go).
	Policies *policy.Set
	// DeniedIPs are the denied_ips entries (deniedips.go), refused before
	// any plugin runs.
	DeniedIPs *threat.IPSet
	// BuiltAt is when the snapshot was made.
	BuiltAt time.Time

	// handedOn holds the instances the next snapshot carried over; they
	// are not closed when this one retires.
	handedOn map[*chain.Instance]bool

	refs    atomic.Int64
	retired atomic.Bool
	closeMu sync.Once
	log     *slog.Logger

	hooksMu sync.Mutex
	closed  bool
	hooks   []func()
}

// AfterClose runs f once the snapshot has closed: retired, and released by
// every request that pinned it. It runs f at once when that already
// happened. A plugin reload closes the definitions it replaced this way,
// after the last request that could still call them.
func (s *Snapshot) AfterClose(f func()) {
	s.hooksMu.Lock()
	if !s.closed {
		s.hooks = append(s.hooks, f)
		s.hooksMu.Unlock()
		return
	}
	s.hooksMu.Unlock()
	f()
}

// Acquire pins the snapshot for a request; Release must follow.
func (s *Snapshot) Acquire() { s.refs.Add(1) }

// Release unpins the snapshot; the last release of a retired snapshot
// closes its resources.
func (s *Snapshot) Release() {
	if s.refs.Add(-1) == 0 && s.retired.Load() {
		s.close()
	}
}

// handOn records which of s's plugin instances next still uses.
func (s *Snapshot) handOn(next *Snapshot) {
	if s.Plugins == nil || next.Plugins == nil {
		return
	}
	kept := map[*chain.Instance]bool{}
	for _, in := range next.Plugins.Instances() {
		kept[in] = true
	}
	s.handedOn = kept
}

// closeInstances closes the instances that hold resources.
func closeInstances(list []*chain.Instance, log *slog.Logger) {
	for _, in := range list {
		if c, ok := in.Plugin.(hostabi.Closer); ok {
			if err := c.Close(); err != nil && log != nil {
				log.Warn("closing plugin instance", "plugin", in.Name, "id", in.ID, "error", err)
			}
		}
	}
}

func (s *Snapshot) retire() {
	s.retired.Store(true)
	if s.refs.Load() == 0 {
		s.close()
	}
}

func (s *Snapshot) close() {
	s.closeMu.Do(func() {
		if s.Plugins == nil {
			s.Plugins = &chain.Index{}
		}
		var owned []*chain.Instance
		for _, in := range s.Plugins.Instances() {
			if !s.handedOn[in] {
				owned = append(owned, in)
			}
		}
		closeInstances(owned, s.log)
		for _, b := range s.Upstreams {
			b.Close()
		}
		s.hooksMu.Lock()
		s.closed = true
		hooks := s.hooks
		s.hooks = nil
		s.hooksMu.Unlock()
		for _, f := range hooks {
			f()
		}
	})
}

// Builder keeps the current snapshot up to date with the store.
type Builder struct {
	store   *store.Store
	catalog *plugin.Catalog
	log     *slog.Logger
	opts    balancer.Options

	current atomic.Pointer[Snapshot]
	version atomic.Uint64

	kick      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	cancel    func()
	wg        sync.WaitGroup

	buildMu   sync.Mutex
	mu        sync.Mutex
	lastError error

	// The entities the proxy needs, kept current from change events so a
	// rebuild does not re-read the database; a reload event (an import, a
	// DB-less config) or a failed build re-reads everything.
	entMu   sync.Mutex
	ents    entitySet
	entsOK  bool
	pending []store.Event

	// policies compiles the policies entities (policies.go).
	policies      *policy.Compiler
	policyTimeout time.Duration
}

// proxied lists the entities a snapshot is built from.
var proxied = []string{"services", "routes", "upstreams", "targets", "plugins", "certificates", "snis", "filter_chains", "policies", "denied_ips"}

// isProxied is proxied as a set.
var isProxied = func() map[string]bool {
	m := make(map[string]bool, len(proxied))
	for _, name := range proxied {
		m[name] = true
	}
	return m
}()

// entitySet holds entities by type and id.
type entitySet map[string]map[string]map[string]any

func (es entitySet) list(entity string) []map[string]any {
	out := make([]map[string]any, 0, len(es[entity]))
	for _, rec := range es[entity] {
		out = append(out, rec)
	}
	return out
}

// record queues a change event for the next build.
func (b *Builder) record(ev store.Event) {
	b.entMu.Lock()
	defer b.entMu.Unlock()
	b.pending = append(b.pending, ev)
}

// entities returns the current entity set: the previous one with the queued
// events applied, or a full read from the store.
func (b *Builder) entities(ctx context.Context) (entitySet, error) {
	b.entMu.Lock()
	pending := b.pending
	b.pending = nil
	ok := b.entsOK
	b.entMu.Unlock()
	for _, ev := range pending {
		if ev.Op == store.OpReload {
			ok = false
		}
	}
	if !ok {
		fresh := entitySet{}
		for _, name := range proxied {
			list, err := listAll(ctx, b.store, name)
			if err != nil {
				return nil, err
			}
			fresh[name] = make(map[string]map[string]any, len(list))
			for _, rec := range list {
				fresh[name][str(rec, "id")] = rec
			}
		}
		b.entMu.Lock()
		b.ents, b.entsOK = fresh, true
		b.entMu.Unlock()
		return fresh, nil
	}
	// Copy the maps that change, so the previous set stays valid.
	next := entitySet{}
	for k, v := range b.ents {
		next[k] = v
	}
	copied := map[string]bool{}
	for _, ev := range pending {
		byID, tracked := next[ev.Entity]
		if !tracked {
			continue
		}
		if !copied[ev.Entity] {
			c := make(map[string]map[string]any, len(byID)+1)
			for id, rec := range byID {
				c[id] = rec
			}
			next[ev.Entity], byID, copied[ev.Entity] = c, c, true
		}
		switch ev.Op {
		case store.OpDelete:
			delete(byID, str(ev.Old, "id"))
		default:
			if ev.Old != nil {
				delete(byID, str(ev.Old, "id"))
			}
			byID[str(ev.New, "id")] = ev.New
		}
	}
	b.entMu.Lock()
	b.ents = next
	b.entMu.Unlock()
	return next, nil
}

// NewBuilder builds the first snapshot and starts following change events.
// A failing first build is an error; later failures keep the previous
// snapshot serving and are logged.
func NewBuilder(ctx context.Context, st *store.Store, catalog *plugin.Catalog, log *slog.Logger, bopts balancer.Options, opts ...Option) (*Builder, error) {
	if log == nil {
		log = slog.Default()
	}
	b := &Builder{store: st, catalog: catalog, log: log, opts: bopts, kick: make(chan struct{}, 1), done: make(chan struct{})}
	for _, o := range opts {
		o(b)
	}
	// Follow events before the first read, so none falls between the two.
	b.cancel = st.Bus().Subscribe(func(ev store.Event) {
		if ev.Op != store.OpReload && !isProxied[ev.Entity] {
			// Consumers, credentials, the audit log...: nothing a
			// snapshot is built from, so no rebuild.
			return
		}
		b.record(ev)
		select {
		case b.kick <- struct{}{}:
		default:
		}
	})
	if catalog != nil {
		// Kong's init_worker: once per plugin on this node, before the
		// first configure; faults are logged and do not stop the node.
		plugin.InitWorkers(ctx, catalog.Definitions(), log)
	}
	snap, err := b.build(ctx)
	if err != nil {
		b.cancel()
		return nil, err
	}
	b.current.Store(snap)
	b.wg.Add(1)
	go b.loop()
	return b, nil
}

// Current returns the snapshot serving now.
func (b *Builder) Current() *Snapshot { return b.current.Load() }

// LastError returns the error of the last failed rebuild, or nil.
func (b *Builder) LastError() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastError
}

// Rebuild builds and swaps a snapshot now.
func (b *Builder) Rebuild(ctx context.Context) error {
	// One build at a time: each starts from the snapshot the last one made.
	b.buildMu.Lock()
	defer b.buildMu.Unlock()
	snap, err := b.build(ctx)
	b.mu.Lock()
	b.lastError = err
	b.mu.Unlock()
	if err != nil {
		b.log.Error("configuration rebuild failed; still serving the previous snapshot", "error", err)
		b.entMu.Lock()
		b.entsOK = false // read everything again next time
		b.entMu.Unlock()
		return err
	}
	if old := b.current.Swap(snap); old != nil {
		old.handOn(snap)
		old.retire()
	}
	return nil
}

// retryMax bounds the delay between attempts after a failed rebuild (the
// database was unreachable): the builder tries again, 1 s after the first
// failure then backing off to retryMax, so a change that arrived while the
// database was away is not left unapplied until the next change.
var retryMax = 5 * time.Second

// coalesceMin is how long the builder waits after a change event before
// rebuilding, so a burst of events makes one rebuild; coalesceMax bounds
// the longer wait a costly build earns (see loop).
const (
	coalesceMin = 5 * time.Millisecond
	coalesceMax = 200 * time.Millisecond
)

// coalesceWait is how long to wait before the next build: coalesceMin, or
// until the last build's cost has passed again since it ended, whichever
// is longer, up to coalesceMax. A stream of writes to a large
// configuration (an Admin API client creating 10,000 routes one by one)
// then spends at most about half a core on rebuilds instead of rebuilding
// back to back, while a single change still reaches the proxy within
// coalesceMin plus one build (two when it follows a build at once).
func coalesceWait(cost, sinceLast time.Duration) time.Duration {
	return min(max(coalesceMin, cost-sinceLast), coalesceMax)
}

func (b *Builder) loop() {
	defer b.wg.Done()
	var retry <-chan time.Time
	delay := time.Second
	var cost time.Duration
	var lastEnd time.Time
	for {
		select {
		case <-b.done:
			return
		case <-retry:
		case <-b.kick:
			// Coalesce a burst of events into one rebuild.
			wait := time.NewTimer(coalesceWait(cost, time.Since(lastEnd)))
			select {
			case <-b.done:
				wait.Stop()
				return
			case <-wait.C:
			}
			select {
			case <-b.kick:
			default:
			}
		}
		retry = nil
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		start := time.Now()
		err := b.Rebuild(ctx)
		lastEnd = time.Now()
		cost = lastEnd.Sub(start)
		if err != nil {
			retry = time.After(min(delay, retryMax))
			delay = min(delay*2, retryMax)
		} else {
			delay = time.Second
		}
		cancel()
	}
}

// Close stops following changes and closes the current snapshot. Later
// calls do nothing.
func (b *Builder) Close() {
	b.closeOnce.Do(b.close)
}

func (b *Builder) close() {
	if b.cancel != nil {
		b.cancel()
	}
	close(b.done)
	b.wg.Wait()
	if snap := b.current.Swap(nil); snap != nil {
		snap.retire()
	}
}

// listAll reads every entity of a type.
func listAll(ctx context.Context, st *store.Store, entity string) ([]map[string]any, error) {
	var out []map[string]any
	offset := ""
	for {
		page, err := st.List(ctx, entity, store.ListQuery{Size: store.MaxPageSize, Offset: offset})
		if err != nil {
			return nil, fmt.Errorf("snapshot: reading %s: %w", entity, err)
		}
		out = append(out, page.Data...)
		if page.Offset == "" {
			return out, nil
		}
		offset = page.Offset
	}
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func num(m map[string]any, k string) int64 {
	switch t := m[k].(type) {
	case int64:
		return t
	case float64:
		return int64(t)
	}
	return 0
}

func fid(m map[string]any, k string) string {
	f, _ := m[k].(map[string]any)
	id, _ := f["id"].(string)
	return id
}

func (b *Builder) build(ctx context.Context) (_ *Snapshot, err error) {
	snap := &Snapshot{Version: b.version.Add(1), BuiltAt: time.Now(), log: b.log,
		Services: map[string]*Service{}, Upstreams: map[string]*balancer.Balancer{}}
	defer func() {
		if err != nil {
			snap.retire()
		}
	}()
	ents, err := b.entities(ctx)
	if err != nil {
		return nil, err
	}
	services, routes, upstreams, targets := ents.list("services"), ents.list("routes"), ents.list("upstreams"), ents.list("targets")
	plugins, certs, snis := ents.list("plugins"), ents.list("certificates"), ents.list("snis")
	snap.Certificates = buildCertificates(certs, snis, b.log)
	snap.DeniedIPs = b.buildDeniedIPs(ents.list("denied_ips"))
	if snap.Policies, err = b.buildPolicies(snap.Version, ents.list("policies")); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	// Plugins named after a proxy-wasm filter run in the filter chains'
	// slot (Kong 3.6+), not as ordinary plugins.
	wasm := b.store.Wasm()
	plugins, filterPlugins := splitFilterPlugins(plugins, wasm)
	if snap.FilterChains, err = buildFilterChains(ents.list("filter_chains"), filterPlugins, wasm); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	byUpstream := map[string][]map[string]any{}
	for _, t := range targets {
		byUpstream[fid(t, "upstream")] = append(byUpstream[fid(t, "upstream")], t)
	}
	for _, u := range upstreams {
		bal, err := balancer.New(u, byUpstream[str(u, "id")], b.opts)
		if err != nil {
			b.log.Error("upstream skipped", "upstream", str(u, "name"), "error", err)
			continue
		}
		bal.Start()
		snap.Upstreams[str(u, "name")] = bal
	}
	svcRaw := map[string]map[string]any{}
	for _, s := range services {
		id := str(s, "id")
		svcRaw[id] = s
		enabled, _ := s["enabled"].(bool)
		svc := &Service{ID: id, Name: str(s, "name"), Protocol: str(s, "protocol"), Host: str(s, "host"),
			Port: int(num(s, "port")), Path: str(s, "path"), Retries: int(num(s, "retries")),
			ConnectTimeout: time.Duration(num(s, "connect_timeout")) * time.Millisecond,
			WriteTimeout:   time.Duration(num(s, "write_timeout")) * time.Millisecond,
			ReadTimeout:    time.Duration(num(s, "read_timeout")) * time.Millisecond,
			Enabled:        enabled, Raw: s}
		svc.Upstream = snap.Upstreams[svc.Host]
		svc.Addr = net.JoinHostPort(svc.Host, strconv.Itoa(svc.Port))
		svc.HostHeader = svc.Addr
		if (svc.Protocol == "http" && svc.Port == 80) || (svc.Protocol == "https" && svc.Port == 443) {
			svc.HostHeader = svc.Host
		}
		snap.Services[id] = svc
	}
	// The router compiles only what changed: routes and services whose
	// stored maps are the previous snapshot's keep their compiled form
	// (the entity set hands on unchanged entities as the same maps).
	var prevRouter *router.Router
	if cur := b.current.Load(); cur != nil {
		prevRouter = cur.Router
	}
	r, err := prevRouter.Update(routes, svcRaw)
	if r == nil {
		return nil, fmt.Errorf("snapshot: compiling routes: %w", err)
	}
	if err != nil {
		b.log.Warn("some routes were skipped", "error", err)
	}
	snap.Router = r
	// Plugin instances whose entity did not change are carried over from
	// the previous snapshot: their state (rate-limiting counters, caches)
	// survives unrelated configuration changes, and factories run only for
	// what changed.
	prev := map[string]*chain.Instance{}
	if cur := b.current.Load(); cur != nil && cur.Plugins != nil {
		for _, in := range cur.Plugins.Instances() {
			prev[in.ID] = in
		}
	}
	var instances, fresh []*chain.Instance
	var active []map[string]any
	var errs []error
	for _, p := range plugins {
		if enabled, _ := p["enabled"].(bool); !enabled {
			continue
		}
		active = append(active, p)
		fp := b.fingerprint(p)
		if old := prev[str(p, "id")]; old != nil && old.Fingerprint == fp {
			instances = append(instances, old)
			continue
		}
		in, err := b.instance(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		in.Fingerprint = fp
		instances = append(instances, in)
		fresh = append(fresh, in)
	}
	if len(errs) > 0 {
		closeInstances(fresh, b.log)
		return nil, errors.Join(errs...)
	}
	// Kong's filter chains run as the proxy-wasm plugins of their filters.
	filters, freshFilters, err := b.filterChainInstances(snap.FilterChains, routes, prev)
	if err != nil {
		closeInstances(fresh, b.log)
		return nil, err
	}
	instances = append(instances, filters...)
	fresh = append(fresh, freshFilters...)
	ix, err := chain.NewIndex(instances)
	if err != nil {
		return nil, err
	}
	snap.Plugins = ix
	if b.catalog != nil {
		// Kong's configure: every plugin sees its active configurations
		// before the snapshot serves; a fault is logged, the snapshot is
		// used all the same.
		b.catalog.Configure(ctx, active, b.log)
	}
	bindPolicies(ix, snap.Policies)
	return snap, nil
}

// fingerprint identifies a plugin entity's content, its canonical JSON
// (encoding/json sorts map keys), and the definition that serves it: an
// instance is carried over only when neither changed, so a plugin
// reloaded by its provider gets new instances.
func (b *Builder) fingerprint(p map[string]any) string {
	data, _ := json.Marshal(p)
	var def *plugin.Definition
	if b.catalog != nil {
		def, _ = b.catalog.Get(str(p, "name"))
	}
	return fmt.Sprintf("%p ", def) + string(data)
}

func (b *Builder) instance(p map[string]any) (*chain.Instance, error) {
	name := str(p, "name")
	def, ok := b.catalog.Get(name)
	if !ok {
		return nil, fmt.Errorf("snapshot: plugin %s (%s) is configured but not enabled on this node", name, str(p, "id"))
	}
	if def.New == nil {
		return nil, fmt.Errorf("snapshot: plugin %s has no implementation", name)
	}
	cfg, _ := p["config"].(map[string]any)
	if def.Schema != nil && def.Schema.ConfigJSON != nil {
		// A config that is a JSON value reaches the factory as
		// {"config": value}.
		cfg = map[string]any{}
		if v := p["config"]; v != nil {
			cfg["config"] = v
		}
	}
	// Kong's plugins iterator adds the plugin's scope to its conf.
	cfg = plugin.WithScope(cfg, plugin.Scope{PluginID: str(p, "id"), RouteID: fid(p, "route"),
		ServiceID: fid(p, "service"), ConsumerID: fid(p, "consumer"), InstanceName: str(p, "instance_name")})
	impl, err := def.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("snapshot: plugin %s (%s): %w", name, str(p, "id"), err)
	}
	var protocols []string
	if list, ok := p["protocols"].([]any); ok {
		for _, x := range list {
			if s, ok := x.(string); ok {
				protocols = append(protocols, s)
			}
		}
	}
	in := &chain.Instance{ID: str(p, "id"), Name: name, Priority: def.Priority, Plugin: impl, Protocols: protocols,
		RouteID: fid(p, "route"), ServiceID: fid(p, "service"), ConsumerID: fid(p, "consumer")}
	if ord, ok := p["ordering"].(map[string]any); ok {
		in.RunsBefore = accessNames(ord["before"])
		in.RunsAfter = accessNames(ord["after"])
	}
	in.Bind()
	return in, nil
}

// accessNames reads the access-phase list of one side of a plugin's
// `ordering` ({"access": ["name", ...]}).
func accessNames(side any) []string {
	m, _ := side.(map[string]any)
	list, _ := m["access"].([]any)
	var out []string
	for _, x := range list {
		if name, ok := x.(string); ok {
			out = append(out, name)
		}
	}
	return out
}

// Describe renders a short summary for logs.
func (s *Snapshot) Describe() string {
	return "v" + strconv.FormatUint(s.Version, 10)
}
