// Command bench is the http-wasm hook round trip of the benchmark, the
// same work as plugins-wasm/gatehouse/testdata/bench: handle_request reads
// two request headers and sets one upstream header, on the raw
// http_handler imports, with buffers kept across calls.
package main

import "unsafe"

const kindRequest = 0

//go:wasmimport http_handler get_header_values
func getHeaderValues(kind, name, nameLen, buf, limit uint32) uint64

//go:wasmimport http_handler set_header_value
func setHeaderValue(kind, name, nameLen, value, valueLen uint32)

var (
	bufA, bufB [64]byte
	nameA      = "X-A"
	nameB      = "X-B"
	nameC      = "X-C"
)

func sp(s string) (uint32, uint32) {
	return uint32(uintptr(unsafe.Pointer(unsafe.StringData(s)))), uint32(len(s))
}

// handleRequest copies X-A's first value into X-C (values come
// NUL-terminated: the length includes the terminator) and continues.
//
//go:wasmexport handle_request
func handleRequest() uint64 {
	ap, al := sp(nameA)
	r := getHeaderValues(kindRequest, ap, al, uint32(uintptr(unsafe.Pointer(&bufA[0]))), uint32(len(bufA)))
	bp, bl := sp(nameB)
	getHeaderValues(kindRequest, bp, bl, uint32(uintptr(unsafe.Pointer(&bufB[0]))), uint32(len(bufB)))
	n := uint32(r)
	if r>>32 == 0 || n == 0 || n > uint32(len(bufA)) {
		n = 1
	}
	cp, cl := sp(nameC)
	setHeaderValue(kindRequest, cp, cl, uint32(uintptr(unsafe.Pointer(&bufA[0]))), n-1)
	return 1
}

//go:wasmexport handle_response
func handleResponse(reqCtx, isError uint32) {}

func main() {}
