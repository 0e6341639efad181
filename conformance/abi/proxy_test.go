package abi_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/conformance/abi"
	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/balancer"
	"github.com/gatehouse/gatehouse/runtime/cache"
	"github.com/gatehouse/gatehouse/runtime/config"
	"github.com/gatehouse/gatehouse/runtime/entitydb"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	keyauth "github.com/gatehouse/gatehouse/runtime/plugins/key-auth"
	"github.com/gatehouse/gatehouse/runtime/proxy"
	"github.com/gatehouse/gatehouse/runtime/snapshot"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/schema"
	"github.com/gatehouse/gatehouse/store/sqlite"
	"github.com/valyala/fasthttp"
)

func nonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// proxyHost runs the probes through the proxy: a real store, snapshot,
// cache and proxy server on 127.0.0.1, with a real upstream, and the probe
// plugin configured globally.
type proxyHost struct {
	rec      *abi.MemRecorder
	proxy    string
	upstream string
	client   *http.Client
	logs     *logCapture
	seen     *upstreamLog
	// reportsInLog tells which probes report their return from the log
	// phase, after the response (besides the log phase's own probes).
	reportsInLog func(p abi.Probe) bool
}

// upstreamLog keeps what the upstream got, by the request's nonce.
type upstreamLog struct {
	mu  sync.Mutex
	got map[string]abi.UpstreamRequest
}

// logCapture is a slog handler keeping every record's message and
// attributes.
type logCapture struct {
	mu      sync.Mutex
	records []logRecord
}

type logRecord struct {
	msg   string
	attrs map[string]string
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{msg: r.Message, attrs: map[string]string{}}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	c.mu.Lock()
	c.records = append(c.records, rec)
	c.mu.Unlock()
	return nil
}
func (c *logCapture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *logCapture) WithGroup(string) slog.Handler      { return c }

// since returns the records from index i on.
func (c *logCapture) since(i int) []logRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]logRecord(nil), c.records[i:]...)
}

func (c *logCapture) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.records)
}

// newProxyHost runs the native probe plugin (abi.Plugin).
func newProxyHost(t *testing.T) *proxyHost {
	return newNodeHost(t, func(rec *abi.MemRecorder, _ *slog.Logger) *plugin.Definition {
		return &plugin.Definition{Name: abi.PluginName, Version: "1", Priority: 1000,
			Schema: &store.PluginSchema{Name: abi.PluginName, Config: &schema.Schema{}},
			New:    func(map[string]any) (any, error) { return &abi.Plugin{Rec: rec}, nil }}
	})
}

// newNodeHost builds the probes' world (store, snapshot, cache, proxy
// and upstream) around the probe plugin that probe defines, reporting to
// rec; log is the node's logger.
func newNodeHost(t *testing.T, probe func(rec *abi.MemRecorder, log *slog.Logger) *plugin.Definition) *proxyHost {
	h := &proxyHost{rec: abi.NewRecorder(), logs: &logCapture{}, seen: &upstreamLog{got: map[string]abi.UpstreamRequest{}},
		client: &http.Client{Timeout: 10 * time.Second}}
	log := slog.New(h.logs)

	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	upSrv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hdr := map[string][]string{}
		for n, vs := range r.Header {
			hdr[strings.ToLower(n)] = vs
		}
		h.seen.mu.Lock()
		h.seen.got[r.Header.Get("X-Abi-Nonce")] = abi.UpstreamRequest{Method: r.Method, Path: r.URL.EscapedPath(),
			RawQuery: r.URL.RawQuery, Header: hdr, Body: string(b)}
		h.seen.mu.Unlock()
		w.Header().Set(abi.UpstreamHeader, abi.UpstreamValue)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(abi.UpstreamStatus)
		io.WriteString(w, abi.UpstreamBody)
	})}
	go upSrv.Serve(up)
	t.Cleanup(func() { upSrv.Close() })
	h.upstream = up.Addr().String()

	ctx := context.Background()
	bk, err := sqlite.Open(ctx, sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bk.Close() })
	st := store.New(bk, store.Options{Entities: []*store.Entity{keyauth.Credentials()}})
	def := probe(h.rec, log)
	catalog, err := plugin.NewCatalog([]string{"bundled", abi.PluginName}, def)
	if err != nil {
		t.Fatal(err)
	}
	st.SetPlugins(catalog)
	ms := abi.ServiceTimeout.Milliseconds()
	must := func(entity string, rec map[string]any) map[string]any {
		t.Helper()
		out, err := st.Insert(ctx, entity, rec)
		if err != nil {
			t.Fatalf("%s: %v", entity, err)
		}
		return out
	}
	must("services", map[string]any{"name": "abi-service", "url": "http://" + h.upstream,
		"connect_timeout": ms, "write_timeout": ms, "read_timeout": ms})
	must("routes", map[string]any{"paths": []any{abi.RoutePath}, "strip_path": false, "service": map[string]any{"name": "abi-service"}})
	must("upstreams", map[string]any{"name": abi.UpstreamName})
	must("targets", map[string]any{"target": h.upstream, "upstream": map[string]any{"name": abi.UpstreamName}})
	c := must("consumers", map[string]any{"username": abi.ConsumerName})
	must("keyauth_credentials", map[string]any{"key": abi.CredentialKey, "consumer": map[string]any{"id": c["id"]}})
	must("plugins", map[string]any{"id": abi.PluginID, "name": abi.PluginName})

	snaps, err := snapshot.NewBuilder(ctx, st, catalog, log, balancer.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(snaps.Close)
	nc, err := cache.New(st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	cfg := config.Defaults()
	cfg.TrustedIPs = []string{abi.TrustedCIDR}
	srv := proxy.New(proxy.Options{Snapshots: snaps, Config: cfg, Logger: log, Version: "abi",
		NodeID: "c0000000-0000-4000-8000-000000000001", Hostname: "abi-node",
		Cache: nc, Credentials: nc, Consumers: nc, DB: entitydb.New(st)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := &fasthttp.Server{Handler: srv.ServeFastHTTP}
	go fs.Serve(ln)
	t.Cleanup(func() { fs.Shutdown() })
	h.proxy = "http://" + ln.Addr().String()
	return h
}

func (h *proxyHost) Run(t testing.TB, p abi.Probe) abi.Outcome {
	t.Helper()
	n := nonce()
	req, err := http.NewRequest("POST", h.proxy+abi.Path+"?"+abi.Query, strings.NewReader(abi.Body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = abi.RequestHost
	for name, vs := range abi.RequestHeaders {
		for _, v := range vs {
			req.Header.Add(name, v)
		}
	}
	req.Header.Set(abi.ProbeHeader, p.Name)
	req.Header.Set("X-Abi-Nonce", n)
	req.Header.Set("X-Abi-Target", h.upstream)
	mark := h.logs.len()
	res, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	o := abi.Outcome{Status: res.StatusCode, Body: string(b), Header: map[string][]string{}}
	for name, vs := range res.Header {
		o.Header[strings.ToLower(name)] = vs
	}
	h.seen.mu.Lock()
	o.Upstream, o.Proxied = h.seen.got[n]
	h.seen.mu.Unlock()
	// The log phase runs after the response: wait for it to report.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		o.Called, o.Returned, o.Observed = h.rec.Result(p.Name)
		o.Fault, o.LogPlugins = "", nil
		for _, r := range h.logs.since(mark) {
			if strings.HasPrefix(r.msg, "plugin failed") && r.attrs["plugin"] == abi.PluginName {
				o.Fault = r.attrs["error"]
			}
			if r.msg == "abi probe" {
				o.LogPlugins = append(o.LogPlugins, r.attrs["plugin"])
			}
		}
		inLog := p.Phase == hostabi.PhaseLog || h.reportsInLog != nil && h.reportsInLog(p)
		if !inLog || o.Returned || o.Fault != "" || time.Now().After(deadline) {
			break
		}
	}
	h.rec.Forget(p.Name)
	if testing.Verbose() && o.Fault != "" && !p.OutOfPhase {
		fmt.Println("fault:", o.Fault)
	}
	return o
}

// TestProxyHost runs every probe on the proxy, over HTTP.
func TestProxyHost(t *testing.T) { abi.Run(t, newProxyHost(t)) }

// TestProxyOutOfPhaseIs500: on the proxy, an operation called out of phase
// before the response is sent ends the request with Kong's 500 and nothing
// more reaches the upstream than before the fault.
func TestProxyOutOfPhaseIs500(t *testing.T) { outOfPhaseIs500(t, newProxyHost(t)) }

// outOfPhaseIs500 runs the out-of-phase probes of the phases before the
// response is sent on h: each ends the request with Kong's 500, and a
// request failed before proxying is not proxied.
func outOfPhaseIs500(t *testing.T, h abi.Host) {
	n := 0
	for _, p := range abi.Probes() {
		if !p.OutOfPhase || p.Phase == hostabi.PhaseLog {
			continue
		}
		n++
		o := h.Run(t, p)
		if o.Status != 500 || !strings.HasPrefix(o.Body, `{"message":"An unexpected error occurred","request_id":"`) {
			t.Errorf("%s: client got %d %s", p.Name, o.Status, o.Body)
		}
		if before := p.Phase == hostabi.PhaseRewrite || p.Phase == hostabi.PhaseAccess; before && o.Proxied {
			t.Errorf("%s: a request that failed in %s was proxied", p.Name, p.Phase)
		}
	}
	if n < 20 {
		t.Fatalf("only %d out-of-phase probes before the log phase", n)
	}
}

// timerRuns runs h's kong.timer.at probe and waits for its callback's
// outbound request to reach the upstream that ph (h's proxy) watches: the
// timer really ran after the request.
func timerRuns(t *testing.T, h abi.Host, ph *proxyHost) {
	for _, p := range abi.Probes() {
		if p.Op != hostabi.OpTimersAfter || p.OutOfPhase {
			continue
		}
		if o := h.Run(t, p); o.Observed != "ok" {
			t.Fatalf("%s: %+v", p.Name, o)
		}
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			ph.seen.mu.Lock()
			got, ok := ph.seen.got["timer"]
			ph.seen.mu.Unlock()
			if ok {
				if got.Path != "/timer" {
					t.Fatalf("the timer's request: %+v", got)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the timer's request never reached the upstream")
			}
		}
	}
	t.Fatal("no kong.timer.at probe")
}
