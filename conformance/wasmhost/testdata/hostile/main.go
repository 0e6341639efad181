// Command hostile is a Gatehouse Wasm guest, on the raw imports, that
// misbehaves on request: the X-Hostile header names what to do (loop,
// alloc, trap, oob, wrong-phase, fail; wasi reports what WASI grants,
// grants what wasm_grant_env and wasm_grant_dir let it see) and X-Hostile-Phase the phase to do
// it in (every request phase is exported; the response phase makes the
// proxy buffer the upstream's response). Without them it behaves: access remembers X-Id in a global
// variable and sets X-Seen upstream; header_filter answers X-Pinned with
// the remembered id, which is the request's only when the request's
// phases ran on one instance; body_filter appends the id to the body.
package main

import (
	"os"
	"strconv"
	"time"
	"unsafe"
)

//go:wasmimport gatehouse request_get_header
func requestGetHeader(namePtr, nameLen, buf, limit uint32) int64

//go:wasmimport gatehouse service_request_set_header
func serviceRequestSetHeader(namePtr, nameLen, valPtr, valLen uint32)

//go:wasmimport gatehouse response_set_header
func responseSetHeader(namePtr, nameLen, valPtr, valLen uint32)

//go:wasmimport gatehouse body_chunk
func bodyChunk(buf, limit uint32) int64

//go:wasmimport gatehouse set_body_chunk
func setBodyChunk(ptr, n uint32)

//go:wasmimport gatehouse fail
func fail(ptr, n uint32)

func ptr(s string) (uint32, uint32) {
	if s == "" {
		return 0, 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.StringData(s)))), uint32(len(s))
}

func bptr(b []byte) (uint32, uint32) {
	if len(b) == 0 {
		return 0, 0
	}
	return uint32(uintptr(unsafe.Pointer(&b[0]))), uint32(len(b))
}

func header(name string) string {
	buf := make([]byte, 128)
	np, nl := ptr(name)
	bp, bl := bptr(buf)
	n := requestGetHeader(np, nl, bp, bl)
	if n < 0 {
		return ""
	}
	if n > int64(len(buf)) {
		buf = make([]byte, n)
		bp, bl = bptr(buf)
		n = requestGetHeader(np, nl, bp, bl)
	}
	return string(buf[:n])
}

func setUpstream(name, value string) {
	np, nl := ptr(name)
	vp, vl := ptr(value)
	serviceRequestSetHeader(np, nl, vp, vl)
}

func setResponse(name, value string) {
	np, nl := ptr(name)
	vp, vl := ptr(value)
	responseSetHeader(np, nl, vp, vl)
}

var (
	remembered string
	hoard      [][]byte
	sink       int
)

// misbehave does what X-Hostile asks when X-Hostile-Phase is phase; it
// returns the export's result.
func misbehave(phase string) int32 {
	if header("x-hostile-phase") != phase {
		return 0
	}
	switch header("x-hostile") {
	case "loop":
		for {
			sink++
		}
	case "clock-loop": // a loop inside WASI calls: the limit strikes there
		for {
			sink += int(time.Now().UnixNano() & 1)
		}
	case "alloc":
		for {
			hoard = append(hoard, make([]byte, 1<<20))
		}
	case "trap":
		var p *int
		sink = *p // a nil dereference: the Go runtime's panic, then exit
	case "oob":
		np, nl := ptr("x-id")
		requestGetHeader(np, nl, 0xFFFFFF00, 0x1000) // a buffer past the memory's end
	case "wrong-phase":
		if phase == "access" {
			setResponse("x-late", "1") // allowed; so do what is not:
			_ = bodyChunk(0, 0)        // body_chunk outside body_filter
		}
		setUpstream("x-too-late", "1") // kong.service.request.set_header after access
	case "fail":
		msg := "refused by the guest in " + phase
		fail(ptr(msg))
		return 1
	}
	return 0
}

//go:wasmexport gatehouse_abi_version
func abiVersion() int64 { return 2<<32 | 4<<16 }

//go:wasmexport rewrite
func rewrite() int32 { return misbehave("rewrite") }

//go:wasmexport access
func access() int32 {
	remembered = header("x-id")
	if r := misbehave("access"); r != 0 {
		return r
	}
	if header("x-hostile") == "wasi" {
		// what WASI grants: no file, no environment, no arguments
		_, ferr := os.ReadFile("/etc/hostname")
		_, derr := os.ReadDir("/")
		werr := os.WriteFile("/tmp/escape", []byte("x"), 0o644)
		setUpstream("x-wasi", strconv.FormatBool(ferr != nil)+"|"+strconv.FormatBool(derr != nil)+"|"+
			strconv.FormatBool(werr != nil)+"|"+strconv.Itoa(len(os.Environ()))+"|"+strconv.Itoa(len(os.Args)))
	}
	if header("x-hostile") == "grants" {
		// GATEHOUSE_GRANTED | GATEHOUSE_NOT_GRANTED | how many variables |
		// /data/granted.txt | write error in /data | ../ escape error |
		// /etc/hostname error
		content, err := os.ReadFile("/data/granted.txt")
		if err != nil {
			content = []byte("ERR")
		}
		werr := os.WriteFile("/data/new.txt", []byte("x"), 0o644)
		_, eerr := os.ReadFile("/data/../outside.txt")
		_, herr := os.ReadFile("/etc/hostname")
		setUpstream("x-grants", os.Getenv("GATEHOUSE_GRANTED")+"|"+os.Getenv("GATEHOUSE_NOT_GRANTED")+"|"+
			strconv.Itoa(len(os.Environ()))+"|"+string(content)+"|"+strconv.FormatBool(werr != nil)+"|"+
			strconv.FormatBool(eerr != nil)+"|"+strconv.FormatBool(herr != nil))
	}
	setUpstream("x-seen", remembered)
	return 0
}

//go:wasmexport response
func response() int32 { return misbehave("response") }

//go:wasmexport header_filter
func headerFilter() int32 {
	if r := misbehave("header_filter"); r != 0 {
		return r
	}
	setResponse("x-pinned", remembered)
	return 0
}

//go:wasmexport body_filter
func bodyFilter(eof int32) int32 {
	if r := misbehave("body_filter"); r != 0 {
		return r
	}
	if eof == 0 {
		return 0
	}
	buf := make([]byte, 4096)
	bp, bl := bptr(buf)
	n := bodyChunk(bp, bl)
	if n > int64(len(buf)) {
		buf = make([]byte, n)
		bp, bl = bptr(buf)
		n = bodyChunk(bp, bl)
	}
	out := append(buf[:n:n], []byte("|"+remembered)...)
	setBodyChunk(bptr(out))
	return 0
}

//go:wasmexport log
func logPhase() int32 { return misbehave("log") }

func main() {}
