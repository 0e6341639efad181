//go:build wasip1

package sdk

import "unsafe"

// The imports of the gatehouse module (hostabi/wasm.go,
// hostabi.WasmImport*). Pointers are unsafe.Pointer so the memory they
// point at stays alive during the call; lengths are uint32 (i32).

//go:wasmimport gatehouse request_get_header
func hRequestGetHeader(n unsafe.Pointer, nl uint32, buf unsafe.Pointer, limit uint32) int64

//go:wasmimport gatehouse request_get_method
func hRequestGetMethod(buf unsafe.Pointer, limit uint32) int64

//go:wasmimport gatehouse request_get_path
func hRequestGetPath(buf unsafe.Pointer, limit uint32) int64

//go:wasmimport gatehouse request_get_raw_body
func hRequestGetRawBody(buf unsafe.Pointer, limit uint32) int64

//go:wasmimport gatehouse service_request_set_header
func hServiceRequestSetHeader(n unsafe.Pointer, nl uint32, v unsafe.Pointer, vl uint32)

//go:wasmimport gatehouse service_request_add_header
func hServiceRequestAddHeader(n unsafe.Pointer, nl uint32, v unsafe.Pointer, vl uint32)

//go:wasmimport gatehouse service_request_clear_header
func hServiceRequestClearHeader(n unsafe.Pointer, nl uint32)

//go:wasmimport gatehouse service_request_set_raw_body
func hServiceRequestSetRawBody(p unsafe.Pointer, l uint32)

//go:wasmimport gatehouse response_get_status
func hResponseGetStatus() int32

//go:wasmimport gatehouse response_set_status
func hResponseSetStatus(status int32)

//go:wasmimport gatehouse response_get_header
func hResponseGetHeader(n unsafe.Pointer, nl uint32, buf unsafe.Pointer, limit uint32) int64

//go:wasmimport gatehouse response_set_header
func hResponseSetHeader(n unsafe.Pointer, nl uint32, v unsafe.Pointer, vl uint32)

//go:wasmimport gatehouse response_add_header
func hResponseAddHeader(n unsafe.Pointer, nl uint32, v unsafe.Pointer, vl uint32)

//go:wasmimport gatehouse response_clear_header
func hResponseClearHeader(n unsafe.Pointer, nl uint32)

//go:wasmimport gatehouse response_get_raw_body
func hResponseGetRawBody(buf unsafe.Pointer, limit uint32) int64

//go:wasmimport gatehouse response_set_raw_body
func hResponseSetRawBody(p unsafe.Pointer, l uint32)

//go:wasmimport gatehouse response_exit
func hResponseExit(status int32, b unsafe.Pointer, bl uint32, h unsafe.Pointer, hl uint32)

//go:wasmimport gatehouse ctx_shared_get
func hCtxSharedGet(k unsafe.Pointer, kl uint32, buf unsafe.Pointer, limit uint32) int64

//go:wasmimport gatehouse ctx_shared_set
func hCtxSharedSet(k unsafe.Pointer, kl uint32, v unsafe.Pointer, vl uint32)

//go:wasmimport gatehouse ctx_plugin_get
func hCtxPluginGet(k unsafe.Pointer, kl uint32, buf unsafe.Pointer, limit uint32) int64

//go:wasmimport gatehouse ctx_plugin_set
func hCtxPluginSet(k unsafe.Pointer, kl uint32, v unsafe.Pointer, vl uint32)

//go:wasmimport gatehouse cache_get
func hCacheGet(k unsafe.Pointer, kl uint32, buf unsafe.Pointer, limit uint32) int64

//go:wasmimport gatehouse cache_set
func hCacheSet(k unsafe.Pointer, kl uint32, v unsafe.Pointer, vl uint32, ttlMS int64)

//go:wasmimport gatehouse log
func hLog(level int32, m unsafe.Pointer, ml uint32)

//go:wasmimport gatehouse fail
func hFail(m unsafe.Pointer, ml uint32)

//go:wasmimport gatehouse set_result
func hSetResult(p unsafe.Pointer, l uint32)

//go:wasmimport gatehouse get_config
func hGetConfig(buf unsafe.Pointer, limit uint32) int64

//go:wasmimport gatehouse body_chunk
func hBodyChunk(buf unsafe.Pointer, limit uint32) int64

//go:wasmimport gatehouse set_body_chunk
func hSetBodyChunk(p unsafe.Pointer, l uint32)

//go:wasmimport gatehouse result
func hResult(buf unsafe.Pointer, limit uint32) int64

//go:wasmimport gatehouse call
func hCall(n unsafe.Pointer, nl uint32, a unsafe.Pointer, al uint32, buf unsafe.Pointer, limit uint32) int64

// str returns the pointer and length of s.
func str(s string) (unsafe.Pointer, uint32) {
	return unsafe.Pointer(unsafe.StringData(s)), uint32(len(s))
}

// bts returns the pointer and length of b.
func bts(b []byte) (unsafe.Pointer, uint32) {
	return unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b))
}

// scratch is the buffer values are pulled into; it grows to the largest
// value read, up to maxScratch, beyond which a value gets a buffer of its
// own.
var scratch = make([]byte, 512)

const maxScratch = 64 << 10

// pull reads a value with an "out" import: the value's bytes (a fresh
// slice), or ok false when the host says it is absent. again reads a
// value that did not fit (the same import for idempotent reads, result
// after call).
func pull(first, again func(buf unsafe.Pointer, limit uint32) int64) ([]byte, bool) {
	n := first(unsafe.Pointer(&scratch[0]), uint32(len(scratch)))
	for {
		switch {
		case n < 0:
			return nil, false
		case n <= int64(len(scratch)):
			return append([]byte(nil), scratch[:n]...), true
		case n <= maxScratch:
			scratch = make([]byte, n)
			n = again(unsafe.Pointer(&scratch[0]), uint32(len(scratch)))
		default:
			b := make([]byte, n)
			m := again(unsafe.Pointer(&b[0]), uint32(len(b)))
			if m == n {
				return b, true
			}
			n = m
		}
	}
}

// pullKeyedString reads a string value of one name or key (a header):
// one copy, from the scratch buffer into the string.
func pullKeyedString(f func(k unsafe.Pointer, kl uint32, buf unsafe.Pointer, limit uint32) int64, key string) (string, bool) {
	kp, kl := str(key)
	n := f(kp, kl, unsafe.Pointer(&scratch[0]), uint32(len(scratch)))
	if n >= 0 && n <= int64(len(scratch)) {
		return string(scratch[:n]), true
	}
	b, ok := pullKeyed(f, key)
	return string(b), ok
}

// pullString reads a string value with an idempotent import.
func pullString(f func(buf unsafe.Pointer, limit uint32) int64) string {
	n := f(unsafe.Pointer(&scratch[0]), uint32(len(scratch)))
	if n >= 0 && n <= int64(len(scratch)) {
		return string(scratch[:n])
	}
	b, _ := pullSame(f)
	return string(b)
}

// pullSame reads with an idempotent import.
func pullSame(f func(buf unsafe.Pointer, limit uint32) int64) ([]byte, bool) { return pull(f, f) }

// pullKeyed reads a value of one name or key.
func pullKeyed(f func(k unsafe.Pointer, kl uint32, buf unsafe.Pointer, limit uint32) int64, key string) ([]byte, bool) {
	kp, kl := str(key)
	g := func(buf unsafe.Pointer, limit uint32) int64 { return f(kp, kl, buf, limit) }
	b, ok := pull(g, g)
	return b, ok
}

// fail hands the host the message of a non-zero export return.
func fail(msg string) {
	p, l := str(msg)
	hFail(p, l)
}

// callRaw runs the generic call import and returns its result.
func callRaw(name string, args []byte) []byte {
	np, nl := str(name)
	ap, al := bts(args)
	first := func(buf unsafe.Pointer, limit uint32) int64 { return hCall(np, nl, ap, al, buf, limit) }
	b, ok := pull(first, hResult)
	if !ok {
		return nil
	}
	return b
}
