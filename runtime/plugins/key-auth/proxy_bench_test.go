package keyauth_test

import (
	"context"
	"net"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/balancer"
	"github.com/gatehouse/gatehouse/runtime/cache"
	"github.com/gatehouse/gatehouse/runtime/config"
	"github.com/gatehouse/gatehouse/runtime/plugin"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/bundle"
	keyauth "github.com/gatehouse/gatehouse/runtime/plugins/key-auth"
	"github.com/gatehouse/gatehouse/runtime/proxy"
	"github.com/gatehouse/gatehouse/runtime/snapshot"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/sqlite"
	"github.com/valyala/fasthttp"
)

// BenchmarkServe runs whole requests through the node's proxy (routing,
// the plugin chain, forwarding to a loopback upstream) with the node's
// cache over a SQLite store, without the client's network: no plugins,
// then key-auth with a rate-limiting limit that never triggers (issue
// 15's pair). The difference between the two is what the pair costs.
func BenchmarkServe(b *testing.B) {
	b.Run("no-plugins", func(b *testing.B) { benchServe(b, nil, "") })
	b.Run("key-auth+rate-limiting", func(b *testing.B) {
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
			if _, err := st.Insert(ctx, "plugins", map[string]any{"name": "rate-limiting", "config": map[string]any{"second": 1e8}}); err != nil {
				b.Fatal(err)
			}
		}, "bench-key")
	})
}

func benchServe(b *testing.B, setup func(*store.Store), apikey string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 1024)
	served := make(chan struct{})
	go func() {
		defer close(served)
		fasthttp.Serve(ln, func(ctx *fasthttp.RequestCtx) { ctx.SetBody(body) })
	}()
	defer func() { ln.Close(); <-served }()

	ctx := context.Background()
	bk, err := sqlite.Open(ctx, sqlite.Memory)
	if err != nil {
		b.Fatal(err)
	}
	defer bk.Close()
	st := store.New(bk, store.Options{Entities: []*store.Entity{keyauth.Credentials()}})
	if _, err := st.Insert(ctx, "services", map[string]any{"name": "s", "url": "http://" + ln.Addr().String()}); err != nil {
		b.Fatal(err)
	}
	if _, err := st.Insert(ctx, "routes", map[string]any{"paths": []any{"/"}, "service": map[string]any{"name": "s"}}); err != nil {
		b.Fatal(err)
	}
	catalog, err := plugin.NewCatalog([]string{"bundled"})
	if err != nil {
		b.Fatal(err)
	}
	st.SetPlugins(catalog)
	if setup != nil {
		setup(st)
	}
	snaps, err := snapshot.NewBuilder(ctx, st, catalog, nil, balancer.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer snaps.Close()
	c, err := cache.New(st)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	srv := proxy.New(proxy.Options{Snapshots: snaps, Config: config.Defaults(), Version: "bench", Cache: c, Credentials: c, Consumers: c})
	var fctx fasthttp.RequestCtx
	fctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
	b.ReportAllocs()
	for b.Loop() {
		fctx.Request.Reset()
		fctx.Response.Reset()
		fctx.Request.SetRequestURI("/hello?x=1")
		fctx.Request.Header.SetHost("example.com")
		if apikey != "" {
			fctx.Request.Header.Set("apikey", apikey)
		}
		srv.ServeFastHTTP(&fctx)
		if fctx.Response.StatusCode() != 200 {
			b.Fatalf("status %d: %s", fctx.Response.StatusCode(), fctx.Response.Body())
		}
	}
}
