// Command hw-add-header is the http-wasm guest of the bench's
// http-wasm-add-header scenario, written with the standard Go toolchain
// (GOOS=wasip1, -buildmode=c-shared) on the raw http_handler imports of
// the http-wasm handler ABI (https://http-wasm.io): it adds one request
// header. Its configuration (the plugin's config.config) is "Name:value"
// (default "X-Bench:1").
//
// It does the same work as the proxy-wasm filter pw-add-header and no
// more: it does not enable buffer_response (so the host runs its
// handle_response, which the ABI requires and which does nothing here, in
// header_filter without buffering the response), and it reads its
// configuration once, on its first request (a Go reactor cannot read it
// while _initialize runs).
package main

import (
	"strings"
	"unsafe"
)

const kindRequest = 0

//go:wasmimport http_handler get_config
func getConfig(buf, limit uint32) uint32

//go:wasmimport http_handler add_header_value
func addHeaderValue(kind, name, nameLen, value, valueLen uint32)

//go:wasmimport http_handler set_status_code
func setStatusCode(code uint32)

//go:wasmimport http_handler write_body
func writeBody(kind, buf, n uint32)

var (
	name, value = "X-Bench", "1"
	configured  bool
	configErr   string
)

// ptr is s's address and length in the guest's memory.
func ptr(s string) (uint32, uint32) {
	if s == "" {
		return 0, 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.StringData(s)))), uint32(len(s))
}

// configure reads "Name:value" by the host's rule: the length first, then
// again with room for it.
func configure() {
	buf := make([]byte, 64)
	n := getConfig(uint32(uintptr(unsafe.Pointer(&buf[0]))), uint32(len(buf)))
	if int(n) > len(buf) {
		buf = make([]byte, n)
		n = getConfig(uint32(uintptr(unsafe.Pointer(&buf[0]))), uint32(len(buf)))
	}
	if n == 0 {
		return
	}
	n2, v, ok := strings.Cut(string(buf[:n]), ":")
	if !ok || n2 == "" {
		configErr = "hw-add-header: configuration must be Name:value, got " + string(buf[:n])
		return
	}
	name, value = n2, v
}

// handleRequest adds the header and lets the request through (next=1,
// request context 0). A bad configuration fails closed: a 500 naming it,
// nothing proxied.
//
//go:wasmexport handle_request
func handleRequest() uint64 {
	if !configured {
		configure()
		configured = true
	}
	if configErr != "" {
		setStatusCode(500)
		p, n := ptr(configErr)
		writeBody(1, p, n)
		return 0
	}
	np, nl := ptr(name)
	vp, vl := ptr(value)
	addHeaderValue(kindRequest, np, nl, vp, vl)
	return 1
}

// handleResponse has nothing to do.
//
//go:wasmexport handle_response
func handleResponse(reqCtx, isError uint32) {}

func main() {}
