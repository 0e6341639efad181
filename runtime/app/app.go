// Package app assembles a Gatehouse node from its configuration: it opens the
// store, enables plugins, and serves the Admin API, the status API, the
// proxy, Kong Manager (admin_gui_listen) and, with portal = on, the
// Developer Portal (portal_gui_listen) and the portal API
// (portal_api_listen) on their listeners, TLS ones with the configured
// certificates or a self-signed one generated into <prefix>/ssl. It also carries out the CLI's maintenance
// commands (migrations, db_import, db_export, config parse), so that
// cmd/gatehouse only parses arguments.
package app

import (
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/admin"
	"github.com/gatehouse/gatehouse/runtime/balancer"
	"github.com/gatehouse/gatehouse/runtime/cache"
	"github.com/gatehouse/gatehouse/runtime/config"
	"github.com/gatehouse/gatehouse/runtime/entitydb"
	"github.com/gatehouse/gatehouse/runtime/internal/httpguard"
	"github.com/gatehouse/gatehouse/runtime/internal/memreturn"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	proxyserver "github.com/gatehouse/gatehouse/runtime/proxy"
	"github.com/gatehouse/gatehouse/runtime/snapshot"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/declarative"
	"github.com/gatehouse/gatehouse/store/postgres"
	"github.com/gatehouse/gatehouse/store/sqlite"
	"github.com/gatehouse/gatehouse/store/sqlstore"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
)

// Version is Gatehouse's own version, set at build time with -ldflags.
var Version = "0.1.0-dev"

// Logger returns the process logger for a Kong log_level.
func Logger(level string) *slog.Logger {
	l := slog.LevelInfo
	switch level {
	case "debug":
		l = slog.LevelDebug
	case "info", "notice":
		l = slog.LevelInfo
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default: // crit, alert, emerg
		l = slog.LevelError + 4
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// PostgresSettings returns the Postgres connection settings of cfg.
func PostgresSettings(cfg *config.Config) postgres.Settings {
	return postgres.Settings{Host: cfg.PGHost, Port: cfg.PGPort, User: cfg.PGUser, Password: cfg.PGPassword,
		Database: cfg.PGDatabase, SSL: cfg.PGSSL, TimeoutMS: cfg.PGTimeout}
}

// OpenBackend opens the database cfg names. SQLite is migrated on open; a
// Postgres database must already be bootstrapped and up to date unless
// forMigrations is set. database=off gives an empty in-memory backend.
func OpenBackend(ctx context.Context, cfg *config.Config, forMigrations bool) (store.Backend, error) {
	switch cfg.Database {
	case config.DatabasePostgres:
		dsn := PostgresSettings(cfg).DSN()
		if forMigrations {
			return postgres.Connect(ctx, dsn)
		}
		return postgres.Open(ctx, dsn)
	case config.DatabaseOff:
		b, err := sqlite.Open(ctx, sqlite.Memory)
		if err != nil {
			return nil, err
		}
		return offBackend{b}, nil
	default:
		return sqlite.Open(ctx, cfg.SQLitePath())
	}
}

// offBackend is the in-memory store of DB-less mode; it reports "off".
type offBackend struct{ *sqlstore.Backend }

func (offBackend) Name() string { return config.DatabaseOff }

// OpenStore opens the store for cfg with the enabled plugins.
func OpenStore(ctx context.Context, cfg *config.Config, catalog *plugin.Catalog) (*store.Store, error) {
	b, err := OpenBackend(ctx, cfg, false)
	if err != nil {
		return nil, err
	}
	wasm, err := WasmState(cfg)
	if err != nil {
		b.Close()
		return nil, err
	}
	st, err := store.NewChecked(b, store.Options{Plugins: catalog, ReadOnly: cfg.Database == config.DatabaseOff, Wasm: wasm})
	if err != nil {
		b.Close()
		return nil, err
	}
	return st, nil
}

// nodeID returns the node id kept in the prefix directory, creating it once.
func nodeID(prefix string) string {
	path := filepath.Join(prefix, "node.id")
	if b, err := os.ReadFile(path); err == nil && store.IsUUID(strings.TrimSpace(string(b))) {
		return strings.TrimSpace(string(b))
	}
	id := uuid.NewString()
	if err := os.MkdirAll(prefix, 0o755); err == nil {
		_ = os.WriteFile(path, []byte(id+"\n"), 0o644)
	}
	return id
}

// Node is a running Gatehouse node.
type Node struct {
	cfg     *config.Config
	log     *slog.Logger
	store   *store.Store
	catalog *plugin.Catalog
	admin   *admin.Server
	teams   *admin.TeamService // nil unless enable_teams
	// providers are the plugin runtimes the node closes last.
	providers []hostabi.Provider
	// staticPlugins are Options.Plugins and loader Options.SchemaLoader,
	// what a plugin reload builds the new catalog from besides providers.
	staticPlugins []*plugin.Definition
	// pluginNames is the `plugins` setting with "bundled" expanded by
	// Options.Bundled: what the catalog enables, at start and on reload.
	pluginNames []string
	loader      plugin.SchemaLoader
	reloadMu    sync.Mutex

	id        string
	cluster   *postgres.Cluster
	cache     *cache.Cache
	snapshots *snapshot.Builder
	proxy     *proxyserver.Server

	defCert     *tls.Certificate // see defaultCert
	closeOnce   sync.Once
	guardLimits httpguard.Limits
	guards      []*httpguard.Listener
	trackers    []*httpguard.Tracker
	listeners   []net.Listener
	apps        []*fiber.App
	addrs       map[string][]string
	wg          sync.WaitGroup
	requests    atomic.Int64
	stopMemory  context.CancelFunc
	configMu    sync.Mutex
	configSum   string
}

// Options are what a node gets beyond its configuration: plugins that are
// not linked into the binary.
type Options struct {
	// Logger receives the node's logs; nil logs to stderr at cfg's level.
	Logger *slog.Logger
	// Plugins are extra plugin definitions (a custom build's, a test's),
	// enabled when the `plugins` setting names them, with their entities.
	Plugins []*plugin.Definition
	// Providers are plugin runtimes (the Lua and Wasm hosts): their plugins
	// are read at start, turned into definitions through SchemaLoader and
	// enabled when `plugins` names them. The node closes them on Close.
	Providers []hostabi.Provider
	// Bundled names provided plugins that `plugins = bundled` enables
	// too, as Kong bundles them (the Lua host's pre-function and
	// post-function).
	Bundled []string
	// Enabled names provided plugins enabled whatever `plugins` says: the
	// proxy-wasm filters of wasm_filters_path when `wasm` is on, which
	// Kong adds to the loaded plugins so filter chains can run them.
	Enabled []string
	// SchemaLoader reads the schemas providers deliver as Kong's JSON
	// renderings; nil is plugin.JSONSchemaLoader.
	SchemaLoader plugin.SchemaLoader
	// AdminIdentifier and AdminAuthorizer establish the actor of each
	// Admin API call and decide what it may do (RBAC); nil identifies
	// every call as anonymous and allows all.
	AdminIdentifier admin.Identifier
	AdminAuthorizer admin.Authorizer
}

// Start opens the store and serves every configured listener. It returns once
// the listeners are bound; Close stops them.
func Start(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Node, error) {
	return StartWith(ctx, cfg, Options{Logger: log})
}

// StartWith is Start with plugins beyond the linked ones.
func StartWith(ctx context.Context, cfg *config.Config, o Options) (*Node, error) {
	log := o.Logger
	if log == nil {
		log = Logger(cfg.LogLevel)
	}
	extra := append([]*plugin.Definition(nil), o.Plugins...)
	closeProviders := func() {
		for _, p := range o.Providers {
			p.Close()
		}
	}
	for _, p := range o.Providers {
		defs, err := plugin.FromProvider(p, o.SchemaLoader)
		if err != nil {
			closeProviders()
			return nil, err
		}
		extra = append(extra, defs...)
	}
	names := cfg.Plugins
	if slices.Contains(names, "bundled") {
		names = append(slices.Clone(names), o.Bundled...)
	}
	if len(o.Enabled) > 0 {
		names = append(slices.Clone(names), o.Enabled...)
	}
	catalog, err := plugin.NewCatalog(names, extra...)
	if err != nil {
		closeProviders()
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			closeProviders()
		}
	}()
	st, err := OpenStore(ctx, cfg, catalog)
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: log, store: st, catalog: catalog, addrs: map[string][]string{}, id: nodeID(cfg.Prefix),
		staticPlugins: append([]*plugin.Definition(nil), o.Plugins...), loader: o.SchemaLoader, pluginNames: names}
	if cfg.Database == config.DatabasePostgres {
		// Nodes sharing the database tell each other about changes.
		backend, _ := st.Backend().(*sqlstore.Backend)
		n.cluster, err = postgres.JoinCluster(ctx, postgres.ClusterOptions{
			DSN: PostgresSettings(cfg).DSN(), NodeID: n.id, Backend: backend, Bus: st.Bus(),
			Frequency: cfg.DBUpdateFrequencyDuration(), Log: log,
		})
		if err != nil {
			st.Backend().Close()
			return nil, fmt.Errorf("joining the cluster through Postgres: %w", err)
		}
		st.SetBroadcaster(n.cluster)
	}
	if cfg.Database == config.DatabaseOff && cfg.DeclarativeConfig != "" {
		data, err := os.ReadFile(cfg.DeclarativeConfig)
		if err == nil {
			err = n.loadDeclarative(ctx, data)
		}
		if err != nil {
			st.Backend().Close()
			return nil, fmt.Errorf("declarative_config %s: %w", cfg.DeclarativeConfig, err)
		}
	}
	opts := admin.Options{
		Store: st, Version: Version, NodeID: n.id, Configuration: cfg.Values(), AllowedOrigins: cfg.AdminGUIOrigins(),
		Plugins: pluginInfo(catalog), ServerStats: n.serverStats, Logger: log,
		MaxBodySize: adminBodyLimit(cfg), MaxPostArgs: cfg.LuaMaxPostArgs,
		ExportConfig: func(ctx context.Context) ([]byte, error) { return declarative.Export(ctx, st) },
		Identifier:   o.AdminIdentifier, Authorizer: o.AdminAuthorizer,
		// The audit log lives in the database: DB-less nodes keep none.
		Audit: admin.AuditOptions{Enabled: cfg.AuditLog && cfg.Database != config.DatabaseOff,
			TTL: time.Duration(cfg.AuditLogTTL) * time.Second},
	}
	if err := bootstrapRBAC(ctx, st); err != nil {
		st.Backend().Close()
		return nil, err
	}
	opts.Endpoints = append(opts.Endpoints, admin.RBACEndpoints(st)...)
	admins, err := adminsFor(cfg, st, log) // admins.go
	if err != nil {
		st.Backend().Close()
		return nil, err
	}
	opts.Endpoints = append(opts.Endpoints, admin.AdminEndpoints(admins)...)
	if (cfg.EnforceRBAC || cfg.AdminGUIAuth != "") && o.AdminIdentifier == nil && o.AdminAuthorizer == nil {
		// admin_gui_auth without enforce_rbac still requires a session
		// (Kong's authenticate runs when either is on); roles then do
		// not limit the signed-in admins.
		rbac := &admin.RBAC{Store: st, Policies: n.policySet, Admins: admins}
		opts.Identifier = rbac
		if cfg.EnforceRBAC {
			opts.Authorizer = rbac
		}
	}
	if err := n.startTeams(ctx, &opts); err != nil { // teams.go
		st.Backend().Close()
		return nil, err
	}
	endpoints := catalog.Endpoints(plugin.EndpointEnv{Store: st, Log: log, Node: plugin.HostFunc(n.nodeStats)})
	for _, e := range endpoints {
		if e.Admin {
			opts.Endpoints = append(opts.Endpoints, admin.Endpoint{Method: e.Method, Path: e.Path, Resource: e.Resource, Handler: e.Handler})
		}
	}
	opts.Hostname, _ = os.Hostname()
	if cfg.Database == config.DatabaseOff {
		opts.LoadConfig = n.loadDeclarative
		opts.ConfigHash = n.configHash
	}
	opts.Balancers = func(name string) *balancer.Balancer {
		if n.snapshots == nil {
			return nil
		}
		if snap := n.snapshots.Current(); snap != nil {
			return snap.Upstreams[name]
		}
		return nil
	}
	n.admin = admin.New(opts)
	n.admin.App().Use(n.count)
	status := fiber.New(fiber.Config{DisableStartupMessage: true})
	status.Get("/status", n.admin.Status)
	for _, e := range endpoints {
		if e.Status {
			h := e.Handler
			status.Add(e.Method, e.Path, func(c *fiber.Ctx) error { admin.ServeHTTP(c, h); return nil })
		}
	}
	n.cache, err = cache.New(st)
	if err != nil {
		n.closeEarly()
		return nil, err
	}
	n.snapshots, err = snapshot.NewBuilder(ctx, st, catalog, log, balancer.Options{Logger: log},
		snapshot.WithPolicyTimeout(cfg.PolicyTimeoutDuration()))
	if err != nil {
		n.cache.Close()
		n.closeEarly()
		return nil, fmt.Errorf("building the proxy configuration: %w", err)
	}
	n.proxy = proxyserver.New(proxyserver.Options{Snapshots: n.snapshots, Config: cfg, Logger: log,
		NodeID: opts.NodeID, Hostname: opts.Hostname, Version: Version,
		Cache: n.cache, Credentials: n.cache, Consumers: n.cache, DB: entitydb.New(st)})
	maxLine, maxHead := cfg.LargeClientHeaderBuffers()
	n.guardLimits = httpguard.Limits{MaxLine: maxLine, MaxHead: maxHead, Prefetch: proxyserver.StreamThreshold,
		HeaderTimeout: cfg.ClientHeaderTimeout(), BodyTimeout: cfg.ClientBodyTimeout(), KeepaliveTimeout: cfg.KeepaliveTimeout()}
	proxy := fiber.New(fiber.Config{
		DisableStartupMessage:        true,
		DisableDefaultDate:           true,
		DisablePreParseMultipartForm: true,
		StreamRequestBody:            true,
		BodyLimit:                    proxyserver.StreamThreshold, // larger bodies stream through
		// The guard hands the server whole heads of up to maxHead bytes
		// and owns the read deadlines (the server's stay off).
		// (Not ReduceMemoryUsage, though it would give idle connections'
		// buffers back: fasthttp 1.51 then drops a response it had
		// buffered for a pipelined request.)
		ReadBufferSize: maxHead + 4<<10,
		// The server's own errors get Kong's bodies, never an echo of the
		// request.
		ErrorHandler: func(c *fiber.Ctx, err error) error {
			status := fiber.StatusBadRequest
			var fe *fiber.Error
			if errors.As(err, &fe) {
				status = fe.Code
			}
			n.proxy.ServerError(c.Context(), status)
			return nil
		},
	})
	handler := n.proxy.ServeFastHTTP
	proxy.Use(func(c *fiber.Ctx) error {
		n.requests.Add(1)
		handler(c.Context())
		return nil
	})
	for _, a := range []*fiber.App{n.admin.App(), status, proxy} {
		// fasthttp's read errors quote the raw request (Authorization and
		// Cookie included), and the Admin API shows them: keep them out.
		a.Server().SecureErrorLogMessage = true
	}
	groups := []listenGroup{{kind: config.KindAdmin, app: n.admin.App()}, {kind: config.KindStatus, app: status}, {kind: config.KindProxy, app: proxy}}
	groups = append(groups, n.guiListeners()...) // gui.go: after admin, whose port the GUI needs
	for _, g := range groups {
		if g.app == nil {
			g.app = g.build()
		}
		for _, lis := range cfg.Listen(g.kind) {
			var tlsConf *tls.Config
			if lis.SSL {
				if tlsConf, err = n.tlsConfig(g.kind); err != nil {
					n.Close()
					return nil, err
				}
			}
			if err := n.serve(g.kind, g.app, lis.Addr, tlsConf); err != nil {
				n.Close()
				return nil, err
			}
		}
	}
	// After a burst of traffic, memory goes back to the system once the
	// node has been quiet for a few seconds.
	memCtx, stopMemory := context.WithCancel(context.Background())
	n.stopMemory = stopMemory
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		(&memreturn.Watcher{Activity: n.requests.Load}).Run(memCtx)
	}()
	n.logStarted()
	n.providers, started = o.Providers, true // from now on Close closes them
	return n, nil
}

// adminBodyLimit is nginx_admin_client_max_body_size for admin.Options,
// where 0 ("no limit" in nginx) is negative.
func adminBodyLimit(cfg *config.Config) int64 {
	if n := cfg.AdminMaxBodyBytes(); n > 0 {
		return n
	}
	return -1
}

// closeEarly releases what Start opened before it failed.
func (n *Node) closeEarly() {
	if n.cluster != nil {
		n.cluster.Close()
	}
	n.store.Backend().Close()
}

func (n *Node) count(c *fiber.Ctx) error {
	n.requests.Add(1)
	return c.Next()
}

func (n *Node) serverStats() map[string]any {
	var open int64
	for _, a := range n.apps {
		open += int64(a.Server().GetOpenConnectionsCount())
	}
	total := n.requests.Load()
	return map[string]any{
		"total_requests": total, "connections_active": open, "connections_accepted": total,
		"connections_handled": total, "connections_reading": 0, "connections_writing": open, "connections_waiting": 0,
	}
}

// nodeStats is the node as plugin endpoints see it (plugin.Host).
func (n *Node) nodeStats() plugin.NodeStats {
	s := n.serverStats()
	i := func(k string) int64 { v, _ := s[k].(int64); return v }
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out := plugin.NodeStats{NodeID: n.id, Version: Version, At: time.Now(),
		ConnectionsActive: i("connections_active"), ConnectionsReading: i("connections_reading"),
		ConnectionsWriting: i("connections_writing"), ConnectionsWaiting: i("connections_waiting"),
		ConnectionsAccepted: i("connections_accepted"), ConnectionsHandled: i("connections_handled"),
		TotalRequests: i("total_requests"), DatastoreReachable: n.store.Ping(ctx) == nil}
	out.Hostname, _ = os.Hostname()
	if n.cfg.Database == config.DatabaseOff {
		out.ConfigHash = n.configHash()
	}
	if n.proxy != nil {
		ls := n.proxy.LogStats()
		out.LogDone, out.LogDropped = ls.Done, ls.Dropped
	}
	if n.snapshots != nil {
		if snap := n.snapshots.Current(); snap != nil {
			for _, name := range store.SortedKeys(snap.Upstreams) {
				for _, t := range snap.Upstreams[name].Health() {
					for _, a := range t.Data.Addresses {
						out.Targets = append(out.Targets, plugin.TargetHealth{Upstream: name, Target: t.Target,
							Address: net.JoinHostPort(a.IP, strconv.Itoa(a.Port)), State: strings.ToLower(a.Health)})
					}
					if len(t.Data.Addresses) == 0 {
						out.Targets = append(out.Targets, plugin.TargetHealth{Upstream: name, Target: t.Target,
							State: strings.ToLower(t.Health)})
					}
				}
			}
		}
	}
	return out
}

func (n *Node) serve(name string, a *fiber.App, addr string, tlsConf *tls.Config) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s_listen %s: %w", name, addr, err)
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
		name += "_ssl"
	}
	if strings.HasPrefix(name, "proxy") {
		// Outside TLS: the guard reads plaintext.
		g := httpguard.NewListener(ln, n.guardLimits)
		n.guards = append(n.guards, g)
		ln = g
	} else {
		t := httpguard.Track(ln)
		n.trackers = append(n.trackers, t)
		ln = t
	}
	n.apps = append(n.apps, a)
	n.listeners = append(n.listeners, ln)
	n.addrs[name] = append(n.addrs[name], ln.Addr().String())
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := a.Listener(ln); err != nil {
			n.log.Error("listener stopped", "listener", name, "error", err)
		}
	}()
	return nil
}

// tlsConfig serves the TLS listeners of a kind: on the proxy, the
// certificate whose SNI matches the client's server name; else the
// certificates configured for the kind (ssl_cert, admin_ssl_cert, ...:
// the one matching the client, the first otherwise); else the node's
// default certificate (self-signed, generated once into <prefix>/ssl,
// as Kong does).
func (n *Node) tlsConfig(kind string) (*tls.Config, error) {
	configured, err := n.cfg.ListenerCertificates(kind)
	if err != nil {
		return nil, err
	}
	var def *tls.Certificate
	if len(configured) == 0 {
		if def, err = n.defaultCert(); err != nil {
			return nil, err
		}
	}
	proxy := kind == config.KindProxy
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if proxy && n.snapshots != nil {
				if snap := n.snapshots.Current(); snap != nil {
					if c := snap.Certificates.Lookup(hello.ServerName); c != nil {
						return c, nil
					}
				}
			}
			if def != nil {
				return def, nil
			}
			// An RSA and an ECDSA certificate, as Kong allows: the first
			// the client supports.
			for i := range configured {
				if hello.SupportsCertificate(&configured[i]) == nil {
					return &configured[i], nil
				}
			}
			return &configured[0], nil
		},
	}, nil
}

// Addr returns the first bound address of a listener kind ("admin",
// "proxy", "status", "admin_gui", "portal_gui", "portal_api"; with "_ssl"
// appended, of its TLS listeners), or "".
func (n *Node) Addr(kind string) string {
	if a := n.addrs[kind]; len(a) > 0 {
		return a[0]
	}
	return ""
}

// Snapshots returns the node's configuration snapshots.
func (n *Node) Snapshots() *snapshot.Builder { return n.snapshots }

// Store returns the node's store.
func (n *Node) Store() *store.Store { return n.store }

// Close shuts the node down gracefully within
// nginx_main_worker_shutdown_timeout (see Shutdown).
func (n *Node) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.WorkerShutdownTimeout())
	defer cancel()
	return n.Shutdown(ctx)
}

// Shutdown stops accepting connections, closes idle keep-alive ones, lets
// in-flight requests finish until ctx is done, then cuts every connection
// left (slow or stuck clients, on any listener) and closes the store.
// Later calls do nothing.
func (n *Node) Shutdown(ctx context.Context) error {
	var err error
	n.closeOnce.Do(func() { err = n.close(ctx) })
	return err
}

func (n *Node) close(ctx context.Context) error {
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	seen := map[*fiber.App]bool{}
	for _, a := range n.apps {
		if !seen[a] {
			seen[a] = true
			wg.Add(1)
			go func(a *fiber.App) {
				defer wg.Done()
				// Closes the listeners and idle connections, then waits
				// for the active ones until ctx is done.
				err := a.ShutdownWithContext(ctx)
				if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
					err = nil // the guards cut what is left below
				}
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}(a)
		}
	}
	// Meanwhile, proxy connections waiting for a request are closed (the
	// server only closes those idle after a request).
	shut := make(chan struct{})
	go func() { wg.Wait(); close(shut) }()
	tick := time.NewTicker(50 * time.Millisecond)
	for waiting := true; waiting; {
		for _, g := range n.guards {
			g.CloseIdle()
		}
		select {
		case <-shut:
			waiting = false
		case <-tick.C:
		}
	}
	tick.Stop()
	for _, g := range n.guards {
		g.CloseConns()
	}
	for _, t := range n.trackers {
		t.CloseConns()
	}
	// Closing the listeners also stops a server that had not started
	// serving when Shutdown ran (Shutdown alone would miss it).
	for _, ln := range n.listeners {
		ln.Close()
	}
	if n.stopMemory != nil {
		n.stopMemory()
	}
	n.wg.Wait()
	if n.proxy != nil {
		// Log phases still queued run before the plugin runtimes close:
		// until ctx ends, and a second at most when it ended already.
		dctx := ctx
		if ctx.Err() != nil {
			var cancel context.CancelFunc
			dctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
		}
		_ = n.proxy.DrainLogs(dctx)
	}
	if n.cluster != nil {
		n.cluster.Close()
	}
	if n.snapshots != nil {
		n.snapshots.Close()
	}
	if n.cache != nil {
		n.cache.Close()
	}
	n.teams.Close()
	errs = append(errs, n.store.Backend().Close())
	errs = append(errs, n.catalog.Close())
	for _, p := range n.providers {
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
}

// loadDeclarative replaces the DB-less configuration.
func (n *Node) loadDeclarative(ctx context.Context, data []byte) error {
	cfg, err := declarative.Parse(data, n.store.Registry())
	if err != nil {
		return err
	}
	if err := cfg.Load(ctx, n.store, true); err != nil {
		return err
	}
	sum := md5.Sum(data)
	n.configMu.Lock()
	n.configSum = hex.EncodeToString(sum[:])
	n.configMu.Unlock()
	return nil
}

func (n *Node) configHash() string {
	n.configMu.Lock()
	defer n.configMu.Unlock()
	if n.configSum == "" {
		return strings.Repeat("0", 32)
	}
	return n.configSum
}
