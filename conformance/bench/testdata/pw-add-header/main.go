// Command pw-add-header is the proxy-wasm filter of the bench's
// proxy-wasm-add-header scenario, written with the standard Go toolchain
// (GOOS=wasip1) on sdk/proxywasm: it adds one request header. Its
// configuration is "Name:value" (default "X-Bench:1").
//
// It exports its callbacks itself rather than through
// sdk/proxywasm/filter on purpose: the filter package exports every
// callback, and the host buffers the response of a filter exporting
// response callbacks (and reads the body of one exporting
// proxy_on_request_body), which would make the bench measure buffering
// this filter does not need.
package main

import (
	"strings"

	pw "github.com/gatehouse/gatehouse/sdk/proxywasm"
)

var name, value = "X-Bench", "1"

//go:wasmexport proxy_abi_version_0_2_1
func abiVersion() {}

//go:wasmexport proxy_on_context_create
func onContextCreate(id, parent uint32) { pw.Release() }

//go:wasmexport proxy_on_vm_start
func onVMStart(id, size uint32) uint32 { return 1 }

//go:wasmexport proxy_on_configure
func onConfigure(id, size uint32) uint32 {
	pw.Release()
	if size == 0 {
		return 1
	}
	b, st := pw.Buffer(pw.PluginConfiguration, 0, size)
	if st != pw.StatusOK {
		return 0
	}
	n, v, ok := strings.Cut(string(b), ":")
	if !ok || n == "" {
		pw.Log(pw.LogError, "configuration must be Name:value, got "+string(b))
		return 0
	}
	name, value = n, v
	return 1
}

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(id, n, eos uint32) uint32 {
	pw.Release()
	pw.AddHeader(pw.RequestHeaders, name, value)
	return pw.ActionContinue
}

//go:wasmexport proxy_on_done
func onDone(id uint32) uint32 { return 1 }

//go:wasmexport proxy_on_delete
func onDelete(id uint32) { pw.Release() }

func main() {}
