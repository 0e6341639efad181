package proxywasm

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/plugins-wasm/wasmhost"
)

// moreProperty answers the properties ngx_wasm_module and Kong's runloop
// define beyond those of call.property: request attributes read from
// headers, kong.nginx.subsystem, and the connection's TLS properties
// (NotFound on a plain-HTTP connection, as in Kong).
func (c *call) moreProperty(path string) ([]byte, bool) {
	if !c.stream() {
		return nil, false
	}
	k := c.k
	header := func(name string) ([]byte, bool) {
		vs := c.st.requestHeaders(k).values(name)
		if len(vs) == 0 {
			return nil, false
		}
		return []byte(vs[0]), true
	}
	if logProperties[path] {
		return c.logProperty(path)
	}
	switch path {
	case "kong.nginx.subsystem":
		return []byte("http"), true
	case "request.useragent":
		return header("user-agent")
	case "request.referer":
		return header("referer")
	case "request.size":
		return header("content-length")
	case "request.is_subrequest":
		return []byte("false"), true
	case "connection.mtls":
		if k.Request().Scheme() != "https" {
			return nil, false
		}
		chain, err := k.TLS().ClientCertificateChain()
		return []byte(strconv.FormatBool(err == nil && chain != "")), true
	case "connection.requested_server_name":
		if k.Request().Scheme() != "https" {
			return nil, false
		}
		host, _, _ := strings.Cut(k.Request().Host(), ":")
		return []byte(host), host != ""
	}
	return nil, false
}

// setMoreProperty sets Kong's writable kong.* properties beyond
// kong.ctx.shared.* and kong.response.status (kong/runloop/wasm.lua):
// kong.service.target ("host:port"), kong.service.upstream and
// kong.service.request.scheme, in the request's callbacks (before the
// request is proxied). kong.configuration.* is read-only. It returns the
// status to answer and whether path was one of them.
func (c *call) setMoreProperty(path, v string) (uint32, bool) {
	switch path {
	case "kong.service.target", "kong.service.upstream", "kong.service.request.scheme":
	default:
		if strings.HasPrefix(path, "kong.configuration.") {
			return statusBadArgument, true
		}
		return 0, false
	}
	if c.st.response || c.logging || c.st.local != nil {
		return statusBadArgument, true
	}
	k := c.k
	switch path {
	case "kong.service.target":
		i := strings.LastIndexByte(v, ':')
		if i <= 0 {
			return statusBadArgument, true
		}
		port, err := strconv.Atoi(v[i+1:])
		if err != nil || port < 1 || port > 65535 {
			return statusBadArgument, true
		}
		k.Service().SetTarget(strings.Trim(v[:i], "[]"), port)
	case "kong.service.upstream":
		if v == "" || k.Service().SetUpstream(v) != nil {
			if v != "" {
				k.Log().Err("proxy-wasm: kong.service.upstream: no upstream named " + strconv.Quote(v))
			}
			return statusBadArgument, true
		}
	case "kong.service.request.scheme":
		if v != "http" && v != "https" {
			return statusBadArgument, true
		}
		k.ServiceRequest().SetScheme(v)
	}
	return statusOK, true
}

// hostProps returns the running context's wasmx.* properties
// (ngx_wasm_module's host properties, scoped to a context: the root
// context's are the instance's, an HTTP context's the request's).
func (c *call) hostProps() map[string]string {
	if c.st != nil {
		if c.st.props == nil {
			c.st.props = map[string]string{}
		}
		return c.st.props
	}
	g := c.in.Data.(*guest)
	if g.props == nil {
		g.props = map[string]string{}
	}
	return g.props
}

// ngxVar answers the nginx variables beyond hostabi.VarNames that the
// request defines: uri, args, is_args, query_string, request_method,
// server_protocol, content_length, content_type, hostname, pid, http_NAME,
// arg_NAME, cookie_NAME and, once the response is known, status and
// sent_http_NAME.
func (c *call) ngxVar(name string) (string, bool) {
	k := c.k
	req := k.Request()
	switch name {
	case "uri":
		return req.Path(), true
	case "args", "query_string":
		return req.RawQuery(), req.RawQuery() != ""
	case "is_args":
		if req.RawQuery() != "" {
			return "?", true
		}
		return "", true
	case "request_method":
		return req.Method(), true
	case "server_protocol":
		return fmt.Sprintf("HTTP/%g", req.HTTPVersion()), true
	case "content_length", "content_type":
		v := req.Header(strings.ReplaceAll(name, "_", "-"))
		return v, v != ""
	case "hostname":
		return k.Node().Hostname(), true
	case "pid":
		return strconv.Itoa(os.Getpid()), true
	case "status":
		if !c.st.response && !c.logging {
			return "", false
		}
		return strconv.Itoa(k.Response().Status()), true
	}
	switch {
	case strings.HasPrefix(name, "http_"):
		vs := c.st.requestHeaders(k).values(strings.ReplaceAll(strings.ToLower(name[5:]), "_", "-"))
		return strings.Join(vs, ", "), len(vs) > 0
	case strings.HasPrefix(name, "arg_"):
		return req.QueryArg(name[4:])
	case strings.HasPrefix(name, "cookie_"):
		r := http.Request{Header: http.Header{"Cookie": req.HeaderValues("cookie")}}
		ck, err := r.Cookie(name[7:])
		if err != nil {
			return "", false
		}
		return ck.Value, true
	case strings.HasPrefix(name, "sent_http_"):
		if !c.st.response && !c.logging {
			return "", false
		}
		vs := c.st.responseHeaders(k).values(strings.ReplaceAll(strings.ToLower(name[10:]), "_", "-"))
		return strings.Join(vs, ", "), len(vs) > 0
	}
	return "", false
}

// setNgxVar sets one of the nginx variables Kong's configuration makes
// writable (upstream_uri, upstream_scheme, upstream_host: what the
// request is proxied with) before the request is proxied; any other
// variable nginx knows is immutable and traps, as in ngx_wasm_module; an
// unknown one is NotFound.
func (c *call) setNgxVar(name, v string) uint32 {
	k := c.k
	switch name {
	case "upstream_uri", "upstream_scheme", "upstream_host":
		if c.st.response || c.logging || c.st.local != nil {
			return statusBadArgument
		}
		switch name {
		case "upstream_uri":
			if !strings.HasPrefix(v, "/") {
				return statusBadArgument
			}
			p, q, _ := strings.Cut(v, "?")
			k.ServiceRequest().SetPath(p)
			k.ServiceRequest().SetRawQuery(q)
		case "upstream_scheme":
			if v != "http" && v != "https" {
				return statusBadArgument
			}
			k.ServiceRequest().SetScheme(v)
		default:
			if v == "" {
				return statusBadArgument
			}
			k.ServiceRequest().SetHeader("Host", v)
		}
		return statusOK
	}
	if _, ok := k.Request().Var(name); ok {
		wasmhost.Trapf("cannot set the immutable nginx variable %q", name)
	}
	if _, ok := c.ngxVar(name); ok {
		wasmhost.Trapf("cannot set the immutable nginx variable %q", name)
	}
	return statusNotFound
}

// logProperties are the properties read from kong.log.serialize's record
// in the log phase (proxy_on_log, proxy_on_done, proxy_on_delete); the
// record exists only then, so elsewhere they are NotFound.
var logProperties = map[string]bool{
	"request.time": true, "request.duration": true, "request.total_size": true, "response.total_size": true,
	"upstream.address": true, "upstream.port": true, "connection.tls_version": true,
}

// logProperty answers a logProperties path from the request's record:
// request.time (the start, seconds with milliseconds as the decimal
// part), request.duration (seconds), request.total_size and
// response.total_size (bytes), upstream.address (ip:port) and
// upstream.port of the last try, connection.tls_version (on TLS).
func (c *call) logProperty(path string) ([]byte, bool) {
	if !logProperties[path] || !c.logging {
		return nil, false
	}
	if c.record == nil {
		c.record = c.k.Log().Serialize()
	}
	rec := c.record
	sub := func(m any, key string) any {
		if mm, ok := m.(map[string]any); ok {
			return mm[key]
		}
		return nil
	}
	num := func(v any) (int64, bool) {
		switch n := v.(type) {
		case int:
			return int64(n), true
		case int64:
			return n, true
		case float64:
			return int64(n), true
		}
		return 0, false
	}
	out := func(s string) ([]byte, bool) { return []byte(s), true }
	switch path {
	case "request.time":
		if ms, ok := num(rec["started_at"]); ok && ms > 0 {
			return out(fmt.Sprintf("%d.%03d", ms/1000, ms%1000))
		}
	case "request.duration":
		if ms, ok := num(sub(rec["latencies"], "request")); ok && ms >= 0 {
			return out(fmt.Sprintf("%d.%03d", ms/1000, ms%1000))
		}
	case "request.total_size", "response.total_size":
		if n, ok := num(sub(rec[strings.TrimSuffix(path, ".total_size")], "size")); ok {
			return out(strconv.FormatInt(n, 10))
		}
	case "upstream.address", "upstream.port":
		tries, _ := rec["tries"].([]any)
		if len(tries) == 0 {
			return nil, false
		}
		last := tries[len(tries)-1]
		ip, _ := sub(last, "ip").(string)
		port, ok := num(sub(last, "port"))
		if ip == "" || !ok {
			return nil, false
		}
		if path == "upstream.port" {
			return out(strconv.FormatInt(port, 10))
		}
		return out(net.JoinHostPort(ip, strconv.FormatInt(port, 10)))
	case "connection.tls_version":
		if v, ok := sub(sub(rec["request"], "tls"), "version").(string); ok && v != "" {
			return out(v)
		}
	}
	return nil, false
}
