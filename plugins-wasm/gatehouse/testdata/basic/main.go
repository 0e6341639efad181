// Command basic is a Gatehouse Wasm guest written against the raw imports:
// access copies two request headers into one upstream header, configure
// keeps a prefix from the configuration, header_filter marks the response.
package main

import (
	"encoding/json"
	"unsafe"
)

//go:wasmimport gatehouse request_get_header
func requestGetHeader(namePtr, nameLen, buf, limit uint32) int64

//go:wasmimport gatehouse service_request_set_header
func serviceRequestSetHeader(namePtr, nameLen, valPtr, valLen uint32)

//go:wasmimport gatehouse response_set_header
func responseSetHeader(namePtr, nameLen, valPtr, valLen uint32)

//go:wasmimport gatehouse get_config
func getConfig(buf, limit uint32) int64

//go:wasmimport gatehouse set_result
func setResult(ptr, n uint32)

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

var buf = make([]byte, 256)

// header reads a request header with the pull convention.
func header(name string) (string, bool) {
	np, nl := ptr(name)
	bp, bl := bptr(buf)
	n := requestGetHeader(np, nl, bp, bl)
	if n < 0 {
		return "", false
	}
	if n > int64(len(buf)) {
		buf = make([]byte, n)
		bp, bl = bptr(buf)
		n = requestGetHeader(np, nl, bp, bl)
	}
	return string(buf[:n]), true
}

var prefix = "none"

//go:wasmexport gatehouse_abi_version
func abiVersion() int64 { return 2<<32 | 4<<16 }

//go:wasmexport describe
func describe() int32 {
	b, _ := json.Marshal(map[string]any{
		"version": "1.2.3", "priority": 1234,
		"config": map[string]any{"type": "record", "fields": []any{
			map[string]any{"prefix": map[string]any{"type": "string", "default": "p"}},
		}},
	})
	setResult(bptr(b))
	return 0
}

//go:wasmexport configure
func configure() int32 {
	b := make([]byte, 4096)
	bp, bl := bptr(b)
	n := getConfig(bp, bl)
	var cfg map[string]any
	if err := json.Unmarshal(b[:n], &cfg); err != nil {
		msg := "bad config: " + err.Error()
		fail(ptr(msg))
		return 1
	}
	p, _ := cfg["prefix"].(string)
	if p == "refuse" {
		msg := "prefix must not be refuse"
		fail(ptr(msg))
		return 1
	}
	prefix = p
	return 0
}

//go:wasmexport access
func access() int32 {
	a, _ := header("x-a")
	b, ok := header("x-b")
	if !ok {
		b = "-"
	}
	name := "x-joined"
	v := prefix + ":" + a + "+" + b
	np, nl := ptr(name)
	vp, vl := ptr(v)
	serviceRequestSetHeader(np, nl, vp, vl)
	return 0
}

//go:wasmexport header_filter
func headerFilter() int32 {
	name, v := "x-wasm", "seen"
	np, nl := ptr(name)
	vp, vl := ptr(v)
	responseSetHeader(np, nl, vp, vl)
	return 0
}

func main() {}
