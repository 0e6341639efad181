// Command filter is a proxy-wasm filter for the conformance tests, on the
// raw env imports of the ABI (standard Go, GOOS=wasip1): its JSON
// configuration says what it does to each request.
package main

import (
	"encoding/binary"
	"encoding/json"
	"runtime"
	"strconv"
	"strings"
	"unsafe"
)

//go:wasmimport env proxy_log
func proxyLog(level, p, n uint32) uint32

//go:wasmimport env proxy_get_buffer_bytes
func getBufferBytes(bt, start, max, rp, rs uint32) uint32

//go:wasmimport env proxy_set_buffer_bytes
func setBufferBytes(bt, start, size, p, n uint32) uint32

//go:wasmimport env proxy_get_header_map_value
func getHeaderMapValue(mt, kp, ks, rp, rs uint32) uint32

//go:wasmimport env proxy_get_header_map_pairs
func getHeaderMapPairs(mt, rp, rs uint32) uint32

//go:wasmimport env proxy_set_header_map_pairs
func setHeaderMapPairs(mt, p, n uint32) uint32

//go:wasmimport env proxy_add_header_map_value
func addHeaderMapValue(mt, kp, ks, vp, vs uint32) uint32

//go:wasmimport env proxy_replace_header_map_value
func replaceHeaderMapValue(mt, kp, ks, vp, vs uint32) uint32

//go:wasmimport env proxy_remove_header_map_value
func removeHeaderMapValue(mt, kp, ks uint32) uint32

//go:wasmimport env proxy_send_local_response
func sendLocalResponse(status, dp, ds, bp, bs, hp, hs uint32, grpc int32) uint32

//go:wasmimport env proxy_get_property
func getProperty(pp, ps, rp, rs uint32) uint32

//go:wasmimport env proxy_set_tick_period_milliseconds
func setTickPeriod(ms uint32) uint32

//go:wasmimport env proxy_get_shared_data
func getSharedData(kp, ks, rp, rs, casp uint32) uint32

//go:wasmimport env proxy_set_shared_data
func setSharedData(kp, ks, vp, vs, cas uint32) uint32

//go:wasmimport env proxy_get_current_time_nanoseconds
func currentTime(p uint32) uint32

//go:wasmimport env proxy_http_call
func httpCall(up, us, hp, hs, bp, bs, tp, ts, timeout, rid uint32) uint32

//go:wasmimport env proxy_continue_stream
func continueStream(st uint32) uint32

// config is what the filter does.
type config struct {
	AddReq      map[string]string `json:"add_req"`
	ReplaceReq  map[string]string `json:"replace_req"`
	RemoveReq   []string          `json:"remove_req"`
	AddResp     map[string]string `json:"add_resp"`
	ReplaceResp map[string]string `json:"replace_resp"`
	RemoveResp  []string          `json:"remove_resp"`
	// SetReqPairs replaces the request's header map with its own pairs
	// plus every header it had except x-drop.
	SetReqPairs  bool     `json:"set_req_pairs"`
	ReqBodyAdd   string   `json:"req_body_suffix"`
	RespBodyAdd  string   `json:"resp_body_prefix"`
	DenyHeader   string   `json:"deny_header"`
	Props        []string `json:"props"`
	Trap         string   `json:"trap"`
	Tick         uint32   `json:"tick_ms"`
	CountKey     string   `json:"count_key"`
	EchoMethodTo string   `json:"echo_method_to"`
	// CallUpstream (host:port): the request waits (Pause) on a call of
	// GET CallPath?user=<x-user>; a 200 adds its body as x-call and
	// resumes, anything else (or a failed call) answers 403.
	CallUpstream string `json:"call_upstream"`
	CallPath     string `json:"call_path"`
	// LogCountKey counts the proxy_on_log calls in shared data.
	LogCountKey string `json:"log_count_key"`
}

var (
	now   uint64
	slots [3]uint32
	cfg   config
	pins  [][]byte
)

func ptr(b []byte) uint32 {
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

func view(p, n uint32) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(uintptr(p))), n)
}

//go:wasmexport proxy_on_memory_allocate
func allocate(n uint32) uint32 {
	b := make([]byte, n)
	pins = append(pins, b)
	return ptr(b)
}

//go:wasmexport proxy_abi_version_0_2_1
func abiVersion() {}

func logf(s string) {
	proxyLog(2, sptr(s), uint32(len(s)))
	runtime.KeepAlive(s)
}

//go:wasmexport proxy_on_context_create
func onContextCreate(id, parent uint32) { pins = pins[:0] }

//go:wasmexport proxy_on_vm_start
func onVMStart(id, size uint32) uint32 { return 1 }

//go:wasmexport proxy_on_configure
func onConfigure(id, size uint32) uint32 {
	slots = [3]uint32{}
	if size > 0 {
		if getBufferBytes(7, 0, size, slotPtr(0), slotPtr(1)) != 0 {
			return 0
		}
		if err := json.Unmarshal(view(slots[0], slots[1]), &cfg); err != nil {
			logf("bad configuration: " + err.Error())
			return 0
		}
	}
	if cfg.Tick > 0 {
		setTickPeriod(cfg.Tick)
	}
	return 1
}

//go:wasmexport proxy_on_tick
func onTick(id uint32) { increment(cfg.CountKey) }

// increment adds one to the count under key, with CAS.
func increment(key string) {
	for {
		v, cas := shared(key)
		n, _ := strconv.Atoi(v)
		s := strconv.Itoa(n + 1)
		if setSharedData(sptr(key), uint32(len(key)), sptr(s), uint32(len(s)), cas) == 0 {
			return
		}
	}
}

func shared(key string) (string, uint32) {
	slots = [3]uint32{}
	if getSharedData(sptr(key), uint32(len(key)), slotPtr(0), slotPtr(1), slotPtr(2)) != 0 {
		return "", 0
	}
	return string(view(slots[0], slots[1])), slots[2]
}

func header(mt uint32, name string) (string, bool) {
	slots = [3]uint32{}
	if getHeaderMapValue(mt, sptr(name), uint32(len(name)), slotPtr(0), slotPtr(1)) != 0 {
		return "", false
	}
	return string(view(slots[0], slots[1])), true
}

func property(path string) (string, bool) {
	segs := strings.ReplaceAll(path, ".", "\x00")
	slots = [3]uint32{}
	if getProperty(sptr(segs), uint32(len(segs)), slotPtr(0), slotPtr(1)) != 0 {
		return "", false
	}
	return string(view(slots[0], slots[1])), true
}

func pairs(mt uint32) [][2]string {
	slots = [3]uint32{}
	if getHeaderMapPairs(mt, slotPtr(0), slotPtr(1)) != 0 || slots[1] < 4 {
		return nil
	}
	b := view(slots[0], slots[1])
	cnt := binary.LittleEndian.Uint32(b)
	data := b[4+8*cnt:]
	var out [][2]string
	for i := uint32(0); i < cnt; i++ {
		ks := binary.LittleEndian.Uint32(b[4+8*i:])
		vs := binary.LittleEndian.Uint32(b[8+8*i:])
		out = append(out, [2]string{string(data[:ks]), string(data[ks+1 : ks+1+vs])})
		data = data[ks+1+vs+1:]
	}
	return out
}

func encode(ps [][2]string) []byte {
	b := make([]byte, 4+8*len(ps))
	binary.LittleEndian.PutUint32(b, uint32(len(ps)))
	for i, p := range ps {
		binary.LittleEndian.PutUint32(b[4+8*i:], uint32(len(p[0])))
		binary.LittleEndian.PutUint32(b[8+8*i:], uint32(len(p[1])))
	}
	for _, p := range ps {
		b = append(append(append(append(b, p[0]...), 0), p[1]...), 0)
	}
	return b
}

func change(mt uint32, add, replace map[string]string, remove []string) {
	for k, v := range add {
		addHeaderMapValue(mt, sptr(k), uint32(len(k)), sptr(v), uint32(len(v)))
	}
	for k, v := range replace {
		replaceHeaderMapValue(mt, sptr(k), uint32(len(k)), sptr(v), uint32(len(v)))
	}
	for _, k := range remove {
		removeHeaderMapValue(mt, sptr(k), uint32(len(k)))
	}
}

// trap panics in the callback named by the configuration when the request
// has an x-trap header.
func trap(where string) {
	if _, armed := header(0, "x-trap"); cfg.Trap == where && armed {
		panic("trap in " + where)
	}
}

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(id, n, eos uint32) uint32 {
	pins = pins[:0]
	trap("request_headers")
	if cfg.DenyHeader != "" {
		if v, ok := header(0, cfg.DenyHeader); ok {
			body := "denied: " + v
			hs := encode([][2]string{{"x-why", "filter"}, {"content-type", "text/plain"}})
			sendLocalResponse(403, 0, 0, sptr(body), uint32(len(body)), ptr(hs), uint32(len(hs)), -1)
			return 1
		}
	}
	change(0, cfg.AddReq, cfg.ReplaceReq, cfg.RemoveReq)
	if cfg.SetReqPairs {
		var out [][2]string
		for _, p := range pairs(0) {
			if p[0] != "x-drop" {
				out = append(out, p)
			}
		}
		out = append(out, [2]string{"x-pairs", strconv.Itoa(len(out))})
		b := encode(out)
		setHeaderMapPairs(0, ptr(b), uint32(len(b)))
	}
	if cfg.EchoMethodTo != "" {
		m, _ := header(0, ":method")
		addHeaderMapValue(0, sptr(cfg.EchoMethodTo), uint32(len(cfg.EchoMethodTo)), sptr(m), uint32(len(m)))
	}
	if cfg.CountKey != "" {
		v, _ := shared(cfg.CountKey)
		k := "x-count"
		addHeaderMapValue(0, sptr(k), uint32(len(k)), sptr(v), uint32(len(v)))
	}
	if cfg.CallUpstream != "" {
		user, _ := header(0, "x-user")
		hs := encode([][2]string{{":method", "GET"}, {":path", cfg.CallPath + "?user=" + user}, {":authority", cfg.CallUpstream}, {"x-from", "filter"}})
		body := "ping"
		if httpCall(sptr(cfg.CallUpstream), uint32(len(cfg.CallUpstream)), ptr(hs), uint32(len(hs)), sptr(body), uint32(len(body)), 0, 0, 2000, slotPtr(0)) != 0 {
			panic("proxy_http_call failed")
		}
		return 1
	}
	currentTime(uint32(uintptr(unsafe.Pointer(&now))))
	if now == 0 {
		panic("no time")
	}
	return 0
}

//go:wasmexport proxy_on_request_body
func onRequestBody(id, size, eos uint32) uint32 {
	pins = pins[:0]
	trap("request_body")
	if cfg.ReqBodyAdd != "" {
		setBufferBytes(0, size, 0, sptr(cfg.ReqBodyAdd), uint32(len(cfg.ReqBodyAdd)))
	}
	return 0
}

//go:wasmexport proxy_on_response_headers
func onResponseHeaders(id, n, eos uint32) uint32 {
	pins = pins[:0]
	trap("response_headers")
	change(2, cfg.AddResp, cfg.ReplaceResp, cfg.RemoveResp)
	for _, p := range cfg.Props {
		v, ok := property(p)
		if !ok {
			v = "(none)"
		}
		k := "x-prop-" + p
		addHeaderMapValue(2, sptr(k), uint32(len(k)), sptr(v), uint32(len(v)))
	}
	return 0
}

//go:wasmexport proxy_on_response_body
func onResponseBody(id, size, eos uint32) uint32 {
	pins = pins[:0]
	trap("response_body")
	if cfg.RespBodyAdd != "" {
		slots = [3]uint32{}
		getBufferBytes(1, 0, size, slotPtr(0), slotPtr(1))
		body := cfg.RespBodyAdd + string(view(slots[0], slots[1]))
		setBufferBytes(1, 0, size, sptr(body), uint32(len(body)))
	}
	return 0
}

//go:wasmexport proxy_on_log
func onLog(id uint32) {
	trap("log")
	if cfg.LogCountKey != "" {
		increment(cfg.LogCountKey)
	}
}

//go:wasmexport proxy_on_done
func onDone(id uint32) uint32 { return 1 }

//go:wasmexport proxy_on_delete
func onDelete(id uint32) { pins = pins[:0] }

func main() {}

// slotPtr is the address of a return slot (a global: a goroutine stack
// may move while the host calls back into the guest to allocate).
func slotPtr(i int) uint32 { return uint32(uintptr(unsafe.Pointer(&slots[i]))) }

//go:wasmexport proxy_on_http_call_response
func onHTTPCallResponse(id, callout, nheaders, bodySize, ntrailers uint32) {
	pins = pins[:0]
	trap("http_call_response")
	status, _ := header(6, ":status")
	var body string
	if bodySize > 0 {
		slots = [3]uint32{}
		if getBufferBytes(4, 0, bodySize, slotPtr(0), slotPtr(1)) == 0 {
			body = string(view(slots[0], slots[1]))
		}
	}
	if status != "200" {
		msg := "call said " + status + ": " + body
		sendLocalResponse(403, 0, 0, sptr(msg), uint32(len(msg)), 0, 0, -1)
		return
	}
	k := "x-call"
	addHeaderMapValue(0, sptr(k), uint32(len(k)), sptr(body), uint32(len(body)))
	continueStream(0)
}
