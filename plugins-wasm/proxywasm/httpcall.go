package proxywasm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
	"github.com/tetratelabs/wazero/api"
)

// Map and buffer types of an http call's response.
const (
	mapHTTPCallResponseHeaders  = 6
	mapHTTPCallResponseTrailers = 7
	bufHTTPCallResponseBody     = 4
	// maxPendingCalls bounds the calls one HTTP context dispatches.
	maxPendingCalls = 16
	// defaultCallTimeout is a call's timeout when the filter gives 0, and
	// the longest it may give.
	defaultCallTimeout = 60 * time.Second
)

// httpCall is a dispatched proxy_http_call waiting for the callback to
// return.
type httpCall struct {
	id      uint32
	req     hostabi.HTTPRequest
	timeout time.Duration
	// resolve is the name a resolve_lua foreign call resolves (no
	// request is sent then).
	resolve string
}

// callResponse is the answer the running proxy_on_http_call_response
// reads.
type callResponse struct {
	headers *headers
	body    []byte
	status  int // 0: the call failed
	// dispatchStatus is why a call failed (ngx_wasm_module's
	// ":dispatch_status" pseudo-header): "timeout", "broken connection"
	dispatchStatus string
}

// answer makes the callResponse of a call's outcome.
func answer(res hostabi.HTTPResponse, err error) *callResponse {
	cr := &callResponse{headers: &headers{}}
	if err != nil {
		cr.dispatchStatus = "broken connection"
		if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timeout") {
			cr.dispatchStatus = "timeout"
		}
		return cr
	}
	cr.headers = loadHeaders(res.Header)
	cr.headers.list = append([][2]string{{":status", fmt.Sprint(res.Status)}}, cr.headers.list...)
	cr.body = res.Body
	cr.status = res.Status
	return cr
}

func httpCallImport(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	root := c.st == nil && c.k == nil
	if (!c.stream() && !root) || c.logging {
		ret(stack, statusBadArgument)
		return
	}
	upstream := wasmhost.ReadString(m, uint32(stack[0]), uint32(stack[1]))
	pairs, ok := readPairs(wasmhost.Read(m, uint32(stack[2]), uint32(stack[3])))
	if !ok {
		ret(stack, statusSerialization)
		return
	}
	body := append([]byte(nil), wasmhost.Read(m, uint32(stack[4]), uint32(stack[5]))...)
	timeout := time.Duration(uint32(stack[8])) * time.Millisecond
	if timeout == 0 || timeout > defaultCallTimeout {
		timeout = defaultCallTimeout // bounded: a root call holds a goroutine
	}
	method, path, scheme, authority := "", "", "http", ""
	hs := map[string][]string{}
	for _, p := range pairs {
		switch strings.ToLower(p[0]) {
		case ":method":
			method = p[1]
		case ":path":
			path = p[1]
		case ":scheme":
			scheme = p[1]
		case ":authority":
			authority = p[1]
		default:
			hs[p[0]] = append(hs[p[0]], p[1])
		}
	}
	host := upstream
	if host == "" {
		host = authority
	}
	if method == "" || path == "" || !strings.HasPrefix(path, "/") || host == "" || (scheme != "http" && scheme != "https") {
		ret(stack, statusBadArgument)
		return
	}
	if authority != "" && authority != host {
		hs["Host"] = []string{authority}
	}
	pending := &c.rootPending
	if !root {
		pending = &c.st.pending
	}
	if len(*pending) >= maxPendingCalls {
		ret(stack, statusBadArgument)
		return
	}
	g := c.in.Data.(*guest)
	g.calls++
	id := g.calls
	*pending = append(*pending, httpCall{id: id, timeout: timeout, req: hostabi.HTTPRequest{
		Method: method, URL: scheme + "://" + host + path, Header: hs, Body: body, Timeout: timeout,
	}})
	putU32(m, uint32(stack[9]), id)
	ret(stack, statusOK)
}

// dispatch sends the calls a callback dispatched, one after the other,
// outside any guest call (the instance stays pinned to the request, no
// Wasm runs while the answer is awaited), and hands each answer to
// proxy_on_http_call_response; a call that fails is answered with no
// headers and no body, as Envoy does. Calls dispatched from a response
// callback are sent in turn.
func (cl *call) dispatch(phase string) error {
	for len(cl.st.pending) > 0 && cl.st.local == nil {
		hc := cl.st.pending[0]
		cl.st.pending = cl.st.pending[1:]
		if hc.resolve != "" {
			if err := cl.foreignCallback(phase, uint64(cl.st.id), resolved(cl.k.Context(), hc.resolve)); err != nil {
				return err
			}
			continue
		}
		ctx, cancel := context.WithTimeout(cl.k.Context(), hc.timeout)
		res, err := cl.k.HTTP().Do(ctx, hc.req)
		cancel()
		if err != nil {
			cl.k.Log().Warn(fmt.Sprintf("proxy-wasm http call %d to %s failed: %v", hc.id, hc.req.URL, err))
		}
		cr := answer(res, err)
		if !cl.config.filter.module.Exports("proxy_on_http_call_response") {
			continue
		}
		cl.resp = cr
		_, err = cl.in.Call(cl.k.Context(), phase, cl, "proxy_on_http_call_response",
			uint64(cl.st.id), uint64(hc.id), uint64(len(cr.headers.list)), uint64(len(cr.body)), 0)
		cl.resp = nil
		if err != nil {
			return err
		}
	}
	cl.st.pending = nil
	return nil
}

// foreignCallback hands a foreign function's answer to
// proxy_on_foreign_function(context, function id, size).
func (cl *call) foreignCallback(phase string, ctxID uint64, data []byte) error {
	if !cl.config.filter.module.Exports("proxy_on_foreign_function") {
		return nil
	}
	cl.callData = data
	_, err := cl.in.Call(cl.k.Context(), phase, cl, "proxy_on_foreign_function", ctxID, foreignResolveLua, uint64(len(data)))
	cl.callData = nil
	return err
}
