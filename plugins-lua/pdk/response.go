package pdk

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/hostabi"
)

// headerName checks a header name as Kong's validate_header does.
func headerName(L *lua.LState, n int) string {
	v := L.Get(n)
	if s, ok := v.(lua.LString); ok {
		return string(s)
	}
	L.RaiseError("invalid header name %s: got %s, expected string", v.String(), typeName(v))
	return ""
}

// headerValues checks a header value as Kong's validate_header does: a
// string ("" is sent as " ", as Kong normalizes it), a number or boolean
// (as its text), or an array of strings. inTable selects the message of
// validate_headers (a table of headers).
func headerValues(L *lua.LState, name string, v lua.LValue, inTable bool) []string {
	switch x := v.(type) {
	case lua.LString:
		if x == "" {
			return []string{" "}
		}
		return []string{string(x)}
	case lua.LNumber:
		return []string{x.String()}
	case lua.LBool:
		return []string{x.String()}
	case *lua.LTable:
		n := x.Len()
		out := make([]string, 0, n)
		for i := 1; i <= n; i++ {
			e, ok := x.RawGetInt(i).(lua.LString)
			if !ok {
				L.RaiseError("invalid header value in array %q: got %s, expected string", name, typeName(x.RawGetInt(i)))
			}
			out = append(out, string(e))
		}
		if len(out) == 0 {
			L.RaiseError("invalid header value for %q: empty array", name)
		}
		return out
	}
	if inTable {
		L.RaiseError("invalid header value for %q: got %s, expected string, number, boolean or array of strings", name, typeName(v))
	}
	L.RaiseError("invalid header value for %q: got %s, expected array of string, string, number or boolean", name, typeName(v))
	return nil
}

// headerMap reads a headers table argument (name -> value or array).
func headerMap(L *lua.LState, n int, what string) map[string][]string {
	v := L.Get(n)
	if v == lua.LNil {
		return nil
	}
	t, ok := v.(*lua.LTable)
	if !ok {
		L.RaiseError("%s must be a nil or table", what)
	}
	out := map[string][]string{}
	t.ForEach(func(k, val lua.LValue) {
		name, ok := k.(lua.LString)
		if !ok {
			L.RaiseError("invalid header name %s: got %s, expected string", k.String(), typeName(k))
		}
		out[string(name)] = headerValues(L, string(name), val, true)
	})
	return out
}

// flatHeaders keeps the first value of each header (hostabi's Exit takes
// one value per name), sorted for determinism.
func flatHeaders(h map[string][]string) map[string]string {
	if h == nil {
		return nil
	}
	out := make(map[string]string, len(h))
	for n, vs := range h {
		out[n] = strings.Join(vs, ", ")
	}
	return out
}

func checkStatus(L *lua.LState, n int, min, max int) int {
	v, ok := L.Get(n).(lua.LNumber)
	if !ok {
		L.RaiseError("code must be a number")
	}
	st := int(v)
	if float64(st) != float64(v) || st < min || st > max {
		L.RaiseError("code must be a number between %d and %d", min, max)
	}
	return st
}

func (b *Binding) responseTable() *lua.LTable {
	L := b.L
	t := L.NewTable()
	reg := func(name string, f kongFn) { t.RawSetString(name, b.bound("kong.response."+name, f)) }

	reg("get_status", func(L *lua.LState, k hostabi.Kong) int { L.Push(lua.LNumber(k.Response().Status())); return 1 })
	reg("get_header", func(L *lua.LState, k hostabi.Kong) int {
		name := checkString(L, 1, "header name")
		// hostabi's Header (kong.response.get_header's phases and
		// error); the whole set only tells an empty value from none.
		if v := k.Response().Header(lowerDash(name)); v != "" {
			L.Push(lua.LString(v))
		} else if vs := headerLookup(k.Response().Headers(), name); len(vs) > 0 {
			L.Push(lua.LString(vs[0]))
		} else {
			L.Push(lua.LNil)
		}
		return 1
	})
	reg("get_headers", func(L *lua.LState, k hostabi.Kong) int {
		max := checkMax(L, 1, "max_headers")
		return b.headersTable(L, k.Response().Headers(), max)
	})
	reg("get_source", func(L *lua.LState, k hostabi.Kong) int { L.Push(lua.LString(k.Response().Source())); return 1 })
	reg("set_status", func(L *lua.LState, k hostabi.Kong) int {
		st := checkStatus(L, 1, 100, 599)
		k.Response().SetStatus(st)
		return 0
	})
	reg("set_header", func(L *lua.LState, k hostabi.Kong) int {
		name := headerName(L, 1)
		vs := headerValues(L, name, L.Get(2), false)
		r := k.Response()
		r.SetHeader(name, vs[0])
		for _, v := range vs[1:] {
			r.AddHeader(name, v)
		}
		return 0
	})
	reg("add_header", func(L *lua.LState, k hostabi.Kong) int {
		name := headerName(L, 1)
		for _, v := range headerValues(L, name, L.Get(2), false) {
			k.Response().AddHeader(name, v)
		}
		return 0
	})
	reg("clear_header", func(L *lua.LState, k hostabi.Kong) int {
		k.Response().ClearHeader(checkString(L, 1, "header name"))
		return 0
	})
	reg("set_headers", func(L *lua.LState, k hostabi.Kong) int {
		if L.Get(1).Type() != lua.LTTable {
			L.RaiseError("headers must be a table")
		}
		h := headerMap(L, 1, "headers")
		hostabi.Check(hostabi.OpResponseSetHeader, k.Phase())
		names := make([]string, 0, len(h))
		for n := range h {
			names = append(names, n)
		}
		sort.Strings(names)
		r := k.Response()
		for _, n := range names {
			r.SetHeader(n, h[n][0])
			for _, v := range h[n][1:] {
				r.AddHeader(n, v)
			}
		}
		return 0
	})
	reg("get_raw_body", func(L *lua.LState, k hostabi.Kong) int {
		body := k.Response().RawBody()
		if body == nil {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(lua.LString(body))
		return 1
	})
	reg("set_raw_body", func(L *lua.LState, k hostabi.Kong) int {
		k.Response().SetRawBody([]byte(checkString(L, 1, "body")))
		return 0
	})
	reg("exit", func(L *lua.LState, k hostabi.Kong) int {
		st := checkStatus(L, 1, 100, 599)
		body := L.Get(2)
		switch body.Type() {
		case lua.LTNil, lua.LTString, lua.LTTable:
		default:
			L.RaiseError("body must be a nil, string or table")
		}
		h := headerMap(L, 3, "headers")
		hostabi.Check(hostabi.OpResponseExit, k.Phase())
		switch x := body.(type) {
		case *lua.LTable:
			hostabi.JSONExit(k.Response(), st, toGo(L, x, "body"), flatHeaders(h))
		case lua.LString:
			k.Response().Exit(st, []byte(x), flatHeaders(h))
		default:
			k.Response().Exit(st, nil, flatHeaders(h))
		}
		b.exit(L)
		return 0
	})
	reg("error", func(L *lua.LState, k hostabi.Kong) int {
		st := checkStatus(L, 1, 400, 599)
		msg := L.Get(2)
		switch msg.Type() {
		case lua.LTNil, lua.LTString, lua.LTTable:
		default:
			L.RaiseError("message must be a nil, a string or a table")
		}
		h := headerMap(L, 3, "headers")
		hostabi.Check(hostabi.OpResponseError, k.Phase())
		switch x := msg.(type) {
		case *lua.LTable:
			hostabi.JSONExit(k.Response(), st, toGo(L, x, "message"), flatHeaders(h))
		case lua.LString:
			k.Response().Error(st, string(x), flatHeaders(h))
		default:
			k.Response().Error(st, "", flatHeaders(h))
		}
		b.exit(L)
		return 0
	})
	return t
}

// headerLookup finds a header case-insensitively (and '_' as '-').
func headerLookup(h map[string][]string, name string) []string {
	if vs, ok := h[name]; ok {
		return vs
	}
	ln := strings.ToLower(name)
	if vs, ok := h[ln]; ok {
		return vs
	}
	dn := lowerDash(name)
	for n, vs := range h {
		if strings.EqualFold(n, ln) || strings.EqualFold(n, dn) {
			return vs
		}
	}
	return nil
}

var methods = map[string]bool{"GET": true, "HEAD": true, "PUT": true, "POST": true, "DELETE": true,
	"OPTIONS": true, "MKCOL": true, "COPY": true, "MOVE": true, "PROPFIND": true, "PROPPATCH": true,
	"LOCK": true, "UNLOCK": true, "PATCH": true, "TRACE": true, "CONNECT": true}

// queryFromTable encodes kong.service.request.set_query's table as Kong
// does (keys sorted; true gives a bare key, false drops the argument,
// arrays repeat the key).
func queryFromTable(L *lua.LState, t *lua.LTable) string {
	type kv struct {
		k string
		v lua.LValue
	}
	var items []kv
	t.ForEach(func(k, v lua.LValue) {
		ks, ok := k.(lua.LString)
		if !ok {
			L.RaiseError("invalid query argument name: got %s, expected string", typeName(k))
		}
		items = append(items, kv{string(ks), v})
	})
	sort.Slice(items, func(i, j int) bool { return items[i].k < items[j].k })
	var sb strings.Builder
	add := func(k string, v lua.LValue) {
		var s string
		bare := false
		switch x := v.(type) {
		case lua.LBool:
			if !bool(x) {
				return
			}
			bare = true
		case lua.LString:
			s = string(x)
		case lua.LNumber:
			s = x.String()
		default:
			L.RaiseError("invalid query argument value for %q: got %s, expected string, number or boolean", k, typeName(v))
		}
		if sb.Len() > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(escapeArg(k))
		if !bare {
			sb.WriteByte('=')
			sb.WriteString(escapeArg(s))
		}
	}
	for _, it := range items {
		if arr, ok := it.v.(*lua.LTable); ok {
			for i := 1; i <= arr.Len(); i++ {
				add(it.k, arr.RawGetInt(i))
			}
			continue
		}
		add(it.k, it.v)
	}
	return sb.String()
}

// escapeArg escapes as ngx.encode_args does (%XX, spaces as %20).
func escapeArg(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			sb.WriteByte(c)
			continue
		}
		fmt.Fprintf(&sb, "%%%02X", c)
	}
	return sb.String()
}

func (b *Binding) serviceTable() *lua.LTable {
	L := b.L
	svc := L.NewTable()
	svc.RawSetString("set_target", b.bound("kong.service.set_target", func(L *lua.LState, k hostabi.Kong) int {
		host := checkString(L, 1, "host")
		p, ok := L.Get(2).(lua.LNumber)
		if !ok || float64(p) != float64(int64(p)) {
			L.RaiseError("port must be an integer")
		}
		if p < 0 || p > 65535 {
			L.RaiseError("port must be an integer between 0 and 65535: given %s", p.String())
		}
		k.Service().SetTarget(host, int(p))
		return 0
	}))
	svc.RawSetString("set_upstream", b.bound("kong.service.set_upstream", func(L *lua.LState, k hostabi.Kong) int {
		name := checkString(L, 1, "host")
		if err := k.Service().SetUpstream(name); err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString(err.Error()))
			return 2
		}
		L.Push(lua.LTrue)
		return 1
	}))

	rq := L.NewTable()
	reg := func(name string, f kongFn) { rq.RawSetString(name, b.bound("kong.service.request."+name, f)) }
	reg("set_scheme", func(L *lua.LState, k hostabi.Kong) int {
		s := checkString(L, 1, "scheme")
		if s != "http" && s != "https" {
			L.RaiseError("invalid scheme: %s", s)
		}
		k.ServiceRequest().SetScheme(s)
		return 0
	})
	reg("set_path", func(L *lua.LState, k hostabi.Kong) int {
		p := checkString(L, 1, "path")
		if !strings.HasPrefix(p, "/") {
			L.RaiseError("path must start with /")
		}
		k.ServiceRequest().SetPath(p)
		return 0
	})
	reg("set_raw_query", func(L *lua.LState, k hostabi.Kong) int {
		k.ServiceRequest().SetRawQuery(checkString(L, 1, "query"))
		return 0
	})
	reg("set_query", func(L *lua.LState, k hostabi.Kong) int {
		t, ok := L.Get(1).(*lua.LTable)
		if !ok {
			L.RaiseError("args must be a table")
		}
		q := queryFromTable(L, t)
		hostabi.Check(hostabi.OpServiceRequestSetQuery, k.Phase())
		k.ServiceRequest().SetRawQuery(q)
		return 0
	})
	reg("set_method", func(L *lua.LState, k hostabi.Kong) int {
		m := checkString(L, 1, "method")
		if !methods[m] {
			L.RaiseError("invalid method: %s", m)
		}
		k.ServiceRequest().SetMethod(m)
		return 0
	})
	reg("set_header", func(L *lua.LState, k hostabi.Kong) int {
		name := headerName(L, 1)
		vs := headerValues(L, name, L.Get(2), false)
		sr := k.ServiceRequest()
		sr.SetHeader(name, vs[0])
		for _, v := range vs[1:] {
			sr.AddHeader(name, v)
		}
		return 0
	})
	reg("add_header", func(L *lua.LState, k hostabi.Kong) int {
		name := headerName(L, 1)
		for _, v := range headerValues(L, name, L.Get(2), false) {
			k.ServiceRequest().AddHeader(name, v)
		}
		return 0
	})
	reg("clear_header", func(L *lua.LState, k hostabi.Kong) int {
		k.ServiceRequest().ClearHeader(checkString(L, 1, "header"))
		return 0
	})
	reg("set_headers", func(L *lua.LState, k hostabi.Kong) int {
		if L.Get(1).Type() != lua.LTTable {
			L.RaiseError("headers must be a table")
		}
		h := headerMap(L, 1, "headers")
		k.ServiceRequest().SetHeaders(h)
		return 0
	})
	reg("set_raw_body", func(L *lua.LState, k hostabi.Kong) int {
		k.ServiceRequest().SetRawBody([]byte(checkString(L, 1, "body")))
		return 0
	})
	reg("set_body", func(L *lua.LState, k hostabi.Kong) int {
		t, ok := L.Get(1).(*lua.LTable)
		if !ok {
			L.RaiseError("args must be a table")
		}
		var mt string
		if L.Get(2) != lua.LNil {
			mt = checkString(L, 2, "mime")
		}
		args, _ := toGo(L, t, "args").(map[string]any)
		if args == nil {
			args = map[string]any{}
		}
		if err := k.ServiceRequest().SetBody(args, mt); err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString(err.Error()))
			return 2
		}
		L.Push(lua.LTrue)
		return 1
	})
	reg("enable_buffering", func(L *lua.LState, k hostabi.Kong) int {
		k.ServiceRequest().EnableBuffering()
		return 0
	})
	svc.RawSetString("request", rq)

	rs := L.NewTable()
	sreg := func(name string, f kongFn) { rs.RawSetString(name, b.bound("kong.service.response."+name, f)) }
	sreg("get_status", func(L *lua.LState, k hostabi.Kong) int {
		st := k.ServiceResponse().Status()
		if st == 0 {
			L.Push(lua.LNil)
		} else {
			L.Push(lua.LNumber(st))
		}
		return 1
	})
	sreg("get_header", func(L *lua.LState, k hostabi.Kong) int {
		name := checkString(L, 1, "header name")
		if v := k.ServiceResponse().Header(lowerDash(name)); v != "" {
			L.Push(lua.LString(v))
		} else if vs := headerLookup(k.ServiceResponse().Headers(), name); len(vs) > 0 {
			L.Push(lua.LString(vs[0]))
		} else {
			L.Push(lua.LNil)
		}
		return 1
	})
	sreg("get_headers", func(L *lua.LState, k hostabi.Kong) int {
		max := checkMax(L, 1, "max_headers")
		return b.headersTable(L, k.ServiceResponse().Headers(), max)
	})
	sreg("get_raw_body", func(L *lua.LState, k hostabi.Kong) int {
		body := k.ServiceResponse().RawBody()
		if body == nil {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(lua.LString(body))
		return 1
	})
	sreg("get_body", func(L *lua.LState, k hostabi.Kong) int {
		hostabi.Check(hostabi.OpServiceResponseRawBody, k.Phase())
		ct, ok := "", false
		if v := L.Get(1); v != lua.LNil {
			ct, ok = checkString(L, 1, "mimetype"), true
		} else if vs := headerLookup(k.ServiceResponse().Headers(), "content-type"); len(vs) > 0 {
			ct, ok = vs[0], true
		}
		return pushBody(L, ct, ok, bodySource{raw: func() ([]byte, error) {
			return k.ServiceResponse().RawBody(), nil
		}})
	})
	svc.RawSetString("response", rs)
	return svc
}

// legacyStatuses are kong.tools.responses' status_codes (Kong 0.x).
var legacyStatuses = map[string]int{
	"HTTP_OK": 200, "HTTP_CREATED": 201, "HTTP_NO_CONTENT": 204, "HTTP_BAD_REQUEST": 400,
	"HTTP_UNAUTHORIZED": 401, "HTTP_FORBIDDEN": 403, "HTTP_NOT_FOUND": 404,
	"HTTP_METHOD_NOT_ALLOWED": 405, "HTTP_CONFLICT": 409, "HTTP_UNSUPPORTED_MEDIA_TYPE": 415,
	"HTTP_INTERNAL_SERVER_ERROR": 500, "HTTP_BAD_GATEWAY": 502, "HTTP_SERVICE_UNAVAILABLE": 503,
}

// legacyContent applies kong.tools.responses' default content for a
// status: fixed messages for 500, 405 and 502, defaults when no content
// for 401, 404 and 503, no body for 204.
func legacyContent(status int, content lua.LValue) lua.LValue {
	orDefault := func(s string) lua.LValue {
		if content == lua.LNil || content == lua.LFalse {
			return lua.LString(s)
		}
		return content
	}
	switch status {
	case 401:
		return orDefault("Unauthorized")
	case 204:
		return lua.LNil
	case 404:
		return orDefault("Not found")
	case 500:
		return lua.LString("An unexpected error occurred")
	case 405:
		return lua.LString("Method not allowed")
	case 502:
		return lua.LString("Bad Gateway")
	case 503:
		return orDefault("Service unavailable")
	}
	return content
}

// legacySend is kong.tools.responses' send: the content (a string becomes
// {"message": ...}) as JSON with a trailing newline, the headers, then the
// end of the handler.
func (b *Binding) legacySend(L *lua.LState, k hostabi.Kong, status int, content lua.LValue, headers map[string][]string) {
	if (status == 500 || status == 502) && content != lua.LNil {
		k.Log().Err(tostring(L, content))
	}
	content = legacyContent(status, content)
	h := flatHeaders(headers)
	if h == nil {
		h = map[string]string{}
	}
	var body []byte
	if content != lua.LNil && content != lua.LFalse {
		var v any
		if t, ok := content.(*lua.LTable); ok {
			v = toGo(L, t, "body")
		} else {
			v = map[string]any{"message": toGo(L, content, "body")}
		}
		enc, err := json.Marshal(v)
		if err != nil {
			k.Log().Err("could not encode value: " + err.Error())
			h["Content-Length"] = "0"
		} else {
			body = append(enc, '\n')
			h["Content-Type"] = "application/json; charset=utf-8"
		}
	}
	hostabi.Check(hostabi.OpResponseExit, k.Phase())
	k.Response().Exit(status, body, h)
	b.exit(L)
}

// responsesModule is require "kong.tools.responses".
func (b *Binding) responsesModule(L *lua.LState) *lua.LTable {
	m := L.NewTable()
	codes := L.NewTable()
	for name, st := range legacyStatuses {
		codes.RawSetString(name, lua.LNumber(st))
		st := st
		m.RawSetString("send_"+name, b.bound("kong.tools.responses.send_"+name, func(L *lua.LState, k hostabi.Kong) int {
			b.legacySend(L, k, st, L.Get(1), headerMap(L, 2, "headers"))
			return 0
		}))
	}
	m.RawSetString("status_codes", codes)
	m.RawSetString("send", b.bound("kong.tools.responses.send", func(L *lua.LState, k hostabi.Kong) int {
		st := checkStatus(L, 1, 100, 999)
		b.legacySend(L, k, st, L.Get(2), headerMap(L, 3, "headers"))
		return 0
	}))
	return m
}
