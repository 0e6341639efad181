package proxy_test

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/runtime/balancer"
	"github.com/gatehouse/gatehouse/runtime/cache"
	"github.com/gatehouse/gatehouse/runtime/config"
	"github.com/gatehouse/gatehouse/runtime/internal/httpguard"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
	"github.com/gatehouse/gatehouse/runtime/proxy"
	"github.com/gatehouse/gatehouse/runtime/snapshot"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
	"github.com/valyala/fasthttp"
)

// BenchmarkServeNoPlugins measures one proxied request through the whole
// pipeline (routing, chain, forwarding to a loopback upstream, response
// headers) without the client side's network, to find what the proxy
// itself allocates and spends.
func BenchmarkServeNoPlugins(b *testing.B) { benchServe(b, nil, nil) }

// BenchmarkServeKeyAuthRateLimit is the same with key-auth and a
// rate-limiting limit that never triggers.
func BenchmarkServeKeyAuthRateLimit(b *testing.B) {
	benchServe(b, func(st *store.Store) {
		ctx := context.Background()
		c, err := st.Insert(ctx, "consumers", map[string]any{"username": "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.Insert(ctx, "keyauth_credentials", map[string]any{"key": "bench-key", "consumer": map[string]any{"id": c["id"]}}); err != nil {
			b.Fatal(err)
		}
		if _, err := st.Insert(ctx, "plugins", map[string]any{"name": "key-auth"}); err != nil {
			b.Fatal(err)
		}
		if _, err := st.Insert(ctx, "plugins", map[string]any{"name": "rate-limiting", "config": map[string]any{"second": 1e9}}); err != nil {
			b.Fatal(err)
		}
	}, map[string]string{"apikey": "bench-key"})
}

// BenchmarkForwarder is the ceiling BenchmarkServeNoPlugins is compared
// with: the work of conformance/bench/forwarder (drop Connection, forward
// with a fasthttp.HostClient) through the same loopback upstream and the
// same request loop. The ratio of the two ns/op in one run is the proxy's
// own cost.
func BenchmarkForwarder(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 1024)
	go fasthttp.Serve(ln, func(ctx *fasthttp.RequestCtx) { ctx.SetBody(body) })
	defer ln.Close()
	client := &fasthttp.HostClient{Addr: ln.Addr().String(), MaxConns: 4096, NoDefaultUserAgentHeader: true}
	handler := func(fctx *fasthttp.RequestCtx) {
		req, resp := &fctx.Request, &fctx.Response
		req.Header.Del("Connection")
		if err := client.Do(req, resp); err != nil {
			fctx.Error(err.Error(), fasthttp.StatusBadGateway)
		}
	}
	runLoop(b, handler, nil)
}

func benchServe(b *testing.B, setup func(*store.Store), headers map[string]string) {
	body := make([]byte, 1024)
	srv, _ := startProxy(b, func(ctx *fasthttp.RequestCtx) { ctx.SetBody(body) }, setup)
	runLoop(b, srv.ServeFastHTTP, headers)
}

// startProxy serves upstream on a loopback listener and returns a proxy
// whose configuration is one service for it and a route for "/", plus
// what setup adds, and the upstream's address; everything stops when tb
// ends.
func startProxy(tb testing.TB, upstream fasthttp.RequestHandler, setup func(*store.Store)) (*proxy.Server, string) {
	return startProxyWith(tb, config.Defaults(), upstream, setup)
}

// startProxyWith is startProxy with the node's configuration cfg.
func startProxyWith(tb testing.TB, cfg *config.Config, upstream fasthttp.RequestHandler, setup func(*store.Store)) (*proxy.Server, string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	up := &fasthttp.Server{Handler: upstream}
	done := make(chan struct{})
	go func() { defer close(done); up.Serve(ln) }()
	tb.Cleanup(func() { up.Shutdown(); <-done })

	ctx := context.Background()
	bk, err := sqlite.Open(ctx, sqlite.Memory)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { bk.Close() })
	// The catalog declares the bundled plugins' entities
	// (keyauth_credentials...) to the store.
	catalog, err := plugin.NewCatalog([]string{"bundled"})
	if err != nil {
		tb.Fatal(err)
	}
	st := store.New(bk, store.Options{Plugins: catalog})
	if _, err := st.Insert(ctx, "services", map[string]any{"name": "s", "url": "http://" + ln.Addr().String()}); err != nil {
		tb.Fatal(err)
	}
	if _, err := st.Insert(ctx, "routes", map[string]any{"name": "root", "paths": []any{"/"}, "service": map[string]any{"name": "s"}}); err != nil {
		tb.Fatal(err)
	}
	if setup != nil {
		setup(st)
	}
	snaps, err := snapshot.NewBuilder(ctx, st, catalog, nil, balancer.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(snaps.Close)
	c, err := cache.New(st)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	srv := proxy.New(proxy.Options{Snapshots: snaps, Config: cfg, Version: "bench", Cache: c, Credentials: c, Consumers: c})
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.DrainLogs(ctx)
	})
	return srv, ln.Addr().String()
}

// processCPU is the CPU time the process used so far (user and system).
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runLoop serves b.N requests with handler on one reused RequestCtx, as a
// fasthttp server's worker does on a keep-alive connection.
func runLoop(b *testing.B, handler fasthttp.RequestHandler, headers map[string]string) {
	var fctx fasthttp.RequestCtx
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	fctx.Init(&fasthttp.Request{}, remote, nil)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU(b)
	defer func() {
		// CPU per request (this process: the handler and the loopback
		// upstream alike) is steadier than ns/op on a shared machine.
		b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
	}()
	for i := 0; i < b.N; i++ {
		fctx.Request.Reset()
		fctx.Response.Reset()
		fctx.Request.Header.SetMethod(fasthttp.MethodGet) // as a parsed request has it
		fctx.Request.SetRequestURI("/hello?x=1")
		fctx.Request.Header.SetHost("example.com")
		for k, v := range headers {
			fctx.Request.Header.Set(k, v)
		}
		handler(&fctx)
		if fctx.Response.StatusCode() != 200 {
			b.Fatalf("status %d: %s", fctx.Response.StatusCode(), fctx.Response.Body())
		}
	}
}

// BenchmarkListenerNoPlugins is BenchmarkServeNoPlugins through the whole
// server side too: a keep-alive client over 127.0.0.1, the request-
// smuggling guard's listener and a fasthttp server (as the node runs
// them, Fiber aside), the proxy, the loopback upstream. cpu-ns/op is the
// process's CPU per request, client and upstream included: compare it with
// BenchmarkListenerForwarder's in the same run.
func BenchmarkListenerNoPlugins(b *testing.B) {
	body := make([]byte, 1024)
	srv, _ := startProxy(b, func(ctx *fasthttp.RequestCtx) { ctx.SetBody(body) }, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	front := &fasthttp.Server{Handler: srv.ServeFastHTTP,
		StreamRequestBody: true, DisablePreParseMultipartForm: true, NoDefaultDate: true}
	runListener(b, front, httpguard.NewListener(ln, httpguard.Limits{}))
}

// BenchmarkListenerForwarder is the bare forwarder (conformance/bench/
// forwarder's handler) behind a plain listener and a fasthttp server, with
// the same client and upstream as BenchmarkListenerNoPlugins.
func BenchmarkListenerForwarder(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 1024)
	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBody(body) }}
	upDone := make(chan struct{})
	go func() { defer close(upDone); up.Serve(upLn) }()
	defer func() { up.Shutdown(); <-upDone }()
	client := &fasthttp.HostClient{Addr: upLn.Addr().String(), MaxConns: 4096, NoDefaultUserAgentHeader: true}
	front := &fasthttp.Server{Handler: func(fctx *fasthttp.RequestCtx) {
		fctx.Request.Header.Del("Connection")
		if err := client.Do(&fctx.Request, &fctx.Response); err != nil {
			fctx.Error(err.Error(), fasthttp.StatusBadGateway)
		}
	}}
	runListener(b, front, ln)
}

// runListener serves front on ln and sends b.N requests over one
// keep-alive connection.
func runListener(b *testing.B, front *fasthttp.Server, ln net.Listener) {
	done := make(chan struct{})
	go func() { defer close(done); front.Serve(ln) }()
	defer func() { front.Shutdown(); <-done }()
	hc := &fasthttp.HostClient{Addr: ln.Addr().String(), MaxConns: 1}
	defer hc.CloseIdleConnections()
	var req fasthttp.Request
	var resp fasthttp.Response
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU(b)
	for i := 0; i < b.N; i++ {
		req.Reset()
		req.SetRequestURI("http://example.com/hello?x=1")
		if err := hc.Do(&req, &resp); err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode() != 200 {
			b.Fatalf("status %d: %s", resp.StatusCode(), resp.Body())
		}
	}
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
}
