package proxywasm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
)

// Root contexts dispatch http calls too (from proxy_on_vm_start,
// proxy_on_configure, proxy_on_tick, proxy_on_queue_ready and
// proxy_on_http_call_response itself), as ngx_wasm_module allows from
// on_tick: each call is sent on a goroutine of its own once the root
// callback returned, with no instance checked out and no request's
// worker involved; its answer is handed to proxy_on_http_call_response
// on the root context (id 1) of the instance that dispatched it, once
// that instance is idle. A configuration closing cancels the calls in
// flight and waits for their goroutines.
const (
	// maxRootCalls bounds the root calls in flight per configuration;
	// a dispatch past it is answered as failed ("broken connection").
	maxRootCalls = 64
	// maxCallBody bounds a root call's response body read.
	maxCallBody = 16 << 20
	// takeTimeout bounds the wait for a busy instance to deliver an
	// answer.
	takeTimeout = 10 * time.Second
)

// rootCalls are a configuration's root calls in flight.
type rootCalls struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	n      int // in flight, under Config.mu
}

var (
	rootMu    sync.Mutex
	rootByCfg = map[*Config]*rootCalls{}
)

// rootClient sends root calls (requests have the node's client,
// hostabi.HTTP; root contexts have no request).
var rootClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// dispatchRoot sends the calls a root callback of in dispatched.
func (c *Config) dispatchRoot(in *wasmhost.Instance, calls []httpCall) {
	if len(calls) == 0 {
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	rootMu.Lock()
	rc := rootByCfg[c]
	if rc == nil {
		rc = &rootCalls{}
		rc.ctx, rc.cancel = context.WithCancel(context.Background())
		rootByCfg[c] = rc
	}
	rootMu.Unlock()
	var run []httpCall
	var refused []httpCall
	for _, hc := range calls {
		if rc.n >= maxRootCalls {
			refused = append(refused, hc)
			continue
		}
		rc.n++
		rc.wg.Add(1)
		run = append(run, hc)
	}
	if len(refused) > 0 {
		rc.n++
		rc.wg.Add(1)
	}
	c.mu.Unlock()
	for _, hc := range run {
		c.pool.Hold(in)
		go c.rootCall(rc, in, hc)
	}
	if len(refused) > 0 {
		c.pool.Hold(in)
		go func() {
			for _, hc := range refused {
				c.filter.module.Runtime().Logger().Warn("proxy-wasm root http call refused: too many in flight",
					"plugin", c.filter.module.Name, "url", hc.req.URL)
				c.deliverRoot(rc.ctx, in, hc, &callResponse{headers: &headers{}, dispatchStatus: "broken connection"})
			}
			c.rootDone(rc, in)
		}()
	}
}

// rootDone ends one goroutine of rc.
func (c *Config) rootDone(rc *rootCalls, in *wasmhost.Instance) {
	c.pool.Release(in)
	c.mu.Lock()
	rc.n--
	c.mu.Unlock()
	rc.wg.Done()
}

// rootCall sends one root call and delivers its answer.
func (c *Config) rootCall(rc *rootCalls, in *wasmhost.Instance, hc httpCall) {
	defer c.rootDone(rc, in)
	if hc.resolve != "" {
		data := resolved(rc.ctx, hc.resolve)
		if rc.ctx.Err() == nil {
			c.deliverForeign(rc.ctx, in, data)
		}
		return
	}
	ctx, cancel := context.WithTimeout(rc.ctx, hc.timeout)
	res, err := sendRoot(ctx, hc.req)
	cancel()
	if rc.ctx.Err() != nil {
		return // the configuration closed
	}
	if err != nil {
		c.filter.module.Runtime().Logger().Warn("proxy-wasm root http call failed",
			"plugin", c.filter.module.Name, "url", hc.req.URL, "error", err)
	}
	c.deliverRoot(rc.ctx, in, hc, answer(res, err))
}

// deliverRoot runs proxy_on_http_call_response on in's root context and
// sends the calls it dispatched in turn.
func (c *Config) deliverRoot(ctx context.Context, in *wasmhost.Instance, hc httpCall, cr *callResponse) {
	if !c.filter.module.Exports("proxy_on_http_call_response") {
		return
	}
	tctx, cancel := context.WithTimeout(ctx, takeTimeout)
	got, err := c.pool.Take(tctx, in)
	cancel()
	if err != nil {
		return // the instance or the configuration is gone, or busy too long
	}
	cl := &call{config: c, in: in, ctxID: RootContextID, resp: cr, where: "http_call"}
	_, err = got.Call(context.Background(), "http_call", cl, "proxy_on_http_call_response",
		RootContextID, uint64(hc.id), uint64(len(cr.headers.list)), uint64(len(cr.body)), 0)
	c.pool.Put(got)
	if err != nil {
		c.filter.module.Runtime().Logger().Error("wasm filter http call response failed", "plugin", c.filter.module.Name, "error", err)
		return
	}
	c.dispatchRoot(in, cl.rootPending)
}

// sendRoot sends a root call with the standard client.
func sendRoot(ctx context.Context, req hostabi.HTTPRequest) (hostabi.HTTPResponse, error) {
	var body io.Reader
	if len(req.Body) > 0 {
		body = bytes.NewReader(req.Body)
	}
	r, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		return hostabi.HTTPResponse{}, fmt.Errorf("http call %s: %w", req.URL, err)
	}
	for n, vs := range req.Header {
		for _, v := range vs {
			r.Header.Add(n, v)
		}
	}
	if h := r.Header.Get("Host"); h != "" {
		r.Host = h
	}
	res, err := rootClient.Do(r)
	if err != nil {
		return hostabi.HTTPResponse{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxCallBody+1))
	if err != nil {
		return hostabi.HTTPResponse{}, fmt.Errorf("http call %s: reading the body: %w", req.URL, err)
	}
	if len(b) > maxCallBody {
		return hostabi.HTTPResponse{}, fmt.Errorf("http call %s: the body is over %d bytes", req.URL, maxCallBody)
	}
	return hostabi.HTTPResponse{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

// stopRoot cancels a closing configuration's root calls and waits for
// their goroutines (each bounded by a guest call's time limit).
func (c *Config) stopRoot() {
	rootMu.Lock()
	rc := rootByCfg[c]
	delete(rootByCfg, c)
	rootMu.Unlock()
	if rc != nil {
		rc.cancel()
		rc.wg.Wait()
	}
}

// deliverForeign runs proxy_on_foreign_function on in's root context.
func (c *Config) deliverForeign(ctx context.Context, in *wasmhost.Instance, data []byte) {
	if !c.filter.module.Exports("proxy_on_foreign_function") {
		return
	}
	tctx, cancel := context.WithTimeout(ctx, takeTimeout)
	got, err := c.pool.Take(tctx, in)
	cancel()
	if err != nil {
		return
	}
	cl := &call{config: c, in: in, ctxID: RootContextID, callData: data, where: "foreign"}
	_, err = got.Call(context.Background(), "foreign", cl, "proxy_on_foreign_function", RootContextID, foreignResolveLua, uint64(len(data)))
	c.pool.Put(got)
	if err != nil {
		c.filter.module.Runtime().Logger().Error("wasm filter foreign function callback failed", "plugin", c.filter.module.Name, "error", err)
		return
	}
	c.dispatchRoot(in, cl.rootPending)
}
