package pdk

import (
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-lua/luavalue"
)

// ngxConstants are OpenResty's constants: log levels, return codes, HTTP
// methods and statuses. Install sets those lualib did not.
var ngxConstants = map[string]int{
	"STDERR": 0, "EMERG": 1, "ALERT": 2, "CRIT": 3, "ERR": 4, "WARN": 5, "NOTICE": 6, "INFO": 7, "DEBUG": 8,
	"OK": 0, "ERROR": -1, "AGAIN": -2, "DONE": -4, "DECLINED": -5,
	"HTTP_GET": 2, "HTTP_HEAD": 4, "HTTP_POST": 8, "HTTP_PUT": 16, "HTTP_DELETE": 32, "HTTP_MKCOL": 64,
	"HTTP_COPY": 128, "HTTP_MOVE": 256, "HTTP_OPTIONS": 512, "HTTP_PROPFIND": 1024, "HTTP_PROPPATCH": 2048,
	"HTTP_LOCK": 4096, "HTTP_UNLOCK": 8192, "HTTP_PATCH": 16384, "HTTP_TRACE": 32768,
	"HTTP_CONTINUE": 100, "HTTP_SWITCHING_PROTOCOLS": 101, "HTTP_OK": 200, "HTTP_CREATED": 201,
	"HTTP_ACCEPTED": 202, "HTTP_NO_CONTENT": 204, "HTTP_PARTIAL_CONTENT": 206, "HTTP_SPECIAL_RESPONSE": 300,
	"HTTP_MOVED_PERMANENTLY": 301, "HTTP_MOVED_TEMPORARILY": 302, "HTTP_SEE_OTHER": 303,
	"HTTP_NOT_MODIFIED": 304, "HTTP_TEMPORARY_REDIRECT": 307, "HTTP_PERMANENT_REDIRECT": 308,
	"HTTP_BAD_REQUEST": 400, "HTTP_UNAUTHORIZED": 401, "HTTP_PAYMENT_REQUIRED": 402, "HTTP_FORBIDDEN": 403,
	"HTTP_NOT_FOUND": 404, "HTTP_NOT_ALLOWED": 405, "HTTP_NOT_ACCEPTABLE": 406, "HTTP_REQUEST_TIMEOUT": 408,
	"HTTP_CONFLICT": 409, "HTTP_GONE": 410, "HTTP_UPGRADE_REQUIRED": 426, "HTTP_TOO_MANY_REQUESTS": 429,
	"HTTP_CLOSE": 444, "HTTP_ILLEGAL": 451, "HTTP_INTERNAL_SERVER_ERROR": 500,
	"HTTP_METHOD_NOT_IMPLEMENTED": 501, "HTTP_BAD_GATEWAY": 502, "HTTP_SERVICE_UNAVAILABLE": 503,
	"HTTP_GATEWAY_TIMEOUT": 504, "HTTP_VERSION_NOT_SUPPORTED": 505, "HTTP_INSUFFICIENT_STORAGE": 507,
}

// ngxMethodNames maps ngx.HTTP_* method constants to names
// (ngx.req.set_method).
var ngxMethodNames = map[int]string{2: "GET", 4: "HEAD", 8: "POST", 16: "PUT", 32: "DELETE", 64: "MKCOL",
	128: "COPY", 256: "MOVE", 512: "OPTIONS", 1024: "PROPFIND", 2048: "PROPPATCH", 4096: "LOCK",
	8192: "UNLOCK", 16384: "PATCH", 32768: "TRACE"}

// kongErrorPages are the statuses Kong's nginx configuration answers with
// its own error body (error_page ... /kong_error_handler): ngx.exit with
// one of them and no output sends Kong's error body.
var kongErrorPages = map[int]bool{400: true, 404: true, 405: true, 408: true, 411: true, 412: true,
	413: true, 414: true, 417: true, 494: true, 500: true, 502: true, 503: true, 504: true}

func (b *Binding) installNgx(ngx *lua.LTable) {
	L := b.L
	for name, v := range ngxConstants {
		setAbsent(ngx, name, lua.LNumber(v))
	}
	setAbsent(ngx, "null", luavalue.Null(L))
	setAbsent(ngx, "ctx", b.ctxs[ctxNgx].proxy())
	setAbsent(ngx, "var", b.varTable())
	setAbsent(ngx, "header", b.ngxHeaderTable())
	setAbsent(ngx, "arg", b.argTable())
	req, ok := ngx.RawGetString("req").(*lua.LTable)
	if !ok {
		req = L.NewTable()
		ngx.RawSetString("req", req)
	}
	b.fillReq(req)

	setAbsent(ngx, "say", b.bound("ngx.say", func(L *lua.LState, k hostabi.Kong) int { return b.output(L, k, "ngx.say", true) }))
	setAbsent(ngx, "print", b.bound("ngx.print", func(L *lua.LState, k hostabi.Kong) int { return b.output(L, k, "ngx.print", false) }))
	setAbsent(ngx, "flush", b.free(func(L *lua.LState) int { L.Push(lua.LNumber(1)); return 1 }))
	setAbsent(ngx, "eof", b.bound("ngx.eof", func(L *lua.LState, k hostabi.Kong) int {
		b.sendOutput(k)
		L.Push(lua.LNumber(1))
		return 1
	}))
	setAbsent(ngx, "exit", b.bound("ngx.exit", b.ngxExit))
	setAbsent(ngx, "log", b.free(b.ngxLog))

	prev := ngx.RawGetString("get_phase")
	b.legacyGetPhase = prev
	ngx.RawSetString("get_phase", b.free(func(L *lua.LState) int {
		if b.k != nil {
			L.Push(lua.LString(b.k.Phase().String()))
			return 1
		}
		if fn, ok := b.legacyGetPhase.(*lua.LFunction); ok {
			L.Push(fn)
			L.Call(0, 1)
			return 1
		}
		L.Push(lua.LString("init"))
		return 1
	}))

	// ngx.status is a field of ngx read and written through its
	// metatable, as in OpenResty.
	ngx.RawSetString("status", lua.LNil)
	mt, ok := L.GetMetatable(ngx).(*lua.LTable)
	if !ok {
		mt = L.NewTable()
		L.SetMetatable(ngx, mt)
	}
	prevIndex, prevNewIndex := mt.RawGetString("__index"), mt.RawGetString("__newindex")
	mt.RawSetString("__index", b.free(func(L *lua.LState) int {
		key := L.Get(2)
		if s, ok := key.(lua.LString); ok && s == "status" {
			L.Push(lua.LNumber(b.ngxStatus()))
			return 1
		}
		switch p := prevIndex.(type) {
		case *lua.LTable:
			L.Push(L.GetField(p, lua.LVAsString(key)))
		case *lua.LFunction:
			L.Push(p)
			L.Push(L.Get(1))
			L.Push(key)
			L.Call(2, 1)
		default:
			L.Push(lua.LNil)
		}
		return 1
	}))
	mt.RawSetString("__newindex", b.free(func(L *lua.LState) int {
		key, v := L.Get(2), L.Get(3)
		if s, ok := key.(lua.LString); ok && s == "status" {
			b.setNgxStatus(L, v)
			return 0
		}
		if p, ok := prevNewIndex.(*lua.LFunction); ok {
			L.Push(p)
			L.Push(L.Get(1))
			L.Push(key)
			L.Push(v)
			L.Call(3, 0)
			return 0
		}
		L.CheckTable(1).RawSet(key, v)
		return 0
	}))
}

func (b *Binding) ngxStatus() int {
	k := b.k
	if k == nil {
		return 0
	}
	ph := k.Phase()
	if ph == hostabi.PhaseRewrite || ph == hostabi.PhaseAccess {
		return b.status
	}
	return k.Response().Status()
}

func (b *Binding) setNgxStatus(L *lua.LState, v lua.LValue) {
	k := b.k
	if k == nil {
		L.RaiseError("ngx.status cannot be set outside of a request")
	}
	n, ok := v.(lua.LNumber)
	if !ok {
		L.RaiseError("ngx.status must be a number, got %s", typeName(v))
	}
	if !hostabi.Allowed(hostabi.OpResponseSetStatus, k.Phase()) {
		// OpenResty only logs this: the headers are already sent.
		k.Log().Err("attempt to set ngx.status after sending out response headers")
		return
	}
	defer recoverLua(L)
	b.status = int(n)
	k.Response().SetStatus(int(n))
}

// output is ngx.say / ngx.print: the arguments appended to the buffered
// output (rewrite and access only).
func (b *Binding) output(L *lua.LState, k hostabi.Kong, name string, nl bool) int {
	ph := k.Phase()
	if ph != hostabi.PhaseRewrite && ph != hostabi.PhaseAccess {
		L.RaiseError("API disabled in the context of %s (%s)", ph, name)
	}
	for i := 1; i <= L.GetTop(); i++ {
		b.out = appendOutput(L, b.out, L.Get(i), 0)
	}
	if nl {
		b.out = append(b.out, '\n')
	}
	L.Push(lua.LNumber(1))
	return 1
}

func appendOutput(L *lua.LState, out []byte, v lua.LValue, depth int) []byte {
	switch x := v.(type) {
	case lua.LString:
		return append(out, x...)
	case lua.LNumber, lua.LBool:
		return append(out, x.String()...)
	case *lua.LNilType:
		return append(out, "nil"...)
	case *lua.LTable:
		if depth > 16 {
			L.RaiseError("output table nested too deep")
		}
		for i := 1; i <= x.Len(); i++ {
			out = appendOutput(L, out, x.RawGetInt(i), depth+1)
		}
		return out
	}
	if luavalue.IsNull(v) {
		return append(out, "null"...)
	}
	L.RaiseError("bad argument to output: string, number, boolean, nil, ngx.null or array table expected, got %s", typeName(v))
	return out
}

// sendOutput sends the buffered output as the response, now.
func (b *Binding) sendOutput(k hostabi.Kong) {
	if k.Response().Exited() {
		return
	}
	st := b.status
	if st == 0 {
		st = 200
	}
	k.Response().Exit(st, append([]byte(nil), b.out...), nil)
	b.out = b.out[:0]
}

// ngxExit is ngx.exit(status): in rewrite, access and response, a status
// of 200 or more ends the request with the buffered output as the body
// (or Kong's error body for the statuses Kong's error pages cover, when
// nothing was output); ngx.OK (0) ends the handler only; ngx.ERROR fails
// it. In every phase the handler ends.
func (b *Binding) ngxExit(L *lua.LState, k hostabi.Kong) int {
	n, ok := L.Get(1).(lua.LNumber)
	if !ok {
		L.ArgError(1, "number expected, got "+typeName(L.Get(1)))
	}
	st := int(n)
	switch {
	case st == -1:
		L.RaiseError("request ended with ngx.ERROR")
	case st < 0 || (st > 0 && st < 200):
		L.RaiseError("bad argument to ngx.exit: status %d", st)
	}
	ph := k.Phase()
	if st >= 200 && (ph == hostabi.PhaseRewrite || ph == hostabi.PhaseAccess || ph == hostabi.PhaseResponse) &&
		!k.Response().Exited() {
		switch {
		case len(b.out) > 0:
			k.Response().Exit(st, append([]byte(nil), b.out...), nil)
			b.out = b.out[:0]
		case kongErrorPages[st]:
			k.Response().Error(st, "", nil)
		default:
			k.Response().Exit(st, nil, nil)
		}
	}
	b.exit(L)
	return 0
}

var ngxLevels = [...]string{"crit", "crit", "crit", "crit", "err", "warn", "notice", "info", "debug"}

// ngxLog is ngx.log(level, ...): the arguments concatenated (nil as
// "nil", booleans as text, ngx.null as "null").
func (b *Binding) ngxLog(L *lua.LState) int {
	lv, ok := L.Get(1).(lua.LNumber)
	if !ok {
		L.ArgError(1, "number expected, got "+typeName(L.Get(1)))
	}
	if lv < 0 || lv > 8 {
		L.ArgError(1, "bad log level")
	}
	var sb strings.Builder
	for i := 2; i <= L.GetTop(); i++ {
		v := L.Get(i)
		switch v.(type) {
		case *lua.LTable:
			if L.GetMetaField(v, "__tostring") == lua.LNil {
				L.ArgError(i, "expected table to have a __tostring metamethod")
			}
		case *lua.LFunction:
			L.ArgError(i, "string, number, boolean, or nil expected, got function")
		}
		sb.WriteString(tostring(L, v))
	}
	b.writeLog(L, ngxLevels[int(lv)], sb.String())
	return 0
}

// writeLog sends a line to the bound request's log, or Env.Logger.
func (b *Binding) writeLog(L *lua.LState, level, msg string) {
	k := b.k
	if k == nil {
		if b.env.Logger != nil {
			b.env.Logger(level, msg)
		}
		return
	}
	defer recoverLua(L)
	lg := k.Log()
	switch level {
	case "debug":
		lg.Debug(msg)
	case "info":
		lg.Info(msg)
	case "notice":
		lg.Notice(msg)
	case "warn":
		lg.Warn(msg)
	case "err":
		lg.Err(msg)
	default:
		lg.Crit(msg)
	}
}

// varTable is ngx.var.
func (b *Binding) varTable() *lua.LTable {
	L := b.L
	t := L.NewTable()
	mt := L.NewTable()
	mt.RawSetString("__index", b.bound("ngx.var", func(L *lua.LState, k hostabi.Kong) int {
		name, ok := L.Get(2).(lua.LString)
		if !ok {
			L.Push(lua.LNil)
			return 1
		}
		v, found := b.ngxVar(k, string(name))
		return pushOptString(L, v, found)
	}))
	mt.RawSetString("__newindex", b.bound("ngx.var", func(L *lua.LState, k hostabi.Kong) int {
		name := checkString(L, 2, "variable name")
		v := L.Get(3)
		var s string
		switch x := v.(type) {
		case lua.LString:
			s = string(x)
		case lua.LNumber:
			s = x.String()
		case *lua.LNilType:
		default:
			L.RaiseError("bad variable value for %q: %s", name, typeName(v))
		}
		sr := k.ServiceRequest()
		switch name {
		case "upstream_uri":
			p, q, hasQ := strings.Cut(s, "?")
			sr.SetPath(p)
			if hasQ {
				sr.SetRawQuery(q)
			}
		case "upstream_host":
			sr.SetHeader("Host", s)
		case "upstream_scheme":
			sr.SetScheme(s)
		default:
			L.RaiseError("variable %q not changeable", name)
		}
		if b.vars == nil {
			b.vars = map[string]string{}
		}
		b.vars[name] = s
		return 0
	}))
	L.SetMetatable(t, mt)
	return t
}

// ngxVar answers ngx.var.NAME.
func (b *Binding) ngxVar(k hostabi.Kong, name string) (string, bool) {
	if v, ok := b.vars[name]; ok {
		return v, true
	}
	r := k.Request()
	switch {
	case strings.HasPrefix(name, "http_"):
		h := strings.ReplaceAll(name[5:], "_", "-")
		vs := r.HeaderValues(h)
		if len(vs) == 0 {
			return "", false
		}
		sep := ", "
		if strings.EqualFold(h, "cookie") {
			sep = "; "
		}
		return strings.Join(vs, sep), true
	case strings.HasPrefix(name, "arg_"):
		return rawArg(r.RawQuery(), name[4:])
	case strings.HasPrefix(name, "cookie_"):
		return cookie(r.HeaderValues("cookie"), name[7:])
	}
	switch name {
	case "uri":
		return r.Path(), true
	case "request_method":
		return r.Method(), true
	case "args", "query_string":
		q := r.RawQuery()
		return q, q != ""
	case "is_args":
		if r.RawQuery() != "" {
			return "?", true
		}
		return "", true
	case "content_type":
		return requestHeader(k, "content-type")
	case "content_length":
		return requestHeader(k, "content-length")
	case "server_name", "http_host":
		return r.Host(), true
	case "hostname":
		return k.Node().Hostname(), true
	}
	return r.Var(name)
}

// rawArg is nginx's $arg_NAME: the raw (not decoded) value of the first
// argument named name, case-insensitively.
func rawArg(query, name string) (string, bool) {
	for query != "" {
		var part string
		part, query, _ = strings.Cut(query, "&")
		k, v, _ := strings.Cut(part, "=")
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// cookie is nginx's $cookie_NAME.
func cookie(headers []string, name string) (string, bool) {
	for _, h := range headers {
		for _, part := range strings.Split(h, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && strings.EqualFold(k, name) {
				return v, true
			}
		}
	}
	return "", false
}

// ngxHeaderTable is ngx.header: response headers. Writes go through
// kong.response's set/clear; in rewrite and access, reads answer what this
// call set (the response does not exist yet), later the response's.
func (b *Binding) ngxHeaderTable() *lua.LTable {
	L := b.L
	t := L.NewTable()
	mt := L.NewTable()
	mt.RawSetString("__index", b.bound("ngx.header", func(L *lua.LState, k hostabi.Kong) int {
		name, ok := L.Get(2).(lua.LString)
		if !ok {
			L.Push(lua.LNil)
			return 1
		}
		n := lowerDash(string(name))
		var vs []string
		if ph := k.Phase(); ph == hostabi.PhaseRewrite || ph == hostabi.PhaseAccess {
			vs = b.hdr[n]
		} else {
			vs = headerLookup(k.Response().Headers(), n)
		}
		switch len(vs) {
		case 0:
			L.Push(lua.LNil)
		case 1:
			L.Push(lua.LString(vs[0]))
		default:
			arr := L.CreateTable(len(vs), 0)
			for _, v := range vs {
				arr.Append(lua.LString(v))
			}
			L.Push(arr)
		}
		return 1
	}))
	mt.RawSetString("__newindex", b.bound("ngx.header", func(L *lua.LState, k hostabi.Kong) int {
		name := lowerDash(checkString(L, 2, "header name"))
		v := L.Get(3)
		r := k.Response()
		if b.hdr == nil {
			b.hdr = map[string][]string{}
		}
		if v == lua.LNil {
			r.ClearHeader(name)
			delete(b.hdr, name)
			return 0
		}
		vs := headerValues(L, name, v, false)
		r.SetHeader(name, vs[0])
		for _, x := range vs[1:] {
			r.AddHeader(name, x)
		}
		b.hdr[name] = vs
		return 0
	}))
	L.SetMetatable(t, mt)
	return t
}

// argTable is ngx.arg: the body_filter chunk (1) and eof flag (2).
func (b *Binding) argTable() *lua.LTable {
	L := b.L
	t := L.NewTable()
	mt := L.NewTable()
	mt.RawSetString("__index", b.bound("ngx.arg", func(L *lua.LState, k hostabi.Kong) int {
		if k.Phase() != hostabi.PhaseBodyFilter {
			L.Push(lua.LNil)
			return 1
		}
		switch L.Get(2) {
		case lua.LNumber(1):
			L.Push(lua.LString(b.call.Chunk))
		case lua.LNumber(2):
			L.Push(lua.LBool(b.call.EOF))
		default:
			L.Push(lua.LNil)
		}
		return 1
	}))
	mt.RawSetString("__newindex", b.bound("ngx.arg", func(L *lua.LState, k hostabi.Kong) int {
		if k.Phase() != hostabi.PhaseBodyFilter {
			L.RaiseError("ngx.arg cannot be set in %s phase (only in: body_filter)", k.Phase())
		}
		v := L.Get(3)
		switch L.Get(2) {
		case lua.LNumber(1):
			switch x := v.(type) {
			case *lua.LNilType:
				b.call.Chunk = []byte{}
			case lua.LString:
				b.call.Chunk = []byte(x)
			case lua.LNumber:
				b.call.Chunk = []byte(x.String())
			case *lua.LTable:
				b.call.Chunk = appendOutput(L, nil, x, 0)
			default:
				L.RaiseError("bad chunk data type: %s", typeName(v))
			}
		case lua.LNumber(2):
			b.call.EOF = lua.LVAsBool(v)
		default:
			L.RaiseError("ngx.arg: index out of range")
		}
		b.chunkSet = true
		return 0
	}))
	L.SetMetatable(t, mt)
	return t
}

// fillReq adds ngx.req's request-bound functions to req.
func (b *Binding) fillReq(req *lua.LTable) {
	reg := func(name string, f kongFn) { setAbsent(req, name, b.bound("ngx.req."+name, f)) }
	reg("get_headers", func(L *lua.LState, k hostabi.Kong) int {
		max := checkMax(L, 1, "max_headers")
		return b.headersTable(L, k.Request().Headers(), max)
	})
	reg("get_uri_args", func(L *lua.LState, k hostabi.Kong) int {
		max := checkMax(L, 1, "max_args")
		q, ok := b.vars["\x00args"]
		if !ok {
			q = k.Request().RawQuery()
		}
		return b.pushArgs(L, q, max)
	})
	reg("get_post_args", func(L *lua.LState, k hostabi.Kong) int {
		max := checkMax(L, 1, "max_args")
		body, err := k.Request().RawBody()
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString(err.Error()))
			return 2
		}
		if ct, _ := requestHeader(k, "content-type"); mediaType(ct) != "application/x-www-form-urlencoded" {
			L.Push(L.NewTable())
			return 1
		}
		return b.pushArgs(L, string(body), max)
	})
	reg("get_method", func(L *lua.LState, k hostabi.Kong) int {
		if m, ok := b.vars["\x00method"]; ok {
			L.Push(lua.LString(m))
			return 1
		}
		L.Push(lua.LString(k.Request().Method()))
		return 1
	})
	reg("set_method", func(L *lua.LState, k hostabi.Kong) int {
		n, ok := L.Get(1).(lua.LNumber)
		name := ngxMethodNames[int(n)]
		if !ok || name == "" {
			L.ArgError(1, "unsupported HTTP method")
		}
		k.ServiceRequest().SetMethod(name)
		b.setVar("\x00method", name)
		return 0
	})
	reg("http_version", func(L *lua.LState, k hostabi.Kong) int {
		L.Push(lua.LNumber(k.Request().HTTPVersion()))
		return 1
	})
	reg("set_header", func(L *lua.LState, k hostabi.Kong) int {
		name := checkString(L, 1, "header name")
		v := L.Get(2)
		sr := k.ServiceRequest()
		if v == lua.LNil {
			sr.ClearHeader(name)
			return 0
		}
		vs := headerValues(L, name, v, false)
		sr.SetHeader(name, vs[0])
		for _, x := range vs[1:] {
			sr.AddHeader(name, x)
		}
		return 0
	})
	reg("clear_header", func(L *lua.LState, k hostabi.Kong) int {
		k.ServiceRequest().ClearHeader(checkString(L, 1, "header name"))
		return 0
	})
	reg("read_body", func(L *lua.LState, k hostabi.Kong) int {
		hostabi.Check(hostabi.OpRequestRawBody, k.Phase())
		return 0
	})
	reg("discard_body", func(L *lua.LState, k hostabi.Kong) int { return 0 })
	reg("get_body_data", func(L *lua.LState, k hostabi.Kong) int {
		if s, ok := b.vars["\x00body"]; ok {
			L.Push(lua.LString(s))
			return 1
		}
		body, err := k.Request().RawBody()
		if err != nil || len(body) == 0 {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(lua.LString(body))
		return 1
	})
	reg("get_body_file", func(L *lua.LState, k hostabi.Kong) int {
		L.Push(lua.LNil)
		return 1
	})
	reg("set_body_data", func(L *lua.LState, k hostabi.Kong) int {
		s := checkString(L, 1, "body")
		k.ServiceRequest().SetRawBody([]byte(s))
		b.setVar("\x00body", s)
		return 0
	})
	reg("set_uri", func(L *lua.LState, k hostabi.Kong) int {
		u := checkString(L, 1, "uri")
		if u == "" {
			L.ArgError(1, "attempt to use zero-length uri")
		}
		k.ServiceRequest().SetPath(u)
		b.setVar("uri", u)
		return 0
	})
	reg("set_uri_args", func(L *lua.LState, k hostabi.Kong) int {
		var q string
		switch x := L.Get(1).(type) {
		case lua.LString:
			q = string(x)
		case lua.LNumber:
			q = x.String()
		case *lua.LTable:
			q = queryFromTable(L, x)
		default:
			L.ArgError(1, "string or table expected, got "+typeName(x))
		}
		k.ServiceRequest().SetRawQuery(q)
		b.setVar("\x00args", q)
		b.setVar("args", q)
		return 0
	})
	reg("start_time", func(L *lua.LState, k hostabi.Kong) int {
		L.Push(lua.LNumber(float64(b.call.StartTime.UnixMilli()) / 1000))
		return 1
	})
	reg("is_internal", func(L *lua.LState, k hostabi.Kong) int {
		L.Push(lua.LFalse)
		return 1
	})
}

func (b *Binding) setVar(name, v string) {
	if b.vars == nil {
		b.vars = map[string]string{}
	}
	b.vars[name] = v
}
