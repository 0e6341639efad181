package abi_test

// The Lua host runs the ABI probes through a Kong 3.x Lua plugin,
// testdata/lua/kong/plugins/abi-probe, served by plugins-lua/kongenv on the
// same node world as the proxy host (newNodeHost): same store, entities,
// upstream, trusted_ips and request. For the request's X-Abi-Probe header
// the plugin performs, in the probe's phase, the Lua version of the Go
// probe of probes.go and builds the same observed string from its
// results. It reports through "abi.recorder", a module this test adds to
// every state (kongenv.Options.Extra): called(name) before the operation
// and returned(name, observed) after it, into the same abi.MemRecorder the
// native probe plugin reports to. Faults are what the proxy logs as the
// plugin's failure ("plugin failed ...", its error attribute): a Lua
// error carrying the *hostabi.PhaseError message ends up there, as a Go
// probe's panic does.
//
// Most operations are the Kong PDK function of the same name
// (hostabi.Operations names them). Where Kong's Lua PDK spells an
// operation otherwise, or has none, the Lua probe does what a Kong plugin
// does:
//
//	operation                         | Lua probe
//	----------------------------------+--------------------------------------------------------------
//	kong.request.get_header_values    | kong.request.get_headers()["X-MULTI"] (Kong has no
//	                                  | get_header_values; the table holds a repeated header's values)
//	kong.request.get_method/          | Kong's Lua PDK has no request context: the deadline is
//	  context_deadline                | kong.request.get_start_time() + the service's three timeouts
//	                                  | (kong.router.get_service()), against ngx.now()
//	kong.response.exit, .error        | exit and error never return in Kong (the handler ends): the
//	                                  | probe reports its observation before the call
//	                                  | (recorder.exiting), and counts as returned when the handler
//	                                  | then ended with no fault (luaHost.Run). (A later phase cannot
//	                                  | report it: after an exit in rewrite, Gatehouse's proxy runs no
//	                                  | header_filter or log of global plugins, where Kong runs them.)
//	kong.response.exited              | Kong has none: "false" before kong.response.exit(204) (the
//	                                  | handler still runs), then, from the log phase,
//	                                  | kong.response.get_source() == "exit"
//	kong.log.set_serialize_value      | a bad mode raises (Kong), caught with pcall; Lua errors'
//	                                  | "chunk:line: " position is dropped before rendering
//	kong.http.do                      | resty.http request_uri (the PDK routes it through the
//	                                  | request's hostabi.HTTP); the timeout is set_timeout(0.000001),
//	                                  | a millisecond fraction giving the Go probe's nanosecond
//	kong.cache.get                    | kong.cache:probe (a read that never loads)
//	kong.cache.set, .lookup, .fill,   | Kong has only get: its callback loads and fills (set, lookup,
//	  .abandon                        | fill), its nil, err return abandons; probe reads back
//	kong.plugin.get_name              | the name Kong's plugin template derives from the module path
//	                                  | ((...):match("^kong%.plugins%.([^%.]+)"))
//	kong.credentials.get              | kong.db.keyauth_credentials:select_by_key(key)
//	kong.credentials.list_by_consumer | kong.db.keyauth_credentials:each_for_consumer({id = ...})
//	kong.db.select, .update, .upsert, | kong.db.consumers:select/update/upsert/delete({id = ...}) (Kong's
//	  .delete                         | DAO takes the primary key): a missing entity is named by an
//	                                  | unused UUID where the Go probe uses an unused username
//	kong.db.select_by                 | kong.db.consumers:select_by_custom_id
//	kong.timer.at                     | ngx.timer.at (its callback runs on the plugin's state after
//	                                  | the call, through the request's hostabi.Timers)

import (
	"log/slog"
	"sync"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/gatehouse/gatehouse/conformance/abi"
	"github.com/gatehouse/gatehouse/hostabi"
	"github.com/gatehouse/gatehouse/plugins-lua/kongenv"
	"github.com/gatehouse/gatehouse/runtime/plugin"
)

// luaHost is the proxy host whose probe plugin is the Lua one.
type luaHost struct {
	*proxyHost
	exiting *exitLog
}

// exitLog keeps what the probes that end their handler (kong.response.exit
// and error) observed before their call, by probe name.
type exitLog struct {
	mu  sync.Mutex
	obs map[string]string
}

func (e *exitLog) put(probe, observed string) {
	e.mu.Lock()
	e.obs[probe] = observed
	e.mu.Unlock()
}

func (e *exitLog) take(probe string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	obs, ok := e.obs[probe]
	delete(e.obs, probe)
	return obs, ok
}

// Run implements abi.Host: the proxy host's run, where a probe whose
// operation ended the handler (exiting) returned if the plugin did not
// fail.
func (h luaHost) Run(t testing.TB, p abi.Probe) abi.Outcome {
	o := h.proxyHost.Run(t, p)
	if obs, ok := h.exiting.take(p.Name); ok && o.Called && !o.Returned && o.Fault == "" {
		o.Returned, o.Observed = true, obs
	}
	return o
}

// recorderModule returns Extra's hook: package.preload["abi.recorder"],
// whose called and returned report to rec, and exiting to exits.
func recorderModule(rec *abi.MemRecorder, exits *exitLog) func(L *lua.LState) error {
	return func(L *lua.LState) error {
		L.PreloadModule("abi.recorder", func(L *lua.LState) int {
			L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
				"called": func(L *lua.LState) int {
					rec.Called(L.CheckString(1))
					return 0
				},
				"returned": func(L *lua.LState) int {
					rec.Returned(L.CheckString(1), L.CheckString(2))
					return 0
				},
				"exiting": func(L *lua.LState) int {
					exits.put(L.CheckString(1), L.CheckString(2))
					return 0
				},
			}))
			return 1
		})
		return nil
	}
}

func newLuaHost(t *testing.T) luaHost {
	exits := &exitLog{obs: map[string]string{}}
	h := luaHost{exiting: exits}
	h.proxyHost = newNodeHost(t, func(rec *abi.MemRecorder, log *slog.Logger) *plugin.Definition {
		p, err := kongenv.NewProvider(kongenv.Options{PluginsDir: "testdata/lua", Names: []string{abi.PluginName},
			Prefix: t.TempDir(), Logger: log, Extra: recorderModule(rec, exits)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		defs, err := plugin.FromProvider(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(defs) != 1 || defs[0].Name != abi.PluginName {
			t.Fatalf("the Lua provider serves %d plugins", len(defs))
		}
		return defs[0]
	})
	// kong.response.exited's probe reports from the log phase.
	h.reportsInLog = func(p abi.Probe) bool { return !p.OutOfPhase && p.Op == hostabi.OpResponseExited }
	return h
}

// TestLuaHost runs every probe on the Lua host, over HTTP.
func TestLuaHost(t *testing.T) { abi.Run(t, newLuaHost(t)) }

// TestLuaOutOfPhaseIs500: a Lua plugin calling an operation out of phase
// before the response is sent ends the request with Kong's 500, as a
// native one does.
func TestLuaOutOfPhaseIs500(t *testing.T) { outOfPhaseIs500(t, newLuaHost(t)) }

// TestLuaTimerRuns: the Lua timer probe's callback really runs after the
// request: its outbound request reaches the upstream.
func TestLuaTimerRuns(t *testing.T) {
	h := newLuaHost(t)
	timerRuns(t, h, h.proxyHost)
}
