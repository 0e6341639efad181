package hostabi

import (
	"fmt"
	"strconv"
	"strings"
)

// The Wasm mapping of the ABI (ABI.md, "The Wasm mapping"): the names the
// host (plugins-wasm) and the guest SDK (sdk/) share. Everything here is
// plain data so that the package compiles for GOOS=wasip1 as well.

// WasmImportModule is the import module of the Gatehouse host functions.
const WasmImportModule = "gatehouse"

// WasmMemoryExport is the guest's exported linear memory.
const WasmMemoryExport = "memory"

// The guest's exports. Only WasmExportABIVersion is required; the host
// calls a phase export only when the guest exports it (and, when describe
// lists phases, only those).
const (
	// WasmExportABIVersion is `() -> i64`: the packed version
	// (WasmVersion) of the ABI the guest was built against.
	WasmExportABIVersion = "gatehouse_abi_version"
	// WasmExportInitialize is the reactor's `_initialize`, called once
	// after instantiation when exported.
	WasmExportInitialize = "_initialize"
	// WasmExportDescribe is `() -> i32`: the guest calls set_result with
	// its WasmDescription as JSON and returns 0.
	WasmExportDescribe = "describe"
	// WasmExportConfigure is `() -> i32`: the guest reads its
	// configuration with get_config; 0 accepts it, non-zero refuses it
	// with the message given to fail.
	WasmExportConfigure = "configure"
	// The request phases, `() -> i32` (0 ok, non-zero failed).
	WasmExportRewrite      = "rewrite"
	WasmExportAccess       = "access"
	WasmExportResponse     = "response"
	WasmExportHeaderFilter = "header_filter"
	WasmExportLog          = "log"
	// WasmExportBodyFilter is `(eof i32) -> i32`.
	WasmExportBodyFilter = "body_filter"
	// WasmExportTimer is `(id i64) -> i32`: runs a kong.timer.at callback.
	WasmExportTimer = "timer"
)

// WasmPhaseExport returns the export that runs phase p ("" for a phase
// that is not a request phase).
func WasmPhaseExport(p Phase) string {
	switch p {
	case PhaseRewrite:
		return WasmExportRewrite
	case PhaseAccess:
		return WasmExportAccess
	case PhaseResponse:
		return WasmExportResponse
	case PhaseHeaderFilter:
		return WasmExportHeaderFilter
	case PhaseBodyFilter:
		return WasmExportBodyFilter
	case PhaseLog:
		return WasmExportLog
	}
	return ""
}

// PhaseByName returns the phase Kong calls name ("access"), and false for
// an unknown name.
func PhaseByName(name string) (Phase, bool) {
	for p := PhaseRewrite; p <= PhaseConfigure; p++ {
		if p.String() == name {
			return p, true
		}
	}
	return 0, false
}

// The host functions of WasmImportModule. Pointers and lengths are i32
// offsets into the guest's memory; "out" functions take (buf, limit) and
// return an i64: the value's full length, written to buf only when it is
// <= limit, or WasmAbsent.
const (
	// Fast paths, no JSON.
	WasmImportRequestGetHeader          = "request_get_header"           // (n, nl, buf, limit) -> i64
	WasmImportRequestGetMethod          = "request_get_method"           // (buf, limit) -> i64
	WasmImportRequestGetPath            = "request_get_path"             // (buf, limit) -> i64
	WasmImportRequestGetRawBody         = "request_get_raw_body"         // (buf, limit) -> i64
	WasmImportServiceRequestSetHeader   = "service_request_set_header"   // (n, nl, v, vl)
	WasmImportServiceRequestAddHeader   = "service_request_add_header"   // (n, nl, v, vl)
	WasmImportServiceRequestClearHeader = "service_request_clear_header" // (n, nl)
	WasmImportServiceRequestSetRawBody  = "service_request_set_raw_body" // (p, l)
	WasmImportResponseGetStatus         = "response_get_status"          // () -> i32
	WasmImportResponseSetStatus         = "response_set_status"          // (status)
	WasmImportResponseGetHeader         = "response_get_header"          // (n, nl, buf, limit) -> i64
	WasmImportResponseSetHeader         = "response_set_header"          // (n, nl, v, vl)
	WasmImportResponseAddHeader         = "response_add_header"          // (n, nl, v, vl)
	WasmImportResponseClearHeader       = "response_clear_header"        // (n, nl)
	WasmImportResponseGetRawBody        = "response_get_raw_body"        // (buf, limit) -> i64
	WasmImportResponseSetRawBody        = "response_set_raw_body"        // (p, l)
	WasmImportResponseExit              = "response_exit"                // (status, b, bl, h, hl)
	WasmImportCtxSharedGet              = "ctx_shared_get"               // (k, kl, buf, limit) -> i64
	WasmImportCtxSharedSet              = "ctx_shared_set"               // (k, kl, v, vl); vl 0 deletes
	WasmImportCtxPluginGet              = "ctx_plugin_get"               // (k, kl, buf, limit) -> i64
	WasmImportCtxPluginSet              = "ctx_plugin_set"               // (k, kl, v, vl); vl 0 deletes
	WasmImportCacheGet                  = "cache_get"                    // (k, kl, buf, limit) -> i64
	WasmImportCacheSet                  = "cache_set"                    // (k, kl, v, vl, ttl_ms i64)
	WasmImportLog                       = "log"                          // (level, m, ml)

	// Plumbing.
	WasmImportFail         = "fail"           // (m, ml)
	WasmImportSetResult    = "set_result"     // (p, l), in describe
	WasmImportGetConfig    = "get_config"     // (buf, limit) -> i64, in configure
	WasmImportBodyChunk    = "body_chunk"     // (buf, limit) -> i64, in body_filter
	WasmImportSetBodyChunk = "set_body_chunk" // (p, l), in body_filter
	WasmImportResult       = "result"         // (buf, limit) -> i64: the last call's result

	// WasmImportCall is the generic path: (name, nl, args, al, buf, limit) -> i64.
	WasmImportCall = "call"
)

// WasmAbsent is what an "out" import returns for an absent value (nil).
const WasmAbsent int64 = -1

// WasmLogLevel is the level argument of the log import.
type WasmLogLevel int32

// The log levels of the log import.
const (
	WasmLogDebug  WasmLogLevel = 0
	WasmLogInfo   WasmLogLevel = 1
	WasmLogNotice WasmLogLevel = 2
	WasmLogWarn   WasmLogLevel = 3
	WasmLogErr    WasmLogLevel = 4
	WasmLogCrit   WasmLogLevel = 5
)

var wasmLogLevelNames = [...]string{"debug", "info", "notice", "warn", "err", "crit"}

// String returns Kong's name of the level ("warn"), or "" when invalid.
func (l WasmLogLevel) String() string {
	if l >= 0 && int(l) < len(wasmLogLevelNames) {
		return wasmLogLevelNames[l]
	}
	return ""
}

// WasmLogLevelByName returns the level Kong calls name; the generic
// "kong.log" call takes the name as its first argument.
func WasmLogLevelByName(name string) (WasmLogLevel, bool) {
	for i, n := range wasmLogLevelNames {
		if n == name {
			return WasmLogLevel(i), true
		}
	}
	return 0, false
}

// PackWasmVersion packs a version as gatehouse_abi_version returns it:
// major<<32 | minor<<16 | patch.
func PackWasmVersion(major, minor, patch uint16) uint64 {
	return uint64(major)<<32 | uint64(minor)<<16 | uint64(patch)
}

// UnpackWasmVersion is the inverse of PackWasmVersion.
func UnpackWasmVersion(v uint64) (major, minor, patch uint16) {
	return uint16(v >> 32), uint16(v >> 16), uint16(v)
}

// FormatWasmVersion renders a packed version as "2.5.0".
func FormatWasmVersion(v uint64) string {
	ma, mi, pa := UnpackWasmVersion(v)
	return fmt.Sprintf("%d.%d.%d", ma, mi, pa)
}

// ParseVersion packs a "major.minor.patch" version string.
func ParseVersion(s string) (uint64, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return 0, fmt.Errorf("version %q: want major.minor.patch", s)
	}
	var n [3]uint16
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return 0, fmt.Errorf("version %q: %w", s, err)
		}
		n[i] = uint16(v)
	}
	return PackWasmVersion(n[0], n[1], n[2]), nil
}

// WasmABIVersion is Version packed (what a guest built against this
// package returns from gatehouse_abi_version).
func WasmABIVersion() uint64 {
	v, err := ParseVersion(Version)
	if err != nil {
		panic(err) // Version is a constant of this package
	}
	return v
}

// CheckWasmVersion reports whether a guest built for the packed version
// guest can run on this host: same major, and a minor no newer than the
// host's. The error reads "built for Gatehouse ABI 3.0.0; this host speaks
// 2.5.0"; the host prefixes the module's file name.
func CheckWasmVersion(guest uint64) error {
	host := WasmABIVersion()
	gma, gmi, _ := UnpackWasmVersion(guest)
	hma, hmi, _ := UnpackWasmVersion(host)
	if gma != hma || gmi > hmi {
		return fmt.Errorf("built for Gatehouse ABI %s; this host speaks %s", FormatWasmVersion(guest), Version)
	}
	return nil
}

// WasmDescription is the JSON a guest's describe export hands to
// set_result.
type WasmDescription struct {
	// Version is the plugin's version ("1.0.0").
	Version string `json:"version"`
	// Priority is the plugin's default priority (the plugin entity's
	// ordering still applies).
	Priority int `json:"priority"`
	// Phases are Kong's names of the phases the plugin runs in; empty:
	// every phase the guest exports.
	Phases []string `json:"phases,omitempty"`
	// Config is the Kong schema record of the configuration:
	// {"type":"record","fields":[{"name":{...}},...]}; nil: no fields.
	Config map[string]any `json:"config,omitempty"`
	// Protocols restricts the protocols the plugin may be configured for
	// (Kong's protocols field default); empty: Kong's default.
	Protocols []string `json:"protocols,omitempty"`
	// NoConsumer forbids scoping the plugin to a consumer.
	NoConsumer bool `json:"no_consumer,omitempty"`
}

// WasmCallError is the result of a call whose Go method returned an
// error: {"error":{"message":...}}; a *DBError adds code, name, fields.
type WasmCallError struct {
	Error WasmError `json:"error"`
}

// WasmError is the error object of WasmCallError.
type WasmError struct {
	Message string         `json:"message"`
	Code    int            `json:"code,omitempty"`
	Name    string         `json:"name,omitempty"`
	Fields  map[string]any `json:"fields,omitempty"`
}

// WasmHTTPRequest is the JSON form of HTTPRequest in the kong.http.do call
// (timeout in seconds, body as a string).
type WasmHTTPRequest struct {
	Method  string              `json:"method"`
	URL     string              `json:"url"`
	Header  map[string][]string `json:"headers,omitempty"`
	Body    string              `json:"body,omitempty"`
	Timeout float64             `json:"timeout,omitempty"`
}

// WasmHTTPResponse is the JSON form of HTTPResponse in kong.http.do's
// result.
type WasmHTTPResponse struct {
	Status int                 `json:"status"`
	Header map[string][]string `json:"headers"`
	Body   string              `json:"body"`
}

// WasmPageQuery is the JSON form of PageQuery in the kong.db.page call.
type WasmPageQuery struct {
	Size         int      `json:"size,omitempty"`
	Offset       string   `json:"offset,omitempty"`
	Tags         []string `json:"tags,omitempty"`
	TagsAny      bool     `json:"tags_any,omitempty"`
	ForeignField string   `json:"foreign_field,omitempty"`
	ForeignKey   string   `json:"foreign_key,omitempty"`
}

// WasmWriteOptions is the JSON form of WriteOptions in kong.db writes.
type WasmWriteOptions struct {
	TTL int64 `json:"ttl,omitempty"`
}
