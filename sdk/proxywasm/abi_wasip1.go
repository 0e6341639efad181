//go:build wasip1

package proxywasm

import (
	"runtime"
	"strings"
	"unsafe"
)

//go:wasmimport env proxy_log
func proxyLog(level, p, n uint32) uint32

//go:wasmimport env proxy_get_log_level
func proxyGetLogLevel(rp uint32) uint32

//go:wasmimport env proxy_get_current_time_nanoseconds
func proxyGetCurrentTime(rp uint32) uint32

//go:wasmimport env proxy_set_tick_period_milliseconds
func proxySetTickPeriod(ms uint32) uint32

//go:wasmimport env proxy_get_property
func proxyGetProperty(pp, ps, rp, rs uint32) uint32

//go:wasmimport env proxy_set_property
func proxySetProperty(pp, ps, vp, vs uint32) uint32

//go:wasmimport env proxy_get_buffer_bytes
func proxyGetBufferBytes(bt, start, max, rp, rs uint32) uint32

//go:wasmimport env proxy_set_buffer_bytes
func proxySetBufferBytes(bt, start, size, p, n uint32) uint32

//go:wasmimport env proxy_get_header_map_pairs
func proxyGetHeaderMapPairs(mt, rp, rs uint32) uint32

//go:wasmimport env proxy_set_header_map_pairs
func proxySetHeaderMapPairs(mt, p, n uint32) uint32

//go:wasmimport env proxy_get_header_map_value
func proxyGetHeaderMapValue(mt, kp, ks, rp, rs uint32) uint32

//go:wasmimport env proxy_add_header_map_value
func proxyAddHeaderMapValue(mt, kp, ks, vp, vs uint32) uint32

//go:wasmimport env proxy_replace_header_map_value
func proxyReplaceHeaderMapValue(mt, kp, ks, vp, vs uint32) uint32

//go:wasmimport env proxy_remove_header_map_value
func proxyRemoveHeaderMapValue(mt, kp, ks uint32) uint32

//go:wasmimport env proxy_send_local_response
func proxySendLocalResponse(status, dp, ds, bp, bs, hp, hs uint32, grpc int32) uint32

//go:wasmimport env proxy_continue_stream
func proxyContinueStream(st uint32) uint32

//go:wasmimport env proxy_close_stream
func proxyCloseStream(st uint32) uint32

//go:wasmimport env proxy_get_shared_data
func proxyGetSharedData(kp, ks, rp, rs, casp uint32) uint32

//go:wasmimport env proxy_set_shared_data
func proxySetSharedData(kp, ks, vp, vs, cas uint32) uint32

//go:wasmimport env proxy_http_call
func proxyHTTPCall(up, us, hp, hs, bp, bs, tp, ts, timeout, rid uint32) uint32

//go:wasmimport env proxy_register_shared_queue
func proxyRegisterSharedQueue(np, ns, rid uint32) uint32

//go:wasmimport env proxy_resolve_shared_queue
func proxyResolveSharedQueue(vp, vs, np, ns, rid uint32) uint32

//go:wasmimport env proxy_enqueue_shared_queue
func proxyEnqueueSharedQueue(id, p, n uint32) uint32

//go:wasmimport env proxy_dequeue_shared_queue
func proxyDequeueSharedQueue(id, rp, rs uint32) uint32

//go:wasmimport env proxy_define_metric
func proxyDefineMetric(kind, np, ns, rid uint32) uint32

//go:wasmimport env proxy_increment_metric
func proxyIncrementMetric(id uint32, delta int64) uint32

//go:wasmimport env proxy_record_metric
func proxyRecordMetric(id uint32, v uint64) uint32

//go:wasmimport env proxy_get_metric
func proxyGetMetric(id, rp uint32) uint32

//go:wasmimport env proxy_set_effective_context
func proxySetEffectiveContext(id uint32) uint32

//go:wasmimport env proxy_done
func proxyDone() uint32

// slots are the return slots host functions write: globals, since a
// goroutine's stack may move while the host calls back into the guest to
// allocate.
var slots [3]uint32

func slot(i int) uint32 { return uint32(uintptr(unsafe.Pointer(&slots[i]))) }

// pins keeps the memory handed to the host alive until Release.
var pins [][]byte

//go:wasmexport proxy_on_memory_allocate
func allocate(n uint32) uint32 {
	if n == 0 {
		n = 1
	}
	b := make([]byte, n)
	pins = append(pins, b)
	return uint32(uintptr(unsafe.Pointer(&b[0])))
}

// Release lets the memory the host allocated for earlier results go
// (call it at the start of each callback; results are copied out).
func Release() { pins = pins[:0] }

func bptr(b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(&b[0])))
}

func sptr(s string) uint32 {
	if s == "" {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.StringData(s))))
}

// result copies the bytes the host returned in slots 0 and 1.
func result() []byte {
	p, n := slots[0], slots[1]
	if n == 0 {
		return nil
	}
	// the host wrote the result at p, in memory proxy_on_memory_allocate
	// handed out (pinned): an address in linear memory, not a Go pointer
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Add(nil, uintptr(p))), n)...)
}

// Log sends a message at a level (LogTrace ... LogCritical).
func Log(level uint32, msg string) Status {
	defer keep(msg)
	return Status(proxyLog(level, sptr(msg), uint32(len(msg))))
}

// LogLevel returns the host's log level.
func LogLevel() (uint32, Status) {
	st := Status(proxyGetLogLevel(slot(0)))
	return slots[0], st
}

// Now returns the host's time in nanoseconds since the epoch.
func Now() (uint64, Status) {
	st := Status(proxyGetCurrentTime(uint32(uintptr(unsafe.Pointer(&nowSlot)))))
	return nowSlot, st
}

var nowSlot uint64

// SetTickPeriod asks for proxy_on_tick every ms milliseconds (0 stops).
func SetTickPeriod(ms uint32) Status { return Status(proxySetTickPeriod(ms)) }

// Property reads a property by its dotted path ("request.path").
func Property(path string) ([]byte, Status) {
	p := strings.ReplaceAll(path, ".", "\x00")
	defer keep(p)
	slots = [3]uint32{}
	if st := Status(proxyGetProperty(sptr(p), uint32(len(p)), slot(0), slot(1))); st != StatusOK {
		return nil, st
	}
	return result(), StatusOK
}

// SetProperty writes a property by its dotted path.
func SetProperty(path, value string) Status {
	p := strings.ReplaceAll(path, ".", "\x00")
	defer keep(p, value)
	return Status(proxySetProperty(sptr(p), uint32(len(p)), sptr(value), uint32(len(value))))
}

// Buffer reads up to max bytes of a buffer from start.
func Buffer(bt BufferType, start, max uint32) ([]byte, Status) {
	slots = [3]uint32{}
	if st := Status(proxyGetBufferBytes(uint32(bt), start, max, slot(0), slot(1))); st != StatusOK {
		return nil, st
	}
	return result(), StatusOK
}

// SetBuffer replaces size bytes of a buffer at start with data.
func SetBuffer(bt BufferType, start, size uint32, data []byte) Status {
	defer keep(data)
	return Status(proxySetBufferBytes(uint32(bt), start, size, bptr(data), uint32(len(data))))
}

// Header returns a header's value in a map.
func Header(mt MapType, name string) (string, Status) {
	defer keep(name)
	slots = [3]uint32{}
	if st := Status(proxyGetHeaderMapValue(uint32(mt), sptr(name), uint32(len(name)), slot(0), slot(1))); st != StatusOK {
		return "", st
	}
	return string(result()), StatusOK
}

// Headers returns a map's pairs.
func Headers(mt MapType) ([][2]string, Status) {
	slots = [3]uint32{}
	if st := Status(proxyGetHeaderMapPairs(uint32(mt), slot(0), slot(1))); st != StatusOK {
		return nil, st
	}
	pairs, err := DecodePairs(result())
	if err != nil {
		return nil, StatusSerialization
	}
	return pairs, StatusOK
}

// SetHeaders replaces a map with pairs.
func SetHeaders(mt MapType, pairs [][2]string) Status {
	b := EncodePairs(pairs)
	defer keep(b)
	return Status(proxySetHeaderMapPairs(uint32(mt), bptr(b), uint32(len(b))))
}

// AddHeader adds a value to a header.
func AddHeader(mt MapType, name, value string) Status {
	defer keep(name, value)
	return Status(proxyAddHeaderMapValue(uint32(mt), sptr(name), uint32(len(name)), sptr(value), uint32(len(value))))
}

// ReplaceHeader sets a header to one value.
func ReplaceHeader(mt MapType, name, value string) Status {
	defer keep(name, value)
	return Status(proxyReplaceHeaderMapValue(uint32(mt), sptr(name), uint32(len(name)), sptr(value), uint32(len(value))))
}

// RemoveHeader removes a header.
func RemoveHeader(mt MapType, name string) Status {
	defer keep(name)
	return Status(proxyRemoveHeaderMapValue(uint32(mt), sptr(name), uint32(len(name))))
}

// SendLocalResponse answers the request (nothing is proxied).
func SendLocalResponse(status uint32, body []byte, headers [][2]string) Status {
	h := EncodePairs(headers)
	defer keep(body, h)
	return Status(proxySendLocalResponse(status, 0, 0, bptr(body), uint32(len(body)), bptr(h), uint32(len(h)), -1))
}

// ContinueStream resumes a paused stream (0 request, 1 response).
func ContinueStream(stream uint32) Status { return Status(proxyContinueStream(stream)) }

// CloseStream ends a stream.
func CloseStream(stream uint32) Status { return Status(proxyCloseStream(stream)) }

// SharedData returns a key's value and CAS.
func SharedData(key string) ([]byte, uint32, Status) {
	defer keep(key)
	slots = [3]uint32{}
	if st := Status(proxyGetSharedData(sptr(key), uint32(len(key)), slot(0), slot(1), slot(2))); st != StatusOK {
		return nil, 0, st
	}
	cas := slots[2]
	return result(), cas, StatusOK
}

// SetSharedData stores a value when cas is 0 or the key's current CAS
// (else StatusCasMismatch).
func SetSharedData(key string, value []byte, cas uint32) Status {
	defer keep(key, value)
	return Status(proxySetSharedData(sptr(key), uint32(len(key)), bptr(value), uint32(len(value)), cas))
}

// HTTPCall dispatches a call to upstream (host:port) with headers
// (including :method, :path, :authority) and body; the answer comes to
// proxy_on_http_call_response with the returned id.
func HTTPCall(upstream string, headers [][2]string, body []byte, timeoutMS uint32) (uint32, Status) {
	h := EncodePairs(headers)
	defer keep(upstream, h, body)
	st := Status(proxyHTTPCall(sptr(upstream), uint32(len(upstream)), bptr(h), uint32(len(h)), bptr(body), uint32(len(body)), 0, 0, timeoutMS, slot(0)))
	return slots[0], st
}

// SetEffectiveContext makes a context the one later calls act on.
func SetEffectiveContext(id uint32) Status { return Status(proxySetEffectiveContext(id)) }

// Done tells the host the filter finished its work (ABI 0.2.x).
func Done() Status { return Status(proxyDone()) }

// keep keeps the memory handed to a host function alive until the calling
// function returns (the host may call back into the guest, which may
// collect garbage).
func keep(vs ...any) {
	for _, v := range vs {
		runtime.KeepAlive(v)
	}
}

// RegisterQueue registers a shared queue by name (this instance's root
// context gets proxy_on_queue_ready) and returns its id.
func RegisterQueue(name string) (uint32, Status) {
	defer keep(name)
	st := Status(proxyRegisterSharedQueue(sptr(name), uint32(len(name)), slot(0)))
	return slots[0], st
}

// ResolveQueue finds a shared queue by VM id ("" for the host's one VM)
// and name.
func ResolveQueue(vmID, name string) (uint32, Status) {
	defer keep(vmID, name)
	st := Status(proxyResolveSharedQueue(sptr(vmID), uint32(len(vmID)), sptr(name), uint32(len(name)), slot(0)))
	return slots[0], st
}

// Enqueue adds data to a shared queue.
func Enqueue(id uint32, data []byte) Status {
	defer keep(data)
	return Status(proxyEnqueueSharedQueue(id, bptr(data), uint32(len(data))))
}

// Dequeue takes the oldest item of a shared queue (StatusEmpty when none).
func Dequeue(id uint32) ([]byte, Status) {
	slots = [3]uint32{}
	if st := Status(proxyDequeueSharedQueue(id, slot(0), slot(1))); st != StatusOK {
		return nil, st
	}
	return result(), StatusOK
}

// DefineMetric defines (or finds) a metric by name and returns its id.
func DefineMetric(kind uint32, name string) (uint32, Status) {
	defer keep(name)
	st := Status(proxyDefineMetric(kind, sptr(name), uint32(len(name)), slot(0)))
	return slots[0], st
}

// IncrementMetric adds delta to a counter or gauge.
func IncrementMetric(id uint32, delta int64) Status { return Status(proxyIncrementMetric(id, delta)) }

// RecordMetric sets a gauge or records a histogram value.
func RecordMetric(id uint32, v uint64) Status { return Status(proxyRecordMetric(id, v)) }

var metricSlot uint64

// Metric reads a metric's value.
func Metric(id uint32) (uint64, Status) {
	st := Status(proxyGetMetric(id, uint32(uintptr(unsafe.Pointer(&metricSlot)))))
	return metricSlot, st
}
