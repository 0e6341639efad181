// Command legacy is a proxy-wasm filter of ABI 0.2.0 that imports WASI
// under its old name, wasi_unstable, as older SDKs build them: it adds
// the request's header map size and a random byte's presence to the
// upstream request, and resumes with proxy_continue_request. It exports
// raw callbacks (no sdk/proxywasm, whose filter package is ABI 0.2.1):
// the 0.2.0 exports (malloc, proxy_abi_version_0_2_0) are what it tests.
package main

import (
	"strconv"
	"unsafe"
)

//go:wasmimport wasi_unstable random_get
func randomGet(p, n uint32) uint32

//go:wasmimport env proxy_get_header_map_size
func getHeaderMapSize(mt, rp uint32) uint32

//go:wasmimport env proxy_add_header_map_value
func addHeaderMapValue(mt, kp, ks, vp, vs uint32) uint32

//go:wasmimport env proxy_continue_request
func continueRequest() uint32

//go:wasmimport env proxy_get_log_level
func getLogLevel(rp uint32) uint32

var (
	slot  uint32
	rnd   [8]byte
	pins  [][]byte
	added string
)

//go:wasmexport proxy_abi_version_0_2_0
func abiVersion() {}

//go:wasmexport malloc
func malloc(n uint32) uint32 {
	b := make([]byte, n)
	pins = append(pins, b)
	return uint32(uintptr(unsafe.Pointer(&b[0])))
}

//go:wasmexport proxy_on_context_create
func onContextCreate(id, parent uint32) {}

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(id, n, eos uint32) uint32 {
	add := func(k, v string) {
		addHeaderMapValue(0, uint32(uintptr(unsafe.Pointer(unsafe.StringData(k)))), uint32(len(k)),
			uint32(uintptr(unsafe.Pointer(unsafe.StringData(v)))), uint32(len(v)))
	}
	if getHeaderMapSize(0, uint32(uintptr(unsafe.Pointer(&slot)))) == 0 {
		add("x-map-size", strconv.Itoa(int(slot)))
	}
	add("x-random", strconv.FormatBool(randomGet(uint32(uintptr(unsafe.Pointer(&rnd[0]))), 8) == 0))
	if getLogLevel(uint32(uintptr(unsafe.Pointer(&slot)))) == 0 {
		add("x-log-level", strconv.Itoa(int(slot)))
	}
	add("x-headers", strconv.Itoa(int(n)))
	add("x-continue", strconv.Itoa(int(continueRequest())))
	return 1 // Pause: nothing is pending, the request goes on
}

func main() {}
