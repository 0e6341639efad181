// Command rewrite is an http-wasm guest written in Go on the raw
// http_handler imports. It enables buffer_response when it starts, so
// handle_response runs with the whole upstream response.
//
// handle_request: the request header X-In becomes X-Rewritten (value
// "<in>-rw") sent upstream, X-Multi gets two values, X-Drop is removed,
// X-Config carries the guest's configuration; the guest then reads its own
// changes back and reports them in response headers (X-Saw, X-Names);
// a path of /rw/uri is replaced by /changed?from=guest. It returns a
// request context made of the X-Ctx header (a number) for handle_response.
//
// handle_response: X-Req-Ctx reports the context it got, X-Status-Seen
// the upstream's status; the body becomes "wrapped(<body>)" and the status
// 201.
package main

import (
	"strconv"
	"strings"
	"unsafe"
)

const (
	kindRequest           = 0
	kindResponse          = 1
	featureBufferResponse = 2
)

//go:wasmimport http_handler enable_features
func enableFeatures(features uint32) uint32

//go:wasmimport http_handler get_config
func getConfig(buf, limit uint32) uint32

//go:wasmimport http_handler get_uri
func getURI(buf, limit uint32) uint32

//go:wasmimport http_handler set_uri
func setURI(ptr, n uint32)

//go:wasmimport http_handler get_header_names
func getHeaderNames(kind, buf, limit uint32) uint64

//go:wasmimport http_handler get_header_values
func getHeaderValues(kind, name, nameLen, buf, limit uint32) uint64

//go:wasmimport http_handler set_header_value
func setHeaderValue(kind, name, nameLen, value, valueLen uint32)

//go:wasmimport http_handler add_header_value
func addHeaderValue(kind, name, nameLen, value, valueLen uint32)

//go:wasmimport http_handler remove_header
func removeHeader(kind, name, nameLen uint32)

//go:wasmimport http_handler read_body
func readBody(kind, buf, limit uint32) uint64

//go:wasmimport http_handler write_body
func writeBody(kind, buf, n uint32)

//go:wasmimport http_handler get_status_code
func getStatusCode() uint32

//go:wasmimport http_handler set_status_code
func setStatusCode(code uint32)

func ptr(s string) (uint32, uint32) {
	if s == "" {
		return 0, 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.StringData(s)))), uint32(len(s))
}

func bptr(b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(&b[0])))
}

// pull reads a value by the host's "length, then again with room" rule.
func pull(get func(buf, limit uint32) uint32) string {
	buf := make([]byte, 64)
	n := get(bptr(buf), uint32(len(buf)))
	if int(n) > len(buf) {
		buf = make([]byte, n)
		n = get(bptr(buf), uint32(len(buf)))
	}
	return string(buf[:n])
}

// list reads a NUL-terminated list (count<<32 | length).
func list(get func(buf, limit uint32) uint64) []string {
	buf := make([]byte, 64)
	cl := get(bptr(buf), uint32(len(buf)))
	if n := uint32(cl); int(n) > len(buf) {
		buf = make([]byte, n)
		cl = get(bptr(buf), uint32(len(buf)))
	}
	count, n := uint32(cl>>32), uint32(cl)
	if count == 0 {
		return nil
	}
	return strings.Split(string(buf[:n-1]), "\x00")
}

func values(kind uint32, name string) []string {
	np, nl := ptr(name)
	return list(func(buf, limit uint32) uint64 { return getHeaderValues(kind, np, nl, buf, limit) })
}

func set(kind uint32, name, value string) {
	np, nl := ptr(name)
	vp, vl := ptr(value)
	setHeaderValue(kind, np, nl, vp, vl)
}

func add(kind uint32, name, value string) {
	np, nl := ptr(name)
	vp, vl := ptr(value)
	addHeaderValue(kind, np, nl, vp, vl)
}

func remove(kind uint32, name string) {
	np, nl := ptr(name)
	removeHeader(kind, np, nl)
}

func body(kind uint32) string {
	var out []byte
	buf := make([]byte, 7) // small on purpose: several reads
	for {
		r := readBody(kind, bptr(buf), uint32(len(buf)))
		out = append(out, buf[:uint32(r)]...)
		if r>>32 == 1 {
			return string(out)
		}
	}
}

func init() {
	enableFeatures(featureBufferResponse)
}

//go:wasmexport handle_request
func handleRequest() uint64 {
	in := values(kindRequest, "X-In")
	if len(in) == 1 {
		set(kindRequest, "X-Rewritten", in[0]+"-rw")
	}
	add(kindRequest, "X-Multi", "a")
	add(kindRequest, "X-Multi", "b")
	remove(kindRequest, "X-Drop")
	set(kindRequest, "X-Config", pull(getConfig))

	// the guest's own changes, read back
	set(kindResponse, "X-Saw", strings.Join(values(kindRequest, "x-rewritten"), ",")+"|"+
		strings.Join(values(kindRequest, "x-multi"), ",")+"|"+strconv.Itoa(len(values(kindRequest, "x-drop"))))
	names := list(func(buf, limit uint32) uint64 { return getHeaderNames(kindRequest, buf, limit) })
	var picked []string
	for _, n := range names {
		if n == "x-rewritten" || n == "x-drop" || n == "x-multi" {
			picked = append(picked, n)
		}
	}
	set(kindResponse, "X-Names", strings.Join(picked, ","))
	if uri := pull(getURI); strings.HasPrefix(uri, "/rw/uri") {
		p, n := ptr("/changed?from=guest")
		setURI(p, n)
		set(kindResponse, "X-Uri-Was", uri)
		set(kindResponse, "X-Uri-Now", pull(getURI))
	}
	var ctx uint64
	if v := values(kindRequest, "X-Ctx"); len(v) == 1 {
		n, _ := strconv.ParseUint(v[0], 10, 32)
		ctx = n
	}
	return ctx<<32 | 1
}

//go:wasmexport handle_response
func handleResponse(reqCtx, isError uint32) {
	set(kindResponse, "X-Req-Ctx", strconv.FormatUint(uint64(reqCtx), 10))
	set(kindResponse, "X-Status-Seen", strconv.FormatUint(uint64(getStatusCode()), 10))
	b := "wrapped(" + body(kindResponse) + ")"
	p, n := ptr(b)
	writeBody(kindResponse, p, n)
	setStatusCode(201)
}

func main() {}
