package pdk

import (
	"encoding/json"
	"mime"
	"net/url"
	"sort"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-lua/luavalue"
)

// newHeaderMeta is the metatable of header tables (ngx.req.get_headers,
// kong.request.get_headers, ...): a missing key is looked up again lower
// cased with underscores as hyphens, as OpenResty's does.
func (b *Binding) newHeaderMeta() *lua.LTable {
	mt := b.L.NewTable()
	mt.RawSetString("__index", b.free(func(L *lua.LState) int {
		t := L.CheckTable(1)
		k, ok := L.Get(2).(lua.LString)
		if !ok {
			L.Push(lua.LNil)
			return 1
		}
		n := lowerDash(string(k))
		if n == string(k) {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(t.RawGetString(n))
		return 1
	}))
	return mt
}

// headersTable renders headers as Kong does: names lower-cased, a string
// for one value, an array for several, at most max headers (then
// "truncated" is returned too).
func (b *Binding) headersTable(L *lua.LState, h map[string][]string, max int) int {
	t := L.CreateTable(0, len(h))
	names := make([]string, 0, len(h))
	for n := range h {
		names = append(names, n)
	}
	sort.Strings(names)
	count := 0
	truncated := false
	for _, n := range names {
		vs := h[n]
		if len(vs) == 0 {
			continue
		}
		if count+len(vs) > max {
			truncated = true
			break
		}
		count += len(vs)
		ln := strings.ToLower(n)
		if len(vs) == 1 {
			t.RawSetString(ln, lua.LString(vs[0]))
			continue
		}
		arr := L.CreateTable(len(vs), 0)
		for _, v := range vs {
			arr.Append(lua.LString(v))
		}
		t.RawSetString(ln, arr)
	}
	L.SetMetatable(t, b.headerMeta)
	L.Push(t)
	if truncated {
		L.Push(lua.LString("truncated"))
		return 2
	}
	return 1
}

// queryArg is one argument of a query string or form body.
type queryArg struct {
	key, value string
	// bare is an argument without '=' (Lua's true).
	bare bool
}

// parseArgs parses a query string or form body as ngx.decode_args does:
// '&'-separated, keys and values URL-decoded ('+' is a space), a key
// without '=' is a bare flag, empty keys are skipped. At most max
// arguments are returned (truncated then reports more).
func parseArgs(raw string, max int) (args []queryArg, truncated bool) {
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, hasEq := strings.Cut(part, "=")
		k = unescapeArg(k)
		if k == "" {
			continue
		}
		if len(args) >= max {
			return args, true
		}
		if !hasEq {
			args = append(args, queryArg{key: k, bare: true})
			continue
		}
		args = append(args, queryArg{key: k, value: unescapeArg(v)})
	}
	return args, false
}

func unescapeArg(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return strings.ReplaceAll(s, "+", " ")
}

// argsTable renders parsed arguments as ngx.req.get_uri_args does: a
// string (true for a bare key) or, for a repeated key, an array.
func argsTable(L *lua.LState, args []queryArg) *lua.LTable {
	t := L.CreateTable(0, len(args))
	for _, a := range args {
		var v lua.LValue = lua.LString(a.value)
		if a.bare {
			v = lua.LTrue
		}
		switch cur := t.RawGetString(a.key).(type) {
		case *lua.LNilType:
			t.RawSetString(a.key, v)
		case *lua.LTable:
			cur.Append(v)
		default:
			arr := L.CreateTable(2, 0)
			arr.Append(cur)
			arr.Append(v)
			t.RawSetString(a.key, arr)
		}
	}
	return t
}

func (b *Binding) pushArgs(L *lua.LState, raw string, max int) int {
	args, truncated := parseArgs(raw, max)
	L.Push(argsTable(L, args))
	if truncated {
		L.Push(lua.LString("truncated"))
		return 2
	}
	return 1
}

// requestHeader is kong.request.get_header's lookup: the first value of the
// header, matching '_' and '-' alike as nginx's $http_* does; nil when
// absent.
func requestHeader(k hostabi.Kong, name string) (string, bool) {
	r := k.Request()
	if vs := r.HeaderValues(name); len(vs) > 0 {
		return vs[0], true
	}
	if strings.IndexByte(name, '_') >= 0 {
		if vs := r.HeaderValues(strings.ReplaceAll(name, "_", "-")); len(vs) > 0 {
			return vs[0], true
		}
	}
	return "", false
}

func pushOptString(L *lua.LState, s string, ok bool) int {
	if ok {
		L.Push(lua.LString(s))
	} else {
		L.Push(lua.LNil)
	}
	return 1
}

// The media types kong.request.get_body and kong.service.response.get_body
// decode, matched as prefixes of the lower-cased type without parameters.
const (
	typeForm      = "application/x-www-form-urlencoded"
	typeJSON      = "application/json"
	typeMultipart = "multipart/form-data"
)

// bodySource is what get_body reads: the raw body, and for multipart the
// host's decoding (nil where the host offers none).
type bodySource struct {
	raw       func() ([]byte, error)
	multipart func() (map[string]any, error)
}

// pushBody implements get_body(mimetype, max_args) as Kong does: the
// content type is the mimetype argument or the Content-Type header; form
// bodies are checked against max_args (1-1000); returns body, err,
// mimetype, where mimetype is Kong's constant for the decoded type, or the
// lower-cased type for an unsupported one.
func pushBody(L *lua.LState, contentType string, hasType bool, src bodySource) int {
	if !hasType {
		L.Push(lua.LNil)
		L.Push(lua.LString("missing content type"))
		return 2
	}
	lower := strings.ToLower(contentType)
	if i := strings.IndexByte(lower, ';'); i >= 0 {
		lower = lower[:i]
	}
	ret := func(v lua.LValue, err string, mt string) int {
		L.Push(v)
		if err == "" {
			L.Push(lua.LNil)
		} else {
			L.Push(lua.LString(err))
		}
		L.Push(lua.LString(mt))
		return 3
	}
	switch {
	case strings.HasPrefix(lower, typeForm):
		max := 100
		if L.Get(2) != lua.LNil {
			max = checkMax(L, 2, "max_args")
		}
		raw, err := src.raw()
		if err != nil {
			return ret(lua.LNil, err.Error(), typeForm)
		}
		args, _ := parseArgs(string(raw), max)
		return ret(argsTable(L, args), "", typeForm)
	case strings.HasPrefix(lower, typeJSON):
		raw, err := src.raw()
		if err != nil {
			return ret(lua.LNil, err.Error(), typeJSON)
		}
		var v any
		if json.Unmarshal(raw, &v) != nil {
			return ret(lua.LNil, "invalid json body", typeJSON)
		}
		switch v.(type) {
		case map[string]any, []any:
		default:
			return ret(lua.LNil, "invalid json body", typeJSON)
		}
		lv, cerr := luavalue.FromGo(L, v, luavalue.Options{NullInTables: true, MarkArrays: true})
		if cerr != nil {
			return ret(lua.LNil, cerr.Error(), typeJSON)
		}
		return ret(lv, "", typeJSON)
	case strings.HasPrefix(lower, typeMultipart) && src.multipart != nil:
		args, err := src.multipart()
		if err != nil {
			return ret(lua.LNil, "unable to decode multipart body", typeMultipart)
		}
		return ret(fromGo(L, args, luavalue.Options{NullInTables: true}), "", typeMultipart)
	}
	return ret(lua.LNil, "unsupported content type '"+contentType+"'", lower)
}

// mediaType lower-cases a Content-Type and drops its parameters.
func mediaType(ct string) string {
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		return mt
	}
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

func (b *Binding) requestTable() *lua.LTable {
	L := b.L
	t := L.NewTable()
	reg := func(name string, f kongFn) { t.RawSetString(name, b.bound("kong.request."+name, f)) }

	reg("get_scheme", func(L *lua.LState, k hostabi.Kong) int { L.Push(lua.LString(k.Request().Scheme())); return 1 })
	reg("get_host", func(L *lua.LState, k hostabi.Kong) int { L.Push(lua.LString(k.Request().Host())); return 1 })
	reg("get_port", func(L *lua.LState, k hostabi.Kong) int { L.Push(lua.LNumber(k.Request().Port())); return 1 })
	reg("get_forwarded_scheme", func(L *lua.LState, k hostabi.Kong) int {
		L.Push(lua.LString(k.Request().ForwardedScheme()))
		return 1
	})
	reg("get_forwarded_host", func(L *lua.LState, k hostabi.Kong) int {
		L.Push(lua.LString(k.Request().ForwardedHost()))
		return 1
	})
	reg("get_forwarded_port", func(L *lua.LState, k hostabi.Kong) int {
		L.Push(lua.LNumber(k.Request().ForwardedPort()))
		return 1
	})
	reg("get_forwarded_path", func(L *lua.LState, k hostabi.Kong) int {
		if v, ok := requestHeader(k, "x-forwarded-path"); ok && hostabi.Allowed(hostabi.OpIPIsTrusted, k.Phase()) &&
			k.IP().IsTrusted(k.Client().IP()) {
			L.Push(lua.LString(v))
			return 1
		}
		L.Push(lua.LString(k.Request().Path()))
		return 1
	})
	reg("get_forwarded_prefix", func(L *lua.LState, k hostabi.Kong) int {
		if v, ok := requestHeader(k, "x-forwarded-prefix"); ok && k.IP().IsTrusted(k.Client().IP()) {
			L.Push(lua.LString(v))
			return 1
		}
		L.Push(lua.LNil)
		return 1
	})
	reg("get_http_version", func(L *lua.LState, k hostabi.Kong) int {
		L.Push(lua.LNumber(k.Request().HTTPVersion()))
		return 1
	})
	reg("get_method", func(L *lua.LState, k hostabi.Kong) int { L.Push(lua.LString(k.Request().Method())); return 1 })
	reg("get_path", func(L *lua.LState, k hostabi.Kong) int { L.Push(lua.LString(k.Request().Path())); return 1 })
	reg("get_raw_path", func(L *lua.LState, k hostabi.Kong) int { L.Push(lua.LString(k.Request().RawPath())); return 1 })
	reg("get_path_with_query", func(L *lua.LState, k hostabi.Kong) int {
		p, q := k.Request().Path(), k.Request().RawQuery()
		if q != "" {
			p += "?" + q
		}
		L.Push(lua.LString(p))
		return 1
	})
	reg("get_raw_query", func(L *lua.LState, k hostabi.Kong) int { L.Push(lua.LString(k.Request().RawQuery())); return 1 })
	reg("get_query_arg", func(L *lua.LState, k hostabi.Kong) int {
		name := checkString(L, 1, "query argument name")
		hostabi.Check(hostabi.OpRequestQueryArg, k.Phase())
		args, _ := parseArgs(k.Request().RawQuery(), 100)
		for _, a := range args {
			if a.key == name {
				if a.bare {
					L.Push(lua.LTrue)
				} else {
					L.Push(lua.LString(a.value))
				}
				return 1
			}
		}
		L.Push(lua.LNil)
		return 1
	})
	reg("get_query", func(L *lua.LState, k hostabi.Kong) int {
		max := checkMax(L, 1, "max_args")
		hostabi.Check(hostabi.OpRequestQuery, k.Phase())
		return b.pushArgs(L, k.Request().RawQuery(), max)
	})
	reg("get_header", func(L *lua.LState, k hostabi.Kong) int {
		name := checkString(L, 1, "header name")
		v, ok := requestHeader(k, name)
		return pushOptString(L, v, ok)
	})
	reg("get_headers", func(L *lua.LState, k hostabi.Kong) int {
		max := checkMax(L, 1, "max_headers")
		return b.headersTable(L, k.Request().Headers(), max)
	})
	reg("get_raw_body", func(L *lua.LState, k hostabi.Kong) int {
		body, err := k.Request().RawBody()
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString(err.Error()))
			return 2
		}
		L.Push(lua.LString(body))
		return 1
	})
	reg("get_body", func(L *lua.LState, k hostabi.Kong) int {
		hostabi.Check(hostabi.OpRequestBody, k.Phase())
		ct, ok := "", false
		if v := L.Get(1); v != lua.LNil {
			ct, ok = checkString(L, 1, "mimetype"), true
		} else {
			ct, ok = requestHeader(k, "content-type")
		}
		return pushBody(L, ct, ok, bodySource{
			raw: k.Request().RawBody,
			multipart: func() (map[string]any, error) {
				args, _, err := k.Request().Body()
				return args, err
			},
		})
	})
	reg("get_uri_captures", func(L *lua.LState, k hostabi.Kong) int {
		caps := k.Router().URICaptures()
		unnamed, named := L.NewTable(), L.NewTable()
		for name, v := range caps {
			if n, err := strconv.Atoi(name); err == nil {
				unnamed.RawSetInt(n, lua.LString(v))
			} else {
				named.RawSetString(name, lua.LString(v))
			}
		}
		res := L.NewTable()
		res.RawSetString("unnamed", unnamed)
		res.RawSetString("named", named)
		L.Push(res)
		return 1
	})
	reg("get_start_time", func(L *lua.LState, k hostabi.Kong) int {
		L.Push(lua.LNumber(b.call.StartTime.UnixMilli()))
		return 1
	})
	return t
}

// uuidLike reports whether s has the 8-4-4-4-12 hex form of a UUID.
func uuidLike(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

func (b *Binding) clientTable() *lua.LTable {
	L := b.L
	t := L.NewTable()
	reg := func(name string, f kongFn) { t.RawSetString(name, b.bound("kong.client."+name, f)) }
	reg("get_ip", func(L *lua.LState, k hostabi.Kong) int { L.Push(lua.LString(k.Client().IP())); return 1 })
	reg("get_forwarded_ip", func(L *lua.LState, k hostabi.Kong) int {
		L.Push(lua.LString(k.Client().ForwardedIP()))
		return 1
	})
	reg("get_port", func(L *lua.LState, k hostabi.Kong) int { L.Push(lua.LNumber(k.Client().Port())); return 1 })
	reg("get_forwarded_port", func(L *lua.LState, k hostabi.Kong) int {
		L.Push(lua.LNumber(k.Client().ForwardedPort()))
		return 1
	})
	reg("get_protocol", func(L *lua.LState, k hostabi.Kong) int {
		if v := L.Get(1); v != lua.LNil && v.Type() != lua.LTBool {
			L.RaiseError("allow_terminated must be a boolean")
		}
		L.Push(lua.LString(k.Client().Protocol()))
		return 1
	})
	reg("get_consumer", func(L *lua.LState, k hostabi.Kong) int {
		hostabi.Check(hostabi.OpClientConsumer, k.Phase())
		L.Push(b.currentConsumer(L, k))
		return 1
	})
	reg("get_credential", func(L *lua.LState, k hostabi.Kong) int {
		hostabi.Check(hostabi.OpClientCredential, k.Phase())
		L.Push(b.currentCredential(L, k))
		return 1
	})
	reg("authenticate", func(L *lua.LState, k hostabi.Kong) int {
		hostabi.Check(hostabi.OpClientAuthenticate, k.Phase())
		c, cr := L.Get(1), L.Get(2)
		if c != lua.LNil && c.Type() != lua.LTTable {
			L.RaiseError("consumer must be a table or nil")
		}
		if cr != lua.LNil && cr.Type() != lua.LTTable {
			L.RaiseError("credential must be a table or nil")
		}
		if c == lua.LNil && cr == lua.LNil {
			L.RaiseError("either credential or consumer must be provided")
		}
		var ce, cre hostabi.Entity
		if c != lua.LNil {
			m, _ := toGo(L, c, "consumer").(map[string]any)
			ce = m
		}
		if cr != lua.LNil {
			m, _ := toGo(L, cr, "credential").(map[string]any)
			cre = m
		}
		// a pending ngx.ctx assignment is superseded.
		b.authSet, b.authConsumer, b.authCredential = false, lua.LNil, lua.LNil
		k.Client().Authenticate(ce, cre)
		return 0
	})
	reg("load_consumer", func(L *lua.LState, k hostabi.Kong) int {
		hostabi.Check(hostabi.OpClientLoadConsumer, k.Phase())
		id, ok := L.Get(1).(lua.LString)
		if !ok {
			L.RaiseError("consumer_id must be a string")
		}
		byName := lua.LVAsBool(L.Get(2))
		if !byName && !uuidLike(string(id)) {
			L.RaiseError("cannot load a consumer with an id that is not a uuid")
		}
		c, err := k.Client().LoadConsumer(k.Context(), string(id), byName)
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString(err.Error()))
			return 2
		}
		L.Push(entityToLua(L, c))
		return 1
	})
	// kong.client.tls: the chain the client presented (Kong:
	// kong/pdk/client/tls.lua), PEM, or nil when there is none, or
	// nil, err.
	tls := L.NewTable()
	tls.RawSetString("get_full_client_certificate_chain", b.bound("kong.client.tls.get_full_client_certificate_chain",
		func(L *lua.LState, k hostabi.Kong) int {
			chain, err := k.TLS().ClientCertificateChain()
			switch {
			case err != nil:
				L.Push(lua.LNil)
				L.Push(lua.LString(err.Error()))
				return 2
			case chain == "":
				L.Push(lua.LNil)
				return 1
			}
			L.Push(lua.LString(chain))
			return 1
		}))
	t.RawSetString("tls", tls)
	return t
}

func (b *Binding) routerTable() *lua.LTable {
	t := b.L.NewTable()
	t.RawSetString("get_route", b.bound("kong.router.get_route", func(L *lua.LState, k hostabi.Kong) int {
		L.Push(entityToLua(L, k.Router().Route()))
		return 1
	}))
	t.RawSetString("get_service", b.bound("kong.router.get_service", func(L *lua.LState, k hostabi.Kong) int {
		L.Push(entityToLua(L, k.Router().Service()))
		return 1
	}))
	return t
}

func (b *Binding) nodeTable() *lua.LTable {
	t := b.L.NewTable()
	t.RawSetString("get_id", b.bound("kong.node.get_id", func(L *lua.LState, k hostabi.Kong) int {
		L.Push(lua.LString(k.Node().ID()))
		return 1
	}))
	t.RawSetString("get_hostname", b.bound("kong.node.get_hostname", func(L *lua.LState, k hostabi.Kong) int {
		L.Push(lua.LString(k.Node().Hostname()))
		return 1
	}))
	return t
}

func (b *Binding) ipTable() *lua.LTable {
	t := b.L.NewTable()
	t.RawSetString("is_trusted", b.bound("kong.ip.is_trusted", func(L *lua.LState, k hostabi.Kong) int {
		addr := checkString(L, 1, "address")
		L.Push(lua.LBool(k.IP().IsTrusted(addr)))
		return 1
	}))
	return t
}

func (b *Binding) pluginTable() *lua.LTable {
	t := b.L.NewTable()
	t.RawSetString("get_id", b.bound("kong.plugin.get_id", func(L *lua.LState, k hostabi.Kong) int {
		L.Push(lua.LString(k.Plugin().ID()))
		return 1
	}))
	return t
}

// tableTable is kong.table: new, clear, merge (no request needed).
func (b *Binding) tableTable() *lua.LTable {
	t := b.L.NewTable()
	t.RawSetString("new", b.free(func(L *lua.LState) int {
		narr, _ := optNumber(L, 1, "narr")
		nrec, _ := optNumber(L, 2, "nrec")
		if narr < 0 || narr > 1<<20 {
			narr = 0
		}
		if nrec < 0 || nrec > 1<<20 {
			nrec = 0
		}
		L.Push(L.CreateTable(int(narr), int(nrec)))
		return 1
	}))
	t.RawSetString("clear", b.free(func(L *lua.LState) int {
		tb := L.CheckTable(1)
		var keys []lua.LValue
		tb.ForEach(func(k, _ lua.LValue) { keys = append(keys, k) })
		for _, k := range keys {
			tb.RawSet(k, lua.LNil)
		}
		return 0
	}))
	t.RawSetString("merge", b.free(func(L *lua.LState) int {
		out := L.NewTable()
		for i := 1; i <= 2; i++ {
			switch v := L.Get(i).(type) {
			case *lua.LNilType:
			case *lua.LTable:
				v.ForEach(func(k, val lua.LValue) { out.RawSet(k, val) })
			default:
				L.ArgError(i, "table expected, got "+typeName(v))
			}
		}
		L.Push(out)
		return 1
	}))
	return t
}
