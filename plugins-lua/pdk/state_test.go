package pdk

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/runtime/plugin/catalogtest"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/acl"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/jwt"
	_ "github.com/gatehouse/gatehouse/runtime/plugins/key-auth"
	"github.com/gatehouse/gatehouse/sdk/plugintest"
	"github.com/gatehouse/gatehouse/store"
)

// TestCtxAcrossPlugins runs two plugins on separate Lua states in one
// request: what the first writes to kong.ctx.shared and ngx.ctx (nested
// mutation included) the second, and a native plugin, read.
func TestCtxAcrossPlugins(t *testing.T) {
	first := newLuaPlugin(t, `
		kong.ctx.shared.user = { name = "ada", roles = {} }
		kong.ctx.shared.user.roles[1] = "admin"
		kong.ctx.shared.count = (kong.ctx.shared.count or 0) + 1
		kong.ctx.shared.seeded.n = kong.ctx.shared.seeded.n + 1
		kong.ctx.shared.gone = nil
		kong.ctx.plugin.private = "p1"
		ngx.ctx.legacy = { flag = true }
		ngx.ctx[5] = "five"
		eq(kong.ctx.shared.user.roles[1], "admin", "read back in the same call")
	`, Env{})
	second := newLuaPlugin(t, `
		eq(kong.ctx.shared.user.name, "ada")
		eq(kong.ctx.shared.user.roles[1], "admin")
		eq(kong.ctx.shared.count, 1)
		eq(kong.ctx.shared.seeded.n, 2)
		eq(kong.ctx.shared.gone, nil)
		eq(ngx.ctx.legacy.flag, true)
		eq(ngx.ctx[5], "five")
		eq(kong.ctx.shared.legacy, nil, "ngx.ctx is its own namespace")
		eq(kong.ctx.plugin.private, "p1", "same plugin instance in this harness")
		kong.ctx.shared.count = kong.ctx.shared.count + 1
	`, Env{})
	env := plugintest.NewEnv()
	req := plugintest.NewRequest("GET", "/")
	req.Shared = map[string]any{"seeded": map[string]any{"n": 1}, "gone": "x"}
	k := env.NewKong(req)
	for i, p := range []*luaPlugin{first, second} {
		if err := plugintest.Call(k, p, hostabi.PhaseAccess); err != nil {
			t.Fatalf("plugin %d: %v", i, err)
		}
	}
	r := k.Result()
	if r.Shared["count"] != int64(2) {
		t.Fatalf("count %#v", r.Shared["count"])
	}
	user, _ := r.Shared["user"].(map[string]any)
	if !reflect.DeepEqual(user["roles"], []any{"admin"}) {
		t.Fatalf("user %#v", r.Shared["user"])
	}
	if _, ok := r.Shared["gone"]; ok {
		t.Fatalf("deleted key kept: %v", r.Shared)
	}
	if !reflect.DeepEqual(r.Shared[NgxCtxPrefix+"legacy"], map[string]any{"flag": true}) {
		t.Fatalf("ngx.ctx.legacy %#v", r.Shared)
	}
	if r.Plugin["private"] != "p1" {
		t.Fatalf("plugin ctx %v", r.Plugin)
	}
}

func TestCtxErrors(t *testing.T) {
	runCases(t, []pdkCase{
		{name: "function value cannot cross", lua: `kong.ctx.shared.fn = function() end`,
			wantErr: "kong.ctx.shared.fn"},
		{name: "table key", lua: `kong.ctx.shared[{}] = 1`, wantErr: "kong.ctx.shared keys must be strings or numbers"},
		{name: "authenticated_consumer must be a table", lua: `ngx.ctx.authenticated_consumer = "x"`,
			wantErr: "ngx.ctx.authenticated_consumer must be a table or nil"},
	})
}

func TestLog(t *testing.T) {
	runCases(t, []pdkCase{
		{name: "levels", lua: `
			kong.log.debug("d", 1) kong.log.info("i") kong.log.notice("n") kong.log.warn("w")
			kong.log.err("e", nil, true) kong.log.crit("c") kong.log.alert("a") kong.log.emerg("em")
			kong.log("called")
			kong.log.inspect({ b = 2, a = "x", 1 }, "s")
			kong.log.inspect.off()
			kong.log.inspect("hidden")
			kong.log.inspect.on()
			kong.log.inspect(nil)
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			want := []string{"debug: d1", "info: i", "notice: n", "warn: w", "err: eniltrue", "crit: c", "crit: a",
				"crit: em", "notice: called", `notice: { 1, a = "x", b = 2 } "s"`, "notice: nil"}
			if strings.Join(logMsgs(r), "|") != strings.Join(want, "|") {
				t.Fatalf("logs %q", logMsgs(r))
			}
		}},
		{name: "serialize", phase: hostabi.PhaseLog, req: plugintest.NewRequest("GET", "/s?q=1"), lua: `
			kong.log.set_serialize_value("custom.field", "v")
			kong.log.set_serialize_value("request.method", "NOPE", { mode = "add" })
			kong.log.set_serialize_value("nothing.here", "x", { mode = "replace" })
			kong.log.set_serialize_value("client_ip", "10.9.9.9", { mode = "replace" })
			local s = kong.log.serialize()
			eq(s.request.method, "GET")
			eq(s.custom.field, "v")
			eq(s.nothing, nil)
			eq(s.client_ip, "10.9.9.9")
		`, check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
			if len(r.SerializeValues) != 4 || r.SerializeValues[0].Key != "custom.field" || r.SerializeValues[1].Mode != hostabi.SerializeAdd {
				t.Fatalf("values %v", r.SerializeValues)
			}
		}},
		{name: "set_serialize_value table", lua: `kong.log.set_serialize_value("t", { a = { 1, 2 } }, { mode = "add" })`,
			check: func(t *testing.T, r *plugintest.Result, _ *luaPlugin) {
				if !reflect.DeepEqual(r.SerializeValues[0].Value, map[string]any{"a": []any{int64(1), int64(2)}}) {
					t.Fatalf("value %#v", r.SerializeValues[0].Value)
				}
			}},
		{name: "set_serialize_value bad key", lua: `kong.log.set_serialize_value(1, 2)`, wantErr: "key must be a string"},
		{name: "set_serialize_value bad mode", lua: `kong.log.set_serialize_value("k", 2, { mode = "x" })`,
			wantErr: "mode must be 'set', 'add' or 'replace'"},
		{name: "serialize out of phase", lua: `kong.log.serialize()`,
			wantErr: "kong.log.serialize cannot be called in access phase (only in: log)"},
	})
}

func TestCache(t *testing.T) {
	env := plugintest.NewEnv()
	p := newLuaPlugin(t, `
		local calls = 0
		local function load(id, extra)
			calls = calls + 1
			if id == "missing" then return nil end
			if id == "broken" then return nil, "db error" end
			if id == "throws" then error("kaboom", 0) end
			if id == "fn" then return function() end end
			return { id = id, extra = extra }
		end
		local v, err, lvl = kong.cache:get("k:1", { ttl = 60 }, load, "1", "x")
		eq(v.id, "1") eq(v.extra, "x") eq(err, nil) eq(lvl, 3)
		local v2, err2, lvl2 = kong.cache:get("k:1", nil, load, "1")
		eq(v2.extra, "x", "cached") eq(lvl2, 1)
		eq(calls, 1, "loader called once")
		local n, nerr = kong.cache:get("k:missing", nil, load, "missing")
		eq(n, nil) eq(nerr, nil)
		local n2 = kong.cache:get("k:missing", nil, load, "missing")
		eq(calls, 2, "negative entry cached")
		local b, berr = kong.cache:get("k:broken", nil, load, "broken")
		eq(b, nil) eq(berr, "failed to get from node cache: db error")
		local th, therr = kong.cache:get("k:throws", nil, load, "throws")
		eq(th, nil) eq(therr, "failed to get from node cache: callback threw an error: kaboom")
		local f, ferr = kong.cache:get("k:fn", nil, load, "fn")
		eq(f, nil)
		assert(ferr:find("could not cache"), ferr)
		local ttl, perr, pv = kong.cache:probe("k:1")
		eq(type(ttl), "number") eq(pv.id, "1")
		eq(kong.cache:probe("k:none"), nil)
		kong.cache:invalidate("k:1")
		eq(kong.cache:probe("k:1"), nil, "invalidated")
		eq(kong.cache:get("k:nocb"), nil, "no callback")
	`, Env{})
	res := env.Run(t, p, hostabi.PhaseAccess, nil)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if _, found := env.Cache().Get("k:broken"); found {
		t.Fatal("failed load cached")
	}
	if v, found := env.Cache().Get("k:missing"); !found || v != nil {
		t.Fatalf("negative entry %v %v", v, found)
	}

	// a second state of the same node sees the first's value
	p2 := newLuaPlugin(t, `
		local v = kong.cache:get("shared", nil, function() return "first" end)
		eq(v, "first")
	`, Env{})
	p3 := newLuaPlugin(t, `
		local v, err, lvl = kong.cache:get("shared", nil, function() error("must not load") end)
		eq(v, "first") eq(lvl, 1)
	`, Env{})
	for _, pl := range []*luaPlugin{p2, p3} {
		if res := env.Run(t, pl, hostabi.PhaseAccess, nil); res.Err != nil {
			t.Fatal(res.Err)
		}
	}

	// TTLs: opts.ttl, and Env's defaults for negative entries
	clock := time.Unix(1000, 0)
	env.SetClock(func() time.Time { return clock })
	p4 := newLuaPlugin(t, `
		kong.cache:get("ttl", { ttl = 10 }, function() return "v" end)
		kong.cache:get("neg", nil, function() return nil end)
		kong.cache:get("cbttl", nil, function() return "v", nil, 5 end)
	`, Env{CacheNegTTL: 20 * time.Second})
	if res := env.Run(t, p4, hostabi.PhaseAccess, nil); res.Err != nil {
		t.Fatal(res.Err)
	}
	clock = clock.Add(11 * time.Second)
	for key, want := range map[string]bool{"ttl": false, "neg": true, "cbttl": false} {
		if _, found := env.Cache().Get(key); found != want {
			t.Errorf("%s after 11s: found %v, want %v", key, found, want)
		}
	}

	runCases(t, []pdkCase{
		{name: "bad key", lua: `kong.cache:get(1)`, wantErr: "key must be a string"},
		{name: "bad opts", lua: `kong.cache:get("k", 1)`, wantErr: "opts must be a table"},
		{name: "bad callback", lua: `kong.cache:get("k", nil, 1)`, wantErr: "callback must be a function"},
	})
}

func TestDB(t *testing.T) {
	const aliceID = "5d6c9a7e-1111-4222-8333-444455556666"
	setup := func(e *plugintest.Env) {
		alice := e.AddConsumer(hostabi.Entity{"id": aliceID, "username": "alice"})
		secret := e.AddCredential("jwt_secrets", alice, hostabi.Entity{"key": "iss-1", "secret": "s3"})
		useStore(t, e, "consumers", alice, "jwt_secrets", secret)
		e.AddCredential("acls", alice, hostabi.Entity{"group": "admins"})
		e.AddCredential("acls", alice, hostabi.Entity{"group": "users"})
		e.AddCredential("acls", alice, hostabi.Entity{"group": "ops"})
	}
	runCases(t, []pdkCase{
		{name: "select_by and each_for_consumer", setup: setup, lua: `
			local s, err = kong.db.jwt_secrets:select_by_key("iss-1")
			eq(err, nil)
			eq(s.secret, "s3")
			eq(s.consumer.id, "` + aliceID + `")
			eq(s.consumer_id, "` + aliceID + `", "0.x name")
			eq(kong.db.jwt_secrets:select_by_key("nope"), nil)
			local groups = {}
			for row, err in kong.db.acls:each_for_consumer({ id = "` + aliceID + `" }) do
				assert(row, err)
				groups[#groups + 1] = row.group
			end
			table.sort(groups)
			eq(table.concat(groups, ","), "admins,ops,users")
			local page, perr, _, offset = kong.db.acls:page_for_consumer({ id = "` + aliceID + `" }, 2)
			eq(#page, 2) eq(offset, "2")
			local rest, _, _, off2 = kong.db.acls:page_for_consumer({ id = "` + aliceID + `" }, 2, offset)
			eq(#rest, 1) eq(off2, nil)
			local c = kong.db.consumers:select({ id = "` + aliceID + `" })
			eq(c.username, "alice")
			eq(kong.db.consumers:select_by_username("alice").id, "` + aliceID + `")
			eq(kong.db.acls:cache_key("` + aliceID + `"), "acls:` + aliceID + `:::::")
			eq(kong.db.keyauth_credentials:cache_key("k"), "keyauth_credentials:k:::::")
		`},
		{name: "lookup error", setup: func(e *plugintest.Env) { e.CredentialErr = errString("store down") }, lua: `
			local row, err, err_t = kong.db.jwt_secrets:select_by_key("x")
			eq(row, nil) eq(err_t.code, 8) eq(err_t.name, "database error")
			local c, cerr, c_t = kong.db.consumers:select({ id = "x" })
			eq(c, nil) eq(c_t.code, 8)
			for row, err in kong.db.acls:each_for_consumer({ id = "c" }) do
				eq(row, false) eq(err, "store down")
			end
			local page, perr = kong.db.acls:page_for_consumer({ id = "c" })
			eq(page, nil) eq(perr, "store down")
		`},
		{name: "no database", lua: `
			local row, err, err_t = kong.db.acls:insert({ group = "x" })
			eq(row, nil) eq(err_t.code, 8) eq(err_t.name, "database error")
		`},
		{name: "writes and listings", setup: func(e *plugintest.Env) { e.UseStore(aclStore(t)) }, lua: `
			local c, err = kong.db.consumers:insert({ username = "w1" })
			eq(err, nil) eq(c.username, "w1")
			-- the 0.x foreign key form is accepted and handed back too
			local acl, err = kong.db.acls:insert({ consumer_id = c.id, group = "g1" })
			eq(err, nil) eq(acl.consumer.id, c.id) eq(acl.consumer_id, c.id) eq(acl.group, "g1")
			local dup, derr, err_t = kong.db.consumers:insert({ username = "w1" })
			eq(dup, nil) eq(err_t.code, 5) eq(err_t.name, "unique constraint violation")
			local bad, berr, bad_t = kong.db.consumers:insert({ username = 5 })
			eq(bad, nil) eq(bad_t.code, 2) eq(bad_t.fields.username, "expected a string")
			local u, uerr = kong.db.consumers:update({ id = c.id }, { custom_id = "cw1" })
			eq(uerr, nil) eq(u.custom_id, "cw1")
			local missing, merr, m_t = kong.db.consumers:update({ id = "00000000-0000-4000-8000-000000000009" }, { custom_id = "x" })
			eq(missing, nil) eq(m_t.code, 6)
			local w2, werr = kong.db.consumers:upsert("w2", { custom_id = "cw2" })
			eq(werr, nil) eq(w2.username, "w2")
			local page, perr, _, offset = kong.db.consumers:page(1)
			eq(perr, nil) eq(#page, 1) assert(offset, "a next page")
			local rest, _, _, last = kong.db.consumers:page(1, offset)
			eq(#rest, 1) eq(last, nil)
			local names = {}
			for row, err in kong.db.consumers:each(1) do
				assert(row, err)
				names[#names + 1] = row.username
			end
			table.sort(names)
			eq(table.concat(names, ","), "w1,w2")
			eq(kong.db.consumers:delete({ id = c.id }), true)
			eq(kong.db.consumers:delete({ id = c.id }), true)
			local after = kong.db.consumers:page()
			eq(#after, 1) eq(after[1].username, "w2")
			eq(#kong.db.acls:page(), 0, "the consumer's acl went with it")
		`},
		{name: "bad foreign key", lua: `kong.db.acls:each_for_consumer("x")`, wantErr: "consumer must be a table"},
		{name: "bad select_by value", lua: `kong.db.acls:select_by_group({})`, wantErr: "invalid value for group"},
		{name: "acl groups module", setup: setup, req: (&plugintest.Request{}).WithIdentity(
			hostabi.Entity{"id": aliceID, "username": "alice"}, nil), lua: `
			local groups = require "kong.plugins.acl.groups"
			local id = groups.get_current_consumer_id()
			eq(id, "` + aliceID + `")
			local g, err = groups.get_consumer_groups(id)
			eq(err, nil)
			eq(g.admins, "admins")
			eq(#g, 3)
			eq(groups.consumer_in_groups({ "nobody", "ops" }, g), true)
			eq(groups.consumer_in_groups({ "nobody" }, g), false)
			eq(groups.get_consumer_groups("7d6c9a7e-1111-4222-8333-444455556666"), nil, "no groups")
			kong.ctx.shared.authenticated_groups = { "g1" }
			local ag = groups.get_authenticated_groups()
			eq(ag.g1, "g1")
			eq(groups.group_in_groups({ "g1" }, ag), true)
			eq(groups.warmup_groups_cache(id), true)
		`},
	})
}

func TestLegacySingletons(t *testing.T) {
	const aliceID = "5d6c9a7e-1111-4222-8333-444455556666"
	setup := func(e *plugintest.Env) {
		alice := e.AddConsumer(hostabi.Entity{"id": aliceID, "username": "alice"})
		e.AddCredential("acls", alice, hostabi.Entity{"group": "admins"})
		e.AddCredential("acls", alice, hostabi.Entity{"group": "users"})
		e.AddCredential("jwt_secrets", alice, hostabi.Entity{"key": "iss-1", "secret": "s3"})
	}
	runCases(t, []pdkCase{
		{name: "find_all", setup: setup, env: Env{Configuration: map[string]any{"proxy_listen": []any{"0.0.0.0:8000"},
			"nested": map[string]any{"a": "b"}}}, lua: `
			local singletons = require "kong.singletons"
			eq(singletons, kong.singletons)
			local rows, err = singletons.dao.acls:find_all({ consumer_id = "` + aliceID + `" })
			eq(err, nil) eq(#rows, 2)
			eq(rows[1].consumer_id, "` + aliceID + `")
			local admins = singletons.dao.acls:find_all({ consumer_id = "` + aliceID + `", group = "admins" })
			eq(#admins, 1) eq(admins[1].group, "admins")
			local secrets = singletons.dao.jwt_secrets:find_all({ key = "iss-1" })
			eq(secrets[1].secret, "s3")
			eq(#singletons.dao.jwt_secrets:find_all({ key = "nope" }), 0)
			local consumers = singletons.dao.consumers:find_all({ username = "alice" })
			eq(consumers[1].id, "` + aliceID + `")
			eq(singletons.dao.consumers:find({ id = "` + aliceID + `" }).username, "alice")
			local none, ferr = singletons.dao.acls:find_all()
			eq(none, nil) assert(ferr:find("needs a filter"))
			eq(singletons.configuration.proxy_listen[1], "0.0.0.0:8000")
			eq(kong.configuration.nested.a, "b")
			eq(singletons.db, kong.db)
			eq(singletons.cache, kong.cache)
		`},
		{name: "configuration is read-only", env: Env{Configuration: map[string]any{"a": "b"}},
			lua: `kong.configuration.a = "c"`, wantErr: "cannot modify kong.configuration"},
		{name: "nested configuration is read-only", env: Env{Configuration: map[string]any{"n": map[string]any{}}},
			lua: `kong.configuration.n.x = 1`, wantErr: "cannot modify kong.configuration"},
	})
}

// TestPanicsBecomeLuaErrors checks that a Go panic inside a hostabi call
// (here, a Credentials implementation that panics) reaches Lua as an
// error, never the process.
func TestPanicsBecomeLuaErrors(t *testing.T) {
	p := newLuaPlugin(t, `
		local ok, err = pcall(kong.db.acls.select_by_group, kong.db.acls, "x")
		eq(ok, false)
		assert(tostring(err):find("db exploded"), tostring(err))
		local ok2, err2 = pcall(kong.db.acls.each_for_consumer, kong.db.acls, { id = "c" })
		eq(ok2, false)
		assert(tostring(err2):find("internal error: assignment to entry in nil map"), tostring(err2))
		kong.singletons.dao.acls:find_all({ id = "x" })
	`, Env{})
	k := &panickyKong{Kong: plugintest.NewEnv().NewKong(nil)}
	k.Kong.SetPhase(hostabi.PhaseAccess)
	err := p.run(k, Call{})
	if err == nil || !strings.Contains(err.Error(), "credentials exploded") {
		t.Fatalf("err %v", err)
	}
}

type panickyKong struct{ *plugintest.Kong }

func (k *panickyKong) DB() hostabi.DB { return panickyDB{} }

// panickyDB panics in SelectBy; its other methods are not called.
type panickyDB struct{ hostabi.DB }

func (panickyDB) SelectBy(_ ctxT, _, _, _ string) (hostabi.Entity, error) { panic("db exploded") }

func (k *panickyKong) Credentials() hostabi.Credentials { return panickyCreds{} }

type panickyCreds struct{}

func (panickyCreds) Credential(_ ctxT, _, _, _ string) (hostabi.Entity, error) {
	panic("credentials exploded")
}
func (panickyCreds) ConsumerCredentials(_ ctxT, _, _ string) ([]hostabi.Entity, error) {
	var m map[string]int
	m["x"] = 1 // a runtime error
	return nil, nil
}

type ctxT = context.Context

// useStore gives e a real store (the acl, jwt and key-auth entities)
// holding rows, each an entity name and its fields: kong.db reads the
// database, as Kong's DAO does, while each_for_consumer and the legacy DAO
// read e's in-memory credentials (the node's cache).
func useStore(t testing.TB, e *plugintest.Env, rows ...any) {
	t.Helper()
	st, _ := catalogtest.OpenStore(t, "acl", "jwt", "key-auth")
	for i := 0; i+1 < len(rows); i += 2 {
		fields := map[string]any{}
		for k, v := range rows[i+1].(hostabi.Entity) {
			fields[k] = v
		}
		if _, err := st.Insert(context.Background(), rows[i].(string), fields); err != nil {
			t.Fatalf("store: %s: %v", rows[i], err)
		}
	}
	e.UseStore(st)
}

// aclStore is a real store with the acl plugin's entities.
func aclStore(t *testing.T) *store.Store {
	st, _ := catalogtest.OpenStore(t, "acl")
	return st
}
