//go:build !wasip1

package proxywasm

// Outside wasip1 there is no proxy-wasm host: every host function answers
// StatusUnimplemented, so filters (and their tests, vet and documentation)
// build on any platform. The filter package dispatches natively too, for
// tests that drive a filter's contexts directly.

// Release lets the memory the host allocated for earlier results go.
func Release() {}

// Log sends a message at a level (LogTrace ... LogCritical).
func Log(level uint32, msg string) Status { return StatusUnimplemented }

// LogLevel returns the host's log level.
func LogLevel() (uint32, Status) { return 0, StatusUnimplemented }

// Now returns the host's time in nanoseconds since the epoch.
func Now() (uint64, Status) { return 0, StatusUnimplemented }

// SetTickPeriod asks for proxy_on_tick every ms milliseconds (0 stops).
func SetTickPeriod(ms uint32) Status { return StatusUnimplemented }

// Property reads a property by its dotted path ("request.path").
func Property(path string) ([]byte, Status) { return nil, StatusUnimplemented }

// SetProperty writes a property by its dotted path.
func SetProperty(path, value string) Status { return StatusUnimplemented }

// Buffer reads up to max bytes of a buffer from start.
func Buffer(bt BufferType, start, max uint32) ([]byte, Status) { return nil, StatusUnimplemented }

// SetBuffer replaces size bytes of a buffer at start with data.
func SetBuffer(bt BufferType, start, size uint32, data []byte) Status { return StatusUnimplemented }

// Header returns a header's value in a map.
func Header(mt MapType, name string) (string, Status) { return "", StatusUnimplemented }

// Headers returns a map's pairs.
func Headers(mt MapType) ([][2]string, Status) { return nil, StatusUnimplemented }

// SetHeaders replaces a map with pairs.
func SetHeaders(mt MapType, pairs [][2]string) Status { return StatusUnimplemented }

// AddHeader adds a value to a header.
func AddHeader(mt MapType, name, value string) Status { return StatusUnimplemented }

// ReplaceHeader sets a header to one value.
func ReplaceHeader(mt MapType, name, value string) Status { return StatusUnimplemented }

// RemoveHeader removes a header.
func RemoveHeader(mt MapType, name string) Status { return StatusUnimplemented }

// SendLocalResponse answers the request (nothing is proxied).
func SendLocalResponse(status uint32, body []byte, headers [][2]string) Status {
	return StatusUnimplemented
}

// ContinueStream resumes a paused stream (0 request, 1 response).
func ContinueStream(stream uint32) Status { return StatusUnimplemented }

// CloseStream ends a stream.
func CloseStream(stream uint32) Status { return StatusUnimplemented }

// SharedData returns a key's value and CAS.
func SharedData(key string) ([]byte, uint32, Status) { return nil, 0, StatusUnimplemented }

// SetSharedData stores a value when cas is 0 or the key's current CAS
// (else StatusCasMismatch).
func SetSharedData(key string, value []byte, cas uint32) Status { return StatusUnimplemented }

// HTTPCall dispatches a call to upstream (host:port) with headers
// (including :method, :path, :authority) and body; the answer comes to
// proxy_on_http_call_response with the returned id.
func HTTPCall(upstream string, headers [][2]string, body []byte, timeoutMS uint32) (uint32, Status) {
	return 0, StatusUnimplemented
}

// SetEffectiveContext makes a context the one later calls act on.
func SetEffectiveContext(id uint32) Status { return StatusUnimplemented }

// Done tells the host the filter finished its work (ABI 0.2.x).
func Done() Status { return StatusUnimplemented }

// RegisterQueue registers a shared queue by name and returns its id.
func RegisterQueue(name string) (uint32, Status) { return 0, StatusUnimplemented }

// ResolveQueue finds a shared queue by VM id and name.
func ResolveQueue(vmID, name string) (uint32, Status) { return 0, StatusUnimplemented }

// Enqueue adds data to a shared queue.
func Enqueue(id uint32, data []byte) Status { return StatusUnimplemented }

// Dequeue takes the oldest item of a shared queue (StatusEmpty when none).
func Dequeue(id uint32) ([]byte, Status) { return nil, StatusUnimplemented }

// DefineMetric defines (or finds) a metric by name and returns its id.
func DefineMetric(kind uint32, name string) (uint32, Status) { return 0, StatusUnimplemented }

// IncrementMetric adds delta to a counter or gauge.
func IncrementMetric(id uint32, delta int64) Status { return StatusUnimplemented }

// RecordMetric sets a gauge or records a histogram value.
func RecordMetric(id uint32, v uint64) Status { return StatusUnimplemented }

// Metric reads a metric's value.
func Metric(id uint32) (uint64, Status) { return 0, StatusUnimplemented }
