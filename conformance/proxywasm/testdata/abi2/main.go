// Command abi2 is a proxy-wasm filter for the conformance tests of the
// ABI's second round (standard Go, GOOS=wasip1, on sdk/proxywasm):
// trailer maps, proxy_get_status, proxy_http_call from the root context
// (configure and tick), Kong's writable properties, foreign functions and
// metrics. Its JSON configuration names the loopback servers it calls.
package main

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"

	pw "github.com/gatehouse/gatehouse/sdk/proxywasm"
)

// config names what the filter calls.
type config struct {
	// RootCall (host:port) is called from proxy_on_configure (path
	// /configure) and from every tick with no call in flight (path
	// /tick); the answers land in shared data "abi2-configure" and
	// "abi2-tick" as "status|dispatch status|body".
	RootCall string `json:"root_call"`
	// HangCall (host:port) is called from proxy_on_configure with a
	// 100 ms timeout; the answer lands in "abi2-hang".
	HangCall string `json:"hang_call"`
	// Call (host:port) is called from a request with x-call; its answer's
	// status (proxy_get_status) becomes x-call-status.
	Call   string `json:"call"`
	TickMS uint32 `json:"tick_ms"`
}

var (
	cfg        config
	hangID     uint32
	configID   uint32
	tickCall   bool // a tick's call is in flight
	hits, lvl  uint32
	sizes      uint32
	metricsSet bool
)

//go:wasmexport proxy_abi_version_0_2_1
func abiVersion() {}

//go:wasmexport proxy_on_context_create
func onContextCreate(id, parent uint32) { pw.Release() }

//go:wasmexport proxy_on_configure
func onConfigure(id, size uint32) uint32 {
	pw.Release()
	if size > 0 {
		b, st := pw.Buffer(pw.PluginConfiguration, 0, size)
		if st != pw.StatusOK || json.Unmarshal(b, &cfg) != nil {
			return 0
		}
	}
	if cfg.RootCall != "" {
		id, st := pw.HTTPCall(cfg.RootCall, [][2]string{{":method", "GET"}, {":path", "/configure"}, {":authority", cfg.RootCall}}, nil, 2000)
		if st != pw.StatusOK {
			pw.Log(pw.LogError, "root call from configure refused: "+strconv.Itoa(int(st)))
			return 0
		}
		configID = id
	}
	if cfg.HangCall != "" {
		id, st := pw.HTTPCall(cfg.HangCall, [][2]string{{":method", "GET"}, {":path", "/hang"}, {":authority", cfg.HangCall}}, nil, 100)
		if st != pw.StatusOK {
			return 0
		}
		hangID = id
	}
	if cfg.TickMS > 0 {
		pw.SetTickPeriod(cfg.TickMS)
	}
	pw.SetProperty("wasmx.phase", "configure")
	var st1, st2, st3 pw.Status
	hits, st1 = pw.DefineMetric(pw.MetricCounter, "hits")
	lvl, st2 = pw.DefineMetric(pw.MetricGauge, "level")
	sizes, st3 = pw.DefineMetric(pw.MetricHistogram, "sizes")
	metricsSet = st1 == pw.StatusOK && st2 == pw.StatusOK && st3 == pw.StatusOK
	return 1
}

//go:wasmexport proxy_on_tick
func onTick(id uint32) {
	pw.Release()
	if v, st := pw.Property("wasmx.phase"); st == pw.StatusOK {
		pw.SetSharedData("abi2-wasmx-root", v, 0)
	}
	if cfg.RootCall == "" || tickCall {
		return
	}
	if _, st := pw.HTTPCall(cfg.RootCall, [][2]string{{":method", "GET"}, {":path", "/tick"}, {":authority", cfg.RootCall}}, nil, 2000); st == pw.StatusOK {
		tickCall = true
	}
}

// answer is "status|dispatch status|body" of the call being answered.
func answer(bodySize uint32) string {
	code, msg, st := pw.CallStatus()
	if st != pw.StatusOK {
		return "no status " + strconv.Itoa(int(st))
	}
	ds, _ := pw.Header(pw.HTTPCallResponseHeaders, ":dispatch_status")
	if msg != ds {
		return "status message " + msg + " is not " + ds
	}
	body, _ := pw.Buffer(pw.HTTPCallResponseBody, 0, bodySize)
	return strconv.Itoa(int(code)) + "|" + ds + "|" + string(body)
}

//go:wasmexport proxy_on_http_call_response
func onHTTPCallResponse(ctx, id, nh, nb, nt uint32) {
	pw.Release()
	a := answer(nb)
	if ctx != 1 { // a request's call
		pw.AddHeader(pw.RequestHeaders, "x-call-status", a)
		pw.ContinueStream(0) // the request stream
		return
	}
	key := "abi2-tick"
	switch id {
	case configID:
		key = "abi2-configure"
	case hangID:
		key = "abi2-hang"
	default:
		tickCall = false
	}
	pw.SetSharedData(key, []byte(a), 0)
}

// status is a Status as a header value.
func status(st pw.Status) string { return strconv.Itoa(int(st)) }

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(id, n, eos uint32) uint32 {
	pw.Release()
	// trailers: the maps read empty and refuse changes
	tr, st := pw.Headers(pw.RequestTrailers)
	pw.AddHeader(pw.RequestHeaders, "x-trailers", status(st)+":"+strconv.Itoa(len(tr))+":"+status(pw.AddHeader(pw.RequestTrailers, "x-t", "1")))
	// proxy_get_status outside a call's answer
	_, _, st = pw.CallStatus()
	pw.AddHeader(pw.RequestHeaders, "x-status-outside", status(st))
	// properties
	sub, _ := pw.Property("kong.nginx.subsystem")
	pw.AddHeader(pw.RequestHeaders, "x-subsystem", string(sub))
	_, st = pw.Property("connection.tls_version")
	_, st2 := pw.Property("connection.mtls")
	pw.AddHeader(pw.RequestHeaders, "x-tls", status(st)+":"+status(st2))
	ua, _ := pw.Property("request.useragent")
	pw.AddHeader(pw.RequestHeaders, "x-ua", string(ua))
	var kong []string
	for _, v := range []string{"kong.version", "kong.configuration.log_level", "kong.configuration.plugins", "kong.configuration.nothing"} {
		b, st := pw.Property(v)
		if st != pw.StatusOK {
			b = []byte("<" + status(st) + ">")
		}
		kong = append(kong, string(b))
	}
	pw.AddHeader(pw.RequestHeaders, "x-kong", strings.Join(kong, "|"))
	pw.AddHeader(pw.RequestHeaders, "x-conf-set", status(pw.SetProperty("kong.configuration.log_level", "debug")))
	if t, st := pw.Header(pw.RequestHeaders, "x-target"); st == pw.StatusOK {
		pw.AddHeader(pw.RequestHeaders, "x-target-set", status(pw.SetProperty("kong.service.target", t)))
	}
	if s, st := pw.Header(pw.RequestHeaders, "x-scheme"); st == pw.StatusOK {
		pw.AddHeader(pw.RequestHeaders, "x-scheme-set", status(pw.SetProperty("kong.service.request.scheme", s)))
	}
	// host properties: the root context's are not the request's
	_, st = pw.Property("wasmx.phase")
	pw.AddHeader(pw.RequestHeaders, "x-wasmx-http", status(st))
	pw.SetProperty("wasmx.req", "http-"+strconv.Itoa(int(id)))
	// nginx variables
	var ngx []string
	for _, v := range []string{"ngx.uri", "ngx.arg_a", "ngx.http_x_multi", "ngx.cookie_c", "ngx.request_method", "ngx.is_args"} {
		b, st := pw.Property(v)
		if st != pw.StatusOK {
			b = []byte("<" + status(st) + ">")
		}
		ngx = append(ngx, string(b))
	}
	pw.AddHeader(pw.RequestHeaders, "x-ngx", strings.Join(ngx, "|"))
	if u, st := pw.Header(pw.RequestHeaders, "x-upstream-uri"); st == pw.StatusOK {
		pw.AddHeader(pw.RequestHeaders, "x-upstream-uri-set", status(pw.SetProperty("ngx.upstream_uri", u)))
	}
	if _, st := pw.Header(pw.RequestHeaders, "x-ngx-trap"); st == pw.StatusOK {
		pw.SetProperty("ngx.request_uri", "/elsewhere") // immutable: traps
		panic("an immutable nginx variable was set")
	}
	// shared data the root context's calls filled
	for _, k := range []string{"abi2-configure", "abi2-tick", "abi2-hang", "abi2-wasmx-root", "abi2-log"} {
		v, _, _ := pw.SharedData(k)
		pw.AddHeader(pw.RequestHeaders, "x-"+k, string(v))
	}
	// metrics
	if metricsSet {
		path, _ := pw.Header(pw.RequestHeaders, ":path")
		if pw.IncrementMetric(hits, 1) != pw.StatusOK || pw.RecordMetric(lvl, uint64(len(path))) != pw.StatusOK ||
			pw.RecordMetric(sizes, uint64(len(path))) != pw.StatusOK {
			panic("metrics refused")
		}
	}
	if _, st := pw.Header(pw.RequestHeaders, "x-foreign-unknown"); st == pw.StatusOK {
		pw.CallForeignFunction("no_such_function", []byte("x")) // traps
		panic("an unknown foreign function returned")
	}
	pause := false
	if name, st := pw.Header(pw.RequestHeaders, "x-resolve"); st == pw.StatusOK {
		b, st := pw.CallForeignFunction("resolve_lua", []byte(name))
		switch {
		case st != pw.StatusOK:
			pw.AddHeader(pw.RequestHeaders, "x-resolved-now", "error "+status(st))
		case len(b) == 0:
			pause = true // the answer comes to proxy_on_foreign_function
		default:
			addr, _ := netip.AddrFromSlice(b)
			pw.AddHeader(pw.RequestHeaders, "x-resolved-now", addr.String())
		}
	}
	if _, st := pw.Header(pw.RequestHeaders, "x-call"); st == pw.StatusOK && cfg.Call != "" {
		if _, st := pw.HTTPCall(cfg.Call, [][2]string{{":method", "GET"}, {":path", "/teapot"}, {":authority", cfg.Call}}, nil, 2000); st != pw.StatusOK {
			panic("proxy_http_call refused")
		}
		pause = true
	}
	if pause {
		return pw.ActionPause
	}
	return pw.ActionContinue
}

//go:wasmexport proxy_on_foreign_function
func onForeignFunction(ctx, fid, size uint32) {
	pw.Release()
	b, _ := pw.Buffer(pw.ForeignCallData, 0, size)
	if fid != 0 || len(b) == 0 || int(b[0])+1 > len(b) {
		pw.AddHeader(pw.RequestHeaders, "x-resolved", "bad call data")
		return
	}
	n := int(b[0])
	name := string(b[1+n:])
	if n == 0 {
		pw.AddHeader(pw.RequestHeaders, "x-resolved", name+"=")
		return
	}
	addr, _ := netip.AddrFromSlice(b[1 : 1+n])
	pw.AddHeader(pw.RequestHeaders, "x-resolved", name+"="+addr.String())
}

// onLog stores the log-phase properties of the request in shared data
// "abi2-log", one per line as "path=value" or "path=<status>".
//
//go:wasmexport proxy_on_log
func onLog(id uint32) {
	pw.Release()
	var out []string
	for _, p := range []string{"request.time", "request.duration", "request.total_size", "response.total_size",
		"upstream.address", "upstream.port", "connection.tls_version"} {
		v, st := pw.Property(p)
		if st != pw.StatusOK {
			v = []byte("<" + status(st) + ">")
		}
		out = append(out, p+"="+string(v))
	}
	pw.SetSharedData("abi2-log", []byte(strings.Join(out, ";")), 0)
}

//go:wasmexport proxy_on_request_trailers
func onRequestTrailers(id, n uint32) uint32 { panic("proxy_on_request_trailers called") }

//go:wasmexport proxy_on_response_trailers
func onResponseTrailers(id, n uint32) uint32 { panic("proxy_on_response_trailers called") }

//go:wasmexport proxy_on_response_headers
func onResponseHeaders(id, n, eos uint32) uint32 {
	pw.Release()
	tr, st := pw.Headers(pw.ResponseTrailers)
	if v, st := pw.Property("wasmx.req"); st == pw.StatusOK {
		pw.AddHeader(pw.ResponseHeaders, "x-wasmx", string(v)+"/"+strconv.Itoa(int(id)))
	}
	pw.AddHeader(pw.ResponseHeaders, "x-resp-trailers", status(st)+":"+strconv.Itoa(len(tr))+":"+status(pw.ReplaceHeader(pw.ResponseTrailers, "x-t", "1")))
	return pw.ActionContinue
}

func main() {}
