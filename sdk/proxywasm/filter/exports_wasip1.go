//go:build wasip1

package filter

// The ABI's callbacks, exported for the host; each dispatches to the
// registered contexts. proxy_on_memory_allocate comes with sdk/proxywasm.

//go:wasmexport proxy_abi_version_0_2_1
func abiVersion() {}

//go:wasmexport proxy_on_context_create
func onContextCreate(id, parent uint32) { std.contextCreate(id, parent) }

//go:wasmexport proxy_on_vm_start
func onVMStart(id, size uint32) uint32 { return std.vmStart(id, size) }

//go:wasmexport proxy_on_configure
func onConfigure(id, size uint32) uint32 { return std.configure(id, size) }

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(id, n, eos uint32) uint32 { return std.requestHeaders(id, n, eos) }

//go:wasmexport proxy_on_request_body
func onRequestBody(id, size, eos uint32) uint32 { return std.requestBody(id, size, eos) }

//go:wasmexport proxy_on_request_trailers
func onRequestTrailers(id, n uint32) uint32 { return std.requestTrailers(id, n) }

//go:wasmexport proxy_on_response_headers
func onResponseHeaders(id, n, eos uint32) uint32 { return std.responseHeaders(id, n, eos) }

//go:wasmexport proxy_on_response_body
func onResponseBody(id, size, eos uint32) uint32 { return std.responseBody(id, size, eos) }

//go:wasmexport proxy_on_response_trailers
func onResponseTrailers(id, n uint32) uint32 { return std.responseTrailers(id, n) }

//go:wasmexport proxy_on_log
func onLog(id uint32) { std.log(id) }

//go:wasmexport proxy_on_done
func onDone(id uint32) uint32 { return std.done(id) }

//go:wasmexport proxy_on_delete
func onDelete(id uint32) { std.remove(id) }

//go:wasmexport proxy_on_tick
func onTick(id uint32) { std.tick(id) }

//go:wasmexport proxy_on_queue_ready
func onQueueReady(id, queue uint32) { std.queueReady(id, queue) }

//go:wasmexport proxy_on_http_call_response
func onHTTPCallResponse(id, callout, nHeaders, bodySize, nTrailers uint32) {
	std.httpCallResponse(id, callout, nHeaders, bodySize, nTrailers)
}
