package luahost

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"mime"
	"sort"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-lua/luavalue"
	lua "github.com/yuin/gopher-lua"
)

// adminSource is the Lua side of Admin API endpoint calls: Kong's
// api_helpers (self.params, self.args, helpers.yield_error, the
// on_error mappings, Lapis' rendering of a handler's return).
//
//go:embed admin.lua
var adminSource []byte

var (
	adminProtoOnce sync.Once
	adminProto     *lua.FunctionProto
	adminProtoErr  error
)

func adminDispatcherProto() (*lua.FunctionProto, error) {
	adminProtoOnce.Do(func() {
		adminProto, adminProtoErr = compileSource(adminSource, "=gatehouse.admin")
	})
	return adminProto, adminProtoErr
}

// phaseAdmin marks a CallError of an Admin API endpoint call.
const phaseAdmin hostabi.Phase = 200

// endpointMethods are the methods api.lua may serve, in Kong's order of
// listing.
var endpointMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// apiEndpoints reads the routes of an api.lua module: each string key
// whose value is a table (a route) declares its methods, directly or
// under `methods` (the routes with a `schema`). Other keys are ignored,
// as Kong ignores them.
func apiEndpoints(mod *lua.LTable) []hostabi.EndpointDefinition {
	var out []hostabi.EndpointDefinition
	mod.ForEach(func(k, v lua.LValue) {
		path, ok := k.(lua.LString)
		route, isTable := v.(*lua.LTable)
		if !ok || !isTable || !strings.HasPrefix(string(path), "/") {
			return
		}
		methods := route
		if m, ok := route.RawGetString("methods").(*lua.LTable); ok {
			methods = m
		}
		for _, m := range endpointMethods {
			if _, ok := methods.RawGetString(m).(*lua.LFunction); ok {
				out = append(out, hostabi.EndpointDefinition{Method: m, Path: string(path)})
			}
		}
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// loadEndpoints reads the plugin's api.lua, when it has one, into its
// definition. A module that fails to load is logged and its endpoints
// are not served; the plugin's handler still is.
func (h *Provider) loadEndpoints(p *plugin, L *lua.LState) {
	name := "kong.plugins." + p.spec.Name + ".api"
	if h.mods.resolve(name) == "" {
		return
	}
	mod, err := requireModule(L, name)
	if err != nil {
		h.opts.Logger.Error("lua plugin: api.lua not served", "plugin", p.spec.Name, "error", err)
		return
	}
	t, ok := mod.(*lua.LTable)
	if !ok {
		h.opts.Logger.Error("lua plugin: api.lua not served: the module is not a table", "plugin", p.spec.Name)
		return
	}
	p.def.Endpoints = apiEndpoints(t)
}

// ServeEndpoint implements hostabi.EndpointServer: it runs the api.lua
// handler of the call's route and method in a pooled state, under
// lua_timeout, bound to the Admin API request (see adminKong).
func (f *Factory) ServeEndpoint(ctx context.Context, host hostabi.EndpointHost, req hostabi.EndpointRequest) (hostabi.EndpointResponse, error) {
	return f.p.h.serveEndpoint(ctx, f.p, host, req)
}

var _ hostabi.EndpointServer = (*Factory)(nil)

func (h *Provider) serveEndpoint(parent context.Context, p *plugin, host hostabi.EndpointHost, req hostabi.EndpointRequest) (hostabi.EndpointResponse, error) {
	if h.closed.Load() {
		return hostabi.EndpointResponse{}, errors.New("lua host closed")
	}
	if parent == nil {
		parent = context.Background()
	}
	st := p.pool.tryGet()
	if st == nil {
		wait, cancel := context.WithTimeout(parent, h.opts.Timeout)
		var err error
		st, err = p.pool.get(wait)
		cancel()
		if err != nil {
			return hostabi.EndpointResponse{}, &CallError{Plugin: p.spec.Name, Phase: phaseAdmin, Kind: FaultTimeout, Message: err.Error(), Cause: err}
		}
	}
	k := newAdminKong(parent, host, req)
	L := st.L
	cctx := st.cctx
	cctx.arm(parent, h.opts.Timeout)
	c := &st.call
	c.reset(p.spec.Name, phaseAdmin, L, cctx)
	var reqTable *lua.LTable
	perr := h.adminProtected(st, k, c, func() error {
		fn, err := st.adminDispatcher(L)
		if err != nil {
			return err
		}
		api, err := requireModule(L, "kong.plugins."+p.spec.Name+".api")
		if err != nil {
			return err
		}
		r, err := adminRequestTable(L, req)
		if err != nil {
			return err
		}
		reqTable = r
		L.Push(fn)
		L.Push(api)
		L.Push(r)
		return L.PCall(2, 0, nil)
	})
	ce, discard := h.fault(c, perr, cctx, parent)
	c.reset("", 0, nil, nil)
	st.timers.pending = nil
	if cctx.disarm() {
		discard = true
	}
	if discard {
		p.pool.discard(st)
	} else {
		p.pool.put(st)
	}
	if ce != nil {
		return hostabi.EndpointResponse{}, ce
	}
	if reqTable != nil && reqTable.RawGetString("__pass") == lua.LTrue {
		return hostabi.EndpointResponse{Pass: true}, nil
	}
	return k.resp.result(), nil
}

// adminProtected runs fn between the Binder's Enter and Leave with the
// call's context on the state, as protected does for request calls, but
// without handing the state's timers a request: ngx.timer.at says it is
// unavailable in an endpoint call.
func (h *Provider) adminProtected(st *state, k hostabi.Kong, c *Call, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &lua.ApiError{Type: lua.ApiErrorPanic, Object: lua.LString(fmt.Sprint(r))}
		}
	}()
	st.binder.Enter(k, c)
	defer func() {
		c.failed = err != nil && !c.exited && (h.opts.IsExit == nil || !h.opts.IsExit(err))
		st.binder.Leave(c)
	}()
	st.L.SetContext(c.ctx)
	defer st.L.RemoveContext()
	return fn()
}

// adminModule returns the state's admin.lua table (dispatch and
// endpoints), loaded on first use.
func (st *state) adminModule(L *lua.LState) (*lua.LTable, error) {
	if st.admin != nil {
		return st.admin, nil
	}
	proto, err := adminDispatcherProto()
	if err != nil {
		return nil, fmt.Errorf("admin dispatcher: %w", err)
	}
	L.Push(L.NewFunctionFromProto(proto))
	if err := L.PCall(0, 1, nil); err != nil {
		return nil, fmt.Errorf("admin dispatcher: %s", luaTrace(err))
	}
	t, ok := L.Get(-1).(*lua.LTable)
	L.Pop(1)
	if !ok {
		return nil, errors.New("admin dispatcher: not a table")
	}
	st.admin = t
	return t, nil
}

// adminDispatcher returns the state's dispatcher (admin.lua).
func (st *state) adminDispatcher(L *lua.LState) (*lua.LFunction, error) {
	t, err := st.adminModule(L)
	if err != nil {
		return nil, err
	}
	fn, ok := t.RawGetString("dispatch").(*lua.LFunction)
	if !ok {
		return nil, errors.New("admin dispatcher: no dispatch function")
	}
	return fn, nil
}

// preloadAdmin registers Gatehouse's kong.api.endpoints (api.lua files
// of Kong 1.x-3.x build their entity routes with it) and
// kong.api.crud_helpers (0.x) in the state's package.preload, unless
// something is there already.
func (st *state) preloadAdmin(L *lua.LState) {
	pkg, ok := L.GetGlobal("package").(*lua.LTable)
	if !ok {
		return
	}
	preload, ok := pkg.RawGetString("preload").(*lua.LTable)
	if !ok {
		return
	}
	for module, field := range map[string]string{"kong.api.endpoints": "endpoints", "kong.api.crud_helpers": "crud_helpers"} {
		if preload.RawGetString(module) != lua.LNil {
			continue
		}
		field := field
		preload.RawSetString(module, L.NewFunction(func(L *lua.LState) int {
			t, err := st.adminModule(L)
			if err != nil {
				L.RaiseError("%s", err.Error())
			}
			L.Push(t.RawGetString(field))
			return 1
		}))
	}
}

// adminRequestTable is the request as admin.lua reads it.
func adminRequestTable(L *lua.LState, req hostabi.EndpointRequest) (*lua.LTable, error) {
	t := L.NewTable()
	t.RawSetString("method", lua.LString(strings.ToUpper(req.Method)))
	t.RawSetString("path", lua.LString(req.Path))
	t.RawSetString("uri", lua.LString(req.URI))
	t.RawSetString("query", lua.LString(req.RawQuery))
	t.RawSetString("body", lua.LString(req.Body))
	params := L.NewTable()
	for k, v := range req.Params {
		params.RawSetString(k, lua.LString(v))
	}
	t.RawSetString("params", params)
	headers := L.NewTable()
	for k, vs := range req.Headers {
		switch len(vs) {
		case 0:
		case 1:
			headers.RawSetString(k, lua.LString(vs[0]))
		default:
			list := L.NewTable()
			for _, v := range vs {
				list.Append(lua.LString(v))
			}
			headers.RawSetString(k, list)
		}
	}
	t.RawSetString("headers", headers)
	var ct string
	if vs := req.Headers["content-type"]; len(vs) > 0 {
		ct = vs[0]
	}
	t.RawSetString("content_type", lua.LString(ct))
	if mt, mp, err := mime.ParseMediaType(ct); err == nil && mt == "multipart/form-data" && len(req.Body) > 0 {
		fields, err := multipartFields(req.Body, mp["boundary"])
		if err != nil {
			return nil, err
		}
		m := make(map[string]any, len(fields))
		for k, v := range fields {
			m[k] = v
		}
		v, err := luavalue.FromGo(L, m, luavalue.Options{})
		if err != nil {
			return nil, err
		}
		t.RawSetString("multipart", v)
	}
	return t, nil
}
