// Package proxy serves client traffic the way Kong's proxy does: match a
// route, run the plugin chain, balance across the service's targets,
// forward with pooled keep-alive connections, and answer with Kong's headers
// and error bodies. It runs on fasthttp (the Fiber core's engine); the
// router, balancer and chain it drives know nothing of it.
package proxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/balancer"
	"github.com/gatehouse/gatehouse/runtime/chain"
	"github.com/gatehouse/gatehouse/runtime/config"
	"github.com/gatehouse/gatehouse/runtime/internal/httpguard"
	"github.com/gatehouse/gatehouse/runtime/router"
	"github.com/gatehouse/gatehouse/runtime/snapshot"
	"github.com/gatehouse/gatehouse/runtime/threat"
	"github.com/valyala/fasthttp"
)

// ConsumerLoader finds consumers for kong.client.load_consumer.
type ConsumerLoader interface {
	Consumer(ctx context.Context, key string, byUsername bool) (map[string]any, error)
}

// Snapshots gives the configuration to serve.
type Snapshots interface {
	Current() *snapshot.Snapshot
}

// Options configure the proxy.
type Options struct {
	Snapshots   Snapshots
	Config      *config.Config
	Logger      *slog.Logger
	NodeID      string
	Hostname    string
	Version     string
	Cache       hostabi.Cache
	Credentials hostabi.Credentials
	// DB is kong.db: the node's entities (nil: none, every call fails).
	DB        hostabi.DB
	Consumers ConsumerLoader
	// LogWorkers bounds the goroutines running log phases (default four
	// per CPU); LogQueue bounds the requests waiting for theirs (default
	// DefaultLogQueue). Work beyond both is dropped and counted
	// (Server.LogStats).
	LogWorkers, LogQueue int
}

// Server is the proxy.
type Server struct {
	opts      Options
	log       *slog.Logger
	clientsMu sync.RWMutex
	clients   map[clientKey]*fasthttp.HostClient
	states    sync.Pool
	trusted   []netip.Prefix
	headers   struct {
		upstreamLatency, proxyLatency, responseLatency, via, server, upstreamStatus, requestID bool
	}
	serverToken string
	// via and server are the Via and Server response header values,
	// built once; viaIn11 and viaIn10 what Kong appends to the upstream
	// request's Via for an HTTP/1.1 and an HTTP/1.0 client.
	via, server      []byte
	viaIn11, viaIn10 []byte
	lastPort         atomic.Pointer[portText]
	logs             *chain.Pool[*state]
	timers           *chain.Timers
	http             chain.HTTPClient
}

func newLogs(workers, queue int, run func(*state)) *chain.Pool[*state] {
	return chain.NewPool(workers, queue, run)
}

// New returns a proxy server.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{opts: opts, log: opts.Logger}
	s.states.New = func() any { return &state{} }
	s.logs = newLogs(opts.LogWorkers, opts.LogQueue, s.runLog)
	s.http = chain.HTTPClient{Client: &http.Client{}}
	s.timers = chain.NewTimers(opts.LogWorkers, opts.LogQueue, 3*DefaultTimeout, s.http)
	s.timers.OnFault = func(plugin string, v any) {
		s.log.Error("plugin timer failed", "plugin", plugin, "error", fmt.Sprint(v))
	}
	if c := opts.Config; c != nil {
		s.trusted, _ = c.TrustedPrefixes()
		s.headers.upstreamLatency = c.HeaderEnabled("X-Kong-Upstream-Latency")
		s.headers.proxyLatency = c.HeaderEnabled("X-Kong-Proxy-Latency")
		s.headers.responseLatency = c.HeaderEnabled("X-Kong-Response-Latency")
		s.headers.via = c.HeaderEnabled("Via")
		s.headers.server = c.HeaderEnabled("Server")
		s.headers.upstreamStatus = c.HeaderEnabled("X-Kong-Upstream-Status")
		s.headers.requestID = c.HeaderEnabled("X-Kong-Request-Id")
	}
	s.serverToken = "gatehouse/" + opts.Version
	s.via = []byte("1.1 " + s.serverToken)
	// Kong writes the client's HTTP version as a Lua number: 1.0 is "1".
	s.viaIn11, s.viaIn10 = []byte("1.1 "+s.serverToken), []byte("1 "+s.serverToken)
	s.server = []byte(s.serverToken)
	return s
}

type headerOpKind uint8

const (
	opSet headerOpKind = iota
	opAdd
	opDel
	// opPrefix applies X-Forwarded-Prefix (upstream request only): the
	// route became known at this point of a deferred op list.
	opPrefix
)

type headerOp struct {
	name, value string
	op          headerOpKind
}

// state is one request's working set, pooled.
type state struct {
	srv  *Server
	fctx *fasthttp.RequestCtx
	snap *snapshot.Snapshot

	// start is when the request arrived; deadline bounds it (Kong.Context):
	// start plus the matched service's timeouts. reqCtx is made on the
	// first Kong.Context call.
	start    time.Time
	deadline time.Time
	reqCtx   *chain.Context
	// ctxs hands out reqCtx: each context once, from blocks, so a
	// request's context costs no allocation of its own.
	ctxs chain.Contexts
	// proxiedAt is when the request went upstream (zero: it did not);
	// doneAt when the response was ready. serialize holds
	// kong.log.set_serialize_value's changes.
	proxiedAt, doneAt time.Time
	// respondedAt is when the upstream's response (headers, and a body
	// read whole) arrived; tries are the upstream attempts.
	respondedAt time.Time
	tries       []hostabi.LogTry
	serialize   []hostabi.SerializeValue
	// tlsState is the client's TLS connection, kept for the log phase.
	tlsState *tls.ConnectionState

	phase      hostabi.Phase
	scheme     string
	path       string
	localPort  int
	localIP    net.IP
	connID     uint64
	connReqs   uint64
	remoteIP   string
	remotePort int
	clientIP   string
	trusted    bool
	requestID  string

	rreq    router.Request
	match   router.Match
	service *snapshot.Service

	// up is the upstream request when it must exist apart from the
	// client's (see upstream); upReady says it was built. clientPrefix
	// is a trusted client's X-Forwarded-Prefix, read before any change.
	up           fasthttp.Request
	upReady      bool
	clientPrefix string
	// reqOps are the header changes plugins made to the upstream request
	// before it was built (kong.service.request set/add/clear_header),
	// replayed on it when it is (see upstream and forward).
	reqOps         []headerOp
	upResp         *fasthttp.Response
	upStatus       int
	upScheme       string
	upPath         string
	upQuery        string
	queryChanged   bool
	hostOverride   string
	targetOverride string
	// upstreamOverride is the upstream kong.service.set_upstream chose.
	upstreamOverride *balancer.Balancer
	hashCookie       string
	buffered         bool
	bodySet          bool

	exited bool
	failed bool

	consumer, credential map[string]any
	consumerID           string
	shared               map[string]any
	pluginCtx            map[*chain.Instance]map[string]any
	current              *chain.Instance
	respOps              []headerOp
	// respPending: respOps were recorded before any response existed
	// (rewrite, access) and are not on fctx.Response yet (flushRespOps).
	respPending bool
	plan        chain.Plan
	// canon caches canonical header names (canonicalName); it outlives
	// reset.
	canon     [canonNames]canonName
	canonNext int

	scratch []byte

	// ipKey, ipText and ipTrusted remember the last remote address this
	// pooled state formatted, and whether trusted_ips hold it: a
	// keep-alive client is formatted once. They outlive reset.
	ipKey     [net.IPv6len]byte
	ipLen     int
	ipText    string
	ipTrusted bool
	// client is the upstream client last used for clientKey (outlives
	// reset; see stateClient).
	client    *fasthttp.HostClient
	clientKey clientKey

	clientBody bodyReader
	// bodyLimit bounds a streamed client body (hostabi.BodyLimiter): the
	// bytes allowed plus one, 0 for no limit; reading that many ends the
	// request with limitStatus and limitMsg.
	bodyLimit   int64
	limitStatus int
	limitMsg    string
	// tap sees a streamed client body (threat.BodyTapper) until
	// attachBody hands it to clientBody.
	tap threat.Tap

	consumerFn func() string
	exitedFn   func() bool
	// headerFn is requestHeader as a func value, made once per state (a
	// method value made per request would allocate).
	headerFn func(string) []string
}

func (s *state) reset() {
	s.closeTap()
	if s.upReady {
		s.up.Reset()
	}
	s.upReady, s.clientPrefix = false, ""
	clear(s.reqOps)
	s.reqOps = s.reqOps[:0]
	s.clientBody = bodyReader{}
	s.bodyLimit, s.limitStatus, s.limitMsg = 0, 0, ""
	s.upResp = nil
	s.upStatus = 0
	s.upScheme, s.upPath, s.upQuery = "", "", ""
	s.queryChanged = false
	s.hostOverride, s.targetOverride, s.hashCookie = "", "", ""
	s.upstreamOverride = nil
	s.endContext()
	s.proxiedAt, s.doneAt, s.respondedAt = time.Time{}, time.Time{}, time.Time{}
	s.tries = s.tries[:0]
	s.serialize = s.serialize[:0]
	s.tlsState = nil
	s.buffered, s.bodySet, s.exited, s.failed = false, false, false, false
	s.consumer, s.credential, s.consumerID = nil, nil, ""
	s.shared, s.pluginCtx, s.current = nil, nil, nil
	clear(s.respOps)
	s.respOps = s.respOps[:0]
	s.respPending = false
	s.plan.Reset()
	s.match.Route = nil // the Match keeps its buffers for the next request
	s.service = nil
	s.snap = nil
}

// DefaultTimeout is Kong's default connect, write and read timeout of a
// service; before routing a request's deadline is three of them.
const DefaultTimeout = 60 * time.Second

// context returns the request's context, made on first use: plugins that
// never ask for it cost nothing. It comes from the state's blocks and is
// never handed out again, whatever holds it after the request.
func (s *state) context() context.Context {
	if s.reqCtx == nil {
		s.reqCtx = s.ctxs.New(s.deadline)
	}
	return s.reqCtx
}

// setDeadline moves the request's deadline; a context handed out before
// (in the rewrite phase) ends.
func (s *state) setDeadline(d time.Time) {
	s.endContext()
	s.deadline = d
}

// endContext cancels the context plugins were given, if any.
func (s *state) endContext() {
	if s.reqCtx != nil {
		s.reqCtx.End()
		s.reqCtx = nil
	}
}

// budget is how long a request to svc may run: the sum of its connect,
// write and read timeouts, the longest Kong lets a proxied request take.
func budget(svc *snapshot.Service) time.Duration {
	if svc == nil {
		return 3 * DefaultTimeout
	}
	return svc.ConnectTimeout + svc.WriteTimeout + svc.ReadTimeout
}

func (s *state) captures() map[string]string {
	return s.match.Captures.Map()
}

// bytesView returns b as a string without copying; the string is valid
// only while b is (the request's lifetime).
func bytesView(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// reqID returns the request's id, made on first use: most requests never
// need one.
func (s *state) reqID() string {
	if s.requestID == "" {
		s.requestID = newRequestID()
	}
	return s.requestID
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Kong's proxy error messages.
const (
	msgNoRoute     = "no Route matched with those values"
	msgNoService   = "no Service found with those values"
	msgUnexpected  = "An unexpected error occurred"
	msgBadGateway  = "An invalid response was received from the upstream server"
	msgNoPeer      = "failure to get a peer from the ring-balancer"
	msgTimeout     = "The upstream server is timing out"
	msgUseHTTPS    = "Please use HTTPS protocol"
	msgUnavailable = "Service unavailable"
)

// ServeFastHTTP serves one proxied request.
func (srv *Server) ServeFastHTTP(fctx *fasthttp.RequestCtx) {
	if status, msg := httpguard.Rejection(fctx.Conn(), fctx.ConnRequestNum()); status != 0 {
		// The guard refused this request and handed the server a stand-in:
		// answer it, and close the connection.
		srv.errorResponse(fctx, status, msg, newRequestID())
		srv.serverHeader(fctx)
		fctx.SetConnectionClose()
		return
	}
	start := fctx.Time() // taken by the server when the request arrived
	if start.IsZero() {
		start = time.Now() // a context not served by a fasthttp.Server
	}
	snap := srv.opts.Snapshots.Current()
	if snap == nil {
		srv.errorResponse(fctx, fasthttp.StatusServiceUnavailable, msgUnavailable, "")
		if fctx.Request.IsBodyStream() {
			fctx.SetConnectionClose() // the body is still on the connection
			httpguard.Linger(fctx.Conn())
		}
		return
	}
	snap.Acquire()
	st := srv.states.Get().(*state)
	st.reset()
	st.srv, st.fctx, st.snap = srv, fctx, snap
	st.start, st.deadline = start, start.Add(budget(nil))
	if st.consumerFn == nil {
		st.consumerFn = func() string { return st.consumerID }
		st.exitedFn = func() bool { return st.exited }
		st.headerFn = st.requestHeader
	}
	logAsync := srv.serve(st, start)
	if !logAsync {
		st.release()
	}
}

func (st *state) release() {
	snap := st.snap
	st.reset()
	st.srv.states.Put(st)
	if snap != nil {
		snap.Release()
	}
}

// serve runs the request; it returns true when the log phase took over the
// state (and releases it later).
func (srv *Server) serve(st *state, start time.Time) bool {
	fctx := st.fctx
	st.requestID = ""
	st.scheme = "http"
	if fctx.IsTLS() {
		st.scheme = "https"
	}
	st.localIP = nil
	if a, ok := fctx.LocalAddr().(*net.TCPAddr); ok {
		st.localPort, st.localIP = a.Port, a.IP
	}
	// What ngx.var serves, kept for the log phase's detached copy.
	st.connID, st.connReqs = fctx.ConnID(), fctx.ConnRequestNum()
	srv.clientAddress(st)
	// A pooled state keeps its last path: a string is immutable, so a
	// client asking for the same path again shares it (no copy).
	if p := fctx.Path(); string(p) != st.path {
		st.path = string(p)
	}
	if ds := st.snap.DeniedIPs; ds.Len() > 0 {
		if d, denied := ds.Lookup(st.clientIP, start); denied {
			return srv.deniedIP(st, d, start)
		}
	}

	// The upstream request is built when first needed (state.upstream),
	// as it stood before the rewrite phase with the plugins' header
	// changes replayed; otherwise the client's request itself goes
	// upstream, changed in place (forward).

	// rewrite: global plugins, before routing.
	st.phase = hostabi.PhaseRewrite
	if f := st.snap.Plugins.Rewrite(st, st.exitedFn); f != nil {
		return srv.fail(st, f, start)
	}
	if st.exited {
		st.snap.Plugins.CollectGlobals(&st.plan, st.scheme)
		return srv.finish(st, start, time.Time{})
	}

	// Method and Host are views of the request's bytes (the router keeps
	// neither); Path is copied, since captures may outlive the request.
	// st.path is reused when the raw path is the normalised one.
	rawPath := st.path
	if orig := fctx.URI().PathOriginal(); string(orig) != st.path {
		rawPath = string(orig)
	}
	st.rreq = router.Request{Method: bytesView(fctx.Method()), Host: bytesView(fctx.Host()),
		Path: rawPath, Scheme: st.scheme, Port: st.localPort, Header: st.headerFn}
	if cs := fctx.TLSConnectionState(); cs != nil {
		st.rreq.SNI = cs.ServerName
	}
	if !st.snap.Router.Match(&st.rreq, &st.match) {
		st.flushRespOps()
		srv.errorResponse(fctx, fasthttp.StatusNotFound, msgNoRoute, st.reqID())
		st.snap.Plugins.CollectGlobals(&st.plan, st.scheme)
		return srv.finish(st, start, time.Time{})
	}
	route := st.match.Route
	if route.HTTPSRequired(st.scheme) {
		st.snap.Plugins.CollectGlobals(&st.plan, st.scheme)
		return srv.redirectHTTPS(st, start)
	}
	st.service = st.snap.Services[route.ServiceID]
	if st.service == nil {
		st.flushRespOps()
		srv.errorResponse(fctx, fasthttp.StatusServiceUnavailable, msgNoService, st.reqID())
		st.snap.Plugins.CollectGlobals(&st.plan, st.scheme)
		return srv.finish(st, start, time.Time{})
	}
	srv.routeUpstream(st)
	st.setDeadline(start.Add(budget(st.service)))

	st.phase = hostabi.PhaseAccess
	scope := chain.Scope{RouteID: route.ID, ServiceID: st.service.ID, Protocol: st.scheme}
	if f := st.snap.Plugins.Access(st, scope, st.consumerFn, st.exitedFn, &st.plan); f != nil {
		return srv.fail(st, f, start)
	}
	if st.exited {
		return srv.finish(st, start, time.Time{})
	}
	if st.plan.NeedsBuffering() {
		st.buffered = true
	}
	if r := st.tapBuffered(); r != nil {
		// A tapped body a later plugin read whole: the tap judges it here.
		st.flushRespOps()
		srv.errorResponse(fctx, r.Status, r.Message, st.reqID())
		return srv.finish(st, start, time.Time{})
	}
	proxied := time.Now()
	srv.forward(st, proxied)
	st.closeTap()
	return srv.finish(st, start, proxied)
}

// msgDeniedIP is the body of a request from a denied_ips address.
const msgDeniedIP = "IP address not allowed"

// deniedIP answers a request from a denied_ips address with 403 before
// any plugin runs (global log plugins still log it, as for an unmatched
// route) and records the threat event.
func (srv *Server) deniedIP(st *state, d threat.Denied, start time.Time) bool {
	fctx := st.fctx
	ev := threat.Events.Record(threat.Event{Rule: "denied_ips", Filter: "ip", Action: threat.ActionDeny,
		Status: fasthttp.StatusForbidden, Message: msgDeniedIP, ClientIP: st.clientIP,
		Host: string(fctx.Host()), Path: st.path, Method: string(fctx.Method())})
	srv.log.Warn("threat: request from a denied IP refused", "rule", ev.Rule, "filter", ev.Filter, "client_ip", ev.ClientIP,
		"denied", d.Prefix.String(), "reason", d.Reason, "host", ev.Host, "path", ev.Path, "method", ev.Method)
	srv.errorResponse(fctx, fasthttp.StatusForbidden, msgDeniedIP, st.reqID())
	st.snap.Plugins.CollectGlobals(&st.plan, st.scheme)
	return srv.finish(st, start, time.Time{})
}

// requestHeader returns every value of a request header (the server
// normalises names, so the lookup is case-insensitive).
func (st *state) requestHeader(name string) []string {
	vals := st.fctx.Request.Header.PeekAll(name)
	if len(vals) == 0 {
		return nil
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}

// portString formats a listener port, remembering the last one (a node has
// a handful of listeners).
func (srv *Server) portString(port int) string {
	if c := srv.lastPort.Load(); c != nil && c.port == port {
		return c.text
	}
	c := &portText{port: port, text: strconv.Itoa(port)}
	srv.lastPort.Store(c)
	return c.text
}

type portText struct {
	port int
	text string
}

// clientAddress resolves the client's address with trusted_ips and
// real_ip_header, as Kong's realip handling does.
func (srv *Server) clientAddress(st *state) {
	addr := st.fctx.RemoteAddr()
	if a, ok := addr.(*net.TCPAddr); ok && len(a.IP) <= net.IPv6len {
		if st.ipText == "" || string(a.IP) != string(st.ipKey[:st.ipLen]) {
			st.ipLen = copy(st.ipKey[:], a.IP)
			st.ipText = a.IP.String()
			st.ipTrusted = srv.trustedIP(st.ipText)
		}
		st.remoteIP, st.remotePort, st.trusted = st.ipText, a.Port, st.ipTrusted
	} else {
		st.remoteIP = addr.String()
		st.trusted = srv.trustedIP(st.remoteIP)
	}
	st.clientIP = st.remoteIP
	if st.trusted && srv.opts.Config != nil {
		h := srv.opts.Config.RealIPHeader
		v := string(st.fctx.Request.Header.Peek(h))
		if strings.EqualFold(h, "X-Forwarded-For") || strings.EqualFold(h, "proxy_protocol") {
			v = lastForwarded(v)
		}
		if v != "" {
			st.clientIP = strings.TrimSpace(v)
		}
	}
}

// trustedIP reports whether the remote address ip is within trusted_ips.
func (srv *Server) trustedIP(ip string) bool {
	if len(srv.trusted) == 0 {
		return false
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range srv.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// hostOnly strips the port from a Host header value as net.SplitHostPort
// does, without its error allocation for a host with no port.
func hostOnly(h string) string {
	if strings.IndexByte(h, ':') < 0 {
		return h // SplitHostPort fails on it: missing port
	}
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}

func lastForwarded(v string) string {
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		return strings.TrimSpace(v[i+1:])
	}
	return strings.TrimSpace(v)
}

// hopNames are the hop-by-hop headers the proxy drops; hopConnection and
// hopTrailer index the two fasthttp keeps apart.
var hopNames = [...]string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade"}

const (
	hopConnection = 0
	hopTrailer    = 6
)

var hopHeaders = hopNames[:]

// Header names the proxy sets, in canonical form (SetCanonical skips the
// normalisation pass).
var (
	hdrXFF       = []byte("X-Forwarded-For")
	hdrXFProto   = []byte("X-Forwarded-Proto")
	hdrXFHost    = []byte("X-Forwarded-Host")
	hdrXFPort    = []byte("X-Forwarded-Port")
	hdrXFPath    = []byte("X-Forwarded-Path")
	hdrXFPrefix  = []byte("X-Forwarded-Prefix")
	hdrXRealIP   = []byte("X-Real-IP")
	hdrVia       = []byte("Via")
	hdrServer    = []byte("Server")
	hdrUpLatency = []byte("X-Kong-Upstream-Latency")
	hdrPxLatency = []byte("X-Kong-Proxy-Latency")
	hdrRsLatency = []byte("X-Kong-Response-Latency")
	hopKeys      = func() [][]byte {
		out := make([][]byte, len(hopHeaders))
		for i, h := range hopHeaders {
			out[i] = []byte(h)
		}
		return out
	}()
)

// dropHopHeaders removes the hop-by-hop headers (hopHeaders) from h. One
// pass over the header names finds those present, so a request without
// any pays no deletion (each deletion normalises its name and scans every
// header). "Connection: close" and Trailer are kept apart from the other
// headers by fasthttp; their deletion resets them.
func dropHopHeaders(h *fasthttp.RequestHeader) {
	var present [len(hopNames)]bool
	present[hopConnection] = h.ConnectionClose()
	present[hopTrailer] = len(h.PeekTrailerKeys()) > 0
	for _, k := range h.PeekKeys() {
		for i, hop := range hopKeys {
			if len(k) == len(hop) && bytes.EqualFold(k, hop) {
				present[i] = true
			}
		}
	}
	for i, p := range present {
		if p {
			h.DelBytes(hopKeys[i])
		}
	}
}

// stringBytes views s as bytes, for fasthttp setters that copy them.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// upstream returns the upstream request as a copy of the client's, built
// on first need (a plugin reading it, changing its method or body, or
// forward finding the client's request must stay as it arrived): the
// header changes plugins made before are replayed on it.
func (st *state) upstream() *fasthttp.Request {
	if !st.upReady {
		st.upReady = true
		st.srv.prepareUpstream(st, &st.up)
		st.replayOps(&st.up)
	}
	return &st.up
}

// changeHeader changes the upstream request's headers: on the request when it
// exists, else recorded for replay (the client's request stays as it
// arrived for kong.request meanwhile).
func (st *state) changeHeader(op headerOp) {
	if !st.upReady && strings.EqualFold(op.name, fasthttp.HeaderAccept) {
		// The proxy's own error bodies follow the client's Accept, read
		// after forwarding: a changed Accept needs a copy.
		st.upstream()
	}
	if st.upReady {
		st.applyOp(&st.up, op)
		return
	}
	st.reqOps = append(st.reqOps, op)
}

// respOp records a plugin's change to the response headers. Before any
// response exists (rewrite, access) it is only recorded: the upstream's
// answer replaces the response, and forward applies the changes to it once;
// an exit or an error response gets them through flushRespOps. Later, or
// after an exit, it changes the response at once.
func (st *state) respOp(op headerOp) {
	st.respOps = append(st.respOps, op)
	if !st.exited && st.upResp == nil && (st.phase == hostabi.PhaseRewrite || st.phase == hostabi.PhaseAccess) {
		st.respPending = true
		return
	}
	st.applyRespOp(&st.fctx.Response.Header, op)
}

// flushRespOps puts the recorded response header changes on the response
// when they are still pending: before a plugin reads the response headers,
// and before a response other than the upstream's is sent.
func (st *state) flushRespOps() {
	if !st.respPending {
		return
	}
	st.respPending = false
	for _, op := range st.respOps {
		st.applyRespOp(&st.fctx.Response.Header, op)
	}
}

// applyRespOp applies one header change to a response. Kong's set_header
// replaces every value (fasthttp's Set replaces only the first). A token
// name with a value free of CR and LF (what plugins set: rate-limiting's
// counters, key-auth's consumer headers) goes in under its cached
// canonical form, without fasthttp's per-call copy, normalisation and line
// scrubbing.
func (st *state) applyRespOp(h *fasthttp.ResponseHeader, op headerOp) {
	switch op.op {
	case opSet:
		if canon := st.canonicalName(op.name); canon != nil && cleanValue(op.value) {
			h.DelBytes(canon)
			h.SetCanonical(canon, stringBytes(op.value))
			return
		}
		h.Del(op.name)
		h.Set(op.name, op.value)
	case opAdd:
		h.Add(op.name, op.value)
	case opDel:
		h.Del(op.name)
	}
}

// cleanValue reports whether a header value holds no CR or LF.
func cleanValue(v string) bool {
	return strings.IndexByte(v, '\r') < 0 && strings.IndexByte(v, '\n') < 0
}

// canonNames is how many header names a state remembers in canonical form.
const canonNames = 16

// canonName is a header name and its canonical form (fasthttp's
// normalisation).
type canonName struct {
	name  string
	canon []byte
}

// canonicalName returns name in fasthttp's canonical form (the first byte
// and the byte after each '-' upper case, every other byte lower case),
// from the state's small cache (a pooled state keeps it across requests,
// and plugins set the same few names each time), or nil when name is not
// a header token.
func (st *state) canonicalName(name string) []byte {
	for i := range st.canon {
		if c := &st.canon[i]; c.canon != nil && c.name == name {
			return c.canon
		}
	}
	if name == "" {
		return nil
	}
	b := make([]byte, len(name))
	// As fasthttp's normalizeHeaderKey: the first byte is upper-cased
	// whatever it is; a '-' after it upper-cases the next byte.
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !tokenByte(c) {
			return nil
		}
		upper := i == 0
		if c == '-' && i > 0 && i+1 < len(name) {
			b[i] = c
			i++ // the byte after '-' is upper-cased, even a second '-'
			c, upper = name[i], true
			if !tokenByte(c) {
				return nil
			}
		}
		switch {
		case upper && c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case !upper && c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		b[i] = c
	}
	st.canon[st.canonNext%canonNames] = canonName{name: name, canon: b}
	st.canonNext++
	return b
}

// tokenByte reports whether c may appear in a header name (RFC 9110 tchar).
func tokenByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func (st *state) replayOps(up *fasthttp.Request) {
	for _, op := range st.reqOps {
		st.applyOp(up, op)
	}
	clear(st.reqOps)
	st.reqOps = st.reqOps[:0]
}

func (st *state) applyOp(up *fasthttp.Request, op headerOp) {
	switch op.op {
	case opSet:
		// Kong's set_header replaces every value: fasthttp's Set replaces
		// only the first. Names as in applyRespOp.
		if canon := st.canonicalName(op.name); canon != nil && cleanValue(op.value) {
			up.Header.DelBytes(canon)
			up.Header.SetCanonical(canon, stringBytes(op.value))
			return
		}
		up.Header.Del(op.name)
		up.Header.Set(op.name, op.value)
	case opAdd:
		up.Header.Add(op.name, op.value)
	case opDel:
		up.Header.Del(op.name)
	case opPrefix:
		st.srv.forwardedPrefix(st, up)
	}
}

// reuseClientRequest reports whether the client's request itself can go
// upstream (changed in place) instead of a copy. That holds when nothing
// reads the request as it arrived once the proxy changed it: no planned
// plugin has a phase after the access phase (response, header_filter,
// body_filter, log: each may read kong.request), no plugin read or
// rebuilt the upstream request (it is then a copy already); when its body
// is not a stream the server owns (it would be released twice); and when
// no ring-balancer or plugin-chosen target picks the peer (a retry's hash
// pick reads the client's headers, cookies or query again).
func (st *state) reuseClientRequest() bool {
	if st.upReady || st.buffered || st.service.Upstream != nil || st.upstreamOverride != nil ||
		st.targetOverride != "" || st.fctx.Request.IsBodyStream() {
		return false
	}
	return !st.latePhases()
}

// latePhases reports whether a planned plugin has a phase after the
// request went upstream (response, header_filter, body_filter, log).
func (st *state) latePhases() bool {
	for _, in := range st.plan.Ran() {
		if in.Has(hostabi.PhaseResponse) || in.Has(hostabi.PhaseHeaderFilter) ||
			in.Has(hostabi.PhaseBodyFilter) || in.Has(hostabi.PhaseLog) {
			return true
		}
	}
	return false
}

// prepareUpstream makes up, a copy of the client's request or the
// client's request itself, the upstream request: hop-by-hop headers
// dropped, X-Forwarded-*, X-Real-IP set as Kong's nginx sets them
// (X-Forwarded-Prefix follows once routed: opPrefix). Every value is read
// from the client's request before up changes.
func (srv *Server) prepareUpstream(st *state, up *fasthttp.Request) {
	fctx := st.fctx
	inPlace := up == &fctx.Request
	if !inPlace {
		fctx.Request.Header.CopyTo(&up.Header)
		up.Header.SetMethodBytes(fctx.Method())
	}
	dropHopHeaders(&up.Header)

	st.scratch = st.scratch[:0]
	if prev := fctx.Request.Header.Peek("X-Forwarded-For"); len(prev) > 0 {
		st.scratch = append(append(st.scratch, prev...), ", "...)
	}
	st.scratch = append(st.scratch, st.remoteIP...)
	// Host is a view of the request URI's host buffer, which no header
	// change below touches; the trusted values are copies.
	proto, host, port := st.scheme, hostOnly(bytesView(fctx.Host())), srv.portString(st.localPort)
	if st.trusted {
		proto = headerOr(fctx, "X-Forwarded-Proto", proto)
		host = headerOr(fctx, "X-Forwarded-Host", host)
		port = headerOr(fctx, "X-Forwarded-Port", port)
		// Read now: replayed changes may rewrite the client's request
		// before the prefix is set.
		st.clientPrefix = headerOr(fctx, "X-Forwarded-Prefix", "")
	}
	up.Header.SetCanonical(hdrXFF, st.scratch)
	up.Header.SetCanonical(hdrXFProto, stringBytes(proto))
	up.Header.SetCanonical(hdrXFHost, stringBytes(host))
	up.Header.SetCanonical(hdrXFPort, stringBytes(port))
	up.Header.SetCanonical(hdrXFPath, fctx.URI().PathOriginal())
	up.Header.SetCanonical(hdrXRealIP, stringBytes(st.clientIP))

	// Via, as Kong ≥ 3.8 sets it: the client's first Via, if any, then
	// its HTTP version and the server token; one Via replaces them all.
	in := srv.viaIn10
	if fctx.Request.Header.IsHTTP11() {
		in = srv.viaIn11
	}
	if vs := fctx.Request.Header.PeekAll(fasthttp.HeaderVia); len(vs) > 0 {
		st.scratch = append(append(append(st.scratch[:0], vs[0]...), ", "...), in...)
		in = st.scratch
		if len(vs) > 1 {
			up.Header.DelBytes(hdrVia) // SetCanonical replaces only the first
		}
	}
	up.Header.SetCanonical(hdrVia, in)
}

// routeUpstream completes the upstream request once the route is known:
// the service's scheme and the route's upstream path (unless a rewrite
// plugin set them) and X-Forwarded-Prefix.
func (srv *Server) routeUpstream(st *state) {
	if st.upScheme == "" {
		st.upScheme = st.service.Protocol
	}
	if st.upPath == "" {
		st.upPath = st.match.UpstreamPath
	}
	st.changeHeader(headerOp{op: opPrefix})
}

// forwardedPrefix sets X-Forwarded-Prefix on up from the matched prefix
// (or a trusted client's value).
func (srv *Server) forwardedPrefix(st *state, up *fasthttp.Request) {
	prefix := st.match.Prefix
	if st.trusted && st.clientPrefix != "" {
		prefix = st.clientPrefix
	}
	if prefix != "" && prefix != "/" {
		up.Header.SetCanonical(hdrXFPrefix, stringBytes(prefix))
	} else {
		up.Header.DelBytes(hdrXFPrefix)
	}
}

// attachBody gives the upstream request the client's body, unless a plugin
// set one: streamed through when the server is streaming it (large bodies
// never sit in memory), else the buffered bytes. It reports whether the
// body is streamed (and so cannot be sent twice).
func attachBody(st *state, up *fasthttp.Request) bool {
	if st.bodySet {
		return false
	}
	fctx := st.fctx
	if fctx.Request.IsBodyStream() {
		// The server owns its request stream and releases it to a pool
		// after the handler; handing it to the upstream request as is would
		// let that request release it a second time (fasthttp's
		// Request.closeBodyStream releases a *requestStream it holds), and
		// two connections would then share one stream. The wrapper is
		// neither a *requestStream nor an io.Closer, so the upstream
		// request only reads it.
		st.clientBody = bodyReader{r: fctx.RequestBodyStream(), size: fctx.Request.Header.ContentLength(), limit: st.bodyLimit, tap: st.tap}
		st.tap = nil
		up.SetBodyStream(&st.clientBody, fctx.Request.Header.ContentLength())
		return true
	}
	if body := fctx.Request.Body(); len(body) > 0 {
		up.SetBodyRaw(body)
	}
	return false
}

// bodyReader lends the server's request stream to the upstream request
// without giving it ownership; it remembers whether the stream was read to
// its end.
type bodyReader struct {
	r         io.Reader
	size, got int // size is -1 for a chunked body
	eof       bool
	// limit, when > 0, is one more than the body may hold; over is set
	// once reading reached it (the read then fails).
	limit int64
	over  bool
	// tap sees the body as it passes (threat.Tap); refusal is set when it
	// refused the body (over is set too).
	tap     threat.Tap
	refusal *threat.Refusal
}

// refuse ends the body for a tap's refusal.
func (b *bodyReader) refuse(r *threat.Refusal) (int, error) {
	b.over, b.refusal = true, r
	return 0, errBodyLimit
}

// tapBuffered hands a tapped body that is no longer a stream (a plugin
// after the tap read it whole) to the tap at once, so it is judged as if
// it had streamed; it returns the tap's refusal.
func (st *state) tapBuffered() *threat.Refusal {
	t := st.tap
	if t == nil || st.fctx.Request.IsBodyStream() {
		return nil
	}
	st.tap = nil
	if body := st.fctx.Request.Body(); len(body) > 0 {
		if r := t.Write(body); r != nil {
			t.End(false)
			return r
		}
	}
	return t.End(true)
}

// closeTap ends a tap the body did not reach the end of.
func (st *state) closeTap() {
	for _, t := range []*threat.Tap{&st.tap, &st.clientBody.tap} {
		if *t != nil {
			tap := *t
			*t = nil
			tap.End(false)
		}
	}
}

// errBodyLimit ends a streamed body that went past its limit.
var errBodyLimit = errors.New("proxy: request body over its limit")

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.r == nil {
		return 0, io.EOF
	}
	n, err := b.r.Read(p)
	b.got += n
	if b.limit > 0 && int64(b.got) >= b.limit {
		b.over = true
		return 0, errBodyLimit
	}
	if b.tap != nil && n > 0 {
		if r := b.tap.Write(p[:n]); r != nil {
			return b.refuse(r)
		}
	}
	if err == io.EOF || (b.size >= 0 && b.got >= b.size) {
		b.eof = true
		if t := b.tap; t != nil {
			b.tap = nil
			if r := t.End(true); r != nil {
				return b.refuse(r)
			}
		}
	}
	return n, err
}

// bodyUnread reports whether the client's streamed body was not read to
// its end: the rest of it is still on the connection, where the server
// would take it for the next request, so the connection must close.
func (st *state) bodyUnread() bool {
	return st.fctx.Request.IsBodyStream() && !st.clientBody.eof
}

// StreamThreshold is the body size above which bodies stream through
// instead of being read whole (with no plugin needing the whole body).
const StreamThreshold = 1 << 20

const streamThreshold = StreamThreshold

func headerOr(fctx *fasthttp.RequestCtx, name, def string) string {
	if v := fctx.Request.Header.Peek(name); len(v) > 0 {
		return string(v)
	}
	return def
}

// stateClient is hostClient behind the state's memory of its last client:
// clients are never removed, so a pooled state that forwards to the same
// address again skips the lock and the map.
func (srv *Server) stateClient(st *state, scheme, addr string, svc *snapshot.Service) *fasthttp.HostClient {
	key := clientKey{scheme: scheme, addr: addr, connect: svc.ConnectTimeout, write: svc.WriteTimeout, read: svc.ReadTimeout}
	if st.client != nil && st.clientKey == key {
		return st.client
	}
	st.client, st.clientKey = srv.hostClient(scheme, addr, svc), key
	return st.client
}

// hostClient returns the pooled keep-alive client for an address.
func (srv *Server) hostClient(scheme, addr string, svc *snapshot.Service) *fasthttp.HostClient {
	key := clientKey{scheme: scheme, addr: addr, connect: svc.ConnectTimeout, write: svc.WriteTimeout, read: svc.ReadTimeout}
	srv.clientsMu.RLock()
	c := srv.clients[key]
	srv.clientsMu.RUnlock()
	if c != nil {
		return c
	}
	c = &fasthttp.HostClient{
		Addr:                      addr,
		IsTLS:                     scheme == "https" || scheme == "grpcs" || scheme == "wss",
		NoDefaultUserAgentHeader:  true,
		DisablePathNormalizing:    true,
		MaxConns:                  4096,
		MaxIdleConnDuration:       60 * time.Second,
		MaxIdemponentCallAttempts: 1,
		StreamResponseBody:        true,
		MaxResponseBodySize:       streamThreshold,
		ReadTimeout:               svc.ReadTimeout,
		WriteTimeout:              svc.WriteTimeout,
		Dial: func(a string) (net.Conn, error) {
			c, err := fasthttp.DialTimeout(a, svc.ConnectTimeout)
			if err != nil {
				return nil, err
			}
			return newDeadlineConn(c, svc.ReadTimeout, svc.WriteTimeout), nil
		},
	}
	srv.clientsMu.Lock()
	defer srv.clientsMu.Unlock()
	if existing := srv.clients[key]; existing != nil {
		return existing
	}
	if srv.clients == nil {
		srv.clients = map[clientKey]*fasthttp.HostClient{}
	}
	srv.clients[key] = c
	return c
}

// clientKey identifies a pool of upstream connections.
type clientKey struct {
	scheme, addr         string
	connect, write, read time.Duration
}

// forward sends the upstream request, retrying connection failures on
// other peers up to the service's retries, and copies the response.
// proxied is when the request went upstream (the first attempt's clock).
func (srv *Server) forward(st *state, proxied time.Time) {
	fctx, svc := st.fctx, st.service
	// The Host sent upstream with preserve_host is the client's, read
	// before the URI's host becomes the dialled address.
	clientHost := ""
	if st.hostOverride == "" && st.match.Route.PreserveHost {
		clientHost = string(fctx.Host())
	}
	var up *fasthttp.Request
	if st.reuseClientRequest() {
		// Nothing reads the client's request after this: it goes upstream
		// itself, changed in place (fasthttp's server already noted its
		// Connection and keep-alive wishes), with no header copy.
		up = &fctx.Request
		srv.prepareUpstream(st, up)
		st.replayOps(up)
	} else {
		up = st.upstream()
	}
	uri := up.URI()
	// fasthttp turns URI userinfo into an Authorization header when it
	// writes the request; the client's never reaches the upstream (the
	// guard refuses it already, this is the second lock).
	uri.SetUsername("")
	uri.SetPassword("")
	uri.SetPath(st.upPath)
	if st.queryChanged {
		uri.SetQueryString(st.upQuery)
	}
	scheme := st.upScheme
	// The upstream's response is read straight into the client's response:
	// no copy of headers or body. Bodies over streamThreshold stay a stream
	// that fasthttp writes out (and closes, freeing the upstream connection)
	// after the handler returns.
	resp := &fctx.Response
	st.upResp = resp
	var tried []string
	attempts := svc.Retries + 1
	if up != &fctx.Request && attachBody(st, up) {
		attempts = 1 // a streamed body cannot be replayed
	}
	var lastErr error
	for attempt := 0; attempt < attempts; attempt++ {
		pickAt := proxied
		if attempt > 0 {
			pickAt = time.Now()
		}
		addr, peer, err := srv.pickAddr(st, tried)
		if err != nil {
			if attempt == 0 {
				st.flushRespOps() // no attempt reset the response
			}
			srv.errorResponse(fctx, fasthttp.StatusServiceUnavailable, msgNoPeer, st.reqID())
			st.failed = true
			return
		}
		tried = append(tried, addr)
		up.UseHostHeader = true // the Host header is ours, not the dialled address
		up.Header.SetHost(srv.upstreamHost(st, peer, clientHost))
		uri.SetScheme("http")
		if scheme == "https" {
			uri.SetScheme("https")
		}
		uri.SetHost(addr)
		client := srv.stateClient(st, scheme, addr, svc)
		began := pickAt
		if peer != nil {
			began = time.Now() // the balancer's time is logged
		}
		st.tries = append(st.tries, newTry(pickAt, began, addr))
		err = client.Do(up, resp)
		if peer != nil {
			b := svc.Upstream
			if st.upstreamOverride != nil {
				b = st.upstreamOverride
			}
			srv.report(b, *peer, resp, err, time.Since(began))
		}
		if err == nil {
			lastErr = nil
			break
		}
		lastErr = err
		if !retryable(err) {
			break
		}
		if attempt+1 < attempts {
			// Kong records why an attempt another one followed failed.
			t := &st.tries[len(st.tries)-1]
			t.State, t.Code = "failed", fasthttp.StatusBadGateway
			if isTimeout(err) {
				t.Code = fasthttp.StatusGatewayTimeout
			}
		}
	}
	st.respondedAt = time.Now()
	if lastErr != nil {
		st.failed = true
		st.respPending = false // an attempt reset the response: as before
		resp.Reset()
		if st.clientBody.over {
			// A plugin's body limit (hostabi.BodyLimiter): the rest of
			// the body is still on the connection.
			status, msg := st.limitStatus, st.limitMsg
			if r := st.clientBody.refusal; r != nil {
				status, msg = r.Status, r.Message
			}
			srv.errorResponse(fctx, status, msg, st.reqID())
			fctx.SetConnectionClose()
			return
		}
		if status, msg := httpguard.BodyError(fctx.Conn()); status != 0 {
			// The client's body failed (bad framing, timeout): its fault,
			// not the upstream's; the connection cannot go on.
			srv.errorResponse(fctx, status, msg, st.reqID())
			fctx.SetConnectionClose()
			return
		}
		if isTimeout(lastErr) {
			srv.errorResponse(fctx, fasthttp.StatusGatewayTimeout, msgTimeout, st.reqID())
		} else {
			srv.errorResponse(fctx, fasthttp.StatusBadGateway, msgBadGateway, st.reqID())
		}
		srv.log.Error("upstream request failed", "service", svc.Name, "error", lastErr, "request_id", st.reqID())
		return
	}
	st.upStatus = resp.StatusCode()
	// Drop what is per-connection and re-apply what plugins set before
	// proxying.
	resp.Header.ResetConnectionClose()
	resp.Header.Del("Keep-Alive")
	if up.Header.IsHead() && resp.Header.ContentLength() == -2 {
		// A HEAD response without Content-Length: fasthttp notes it as
		// "Transfer-Encoding: identity", which clients refuse; nginx
		// sends neither header.
		resp.Header.Del(fasthttp.HeaderTransferEncoding)
	}
	if st.hashCookie != "" {
		resp.Header.Add("Set-Cookie", st.hashCookie)
	}
	for _, op := range st.respOps {
		st.applyRespOp(&resp.Header, op)
	}
	st.respPending = false
	if resp.BodyStream() != nil {
		if cl := resp.Header.ContentLength(); cl >= 0 && cl <= streamThreshold {
			// The client read a small body whole: drop the stream wrapper,
			// which frees the upstream connection and keeps the bytes.
			resp.CloseBodyStream()
		} else if st.buffered {
			resp.Body() // the response phase needs it: read the stream whole
		}
	}
	if srv.headers.upstreamStatus {
		resp.Header.Set("X-Kong-Upstream-Status", strconv.Itoa(st.upStatus))
	}
}

// newTry describes an upstream attempt: its peer was picked from pickAt
// to began, at addr.
func newTry(pickAt, began time.Time, addr string) hostabi.LogTry {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return hostabi.LogTry{BalancerStart: pickAt, BalancerLatency: began.Sub(pickAt), IP: host, Port: p}
}

// upstreamHost is the Host header sent upstream: the client's with
// preserve_host, else the service host (or, behind an upstream, its
// host_header or the target's host), with the port when it is not the
// scheme's default, as Kong sets it.
func (srv *Server) upstreamHost(st *state, peer *balancer.Peer, clientHost string) string {
	if st.hostOverride != "" {
		return st.hostOverride
	}
	if st.match.Route.PreserveHost {
		return clientHost
	}
	svc := st.service
	if peer == nil && st.upScheme == svc.Protocol {
		return svc.HostHeader
	}
	host, port := svc.Host, svc.Port
	if peer != nil {
		host, port = peer.Hostname, peer.Port
	}
	if (st.upScheme == "http" && port == 80) || (st.upScheme == "https" && port == 443) {
		return host
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func (srv *Server) pickAddr(st *state, tried []string) (string, *balancer.Peer, error) {
	if st.targetOverride != "" {
		return st.targetOverride, nil, nil
	}
	svc := st.service
	upstream := svc.Upstream
	if st.upstreamOverride != nil {
		upstream = st.upstreamOverride
	}
	if upstream == nil {
		return svc.Addr, nil, nil
	}
	in := balancer.HashInput{ConsumerID: st.consumerID, ClientIP: st.clientIP, Path: st.path,
		Header: st.headerFn,
		Cookie: func(n string) (string, bool) {
			v := st.fctx.Request.Header.Cookie(n)
			return string(v), v != nil
		},
		Query: func(n string) []string {
			var out []string
			for _, v := range st.fctx.QueryArgs().PeekMulti(n) {
				out = append(out, string(v))
			}
			return out
		},
		URICapture: st.match.Captures.Named,
	}
	if cred := st.credential; cred != nil {
		in.CredentialID, _ = cred["id"].(string)
	}
	peer, err := upstream.Pick(&in, tried)
	if err != nil {
		return "", nil, err
	}
	if peer.HashCookie != nil {
		st.hashCookie = peer.HashCookie.String()
	}
	return peer.Addr, &peer, nil
}

func (srv *Server) report(b *balancer.Balancer, p balancer.Peer, resp *fasthttp.Response, err error, latency time.Duration) {
	r := balancer.Result{Latency: latency}
	switch {
	case err == nil:
		r.Status = resp.StatusCode()
	case isTimeout(err):
		r.Timeout = true
	default:
		r.TCPError = true
	}
	b.Report(p, r)
}

func isTimeout(err error) bool {
	if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func retryable(err error) bool {
	if errors.Is(err, fasthttp.ErrTimeout) {
		return false
	}
	var oe *net.OpError
	return errors.As(err, &oe) || errors.Is(err, fasthttp.ErrDialTimeout) || errors.Is(err, fasthttp.ErrConnectionClosed)
}

func (srv *Server) redirectHTTPS(st *state, start time.Time) bool {
	fctx := st.fctx
	code := st.match.Route.HTTPSRedirectStatus
	if code == 0 || code == 426 {
		fctx.Response.Header.Set("Connection", "Upgrade")
		fctx.Response.Header.Set("Upgrade", "TLS/1.2, HTTP/1.1")
		srv.errorResponse(fctx, fasthttp.StatusUpgradeRequired, msgUseHTTPS, st.reqID())
		return srv.finish(st, start, time.Time{})
	}
	host := string(fctx.Host())
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	loc := "https://" + host + string(fctx.URI().PathOriginal())
	if q := fctx.URI().QueryString(); len(q) > 0 {
		loc += "?" + string(q)
	}
	fctx.Response.Header.Set("Location", loc)
	fctx.Response.SetStatusCode(code)
	return srv.finish(st, start, time.Time{})
}

// fail ends the request after a plugin fault: 500, a log line, and no
// proxying of a half-processed request.
func (srv *Server) fail(st *state, f *chain.Fault, start time.Time) bool {
	srv.log.Error("plugin failed; request ended with 500", "plugin", f.Plugin, "phase", f.Phase.String(), "error", f.Err, "request_id", st.reqID())
	st.failed = true
	st.respPending = false
	st.fctx.Response.Reset()
	srv.errorResponse(st.fctx, fasthttp.StatusInternalServerError, msgUnexpected, st.reqID())
	return srv.finish(st, start, time.Time{})
}

// finish runs the response-side phases, sets Kong's headers and hands the
// state to the log phase.
func (srv *Server) finish(st *state, start, proxied time.Time) bool {
	fctx := st.fctx
	st.flushRespOps()
	if len(st.plan.Ran()) > 0 && !st.failed {
		if st.buffered && !st.exited {
			st.phase = hostabi.PhaseResponse
			if f := st.plan.Run(hostabi.PhaseResponse, st, st.exitedFn); f != nil {
				return srv.failLate(st, f)
			}
		}
		// A body still streaming from the upstream is framed by the
		// Content-Length it came with (fasthttp's stream reads by it), so
		// header_filter's changes to Content-Length must not reach it: the
		// framing is put back before the body is read or streamed on.
		streamed := fctx.Response.IsBodyStream()
		framing := fctx.Response.Header.ContentLength()
		st.phase = hostabi.PhaseHeaderFilter
		if f := st.plan.Run(hostabi.PhaseHeaderFilter, st, st.exitedFn); f != nil {
			return srv.failLate(st, f)
		}
		if streamed {
			fctx.Response.Header.SetContentLength(framing)
		}
		// Body filters see the whole body when one of them wants it (a
		// streamed body is read whole here); otherwise it streams on.
		want := st.buffered
		if !want {
			w, f := st.plan.WantsBody(st)
			if f != nil {
				return srv.failLate(st, f)
			}
			want = w
		}
		if want {
			st.phase = hostabi.PhaseBodyFilter
			out, f := st.plan.BodyFilter(st, fctx.Response.Body(), true)
			if f != nil {
				return srv.failLate(st, f)
			}
			fctx.Response.SetBody(out)
		}
	}
	if srv.headers.requestID {
		fctx.Response.Header.Set("X-Kong-Request-Id", st.reqID())
	}
	// With no plugin phase after the upstream answered, the answer's clock read
	// is the response's: one read less per request.
	now := st.respondedAt
	if now.IsZero() || st.latePhases() {
		now = time.Now()
	}
	st.proxiedAt, st.doneAt = proxied, now
	h := &fctx.Response.Header
	if !proxied.IsZero() {
		if srv.headers.upstreamLatency {
			h.SetCanonical(hdrUpLatency, st.millis(now.Sub(proxied)))
		}
		if srv.headers.proxyLatency {
			h.SetCanonical(hdrPxLatency, st.millis(proxied.Sub(start)))
		}
		if srv.headers.via {
			// Kong appends its own to the upstream's Via lines, joined
			// (nginx's $upstream_http_via), in one Via.
			via := srv.via
			if vs := h.PeekAll(fasthttp.HeaderVia); len(vs) > 0 {
				st.scratch = st.scratch[:0]
				for _, v := range vs {
					st.scratch = append(append(st.scratch, v...), ", "...)
				}
				via = append(st.scratch, via...)
				st.scratch = via
				if len(vs) > 1 {
					h.DelBytes(hdrVia) // SetCanonical replaces only the first
				}
			}
			h.SetCanonical(hdrVia, via)
		}
	} else {
		if srv.headers.responseLatency {
			h.SetCanonical(hdrRsLatency, st.millis(now.Sub(start)))
		}
		if srv.headers.server {
			h.SetCanonical(hdrServer, srv.server)
		}
	}
	return srv.logPhase(st)
}

// millis formats d in whole milliseconds into the state's scratch buffer
// (valid until its next use; fasthttp copies header values).
func (st *state) millis(d time.Duration) []byte {
	st.scratch = strconv.AppendInt(st.scratch[:0], d.Milliseconds(), 10)
	return st.scratch
}

func (srv *Server) failLate(st *state, f *chain.Fault) bool {
	srv.log.Error("plugin failed; request ended with 500", "plugin", f.Plugin, "phase", f.Phase.String(), "error", f.Err, "request_id", st.reqID())
	st.failed = true
	st.fctx.Response.Reset()
	srv.errorResponse(st.fctx, fasthttp.StatusInternalServerError, msgUnexpected, st.reqID())
	st.upResp = nil
	return srv.logPhase(st)
}

// logPhase runs log-phase plugins on a detached copy of the request and
// response, after the handler returns, so the client does not wait.
func (srv *Server) logPhase(st *state) bool {
	if st.doneAt.IsZero() {
		st.doneAt = time.Now()
	}
	if st.bodyUnread() {
		st.fctx.SetConnectionClose()
		httpguard.Linger(st.fctx.Conn())
	}
	hasLog := false
	for _, in := range st.plan.Ran() {
		if in.Has(hostabi.PhaseLog) {
			hasLog = true
			break
		}
	}
	if !hasLog {
		return false
	}
	st.tlsState = st.fctx.TLSConnectionState()
	detached := &fasthttp.RequestCtx{}
	st.fctx.Request.CopyTo(&detached.Request)
	if st.fctx.Response.IsBodyStream() {
		// A streamed body is on its way to the client: log plugins get the
		// status and headers only.
		st.fctx.Response.Header.CopyTo(&detached.Response.Header)
	} else {
		st.fctx.Response.CopyTo(&detached.Response)
	}
	st.fctx = detached
	if st.upResp != nil {
		st.upResp = &detached.Response
	}
	st.phase = hostabi.PhaseLog
	if !srv.logs.Submit(st) {
		st.release() // the queue is full: the work is dropped and counted
	}
	return true
}

// runLog runs a request's log phase on a log worker.
func (srv *Server) runLog(st *state) {
	defer st.release()
	st.setDeadline(time.Now().Add(budget(st.service)))
	if f := st.plan.Run(hostabi.PhaseLog, st, st.exitedFn); f != nil {
		srv.log.Error("plugin failed in log phase", "plugin", f.Plugin, "phase", f.Phase.String(), "error", f.Err, "request_id", st.reqID())
	}
}

// ServerError answers a request the server could not read (fasthttp's
// error handler) with Kong's error body for status, never echoing the
// request; a body failure the guard saw decides the status.
func (srv *Server) ServerError(fctx *fasthttp.RequestCtx, status int) {
	fctx.Response.Reset()
	if s, msg := httpguard.BodyError(fctx.Conn()); s != 0 {
		srv.errorResponse(fctx, s, msg, newRequestID())
		srv.serverHeader(fctx)
		return
	}
	msg := httpguard.MsgBadRequest
	switch status {
	case fasthttp.StatusRequestTimeout:
		msg = httpguard.MsgTimeout
	case fasthttp.StatusRequestEntityTooLarge:
		msg = "Payload too large"
	case fasthttp.StatusRequestHeaderFieldsTooLarge:
		status, msg = fasthttp.StatusBadRequest, httpguard.MsgHeaderTooLarge
	default:
		status = fasthttp.StatusBadRequest
	}
	srv.errorResponse(fctx, status, msg, newRequestID())
	srv.serverHeader(fctx)
}

// serverHeader sets Kong's Server header on an answer of Gatehouse's own,
// when server_tokens are on.
func (srv *Server) serverHeader(fctx *fasthttp.RequestCtx) {
	if srv.headers.server {
		fctx.Response.Header.SetCanonical(hdrServer, srv.server)
	}
}

// errorResponse writes Kong's error body in the format the Accept header
// asks for (JSON by default).
func (srv *Server) errorResponse(fctx *fasthttp.RequestCtx, status int, msg, requestID string) {
	fctx.Response.SetStatusCode(status)
	ct, body := hostabi.ErrorBody(string(fctx.Request.Header.Peek("Accept")), msg, requestID)
	fctx.Response.Header.SetContentType(ct)
	fctx.Response.SetBodyString(body)
}

// isTrusted reports whether addr is within trusted_ips (kong.ip.is_trusted).
func (srv *Server) isTrusted(addr string) bool {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range srv.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
