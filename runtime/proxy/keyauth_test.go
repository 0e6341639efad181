package proxy_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/runtime/internal/httpguard"
	"github.com/gatehouse/gatehouse/store"
	"github.com/valyala/fasthttp"
)

// TestKeyAuthKeysOverKeepAlive: key-auth reads its key as a view of the
// client's request (hostabi.HeaderPeeker), not a copy. Keep-alive clients
// at once through a real listener, each request on a connection carrying
// another consumer's key of another length (the server reuses its buffers
// for the next request), are each authenticated as their own consumer,
// with the key hidden from the upstream; unknown, duplicate and empty keys
// are refused with Kong's answers.
func TestKeyAuthKeysOverKeepAlive(t *testing.T) {
	const consumers = 8
	key := func(i int) string { return fmt.Sprintf("key-%d-%s", i, strings.Repeat("x", i*7)) }
	srv, _ := startProxy(t, func(ctx *fasthttp.RequestCtx) {
		if len(ctx.Request.Header.Peek("Apikey")) > 0 {
			ctx.SetStatusCode(599) // hide_credentials failed
		}
		ctx.SetBody(ctx.Request.Header.Peek("X-Consumer-Username"))
	}, func(st *store.Store) {
		ctx := context.Background()
		for i := 0; i < consumers; i++ {
			c, err := st.Insert(ctx, "consumers", map[string]any{"username": fmt.Sprintf("c%d", i)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Insert(ctx, "keyauth_credentials", map[string]any{"key": key(i), "consumer": map[string]any{"id": c["id"]}}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.Insert(ctx, "plugins", map[string]any{"name": "key-auth", "config": map[string]any{"hide_credentials": true}}); err != nil {
			t.Fatal(err)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	front := &fasthttp.Server{Handler: srv.ServeFastHTTP, StreamRequestBody: true, DisablePreParseMultipartForm: true}
	done := make(chan struct{})
	go func() { defer close(done); front.Serve(httpguard.NewListener(ln, httpguard.Limits{})) }()
	defer func() { front.Shutdown(); <-done }()

	type answer struct {
		status int
		body   string
	}
	do := func(hc *fasthttp.HostClient, keys ...string) (answer, error) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://example.com/x")
		for _, k := range keys {
			req.Header.Add("apikey", k)
		}
		if err := hc.Do(req, resp); err != nil {
			return answer{}, err
		}
		return answer{resp.StatusCode(), string(resp.Body())}, nil
	}

	var wg sync.WaitGroup
	errs := make(chan error, consumers)
	for w := 0; w < consumers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &fasthttp.HostClient{Addr: ln.Addr().String(), MaxConns: 1}
			defer hc.CloseIdleConnections()
			for r := 0; r < 150; r++ {
				i := (w + r) % consumers
				var keys []string
				want := answer{200, fmt.Sprintf("c%d", i)}
				switch r % 10 {
				case 7:
					keys, want = []string{key(i) + "-unknown"}, answer{401, `"Unauthorized"`}
				case 8:
					keys, want = []string{key(i), key(i)}, answer{401, `"Duplicate API key found"`}
				case 9:
					keys, want = []string{""}, answer{401, `"No API key found in request"`}
				default:
					keys = []string{key(i)}
				}
				got, err := do(hc, keys...)
				if err != nil {
					errs <- err
					return
				}
				if got.status != want.status || (want.status == 200 && got.body != want.body) ||
					(want.status == 401 && !strings.Contains(got.body, `"message":`+want.body)) {
					errs <- fmt.Errorf("worker %d request %d with %q: %d %q, want %d %q", w, r, keys, got.status, got.body, want.status, want.body)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
