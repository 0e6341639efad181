// Package proxywasm is a guest library for proxy-wasm filters (ABI
// 0.2.1) written with the standard Go toolchain (GOOS=wasip1,
// go:wasmexport, -buildmode=c-shared): the env host functions as typed Go
// functions, the serialized pairs format, and the memory allocator the host
// calls (proxy_on_memory_allocate). Its filter package exports the ABI's
// callbacks and dispatches them to root and HTTP contexts (a filter is a
// package main registering its root context); a filter may instead export
// the callbacks itself with //go:wasmexport and call this package from
// them (then calling Release at the start of each).
//
// The pairs format and the constants build anywhere; outside wasip1 the
// host functions answer StatusUnimplemented.
package proxywasm

import (
	"encoding/binary"
	"fmt"
)

// Status is a host function's result (the ABI's WasmResult).
type Status uint32

// The statuses.
const (
	StatusOK            Status = 0
	StatusNotFound      Status = 1
	StatusBadArgument   Status = 2
	StatusSerialization Status = 3
	StatusInvalidMemory Status = 6
	StatusEmpty         Status = 7
	StatusCasMismatch   Status = 8
	StatusUnimplemented Status = 12
)

func (s Status) Error() string { return fmt.Sprintf("proxy-wasm status %d", uint32(s)) }

// Err returns nil for StatusOK, else the status as an error.
func (s Status) Err() error {
	if s == StatusOK {
		return nil
	}
	return s
}

// MapType names a header map.
type MapType uint32

// The header maps.
const (
	RequestHeaders          MapType = 0
	RequestTrailers         MapType = 1
	ResponseHeaders         MapType = 2
	ResponseTrailers        MapType = 3
	HTTPCallResponseHeaders MapType = 6
)

// BufferType names a buffer.
type BufferType uint32

// The buffers.
const (
	RequestBody          BufferType = 0
	ResponseBody         BufferType = 1
	HTTPCallResponseBody BufferType = 4
	VMConfiguration      BufferType = 6
	PluginConfiguration  BufferType = 7
)

// Actions a stream callback returns.
const (
	ActionContinue uint32 = 0
	ActionPause    uint32 = 1
)

// Metric types.
const (
	MetricCounter   uint32 = 0
	MetricGauge     uint32 = 1
	MetricHistogram uint32 = 2
)

// Log levels.
const (
	LogTrace uint32 = iota
	LogDebug
	LogInfo
	LogWarn
	LogError
	LogCritical
)

// EncodePairs encodes pairs in the ABI's serialized pairs format.
func EncodePairs(pairs [][2]string) []byte {
	b := make([]byte, 4+8*len(pairs))
	binary.LittleEndian.PutUint32(b, uint32(len(pairs)))
	for i, p := range pairs {
		binary.LittleEndian.PutUint32(b[4+8*i:], uint32(len(p[0])))
		binary.LittleEndian.PutUint32(b[8+8*i:], uint32(len(p[1])))
	}
	for _, p := range pairs {
		b = append(append(append(append(b, p[0]...), 0), p[1]...), 0)
	}
	return b
}

// DecodePairs decodes the serialized pairs format; malformed input is an
// error.
func DecodePairs(b []byte) ([][2]string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) < 4 {
		return nil, fmt.Errorf("pairs: %d bytes, want at least 4", len(b))
	}
	n := binary.LittleEndian.Uint32(b)
	if uint64(n)*8+4 > uint64(len(b)) {
		return nil, fmt.Errorf("pairs: %d pairs do not fit in %d bytes", n, len(b))
	}
	data := b[4+8*n:]
	out := make([][2]string, 0, n)
	for i := uint32(0); i < n; i++ {
		ks := uint64(binary.LittleEndian.Uint32(b[4+8*i:]))
		vs := uint64(binary.LittleEndian.Uint32(b[8+8*i:]))
		if ks+vs+2 > uint64(len(data)) || data[ks] != 0 || data[ks+1+vs] != 0 {
			return nil, fmt.Errorf("pairs: pair %d is malformed", i)
		}
		out = append(out, [2]string{string(data[:ks]), string(data[ks+1 : ks+1+vs])})
		data = data[ks+vs+2:]
	}
	return out, nil
}
