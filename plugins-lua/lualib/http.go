package lualib

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/hostabi"
)

// MaxHTTPBody bounds the response body resty.http reads into memory.
const MaxHTTPBody = 64 << 20

// defaultHTTPTimeout is lua-resty-http's default (the cosocket default).
const defaultHTTPTimeout = 60 * time.Second

var (
	defaultHTTPClient  = newHTTPClient(false)
	insecureHTTPClient = newHTTPClient(true)
)

func newHTTPClient(insecure bool) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: insecure} //nolint:gosec // ssl_verify = false asks for it
	return &http.Client{
		Transport: tr,
		Timeout:   defaultHTTPTimeout,
		// lua-resty-http does not follow redirects.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// httpClientFor returns the client for a request with ssl_verify as given.
func (o *Options) httpClientFor(verify bool) *http.Client {
	if o.HTTPClient == nil {
		if verify {
			return defaultHTTPClient
		}
		return insecureHTTPClient
	}
	c := *o.HTTPClient
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if !verify {
		if tr, ok := c.Transport.(*http.Transport); ok {
			tr = tr.Clone()
			if tr.TLSClientConfig == nil {
				tr.TLSClientConfig = &tls.Config{}
			}
			tr.TLSClientConfig.InsecureSkipVerify = true
			c.Transport = tr
		}
	}
	return &c
}

func (o *Options) httpContext(L *lua.LState) context.Context {
	if o.HTTPContext != nil {
		if ctx := o.HTTPContext(L); ctx != nil {
			return ctx
		}
	}
	return stateContext(L)
}

// httpConn is the state of one resty.http object.
type httpConn struct {
	connect, send, read time.Duration
	scheme, host        string
	port                int
}

func (h *httpConn) timeout() time.Duration {
	return h.connect + h.send + h.read
}

// httpErr maps Go errors to lua-resty-http's texts.
func httpErr(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.Name + " could not be resolved"
	}
	return err.Error()
}

func httpLoader(o *Options) lua.LGFunction {
	return func(L *lua.LState) int {
		mod := L.NewTable()
		mod.RawSetString("_VERSION", lua.LString("0.17.1"))
		setFuncs(L, mod, map[string]lfunc{
			"new": func(c *call) int {
				return c.push(newHTTPObject(c.L, o))
			},
			"parse_uri": func(c *call) int {
				parts, err := parseRestyURI(c.str(2))
				if err != nil {
					return c.nilErr("%s", err)
				}
				t := c.L.NewTable()
				for _, p := range parts {
					t.Append(p)
				}
				return c.push(t)
			},
		})
		L.Push(mod)
		return 1
	}
}

// parseRestyURI splits a URI into scheme, host, port, path, query as
// lua-resty-http's parse_uri does.
func parseRestyURI(raw string) ([]lua.LValue, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, errors.New("bad uri: " + raw)
	}
	port := 80
	if u.Scheme == "https" {
		port = 443
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, errors.New("bad uri: " + raw)
		}
		port = n
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return []lua.LValue{lua.LString(u.Scheme), lua.LString(u.Hostname()), lua.LNumber(port), lua.LString(path), lua.LString(u.RawQuery)}, nil
}

func newHTTPObject(L *lua.LState, o *Options) *lua.LTable {
	h := &httpConn{connect: defaultHTTPTimeout, send: defaultHTTPTimeout, read: defaultHTTPTimeout}
	t := L.NewTable()
	ms := func(c *call, n int) time.Duration {
		v := c.num(n)
		if v < 0 {
			v = 0
		}
		return time.Duration(v * float64(time.Millisecond))
	}
	setFuncs(L, t, map[string]lfunc{
		"set_timeout": func(c *call) int {
			d := ms(c, 2)
			h.connect, h.send, h.read = d/3, d/3, d-2*(d/3)
			return 0
		},
		"set_timeouts": func(c *call) int {
			h.connect, h.send, h.read = ms(c, 2), ms(c, 3), ms(c, 4)
			return 0
		},
		"connect": func(c *call) int {
			switch v := c.L.Get(2).(type) {
			case *lua.LTable:
				h.scheme = lua.LVAsString(v.RawGetString("scheme"))
				h.host = lua.LVAsString(v.RawGetString("host"))
				if n, ok := v.RawGetString("port").(lua.LNumber); ok {
					h.port = int(n)
				}
			default:
				h.host = c.str(2)
				h.port = int(c.optInt(3, 80))
			}
			if h.scheme == "" {
				h.scheme = "http"
			}
			if h.port == 0 {
				h.port = 80
				if h.scheme == "https" {
					h.port = 443
				}
			}
			if h.host == "" {
				return c.nilErr("no host")
			}
			return c.push(lua.LNumber(1))
		},
		"set_keepalive": func(c *call) int { return c.push(lua.LNumber(1)) },
		"close":         func(c *call) int { return c.push(lua.LNumber(1)) },
		"request": func(c *call) int {
			params := c.optTable(2)
			if h.host == "" {
				return c.nilErr("not connected")
			}
			base := h.scheme + "://" + net.JoinHostPort(h.host, strconv.Itoa(h.port))
			return doHTTP(c, o, h, base, params, true)
		},
		"request_uri": func(c *call) int {
			uri := c.str(2)
			params := c.optTable(3)
			return doHTTP(c, o, h, uri, params, false)
		},
	})
	return t
}

// headersTable builds a response headers table: canonical names, values
// as strings (arrays when repeated), looked up case-insensitively (and
// with '_' for '-') through its metatable, as lua-resty-http's
// http_headers does.
func headersTable(L *lua.LState, hdr http.Header) *lua.LTable {
	t := L.NewTable()
	names := make([]string, 0, len(hdr))
	for k := range hdr {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		vs := hdr[k]
		if len(vs) == 1 {
			t.RawSetString(k, lua.LString(vs[0]))
		} else {
			list := L.NewTable()
			for _, v := range vs {
				list.Append(lua.LString(v))
			}
			t.RawSetString(k, list)
		}
	}
	mt := L.NewTable()
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		tbl := L.CheckTable(1)
		key, ok := L.Get(2).(lua.LString)
		if !ok {
			L.Push(lua.LNil)
			return 1
		}
		canon := http.CanonicalHeaderKey(strings.ReplaceAll(string(key), "_", "-"))
		L.Push(tbl.RawGetString(canon))
		return 1
	}))
	L.SetMetatable(t, mt)
	return t
}

func doHTTP(c *call, o *Options, h *httpConn, uri string, params *lua.LTable, streaming bool) int {
	method, body, verify := "GET", "", true
	var query lua.LValue = lua.LNil
	reqHeaders := http.Header{}
	path := ""
	if params != nil {
		if m, ok := params.RawGetString("method").(lua.LString); ok {
			method = strings.ToUpper(string(m))
		}
		switch b := params.RawGetString("body").(type) {
		case lua.LString:
			body = string(b)
		case *lua.LTable:
			var sb strings.Builder
			for i := 1; i <= b.Len(); i++ {
				sb.WriteString(lua.LVAsString(b.RawGetInt(i)))
			}
			body = sb.String()
		}
		if params.RawGetString("ssl_verify") == lua.LFalse {
			verify = false
		}
		query = params.RawGetString("query")
		if p, ok := params.RawGetString("path").(lua.LString); ok {
			path = string(p)
		}
		if hs, ok := params.RawGetString("headers").(*lua.LTable); ok {
			hs.ForEach(func(k, v lua.LValue) {
				name := lua.LVAsString(k)
				if list, ok := v.(*lua.LTable); ok {
					for i := 1; i <= list.Len(); i++ {
						reqHeaders.Add(name, lua.LVAsString(list.RawGetInt(i)))
					}
					return
				}
				reqHeaders.Add(name, lua.LVAsString(v))
			})
		}
	}
	full := uri
	if streaming {
		if path == "" {
			path = "/"
		}
		full = uri + path
	}
	u, err := url.Parse(full)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return c.nilErr("bad uri: %s", full)
	}
	switch q := query.(type) {
	case lua.LString:
		u.RawQuery = strings.TrimPrefix(string(q), "?")
	case *lua.LTable:
		enc, err := EncodeArgs(q)
		if err != nil {
			return c.nilErr("%v", err)
		}
		u.RawQuery = enc
	}
	var (
		status int
		header http.Header
		data   []byte
	)
	if o.Outbound != nil {
		if ctx, out := o.Outbound(c.L); out != nil {
			hdr := map[string][]string{}
			for k, vs := range reqHeaders {
				hdr[k] = vs
			}
			if len(hdr["User-Agent"]) == 0 {
				hdr["User-Agent"] = []string{"lua-resty-http/0.17.1 (Lua) ngx_lua/10026"}
			}
			res, err := out.Do(ctx, hostabi.HTTPRequest{Method: method, URL: u.String(), Header: hdr, Body: []byte(body), Timeout: h.timeout()})
			if err != nil {
				return c.nilErr("%s", httpErr(err))
			}
			status, header, data = res.Status, http.Header(res.Header), res.Body
		}
	}
	if status == 0 {
		var err error
		status, header, data, err = o.doDirect(method, u, reqHeaders, body, verify, h.timeout(), o.httpContext(c.L))
		if err != nil {
			return c.nilErr("%s", err.Error())
		}
	}
	res := c.L.NewTable()
	res.RawSetString("status", lua.LNumber(status))
	res.RawSetString("reason", lua.LString(http.StatusText(status)))
	res.RawSetString("headers", headersTable(c.L, header))
	res.RawSetString("has_body", lua.LBool(method != "HEAD" && len(data) > 0))
	if streaming {
		read := false
		setFuncs(c.L, res, map[string]lfunc{
			"read_body": func(c *call) int { return c.push(lua.LString(data)) },
			"body_reader": func(c *call) int {
				if read {
					return c.push(lua.LNil)
				}
				read = true
				return c.push(lua.LString(data))
			},
		})
		// body_reader is a field holding an iterator function.
		res.RawSetString("body_reader", res.RawGetString("body_reader"))
	} else {
		res.RawSetString("body", lua.LString(data))
	}
	return c.push(res)
}

// doDirect sends a resty.http request with Go's client, bounded by ctx and
// timeout; errors carry lua-resty-http's texts.
func (o *Options) doDirect(method string, u *url.URL, reqHeaders http.Header, body string, verify bool,
	timeout time.Duration, parent context.Context) (int, http.Header, []byte, error) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return 0, nil, nil, err
	}
	for k, vs := range reqHeaders {
		if strings.EqualFold(k, "Host") {
			req.Host = vs[0]
			continue
		}
		req.Header[k] = vs
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "lua-resty-http/0.17.1 (Lua) ngx_lua/10026")
	}
	resp, err := o.httpClientFor(verify).Do(req)
	if err != nil {
		return 0, nil, nil, errors.New(httpErr(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxHTTPBody+1))
	if err != nil {
		return 0, nil, nil, errors.New(httpErr(err))
	}
	if len(data) > MaxHTTPBody {
		return 0, nil, nil, fmt.Errorf("response body larger than %d bytes", MaxHTTPBody)
	}
	return resp.StatusCode, resp.Header, data, nil
}
