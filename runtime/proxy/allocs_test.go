package proxy_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/proxy"
	"github.com/gatehouse/gatehouse/store"
	"github.com/valyala/fasthttp"
)

// keyAuthRateLimit configures key-auth and a rate-limiting limit that
// never triggers (issue 15's pair) with one consumer, "bench", whose key
// is "bench-key".
func keyAuthRateLimit(tb testing.TB) func(*store.Store) {
	return func(st *store.Store) {
		ctx := context.Background()
		c, err := st.Insert(ctx, "consumers", map[string]any{"username": "bench"})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := st.Insert(ctx, "keyauth_credentials", map[string]any{"key": "bench-key", "consumer": map[string]any{"id": c["id"]}}); err != nil {
			tb.Fatal(err)
		}
		if _, err := st.Insert(ctx, "plugins", map[string]any{"name": "key-auth"}); err != nil {
			tb.Fatal(err)
		}
		if _, err := st.Insert(ctx, "plugins", map[string]any{"name": "rate-limiting", "config": map[string]any{"second": 1e9}}); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestKeyAuthRateLimitAllocs: once warm, a request through key-auth and
// rate-limiting allocates no more than one with no plugin (issue 15 item
// 3: nothing on their steady-state path), measured in the same run with
// testing.AllocsPerRun on the whole ServeFastHTTP; the upstream saw each
// request authenticated as the consumer.
func TestKeyAuthRateLimitAllocs(t *testing.T) {
	if proxy.RaceEnabled {
		t.Skip("the race detector allocates; allocation counts are checked without -race")
	}
	serve := func(setup func(*store.Store), headers map[string]string) (float64, int64) {
		body := make([]byte, 1024)
		// bench counts the upstream's requests from the consumer "bench"
		// (counted, not copied: the upstream's allocations count too).
		var bench atomic.Int64
		srv, _ := startProxy(t, func(ctx *fasthttp.RequestCtx) {
			if string(ctx.Request.Header.Peek("X-Consumer-Username")) == "bench" {
				bench.Add(1)
			}
			ctx.SetBody(body)
		}, setup)
		var fctx fasthttp.RequestCtx
		fctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
		status := 200
		one := func() {
			fctx.Request.Reset()
			fctx.Response.Reset()
			fctx.Request.Header.SetMethod(fasthttp.MethodGet)
			fctx.Request.SetRequestURI("/hello?x=1")
			fctx.Request.Header.SetHost("example.com")
			for k, v := range headers {
				fctx.Request.Header.Set(k, v)
			}
			srv.ServeFastHTTP(&fctx)
			if s := fctx.Response.StatusCode(); s != 200 {
				status = s
			}
		}
		for i := 0; i < 100; i++ { // warm the pools and caches
			one()
		}
		n := testing.AllocsPerRun(2000, one)
		if status != 200 {
			t.Fatalf("status %d: %s", status, fctx.Response.Body())
		}
		return n, bench.Load()
	}
	none, _ := serve(nil, nil)
	pair, bench := serve(keyAuthRateLimit(t), map[string]string{"apikey": "bench-key"})
	if bench != 100+2001 { // AllocsPerRun runs once more to warm up
		t.Fatalf("%d of 2101 requests reached the upstream as consumer bench", bench)
	}
	if pair > none {
		t.Fatalf("key-auth + rate-limiting: %v allocations per request, no plugins %v: want no more", pair, none)
	}
}
