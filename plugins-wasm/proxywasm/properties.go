package proxywasm

import (
	"strconv"
	"strings"
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
