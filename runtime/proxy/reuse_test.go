package proxy_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/runtime/config"
	"github.com/gatehouse/gatehouse/store"
	"github.com/valyala/fasthttp"
)

// echoUpstream answers with what it received, in one line per field, so a
// client can check the upstream saw exactly its own request.
func echoUpstream(ctx *fasthttp.RequestCtx) {
	h := &ctx.Request.Header
	fmt.Fprintf(ctx, "method=%s\nuri=%s\nhost=%s\nid=%s\nxff=%s\nxfpath=%s\nxfprefix=%s\nreal=%s\nconn=%s\nadded=%s\nbody=%s",
		h.Method(), h.RequestURI(), h.Host(), h.Peek("X-Client-Id"), h.Peek("X-Forwarded-For"),
		h.Peek("X-Forwarded-Path"), h.Peek("X-Forwarded-Prefix"), h.Peek("X-Real-IP"), h.Peek("Connection"), h.Peek("X-Added"), ctx.Request.Body())
}

// TestConcurrentKeepAliveClients runs many keep-alive clients at once
// through a real proxy listener on 127.0.0.1, each sending its own
// method, path, query, headers and body, some with "Connection: close".
// The upstream must see exactly each client's own request (no buffer of
// one request outlives it into another's), with Kong's X-Forwarded-*
// headers and no hop-by-hop header, on the no-plugin path (the client's
// request reused for the upstream, with and without preserve_host) and on
// routes with plugins: one with only an access phase (its header changes
// replayed on the client's request) and one with a header_filter (a
// copy).
func TestConcurrentKeepAliveClients(t *testing.T) {
	srv, upAddr := startProxy(t, echoUpstream, func(st *store.Store) {
		ctx := context.Background()
		r, err := st.Insert(ctx, "routes", map[string]any{"name": "plugged", "paths": []any{"/plugged"}, "service": map[string]any{"name": "s"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Insert(ctx, "plugins", map[string]any{"name": "request-transformer", "route": map[string]any{"id": r["id"]},
			"config": map[string]any{"add": map[string]any{"headers": []any{"X-Added:yes"}}}}); err != nil {
			t.Fatal(err)
		}
		// correlation-id has a header_filter phase, which may read the
		// client's request: its route takes the copy path.
		r, err = st.Insert(ctx, "routes", map[string]any{"name": "copied", "paths": []any{"/copied"}, "service": map[string]any{"name": "s"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Insert(ctx, "plugins", map[string]any{"name": "correlation-id", "route": map[string]any{"id": r["id"]},
			"config": map[string]any{"header_name": "X-Added", "generator": "uuid", "echo_downstream": true}}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Insert(ctx, "routes", map[string]any{"name": "preserved", "paths": []any{"/preserved"}, "preserve_host": true,
			"strip_path": false, "service": map[string]any{"name": "s"}}); err != nil {
			t.Fatal(err)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	front := &fasthttp.Server{Handler: srv.ServeFastHTTP}
	done := make(chan struct{})
	go func() { defer close(done); front.Serve(ln) }()
	defer func() { front.Shutdown(); <-done }()

	clients, perClient := 16, 60
	if testing.Short() {
		clients, perClient = 4, 20
	}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			hc := &fasthttp.HostClient{Addr: ln.Addr().String(), MaxConns: 1, ReadTimeout: 10 * time.Second}
			defer hc.CloseIdleConnections()
			for i := 0; i < perClient; i++ {
				if err := oneRequest(hc, upAddr, c, i); err != nil {
					errs <- fmt.Errorf("client %d request %d: %w", c, i, err)
					return
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// oneRequest sends client c's request i and checks what the upstream (at
// upAddr, the Host it must see without preserve_host) received.
func oneRequest(hc *fasthttp.HostClient, upAddr string, c, i int) error {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	id := fmt.Sprintf("c%d-r%d", c, i)
	plugged, preserved, copied := i%3 == 0, i%4 == 1 && i%3 != 0, i%5 == 2 && i%3 != 0 && i%4 != 1
	path := "/" + id + "/x"
	switch {
	case plugged:
		path = "/plugged/" + id
	case preserved:
		path = "/preserved/" + id
	case copied:
		path = "/copied/" + id
	}
	method := []string{"GET", "POST", "PUT"}[i%3]
	body := ""
	if method != "GET" {
		// Bodies of different lengths, so a stale byte shows.
		body = strings.Repeat(id+";", 1+(c*7+i)%200)
	}
	req.Header.SetMethod(method)
	req.SetRequestURI("http://" + id + ".example.com" + path + "?q=" + id)
	req.Header.Set("X-Client-Id", id)
	req.Header.Set("X-Forwarded-For", "192.0.2."+fmt.Sprint(c))
	closing := i%7 == 6
	if closing {
		req.Header.SetConnectionClose()
	}
	req.SetBodyString(body)
	if err := hc.DoTimeout(req, resp, 10*time.Second); err != nil {
		return err
	}
	if resp.StatusCode() != 200 {
		return fmt.Errorf("status %d: %s", resp.StatusCode(), resp.Body())
	}
	added, upPath, prefix, host := "", path, "", upAddr
	switch {
	case plugged:
		// The route strips its path (strip_path's default).
		added, upPath, prefix = "yes", "/"+id, "/plugged"
	case preserved:
		host = id + ".example.com" // preserve_host: the client's Host
	case copied:
		// The correlation id the upstream saw is the one echoed back.
		added, upPath, prefix = string(resp.Header.Peek("X-Added")), "/"+id, "/copied"
		if len(added) != 36 {
			return fmt.Errorf("correlation id %q", added)
		}
	}
	want := fmt.Sprintf("method=%s\nuri=%s?q=%s\nhost=%s\nid=%s\nxff=192.0.2.%d, 127.0.0.1\nxfpath=%s\nxfprefix=%s\nreal=127.0.0.1\nconn=\nadded=%s\nbody=%s",
		method, upPath, id, host, id, c, path, prefix, added, body)
	if got := string(resp.Body()); got != want {
		return fmt.Errorf("upstream saw\n%s\nwant\n%s", got, want)
	}
	if v := string(resp.Header.Peek("Via")); v != "1.1 gatehouse/bench" {
		return fmt.Errorf("Via = %q", v)
	}
	for _, h := range []string{"X-Kong-Upstream-Latency", "X-Kong-Proxy-Latency"} {
		if len(resp.Header.Peek(h)) == 0 {
			return fmt.Errorf("no %s", h)
		}
	}
	if closing != resp.ConnectionClose() {
		return fmt.Errorf("client asked Connection: close = %v, answer closes = %v", closing, resp.ConnectionClose())
	}
	return nil
}

// TestTrustedForwardedHeaders: a client within trusted_ips has its
// X-Forwarded-* values passed on, on the reused path (no plugin) and on
// the copy path (a header_filter plugin) alike, and an untrusted one's
// are replaced; the route's prefix applies when a trusted client sends
// none.
func TestTrustedForwardedHeaders(t *testing.T) {
	echo := func(ctx *fasthttp.RequestCtx) {
		h := &ctx.Request.Header
		fmt.Fprintf(ctx, "%s|%s|%s|%s|%s", h.Peek("X-Forwarded-Proto"), h.Peek("X-Forwarded-Host"),
			h.Peek("X-Forwarded-Port"), h.Peek("X-Forwarded-Prefix"), h.Peek("X-Real-IP"))
	}
	setup := func(st *store.Store) {
		ctx := context.Background()
		r, err := st.Insert(ctx, "routes", map[string]any{"name": "copied", "paths": []any{"/copied"}, "service": map[string]any{"name": "s"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Insert(ctx, "plugins", map[string]any{"name": "correlation-id", "route": map[string]any{"id": r["id"]},
			"config": map[string]any{"header_name": "X-Corr", "echo_downstream": true}}); err != nil {
			t.Fatal(err)
		}
	}
	sent := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "front.example",
		"X-Forwarded-Port": "8443", "X-Forwarded-Prefix": "/outer"}
	tests := []struct {
		name    string
		trusted []string
		path    string
		headers map[string]string
		want    string
	}{
		{"trusted, reused", []string{"127.0.0.1"}, "/a", sent, "https|front.example|8443|/outer|127.0.0.1"},
		{"trusted, copied", []string{"127.0.0.1"}, "/copied/a", sent, "https|front.example|8443|/outer|127.0.0.1"},
		{"trusted, none sent, copied", []string{"127.0.0.1"}, "/copied/a", nil, "http|in.example|PORT|/copied|127.0.0.1"},
		{"untrusted, reused", nil, "/a", sent, "http|in.example|PORT||127.0.0.1"},
		{"untrusted, copied", nil, "/copied/a", sent, "http|in.example|PORT|/copied|127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Defaults()
			cfg.TrustedIPs = tt.trusted
			srv, _ := startProxyWith(t, cfg, echo, setup)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			front := &fasthttp.Server{Handler: srv.ServeFastHTTP}
			done := make(chan struct{})
			go func() { defer close(done); front.Serve(ln) }()
			defer func() { front.Shutdown(); <-done }()
			_, port, _ := net.SplitHostPort(ln.Addr().String())

			hc := &fasthttp.HostClient{Addr: ln.Addr().String()}
			defer hc.CloseIdleConnections()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://in.example" + tt.path)
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			if err := hc.DoTimeout(req, resp, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(tt.want, "PORT", port)
			if got := string(resp.Body()); resp.StatusCode() != 200 || got != want {
				t.Fatalf("%d: upstream saw %q, want %q", resp.StatusCode(), got, want)
			}
		})
	}
}
