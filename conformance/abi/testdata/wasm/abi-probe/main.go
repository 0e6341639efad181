// Command abi-probe is the conformance/abi probe plugin as a Gatehouse
// Wasm guest on the raw imports: for the request's X-Abi-Probe header
// ("operation/phase[/variant][/out_of_phase]") it performs, in that phase,
// the Wasm version of the Go probe of conformance/abi/probes.go, through
// the generic call (and the fast paths where the ABI has one), and builds
// the same observed string. It reports on stdout, which the host logs:
// "abi-called NAME" before the operation, "abi-returned NAME OBSERVED"
// (OBSERVED as a JSON string) after it.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"unsafe"
)

//go:wasmimport gatehouse call
func hostCall(namePtr, nameLen, argsPtr, argsLen, buf, limit uint32) int64

//go:wasmimport gatehouse result
func hostResult(buf, limit uint32) int64

//go:wasmimport gatehouse request_get_header
func requestGetHeader(n, nl, buf, limit uint32) int64

//go:wasmimport gatehouse request_get_method
func requestGetMethod(buf, limit uint32) int64

//go:wasmimport gatehouse request_get_path
func requestGetPath(buf, limit uint32) int64

//go:wasmimport gatehouse request_get_raw_body
func requestGetRawBody(buf, limit uint32) int64

//go:wasmimport gatehouse service_request_set_header
func serviceRequestSetHeader(n, nl, v, vl uint32)

//go:wasmimport gatehouse service_request_add_header
func serviceRequestAddHeader(n, nl, v, vl uint32)

//go:wasmimport gatehouse service_request_clear_header
func serviceRequestClearHeader(n, nl uint32)

//go:wasmimport gatehouse service_request_set_raw_body
func serviceRequestSetRawBody(p, l uint32)

//go:wasmimport gatehouse response_get_status
func responseGetStatus() int32

//go:wasmimport gatehouse response_set_status
func responseSetStatus(status int32)

//go:wasmimport gatehouse response_get_header
func responseGetHeader(n, nl, buf, limit uint32) int64

//go:wasmimport gatehouse response_set_header
func responseSetHeader(n, nl, v, vl uint32)

//go:wasmimport gatehouse response_add_header
func responseAddHeader(n, nl, v, vl uint32)

//go:wasmimport gatehouse response_clear_header
func responseClearHeader(n, nl uint32)

//go:wasmimport gatehouse response_get_raw_body
func responseGetRawBody(buf, limit uint32) int64

//go:wasmimport gatehouse response_set_raw_body
func responseSetRawBody(p, l uint32)

//go:wasmimport gatehouse response_exit
func responseExit(status int32, b, bl, h, hl uint32)

//go:wasmimport gatehouse ctx_shared_get
func ctxSharedGet(k, kl, buf, limit uint32) int64

//go:wasmimport gatehouse ctx_shared_set
func ctxSharedSet(k, kl, v, vl uint32)

//go:wasmimport gatehouse ctx_plugin_get
func ctxPluginGet(k, kl, buf, limit uint32) int64

//go:wasmimport gatehouse ctx_plugin_set
func ctxPluginSet(k, kl, v, vl uint32)

//go:wasmimport gatehouse cache_get
func cacheGet(k, kl, buf, limit uint32) int64

//go:wasmimport gatehouse cache_set
func cacheSet(k, kl, v, vl uint32, ttlMS int64)

//go:wasmimport gatehouse log
func hostLog(level int32, m, ml uint32)

func sp(s string) (uint32, uint32) {
	if s == "" {
		return 0, 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.StringData(s)))), uint32(len(s))
}

func bp(b []byte) (uint32, uint32) {
	if len(b) == 0 {
		return 0, 0
	}
	return uint32(uintptr(unsafe.Pointer(&b[0]))), uint32(len(b))
}

// pull runs an "out" import with a buffer, growing it once when too
// small; ok is false for an absent value.
func pull(f func(buf, limit uint32) int64) (string, bool) {
	buf := make([]byte, 64)
	p, l := bp(buf)
	n := f(p, l)
	if n < 0 {
		return "", false
	}
	if n > int64(len(buf)) {
		buf = make([]byte, n)
		p, l = bp(buf)
		n = f(p, l)
	}
	return string(buf[:n]), true
}

// callErr is an operation's error result.
type callErr struct {
	Message string         `json:"message"`
	Code    int            `json:"code"`
	Name    string         `json:"name"`
	Fields  map[string]any `json:"fields"`
}

// call runs an operation through the generic import: its results, or its
// error.
func call(name string, args ...any) ([]any, *callErr) {
	if args == nil {
		args = []any{}
	}
	a, _ := json.Marshal(args)
	np, nl := sp(name)
	ap, al := bp(a)
	buf := make([]byte, 256)
	p, l := bp(buf)
	n := hostCall(np, nl, ap, al, p, l)
	if n > int64(len(buf)) {
		buf = make([]byte, n)
		p, l = bp(buf)
		n = hostResult(p, l) // the held result, without running it again
	}
	raw := buf[:n]
	if len(raw) > 0 && raw[0] == '{' {
		var e struct {
			Error callErr `json:"error"`
		}
		json.Unmarshal(raw, &e)
		return nil, &e.Error
	}
	var out []any
	if err := json.Unmarshal(raw, &out); err != nil {
		panic(fmt.Sprintf("%s: result %q: %v", name, raw, err))
	}
	return out, nil
}

// r0 is the first result of a call that cannot fail.
func r0(name string, args ...any) any {
	out, e := call(name, args...)
	if e != nil {
		return "error: " + e.Message
	}
	if len(out) == 0 {
		return nil
	}
	return out[0]
}

func s0(name string, args ...any) string { return fmt.Sprint(r0(name, args...)) }

func errText(e *callErr) string {
	if e == nil {
		return ""
	}
	return " error: " + e.Message
}

func dbErrText(e *callErr) string {
	if e == nil {
		return "no error"
	}
	if e.Code == 0 {
		return "not a DBError: " + e.Message
	}
	return fmt.Sprintf("%d %s", e.Code, e.Name)
}

func header(name string) string {
	np, nl := sp(name)
	v, _ := pull(func(b, l uint32) int64 { return requestGetHeader(np, nl, b, l) })
	return v
}

func positive(f any) string {
	n, _ := f.(float64)
	if n > 0 {
		return "positive"
	}
	return strconv.Itoa(int(n))
}

func str(v any, ok any) string {
	if b, _ := ok.(bool); !b {
		return "absent"
	}
	if v == nil {
		return "<nil>"
	}
	return fmt.Sprint(v)
}

func field(e any, name string) string {
	m, ok := e.(map[string]any)
	if !ok || m == nil {
		return "nil"
	}
	if v, ok := m[name]; ok {
		return fmt.Sprint(v)
	}
	return "<nil>"
}

func sortedValues(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		var vs []string
		switch v := m[k].(type) {
		case []any:
			for _, e := range v {
				vs = append(vs, fmt.Sprint(e))
			}
		default:
			vs = append(vs, fmt.Sprint(v))
		}
		fmt.Fprintf(&b, "%s=%s;", k, strings.Join(vs, ","))
	}
	return b.String()
}

func join(v any) string {
	l, _ := v.([]any)
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = fmt.Sprint(e)
	}
	return strings.Join(parts, ",")
}

func nonce() string { return header("X-Abi-Nonce") }

func cacheKey(name string) string { return "abi:" + nonce() + ":" + name }

func lookup(key string) string {
	out, e := call("kong.cache.lookup", key)
	switch {
	case e != nil:
		return "error " + e.Message
	case out[2] == true:
		return "load"
	case out[1] == true:
		if f, ok := out[0].(float64); ok {
			return "found " + strconv.FormatFloat(f, 'f', -1, 64)
		}
		return fmt.Sprint("found ", out[0])
	}
	return "neither"
}

func uuidOrNot(s string) string {
	if len(s) == 36 && strings.Count(s, "-") == 4 {
		return "uuid"
	}
	return "not a uuid: " + s
}

func same(e any, name, label string) string {
	if field(e, "username") == name {
		return label
	}
	return fmt.Sprintf("not %s (%v)", name, e)
}

func nilOr(e any) string {
	if e == nil {
		return "nil"
	}
	return fmt.Sprint(e)
}

func entity(out []any) any {
	if len(out) == 0 {
		return nil
	}
	return out[0]
}

// probes: the operation's name (and variant) to the probe.
var probes = map[string]func() string{
	"kong.request.get_scheme": func() string { return s0("kong.request.get_scheme") },
	"kong.request.get_host":   func() string { return s0("kong.request.get_host") },
	"kong.request.get_port":   func() string { return positive(r0("kong.request.get_port")) },
	"ngx.var": func() string {
		scheme := r0("ngx.var", "scheme")
		reqs := r0("ngx.var", "connection_requests")
		n, _ := strconv.Atoi(fmt.Sprint(reqs))
		port := r0("ngx.var", "server_port")
		same := "other port"
		if fmt.Sprint(port) == strconv.Itoa(int(r0("kong.request.get_port").(float64))) {
			same = "same port"
		}
		out, _ := call("ngx.var", "no_such_variable")
		return fmt.Sprintf("%v/%s/%s/%v", scheme, positive(float64(n)), same, out[1])
	},
	"kong.request.get_forwarded_scheme": func() string { return s0("kong.request.get_forwarded_scheme") },
	"kong.request.get_forwarded_host":   func() string { return s0("kong.request.get_forwarded_host") },
	"kong.request.get_forwarded_port":   func() string { return positive(r0("kong.request.get_forwarded_port")) },
	"kong.request.get_http_version":     func() string { return s0("kong.request.get_http_version") },
	"kong.request.get_method": func() string {
		v, _ := pull(requestGetMethod) // the fast path
		return v
	},
	"kong.request.get_method/context_deadline": func() string {
		// A guest has no context: the deadline the host enforces is the
		// service's three timeouts, read from the matched service.
		svc := r0("kong.router.get_service")
		total := 0.0
		for _, f := range []string{"connect_timeout", "write_timeout", "read_timeout"} {
			v, _ := svc.(map[string]any)[f].(float64)
			total += v
		}
		if total != 6000 {
			return fmt.Sprintf("deadline budget %vms", total)
		}
		return "deadline ok"
	},
	"kong.request.get_path": func() string {
		v, _ := pull(requestGetPath)
		return v
	},
	"kong.request.get_raw_path":  func() string { return s0("kong.request.get_raw_path") },
	"kong.request.get_raw_query": func() string { return s0("kong.request.get_raw_query") },
	"kong.request.get_query_arg": func() string {
		out, _ := call("kong.request.get_query_arg", "a")
		return str(out[0], out[1])
	},
	"kong.request.get_query": func() string {
		m, _ := r0("kong.request.get_query").(map[string]any)
		return sortedValues(m)
	},
	"kong.request.get_header":        func() string { return header("x-multi") },
	"kong.request.get_header_values": func() string { return join(r0("kong.request.get_header_values", "X-MULTI")) },
	"kong.request.get_headers": func() string {
		m, _ := r0("kong.request.get_headers").(map[string]any)
		return join(m["x-multi"])
	},
	"kong.request.get_raw_body": func() string {
		v, _ := pull(requestGetRawBody)
		return v
	},
	"kong.request.get_body": func() string {
		out, e := call("kong.request.get_body")
		if e != nil {
			return "<nil> " + errText(e)
		}
		m, _ := out[0].(map[string]any)
		return fmt.Sprint(m["k"], " ", out[1])
	},

	"kong.service.request.set_scheme":    func() string { call("kong.service.request.set_scheme", "http"); return "ok" },
	"kong.service.request.set_path":      func() string { call("kong.service.request.set_path", "/set-path"); return "ok" },
	"kong.service.request.set_raw_query": func() string { call("kong.service.request.set_raw_query", "q=1"); return "ok" },
	"kong.service.request.set_query": func() string {
		call("kong.service.request.set_query", map[string][]string{"q": {"2", "3"}})
		return "ok"
	},
	"kong.service.request.set_method": func() string { call("kong.service.request.set_method", "PUT"); return "ok" },
	"kong.service.request.set_header": func() string {
		n, nl := sp("X-Set")
		v, vl := sp("1")
		serviceRequestSetHeader(n, nl, v, vl)
		return "ok"
	},
	"kong.service.request.add_header": func() string {
		n, nl := sp("X-Multi")
		v, vl := sp("3")
		serviceRequestAddHeader(n, nl, v, vl)
		return "ok"
	},
	"kong.service.request.clear_header": func() string {
		n, nl := sp("x-multi")
		serviceRequestClearHeader(n, nl)
		return "ok"
	},
	"kong.service.request.set_headers": func() string {
		call("kong.service.request.set_headers", map[string][]string{"X-Multi": {"a", "b"}})
		return "ok"
	},
	"kong.service.request.set_raw_body": func() string {
		serviceRequestSetRawBody(sp("raw"))
		return "ok"
	},
	"kong.service.request.set_body": func() string {
		_, e := call("kong.service.request.set_body", map[string]any{"j": 1}, "application/x-www-form-urlencoded")
		return errText(e)
	},
	"kong.service.request.enable_buffering": func() string { call("kong.service.request.enable_buffering"); return "ok" },

	"kong.service.set_target": func() string {
		host, port, _ := strings.Cut(header("X-Abi-Target"), ":")
		p, _ := strconv.Atoi(port)
		call("kong.service.set_target", host, p)
		return "ok"
	},
	"kong.service.set_upstream": func() string {
		_, e1 := call("kong.service.set_upstream", "nope")
		_, e2 := call("kong.service.set_upstream", "abi-upstream")
		good := errText(e2)
		if good == "" {
			good = "ok"
		}
		return errText(e1) + "/" + good
	},

	"kong.response.get_status": func() string { return strconv.Itoa(int(responseGetStatus())) },
	"kong.response.set_status": func() string { responseSetStatus(201); return "ok" },
	"kong.response.get_header": func() string {
		n, nl := sp("X-Upstream")
		v, _ := pull(func(b, l uint32) int64 { return responseGetHeader(n, nl, b, l) })
		return v
	},
	"kong.response.get_headers": func() string {
		m, _ := r0("kong.response.get_headers").(map[string]any)
		return join(m["x-upstream"])
	},
	"kong.response.set_header": func() string {
		n, nl := sp("X-Resp")
		v, vl := sp("1")
		responseSetHeader(n, nl, v, vl)
		return "ok"
	},
	"kong.response.add_header": func() string {
		n, nl := sp("X-Upstream")
		v, vl := sp("2")
		responseAddHeader(n, nl, v, vl)
		return "ok"
	},
	"kong.response.clear_header": func() string {
		n, nl := sp("X-Upstream")
		responseClearHeader(n, nl)
		return "ok"
	},
	"kong.response.get_source": func() string { return s0("kong.response.get_source") },
	"kong.response.exit": func() string {
		b, bl := sp("teapot")
		h, hl := sp(`{"X-Exit":"1"}`)
		responseExit(418, b, bl, h, hl)
		return "ok"
	},
	"kong.response.exit/json": func() string {
		call("kong.response.exit", 403, `{"message":"no"}`, map[string]string{"Content-Type": "application/json; charset=utf-8"})
		return "ok"
	},
	"kong.response.error": func() string { call("kong.response.error", 403, "", nil); return "ok" },
	"kong.response.error/text": func() string {
		call("kong.response.error", 429, "slow down", map[string]string{"Content-Type": "text/plain", "Retry-After": "1"})
		return "ok"
	},
	"kong.response.exited": func() string {
		before := r0("kong.response.exited")
		call("kong.response.exit", 204)
		return fmt.Sprint(before, "/", r0("kong.response.exited"))
	},
	"kong.response.get_raw_body": func() string {
		v, _ := pull(responseGetRawBody)
		return v
	},
	"kong.response.set_raw_body": func() string { responseSetRawBody(sp("replaced")); return "ok" },

	"kong.service.response.get_status": func() string {
		return strconv.Itoa(int(r0("kong.service.response.get_status").(float64)))
	},
	"kong.service.response.get_header": func() string { return s0("kong.service.response.get_header", "X-Upstream") },
	"kong.service.response.get_headers": func() string {
		m, _ := r0("kong.service.response.get_headers").(map[string]any)
		return join(m["x-upstream"])
	},
	"kong.service.response.get_raw_body": func() string { return s0("kong.service.response.get_raw_body") },

	"kong.client.get_ip":             func() string { return s0("kong.client.get_ip") },
	"kong.client.get_forwarded_ip":   func() string { return s0("kong.client.get_forwarded_ip") },
	"kong.client.get_port":           func() string { return positive(r0("kong.client.get_port")) },
	"kong.client.get_forwarded_port": func() string { return positive(r0("kong.client.get_forwarded_port")) },
	"kong.client.get_protocol":       func() string { return s0("kong.client.get_protocol") },
	"kong.client.get_consumer":       func() string { return field(r0("kong.client.get_consumer"), "username") },
	"kong.client.get_credential":     func() string { return field(r0("kong.client.get_credential"), "id") },
	"kong.client.authenticate": func() string {
		call("kong.client.authenticate", map[string]any{"id": "c-1", "username": "abi-user"}, map[string]any{"id": "cred-1"})
		return field(r0("kong.client.get_consumer"), "username") + "/" + field(r0("kong.client.get_credential"), "id")
	},
	"kong.client.load_consumer": func() string {
		c, e1 := call("kong.client.load_consumer", "abi-user", true)
		none, e2 := call("kong.client.load_consumer", "nobody", true)
		return field(entity(c), "username") + "/" + field(entity(none), "username") + errText(e1) + errText(e2)
	},

	"kong.ctx.shared.get": func() string {
		k, kl := sp("missing")
		_, ok := pull(func(b, l uint32) int64 { return ctxSharedGet(k, kl, b, l) })
		if !ok {
			return "absent"
		}
		return "present"
	},
	"kong.ctx.shared.set": func() string {
		k, kl := sp("k")
		v, vl := sp(`"v"`)
		ctxSharedSet(k, kl, v, vl)
		out, _ := call("kong.ctx.shared.get", "k")
		return str(out[0], out[1])
	},
	"kong.ctx.shared.delete": func() string {
		call("kong.ctx.shared.set", "k", "v")
		call("kong.ctx.shared.delete", "k")
		out, _ := call("kong.ctx.shared.get", "k")
		return str(out[0], out[1])
	},
	"kong.ctx.plugin.get": func() string {
		k, kl := sp("missing")
		if _, ok := pull(func(b, l uint32) int64 { return ctxPluginGet(k, kl, b, l) }); !ok {
			return "absent"
		}
		return "present"
	},
	"kong.ctx.plugin.set": func() string {
		k, kl := sp("k")
		v, vl := sp(`"v"`)
		ctxPluginSet(k, kl, v, vl)
		out, _ := call("kong.ctx.plugin.get", "k")
		sh, _ := call("kong.ctx.shared.get", "k")
		return str(out[0], out[1]) + "/" + str(sh[0], sh[1])
	},
	"kong.ctx.plugin.delete": func() string {
		call("kong.ctx.plugin.set", "k", "v")
		call("kong.ctx.plugin.delete", "k")
		out, _ := call("kong.ctx.plugin.get", "k")
		return str(out[0], out[1])
	},

	"kong.log": func() string {
		m, ml := sp("abi probe")
		hostLog(1, m, ml)
		return "ok"
	},
	"kong.log.serialize": func() string {
		m, _ := r0("kong.log.serialize").(map[string]any)
		return serialized(m)
	},
	"kong.log.set_serialize_value": func() string {
		call("kong.log.set_serialize_value", "custom.field", "x")
		call("kong.log.set_serialize_value", `dotted\.key`, "a.b")
		call("kong.log.set_serialize_value", "client_ip", nil)
		call("kong.log.set_serialize_value", "request.method", "NOPE", "add")
		call("kong.log.set_serialize_value", "added.field", "added", "add")
		call("kong.log.set_serialize_value", "missing.field", "r", "replace")
		call("kong.log.set_serialize_value", "upstream_status", "replaced", "replace")
		_, e := call("kong.log.set_serialize_value", "bogus", "b", "sometimes")
		m, _ := r0("kong.log.serialize").(map[string]any)
		custom, _ := m["custom"].(map[string]any)
		ip, ok := m["client_ip"]
		req, _ := m["request"].(map[string]any)
		added, _ := m["added"].(map[string]any)
		missing, okMissing := m["missing"]
		bogus, okBogus := m["bogus"]
		return fmt.Sprint(custom["field"], "/", m["dotted.key"], "/") + str(ip, ok) + "/" + fmt.Sprint(req["method"], "/", added["field"], "/") +
			str(missing, okMissing) + "/" + str(bogus, okBogus) + "/" + fmt.Sprint(m["upstream_status"], "/") + errText(e)
	},

	"kong.client.tls.get_full_client_certificate_chain": func() string {
		out, e := call("kong.client.tls.get_full_client_certificate_chain")
		if e == nil && out[0] == "" {
			return "none"
		}
		return fmt.Sprint(out) + errText(e)
	},
	"kong.http.do": func() string {
		target := "http://" + header("X-Abi-Target") + "/outbound"
		out, e := call("kong.http.do", map[string]any{"method": "GET", "url": target, "headers": map[string][]string{"X-Abi-Nonce": {"outbound"}}})
		_, e2 := call("kong.http.do", map[string]any{"method": "GET", "url": target, "timeout": 1e-9})
		timedOut := "no error"
		if e2 != nil {
			timedOut = "error"
		}
		status, body := 0.0, ""
		if e == nil {
			r, _ := out[0].(map[string]any)
			status, _ = r["status"].(float64)
			body, _ = r["body"].(string)
		}
		return fmt.Sprint(int(status), " ", body, errText(e), "/", timedOut)
	},
	"kong.timer.at": func() string {
		// the timer runs on this instance: its target waits in memory
		timerTargets[7] = "http://" + header("X-Abi-Target") + "/timer"
		if _, e := call("kong.timer.at", 0.001, 7); e != nil {
			return e.Message
		}
		return "ok"
	},

	"kong.cache.get": func() string {
		k, kl := sp(cacheKey("get"))
		if _, ok := pull(func(b, l uint32) int64 { return cacheGet(k, kl, b, l) }); !ok {
			return "absent"
		}
		return "present"
	},
	"kong.cache.set": func() string {
		ka, kal := sp(cacheKey("a"))
		v, vl := sp(`"v"`)
		cacheSet(ka, kal, v, vl, 60000)
		call("kong.cache.set", cacheKey("b"), nil, 60)
		a, _ := call("kong.cache.get", cacheKey("a"))
		b, _ := call("kong.cache.get", cacheKey("b"))
		return str(a[0], a[1]) + "/" + str(b[0], b[1])
	},
	"kong.cache.lookup": func() string {
		key := cacheKey("lookup")
		first := lookup(key)
		call("kong.cache.fill", key, "v", 60)
		return first + "/" + lookup(key)
	},
	"kong.cache.fill": func() string {
		key := cacheKey("fill")
		lookup(key)
		call("kong.cache.fill", key, 42, 60)
		return lookup(key)
	},
	"kong.cache.abandon": func() string {
		key := cacheKey("abandon")
		first := lookup(key)
		call("kong.cache.abandon", key, "no")
		second := lookup(key)
		call("kong.cache.abandon", key)
		return first + "/" + second
	},
	"kong.cache.invalidate": func() string {
		key := cacheKey("inv")
		call("kong.cache.set", key, "v", 60)
		call("kong.cache.invalidate", key)
		out, _ := call("kong.cache.get", key)
		return str(out[0], out[1])
	},

	"kong.node.get_id": func() string { return strconv.Itoa(len(s0("kong.node.get_id"))) },
	"kong.node.get_hostname": func() string {
		if s0("kong.node.get_hostname") != "" {
			return "set"
		}
		return "empty"
	},
	"kong.router.get_route":   func() string { return strconv.Itoa(len(field(r0("kong.router.get_route"), "id"))) },
	"kong.router.get_service": func() string { return field(r0("kong.router.get_service"), "name") },
	"kong.request.get_uri_captures": func() string {
		m, _ := r0("kong.request.get_uri_captures").(map[string]any)
		return sortedValues(m)
	},
	"kong.ip.is_trusted": func() string {
		return fmt.Sprint(r0("kong.ip.is_trusted", "10.1.2.3"), "/", r0("kong.ip.is_trusted", "127.0.0.1"), "/", r0("kong.ip.is_trusted", "not an ip"))
	},
	"kong.plugin.get_id":   func() string { return s0("kong.plugin.get_id") },
	"kong.plugin.get_name": func() string { return s0("kong.plugin.get_name") },

	"kong.credentials.get": func() string {
		c, e1 := call("kong.credentials.get", "keyauth_credentials", "key", "abi-key")
		none, e2 := call("kong.credentials.get", "keyauth_credentials", "key", "nope")
		return field(entity(c), "key") + "/" + field(entity(none), "key") + errText(e1) + errText(e2)
	},
	"kong.credentials.list_by_consumer": func() string {
		c, e := call("kong.client.load_consumer", "abi-user", true)
		if e != nil || entity(c) == nil {
			return "no consumer" + errText(e)
		}
		list, e := call("kong.credentials.list_by_consumer", "keyauth_credentials", field(entity(c), "id"))
		if e != nil {
			return "0" + errText(e)
		}
		l, _ := list[0].([]any)
		return strconv.Itoa(len(l))
	},

	"kong.db.insert": func() string {
		name := "db-" + nonce()
		c, e := call("kong.db.insert", "consumers", map[string]any{"username": name})
		if e != nil {
			return "insert" + errText(e)
		}
		_, e = call("kong.db.insert", "consumers", map[string]any{"username": name})
		return fmt.Sprintf("inserted %s/%s", uuidOrNot(field(entity(c), "id")), dbErrText(e))
	},
	"kong.db.select": func() string {
		name := "db-" + nonce()
		none, e3 := call("kong.db.select", "consumers", "nobody-"+name)
		c, e := call("kong.db.insert", "consumers", map[string]any{"username": name})
		if e != nil {
			return "insert" + errText(e)
		}
		byID, e1 := call("kong.db.select", "consumers", field(entity(c), "id"))
		byName, e2 := call("kong.db.select", "consumers", name)
		return fmt.Sprintf("%s/%s/%v", same(entity(byID), name, "by id"), same(entity(byName), name, "by username"), nilOr(entity(none))) +
			errText(e1) + errText(e2) + errText(e3)
	},
	"kong.db.select_by": func() string {
		name := "db-" + nonce()
		none, e2 := call("kong.db.select_by", "consumers", "custom_id", "nope-"+name)
		if _, e := call("kong.db.insert", "consumers", map[string]any{"username": name, "custom_id": "cid-" + name}); e != nil {
			return "insert" + errText(e)
		}
		c, e1 := call("kong.db.select_by", "consumers", "custom_id", "cid-"+name)
		return same(entity(c), name, "found") + "/" + nilOr(entity(none)) + errText(e1) + errText(e2)
	},
	"kong.db.page": func() string {
		tag := "t" + nonce()
		_, e3 := call("kong.db.page", "consumers", map[string]any{"size": 5000})
		for i := 0; i < 3; i++ {
			if _, e := call("kong.db.insert", "consumers", map[string]any{"username": fmt.Sprintf("%s-%d", tag, i), "tags": []any{tag}}); e != nil {
				return "insert" + errText(e)
			}
		}
		first, e1 := call("kong.db.page", "consumers", map[string]any{"size": 2, "tags": []string{tag}})
		next := ""
		if e1 == nil {
			next, _ = first[1].(string)
		}
		second, e2 := call("kong.db.page", "consumers", map[string]any{"size": 2, "tags": []string{tag}, "offset": next})
		last := ""
		if e2 == nil {
			last, _ = second[1].(string)
		}
		n := func(out []any) int {
			if out == nil {
				return 0
			}
			l, _ := out[0].([]any)
			return len(l)
		}
		nl := func(o string) string {
			if o == "" {
				return "last"
			}
			return "next"
		}
		return fmt.Sprintf("%d %s/%d %s/%s", n(first), nl(next), n(second), nl(last), dbErrText(e3)) + errText(e1) + errText(e2)
	},
	"kong.db.update": func() string {
		name := "db-" + nonce()
		_, e2 := call("kong.db.update", "consumers", "nobody-"+name, map[string]any{"custom_id": "x"})
		c, e := call("kong.db.insert", "consumers", map[string]any{"username": name})
		if e != nil {
			return "insert" + errText(e)
		}
		u, e1 := call("kong.db.update", "consumers", field(entity(c), "id"), map[string]any{"custom_id": "new-cid"})
		return field(entity(u), "custom_id") + "/" + dbErrText(e2) + errText(e1)
	},
	"kong.db.upsert": func() string {
		name := "db-" + nonce()
		a, e1 := call("kong.db.upsert", "consumers", name, map[string]any{"custom_id": "a-" + name})
		b, e2 := call("kong.db.upsert", "consumers", name, map[string]any{"custom_id": "b-" + name})
		out := "?"
		if field(entity(a), "username") == name && field(entity(a), "custom_id") == "a-"+name {
			out = "created"
		}
		if field(entity(b), "id") == field(entity(a), "id") && field(entity(b), "custom_id") == "b-"+name {
			out += "/replaced"
		}
		return out + errText(e1) + errText(e2)
	},
	"kong.db.delete": func() string {
		name := "db-" + nonce()
		_, missing := call("kong.db.delete", "consumers", name)
		if _, e := call("kong.db.insert", "consumers", map[string]any{"username": name}); e != nil {
			return "insert" + errText(e)
		}
		_, e1 := call("kong.db.delete", "consumers", name)
		gone, e2 := call("kong.db.select", "consumers", name)
		return dbErrText(missing) + "/" + nilOr(entity(gone)) + errText(e1) + errText(e2)
	},
}

// serialized picks the fields of kong.log.serialize that every host
// reports the same (conformance/abi's serialized).
func serialized(m map[string]any) string {
	req, _ := m["request"].(map[string]any)
	resp, _ := m["response"].(map[string]any)
	hdrs, _ := req["headers"].(map[string]any)
	rhdrs, _ := resp["headers"].(map[string]any)
	q, _ := req["querystring"].(map[string]any)
	url, _ := req["url"].(string)
	if i := strings.LastIndexByte(url, ':'); i > 0 {
		p, _ := strconv.Atoi(strings.TrimSuffix(url[i+1:], fmt.Sprint(req["uri"])))
		url = url[:i+1] + positive(float64(p))
	}
	route, _ := m["route"].(map[string]any)
	svc, _ := m["service"].(map[string]any)
	multi := hdrs["x-multi"]
	if l, ok := multi.([]any); ok {
		multi = join(l)
	}
	num := func(v any) any {
		if f, ok := v.(float64); ok {
			return strconv.FormatFloat(f, 'f', -1, 64)
		}
		return v
	}
	return fmt.Sprint(req["method"], " ", req["uri"], " ", url, " ", multi, " ", m["upstream_uri"], " ",
		num(m["upstream_status"]), " ", num(resp["status"]), " ", rhdrs["x-upstream"], " ", m["client_ip"], " ",
		svc["name"], " ", route["id"] != nil && len(q) == 2, " ", m["source"])
}

func report(kind, name, observed string) {
	if kind == "called" {
		fmt.Fprintf(os.Stdout, "abi-called %s\n", name)
		return
	}
	b, _ := json.Marshal(observed)
	fmt.Fprintf(os.Stdout, "abi-returned %s %s\n", name, b)
}

// run performs the request's probe when its phase is phase.
func run(phase string) int32 {
	name := header("X-Abi-Probe")
	parts := strings.Split(name, "/")
	if len(parts) < 2 || parts[1] != phase {
		return 0
	}
	key := parts[0]
	if len(parts) > 2 && parts[2] != "out_of_phase" {
		key += "/" + parts[2]
	}
	probe := probes[key]
	if probe == nil {
		report("called", name, "")
		report("returned", name, "the Wasm probe has no "+key)
		return 0
	}
	report("called", name, "")
	obs := probe()
	report("returned", name, obs)
	return 0
}

//go:wasmexport gatehouse_abi_version
func abiVersion() int64 { return 2<<32 | 4<<16 }

//go:wasmexport rewrite
func rewrite() int32 { return run("rewrite") }

//go:wasmexport access
func access() int32 { return run("access") }

//go:wasmexport response
func response() int32 { return run("response") }

//go:wasmexport header_filter
func headerFilter() int32 { return run("header_filter") }

//go:wasmexport body_filter
func bodyFilter(eof int32) int32 { return run("body_filter") }

//go:wasmexport log
func logPhase() int32 { return run("log") }

// timerTargets are the URLs registered timers will request, by timer id.
var timerTargets = map[int64]string{}

//go:wasmexport timer
func timer(id int64) int32 {
	if target, ok := timerTargets[id]; ok {
		delete(timerTargets, id)
		call("kong.http.do", map[string]any{"method": "GET", "url": target, "headers": map[string][]string{"X-Abi-Nonce": {"timer"}}})
	}
	return 0
}

func main() {}
