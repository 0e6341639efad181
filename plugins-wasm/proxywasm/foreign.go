package proxywasm

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
	"github.com/tetratelabs/wazero/api"
)

// Buffer type of a foreign function callback's arguments.
const bufCallData = 8

// Foreign function ids (ngx_wasm_module's numbering, which
// proxy_on_foreign_function receives).
const foreignResolveLua = 0

// resolveTimeout bounds a resolve_lua lookup.
const resolveTimeout = 2 * time.Second

// defineExtra adds the host functions of this file and of proxy_get_status.
func defineExtra(fn func(name string, f api.GoModuleFunc, nparams int)) {
	fn("proxy_get_status", getStatus, 3)
	fn("proxy_call_foreign_function", callForeignFunction, 6)
}

// getStatus answers, in proxy_on_http_call_response, the call's HTTP
// status (0 when it failed) and, for a failed call, why
// (ngx_wasm_module's dispatch status: "timeout", "broken connection");
// elsewhere NotFound (there are no gRPC calls, whose status the ABI
// function is for; ngx_wasm_module answers nothing).
func getStatus(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	if c.resp == nil {
		ret(stack, statusNotFound)
		return
	}
	putU32(m, uint32(stack[0]), uint32(c.resp.status))
	give(ctx, m, []byte(c.resp.dispatchStatus), uint32(stack[1]), uint32(stack[2]))
	ret(stack, statusOK)
}

// callForeignFunction runs ngx_wasm_module's foreign functions: only
// resolve_lua, which resolves a name to its address (4 bytes for IPv4,
// 16 for IPv6). An IP literal is answered at once; a name yields (no
// bytes returned) and is resolved once the callback returned, then
// proxy_on_foreign_function(context, 0, size) gets the call data buffer
// (type 8): the address's size (0: not found), the address, the name. As
// in ngx_wasm_module, an unknown function, a missing name or a call from
// another callback than on_request_headers, on_request_body, on_tick,
// on_http_call_response and on_foreign_function traps.
func callForeignFunction(ctx context.Context, m api.Module, stack []uint64) {
	c := current(ctx)
	name := wasmhost.ReadString(m, uint32(stack[0]), uint32(stack[1]))
	args := wasmhost.ReadString(m, uint32(stack[2]), uint32(stack[3]))
	if name != "resolve_lua" {
		wasmhost.Trapf("unknown foreign function %q", name)
	}
	switch {
	case c.logging, c.st != nil && c.st.response, c.where == "configure", c.where == "queue":
		wasmhost.Trapf("can only call resolve_lua during on_request_headers, on_request_body, on_tick, on_http_call_response, on_foreign_function")
	case args == "":
		wasmhost.Trapf("cannot resolve, missing name")
	}
	if ip, err := netip.ParseAddr(args); err == nil {
		give(ctx, m, ip.Unmap().AsSlice(), uint32(stack[4]), uint32(stack[5]))
		ret(stack, statusOK)
		return
	}
	pending := &c.rootPending
	if c.st != nil {
		pending = &c.st.pending
	}
	if len(*pending) >= maxPendingCalls {
		ret(stack, statusBadArgument)
		return
	}
	*pending = append(*pending, httpCall{resolve: args, timeout: resolveTimeout})
	give(ctx, m, nil, uint32(stack[4]), uint32(stack[5]))
	ret(stack, statusOK)
}

// resolved is the call data of a resolve_lua answer: the address's size
// (0 when the name did not resolve), the address, the name.
func resolved(ctx context.Context, name string) []byte {
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	var addr []byte
	if ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", name); err == nil && len(ips) > 0 {
		pick := ips[0]
		for _, ip := range ips { // IPv4 first, as the Lua resolver asks A first
			if ip.Unmap().Is4() {
				pick = ip
				break
			}
		}
		addr = pick.Unmap().AsSlice()
	}
	out := append([]byte{byte(len(addr))}, addr...)
	return append(out, name...)
}
