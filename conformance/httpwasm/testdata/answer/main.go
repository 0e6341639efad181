// Command answer is an http-wasm guest written in Go on the raw
// http_handler imports that answers requests itself (it never calls the
// next handler), or misbehaves as the X-Mode header asks:
//
//   - (none): 418 with Content-Type text/plain, two X-A values,
//     X-Features (what enable_features granted of buffer_response and
//     trailers) and the body "short and stout, <method> <uri>" built from
//     what it read;
//   - trap: a Go panic (the instance traps);
//   - loop: an endless loop (the time limit ends it);
//   - oob: get_uri into a buffer outside memory (the host traps the call);
//   - late: next, then a request header set in handle_response (after
//     next: the host traps the call);
//   - body-later: enables buffer_request for the request, calls next, and
//     logs the request body it reads in handle_response.
package main

import "unsafe"

const (
	kindRequest  = 0
	kindResponse = 1
)

//go:wasmimport http_handler enable_features
func enableFeatures(features uint32) uint32

//go:wasmimport http_handler read_body
func readBody(kind, buf, limit uint32) uint64

//go:wasmimport http_handler log
func logMessage(level int32, msg, n uint32)

//go:wasmimport http_handler get_method
func getMethod(buf, limit uint32) uint32

//go:wasmimport http_handler get_uri
func getURI(buf, limit uint32) uint32

//go:wasmimport http_handler get_header_values
func getHeaderValues(kind, name, nameLen, buf, limit uint32) uint64

//go:wasmimport http_handler set_header_value
func setHeaderValue(kind, name, nameLen, value, valueLen uint32)

//go:wasmimport http_handler add_header_value
func addHeaderValue(kind, name, nameLen, value, valueLen uint32)

//go:wasmimport http_handler write_body
func writeBody(kind, buf, n uint32)

//go:wasmimport http_handler set_status_code
func setStatusCode(code uint32)

func ptr(s string) (uint32, uint32) {
	if s == "" {
		return 0, 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.StringData(s)))), uint32(len(s))
}

func pull(get func(buf, limit uint32) uint32) string {
	buf := make([]byte, 256)
	n := get(uint32(uintptr(unsafe.Pointer(&buf[0]))), uint32(len(buf)))
	if int(n) > len(buf) {
		buf = make([]byte, n)
		n = get(uint32(uintptr(unsafe.Pointer(&buf[0]))), uint32(len(buf)))
	}
	return string(buf[:n])
}

func header(name string) string {
	np, nl := ptr(name)
	buf := make([]byte, 256)
	cl := getHeaderValues(kindRequest, np, nl, uint32(uintptr(unsafe.Pointer(&buf[0]))), uint32(len(buf)))
	if cl>>32 == 0 || int(uint32(cl)) > len(buf) {
		return ""
	}
	n := uint32(cl)
	for i := uint32(0); i < n; i++ {
		if buf[i] == 0 {
			return string(buf[:i])
		}
	}
	return string(buf[:n])
}

func set(kind uint32, name, value string) {
	np, nl := ptr(name)
	vp, vl := ptr(value)
	setHeaderValue(kind, np, nl, vp, vl)
}

var spin uint64

//go:wasmexport handle_request
func handleRequest() uint64 {
	switch header("X-Mode") {
	case "trap":
		panic("the guest gave up")
	case "loop":
		for {
			spin++
		}
	case "oob":
		getURI(0xfffffff0, 64)
	case "late":
		return 1
	case "body-later":
		enableFeatures(1) // buffer_request, for this request
		return 1
	}
	setStatusCode(418)
	// buffer_response and trailers, asked for during a request of a
	// plugin whose handle_response runs in header_filter: neither granted
	set(kindResponse, "X-Features", string(rune('0'+enableFeatures(2|4))))
	set(kindResponse, "Content-Type", "text/plain")
	np, nl := ptr("X-A")
	for _, v := range []string{"1", "2"} {
		vp, vl := ptr(v)
		addHeaderValue(kindResponse, np, nl, vp, vl)
	}
	b := "short and stout, " + pull(getMethod) + " " + pull(getURI)
	p, n := ptr(b)
	writeBody(kindResponse, p, n)
	return 0
}

//go:wasmexport handle_response
func handleResponse(reqCtx, isError uint32) {
	switch header("X-Mode") {
	case "late":
		set(kindRequest, "X-Too-Late", "1")
		return
	case "body-later":
		buf := make([]byte, 64)
		r := readBody(kindRequest, uint32(uintptr(unsafe.Pointer(&buf[0]))), uint32(len(buf)))
		msg := "body after next: " + string(buf[:uint32(r)])
		p, n := ptr(msg)
		logMessage(0, p, n)
		return
	}
	panic("handle_response must not run when handle_request answered")
}

func main() {}
