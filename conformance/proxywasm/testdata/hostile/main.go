// Command hostile is a proxy-wasm filter that attacks the host as the
// request's x-attack header says: pointers outside its memory, malformed
// serialized pairs, an endless loop, a bad action, an allocator handing
// back nonsense. It exports raw callbacks (no sdk/proxywasm): its own
// allocator is one of the attacks.
package main

import (
	"strconv"
	"unsafe"
)

//go:wasmimport env proxy_add_header_map_value
func addHeaderMapValue(mt, kp, ks, vp, vs uint32) uint32

//go:wasmimport env proxy_set_header_map_pairs
func setHeaderMapPairs(mt, p, n uint32) uint32

//go:wasmimport env proxy_get_header_map_value
func getHeaderMapValue(mt, kp, ks, rp, rs uint32) uint32

//go:wasmimport env proxy_send_local_response
func sendLocalResponse(status, dp, ds, bp, bs, hp, hs uint32, grpc int32) uint32

var (
	slots     [2]uint32
	pins      [][]byte
	badHeap   bool
	spinAlloc bool
	spin      uint64
)

func sp(s string) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.StringData(s)))) }

//go:wasmexport proxy_abi_version_0_2_1
func abiVersion() {}

//go:wasmexport proxy_on_memory_allocate
func allocate(n uint32) uint32 {
	if badHeap {
		return 0xfffffff0
	}
	for spinAlloc { // never returns: the call's time limit must end it
		spin++
	}
	b := make([]byte, n)
	pins = append(pins, b)
	return uint32(uintptr(unsafe.Pointer(&b[0])))
}

//go:wasmexport proxy_on_context_create
func onContextCreate(id, parent uint32) { pins = pins[:0]; badHeap = false; spinAlloc = false }

func attack() string {
	name := "x-attack"
	if getHeaderMapValue(0, sp(name), uint32(len(name)), uint32(uintptr(unsafe.Pointer(&slots[0]))), uint32(uintptr(unsafe.Pointer(&slots[1])))) != 0 {
		return ""
	}
	return string(unsafe.Slice((*byte)(unsafe.Pointer(uintptr(slots[0]))), slots[1]))
}

func add(k, v string) uint32 {
	return addHeaderMapValue(0, sp(k), uint32(len(k)), sp(v), uint32(len(v)))
}

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(id, n, eos uint32) uint32 {
	switch attack() {
	case "pointer":
		addHeaderMapValue(0, 0xfffffff0, 100, 0, 0)
	case "pairs":
		bad := []byte{255, 255, 255, 255, 1, 0, 0, 0}
		add("x-pairs-status", strconv.Itoa(int(setHeaderMapPairs(0, uint32(uintptr(unsafe.Pointer(&bad[0]))), uint32(len(bad))))))
		bad2 := []byte{1, 0, 0, 0, 1, 0, 0, 0}
		add("x-local-status", strconv.Itoa(int(sendLocalResponse(200, 0, 0, 0, 0, uint32(uintptr(unsafe.Pointer(&bad2[0]))), uint32(len(bad2)), -1))))
		add("x-status-code", strconv.Itoa(int(sendLocalResponse(7, 0, 0, 0, 0, 0, 0, -1))))
	case "loop":
		for {
			spin++
		}
	case "action":
		return 77
	case "allocator":
		badHeap = true
		attack() // the host copies the header into a pointer outside memory
	case "spinning-allocator":
		spinAlloc = true
		attack() // the host's nested call into the allocator never returns
	}
	return 0
}

func main() {}
