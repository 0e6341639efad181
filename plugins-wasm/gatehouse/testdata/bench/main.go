// Command bench is the hook round trip of the benchmark: access reads two
// request headers and writes one upstream header, through the fast-path
// imports, with buffers kept across calls as an SDK would.
package main

import "unsafe"

//go:wasmimport gatehouse request_get_header
func requestGetHeader(namePtr, nameLen, buf, limit uint32) int64

//go:wasmimport gatehouse service_request_set_header
func serviceRequestSetHeader(namePtr, nameLen, valPtr, valLen uint32)

var (
	bufA, bufB [64]byte
	nameA      = "x-a"
	nameB      = "x-b"
	nameC      = "x-c"
)

func sp(s string) (uint32, uint32) {
	return uint32(uintptr(unsafe.Pointer(unsafe.StringData(s)))), uint32(len(s))
}

//go:wasmexport gatehouse_abi_version
func abiVersion() int64 { return 2<<32 | 4<<16 }

//go:wasmexport access
func access() int32 {
	ap, al := sp(nameA)
	n := requestGetHeader(ap, al, uint32(uintptr(unsafe.Pointer(&bufA[0]))), uint32(len(bufA)))
	bp, bl := sp(nameB)
	requestGetHeader(bp, bl, uint32(uintptr(unsafe.Pointer(&bufB[0]))), uint32(len(bufB)))
	if n < 0 {
		n = 0
	}
	cp, cl := sp(nameC)
	serviceRequestSetHeader(cp, cl, uint32(uintptr(unsafe.Pointer(&bufA[0]))), uint32(n))
	return 0
}

func main() {}
